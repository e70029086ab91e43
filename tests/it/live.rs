//! `rulerun check` and `rulerun collect` against a live (stand-in) cluster, the
//! real kube client going through a generated kubeconfig.

use serde_json::Value;

use crate::support::{Run, repo, rulerun};
use rulerun_kube_stub::{Stub, StubServer};

fn scenario() -> Vec<Value> {
    let text = std::fs::read_to_string(repo("examples/ui-private-403/cluster.json")).unwrap();
    rulerun_kube_stub::parse_fixtures(serde_json::from_str(&text).unwrap()).unwrap()
}

/// Runs the CLI on a blocking thread: it starts its own async runtime.
async fn cli(args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || rulerun(&args))
        .await
        .unwrap()
}

fn kubeconfig(server: &StubServer, dir: &tempfile::TempDir) -> String {
    server
        .write_kubeconfig(dir.path(), "stub")
        .unwrap()
        .display()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reads_the_live_cluster_over_tls() {
    let server = Stub::new()
        .objects(scenario())
        .tls(true)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(&server, &dir);
    let run = cli(vec![
        "check".into(),
        "-A".into(),
        "-o".into(),
        "json".into(),
        "--no-aws".into(),
        "--kubeconfig".into(),
        kc,
    ])
    .await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let generic = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "pod-image-pull-failing")
        .unwrap();
    assert_eq!(generic["subject"]["name"], "ui-private-7655bf59b9-jprrj");
    // With AWS off, the ECR rules cannot decide, and say why.
    let inconclusive = doc["inconclusive"].as_array().unwrap();
    let headline = inconclusive
        .iter()
        .find(|i| i["rule"] == "ecr-repository-policy-denies-pull")
        .unwrap();
    assert!(
        headline["reason"].as_str().unwrap().contains("`--no-aws`"),
        "{headline}"
    );
    assert!(server.requests().iter().all(|r| r.method == "GET"));
    assert_eq!(server.count(|r| r.path.contains("secrets")), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn collect_writes_a_snapshot_that_checks_the_same_offline() {
    let server = Stub::new().objects(scenario()).start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(&server, &dir);
    let snap = dir.path().join("snapshot.json").display().to_string();
    let rules = repo("rules/kubernetes");
    let run = cli(vec![
        "collect".into(),
        "--no-builtin".into(),
        "--rules".into(),
        rules.clone(),
        "--kubeconfig".into(),
        kc.clone(),
        "-o".into(),
        snap.clone(),
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("wrote"), "{}", run.stderr);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&snap).unwrap()).unwrap();
    assert_eq!(doc["kind"], "Snapshot");
    assert!(doc["facts"]["k8s/v1/Pod"].as_array().unwrap().len() == 1);
    assert!(
        doc["facts"].get("k8s/v1/Node").is_none(),
        "only what the rules read"
    );
    let live = cli(vec![
        "check".into(),
        "--no-builtin".into(),
        "--rules".into(),
        rules.clone(),
        "--kubeconfig".into(),
        kc,
        "-o".into(),
        "json".into(),
    ])
    .await;
    let offline = cli(vec![
        "check".into(),
        "--no-builtin".into(),
        "--rules".into(),
        rules,
        "--facts".into(),
        snap,
        "-o".into(),
        "json".into(),
    ])
    .await;
    let a: Value = serde_json::from_str(&live.stdout).unwrap();
    let b: Value = serde_json::from_str(&offline.stdout).unwrap();
    assert_eq!(a["findings"], b["findings"]);
    assert_eq!(a["findings"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn forbidden_events_make_rules_inconclusive_and_exit_3() {
    let server = Stub::new()
        .objects(scenario())
        .forbid("list", "events", None)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(&server, &dir);
    let run = cli(vec![
        "check".into(),
        "--no-builtin".into(),
        "--rules".into(),
        repo("rules/kubernetes"),
        "--kubeconfig".into(),
        kc,
    ])
    .await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("inconclusive (facts could not be collected):"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("pod-image-pull-failing: forbidden: cannot list `events`"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_cluster_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("missing-kubeconfig").display().to_string();
    let run = cli(vec!["check".into(), "--kubeconfig".into(), kc]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot use kubeconfig"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("help:"), "{}", run.stderr);
}

#[test]
fn an_unusable_ca_bundle_is_a_usage_error_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem").display().to_string();
    let run = rulerun(&["check", "-A", "--ca-bundle", &missing]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot read the CA bundle"),
        "{}",
        run.stderr
    );
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "hello\n").unwrap();
    let run = rulerun(&["check", "-A", "--ca-bundle", &junk.display().to_string()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the CA bundle holds no PEM certificate")
            && run.stderr.contains("help:"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_finds_a_service_without_pods_in_the_live_cluster() {
    // The Services, Ingresses and pods of examples/service-selects-no-pods, served by
    // the stand-in API server: the same finding as from the snapshot, read-only.
    let text =
        std::fs::read_to_string(repo("examples/service-selects-no-pods/cluster.json")).unwrap();
    let objects = rulerun_kube_stub::parse_fixtures(serde_json::from_str(&text).unwrap()).unwrap();
    let server = Stub::new().objects(objects).start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(&server, &dir);
    let run = cli(vec![
        "check".into(),
        "-A".into(),
        "-o".into(),
        "json".into(),
        "--no-aws".into(),
        "--no-config".into(),
        "--kubeconfig".into(),
        kc,
    ])
    .await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{doc:#}");
    let f = &findings[0];
    assert_eq!(f["rule"], "service-selects-no-pods");
    assert_eq!(f["subject"]["kind"], "k8s/v1/Service");
    assert_eq!(f["subject"]["namespace"], "shop");
    assert_eq!(f["subject"]["name"], "storefront");
    assert_eq!(
        f["evidence"]["ingresses"],
        serde_json::json!(["storefront"])
    );
    assert_eq!(doc["inconclusive"], serde_json::json!([]), "{doc:#}");
    assert!(server.count(|r| r.path.ends_with("/services")) >= 1);
    assert!(
        server
            .count(|r| r.path.contains("/apis/networking.k8s.io/v1/")
                && r.path.ends_with("/ingresses"))
            >= 1
    );
    assert!(server.requests().iter().all(|r| r.method == "GET"));
}
