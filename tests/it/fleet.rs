//! Fleets (docs/fleets.md): `rulerun check --context A --context B` and
//! `--all-contexts` against stand-in API servers, one per context of one
//! kubeconfig: every entry carries its cluster, the text groups by cluster, an
//! unreachable cluster is reported and the others checked, and the exit code
//! covers the fleet. AWS is off (`--no-aws`), as in the other live tests.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Run, repo, rulerun};
use rulerun_kube_stub::{Stub, StubServer};

const POD: &str = "ui-private-7655bf59b9-jprrj";

fn objects_of(example: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(repo(&format!("examples/{example}/cluster.json"))).unwrap();
    rulerun_kube_stub::parse_fixtures(serde_json::from_str(&text).unwrap()).unwrap()
}

/// A stand-in cluster with the objects of `examples/EXAMPLE`.
pub(crate) async fn cluster_of(example: &str) -> StubServer {
    Stub::new()
        .objects(objects_of(example))
        .start()
        .await
        .unwrap()
}

/// A loopback URL nothing listens on.
pub(crate) fn closed_port() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

/// Writes `dir/kubeconfig` with one context per `(name, server URL)`, each with
/// its own cluster entry and the stand-in's bearer token; the first is current.
pub(crate) fn fleet_kubeconfig(dir: &Path, contexts: &[(&str, &str)]) -> PathBuf {
    let mut clusters = String::new();
    let mut ctxs = String::new();
    for (name, url) in contexts {
        clusters.push_str(&format!(
            "- name: {name}-cluster\n  cluster:\n    server: {url}\n"
        ));
        ctxs.push_str(&format!(
            "- name: {name}\n  context:\n    cluster: {name}-cluster\n    user: stub\n"
        ));
    }
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n{clusters}users:\n- name: stub\n  user:\n    token: {}\ncontexts:\n{ctxs}current-context: {}\n",
        rulerun_kube_stub::TOKEN,
        contexts[0].0
    );
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    path
}

/// `rulerun check -A --no-aws --no-config --kubeconfig KC EXTRA...` on a
/// blocking thread (the CLI starts its own runtimes).
pub(crate) async fn check(kubeconfig: &Path, extra: &[&str]) -> Run {
    command("check", kubeconfig, extra).await
}

/// `rulerun COMMAND -A --no-aws --no-config --kubeconfig KC EXTRA...` on a
/// blocking thread.
async fn command(command: &str, kubeconfig: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<String> = [
        command,
        "-A",
        "--no-aws",
        "--no-config",
        "--kubeconfig",
        &kubeconfig.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    tokio::task::spawn_blocking(move || rulerun(&args))
        .await
        .unwrap()
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", run.stdout, run.stderr))
}

/// `(cluster, rule, subject name)` of every finding.
fn findings(doc: &Value) -> Vec<(String, String, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["cluster"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
                f["subject"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_contexts_each_report_their_own_findings_with_their_cluster() {
    let a = cluster_of("ui-private-403").await;
    let b = cluster_of("service-selects-no-pods").await;
    let dir = tempfile::tempdir().unwrap();
    let kc = fleet_kubeconfig(dir.path(), &[("a", a.url()), ("b", b.url())]);
    let run = check(&kc, &["--context", "a", "--context", "b", "-o", "json"]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let doc = json_of(&run);
    let found = findings(&doc);
    assert!(
        found.contains(&("a".into(), "pod-image-pull-failing".into(), POD.into())),
        "{found:?}"
    );
    assert!(
        found.contains(&(
            "b".into(),
            "service-selects-no-pods".into(),
            "storefront".into()
        )),
        "{found:?}"
    );
    // Each cluster's findings are its own, and come in the order named.
    assert!(
        found
            .iter()
            .all(|(c, r, _)| (c == "a") != (r == "service-selects-no-pods")),
        "{found:?}"
    );
    let first_b = found.iter().position(|(c, _, _)| c == "b").unwrap();
    assert!(found[..first_b].iter().all(|(c, _, _)| c == "a"));
    assert!(found[first_b..].iter().all(|(c, _, _)| c == "b"));
    // With AWS off, only the ECR rules on cluster a's failing pod are inconclusive.
    let inconclusive = doc["inconclusive"].as_array().unwrap();
    assert!(!inconclusive.is_empty());
    assert!(
        inconclusive.iter().all(|i| i["cluster"] == "a"),
        "{inconclusive:#?}"
    );
    // One entry per cluster, in the order named, with its counts.
    let clusters = doc["clusters"].as_array().unwrap();
    let names: Vec<&str> = clusters
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(clusters[0]["server"], format!("{}/", a.url()));
    assert_eq!(clusters[1]["server"], format!("{}/", b.url()));
    assert_eq!(clusters[1]["inconclusive"], 0);
    assert_eq!(
        clusters[1]["findings"],
        found.iter().filter(|(c, _, _)| c == "b").count()
    );
    assert_eq!(doc["summary"]["findings"], found.len());
    // Both clusters were read, read-only.
    for s in [&a, &b] {
        assert!(s.count(|r| r.path.ends_with("/pods")) >= 1);
        assert!(s.requests().iter().all(|r| r.method == "GET"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn all_contexts_groups_the_text_by_cluster() {
    let a = cluster_of("ui-private-403").await;
    let b = cluster_of("service-selects-no-pods").await;
    let dir = tempfile::tempdir().unwrap();
    let kc = fleet_kubeconfig(dir.path(), &[("a", a.url()), ("b", b.url())]);
    let run = check(&kc, &["--all-contexts", "--max-concurrent-clusters", "1"]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let out = &run.stdout;
    let head_a = format!("== cluster a == ({}/)", a.url());
    let head_b = format!("== cluster b == ({}/)", b.url());
    let at_a = out.find(&head_a).unwrap_or_else(|| panic!("{out}"));
    let at_b = out.find(&head_b).unwrap_or_else(|| panic!("{out}"));
    assert!(at_a < at_b, "{out}");
    let (part_a, part_b) = (&out[at_a..at_b], &out[at_b..]);
    assert!(
        part_a.contains(&format!("k8s/v1/Pod default/{POD}")),
        "{out}"
    );
    assert!(!part_a.contains("storefront"), "{out}");
    assert!(part_b.contains("k8s/v1/Service shop/storefront"), "{out}");
    assert!(!part_b.contains(POD), "{out}");
    // Cluster a's inconclusive rules are under its heading, not b's.
    assert!(
        part_a.contains("inconclusive (facts could not be collected):"),
        "{out}"
    );
    assert!(
        !part_b.contains("inconclusive (facts could not be collected):"),
        "{out}"
    );
    let last = out.lines().last().unwrap();
    assert!(
        last.starts_with("2 clusters (2 with findings, 1 inconclusive): "),
        "{last}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_cluster_is_reported_and_the_others_checked() {
    let b = cluster_of("service-selects-no-pods").await;
    let gone = closed_port();
    let dir = tempfile::tempdir().unwrap();
    let kc = fleet_kubeconfig(dir.path(), &[("gone", &gone), ("b", b.url())]);

    // Findings in b (high) decide the exit code over the unreachable cluster.
    let run = check(&kc, &["--all-contexts", "-o", "json"]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let doc = json_of(&run);
    assert!(
        findings(&doc).contains(&(
            "b".into(),
            "service-selects-no-pods".into(),
            "storefront".into()
        )),
        "{doc:#}"
    );
    let inconclusive = doc["inconclusive"].as_array().unwrap();
    assert!(
        inconclusive.iter().all(|i| i["cluster"] == "gone"),
        "{inconclusive:#?}"
    );
    let refused = format!(
        "`k8s/v1/Pod` could not be collected: cannot connect to the Kubernetes API server at `{gone}`: connection refused"
    );
    assert!(
        inconclusive
            .iter()
            .any(|i| i["rule"] == "pod-image-pull-failing"
                && i["reason"].as_str().unwrap().starts_with(&refused)),
        "{inconclusive:#?}"
    );

    // Below `--fail-on`, the unreachable cluster makes the fleet inconclusive.
    let run = check(&kc, &["--all-contexts", "--fail-on", "critical"]).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let out = &run.stdout;
    let at_gone = out
        .find("== cluster gone ==")
        .unwrap_or_else(|| panic!("{out}"));
    let at_b = out
        .find("== cluster b ==")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(at_gone < at_b);
    assert!(out[at_gone..at_b].contains("connection refused"), "{out}");
    assert!(
        out[at_b..].contains("k8s/v1/Service shop/storefront"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_context_that_cannot_be_used_is_reported_and_not_fatal() {
    let b = cluster_of("service-selects-no-pods").await;
    let dir = tempfile::tempdir().unwrap();
    let kc = fleet_kubeconfig(dir.path(), &[("b", b.url())]);
    let run = check(
        &kc,
        &["--context", "b", "--context", "missing", "-o", "json"],
    )
    .await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let doc = json_of(&run);
    let missing = &doc["clusters"][1];
    assert_eq!(missing["name"], "missing");
    assert!(
        missing["error"]
            .as_str()
            .unwrap()
            .contains("cannot use kubeconfig"),
        "{missing}"
    );
    let of_missing: Vec<&Value> = doc["inconclusive"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["cluster"] == "missing")
        .collect();
    assert!(!of_missing.is_empty());
    assert!(
        of_missing.iter().all(|i| i["reason"]
            .as_str()
            .unwrap()
            .starts_with("the cluster could not be checked: cannot use kubeconfig")),
        "{of_missing:#?}"
    );
    assert!(
        findings(&doc)
            .iter()
            .any(|(c, r, _)| c == "b" && r == "service-selects-no-pods")
    );
    // The text says it once, under the cluster's heading.
    let run = check(&kc, &["--context", "b", "--context", "missing"]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let out = &run.stdout;
    let at = out
        .find("== cluster missing ==\nerror: cluster `missing` could not be checked: cannot use kubeconfig")
        .unwrap_or_else(|| panic!("{out}"));
    let section = &out[at..];
    assert!(
        section.contains(&format!("\ninconclusive: all {} rules\n", of_missing.len())),
        "{out}"
    );
    assert_eq!(section.matches("cannot use kubeconfig").count(), 1, "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_fleet_exits_0() {
    let healthy = || async {
        Stub::new()
            .objects(rulerun_kube_stub::synth::cluster(3, 0))
            .start()
            .await
            .unwrap()
    };
    let (a, b) = (healthy().await, healthy().await);
    let dir = tempfile::tempdir().unwrap();
    let kc = fleet_kubeconfig(dir.path(), &[("a", a.url()), ("b", b.url())]);
    let rules = repo("rules/kubernetes");
    let run = check(&kc, &["--all-contexts", "--no-builtin", "--rules", &rules]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("== cluster a =="), "{}", run.stdout);
    assert!(run.stdout.contains("== cluster b =="), "{}", run.stdout);
    assert!(
        run.stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("2 clusters (0 with findings, 0 inconclusive): no findings"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_context_of_a_fleet_kubeconfig_is_checked_as_before() {
    let a = cluster_of("ui-private-403").await;
    let b = cluster_of("service-selects-no-pods").await;
    let dir = tempfile::tempdir().unwrap();
    let kc = fleet_kubeconfig(dir.path(), &[("a", a.url()), ("b", b.url())]);
    let run = check(&kc, &["--context", "b", "-o", "json"]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let doc = json_of(&run);
    assert!(doc.get("clusters").is_none(), "{doc:#}");
    let f = &doc["findings"][0];
    assert_eq!(f["rule"], "service-selects-no-pods");
    assert!(f.get("cluster").is_none(), "{f}");
    assert_eq!(a.count(|_| true), 0, "context a was not read");
    let text = check(&kc, &["--context", "b"]).await;
    assert!(!text.stdout.contains("== cluster"), "{}", text.stdout);
}

#[test]
fn fleet_flags_that_do_not_fit_are_usage_errors() {
    let facts = repo("examples/ui-private-403");
    let run = rulerun(&[
        "check",
        "--context",
        "a",
        "--context",
        "b",
        "--facts",
        &facts,
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: `--facts` checks one snapshot, and `--context` given more than once names several clusters"),
        "{}",
        run.stderr
    );
    let run = rulerun(&["check", "--all-contexts", "--facts", &facts]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--all-contexts"), "{}", run.stderr);
    let run = rulerun(&["check", "--all-contexts", "--max-concurrent-clusters", "0"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("1..=64"), "{}", run.stderr);
    let run = rulerun(&["collect", "--context", "a", "--context", "b", "-o", "-"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "error: several clusters are collected into a folder, one snapshot each, and `-o -` is standard output"
        ),
        "{}",
        run.stderr
    );
}

/// `rulerun collect -A --no-aws --no-config --kubeconfig KC EXTRA...`.
async fn collect(kubeconfig: &Path, extra: &[&str]) -> Run {
    command("collect", kubeconfig, extra).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_collected_into_a_folder_is_checked_offline_cluster_by_cluster() {
    let a = cluster_of("ui-private-403").await;
    let b = cluster_of("service-selects-no-pods").await;
    let dir = tempfile::tempdir().unwrap();
    // An EKS-style context name (an ARN) becomes a file name without `:` and `/`.
    let arn = "arn:aws:eks:us-west-2:123456789012:cluster/b";
    let down = closed_port();
    let kc = fleet_kubeconfig(
        dir.path(),
        &[("a", a.url()), (arn, b.url()), ("down", &down)],
    );
    let out = dir.path().join("snapshots");
    let out_s = out.display().to_string();
    let run = collect(&kc, &["--all-contexts", "-o", &out_s]).await;
    // The unreachable cluster is reported, gets no file, and makes the run inconclusive.
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("cluster `a`: wrote ") && run.stderr.contains("cluster `down`"),
        "{}",
        run.stderr
    );
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.contains(&"a.json".to_string()), "{files:?}");
    assert!(!files.iter().any(|f| f.starts_with("down")), "{files:?}");
    // One unreachable cluster alone: no snapshot either (an empty one would
    // check clean offline), and the reason.
    let one = dir.path().join("down.json");
    let run = collect(
        &kc,
        &["--context", "down", "-o", &one.display().to_string()],
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("nothing could be collected"),
        "{}",
        run.stderr
    );
    assert!(!one.exists());
    assert!(
        files.contains(&"arn_aws_eks_us-west-2_123456789012_cluster_b.json".to_string()),
        "{files:?}"
    );
    let snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("a.json")).unwrap()).unwrap();
    assert_eq!(snapshot["metadata"]["cluster"], "a");
    assert_eq!(snapshot["metadata"]["server"], format!("{}/", a.url()));

    // Offline, each cluster's facts are checked on their own: the findings are
    // those of the live fleet check of the same clusters.
    let offline = rulerun(&["check", "--no-config", "--facts", &out_s, "-o", "json"]);
    assert_eq!(offline.code, 1, "{}\n{}", offline.stdout, offline.stderr);
    let kc_up = fleet_kubeconfig(dir.path(), &[("a", a.url()), (arn, b.url())]);
    let live = check(&kc_up, &["--all-contexts", "-o", "json"]).await;
    let (offline, live) = (json_of(&offline), json_of(&live));
    assert_eq!(findings(&offline), findings(&live));
    assert!(
        findings(&offline).contains(&(
            arn.to_string(),
            "service-selects-no-pods".into(),
            "storefront".into()
        )),
        "{offline:#}"
    );
    let clusters: Vec<(&str, &str)> = offline["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["server"].as_str().unwrap()))
        .collect();
    let (a_server, b_server) = (format!("{}/", a.url()), format!("{}/", b.url()));
    assert_eq!(
        clusters,
        [("a", a_server.as_str()), (arn, b_server.as_str())]
    );
    // The text groups by cluster as a live fleet run does.
    let text = rulerun(&["check", "--no-config", "--facts", &out_s]);
    assert!(text.stdout.contains("== cluster a =="), "{}", text.stdout);
    assert!(text.stdout.contains("2 clusters"), "{}", text.stdout);

    // One cluster's snapshot alone is a one-cluster check, as before.
    let one = rulerun(&[
        "check",
        "--no-config",
        "--facts",
        &out.join("a.json").display().to_string(),
        "-o",
        "json",
    ]);
    let one = json_of(&one);
    assert!(one.get("clusters").is_none(), "{one:#}");

    // Facts of no named cluster beside named ones: whose are they?
    std::fs::copy(
        repo("examples/ui-private-403/cluster.json"),
        out.join("loose.json"),
    )
    .unwrap();
    let mixed = rulerun(&["check", "--no-config", "--facts", &out_s]);
    assert_eq!(mixed.code, 2, "{}", mixed.stderr);
    assert!(
        mixed
            .stderr
            .contains("loose.json` holds facts of no named cluster"),
        "{}",
        mixed.stderr
    );
}

#[test]
fn all_contexts_of_a_kubeconfig_without_contexts_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, "apiVersion: v1\nkind: Config\n").unwrap();
    let run = rulerun(&[
        "check",
        "--all-contexts",
        "--no-aws",
        "--kubeconfig",
        &kc.display().to_string(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: the kubeconfig has no context to check"),
        "{}",
        run.stderr
    );
}
