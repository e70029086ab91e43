//! Credentials as a pod finds them, without flags.
//!
//! Kubernetes: kube's in-cluster configuration (`KUBERNETES_SERVICE_HOST`/`_PORT`
//! and the service account's token, CA and namespace under
//! `/var/run/secrets/kubernetes.io/serviceaccount/`). Those paths are fixed, so
//! the pod test runs rulerun in a private mount namespace (`unshare --mount`, a
//! tmpfs over `/run`) holding the stand-in API server's token and CA there; where
//! the machine refuses mount namespaces, it checks instead that rulerun, with no
//! kubeconfig, goes to the in-cluster configuration and names what it lacks.
//!
//! AWS: the real `rulerun` binary, a child
//! process with no static keys in its environment (no `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_PROFILE`; empty
//! `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE`; no instance metadata),
//! runs `check` against the stand-in API server and moto, with credentials only
//! from the SDK's default chain:
//!
//! - IRSA: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` + `AWS_ROLE_SESSION_NAME`;
//!   moto's `AssumeRoleWithWebIdentity` returns credentials of the role's account.
//! - EKS Pod Identity: `AWS_CONTAINER_CREDENTIALS_FULL_URI` on loopback, served
//!   by a small HTTP server of this test that checks the `Authorization` header
//!   against `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`.
//!
//! moto keeps accounts apart by the account of the credentials, so each route's
//! scenario is seeded in its own account (through an assumed role, as an
//! operator of that account would) that the default test credentials cannot
//! see: the expected finding fires only if rulerun read AWS with the route's
//! credentials. A child process, because the environment is the process's.
//!
//! Needs moto and the AWS CLI: `scripts/with-moto`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::ffi::OsString;

use rulerun_kube_stub::{Stub, StubServer};

#[path = "../../../tests/support/aws_cli.rs"]
mod aws_cli;
use aws_cli::{Creds, REGION, assume_into, aws_as, create_as, moto, try_aws_as};
use serde_json::{Value, json};

/// The account of the IRSA role.
const IRSA_ACCOUNT: &str = "222233334444";
/// The account of the Pod Identity credentials.
const POD_IDENTITY_ACCOUNT: &str = "333344445555";
/// The account of the refused Pod Identity run.
const REFUSED_ACCOUNT: &str = "444455556667";
/// The walkthrough's headline: the repository policy denies the node role.
const HEADLINE: &str = "ecr-repository-policy-denies-pull";
/// Bound on one run of rulerun: a hang fails the test instead of stalling it.
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// Temporary credentials of `account` (`AssumeRole` of its `admin` role with
/// moto's default credentials) and the `Credentials` object STS returned.
fn account_creds(account: &str) -> (Creds, Value) {
    assume_into(account, "admin")
}

/// The walkthrough's AWS side in `account`: the node role, the cluster and its
/// node group, and the repository whose policy denies the role the pull.
fn seed(account: &str, creds: &Creds) {
    let role_arn = format!("arn:aws:iam::{account}:role/EksNodeGroupRole");
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    })
    .to_string();
    create_as(
        creds,
        &[
            "iam",
            "create-role",
            "--role-name",
            "EksNodeGroupRole",
            "--assume-role-policy-document",
            &trust,
        ],
    );
    for policy in [
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryReadOnly",
    ] {
        aws_as(
            creds,
            &[
                "iam",
                "attach-role-policy",
                "--role-name",
                "EksNodeGroupRole",
                "--policy-arn",
                &format!("arn:aws:iam::aws:policy/{policy}"),
            ],
        );
    }
    create_as(
        creds,
        &[
            "eks",
            "create-cluster",
            "--name",
            "eks-workshop",
            "--role-arn",
            &format!("arn:aws:iam::{account}:role/eks-cluster-role"),
            "--resources-vpc-config",
            "subnetIds=subnet-0a1b2c3d4e5f60718",
        ],
    );
    create_as(
        creds,
        &[
            "eks",
            "create-nodegroup",
            "--cluster-name",
            "eks-workshop",
            "--nodegroup-name",
            "default",
            "--node-role",
            &role_arn,
            "--subnets",
            "subnet-0a1b2c3d4e5f60718",
        ],
    );
    create_as(
        creds,
        &[
            "ecr",
            "create-repository",
            "--repository-name",
            "retail-sample-app-ui",
        ],
    );
    let manifest = aws_cli::IMAGE_MANIFEST.to_string();
    create_as(
        creds,
        &[
            "ecr",
            "put-image",
            "--repository-name",
            "retail-sample-app-ui",
            "--image-tag",
            "1.2.1",
            "--image-manifest",
            &manifest,
        ],
    );
    let deny = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "new policy",
            "Effect": "Deny",
            "Principal": {"AWS": role_arn},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        }]
    })
    .to_string();
    aws_as(
        creds,
        &[
            "ecr",
            "set-repository-policy",
            "--repository-name",
            "retail-sample-app-ui",
            "--policy-text",
            &deny,
        ],
    );
    // moto's default account cannot see it: only the route's credentials can.
    let err = try_aws_as(
        &Vec::new(),
        &[
            "ecr",
            "describe-repositories",
            "--registry-id",
            account,
            "--repository-names",
            "retail-sample-app-ui",
        ],
    )
    .unwrap_err();
    assert!(err.contains("RepositoryNotFound"), "{err}");
}

/// The walkthrough's cluster with its image in `account`'s registry, served by
/// the stand-in API server on `runtime`; the kubeconfig's context is the EKS
/// cluster's ARN, as `aws eks update-kubeconfig` writes it.
fn start_cluster(
    runtime: &tokio::runtime::Runtime,
    account: &str,
    dir: &Path,
) -> (StubServer, std::path::PathBuf) {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/ui-private-403/cluster.json"
    );
    let text = std::fs::read_to_string(fixture)
        .unwrap()
        .replace("1234567890.dkr.ecr.", &format!("{account}.dkr.ecr."));
    assert!(text.contains(&format!(
        "{account}.dkr.ecr.{REGION}.amazonaws.com/retail-sample-app-ui:1.2.1"
    )));
    let objects = rulerun_kube_stub::parse_fixtures(serde_json::from_str(&text).unwrap()).unwrap();
    let server = runtime
        .block_on(Stub::new().tls(true).objects(objects).start())
        .unwrap();
    let context = format!("arn:aws:eks:{REGION}:{account}:cluster/eks-workshop");
    let kubeconfig = server.write_kubeconfig(dir, &context).unwrap();
    (server, kubeconfig)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// What a run of rulerun left.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `rulerun check -o json -A --kubeconfig KUBECONFIG` as a child process
/// whose AWS environment is only `env` (see [`run`]).
fn check(dir: &Path, kubeconfig: &Path, env: &[(&str, String)]) -> Run {
    let mut args: Vec<OsString> = ["check", "--no-config", "-o", "json", "-A", "--kubeconfig"]
        .iter()
        .map(OsString::from)
        .collect();
    args.push(kubeconfig.into());
    run(dir, None, &args, env)
}

/// The script that gives rulerun a pod's service account files: in a private
/// mount namespace, a tmpfs over `/run` (`/var/run` links there) with the
/// token, CA and namespace copied from `$1`, then `exec` of the rest.
const POD_FILES: &str = r#"set -e
run=$(readlink -f /var/run)
mount -t tmpfs tmpfs "$run"
d=/var/run/secrets/kubernetes.io/serviceaccount
mkdir -p "$d"
cp "$1/token" "$1/ca.crt" "$1/namespace" "$d/"
shift
exec "$@"
"#;

/// Whether this machine gives a process a private mount namespace in which it
/// may mount a tmpfs (root, or unprivileged user namespaces).
fn mount_namespaces() -> bool {
    Command::new("unshare")
        .args(["--mount", "--map-root-user", "sh", "-c"])
        .arg("mount -t tmpfs tmpfs \"$(readlink -f /var/run)\"")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `rulerun ARGS` as a child process whose AWS environment is only `env`
/// (plus moto's endpoint and the region): every static credential source is
/// removed, the config and credentials files are empty, instance metadata is
/// off; no kubeconfig is found but the one `args` name (`HOME` is `dir`,
/// `KUBECONFIG` unset). With `pod_files`, rulerun runs as in a pod: see
/// [`POD_FILES`]. Killed, failing the test, after [`TIME_LIMIT`].
fn run(dir: &Path, pod_files: Option<&Path>, args: &[OsString], env: &[(&str, String)]) -> Run {
    let config = dir.join("aws-config");
    let credentials = dir.join("aws-credentials");
    std::fs::write(&config, "").unwrap();
    std::fs::write(&credentials, "").unwrap();
    let bin = env!("CARGO_BIN_EXE_rulerun");
    let mut cmd = match pod_files {
        None => Command::new(bin),
        Some(files) => {
            let mut c = Command::new("unshare");
            c.args(["--mount", "--map-root-user", "sh", "-c", POD_FILES, "sh"])
                .arg(files)
                .arg(bin);
            c
        }
    };
    cmd.args(args).current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") || key.starts_with("KUBERNETES_") {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("KUBECONFIG")
        .env("HOME", dir)
        .env("AWS_ENDPOINT_URL", moto())
        .env("AWS_REGION", REGION)
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rulerun check did not end within {TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "rulerun panicked: {}",
        run.stderr
    );
    run
}

fn json_of(run: &Run) -> Value {
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

/// The walkthrough's diagnosis, read from `account`: the headline with the
/// repository's Deny as only that account holds it, nothing undecided.
fn assert_diagnosed(run: &Run, account: &str) {
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let doc = json_of(run);
    assert!(
        rules_of(&doc, "findings").iter().any(|r| r == HEADLINE),
        "{doc:#}"
    );
    assert_eq!(doc["inconclusive"], json!([]), "{doc:#}");
    let finding = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == HEADLINE)
        .unwrap();
    let text = finding.to_string();
    assert!(text.contains("new policy"), "{finding:#}");
    assert!(
        text.contains(&format!("arn:aws:iam::{account}:role/EksNodeGroupRole")),
        "{finding:#}"
    );
}

/// IRSA's environment, as the EKS webhook injects it, with the projected
/// service-account token written to `dir` (moto does not verify its signature;
/// the route is what is under test).
fn irsa_env(dir: &Path, account: &str) -> Vec<(&'static str, String)> {
    let token = dir.join("token");
    std::fs::write(
        &token,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cnVsZXJ1bjpydWxlcnVuIn0.c2ln",
    )
    .unwrap();
    vec![
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
        (
            "AWS_ROLE_ARN",
            format!("arn:aws:iam::{account}:role/rulerun-irsa"),
        ),
        ("AWS_ROLE_SESSION_NAME", "rulerun-irsa-test".to_string()),
    ]
}

#[test]
fn irsa_web_identity_credentials_come_from_the_default_chain() {
    let (creds, _) = account_creds(IRSA_ACCOUNT);
    seed(IRSA_ACCOUNT, &creds);
    let runtime = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (_server, kubeconfig) = start_cluster(&runtime, IRSA_ACCOUNT, dir.path());
    let run = check(dir.path(), &kubeconfig, &irsa_env(dir.path(), IRSA_ACCOUNT));
    assert_diagnosed(&run, IRSA_ACCOUNT);
}

/// Where kube's in-cluster configuration reads the service account.
const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// `check` as the CronJob of `deploy/` runs it: no kubeconfig, no AWS flags, the
/// EKS cluster's name from `--cluster-name` (in a pod there is no context to
/// take it from).
fn pod_args(extra: &[&str]) -> Vec<OsString> {
    ["check", "--no-config", "-o", "json", "-A"]
        .iter()
        .chain(extra)
        .map(OsString::from)
        .collect()
}

/// rulerun with no kubeconfig and `KUBERNETES_SERVICE_HOST` set, on a machine
/// that is not a pod, goes to the in-cluster configuration and says what it
/// lacks: a usage error naming the service account's files.
fn assert_goes_in_cluster(dir: &Path) {
    assert!(
        !Path::new(SERVICE_ACCOUNT_DIR).join("token").exists(),
        "this test runs outside a pod"
    );
    let env = vec![
        ("KUBERNETES_SERVICE_HOST", "127.0.0.1".to_string()),
        ("KUBERNETES_SERVICE_PORT", "1".to_string()),
    ];
    let run = run(dir, None, &pod_args(&["--no-aws"]), &env);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("not in a cluster"), "{}", run.stderr);
    assert!(
        run.stderr.contains(SERVICE_ACCOUNT_DIR),
        "the error names the service account's files: {}",
        run.stderr
    );
}

#[test]
fn without_a_kubeconfig_rulerun_goes_to_the_in_cluster_configuration() {
    let dir = tempfile::tempdir().unwrap();
    assert_goes_in_cluster(dir.path());
}

#[test]
fn a_pod_with_irsa_needs_no_kubeconfig_and_no_aws_flags() {
    let dir = tempfile::tempdir().unwrap();
    if mount_namespaces() {
        assert_pod_with_irsa_diagnoses(dir.path());
    } else {
        eprintln!(
            "this machine refuses private mount namespaces (`unshare --mount --map-root-user`): \
             checking only that rulerun goes to the in-cluster configuration"
        );
        assert_goes_in_cluster(dir.path());
    }
}

/// In a private mount namespace holding the service account's files, rulerun
/// reads the stand-in cluster in-cluster and AWS through IRSA, and diagnoses.
fn assert_pod_with_irsa_diagnoses(dir: &Path) {
    const ACCOUNT: &str = "555566667777";
    let (creds, _) = account_creds(ACCOUNT);
    seed(ACCOUNT, &creds);
    let runtime = runtime();
    let (server, _kubeconfig) = start_cluster(&runtime, ACCOUNT, dir);
    // The service account's files as the kubelet projects them: the stand-in
    // requires this token and serves HTTPS with a certificate of this CA.
    let files = dir.join("serviceaccount");
    std::fs::create_dir(&files).unwrap();
    std::fs::write(files.join("token"), rulerun_kube_stub::TOKEN).unwrap();
    std::fs::write(files.join("ca.crt"), server.ca_pem().unwrap()).unwrap();
    std::fs::write(files.join("namespace"), "rulerun").unwrap();
    let mut env = irsa_env(dir, ACCOUNT);
    env.push(("KUBERNETES_SERVICE_HOST", "127.0.0.1".to_string()));
    env.push(("KUBERNETES_SERVICE_PORT", server.addr().port().to_string()));
    let run = run(
        dir,
        Some(&files),
        &pod_args(&["--cluster-name", "eks-workshop"]),
        &env,
    );
    assert_diagnosed(&run, ACCOUNT);
    // The cluster was read through the in-cluster configuration, every
    // namespace (the service account's own namespace is only the default).
    assert!(
        server.count(|r| r.is_for("pods")) >= 1,
        "{:?}",
        server.requests()
    );
}

/// A loopback stand-in for the EKS Pod Identity agent: answers every request
/// with `body` and `status`, counting the requests and whether each carried
/// `Authorization: <token>`.
struct Agent {
    url: String,
    calls: Arc<AtomicUsize>,
    authorized: Arc<AtomicUsize>,
    paths: Arc<Mutex<Vec<String>>>,
}

impl Agent {
    fn start(status: u16, body: String, token: &str) -> Agent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/credentials", listener.local_addr().unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        let authorized = Arc::new(AtomicUsize::new(0));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let (c, a, p) = (calls.clone(), authorized.clone(), paths.clone());
        let token = token.to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                p.lock()
                    .unwrap()
                    .push(line.split_whitespace().nth(1).unwrap_or("").to_string());
                let mut auth = None;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = header.split_once(':')
                        && k.trim().eq_ignore_ascii_case("authorization")
                    {
                        auth = Some(v.trim().to_string());
                    }
                }
                c.fetch_add(1, Ordering::SeqCst);
                let ok = auth.as_deref() == Some(token.as_str());
                if ok {
                    a.fetch_add(1, Ordering::SeqCst);
                }
                let (status, body) = if ok {
                    (status, body.clone())
                } else {
                    (401, "{\"message\":\"bad token\"}".to_string())
                };
                let reason = if status == 200 { "OK" } else { "Forbidden" };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Agent {
            url,
            calls,
            authorized,
            paths,
        }
    }
}

/// The Pod Identity environment the EKS webhook injects, with the token in a file.
fn pod_identity_env(dir: &Path, agent: &Agent, token: &str) -> Vec<(&'static str, String)> {
    let file = dir.join("eks-pod-identity-token");
    std::fs::write(&file, token).unwrap();
    vec![
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", agent.url.clone()),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            file.display().to_string(),
        ),
    ]
}

#[test]
fn pod_identity_container_credentials_come_from_the_default_chain() {
    let (creds, sts) = account_creds(POD_IDENTITY_ACCOUNT);
    seed(POD_IDENTITY_ACCOUNT, &creds);
    // The agent's answer: the account's temporary credentials.
    let body = json!({
        "AccessKeyId": sts["AccessKeyId"],
        "SecretAccessKey": sts["SecretAccessKey"],
        "Token": sts["SessionToken"],
        "Expiration": sts["Expiration"],
        "AccountId": POD_IDENTITY_ACCOUNT,
    })
    .to_string();
    let token = "pod-identity-token-of-the-service-account";
    let agent = Agent::start(200, body, token);
    let runtime = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (_server, kubeconfig) = start_cluster(&runtime, POD_IDENTITY_ACCOUNT, dir.path());
    let run = check(
        dir.path(),
        &kubeconfig,
        &pod_identity_env(dir.path(), &agent, token),
    );
    assert_diagnosed(&run, POD_IDENTITY_ACCOUNT);
    let calls = agent.calls.load(Ordering::SeqCst);
    assert!(calls >= 1, "the agent was never asked");
    assert_eq!(
        agent.authorized.load(Ordering::SeqCst),
        calls,
        "a request without the token"
    );
    assert!(
        agent
            .paths
            .lock()
            .unwrap()
            .iter()
            .all(|p| p == "/v1/credentials"),
        "{:?}",
        agent.paths.lock().unwrap()
    );
}

#[test]
fn a_refused_pod_identity_agent_leaves_the_aws_rules_inconclusive_naming_credentials() {
    let (creds, _) = account_creds(REFUSED_ACCOUNT);
    seed(REFUSED_ACCOUNT, &creds);
    let token = "pod-identity-token-of-the-service-account";
    let agent = Agent::start(
        403,
        "{\"message\":\"the association was removed\"}".to_string(),
        token,
    );
    let runtime = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (_server, kubeconfig) = start_cluster(&runtime, REFUSED_ACCOUNT, dir.path());
    let run = check(
        dir.path(),
        &kubeconfig,
        &pod_identity_env(dir.path(), &agent, token),
    );
    eprintln!("{}\n{}", run.stdout, run.stderr);
    assert!(
        agent.calls.load(Ordering::SeqCst) >= 1,
        "the agent was never asked"
    );
    let doc = json_of(&run);
    // Nothing is claimed from AWS facts that could not be read.
    assert!(
        !rules_of(&doc, "findings").iter().any(|r| r == HEADLINE),
        "{doc:#}"
    );
    let inconclusive = doc["inconclusive"].as_array().unwrap();
    let headline = inconclusive
        .iter()
        .find(|i| i["rule"] == HEADLINE)
        .unwrap_or_else(|| panic!("{doc:#}"));
    let reason = headline["reason"].as_str().unwrap();
    assert!(reason.contains("credentials"), "{reason}");
    assert!(
        run.code == 1 || run.code == 3,
        "exit {}: {}",
        run.code,
        run.stderr
    );
}
