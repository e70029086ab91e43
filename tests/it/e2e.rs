//! The reference scenario (`../shared/scenario/`) end to end: the stand-in
//! Kubernetes API serves the cluster of `examples/ui-private-403/`, moto holds
//! the AWS side seeded with the real `aws` CLI as the walkthrough shows it (node
//! group `default` with node role `EksNodeGroupRole`, `AmazonEC2ContainerRegistryReadOnly`
//! attached, repository `retail-sample-app-ui` with image `1.2.1` and a policy whose
//! statement `new policy` denies 14 actions to the node role), and `rulerun` runs
//! in-process with the real kube client and AWS SDK, both over TLS.
//!
//! These tests need moto: `scripts/test` (or `scripts/with-moto cargo test -p
//! rulerun-tests`) starts it and exports `RULERUN_MOTO_ENDPOINT` and
//! `AWS_ENDPOINT_URL` for the `aws` CLI.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::aws_proxy::AwsProxy;
use crate::support::{Run, repo, rulerun};
use rulerun_kube_stub::{Stub, StubServer};

/// moto's account.
pub(crate) const ACCOUNT: &str = "123456789012";
pub(crate) use crate::aws_cli::REGION;
const HEADLINE: &str = "ecr-repository-policy-denies-pull";

/// The 14 actions the walkthrough's statement `new policy` lists.
const DENIED: [&str; 14] = [
    "ecr:UploadLayerPart",
    "ecr:SetRepositoryPolicy",
    "ecr:PutImage",
    "ecr:ListImages",
    "ecr:InitiateLayerUpload",
    "ecr:GetRepositoryPolicy",
    "ecr:GetDownloadUrlForLayer",
    "ecr:DescribeRepositories",
    "ecr:DeleteRepositoryPolicy",
    "ecr:DeleteRepository",
    "ecr:CompleteLayerUpload",
    "ecr:BatchGetImage",
    "ecr:BatchDeleteImage",
    "ecr:BatchCheckLayerAvailability",
];

/// The AWS names of one seeded copy of the scenario (tests that change AWS state
/// use their own copy, as they run concurrently against one moto).
pub(crate) struct Names {
    pub(crate) cluster: &'static str,
    pub(crate) role: &'static str,
    pub(crate) repo: &'static str,
}

const SCENARIO: Names = Names {
    cluster: "eks-workshop",
    role: "EksNodeGroupRole",
    repo: "retail-sample-app-ui",
};

impl Names {
    fn role_arn(&self) -> String {
        format!("arn:aws:iam::{ACCOUNT}:role/{}", self.role)
    }

    pub(crate) fn image(&self) -> String {
        format!(
            "{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{}:1.2.1",
            self.repo
        )
    }

    /// The kubeconfig context `aws eks update-kubeconfig` writes.
    pub(crate) fn context(&self) -> String {
        format!("arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{}", self.cluster)
    }
}

pub(crate) use crate::aws_cli::moto;

/// `aws --output json ARGS...` against moto with the default credentials.
fn try_aws(args: &[&str]) -> Result<Value, String> {
    crate::aws_cli::try_aws_as(&Vec::new(), args)
}

fn aws(args: &[&str]) -> Value {
    crate::aws_cli::aws_as(&Vec::new(), args)
}

/// A create call that may already have run against this moto (a rerun).
fn aws_create(args: &[&str]) {
    crate::aws_cli::create_as(&Vec::new(), args)
}

/// The walkthrough's repository policy: one Deny statement for the node role.
fn deny_policy(n: &Names) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "new policy",
            "Effect": "Deny",
            "Principal": {"AWS": n.role_arn()},
            "Action": DENIED,
        }]
    })
    .to_string()
}

/// Seeds moto as the walkthrough finds the account, with the AWS CLI.
pub(crate) fn seed(n: &Names) {
    seed_with(n, true)
}

/// [`seed`], with or without the repository policy's Deny.
fn seed_with(n: &Names, deny: bool) {
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    })
    .to_string();
    aws_create(&[
        "iam",
        "create-role",
        "--role-name",
        n.role,
        "--assume-role-policy-document",
        &trust,
    ]);
    for policy in [
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryReadOnly",
        "AmazonSSMManagedInstanceCore",
    ] {
        aws(&[
            "iam",
            "attach-role-policy",
            "--role-name",
            n.role,
            "--policy-arn",
            &format!("arn:aws:iam::aws:policy/{policy}"),
        ]);
    }
    aws_create(&[
        "eks",
        "create-cluster",
        "--name",
        n.cluster,
        "--role-arn",
        &format!("arn:aws:iam::{ACCOUNT}:role/eks-cluster-role"),
        "--resources-vpc-config",
        "subnetIds=subnet-0a1b2c3d4e5f60718",
    ]);
    aws_create(&[
        "eks",
        "create-nodegroup",
        "--cluster-name",
        n.cluster,
        "--nodegroup-name",
        "default",
        "--node-role",
        &n.role_arn(),
        "--subnets",
        "subnet-0a1b2c3d4e5f60718",
    ]);
    aws_create(&["ecr", "create-repository", "--repository-name", n.repo]);
    let manifest = crate::aws_cli::IMAGE_MANIFEST.to_string();
    aws_create(&[
        "ecr",
        "put-image",
        "--repository-name",
        n.repo,
        "--image-tag",
        "1.2.1",
        "--image-manifest",
        &manifest,
    ]);
    if deny {
        aws(&[
            "ecr",
            "set-repository-policy",
            "--repository-name",
            n.repo,
            "--policy-text",
            &deny_policy(n),
        ]);
    }
}

/// The walkthrough's cluster (`examples/ui-private-403/cluster.json`), moved to
/// moto's account and `n`'s repository.
pub(crate) fn cluster_objects(n: &Names) -> Vec<Value> {
    cluster_from("examples/ui-private-403/cluster.json", n)
}

/// A cluster fixture with its image moved to moto's account and `n`'s repository.
fn cluster_from(fixture: &str, n: &Names) -> Vec<Value> {
    let text = std::fs::read_to_string(repo(fixture)).unwrap();
    let text = text
        .replace(
            "1234567890.dkr.ecr.us-west-2.amazonaws.com/retail-sample-app-ui:",
            &format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{}:", n.repo),
        )
        .replace(
            "https://1234567890.dkr.ecr.us-west-2.amazonaws.com/v2/retail-sample-app-ui/",
            &format!(
                "https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/v2/{}/",
                n.repo
            ),
        );
    assert!(text.contains(&n.image()));
    rulerun_kube_stub::parse_fixtures(serde_json::from_str(&text).unwrap()).unwrap()
}

/// Runs the CLI on a blocking thread: it starts its own async runtime.
pub(crate) async fn cli(args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || rulerun(&args))
        .await
        .unwrap()
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {}\nstderr {}", run.stdout, run.stderr))
}

/// The live-run flags for `stub` and an AWS endpoint.
pub(crate) fn live_args(kubeconfig: &Path, endpoint: &str, ca: Option<&Path>) -> Vec<String> {
    let mut args = vec![
        "-A".to_string(),
        "--kubeconfig".into(),
        kubeconfig.display().to_string(),
        "--endpoint-url".into(),
        endpoint.to_string(),
    ];
    if let Some(ca) = ca {
        args.push("--ca-bundle".into());
        args.push(ca.display().to_string());
    }
    args
}

fn findings_of<'a>(doc: &'a Value, rule: &str) -> Vec<&'a Value> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

/// `(rule, subject, message, commands)` of every finding, for comparing runs.
fn summary(doc: &Value) -> Vec<(String, String, String, Vec<String>)> {
    let mut v: Vec<_> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                format!("{}/{}", f["subject"]["namespace"], f["subject"]["name"]),
                f["message"].as_str().unwrap().to_string(),
                f["fix"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["command"].as_str().unwrap_or("").to_string())
                    .collect(),
            )
        })
        .collect();
    v.sort();
    v
}

async fn start_cluster(n: &Names, dir: &Path) -> (StubServer, std::path::PathBuf) {
    start_cluster_with(n, dir, cluster_objects(n)).await
}

async fn start_cluster_with(
    n: &Names,
    dir: &Path,
    objects: Vec<Value>,
) -> (StubServer, std::path::PathBuf) {
    let server = Stub::new()
        .objects(objects)
        .tls(true)
        .start()
        .await
        .unwrap();
    let kc = server.write_kubeconfig(dir, &n.context()).unwrap();
    (server, kc)
}

/// `rulerun iam eval` of `action` by the node role's session against the
/// repository policy `policy_text`, with `identity` policies: the decision.
fn decide(n: &Names, dir: &Path, action: &str, identity: &Value, policy_text: &str) -> String {
    let input = json!({
        "request": {
            "principal": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{}/i-0abc1234def567890", n.role),
            "action": action,
            "resource": format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{}", n.repo),
        },
        "identityPolicies": identity,
        "resourcePolicy": {"name": n.repo, "document": policy_text},
    });
    let file = dir.join(format!("eval-{}.json", action.replace(':', "-")));
    std::fs::write(&file, input.to_string()).unwrap();
    let run = rulerun(&["iam".to_string(), "eval".into(), file.display().to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    json_of(&run)["decision"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn scenario_403_is_diagnosed_fixed_with_least_privilege_and_gone() {
    let n = &SCENARIO;
    seed(n);
    let dir = tempfile::tempdir().unwrap();
    let (server, kubeconfig) = start_cluster(n, dir.path()).await;
    // AWS over HTTPS too: both TLS clients in one process (kube's and the SDK's).
    let proxy = AwsProxy::to(&moto()).tls().start().await;
    let ca = dir.path().join("aws-ca.pem");
    std::fs::write(&ca, proxy.ca_pem.as_deref().unwrap()).unwrap();
    let live = live_args(&kubeconfig, &proxy.url, Some(&ca));

    // 1. Diagnose.
    let mut args = vec!["check".to_string(), "-o".into(), "json".into()];
    args.extend(live.clone());
    let run = cli(args.clone()).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let before = json_of(&run);
    let found = findings_of(&before, HEADLINE);
    assert_eq!(found.len(), 1, "{before:#}");
    let finding = found[0];
    assert_eq!(finding["severity"], "critical");
    assert_eq!(finding["subject"]["kind"], "k8s/v1/Pod");
    assert_eq!(finding["subject"]["namespace"], "default");
    assert!(
        finding["subject"]["name"]
            .as_str()
            .unwrap()
            .starts_with("ui-private-"),
        "{finding:#}"
    );
    let message = finding["message"].as_str().unwrap();
    for part in [
        "`ui`",
        n.image().as_str(),
        n.repo,
        "`new policy`",
        n.role,
        "ecr:BatchGetImage",
    ] {
        assert!(message.contains(part), "{part} not in {message}");
    }
    // Nothing else from the image-pull pack claims the pod, and nothing was
    // left undecided.
    let pack_rules: Vec<&str> = before["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(pack_rules, [HEADLINE], "{before:#}");
    assert_eq!(before["inconclusive"], json!([]), "{before:#}");

    // What it read: only reads, each once, and only what the pod references.
    let mut ops = proxy.operations();
    ops.sort();
    assert_eq!(
        ops,
        [
            // the endpoint rule looks for the node's instance (moto has none)
            "ec2:DescribeInstances",
            "ecr:DescribeImages",
            "ecr:DescribeRepositories",
            "ecr:GetRepositoryPolicy",
            "eks:GET /clusters/eks-workshop/node-groups/default",
            "iam:GetPolicy",
            "iam:GetPolicy",
            "iam:GetPolicy",
            "iam:GetPolicyVersion",
            "iam:GetPolicyVersion",
            "iam:GetPolicyVersion",
            "iam:GetRole",
            "iam:ListAttachedRolePolicies",
            "iam:ListRolePolicies",
        ],
        "{ops:#?}"
    );
    assert!(server.requests().iter().all(|r| r.method == "GET"));
    assert_eq!(server.count(|r| r.path.contains("secrets")), 0);

    // 2. The snapshot `collect` writes holds the node role, its attached
    // policies' documents and the repository policy in the shapes the AWS CLI
    // prints (docs/facts.md), and checks offline to the same findings.
    let snap = dir.path().join("snapshot.json");
    let mut args = vec![
        "collect".to_string(),
        "-o".into(),
        snap.display().to_string(),
    ];
    args.extend(live.clone());
    let run = cli(args).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let snapshot: Value = serde_json::from_str(&std::fs::read_to_string(&snap).unwrap()).unwrap();
    assert_eq!(snapshot["apiVersion"], "rulerun.dev/v1");
    assert_eq!(snapshot["kind"], "Snapshot");
    let facts = &snapshot["facts"];
    let only = |kind: &str| -> Value {
        let docs = facts[kind]
            .as_array()
            .unwrap_or_else(|| panic!("no {kind} in {facts:#}"));
        assert_eq!(docs.len(), 1, "{kind}: {docs:#?}");
        docs[0].clone()
    };
    let role = only("aws/iam/Role");
    let cli_role = aws(&["iam", "get-role", "--role-name", n.role])["Role"].clone();
    assert_same_fields(&role, &cli_role, "aws/iam/Role");
    assert_eq!(role["Arn"], n.role_arn());

    let attached = only("aws/iam/AttachedRolePolicies");
    let cli_attached = aws(&["iam", "list-attached-role-policies", "--role-name", n.role]);
    assert_eq!(
        attached["AttachedPolicies"],
        cli_attached["AttachedPolicies"]
    );
    assert_eq!(attached["RoleName"], n.role);

    let versions = facts["aws/iam/PolicyVersion"].as_array().unwrap();
    assert_eq!(versions.len(), 3, "{versions:#?}");
    // The node role's identity policies as the AWS CLI reads them, for step 5.
    let mut identity = Vec::new();
    for v in versions {
        let arn = v["PolicyArn"].as_str().unwrap();
        let default =
            aws(&["iam", "get-policy", "--policy-arn", arn])["Policy"]["DefaultVersionId"].clone();
        let cli_version = aws(&[
            "iam",
            "get-policy-version",
            "--policy-arn",
            arn,
            "--version-id",
            default.as_str().unwrap(),
        ])["PolicyVersion"]
            .clone();
        assert_same_fields(v, &cli_version, arn);
        identity.push(json!({
            "name": arn.rsplit('/').next().unwrap(),
            "arn": arn,
            "document": cli_version["Document"],
        }));
        assert!(v["Document"].is_object(), "decoded: {v:#}");
        assert_eq!(v["PolicyName"], arn.rsplit('/').next().unwrap());
    }
    let read_only = versions
        .iter()
        .find(|v| v["PolicyName"] == "AmazonEC2ContainerRegistryReadOnly")
        .unwrap();
    assert!(
        read_only["Document"]
            .to_string()
            .contains("ecr:BatchGetImage")
    );

    let policy = only("aws/ecr/RepositoryPolicy");
    let cli_policy = aws(&["ecr", "get-repository-policy", "--repository-name", n.repo]);
    assert_same_fields(&policy, &cli_policy, "aws/ecr/RepositoryPolicy");
    assert_eq!(policy["region"], REGION);
    assert!(
        policy["policyText"]
            .as_str()
            .unwrap()
            .contains("new policy")
    );

    let nodegroup = only("aws/eks/Nodegroup");
    assert_eq!(nodegroup["nodeRole"], n.role_arn());
    let image = only("aws/ecr/Image");
    assert_eq!(image["imageTags"], json!(["1.2.1"]));

    let run = cli(vec![
        "check".into(),
        "-o".into(),
        "json".into(),
        "--facts".into(),
        snap.display().to_string(),
    ])
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(summary(&json_of(&run)), summary(&before));

    // 3. Run the fix as a user pastes it: the AWS CLI against moto; the kubectl
    // step is the owner's rollout restart (the stand-in API is read-only).
    let ran = run_fix(finding);
    assert_eq!(ran.len(), 1, "{ran:?}");
    let argv = &ran[0];
    assert_eq!(&argv[..3], ["aws", "ecr", "set-repository-policy"]);
    // every value in `--flag=VALUE` form, so none can be read as an option
    for flag in [
        "--registry-id=",
        "--region=",
        "--repository-name=",
        "--policy-text=",
    ] {
        assert!(
            argv.iter().any(|a| a.starts_with(flag)),
            "{flag} missing in {argv:?}"
        );
    }

    // 4. Check again: the headline is gone; the pod still waits in the stand-in
    // (nothing restarts it), so only the generic Kubernetes finding remains.
    let run = cli(args_check(&live)).await;
    let after = json_of(&run);
    assert!(findings_of(&after, HEADLINE).is_empty(), "{after:#}");
    let rules: Vec<&str> = after["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["pod-image-pull-failing"], "{after:#}");
    assert_eq!(after["inconclusive"], json!([]), "{after:#}");

    // 5. The policy now in moto still keeps the node role from writing and
    // administering the repository: the Deny stays, minus the pull actions only.
    let text = aws(&["ecr", "get-repository-policy", "--repository-name", n.repo])["policyText"]
        .as_str()
        .unwrap()
        .to_string();
    let doc: Value = serde_json::from_str(&text).unwrap();
    for s in doc["Statement"].as_array().unwrap() {
        assert_eq!(s["Effect"], "Deny", "no Allow is added: {doc:#}");
    }
    let attached = Value::Array(identity);
    // A pull is `BatchGetImage` (manifest) and `GetDownloadUrlForLayer` (layers).
    for action in ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"] {
        assert_eq!(
            decide(n, dir.path(), action, &attached, &text),
            "Allowed",
            "{action}"
        );
    }
    // Even if the role were later granted every ECR action, the repository keeps
    // denying writes and administration.
    let admin = json!([{"name": "ecr-everything", "document": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]
    }}]);
    for action in [
        "ecr:PutImage",
        "ecr:DeleteRepository",
        "ecr:SetRepositoryPolicy",
        "ecr:BatchDeleteImage",
        "ecr:InitiateLayerUpload",
        "ecr:DeleteRepositoryPolicy",
        // a push-side check (is this layer uploaded already?): stays denied
        "ecr:BatchCheckLayerAvailability",
    ] {
        assert_eq!(
            decide(n, dir.path(), action, &attached, &text),
            "ExplicitlyDenied",
            "{action}"
        );
        assert_eq!(
            decide(n, dir.path(), action, &admin, &text),
            "ExplicitlyDenied",
            "{action} with ecr:*"
        );
    }
}

/// Runs a finding's fix as a user pastes it: each `aws` step's command through
/// bash (fix commands are for bash and zsh) with the AWS CLI against moto (it must succeed); the last step must be the
/// owner's rollout restart, asserted (the stand-in API is read-only). Returns the
/// argv of the AWS steps run.
fn run_fix(finding: &Value) -> Vec<Vec<String>> {
    let steps = finding["fix"].as_array().unwrap();
    let mut ran = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let argv: Vec<String> = step["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        let command = step["command"].as_str().unwrap();
        eprintln!("fix: {command}");
        // A step with placeholders cannot be pasted as printed (bash refuses
        // `<NAME>`): the test must give their values deliberately, as
        // `placeholders::run_with_stub` does; none of these steps has one.
        assert!(
            step.get("placeholders").is_none(),
            "{command}: a fix step with placeholders needs values from the test"
        );
        if i + 1 == steps.len() {
            assert_eq!(
                argv,
                [
                    "kubectl",
                    "rollout",
                    "restart",
                    "--namespace=default",
                    "--",
                    "deployment/ui-private",
                ]
            );
            continue;
        }
        assert_eq!(argv[0], "aws", "{command}");
        let out = Command::new("bash")
            .args(["-c", command])
            .env("AWS_ENDPOINT_URL", moto())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{command}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ran.push(argv);
    }
    ran
}

pub(crate) fn args_check(live: &[String]) -> Vec<String> {
    let mut args = vec!["check".to_string(), "-o".into(), "json".into()];
    args.extend(live.iter().cloned());
    args
}

/// Every field the AWS CLI prints for the object is in the collected document
/// with the same value (dates compared as instants: the SDK and botocore format
/// fractions differently).
fn assert_same_fields(ours: &Value, cli: &Value, what: &str) {
    let cli = cli.as_object().unwrap_or_else(|| panic!("{what}: {cli:#}"));
    for (k, v) in cli {
        let o = &ours[k];
        if k.ends_with("Date") || k.ends_with("At") {
            assert!(o.is_string(), "{what}.{k}: {o} vs {v}");
            continue;
        }
        assert_eq!(o, v, "{what}.{k}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_on_get_policy_version_leaves_dependent_rules_inconclusive() {
    let n = &Names {
        cluster: "eks-workshop-denied",
        role: "EksNodeGroupRole-denied",
        repo: "retail-sample-app-ui-denied",
    };
    seed(n);
    let dir = tempfile::tempdir().unwrap();
    let (_server, kubeconfig) = start_cluster(n, dir.path()).await;
    let proxy = AwsProxy::to(&moto())
        .deny_iam(
            "GetPolicyVersion",
            &format!("arn:aws:sts::{ACCOUNT}:assumed-role/rulerun-readonly/cli"),
        )
        .start()
        .await;
    let live = live_args(&kubeconfig, &proxy.url, None);
    let run = cli(args_check(&live)).await;
    let doc = json_of(&run);
    eprintln!(
        "exit {}\ninconclusive: {:#}\nfindings: {:?}",
        run.code,
        doc["inconclusive"],
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].clone())
            .collect::<Vec<_>>()
    );
    let inconclusive = doc["inconclusive"].as_array().unwrap();
    let mut rules: Vec<&str> = inconclusive
        .iter()
        .map(|i| i["rule"].as_str().unwrap())
        .collect();
    rules.sort();
    // Every rule that evaluates the node role's identity policies; the headline
    // too, as its fix is proven by evaluating the node role's policies.
    assert_eq!(
        rules,
        [
            "ecr-auth-token-unavailable",
            "ecr-cross-account-pull-not-allowed",
            HEADLINE,
            "node-role-missing-ecr-pull",
        ],
        "{doc:#}"
    );
    for i in inconclusive {
        let reason = i["reason"].as_str().unwrap();
        assert!(
            reason.contains("`iam:GetPolicyVersion`")
                && reason.contains("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"),
            "{i:#}"
        );
        assert_eq!(i["subject"]["namespace"], "default");
    }
    // The rules that need no identity policy still decide: the pod's failure is
    // reported, unexplained, rather than nothing at all.
    let reported: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(reported, ["pod-image-pull-failing"], "{doc:#}");
    assert_eq!(run.code, 1);
    assert!(
        proxy
            .operations()
            .iter()
            .any(|o| o == "iam:GetPolicyVersion")
    );
}

/// `aws ... --query Q --output text`: one identifier.
fn aws_id(args: &[&str], query: &str) -> String {
    let mut all = args.to_vec();
    all.extend(["--query", query]);
    aws(&all).as_str().unwrap().to_string()
}

/// The triage's network branch, live: the node sits in a private subnet whose
/// route table has no default route, and the VPC has no ECR or S3 endpoint; only
/// `BackOff` events remain. The check fetches the node's instance, subnet, route
/// table and the VPC's endpoints (by VPC, for joins on VPC and service), offers one
/// `create-vpc-endpoint` per missing endpoint, and after running them with the AWS
/// CLI the finding is gone.
#[tokio::test(flavor = "multi_thread")]
async fn private_subnet_without_endpoints_is_diagnosed_and_fixed() {
    let n = &Names {
        cluster: "eks-workshop-network",
        role: "EksNodeGroupRole-network",
        repo: "retail-sample-app-ui-network",
    };
    seed_with(n, false);
    let vpc = create_vpc("10.60.0.0/16");
    let subnet = create_subnet(&vpc, "10.60.1.0/24", "us-west-2a");
    let table = aws_id(
        &["ec2", "create-route-table", "--vpc-id", &vpc],
        "RouteTable.RouteTableId",
    );
    aws(&[
        "ec2",
        "associate-route-table",
        "--route-table-id",
        &table,
        "--subnet-id",
        &subnet,
    ]);
    let profile = format!("{}-profile", n.role);
    aws_create(&[
        "iam",
        "create-instance-profile",
        "--instance-profile-name",
        &profile,
    ]);
    let _ = try_aws(&[
        "iam",
        "add-role-to-instance-profile",
        "--instance-profile-name",
        &profile,
        "--role-name",
        n.role,
    ]);
    let instance = aws_id(
        &[
            "ec2",
            "run-instances",
            "--image-id",
            "ami-12c6146b",
            "--instance-type",
            "m5.large",
            "--subnet-id",
            &subnet,
            "--iam-instance-profile",
            &format!("Name={profile}"),
        ],
        "Instances[0].InstanceId",
    );

    let text_objects = cluster_from("rules/eks-image-pull/fixtures/cluster-backoff.json", n);
    let objects: Vec<Value> = serde_json::from_str(
        &serde_json::to_string(&text_objects)
            .unwrap()
            .replace("i-0abc1234def567890", &instance),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_server, kubeconfig) = start_cluster_with(n, dir.path(), objects).await;
    let proxy = AwsProxy::to(&moto()).start().await;
    let live = live_args(&kubeconfig, &proxy.url, None);

    let run = cli(args_check(&live)).await;
    let before = json_of(&run);
    assert_eq!(run.code, 1, "{before:#}\n{}", run.stderr);
    let rules: Vec<&str> = before["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["ecr-endpoint-unreachable"], "{before:#}");
    assert_eq!(before["inconclusive"], json!([]), "{before:#}");
    let finding = &before["findings"][0];
    let message = finding["message"].as_str().unwrap();
    for part in [
        instance.as_str(),
        subnet.as_str(),
        table.as_str(),
        vpc.as_str(),
    ] {
        assert!(message.contains(part), "{part} not in {message}");
    }
    assert_eq!(
        finding["evidence"]["missingEndpoints"],
        json!([
            "com.amazonaws.us-west-2.ecr.api",
            "com.amazonaws.us-west-2.ecr.dkr",
            "com.amazonaws.us-west-2.s3"
        ]),
        "{finding:#}"
    );
    // The VPC's endpoints were read once, by VPC, for six joins on VPC and service.
    let ops = proxy.operations();
    assert_eq!(
        ops.iter()
            .filter(|o| *o == "ec2:DescribeVpcEndpoints")
            .count(),
        1,
        "{ops:#?}"
    );

    // Run the endpoint steps with the AWS CLI (the restart is asserted).
    let mut created: Vec<String> = run_fix(finding)
        .iter()
        .map(|argv| {
            assert_eq!(&argv[..3], ["aws", "ec2", "create-vpc-endpoint"]);
            argv.iter()
                .find_map(|a| a.strip_prefix("--service-name="))
                .unwrap()
                .to_string()
        })
        .collect();
    created.sort();
    assert_eq!(
        created,
        [
            "com.amazonaws.us-west-2.ecr.api",
            "com.amazonaws.us-west-2.ecr.dkr",
            "com.amazonaws.us-west-2.s3"
        ]
    );

    let run = cli(args_check(&live)).await;
    let after = json_of(&run);
    assert!(
        findings_of(&after, "ecr-endpoint-unreachable").is_empty(),
        "{after:#}"
    );
    assert_eq!(after["inconclusive"], json!([]), "{after:#}");
}

/// `workload-role-missing-permission` live: the AWS Load Balancer Controller of
/// `examples/workload-role-missing-permission/` runs in the stand-in cluster with
/// its IRSA role seeded in moto (the example's trust policy and its trimmed
/// managed policy, attached). The check reads the role by the annotation's ARN and
/// its policies, finds the `FailedDeployModel` event's `CreateLoadBalancer` denied
/// (implicit deny), and prints one `put-role-policy`; run with the AWS CLI, it
/// leaves the check clean.
#[tokio::test(flavor = "multi_thread")]
async fn workload_role_missing_permission_is_granted_and_gone() {
    const RULE: &str = "workload-role-missing-permission";
    let n = &Names {
        cluster: "eks-workshop-irsa",
        role: "AmazonEKSLoadBalancerControllerRole-e2e",
        repo: "unused-irsa",
    };
    let policy = "AWSLoadBalancerControllerIAMPolicy-e2e";
    let text = std::fs::read_to_string(repo(
        "examples/workload-role-missing-permission/cluster.json",
    ))
    .unwrap()
    .replace("111122223333", ACCOUNT)
    .replace("AmazonEKSLoadBalancerControllerRole", n.role)
    .replace("AWSLoadBalancerControllerIAMPolicy", policy);
    let snapshot: Value = serde_json::from_str(&text).unwrap();
    let facts = snapshot["facts"].as_object().unwrap();

    // moto: the role, its managed policy attached, and no inline policy (a rerun's removed)
    let trust = facts["aws/iam/Role"][0]["AssumeRolePolicyDocument"].to_string();
    let document = facts["aws/iam/PolicyVersion"][0]["Document"].to_string();
    seed_role_with_policy(n.role, policy, &trust, &document);

    // the stand-in cluster: the example's Kubernetes objects only
    let objects = stub_objects(facts);
    let dir = tempfile::tempdir().unwrap();
    let (_server, kubeconfig) = start_cluster_with(n, dir.path(), objects).await;
    let proxy = AwsProxy::to(&moto()).start().await;
    let live = live_args(&kubeconfig, &proxy.url, None);

    let run = cli(args_check(&live)).await;
    let before = json_of(&run);
    assert_eq!(run.code, 1, "{before:#}\n{}", run.stderr);
    let found = findings_of(&before, RULE);
    assert_eq!(found.len(), 1, "{before:#}");
    let finding = found[0];
    assert_eq!(
        finding["subject"],
        json!({"kind": "k8s/apps/v1/Deployment", "namespace": "kube-system", "name": "aws-load-balancer-controller"}),
        "{finding:#}"
    );
    assert_eq!(finding["evidence"]["decision"], "ImplicitlyDenied");
    assert_eq!(finding["evidence"]["proof"], "Allowed");
    assert_eq!(
        finding["evidence"]["role"],
        format!("arn:aws:iam::{ACCOUNT}:role/{}", n.role)
    );
    assert_eq!(before["inconclusive"], json!([]), "{before:#}");
    // the role was read by the annotation's ARN, with its policies
    let ops = proxy.operations();
    for op in [
        "iam:GetRole",
        "iam:ListAttachedRolePolicies",
        "iam:GetPolicyVersion",
        "iam:ListRolePolicies",
    ] {
        assert!(ops.iter().any(|o| o == op), "{op} not in {ops:#?}");
    }

    // the fix, as a user pastes it: one put-role-policy of exactly that action and resource
    let steps = finding["fix"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{finding:#}");
    let argv: Vec<&str> = steps[0]["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(&argv[..3], ["aws", "iam", "put-role-policy"]);
    let command = steps[0]["command"].as_str().unwrap();
    run_printed(command);
    let granted = aws(&[
        "iam",
        "get-role-policy",
        "--role-name",
        n.role,
        "--policy-name",
        "rulerun-elasticloadbalancing-CreateLoadBalancer-default-ui",
    ]);
    assert_eq!(
        granted["PolicyDocument"]["Statement"],
        json!([{"Effect": "Allow", "Action": "elasticloadbalancing:CreateLoadBalancer",
                "Resource": format!("arn:aws:elasticloadbalancing:us-west-2:{ACCOUNT}:loadbalancer/app/k8s-default-ui-abc/123")}]),
        "{granted:#}"
    );

    assert_fixed(&live, RULE).await;
}

/// The Kubernetes objects of an example snapshot (`examples/NAME/cluster.json`),
/// each `(from, to)` of `replace` applied to its text first (moto's ids).
fn example_objects(name: &str, replace: &[(&str, &str)]) -> Vec<Value> {
    let mut text = std::fs::read_to_string(repo(&format!("examples/{name}/cluster.json"))).unwrap();
    for (from, to) in replace {
        text = text.replace(from, to);
    }
    let snapshot: Value = serde_json::from_str(&text).unwrap();
    stub_objects(snapshot["facts"].as_object().unwrap())
}

/// Checks again after a fix: `rule` finds nothing and nothing is inconclusive.
async fn assert_fixed(live: &[String], rule: &str) {
    let run = cli(args_check(live)).await;
    let after = json_of(&run);
    assert!(findings_of(&after, rule).is_empty(), "{after:#}");
    assert_eq!(after["inconclusive"], json!([]), "{after:#}");
}

/// A new moto VPC of `cidr`: its id.
fn create_vpc(cidr: &str) -> String {
    aws_id(&["ec2", "create-vpc", "--cidr-block", cidr], "Vpc.VpcId")
}

/// A new subnet of `vpc` in zone `az`: its id.
fn create_subnet(vpc: &str, cidr: &str, az: &str) -> String {
    aws_id(
        &[
            "ec2",
            "create-subnet",
            "--vpc-id",
            vpc,
            "--cidr-block",
            cidr,
            "--availability-zone",
            az,
        ],
        "Subnet.SubnetId",
    )
}

/// Seeds moto with `role` (trusting as `trust` says) and its one managed policy
/// `policy` (`document`) attached, without inline policies (a rerun's removed).
fn seed_role_with_policy(role: &str, policy: &str, trust: &str, document: &str) {
    aws_create(&[
        "iam",
        "create-role",
        "--role-name",
        role,
        "--assume-role-policy-document",
        trust,
    ]);
    aws_create(&[
        "iam",
        "create-policy",
        "--policy-name",
        policy,
        "--policy-document",
        document,
    ]);
    aws(&[
        "iam",
        "attach-role-policy",
        "--role-name",
        role,
        "--policy-arn",
        &format!("arn:aws:iam::{ACCOUNT}:policy/{policy}"),
    ]);
    let inline = aws(&["iam", "list-role-policies", "--role-name", role]);
    for name in inline["PolicyNames"].as_array().unwrap() {
        let name = name.as_str().unwrap();
        aws(&[
            "iam",
            "delete-role-policy",
            "--role-name",
            role,
            "--policy-name",
            name,
        ]);
    }
}

/// The Kubernetes objects of a snapshot's facts, for the stand-in cluster.
fn stub_objects(facts: &serde_json::Map<String, Value>) -> Vec<Value> {
    let cluster: serde_json::Map<String, Value> = facts
        .iter()
        .filter(|(k, _)| k.starts_with("k8s/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    rulerun_kube_stub::parse_fixtures(json!({
        "apiVersion": "rulerun.dev/v1", "kind": "Snapshot", "facts": cluster
    }))
    .unwrap()
}

/// The one finding of `rule` in a check that found something and left nothing
/// inconclusive.
fn the_finding<'a>(run: &Run, doc: &'a Value, rule: &str) -> &'a Value {
    assert_eq!(run.code, 1, "{doc:#}\n{}", run.stderr);
    assert_eq!(doc["inconclusive"], json!([]), "{doc:#}");
    let found = findings_of(doc, rule);
    assert_eq!(found.len(), 1, "{doc:#}");
    found[0]
}

/// Runs a printed fix command as a user pastes it, against moto.
fn run_printed(command: &str) {
    run_printed_at(command, &moto());
}

/// Runs a printed fix command as a user pastes it, against `endpoint`.
fn run_printed_at(command: &str, endpoint: &str) {
    eprintln!("fix: {command}");
    let out = Command::new("bash")
        .args(["-c", command])
        .env("AWS_ENDPOINT_URL", endpoint)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{command}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `workload-role-missing-permission` live, on EKS Pod Identity: the controller of
/// `rules/.../fixtures/lbc-pod-identity-denied.json` in the stand-in cluster (no
/// IRSA annotation, the Pod Identity agent's variables in its pods, a denied session
/// `eks-CLUSTER-POD-...`), its role seeded in moto, and the EKS Pod Identity calls
/// moto lacks answered by the proxy as EKS does. The check lists and describes the
/// service account's association, reads the role's policies, and prints one
/// `put-role-policy`; run with the AWS CLI, it leaves the check clean.
#[tokio::test(flavor = "multi_thread")]
async fn a_pod_identity_role_missing_permission_is_granted_and_gone() {
    const RULE: &str = "workload-role-missing-permission";
    let n = &Names {
        cluster: "eks-workshop-pi",
        role: "AmazonEKSLoadBalancerControllerRole-pi",
        repo: "unused-pi",
    };
    let policy = "AWSLoadBalancerControllerIAMPolicy-pi";
    let text = std::fs::read_to_string(repo(
        "rules/eks-troubleshooting/workload-role-missing-permission/fixtures/lbc-pod-identity-denied.json",
    ))
    .unwrap()
    .replace("111122223333", ACCOUNT)
    .replace("AmazonEKSLoadBalancerControllerRole", n.role)
    .replace("AWSLoadBalancerControllerIAMPolicy", policy);
    let snapshot: Value = serde_json::from_str(&text).unwrap();
    let facts = snapshot["facts"].as_object().unwrap();

    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]})
    .to_string();
    let document = facts["aws/iam/PolicyVersion"][0]["Document"].to_string();
    seed_role_with_policy(n.role, policy, &trust, &document);

    let objects = stub_objects(facts);
    let dir = tempfile::tempdir().unwrap();
    let (_server, kubeconfig) = start_cluster_with(n, dir.path(), objects).await;
    let mut association = facts["aws/eks/PodIdentityAssociation"][0].clone();
    association["clusterName"] = json!(n.cluster);
    let id = association["associationId"].as_str().unwrap().to_string();
    let proxy = AwsProxy::to(&moto())
        .answer(
            &format!("eks:GET /clusters/{}/pod-identity-associations", n.cluster),
            json!({"associations": [{"associationId": id, "clusterName": n.cluster,
                "namespace": "kube-system", "serviceAccount": "aws-load-balancer-controller"}]}),
        )
        .answer(
            &format!(
                "eks:GET /clusters/{}/pod-identity-associations/{id}",
                n.cluster
            ),
            json!({"association": association}),
        )
        .start()
        .await;
    let live = live_args(&kubeconfig, &proxy.url, None);

    let run = cli(args_check(&live)).await;
    let before = json_of(&run);
    let finding = the_finding(&run, &before, RULE);
    assert_eq!(
        finding["evidence"]["identity"], "EKS Pod Identity",
        "{finding:#}"
    );
    assert_eq!(
        finding["evidence"]["role"],
        format!("arn:aws:iam::{ACCOUNT}:role/{}", n.role)
    );
    assert_eq!(finding["evidence"]["decision"], "ImplicitlyDenied");
    assert_eq!(finding["evidence"]["proof"], "Allowed");
    let ops = proxy.operations();
    for op in [
        format!("eks:GET /clusters/{}/pod-identity-associations", n.cluster),
        format!(
            "eks:GET /clusters/{}/pod-identity-associations/{id}",
            n.cluster
        ),
        "iam:GetRole".to_string(),
    ] {
        assert!(ops.contains(&op), "{op} not in {ops:#?}");
    }

    let steps = finding["fix"].as_array().unwrap();
    let command = steps[0]["command"].as_str().unwrap();
    assert!(
        command.starts_with(&format!("aws iam put-role-policy --role-name={} ", n.role)),
        "{command}"
    );
    run_printed(command);

    assert_fixed(&live, RULE).await;
}

/// `vpc-cni-cannot-assign-ip` live: the pod of `examples/vpc-cni-cannot-assign-ip/`
/// waits for an address on a node of managed node group `default`, whose EC2
/// instance runs in a moto subnet with room, and the CNI (no IRSA role on
/// `kube-system/aws-node`) uses the node role, which lacks `AmazonEKS_CNI_Policy`.
/// The check reads the instance, its subnet, the node group's role and its
/// policies, finds the three calls an address needs denied, and prints one
/// `attach-role-policy`; run with the AWS CLI, it leaves the check clean.
#[tokio::test(flavor = "multi_thread")]
async fn vpc_cni_role_without_the_cni_policy_is_fixed_and_gone() {
    const RULE: &str = "vpc-cni-cannot-assign-ip";
    let n = &Names {
        cluster: "eks-workshop-cni",
        role: "EksNodeGroupRole-cni",
        repo: "unused-cni",
    };
    seed_with(n, false);
    // a rerun starts without the policy the fix attached
    let _ = try_aws(&[
        "iam",
        "detach-role-policy",
        "--role-name",
        n.role,
        "--policy-arn",
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    ]);
    let vpc = create_vpc("10.70.0.0/16");
    let subnet = create_subnet(&vpc, "10.70.1.0/24", "us-west-2a");
    let instance = aws_id(
        &[
            "ec2",
            "run-instances",
            "--image-id",
            "ami-12c6146b",
            "--instance-type",
            "m5.large",
            "--subnet-id",
            &subnet,
        ],
        "Instances[0].InstanceId",
    );

    let objects = example_objects(
        "vpc-cni-cannot-assign-ip",
        &[("i-0abc1234def567890", &instance)],
    );
    let dir = tempfile::tempdir().unwrap();
    let (_server, kubeconfig) = start_cluster_with(n, dir.path(), objects).await;
    let proxy = AwsProxy::to(&moto()).start().await;
    let live = live_args(&kubeconfig, &proxy.url, None);

    let run = cli(args_check(&live)).await;
    let before = json_of(&run);
    let finding = the_finding(&run, &before, RULE);
    assert_eq!(
        finding["evidence"]["deniedCalls"],
        json!([
            "ec2:AssignPrivateIpAddresses",
            "ec2:CreateNetworkInterface",
            "ec2:AttachNetworkInterface"
        ]),
        "{finding:#}"
    );
    assert_eq!(finding["evidence"]["exhausted"], Value::Null, "{finding:#}");
    assert_eq!(finding["evidence"]["subnet"]["id"], subnet.as_str());
    assert_eq!(
        finding["evidence"]["cniRole"],
        format!("arn:aws:iam::{ACCOUNT}:role/{}", n.role)
    );
    let ops = proxy.operations();
    for op in [
        "ec2:DescribeInstances",
        "ec2:DescribeSubnets",
        "eks:GET /clusters/eks-workshop-cni/node-groups/default",
        "iam:ListAttachedRolePolicies",
    ] {
        assert!(ops.iter().any(|o| o == op), "{op} not in {ops:#?}");
    }

    let steps = finding["fix"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{finding:#}");
    let command = steps[0]["command"].as_str().unwrap();
    assert_eq!(
        command,
        format!(
            "aws iam attach-role-policy --role-name={} --policy-arn=arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
            n.role
        )
    );
    run_printed(command);

    assert_fixed(&live, RULE).await;
}

/// `ingress-subnets-not-discoverable` live: the Ingress of
/// `examples/ingress-subnets-not-discoverable/` in the stand-in cluster, its node's
/// instance in a moto VPC with one public subnet (route table with `0.0.0.0/0` to an
/// internet gateway) and one private subnet tagged `kubernetes.io/role/internal-elb`.
/// The check reads the VPC's subnets and route tables by VPC, finds no subnet
/// tagged `kubernetes.io/role/elb`, and prints one `create-tags` for the public
/// subnet; run with the AWS CLI, it leaves the check clean.
#[tokio::test(flavor = "multi_thread")]
async fn ingress_subnets_are_tagged_and_the_finding_is_gone() {
    const RULE: &str = "ingress-subnets-not-discoverable";
    let n = &Names {
        cluster: "eks-workshop-elb",
        role: "EksNodeGroupRole-elb",
        repo: "unused-elb",
    };
    let vpc = create_vpc("10.80.0.0/16");
    let subnet = |cidr: &str, az: &str| create_subnet(&vpc, cidr, az);
    let public = subnet("10.80.0.0/24", "us-west-2a");
    let private = subnet("10.80.32.0/19", "us-west-2b");
    let igw = aws_id(
        &["ec2", "create-internet-gateway"],
        "InternetGateway.InternetGatewayId",
    );
    aws(&[
        "ec2",
        "attach-internet-gateway",
        "--internet-gateway-id",
        &igw,
        "--vpc-id",
        &vpc,
    ]);
    let table = aws_id(
        &["ec2", "create-route-table", "--vpc-id", &vpc],
        "RouteTable.RouteTableId",
    );
    aws(&[
        "ec2",
        "create-route",
        "--route-table-id",
        &table,
        "--destination-cidr-block",
        "0.0.0.0/0",
        "--gateway-id",
        &igw,
    ]);
    aws(&[
        "ec2",
        "associate-route-table",
        "--route-table-id",
        &table,
        "--subnet-id",
        &public,
    ]);
    aws(&[
        "ec2",
        "create-tags",
        "--resources",
        &private,
        "--tags",
        "Key=kubernetes.io/role/internal-elb,Value=1",
    ]);
    let instance = aws_id(
        &[
            "ec2",
            "run-instances",
            "--image-id",
            "ami-12c6146b",
            "--instance-type",
            "m5.large",
            "--subnet-id",
            &private,
        ],
        "Instances[0].InstanceId",
    );

    let objects = example_objects(
        "ingress-subnets-not-discoverable",
        &[("i-0c1d2e3f4a5b69788", &instance)],
    );
    let dir = tempfile::tempdir().unwrap();
    let (_server, kubeconfig) = start_cluster_with(n, dir.path(), objects).await;
    let proxy = AwsProxy::to(&moto()).start().await;
    let live = live_args(&kubeconfig, &proxy.url, None);

    let run = cli(args_check(&live)).await;
    let before = json_of(&run);
    let finding = the_finding(&run, &before, RULE);
    assert_eq!(
        finding["subject"],
        json!({"kind": "k8s/networking.k8s.io/v1/Ingress", "namespace": "ui", "name": "ui"})
    );
    assert_eq!(finding["evidence"]["vpc"], vpc.as_str());
    assert_eq!(finding["evidence"]["publicSubnets"], json!([public]));
    assert_eq!(finding["evidence"]["toTag"], json!([public]));
    // the VPC's subnets and route tables were read by VPC, once each
    let ops = proxy.operations();
    for op in ["ec2:DescribeSubnets", "ec2:DescribeRouteTables"] {
        assert_eq!(
            ops.iter().filter(|o| *o == op).count(),
            1,
            "{op} in {ops:#?}"
        );
    }

    let steps = finding["fix"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{finding:#}");
    let command = steps[0]["command"].as_str().unwrap();
    run_printed(command);
    let tags = aws(&[
        "ec2",
        "describe-tags",
        "--filters",
        &format!("Name=resource-id,Values={public}"),
    ]);
    assert!(
        tags["Tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["Key"] == "kubernetes.io/role/elb" && t["Value"] == "1"),
        "{tags:#}"
    );

    assert_fixed(&live, RULE).await;
}

/// `efs-mount-blocked-by-security-group` live: the pod, claim and EFS
/// PersistentVolume of `examples/efs-mount-blocked-by-security-group/` in the
/// stand-in cluster; in moto, its node's instance with the EKS cluster security
/// group, and the file system with a mount target in the node's subnet whose
/// security group admits NFS only from another range (and SSH from the nodes). The
/// check reads the instance, the mount targets with their groups and both security
/// groups, and prints one `authorize-security-group-ingress` from the node's group;
/// run with the AWS CLI, it leaves the check clean.
#[tokio::test(flavor = "multi_thread")]
async fn efs_mount_target_group_admits_the_nodes_and_the_finding_is_gone() {
    const RULE: &str = "efs-mount-blocked-by-security-group";
    let n = &Names {
        cluster: "eks-workshop-efs",
        role: "EksNodeGroupRole-efs",
        repo: "unused-efs",
    };
    let vpc = create_vpc("10.90.0.0/16");
    let subnet = create_subnet(&vpc, "10.90.32.0/20", "us-west-2a");
    let group = |name: &str| {
        aws_id(
            &[
                "ec2",
                "create-security-group",
                "--vpc-id",
                &vpc,
                "--group-name",
                name,
                "--description",
                name,
            ],
            "GroupId",
        )
    };
    let nodes = group("eks-cluster-sg-eks-workshop-efs-1234567890");
    let efs_group = group("efs-reports");
    aws(&[
        "ec2",
        "authorize-security-group-ingress",
        "--group-id",
        &efs_group,
        "--ip-permissions",
        &json!([
            {"IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049, "IpRanges": [{"CidrIp": "10.99.0.0/16"}]},
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": nodes}]}
        ])
        .to_string(),
    ]);
    let instance = aws_id(
        &[
            "ec2",
            "run-instances",
            "--image-id",
            "ami-12c6146b",
            "--instance-type",
            "m5.large",
            "--subnet-id",
            &subnet,
            "--security-group-ids",
            &nodes,
        ],
        "Instances[0].InstanceId",
    );
    let fs = aws_id(
        &[
            "efs",
            "create-file-system",
            "--creation-token",
            "reports-e2e",
        ],
        "FileSystemId",
    );
    let target = aws_id(
        &[
            "efs",
            "create-mount-target",
            "--file-system-id",
            &fs,
            "--subnet-id",
            &subnet,
            "--security-groups",
            &efs_group,
        ],
        "MountTargetId",
    );

    let objects = example_objects(
        "efs-mount-blocked-by-security-group",
        &[
            ("i-0abc1234def567890", &instance),
            ("fs-0123456789abcdef0", &fs),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let (_server, kubeconfig) = start_cluster_with(n, dir.path(), objects).await;
    let proxy = AwsProxy::to(&moto()).start().await;
    let live = live_args(&kubeconfig, &proxy.url, None);

    let run = cli(args_check(&live)).await;
    let before = json_of(&run);
    let finding = the_finding(&run, &before, RULE);
    assert_eq!(finding["evidence"]["fileSystemId"], fs.as_str());
    assert_eq!(finding["evidence"]["mountTarget"]["id"], target.as_str());
    assert_eq!(
        finding["evidence"]["node"]["securityGroups"],
        json!([nodes])
    );
    assert_eq!(finding["evidence"]["inboundBlocked"], true);
    let ops = proxy.operations();
    for op in [
        "ec2:DescribeInstances",
        "ec2:DescribeSecurityGroups",
        "elasticfilesystem:GET /2015-02-01/mount-targets",
    ] {
        assert!(ops.iter().any(|o| o == op), "{op} not in {ops:#?}");
    }

    let steps = finding["fix"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{finding:#}");
    let command = steps[0]["command"].as_str().unwrap();
    assert!(
        command.starts_with(&format!(
            "aws ec2 authorize-security-group-ingress --region=us-west-2 --group-id={efs_group} "
        )),
        "{command}"
    );
    run_printed(command);
    let rules = aws(&["ec2", "describe-security-groups", "--group-ids", &efs_group]);
    assert!(
        rules["SecurityGroups"][0]["IpPermissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["FromPort"] == 2049 && p["UserIdGroupPairs"][0]["GroupId"] == nodes.as_str()),
        "{rules:#}"
    );

    assert_fixed(&live, RULE).await;
}

/// A fleet of two clusters of one account (`fleet-a`, `fleet-b`: the
/// walkthrough's cluster twice, each with its node group `default` and the same
/// node role, pulling from the same repository) reads the account's facts once:
/// every IAM, ECR and EC2 call of the fleet run is one the run of `fleet-a`
/// alone makes, as often; only each cluster's own node group is read per
/// cluster. Both clusters get the headline finding.
#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_reads_the_facts_of_one_account_once() {
    let n = &Names {
        cluster: "fleet-a",
        role: "EksNodeGroupRole-fleet",
        repo: "retail-sample-app-ui-fleet",
    };
    seed(n);
    aws_create(&[
        "eks",
        "create-cluster",
        "--name",
        "fleet-b",
        "--role-arn",
        &format!("arn:aws:iam::{ACCOUNT}:role/eks-cluster-role"),
        "--resources-vpc-config",
        "subnetIds=subnet-0a1b2c3d4e5f60718",
    ]);
    aws_create(&[
        "eks",
        "create-nodegroup",
        "--cluster-name",
        "fleet-b",
        "--nodegroup-name",
        "default",
        "--node-role",
        &n.role_arn(),
        "--subnets",
        "subnet-0a1b2c3d4e5f60718",
    ]);
    let a = Stub::new()
        .objects(cluster_objects(n))
        .start()
        .await
        .unwrap();
    let b = Stub::new()
        .objects(cluster_objects(n))
        .start()
        .await
        .unwrap();
    let arn = |c: &str| format!("arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{c}");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut text = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for (c, url) in [("fleet-a", a.url()), ("fleet-b", b.url())] {
        text.push_str(&format!(
            "- name: {}\n  cluster:\n    server: {url}\n",
            arn(c)
        ));
    }
    text.push_str(&format!(
        "users:\n- name: stub\n  user:\n    token: {}\ncontexts:\n",
        rulerun_kube_stub::TOKEN
    ));
    for c in ["fleet-a", "fleet-b"] {
        text.push_str(&format!(
            "- name: {c}\n  context:\n    cluster: {}\n    user: stub\n",
            arn(c)
        ));
    }
    text.push_str("current-context: fleet-a\n");
    std::fs::write(&kubeconfig, text).unwrap();

    let run_with = |contexts: &'static [&'static str]| {
        let kubeconfig = kubeconfig.clone();
        async move {
            let proxy = AwsProxy::to(&moto()).start().await;
            let mut args = args_check(&live_args(&kubeconfig, &proxy.url, None));
            args.push("--no-config".into());
            for c in contexts {
                args.push("--context".into());
                args.push(c.to_string());
            }
            let run = cli(args).await;
            (run, proxy.operations())
        }
    };
    let (one, one_ops) = run_with(&["fleet-a"]).await;
    let (fleet, fleet_ops) = run_with(&["fleet-a", "fleet-b"]).await;
    let one_doc = json_of(&one);
    let doc = json_of(&fleet);
    assert_eq!(fleet.code, 1, "{doc:#}\n{}", fleet.stderr);
    assert_eq!(doc["inconclusive"], json!([]), "{doc:#}");
    let clusters: Vec<&str> = findings_of(&doc, HEADLINE)
        .iter()
        .map(|f| f["cluster"].as_str().unwrap())
        .collect();
    assert_eq!(clusters, ["fleet-a", "fleet-b"], "{doc:#}");
    assert_eq!(findings_of(&one_doc, HEADLINE).len(), 1, "{one_doc:#}");

    let count = |ops: &[String]| {
        let mut m = std::collections::BTreeMap::<String, usize>::new();
        for o in ops {
            *m.entry(o.clone()).or_default() += 1;
        }
        m
    };
    let (one_counts, mut fleet_counts) = (count(&one_ops), count(&fleet_ops));
    eprintln!("one cluster: {one_counts:#?}\nfleet of two: {fleet_counts:#?}");
    // each cluster's node group, once each
    assert_eq!(
        fleet_counts.remove("eks:GET /clusters/fleet-b/node-groups/default"),
        Some(1),
        "{fleet_ops:#?}"
    );
    assert_eq!(fleet_counts, one_counts, "{fleet_ops:#?}\n{one_ops:#?}");
}

/// `pod-unschedulable-node-selector` live, for an EKS add-on: CoreDNS's pods
/// (the example's) select `workload-type: system`, which no node has, because
/// the add-on's configuration values say so. The check reads the add-on from
/// EKS (`DescribeAddon`, answered by the proxy as EKS does: moto has no
/// add-ons) and prints one `aws eks update-addon` with those values, the
/// nodeSelector fixed and every other value kept. Run with the AWS CLI, EKS
/// receives exactly that; once the add-on manager has rolled CoreDNS out with
/// the new values (the stand-in cluster's pod replaced, EKS answering the new
/// values), the check is clean.
#[tokio::test(flavor = "multi_thread")]
async fn an_addon_pod_no_node_fits_is_fixed_in_the_addon_configuration_and_gone() {
    const RULE: &str = "pod-unschedulable-node-selector";
    let n = &Names {
        cluster: "eks-workshop-addon",
        role: "EksNodeGroupRole-addon",
        repo: "unused-addon",
    };
    // The cluster and its node group `default`, as the walkthrough's account has them.
    seed_with(n, false);
    let text = std::fs::read_to_string(repo(
        "rules/eks-troubleshooting/pod-unschedulable-node-selector/fixtures/coredns-addon-selector.json",
    ))
    .unwrap()
    .replace("eks-workshop", n.cluster);
    let snapshot: Value = serde_json::from_str(&text).unwrap();
    let facts = snapshot["facts"].as_object().unwrap();
    let values = "nodeSelector:\n  workload-type: system\nreplicaCount: 3\ntolerations: [{key: CriticalAddonsOnly, operator: Exists}]\n";
    let addon = |values: &str, status: &str| {
        json!({"addon": {"addonName": "coredns", "clusterName": n.cluster, "status": status,
            "addonVersion": "v1.11.3-eksbuild.1", "configurationValues": values,
            "addonArn": format!("arn:aws:eks:{REGION}:{ACCOUNT}:addon/{}/coredns/00000000-0000-4000-8000-000000000001", n.cluster),
            "health": {"issues": []}}})
    };
    let describe = format!("eks:GET /clusters/{}/addons/coredns", n.cluster);
    let update = format!("eks:POST /clusters/{}/addons/coredns/update", n.cluster);
    let dir = tempfile::tempdir().unwrap();
    let (_server, kubeconfig) = start_cluster_with(n, dir.path(), stub_objects(facts)).await;
    let proxy = AwsProxy::to(&moto())
        .answer(&describe, addon(values, "DEGRADED"))
        .answer(
            &update,
            json!({"update": {"id": "5b0e2a6c-0000-4000-8000-000000000002", "status": "InProgress",
                "type": "AddonUpdate", "params": [], "createdAt": 1764806400, "errors": []}}),
        )
        .start()
        .await;
    let live = live_args(&kubeconfig, &proxy.url, None);

    let run = cli(args_check(&live)).await;
    let before = json_of(&run);
    let finding = the_finding(&run, &before, RULE);
    assert_eq!(finding["evidence"]["addon"], "coredns", "{finding:#}");
    assert_eq!(finding["evidence"]["addonConfigurationValues"], values);
    assert!(
        proxy.operations().contains(&describe),
        "{:?}",
        proxy.operations()
    );
    let command = finding["fix"][0]["command"].as_str().unwrap();
    assert!(
        command.starts_with(&format!(
            "aws eks update-addon --cluster-name={} --addon-name=coredns ",
            n.cluster
        )),
        "{command}"
    );
    run_printed_at(command, &proxy.url);
    // EKS got the values with the nodeSelector fixed and every other value kept.
    let sent = proxy.bodies(&update);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let sent: Value = serde_json::from_str(&sent[0]).unwrap();
    assert_eq!(sent["resolveConflicts"], "PRESERVE", "{sent:#}");
    let new_values: Value =
        serde_json::from_str(sent["configurationValues"].as_str().unwrap()).unwrap();
    assert_eq!(
        new_values,
        json!({"nodeSelector": {"kubernetes.io/os": "linux"}, "replicaCount": 3,
            "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}]})
    );

    // The add-on manager rolls CoreDNS out with them: its pod selects what
    // the values say and runs; EKS answers the new values.
    let mut rolled = facts.clone();
    let pods = rolled["k8s/v1/Pod"].as_array_mut().unwrap();
    for p in pods.iter_mut() {
        if p["metadata"]["namespace"] == "kube-system" {
            p["metadata"]["name"] = json!("coredns-6c9dd5d8c7-k2v9p");
            p["metadata"]["uid"] = json!("uid-pod-coredns-2");
            p["spec"]["nodeSelector"] = new_values["nodeSelector"].clone();
            p["spec"]["nodeName"] = json!("ip-10-42-110-21.us-west-2.compute.internal");
            p["status"] = json!({"phase": "Running", "conditions": [{"type": "PodScheduled", "status": "True"}]});
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (_server, kubeconfig) = start_cluster_with(n, dir.path(), stub_objects(&rolled)).await;
    let proxy = AwsProxy::to(&moto())
        .answer(
            &describe,
            addon(sent["configurationValues"].as_str().unwrap(), "ACTIVE"),
        )
        .start()
        .await;
    assert_fixed(&live_args(&kubeconfig, &proxy.url, None), RULE).await;
}
