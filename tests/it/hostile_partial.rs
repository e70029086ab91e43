//! Partial collection, end to end: with AWS off (`--no-aws`, the same as an
//! unreachable or denying account), only the subjects that needed an AWS fact are
//! inconclusive. A healthy cluster is conclusive; in the reference scenario the
//! AWS-backed rules name only the failing pod, and the Kubernetes rule still
//! reports it.

use serde_json::Value;

use crate::support::{Run, repo, rulerun};
use rulerun_kube_stub::{Stub, StubServer};

/// The failing pod of the reference scenario.
const POD: &str = "ui-private-7655bf59b9-jprrj";

/// The built-in rules that read AWS facts.
const AWS_RULES: [&str; 7] = [
    "ecr-auth-token-unavailable",
    "ecr-cross-account-pull-not-allowed",
    "ecr-endpoint-unreachable",
    "ecr-image-tag-not-found",
    "ecr-repository-not-found",
    "ecr-repository-policy-denies-pull",
    "node-role-missing-ecr-pull",
];

/// The reference scenario (one pod in `ImagePullBackOff` on a private ECR image).
fn scenario() -> Vec<Value> {
    let text = std::fs::read_to_string(repo("examples/ui-private-403/cluster.json")).unwrap();
    rulerun_kube_stub::parse_fixtures(serde_json::from_str(&text).unwrap()).unwrap()
}

/// Runs `rulerun check -A -o json --no-aws` (and `extra`) against `server`.
async fn check_no_aws(server: &StubServer, extra: &[&str]) -> (Run, Value) {
    let dir = tempfile::tempdir().unwrap();
    let kc = server
        .write_kubeconfig(dir.path(), "stub")
        .unwrap()
        .display()
        .to_string();
    let mut args: Vec<String> = ["check", "-A", "-o", "json", "--no-aws", "--kubeconfig", &kc]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let run = tokio::task::spawn_blocking(move || rulerun(&args))
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", run.stdout, run.stderr));
    (run, doc)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_cluster_without_aws_is_conclusive_and_exits_0() {
    // 60 running pods on public ECR images, their nodes, events and owners.
    let server = Stub::new()
        .objects(rulerun_kube_stub::synth::cluster(60, 0))
        .start()
        .await
        .unwrap();
    let (run, doc) = check_no_aws(&server, &[]).await;
    assert_eq!(run.code, 0, "{doc:#}\n{}", run.stderr);
    assert_eq!(doc["inconclusive"], serde_json::json!([]), "{doc:#}");
    assert_eq!(doc["findings"], serde_json::json!([]), "{doc:#}");
    assert_eq!(doc["summary"]["inconclusive"], 0);
    let rules =
        tokio::task::spawn_blocking(|| rulerun(&["rules", "list", "--no-config", "-o", "json"]))
            .await
            .unwrap();
    let rules: Value = serde_json::from_str(&rules.stdout).unwrap();
    assert_eq!(
        doc["summary"]["rulesEvaluated"],
        rules.as_array().unwrap().len(),
        "every rule ran"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_scenario_without_aws_is_inconclusive_for_its_pod_only() {
    // The failing pod among 40 healthy ones.
    let mut objects = scenario();
    objects.extend(rulerun_kube_stub::synth::cluster(40, 0));
    let server = Stub::new().objects(objects).start().await.unwrap();

    // The generic finding is `high`: below `--fail-on critical`, the run exits 3.
    let (run, doc) = check_no_aws(&server, &["--fail-on", "critical"]).await;
    assert_eq!(run.code, 3, "{doc:#}\n{}", run.stderr);
    let inconclusive = doc["inconclusive"].as_array().unwrap();
    let mut rules: Vec<&str> = Vec::new();
    for i in inconclusive {
        let rule = i["rule"].as_str().unwrap();
        assert!(AWS_RULES.contains(&rule), "{i:#}");
        assert_eq!(i["subject"]["name"], POD, "only the failing pod: {i:#}");
        assert_eq!(i["subject"]["namespace"], "default", "{i:#}");
        assert_eq!(i["subject"]["kind"], "k8s/v1/Pod", "{i:#}");
        let reason = i["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("`aws/")
                && reason.contains("could not be collected: AWS collection is off (`--no-aws`)"),
            "{i:#}"
        );
        rules.push(rule);
    }
    rules.sort();
    rules.dedup();
    assert_eq!(
        rules, AWS_RULES,
        "every AWS rule needed an AWS fact for the pod"
    );

    // The Kubernetes rule still reports the pod, marked with the rules that could
    // have replaced its finding by a precise one.
    let findings = doc["findings"].as_array().unwrap();
    let generic: Vec<&Value> = findings
        .iter()
        .filter(|f| f["rule"] == "pod-image-pull-failing")
        .collect();
    assert_eq!(generic.len(), 1, "{doc:#}");
    assert_eq!(generic[0]["subject"]["name"], POD);
    let marked: Vec<&str> = generic[0]["mayBeSupersededBy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(marked, AWS_RULES, "{:#}", generic[0]);
    assert_eq!(findings.len(), 1, "{doc:#}");

    // At the default `--fail-on` the finding decides the exit code.
    let (run, doc) = check_no_aws(&server, &[]).await;
    assert_eq!(run.code, 1, "{doc:#}\n{}", run.stderr);
    assert_eq!(
        doc["inconclusive"].as_array().unwrap().len(),
        inconclusive.len()
    );

    // The text output says so under the finding, and lists each rule once.
    let run = check_text_no_aws(&server).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let mark = format!(
        "    a more precise rule could not decide: {} (inconclusive, below)",
        AWS_RULES.join(", ")
    );
    assert!(run.stdout.lines().any(|l| l == mark), "{}", run.stdout);
    for rule in AWS_RULES {
        let lines: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.starts_with(&format!("  {rule}: `aws/")))
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "{rule}: one subject, one line\n{}",
            run.stdout
        );
    }
}

/// Runs `rulerun check -A --no-aws` with text output against `server`.
async fn check_text_no_aws(server: &StubServer) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let kc = server
        .write_kubeconfig(dir.path(), "stub")
        .unwrap()
        .display()
        .to_string();
    let args: Vec<String> = ["check", "-A", "--no-aws", "--kubeconfig", &kc]
        .iter()
        .map(|s| s.to_string())
        .collect();
    tokio::task::spawn_blocking(move || rulerun(&args))
        .await
        .unwrap()
}

/// The same for a Kubernetes kind RBAC denies: a healthy cluster that hides its
/// ReplicaSets (read only to name a failing pod's owner) is still conclusive, the
/// failing pod's rules say what was refused, and a denied subject kind (pods) makes
/// every rule inconclusive as a whole.
#[tokio::test(flavor = "multi_thread")]
async fn a_kind_rbac_denies_makes_only_the_subjects_needing_it_inconclusive() {
    let server = Stub::new()
        .objects(rulerun_kube_stub::synth::cluster(40, 0))
        .forbid("list", "replicasets", None)
        .start()
        .await
        .unwrap();
    let (run, doc) = check_no_aws(&server, &[]).await;
    assert_eq!(run.code, 0, "{doc:#}\n{}", run.stderr);
    assert_eq!(doc["inconclusive"], serde_json::json!([]), "{doc:#}");

    let mut objects = scenario();
    objects.extend(rulerun_kube_stub::synth::cluster(40, 0));
    let server = Stub::new()
        .objects(objects)
        .forbid("list", "replicasets", None)
        .start()
        .await
        .unwrap();
    let (_, doc) = check_no_aws(&server, &[]).await;
    let refused: Vec<&Value> = doc["inconclusive"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["reason"].as_str().unwrap().contains("replicasets"))
        .collect();
    assert!(!refused.is_empty(), "{doc:#}");
    for i in &refused {
        assert_eq!(i["subject"]["name"], POD, "{i:#}");
        assert!(
            i["reason"]
                .as_str()
                .unwrap()
                .starts_with("`k8s/apps/v1/ReplicaSet` could not be collected: forbidden"),
            "{i:#}"
        );
    }

    let server = Stub::new()
        .objects(scenario())
        .forbid("list", "pods", None)
        .start()
        .await
        .unwrap();
    let (run, doc) = check_no_aws(&server, &[]).await;
    assert_eq!(run.code, 3, "{doc:#}\n{}", run.stderr);
    let inconclusive = doc["inconclusive"].as_array().unwrap();
    // Exactly the rules whose subjects are pods, each once, as a whole.
    let mut rules: Vec<&str> = inconclusive
        .iter()
        .map(|i| i["rule"].as_str().unwrap())
        .collect();
    rules.sort_unstable();
    assert_eq!(
        rules,
        [
            "ecr-auth-token-unavailable",
            "ecr-cross-account-pull-not-allowed",
            "ecr-endpoint-unreachable",
            "ecr-image-tag-not-found",
            "ecr-repository-not-found",
            "ecr-repository-policy-denies-pull",
            "efs-mount-blocked-by-security-group",
            "node-role-missing-ecr-pull",
            "pod-image-pull-failing",
            "pod-unschedulable-node-selector",
            "vpc-cni-cannot-assign-ip",
        ],
        "{doc:#}"
    );
    for i in inconclusive {
        assert!(i.get("subject").is_none(), "as a whole: {i:#}");
        assert!(
            i["reason"]
                .as_str()
                .unwrap()
                .starts_with("`k8s/v1/Pod` could not be collected: forbidden"),
            "{i:#}"
        );
    }
}
