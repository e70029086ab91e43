//! Registries in other accounts, against moto with two accounts: the cluster and
//! its node role in moto's default account (A), the image's repository in a
//! registry account (B) that the default credentials cannot see. moto keeps
//! accounts apart by the account of the credentials, including credentials from
//! `AssumeRole`, so account B is seeded through an assumed role and rulerun reads it
//! through the role `aws.accounts` or `--assume-role` maps to it, as in production.
//!
//! Needs moto (`scripts/with-moto`), like `e2e`.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::aws_cli::{Creds, assume_into, aws_as, create_as, try_aws_as};
use crate::aws_proxy::AwsProxy;
use crate::e2e::{ACCOUNT, REGION, cli, live_args, moto};
use crate::support::repo;
use rulerun_kube_stub::{Stub, StubServer};

/// The registry account.
const REGISTRY: &str = "210987654321";
/// The role rulerun reads the registry account with.
const READER: &str = "rulerun-read";
const RULE: &str = "ecr-cross-account-pull-not-allowed";

/// The names of one copy of the scenario (tests run concurrently on one moto).
struct Names {
    cluster: &'static str,
    role: &'static str,
    repo: &'static str,
}

impl Names {
    fn role_arn(&self) -> String {
        format!("arn:aws:iam::{ACCOUNT}:role/{}", self.role)
    }

    fn image(&self) -> String {
        format!(
            "{REGISTRY}.dkr.ecr.{REGION}.amazonaws.com/{}:1.2.1",
            self.repo
        )
    }

    fn context(&self) -> String {
        format!("arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{}", self.cluster)
    }
}

/// Credentials of the registry account: `AssumeRole` into it with the default
/// credentials, as an operator of that account would hold them.
fn registry_creds() -> Creds {
    assume_into(REGISTRY, "registry-admin").0
}

/// Account A: the cluster, its node group and a node role whose own policies
/// allow the auth token but not the pull. Account B: the repository and image,
/// with a policy that grants a third account only.
fn seed(n: &Names) -> Creds {
    let a: Creds = Vec::new();
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    })
    .to_string();
    create_as(
        &a,
        &[
            "iam",
            "create-role",
            "--role-name",
            n.role,
            "--assume-role-policy-document",
            &trust,
        ],
    );
    aws_as(
        &a,
        &[
            "iam",
            "attach-role-policy",
            "--role-name",
            n.role,
            "--policy-arn",
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        ],
    );
    let token_only = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}]
    })
    .to_string();
    aws_as(
        &a,
        &[
            "iam",
            "put-role-policy",
            "--role-name",
            n.role,
            "--policy-name",
            "ecr-token",
            "--policy-document",
            &token_only,
        ],
    );
    create_as(
        &a,
        &[
            "eks",
            "create-cluster",
            "--name",
            n.cluster,
            "--role-arn",
            &format!("arn:aws:iam::{ACCOUNT}:role/eks-cluster-role"),
            "--resources-vpc-config",
            "subnetIds=subnet-0a1b2c3d4e5f60718",
        ],
    );
    create_as(
        &a,
        &[
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
        ],
    );

    let b = registry_creds();
    create_as(
        &b,
        &["ecr", "create-repository", "--repository-name", n.repo],
    );
    let manifest = crate::aws_cli::IMAGE_MANIFEST.to_string();
    create_as(
        &b,
        &[
            "ecr",
            "put-image",
            "--repository-name",
            n.repo,
            "--image-tag",
            "1.2.1",
            "--image-manifest",
            &manifest,
        ],
    );
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "OtherTeamPull",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        }]
    })
    .to_string();
    aws_as(
        &b,
        &[
            "ecr",
            "set-repository-policy",
            "--repository-name",
            n.repo,
            "--policy-text",
            &policy,
        ],
    );
    // Account A cannot see it, even by registry id.
    let err = try_aws_as(
        &a,
        &[
            "ecr",
            "describe-repositories",
            "--registry-id",
            REGISTRY,
            "--repository-names",
            n.repo,
        ],
    )
    .unwrap_err();
    assert!(err.contains("RepositoryNotFound"), "{err}");
    b
}

/// The walkthrough's cluster with its image moved to the registry account.
fn cluster_objects(n: &Names) -> Vec<Value> {
    let text = std::fs::read_to_string(repo("examples/ui-private-403/cluster.json")).unwrap();
    let text = text
        .replace(
            "1234567890.dkr.ecr.us-west-2.amazonaws.com/retail-sample-app-ui:",
            &format!("{REGISTRY}.dkr.ecr.{REGION}.amazonaws.com/{}:", n.repo),
        )
        .replace(
            "https://1234567890.dkr.ecr.us-west-2.amazonaws.com/v2/retail-sample-app-ui/",
            &format!(
                "https://{REGISTRY}.dkr.ecr.{REGION}.amazonaws.com/v2/{}/",
                n.repo
            ),
        );
    assert!(text.contains(&n.image()));
    rulerun_kube_stub::parse_fixtures(serde_json::from_str(&text).unwrap()).unwrap()
}

async fn start_cluster(n: &Names, dir: &Path) -> (StubServer, std::path::PathBuf) {
    let server = Stub::new()
        .objects(cluster_objects(n))
        .start()
        .await
        .unwrap();
    let kc = server.write_kubeconfig(dir, &n.context()).unwrap();
    (server, kc)
}

fn check_args(live: &[String], extra: &[String]) -> Vec<String> {
    let mut args = vec!["check".to_string(), "-o".into(), "json".into()];
    args.extend(live.iter().cloned());
    args.extend(extra.iter().cloned());
    args
}

fn json_of(run: &crate::support::Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {}\nstderr {}", run.stdout, run.stderr))
}

fn rules_of(doc: &Value, key: &str) -> Vec<String> {
    let mut v: Vec<String> = doc[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// `rulerun.yaml` mapping the registry account to its reader role.
fn config_file(dir: &Path) -> String {
    let file = dir.join("rulerun.yaml");
    std::fs::write(
        &file,
        format!(
            "aws:\n  accounts:\n    \"{REGISTRY}\":\n      roleArn: arn:aws:iam::{REGISTRY}:role/{READER}\n      externalId: rulerun-fleet\n"
        ),
    )
    .unwrap();
    file.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registry_in_another_account_is_read_through_its_role_fixed_on_both_sides_and_gone() {
    let n = &Names {
        cluster: "xacc-cluster",
        role: "XaccNodeRole",
        repo: "xacc/ui",
    };
    let registry = seed(n);
    let dir = tempfile::tempdir().unwrap();
    let (server, kubeconfig) = start_cluster(n, dir.path()).await;
    let proxy = AwsProxy::to(&moto()).start().await;
    let live = live_args(&kubeconfig, &proxy.url, None);
    let config = vec!["--config".to_string(), config_file(dir.path())];

    // 1. Diagnose: both sides evaluated, the registry's through the assumed role.
    let run = cli(check_args(&live, &config)).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let before = json_of(&run);
    assert_eq!(rules_of(&before, "findings"), [RULE], "{before:#}");
    assert_eq!(before["inconclusive"], json!([]), "{before:#}");
    let finding = &before["findings"][0];
    let evidence = &finding["evidence"];
    assert_eq!(evidence["registryAccount"], REGISTRY, "{evidence:#}");
    assert_eq!(evidence["nodeAccount"], ACCOUNT, "{evidence:#}");
    assert_eq!(evidence["nodeRole"], n.role_arn());
    // The registry's side: its policy as account B holds it (only B can read it).
    assert!(
        evidence["repositoryPolicy"]
            .as_str()
            .unwrap()
            .contains("OtherTeamPull"),
        "{evidence:#}"
    );
    // The cluster's side: the role's own policies do not allow the pull either.
    assert_eq!(
        evidence["nodeRolePolicyAllowsPull"], "False",
        "{evidence:#}"
    );
    assert_eq!(
        evidence["decisions"]["ecr:BatchGetImage"],
        "ImplicitlyDenied"
    );
    let message = finding["message"].as_str().unwrap();
    for part in [REGISTRY, ACCOUNT, n.role, n.repo, "registry account"] {
        assert!(message.contains(part), "{part} not in {message}");
    }
    let mut ops = proxy.operations();
    ops.sort();
    // One AssumeRole for the run; the registry's reads went through it.
    assert_eq!(
        ops.iter().filter(|o| *o == "sts:AssumeRole").count(),
        1,
        "{ops:#?}"
    );
    for op in [
        "ecr:DescribeRepositories",
        "ecr:DescribeImages",
        "ecr:GetRepositoryPolicy",
    ] {
        assert!(ops.iter().any(|o| o == op), "{op} not in {ops:#?}");
    }
    assert!(server.requests().iter().all(|r| r.method == "GET"));
    // The text report as a user sees it (docs/cross-account.md shows it).
    let mut text_args = vec!["check".to_string()];
    text_args.extend(live.iter().cloned());
    text_args.extend(config.iter().cloned());
    let text = cli(text_args).await;
    eprintln!("{}", text.stdout);
    assert_eq!(text.code, 1, "{}", text.stderr);
    assert!(
        text.stdout.contains(RULE) && text.stdout.contains(&format!("--registry-id={REGISTRY}"))
    );

    // 2. The fix: the registry account's step with its credentials, the cluster
    // account's with the default ones; each as printed, through bash.
    let steps = finding["fix"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{steps:#?}");
    let command = |i: usize| steps[i]["command"].as_str().unwrap().to_string();
    let description = |i: usize| steps[i]["description"].as_str().unwrap().to_string();
    assert!(
        command(0).starts_with("aws ecr set-repository-policy"),
        "{}",
        command(0)
    );
    assert!(
        command(0).contains(&format!("--registry-id={REGISTRY}")),
        "{}",
        command(0)
    );
    assert!(
        description(0).contains(&format!("registry account {REGISTRY}")),
        "{}",
        description(0)
    );
    assert!(
        command(1).starts_with("aws iam attach-role-policy"),
        "{}",
        command(1)
    );
    assert!(
        description(1).contains(&format!("cluster's account {ACCOUNT}")),
        "{}",
        description(1)
    );
    assert!(
        command(2).starts_with("kubectl rollout restart"),
        "{}",
        command(2)
    );
    for (i, creds) in [(0, registry.clone()), (1, Vec::new())] {
        let c = command(i);
        eprintln!("fix: {c}");
        let out = Command::new("bash")
            .args(["-c", &c])
            .env("AWS_ENDPOINT_URL", moto())
            .envs(creds.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{c}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The registry keeps the other team's grant and adds only the pull for the role.
    let text = aws_as(
        &registry,
        &["ecr", "get-repository-policy", "--repository-name", n.repo],
    )["policyText"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("OtherTeamPull") && text.contains(&n.role_arn()),
        "{text}"
    );

    // 3. Check again: the cross-account finding is gone, nothing is undecided; the
    // pod still waits in the stand-in, so only the generic finding remains.
    let run = cli(check_args(&live, &config)).await;
    let after = json_of(&run);
    assert_eq!(
        rules_of(&after, "findings"),
        ["pod-image-pull-failing"],
        "{after:#}"
    );
    assert_eq!(after["inconclusive"], json!([]), "{after:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_role_for_the_registry_account_the_rules_are_inconclusive_naming_it() {
    let n = &Names {
        cluster: "xacc-unmapped",
        role: "XaccNodeRole-unmapped",
        repo: "xacc/unmapped",
    };
    seed(n);
    let dir = tempfile::tempdir().unwrap();
    let (_server, kubeconfig) = start_cluster(n, dir.path()).await;
    let proxy = AwsProxy::to(&moto()).start().await;
    let live = live_args(&kubeconfig, &proxy.url, None);
    let run = cli(check_args(&live, &["--no-config".to_string()])).await;
    let doc = json_of(&run);
    // No finding claims the pod from facts the registry account would have to
    // give (a missing repository least of all): they are undecided, and say why.
    assert_eq!(
        rules_of(&doc, "findings"),
        ["pod-image-pull-failing"],
        "{doc:#}"
    );
    let inconclusive = doc["inconclusive"].as_array().unwrap();
    let cross = inconclusive
        .iter()
        .find(|i| i["rule"] == RULE)
        .unwrap_or_else(|| panic!("{doc:#}"));
    let reason = cross["reason"].as_str().unwrap();
    for part in [
        format!("no credentials for account `{REGISTRY}`"),
        format!("`aws.accounts.\"{REGISTRY}\".roleArn`"),
        "--assume-role".to_string(),
    ] {
        assert!(reason.contains(&part), "{part} not in {reason}");
    }
    for i in inconclusive {
        assert!(i["reason"].as_str().unwrap().contains(REGISTRY), "{i:#}");
    }
    // Nothing of the registry account was asked for with the wrong credentials.
    let ops = proxy.operations();
    assert!(
        !ops.iter()
            .any(|o| o.starts_with("ecr:") || o.starts_with("sts:")),
        "{ops:#?}"
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_that_cannot_be_assumed_leaves_the_rules_inconclusive_naming_the_role() {
    let n = &Names {
        cluster: "xacc-denied",
        role: "XaccNodeRole-denied",
        repo: "xacc/denied",
    };
    seed(n);
    let dir = tempfile::tempdir().unwrap();
    let (_server, kubeconfig) = start_cluster(n, dir.path()).await;
    let proxy = AwsProxy::to(&moto())
        .deny_sts("AssumeRole", &format!("arn:aws:iam::{ACCOUNT}:user/moto"))
        .start()
        .await;
    let live = live_args(&kubeconfig, &proxy.url, None);
    let template = format!("arn:aws:iam::{{account}}:role/{READER}");
    let run = cli(check_args(
        &live,
        &[
            "--no-config".to_string(),
            "--assume-role".into(),
            template.clone(),
        ],
    ))
    .await;
    let doc = json_of(&run);
    assert_eq!(
        rules_of(&doc, "findings"),
        ["pod-image-pull-failing"],
        "{doc:#}"
    );
    let role = format!("arn:aws:iam::{REGISTRY}:role/{READER}");
    let cross = doc["inconclusive"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["rule"] == RULE)
        .unwrap_or_else(|| panic!("{doc:#}"));
    let reason = cross["reason"].as_str().unwrap();
    for part in [
        format!("cannot assume role `{role}` to read account `{REGISTRY}`"),
        "AccessDenied".to_string(),
        format!("`--assume-role {template}`"),
        "sts:AssumeRole".to_string(),
    ] {
        assert!(reason.contains(&part), "{part} not in {reason}");
    }
    // The role was asked for once, and nothing else of the registry account.
    let ops = proxy.operations();
    assert_eq!(
        ops.iter().filter(|o| *o == "sts:AssumeRole").count(),
        1,
        "{ops:#?}"
    );
    assert!(!ops.iter().any(|o| o.starts_with("ecr:")), "{ops:#?}");
}

#[test]
fn an_assume_role_template_with_another_placeholder_is_a_usage_error() {
    let run = crate::support::rulerun(&[
        "check",
        "--no-config",
        "--assume-role",
        "arn:aws:iam::{account}:role/{region}-reader",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("`{region}`")
            && run.stderr.contains("`{account}` is the only placeholder"),
        "{}",
        run.stderr
    );
}
