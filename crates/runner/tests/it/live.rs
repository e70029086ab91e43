use std::path::Path;
use std::sync::Arc;

use rulerun_collect_k8s::connect::{ConnectOptions, connect};
use rulerun_collect_k8s::fetch::{FetchOptions, K8sFetcher};
use rulerun_core::{FactStore, RuleSet, SourceFile, check, load_rules};
use rulerun_kube_stub::{Stub, StubServer};
use rulerun_runner::{LiveOptions, LiveRun, run};
use serde_json::{Value, json};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

pub(crate) fn scenario_objects() -> Vec<Value> {
    let text =
        std::fs::read_to_string(root().join("examples/ui-private-403/cluster.json")).unwrap();
    rulerun_kube_stub::parse_fixtures(serde_json::from_str(&text).unwrap()).unwrap()
}

const PODS_ONLY: &str = r#"
rules:
  - id: pending-pod
    title: Pod is pending
    severity: low
    subject: {kind: k8s/v1/Pod, where: {path: $.status.phase, equals: Pending}}
    finding: {message: "{{ subject.metadata.name }} is pending"}
"#;

pub(crate) fn rules(extra: &[(&str, &str)]) -> RuleSet {
    let mut files: Vec<SourceFile> = ["pod-image-pull-failing/rule.yaml", "parts/image-pull.yaml"]
        .iter()
        .map(|f| {
            let path = root().join("rules/kubernetes").join(f);
            SourceFile {
                text: std::fs::read_to_string(&path).unwrap(),
                path,
            }
        })
        .collect();
    for (name, text) in extra {
        files.push(SourceFile {
            path: name.into(),
            text: (*text).to_string(),
        });
    }
    let (set, errors) = load_rules(&files);
    assert!(errors.is_empty(), "{errors:#?}");
    set
}

async fn live(server: &StubServer, rules: &RuleSet, namespace: Option<&str>) -> LiveRun {
    live_with(
        server,
        rules,
        namespace,
        Err("AWS collection is off in this test".into()),
    )
    .await
}

/// A live run with this AWS reader (or why there is none).
pub(crate) async fn live_with(
    server: &StubServer,
    rules: &RuleSet,
    namespace: Option<&str>,
    aws: Result<Arc<rulerun_collect_aws::AwsCollector>, String>,
) -> LiveRun {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path(), "stub").unwrap();
    let (client, _) = connect(&ConnectOptions {
        kubeconfig: Some(kubeconfig),
        ..ConnectOptions::default()
    })
    .await
    .unwrap();
    let k8s = Arc::new(K8sFetcher::new(
        client,
        FetchOptions {
            page_size: 50,
            ..FetchOptions::default()
        },
    ));
    let opts = LiveOptions {
        k8s,
        namespace: namespace.map(str::to_string),
        aws,
    };
    run(rules, &opts, &|_| {}).await
}

#[tokio::test]
async fn the_scenario_is_diagnosed_with_the_fewest_reads() {
    let server = Stub::new()
        .objects(scenario_objects())
        .start()
        .await
        .unwrap();
    let set = rules(&[]);
    let out = live(&server, &set, None).await;
    assert!(
        out.report.inconclusive.is_empty(),
        "{:#?}",
        out.report.inconclusive
    );
    assert_eq!(out.report.findings.len(), 1, "{:#?}", out.report);
    let f = &out.report.findings[0];
    assert!(f.message.contains("403 Forbidden"), "{}", f.message);
    assert_eq!(
        f.fix[0].command,
        "kubectl rollout restart --namespace=default -- deployment/ui-private"
    );
    // One list per listed kind, one field-selected event list for the one failing pod.
    assert_eq!(server.count(|r| r.path == "/api/v1/pods"), 1);
    assert_eq!(server.count(|r| r.path == "/apis/apps/v1/replicasets"), 1);
    assert_eq!(server.count(|r| r.path == "/apis/apps/v1/deployments"), 1);
    let events: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/events")
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].param("fieldSelector"),
        Some("involvedObject.uid=c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e03")
    );
    assert_eq!(
        server.count(|r| r.path.contains("/nodes")),
        0,
        "no rule reads nodes"
    );
    assert_eq!(out.k8s_requests, server.requests().len());
    assert!(server.requests().iter().all(|r| r.method == "GET"));
}

#[tokio::test]
async fn a_403_on_events_makes_only_the_rules_needing_events_inconclusive() {
    let server = Stub::new()
        .objects(scenario_objects())
        .forbid("list", "events", None)
        .start()
        .await
        .unwrap();
    let set = rules(&[("pods.yaml", PODS_ONLY)]);
    let out = live(&server, &set, None).await;
    let rules_with_findings: Vec<&str> = out
        .report
        .findings
        .iter()
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(rules_with_findings, vec!["pending-pod"]);
    assert_eq!(
        out.report.inconclusive.len(),
        1,
        "{:#?}",
        out.report.inconclusive
    );
    let inc = &out.report.inconclusive[0];
    assert_eq!(inc.rule, "pod-image-pull-failing");
    assert!(
        inc.reason.contains("forbidden: cannot list `events`"),
        "{}",
        inc.reason
    );
    assert!(inc.reason.contains("ClusterRole"), "{}", inc.reason);
}

#[tokio::test]
async fn the_collected_snapshot_gives_the_same_findings_offline() {
    let server = Stub::new()
        .objects(scenario_objects())
        .start()
        .await
        .unwrap();
    let set = rules(&[("pods.yaml", PODS_ONLY)]);
    let out = live(&server, &set, None).await;
    let snapshot = out.facts.to_snapshot(json!({"source": "test"}));
    let mut offline = FactStore::new();
    offline
        .add_document(serde_json::from_str(&serde_json::to_string(&snapshot).unwrap()).unwrap())
        .unwrap();
    let again = check(&set, &offline);
    assert_eq!(again.findings, out.report.findings);
    assert_eq!(again.findings.len(), 2);
}

#[tokio::test]
async fn many_failing_pods_read_events_per_namespace_not_per_pod() {
    let mut objects = Vec::new();
    for ns in ["a", "b"] {
        for i in 0..8 {
            let uid = format!("{ns}-{i}");
            objects.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("p{i}"), "namespace": ns, "uid": uid},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
                "status": {"phase": "Pending", "containerStatuses": [{"name": "c", "image": "x", "state": {"waiting": {"reason": "ErrImagePull"}}}]}}));
            objects.push(json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("e{i}"), "namespace": ns},
                "involvedObject": {"uid": uid, "namespace": ns, "name": format!("p{i}"), "kind": "Pod"}, "reason": "Failed",
                "message": "Failed to pull image \"x\": not found", "type": "Warning"}));
        }
    }
    let server = Stub::new().objects(objects).start().await.unwrap();
    let out = live(&server, &rules(&[]), None).await;
    assert_eq!(out.report.findings.len(), 16);
    assert!(
        out.report
            .findings
            .iter()
            .all(|f| f.message.ends_with("not found"))
    );
    let mut paths: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("events"))
        .map(|r| r.path)
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec!["/api/v1/namespaces/a/events", "/api/v1/namespaces/b/events"],
        "16 subjects in 2 namespaces: one list per namespace"
    );
}
