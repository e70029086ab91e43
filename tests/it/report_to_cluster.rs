//! `rulerun check --report-to-cluster` against the stand-in API server: the
//! real kube client applies rulerun's reports (server-side apply, field manager
//! `rulerun`) and prunes the ones it owns; the request log shows the sequence.

use serde_json::{Value, json};

use crate::reports::{data, openreports_schemas, validate_openreport};
use crate::support::{Run, repo, rulerun};
use rulerun_kube_stub::{Request, Stub, StubServer};

const LABEL: &str = "app.kubernetes.io/managed-by";
const REPORT: &str = "openreports.io/v1alpha1";

/// The reference scenario's Kubernetes objects.
fn scenario() -> Vec<Value> {
    let text = std::fs::read_to_string(repo("examples/ui-private-403/cluster.json")).unwrap();
    rulerun_kube_stub::parse_fixtures(serde_json::from_str(&text).unwrap()).unwrap()
}

/// The scenario's namespaced objects again, in namespace `ns` with `suffix` on
/// every name and uid (the workload, its pod and the pod's events): another
/// failing pod, another finding.
fn copy(ns: &str, suffix: &str) -> Vec<Value> {
    scenario()
        .into_iter()
        .filter(|o| o["metadata"]["namespace"] == "default")
        .map(|o| {
            let text = serde_json::to_string(&o)
                .unwrap()
                .replace("ui-private", &format!("ui-private{suffix}"))
                .replace(
                    "\"namespace\":\"default\"",
                    &format!("\"namespace\":\"{ns}\""),
                );
            let mut v: Value = serde_json::from_str(&text).unwrap();
            rewrite_uids(&mut v, suffix);
            v
        })
        .collect()
}

/// Every `uid` member gets `suffix` folded into its last group.
fn rewrite_uids(v: &mut Value, suffix: &str) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                if k == "uid"
                    && let Value::String(s) = child
                {
                    let tail: String = format!("{:x}", suffix.len() + 9).repeat(4);
                    *s = format!("{}{}", &s[..s.len() - 4], &tail[..4]);
                } else {
                    rewrite_uids(child, suffix);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| rewrite_uids(c, suffix)),
        _ => {}
    }
}

fn openreports_crds() -> Vec<Value> {
    [
        "openreports/openreports.io_reports.yaml",
        "openreports/openreports.io_clusterreports.yaml",
    ]
    .iter()
    .map(|f| rulerun_core::yaml::parse(&data(f)).unwrap().to_json())
    .collect()
}

/// A report that is not rulerun's (a policy engine's), in `ns`.
fn foreign_report(ns: &str, name: &str, labels: Value) -> Value {
    json!({
        "apiVersion": REPORT, "kind": "Report",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "source": "kyverno",
        "results": [{"policy": "require-labels", "result": "fail", "message": "label `team` is required"}],
        "summary": {"fail": 1}
    })
}

async fn cli(args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || rulerun(&args))
        .await
        .unwrap()
}

async fn check(server: &StubServer, dir: &tempfile::TempDir, extra: &[&str]) -> Run {
    let kc = server
        .write_kubeconfig(dir.path(), "stub")
        .unwrap()
        .display()
        .to_string();
    let mut args: Vec<String> = ["check", "-A", "--no-aws", "--kubeconfig", &kc]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    cli(args).await
}

/// The requests on report kinds and discovery of their group, as lines.
fn report_requests(server: &StubServer) -> Vec<Request> {
    server
        .requests()
        .into_iter()
        .filter(|r| {
            r.path.starts_with("/apis/openreports.io") || r.path.starts_with("/apis/wgpolicyk8s.io")
        })
        .collect()
}

fn print_log(title: &str, requests: &[Request]) {
    println!("--- {title}");
    for r in requests {
        println!("{r}");
    }
}

/// `namespace/name` → the stored report.
fn stored(server: &StubServer, kind: &str) -> std::collections::BTreeMap<String, Value> {
    server
        .objects_of(REPORT, kind)
        .into_iter()
        .map(|o| {
            let ns = o["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let name = o["metadata"]["name"].as_str().unwrap().to_string();
            (format!("{ns}/{name}"), o)
        })
        .collect()
}

fn results_about(report: &Value) -> Vec<String> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["resources"].as_array().cloned().unwrap_or_default())
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_update_and_prune_across_two_runs() {
    let mut objects = scenario();
    objects.extend(copy("shop", "-a"));
    objects.extend(copy("shop", "-b"));
    objects.extend(openreports_crds());
    // Left from an earlier run, in a namespace that has nothing to report.
    let mut stale = foreign_report("stale", "rulerun", json!({LABEL: "rulerun"}));
    stale["source"] = json!("rulerun");
    objects.push(stale);
    // Not rulerun's: unlabelled, and labelled as another tool's.
    objects.push(foreign_report("default", "kyverno-default", json!({})));
    objects.push(foreign_report(
        "shop",
        "polr-shop",
        json!({LABEL: "kyverno"}),
    ));
    let server = Stub::new()
        .objects(objects)
        .tls(true)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let crds = openreports_schemas();

    // Run 1: a report per namespace with findings and the cluster report are
    // created, rulerun's stale report goes, the others stay.
    let run = check(&server, &dir, &["--report-to-cluster"]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("ui-private-7655bf59b9-jprrj"),
        "{}",
        run.stdout
    );
    for line in [
        "reports in the cluster (openreports.io, field manager `rulerun`):",
        "  created   Report default/rulerun",
        "  created   Report shop/rulerun",
        "  deleted   Report stale/rulerun",
        "  created   ClusterReport rulerun-cluster",
    ] {
        assert!(
            run.stderr.lines().any(|l| l == line),
            "{line:?} in\n{}",
            run.stderr
        );
    }
    let first_log = report_requests(&server);
    print_log("run 1", &first_log);
    let reports = stored(&server, "Report");
    assert_eq!(
        reports.keys().collect::<Vec<_>>(),
        [
            "default/kyverno-default",
            "default/rulerun",
            "shop/polr-shop",
            "shop/rulerun"
        ]
    );
    let foreign_before = reports.clone();
    let shop = &reports["shop/rulerun"];
    let shop_uid = shop["metadata"]["uid"].as_str().unwrap().to_string();
    let shop_rv: u64 = shop["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mf = &shop["metadata"]["managedFields"];
    assert_eq!(mf.as_array().unwrap().len(), 1, "{mf:#}");
    assert_eq!(mf[0]["manager"], "rulerun");
    assert_eq!(mf[0]["operation"], "Apply");
    assert_eq!(shop["metadata"]["labels"][LABEL], "rulerun");
    let about = results_about(shop);
    assert!(
        about.iter().any(|n| n.ends_with("-a-7655bf59b9-jprrj")),
        "{about:?}"
    );
    assert!(
        about.iter().any(|n| n.ends_with("-b-7655bf59b9-jprrj")),
        "{about:?}"
    );
    let shop_fails = shop["summary"]["fail"].as_u64().unwrap();
    assert_eq!(shop_fails % 2, 0, "as many findings per pod: {shop:#}");
    for r in reports
        .values()
        .filter(|r| r["metadata"]["labels"][LABEL] == "rulerun")
    {
        validate_openreport(r, &crds);
    }
    let cluster = stored(&server, "ClusterReport");
    assert_eq!(cluster.keys().collect::<Vec<_>>(), ["/rulerun-cluster"]);
    validate_openreport(&cluster["/rulerun-cluster"], &crds);
    // Applied as server-side apply, by rulerun.
    let patches: Vec<&Request> = first_log.iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(patches.len(), 3);
    for p in &patches {
        assert_eq!(
            p.content_type.as_deref(),
            Some("application/apply-patch+yaml")
        );
        assert_eq!(p.param("fieldManager"), Some("rulerun"));
        assert_eq!(p.status, 201, "{p}");
    }
    // Pruning lists by the owner label only.
    let lists: Vec<&Request> = first_log
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("reports"))
        .collect();
    assert!(!lists.is_empty());
    assert!(
        lists
            .iter()
            .all(|r| r.param("labelSelector") == Some("app.kubernetes.io/managed-by=rulerun"))
    );
    // Nothing but the report kinds was written.
    assert!(
        server
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .all(|r| r.path.starts_with("/apis/openreports.io/"))
    );

    // Run 2: `default`'s pod and one of `shop`'s are fixed.
    assert!(server.remove_object("v1", "Pod", Some("default"), "ui-private-7655bf59b9-jprrj"));
    assert!(server.remove_object("v1", "Pod", Some("shop"), "ui-private-b-7655bf59b9-jprrj"));
    server.clear_log();
    let run = check(&server, &dir, &["--report-to-cluster=openreports"]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    for line in [
        "  updated   Report shop/rulerun",
        "  deleted   Report default/rulerun",
        // Nothing cluster-scoped changed: applied, and the same object.
        "  unchanged ClusterReport rulerun-cluster",
    ] {
        assert!(
            run.stderr.lines().any(|l| l == line),
            "{line:?} in\n{}",
            run.stderr
        );
    }
    let second_log = report_requests(&server);
    print_log("run 2", &second_log);
    let reports = stored(&server, "Report");
    assert_eq!(
        reports.keys().collect::<Vec<_>>(),
        ["default/kyverno-default", "shop/polr-shop", "shop/rulerun"],
        "the clean namespace lost rulerun's report, and only that"
    );
    let shop = &reports["shop/rulerun"];
    assert_eq!(
        shop["metadata"]["uid"],
        shop_uid.as_str(),
        "the same report"
    );
    let rv: u64 = shop["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv > shop_rv);
    assert_eq!(shop["metadata"]["generation"], 2);
    assert_eq!(
        shop["summary"]["fail"].as_u64().unwrap(),
        shop_fails / 2,
        "fewer results"
    );
    let about = results_about(shop);
    assert!(about.iter().all(|n| !n.contains("-b-")), "{about:?}");
    validate_openreport(shop, &crds);
    let patched: Vec<u16> = second_log
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.status)
        .collect();
    assert_eq!(patched, [200, 200], "updates, not creates");
    let deleted: Vec<&Request> = second_log.iter().filter(|r| r.method == "DELETE").collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(
        deleted[0].path,
        "/apis/openreports.io/v1alpha1/namespaces/default/reports/rulerun"
    );
    // The foreign reports are as they were.
    assert_eq!(reports["default/kyverno-default"]["source"], "kyverno");
    assert_eq!(
        reports["default/kyverno-default"],
        foreign_before["default/kyverno-default"]
    );
    assert_eq!(reports["shop/polr-shop"], foreign_before["shop/polr-shop"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_crd_the_findings_print_and_then_it_fails() {
    let server = Stub::new().objects(scenario()).start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = check(&server, &dir, &["--report-to-cluster"]).await;
    print_log("no CRD", &report_requests(&server));
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("ui-private-7655bf59b9-jprrj"),
        "the findings first:\n{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("pod-image-pull-failing"),
        "{}",
        run.stdout
    );
    let (first, help) = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:") || l.starts_with("  help:"))
        .fold((None, None), |(e, h), l| {
            if l.starts_with("error:") {
                (Some(l.to_string()), h)
            } else {
                (e, Some(l.to_string()))
            }
        });
    let error = first.unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(
        error.contains("`reports.openreports.io` (openreports.io/v1alpha1 Report)"),
        "{error}"
    );
    assert!(error.contains("`clusterreports.openreports.io`"), "{error}");
    assert!(
        error.contains("CustomResourceDefinitions are not installed"),
        "{error}"
    );
    let help = help.unwrap();
    assert!(help.contains("kubectl apply --server-side -f https://raw.githubusercontent.com/openreports/reports-api/"), "{help}");
    // Discovery said no; nothing was written.
    assert_eq!(server.count(|r| r.method != "GET"), 0);
    assert_eq!(
        server.count(|r| r.path == "/apis/openreports.io/v1alpha1" && r.status == 404),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn facts_need_a_named_cluster_and_policyreport_writes_the_older_kinds() {
    let run = cli(vec![
        "check".into(),
        "--facts".into(),
        repo("examples/ui-private-403"),
        "--report-to-cluster".into(),
    ])
    .await;
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "nothing ran: {}", run.stdout);
    assert!(
        run.stderr
            .contains("`--report-to-cluster` writes to a cluster, and `--facts` names none"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("help: name the cluster to write the reports to with `--context`"),
        "{}",
        run.stderr
    );

    // With a cluster named, the snapshot's findings are written there.
    let crd = |kind: &str, plural: &str, scope: &str| {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.wgpolicyk8s.io")},
            "spec": {"group": "wgpolicyk8s.io", "scope": scope,
                     "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
                     "versions": [{"name": "v1alpha2", "served": true, "storage": true}]}
        })
    };
    let server = Stub::new()
        .objects([
            crd("PolicyReport", "policyreports", "Namespaced"),
            crd("ClusterPolicyReport", "clusterpolicyreports", "Cluster"),
        ])
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = server
        .write_kubeconfig(dir.path(), "stub")
        .unwrap()
        .display()
        .to_string();
    let run = cli(vec![
        "check".into(),
        "--facts".into(),
        repo("examples/ui-private-403"),
        "--kubeconfig".into(),
        kc,
        "--report-to-cluster=policyreport".into(),
    ])
    .await;
    print_log("--facts, policyreport", &report_requests(&server));
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("  created   PolicyReport default/rulerun"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("  created   ClusterPolicyReport rulerun-cluster"),
        "{}",
        run.stderr
    );
    let polr = server.objects_of("wgpolicyk8s.io/v1alpha2", "PolicyReport");
    assert_eq!(polr.len(), 1);
    assert!(
        polr[0].get("source").is_none(),
        "no top-level source in v1alpha2"
    );
    assert!(
        polr[0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule"] == "ecr-repository-policy-denies-pull")
    );
    // Only the report kinds were read or written: the snapshot is the facts.
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.path.starts_with("/apis/wgpolicyk8s.io")),
        "{:#?}",
        server.requests()
    );
}

/// The objects of two stand-in clusters with the report CRDs: a holds the
/// reference pod in `default`, b a copy of it in `shop`.
fn two_clusters() -> (Vec<Value>, Vec<Value>) {
    let mut in_a = scenario();
    in_a.extend(openreports_crds());
    let mut in_b: Vec<Value> = scenario()
        .into_iter()
        .filter(|o| o["metadata"]["namespace"] != "default")
        .collect();
    in_b.extend(copy("shop", "-b"));
    in_b.extend(openreports_crds());
    (in_a, in_b)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_writes_each_clusters_reports_into_that_cluster() {
    let crds = openreports_schemas();
    let (in_a, in_b) = two_clusters();
    let a = Stub::new().objects(in_a).start().await.unwrap();
    let b = Stub::new().objects(in_b).start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = crate::fleet::fleet_kubeconfig(dir.path(), &[("a", a.url()), ("b", b.url())]);
    let run = crate::fleet::check(
        &kc,
        &["--context", "a", "--context", "b", "--report-to-cluster"],
    )
    .await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    let at_a = lines.iter().position(|l| *l == "cluster `a`:").unwrap();
    let at_b = lines.iter().position(|l| *l == "cluster `b`:").unwrap();
    assert!(at_a < at_b, "{}", run.stderr);
    assert!(
        lines[at_a..at_b].contains(&"  created   Report default/rulerun"),
        "{}",
        run.stderr
    );
    assert!(
        lines[at_b..].contains(&"  created   Report shop/rulerun"),
        "{}",
        run.stderr
    );
    for (server, ns, pod) in [
        (&a, "default", "ui-private-7655bf59b9-jprrj"),
        (&b, "shop", "ui-private-b-7655bf59b9-jprrj"),
    ] {
        let reports = stored(server, "Report");
        let key = format!("{ns}/rulerun");
        assert_eq!(reports.keys().collect::<Vec<_>>(), [&key]);
        let report = &reports[&key];
        validate_openreport(report, &crds);
        let about = results_about(report);
        assert!(about.iter().all(|n| n == pod), "{about:?}");
        assert!(!about.is_empty());
        // Written into the cluster it is about: no cluster annotation needed.
        assert!(
            report["metadata"]["annotations"]
                .get("rulerun.dev/cluster")
                .is_none()
        );
        let cluster = stored(server, "ClusterReport");
        assert_eq!(cluster.keys().collect::<Vec<_>>(), ["/rulerun-cluster"]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_summarizes_what_a_fleet_wrote_without_checking_again() {
    // a: the reference pod, and a policy engine's report that is not rulerun's;
    // b: a copy in `shop`; c: a cluster without the report CRDs.
    let (mut in_a, in_b) = two_clusters();
    in_a.push(foreign_report(
        "default",
        "kyverno-require-labels",
        json!({LABEL: "kyverno"}),
    ));
    let a = Stub::new().objects(in_a).start().await.unwrap();
    let b = Stub::new().objects(in_b).start().await.unwrap();
    let c = Stub::new().objects(scenario()).start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = crate::fleet::fleet_kubeconfig(
        dir.path(),
        &[("a", a.url()), ("b", b.url()), ("c", c.url())],
    );
    let run = crate::fleet::check(
        &kc,
        &[
            "--context",
            "a",
            "--context",
            "b",
            "-o",
            "json",
            "--report-to-cluster",
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let checked: Value = serde_json::from_str(&run.stdout).unwrap();
    // (rule, cluster) -> findings, as the check found them.
    let mut expected: std::collections::BTreeMap<(String, String), u64> = Default::default();
    for f in checked["findings"].as_array().unwrap() {
        let key = (
            f["rule"].as_str().unwrap().to_string(),
            f["cluster"].as_str().unwrap().to_string(),
        );
        *expected.entry(key).or_default() += 1;
    }
    assert!(expected.len() >= 2, "{expected:?}");

    let before = (a.requests().len(), b.requests().len());
    let kcs = kc.display().to_string();
    let run = cli([
        "reports",
        "--kubeconfig",
        &kcs,
        "--context",
        "a",
        "--context",
        "b",
        "-o",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect())
    .await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let mut summarized: std::collections::BTreeMap<(String, String), u64> = Default::default();
    for r in doc["rules"].as_array().unwrap() {
        for (cluster, n) in r["clusters"].as_object().unwrap() {
            summarized.insert(
                (r["rule"].as_str().unwrap().to_string(), cluster.clone()),
                n.as_u64().unwrap(),
            );
        }
        assert_ne!(r["rule"], "require-labels", "not rulerun's report");
    }
    assert_eq!(summarized, expected);
    assert_eq!(doc["summary"]["clusters"], 2);
    assert_eq!(doc["summary"]["withFailures"], 2);
    assert_eq!(
        doc["summary"]["fail"],
        checked["findings"].as_array().unwrap().len()
    );
    assert_eq!(doc["clusters"][0]["name"], "a");
    assert_eq!(doc["clusters"][0]["server"], format!("{}/", a.url()));
    // Read back, not checked again: only GETs of report kinds and discovery.
    for (server, n) in [(&a, before.0), (&b, before.1)] {
        let after = &server.requests()[n..];
        assert!(!after.is_empty());
        assert!(after.iter().all(|r| r.method == "GET"), "{after:?}");
        assert!(
            after.iter().all(|r| !r.path.ends_with("/pods")),
            "{after:?}"
        );
    }

    // Every context: c has no report CRDs, so it cannot be read (exit 3); the
    // text says so and still lists the others.
    let run = cli(["reports", "--kubeconfig", &kcs, "--all-contexts"]
        .iter()
        .map(|s| s.to_string())
        .collect())
    .await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("  c (")
            && run
                .stdout
                .contains("could not be read: the cluster does not serve"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("failing, by rule:"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("in 2 of 3 clusters; 1 could not be read"),
        "{}",
        run.stdout
    );
}
