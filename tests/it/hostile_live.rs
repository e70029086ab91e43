//! Live collection against a hostile or broken API server (the stand-in's
//! misbehaviours, read by the real kube client) and against none: `rulerun check`
//! and `rulerun collect` end inconclusive (exit 3) with a reason that names the
//! kind, the limit and the flag that raises it; a malformed list is never "none
//! found"; a body is never read past its limit; an unreachable server is named
//! with the cause in words. The limits are checked when the flags are parsed.

use serde_json::{Value, json};

use crate::support::{Run, repo, rulerun};
use rulerun_kube_stub::{Misbehaviour, Stub, StubServer};

/// The walkthrough's cluster: one pod failing to pull its image.
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

async fn start(m: Misbehaviour) -> StubServer {
    Stub::new()
        .objects(scenario())
        .misbehave("pods", m)
        .start()
        .await
        .unwrap()
}

/// `rulerun check` with the Kubernetes pack only (its one rule lists pods) on
/// the cluster of `kubeconfig`, as JSON, with `extra` flags.
async fn check(kubeconfig: &str, extra: &[&str]) -> (Run, Value) {
    let mut args: Vec<String> = [
        "check",
        "--no-builtin",
        "--rules",
        &repo("rules/kubernetes"),
        "--kubeconfig",
        kubeconfig,
        "--context",
        "stub",
        "-o",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let run = cli(args).await;
    let doc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    (run, doc)
}

fn kubeconfig(server: &StubServer, dir: &tempfile::TempDir) -> String {
    server
        .write_kubeconfig(dir.path(), "stub")
        .unwrap()
        .display()
        .to_string()
}

/// The one reason the pod rule is inconclusive.
fn reason(doc: &Value) -> String {
    let inconclusive = doc["inconclusive"].as_array().unwrap();
    assert_eq!(inconclusive.len(), 1, "{doc}");
    assert_eq!(inconclusive[0]["rule"], "pod-image-pull-failing", "{doc}");
    assert!(doc["findings"].as_array().unwrap().is_empty(), "{doc}");
    inconclusive[0]["reason"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_continue_tokens_stop_at_the_page_limit() {
    let server = start(Misbehaviour::EndlessContinue).await;
    let dir = tempfile::tempdir().unwrap();
    let (run, doc) = check(&kubeconfig(&server, &dir), &["--max-list-pages", "7"]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    let why = reason(&doc);
    assert!(
        why.starts_with(
            "`k8s/v1/Pod` could not be collected: LIST `pods` did not end after 7 pages of 500 items (the limit of pages per list)"
        ),
        "{why}"
    );
    assert!(why.contains("raise `--max-list-pages`"), "{why}");
    assert_eq!(server.count(|r| r.is_for("pods")), 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_continue_token_is_a_loop() {
    let server = start(Misbehaviour::RepeatedContinue).await;
    let dir = tempfile::tempdir().unwrap();
    let (run, doc) = check(&kubeconfig(&server, &dir), &[]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    let why = reason(&doc);
    assert!(
        why.starts_with(
            "`k8s/v1/Pod` could not be collected: LIST `pods` would never end: the API server answered page 2 with the `continue` token it had given on page 1"
        ),
        "{why}"
    );
    assert_eq!(server.count(|r| r.is_for("pods")), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_body_is_cut_at_the_limit_and_never_buffered_whole() {
    // 8 GiB, made as it is sent; the limit is 1 MiB.
    let server = start(Misbehaviour::OversizedList { bytes: 8 << 30 }).await;
    let dir = tempfile::tempdir().unwrap();
    let (run, doc) = check(
        &kubeconfig(&server, &dir),
        &["--max-response-bytes", "1MiB"],
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    let why = reason(&doc);
    assert!(
        why.starts_with(
            "`k8s/v1/Pod` could not be collected: the API server's answer to LIST `pods` is larger than the limit of 1 MiB per response"
        ),
        "{why}"
    );
    assert!(why.contains("raise `--max-response-bytes`"), "{why}");
    // Memory stays bounded: the client stopped reading at the limit, so the
    // stub made only that plus what the sockets buffer, not 8 GiB.
    let streamed = server.streamed_bytes();
    assert!(streamed < 64 << 20, "{streamed} bytes streamed");
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_together_are_bounded_per_list() {
    // Every page is small; endlessly many of them are not.
    let server = start(Misbehaviour::EndlessContinue).await;
    let dir = tempfile::tempdir().unwrap();
    let (run, doc) = check(&kubeconfig(&server, &dir), &["--max-list-bytes", "64KiB"]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    let why = reason(&doc);
    assert!(
        why.starts_with(
            "`k8s/v1/Pod` could not be collected: LIST `pods` is larger than the limit of 64 KiB per list"
        ),
        "{why}"
    );
    assert!(why.contains("raise `--max-list-bytes`"), "{why}");
    let pages = server.count(|r| r.is_for("pods"));
    assert!(pages > 1 && pages < 2000, "{pages}");
}

#[tokio::test(flavor = "multi_thread")]
async fn items_that_are_not_a_list_are_malformed_in_check_and_collect_never_none_found() {
    let server = start(Misbehaviour::Items(Some(json!("oops")))).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(&server, &dir);
    let (run, doc) = check(&kc, &[]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    let expected = "`k8s/v1/Pod` could not be collected: the API server's answer to LIST `pods` was malformed: `items` is a string, expected a list";
    let why = reason(&doc);
    assert!(why.starts_with(expected), "{why}");
    assert!(
        why.contains("kubectl get --raw '/api/v1/pods?limit=500'"),
        "{why}"
    );

    // `collect` says so too, and its snapshot does not list pods as collected
    // and empty ("none found").
    let snap = dir.path().join("snapshot.json");
    let run = cli(vec![
        "collect".into(),
        "--no-builtin".into(),
        "--rules".into(),
        repo("rules/kubernetes"),
        "--kubeconfig".into(),
        kc,
        "-o".into(),
        snap.display().to_string(),
    ])
    .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "warning: rule `pod-image-pull-failing` could not decide: {expected}"
        )),
        "{}",
        run.stderr
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&snap).unwrap()).unwrap();
    assert!(doc["facts"].get("k8s/v1/Pod").is_none(), "{}", doc["facts"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_api_server_is_named_with_the_cause() {
    let server = Stub::new().start().await.unwrap();
    // A loopback port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        server
            .kubeconfig_yaml("stub", None)
            .replace(server.url(), &url),
    )
    .unwrap();
    let (run, doc) = check(&kc.display().to_string(), &[]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    let why = reason(&doc);
    assert!(
        why.starts_with(&format!(
            "`k8s/v1/Pod` could not be collected: cannot connect to the Kubernetes API server at `{url}`: connection refused"
        )),
        "{why}"
    );
    assert!(!why.contains("client error (Connect)"), "{why}");
}

#[test]
fn collection_limits_are_checked_when_parsed() {
    for (flag, value, what) in [
        ("--max-list-pages", "0", "1..=1000000"),
        ("--max-list-pages", "4294967296", "invalid value"),
        ("--max-response-bytes", "0", "out of range: 1KiB to 64GiB"),
        ("--max-response-bytes", "1.5GiB", "is not a size"),
        ("--max-list-bytes", "100GiB", "out of range: 1KiB to 64GiB"),
        (
            "--max-list-bytes",
            "18446744073709551615GiB",
            "out of range",
        ),
        ("--max-list-bytes", "64MB", "is not a size"),
    ] {
        for cmd in ["check", "collect"] {
            let mut args = vec![cmd, flag, value];
            if cmd == "collect" {
                args.extend(["-o", "/dev/null"]);
            }
            let run = rulerun(&args);
            assert_eq!(
                run.code, 2,
                "{cmd} {flag} {value}: {}{}",
                run.stdout, run.stderr
            );
            assert!(
                run.stderr.contains(what),
                "{cmd} {flag} {value}: {}",
                run.stderr
            );
        }
    }
}
