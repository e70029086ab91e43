//! Benchmarks of a live check's critical path (issue: "a shorter critical
//! path"), run by `scripts/bench` (ignored in the test suite: they print
//! numbers, they assert no timing):
//!
//! * round trips: the reference scenario, and a 2,000-pod cluster with 10
//!   failing pods and 200 repositories no pod uses, each checked with 0 ms
//!   and with 50 ms added to every request of the stand-in API server and of a
//!   proxy in front of moto. Round trips = (wall at 50 ms − wall at 0 ms) /
//!   50 ms, the fastest of five runs each; printed beside the Kubernetes and
//!   AWS calls, and beside the requests that ran in sequence at 50 ms (the
//!   longest chain of requests each starting after the one before was
//!   answered, from the stand-in's and the proxy's logs): the walls of a debug
//!   build vary by a few round trips from run to run, the chain does not.
//! * a fleet: 20 stand-in clusters of 500 pods sharing one account, at 50 ms,
//!   against one such cluster: total wall time and AWS calls.
//!
//! Both need moto (`scripts/with-moto`), as the end-to-end tests do.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::aws_proxy::AwsProxy;
use crate::e2e::{ACCOUNT, Names, REGION, args_check, cli, cluster_objects, live_args, moto, seed};
use rulerun_kube_stub::Stub;

const LATENCY: Duration = Duration::from_millis(50);
const RUNS: usize = 5;

/// One check: its wall time and the requests each side saw.
#[derive(Clone, Copy, Debug)]
struct Measure {
    wall: Duration,
    k8s: usize,
    aws: usize,
    /// Requests in sequence: the longest chain of requests (Kubernetes and
    /// AWS) each of which arrived after the one before was answered.
    chain: usize,
}

/// The longest chain of intervals each starting after the one before ended
/// (the most intervals that do not overlap: earliest end first).
fn longest_chain(mut intervals: Vec<(Instant, Instant)>) -> usize {
    intervals.sort_by_key(|(_, end)| *end);
    let mut last: Option<Instant> = None;
    let mut n = 0;
    for (start, end) in intervals {
        if last.is_none_or(|l| start >= l) {
            n += 1;
            last = Some(end);
        }
    }
    n
}

/// `rulerun check -o json` of `objects` (a stand-in cluster whose context is
/// `n`'s EKS cluster) against moto, `latency` added to every request.
async fn measure(n: &Names, objects: &[Value], latency: Duration) -> Measure {
    let dir = tempfile::tempdir().unwrap();
    let server = Stub::new()
        .objects(objects.to_vec())
        .latency(latency)
        .start()
        .await
        .unwrap();
    let kc = server.write_kubeconfig(dir.path(), &n.context()).unwrap();
    let proxy = AwsProxy::to(&moto()).latency(latency).start().await;
    let mut args = args_check(&live_args(&kc, &proxy.url, None));
    args.push("--no-config".into());
    let start = Instant::now();
    let run = cli(args).await;
    let wall = start.elapsed();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let requests = server.requests();
    let mut intervals: Vec<(Instant, Instant)> =
        requests.iter().map(|r| (r.received, r.answered)).collect();
    intervals.extend(proxy.intervals());
    Measure {
        wall,
        k8s: requests.len(),
        aws: proxy.operations().len(),
        chain: longest_chain(intervals),
    }
}

/// The fastest of [`RUNS`] checks.
async fn fastest(n: &Names, objects: &[Value], latency: Duration) -> Measure {
    let mut best: Option<Measure> = None;
    for _ in 0..RUNS {
        let m = measure(n, objects, latency).await;
        if best.is_none_or(|b| m.wall < b.wall) {
            best = Some(m);
        }
    }
    best.unwrap()
}

/// `objects` with every name containing `from` renamed (`from` → `to`) and
/// every `metadata.uid` (and the references to it) made unique with `tag`.
fn renamed(objects: &[Value], from: &str, to: &str, tag: &str) -> Vec<Value> {
    let mut text = serde_json::to_string(objects).unwrap().replace(from, to);
    for o in objects {
        if let Some(uid) = o.pointer("/metadata/uid").and_then(Value::as_str) {
            text = text.replace(uid, &format!("{uid}-{tag}"));
        }
    }
    serde_json::from_str(&text).unwrap()
}

/// A cluster of `pods` pods: `failing` copies of the scenario's failing pod
/// (each with its workload and events) and healthy running pods for the rest.
fn cluster(n: &Names, pods: usize, failing: usize) -> Vec<Value> {
    let base = cluster_objects(n);
    let (namespaced, mut out): (Vec<Value>, Vec<Value>) = base
        .into_iter()
        .partition(|o| o["metadata"]["namespace"] == "default");
    for i in 0..failing {
        out.extend(renamed(
            &namespaced,
            "ui-private",
            &format!("ui-private-{i}"),
            &format!("f{i}"),
        ));
    }
    let pod = namespaced
        .iter()
        .find(|o| o["kind"] == "Pod")
        .cloned()
        .unwrap();
    for i in 0..pods.saturating_sub(failing) {
        let mut p = pod.clone();
        p["metadata"] = json!({
            "name": format!("web-{i}"),
            "namespace": "default",
            "uid": format!("00000000-0000-4000-8000-{i:012}"),
            "labels": {"app": "web"},
        });
        p["status"] = json!({
            "phase": "Running",
            "containerStatuses": [{
                "name": "ui", "ready": true, "restartCount": 0,
                "image": n.image(), "imageID": "",
                "state": {"running": {"startedAt": "2026-12-01T00:00:00Z"}},
            }],
        });
        out.push(p);
    }
    out
}

/// Creates `count` ECR repositories no pod uses, with botocore (the AWS CLI's
/// library) in one process: the AWS CLI would start once per repository.
fn seed_unreferenced_repositories(prefix: &str, count: usize) {
    let script = format!(
        "import botocore.session\n\
         c = botocore.session.get_session().create_client('ecr', region_name='{REGION}', endpoint_url='{}', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
         for i in range({count}):\n\
         \x20   try:\n\
         \x20       c.create_repository(repositoryName='{prefix}-%d' % i)\n\
         \x20   except c.exceptions.RepositoryAlreadyExistsException:\n\
         \x20       pass\n",
        moto()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn trips(at0: Measure, at50: Measure) -> f64 {
    (at50.wall.as_secs_f64() - at0.wall.as_secs_f64()) / LATENCY.as_secs_f64()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: scripts/bench runs it and prints the table"]
async fn bench_round_trips() {
    let reference = Names {
        cluster: "bench-reference",
        role: "EksNodeGroupRole-bench",
        repo: "retail-sample-app-ui-bench",
    };
    seed(&reference);
    seed_unreferenced_repositories("bench-unused", 200);
    let cases = [
        ("reference scenario (1 pod)", cluster_objects(&reference)),
        (
            "2,000 pods, 10 failing, 200 unused repositories",
            cluster(&reference, 2000, 10),
        ),
    ];
    println!(
        "\n{:<50} {:>9} {:>9} {:>11} {:>11} {:>9} {:>9}",
        "case", "wall 0ms", "wall 50ms", "round trips", "in sequence", "k8s calls", "AWS calls"
    );
    for (name, objects) in &cases {
        let at0 = fastest(&reference, objects, Duration::ZERO).await;
        let at50 = fastest(&reference, objects, LATENCY).await;
        assert_eq!((at0.k8s, at0.aws), (at50.k8s, at50.aws));
        println!(
            "{name:<50} {:>7.0}ms {:>7.0}ms {:>11.1} {:>11} {:>9} {:>9}",
            at0.wall.as_secs_f64() * 1e3,
            at50.wall.as_secs_f64() * 1e3,
            trips(at0, at50),
            at50.chain,
            at50.k8s,
            at50.aws
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: scripts/bench runs it and prints the table"]
async fn bench_fleet() {
    const CLUSTERS: usize = 20;
    let names: Vec<Names> = (0..CLUSTERS)
        .map(|i| Names {
            cluster: Box::leak(format!("bench-fleet-{i}").into_boxed_str()),
            role: "EksNodeGroupRole-bench-fleet",
            repo: "retail-sample-app-ui-bench-fleet",
        })
        .collect();
    for n in &names {
        seed(n);
    }
    let mut servers = Vec::new();
    for n in &names {
        servers.push(
            Stub::new()
                .objects(cluster(n, 500, 2))
                .latency(LATENCY)
                .start()
                .await
                .unwrap(),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut clusters = String::new();
    let mut contexts = String::new();
    for (n, s) in names.iter().zip(&servers) {
        let arn = format!("arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{}", n.cluster);
        clusters.push_str(&format!(
            "- name: {arn}\n  cluster:\n    server: {}\n",
            s.url()
        ));
        contexts.push_str(&format!(
            "- name: {}\n  context:\n    cluster: {arn}\n    user: stub\n",
            n.cluster
        ));
    }
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n{clusters}users:\n- name: stub\n  user:\n    token: {}\ncontexts:\n{contexts}current-context: {}\n",
            rulerun_kube_stub::TOKEN,
            names[0].cluster
        ),
    )
    .unwrap();
    let run = |fleet: bool| {
        let kubeconfig = kubeconfig.clone();
        let first = names[0].cluster;
        async move {
            let proxy = AwsProxy::to(&moto()).latency(LATENCY).start().await;
            let mut args = args_check(&live_args(&kubeconfig, &proxy.url, None));
            args.push("--no-config".into());
            if fleet {
                args.extend([
                    "--all-contexts".into(),
                    "--max-concurrent-clusters".into(),
                    "8".into(),
                ]);
            } else {
                args.extend(["--context".into(), first.to_string()]);
            }
            let start = Instant::now();
            let run = cli(args).await;
            let wall = start.elapsed();
            assert_eq!(run.code, 1, "{}", run.stderr);
            (wall, proxy.operations().len())
        }
    };
    let (one_wall, one_aws) = run(false).await;
    let (fleet_wall, fleet_aws) = run(true).await;
    println!(
        "\nfleet of {CLUSTERS} clusters x 500 pods, one account, 50 ms per request:\n\
         {:<24} {:>10} {:>10}\n{:<24} {:>8.0}ms {:>10}\n{:<24} {:>8.0}ms {:>10}\n{:<24} {:>9.1}x {:>9.1}x",
        "",
        "wall",
        "AWS calls",
        "one cluster",
        one_wall.as_secs_f64() * 1e3,
        one_aws,
        "fleet",
        fleet_wall.as_secs_f64() * 1e3,
        fleet_aws,
        "fleet / one cluster",
        fleet_wall.as_secs_f64() / one_wall.as_secs_f64(),
        fleet_aws as f64 / one_aws as f64
    );
}

#[test]
fn the_chain_counts_requests_that_ran_one_after_another() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    // Three concurrent, then one after them, then two overlapping: 3 in sequence.
    let intervals = vec![
        (at(0), at(50)),
        (at(1), at(52)),
        (at(2), at(51)),
        (at(60), at(110)),
        (at(120), at(170)),
        (at(121), at(171)),
    ];
    assert_eq!(longest_chain(intervals), 3);
    assert_eq!(longest_chain(Vec::new()), 0);
}
