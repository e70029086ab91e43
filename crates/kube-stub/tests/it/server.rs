//! The request log, latency, TLS, kubeconfig files, fixture files and shutdown.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::ListParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use rulerun_kube_stub::{Stub, load_fixtures};
use serde_json::json;

use crate::{client, client_ns, crypto, fixtures, pod_names, start};

#[tokio::test]
async fn request_log_records_every_request() {
    let (server, c) = start(Stub::new()).await;
    let pods = Api::<Pod>::namespaced(c.clone(), "shop");
    pods.list(
        &ListParams::default()
            .labels("app=web")
            .fields("status.phase=Running")
            .limit(10),
    )
    .await
    .unwrap();
    let _ = pods.get("missing").await;
    let log = server.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, "/api/v1/namespaces/shop/pods");
    assert_eq!(log[0].param("labelSelector"), Some("app=web"));
    assert_eq!(log[0].param("fieldSelector"), Some("status.phase=Running"));
    assert_eq!(log[0].param("limit"), Some("10"));
    assert_eq!(log[0].status, 200);
    assert_eq!(log[1].path, "/api/v1/namespaces/shop/pods/missing");
    assert_eq!(log[1].status, 404);
    assert!(log.iter().all(|r| r.is_for("pods") && !r.is_for("events")));
    assert_eq!(server.count(|r| r.status == 404), 1);
    server.clear_log();
    assert!(server.requests().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn latency_delays_but_requests_complete() {
    let (server, c) = start(Stub::new().latency(Duration::from_millis(20))).await;
    let pods = Api::<Pod>::all(c);
    let (all, two) = (ListParams::default(), ListParams::default().limit(2));
    let (a, b) = tokio::join!(pod_names(&pods, &all), pod_names(&pods, &two));
    assert_eq!(a.unwrap().len(), 9);
    assert_eq!(b.unwrap().len(), 2);
    assert_eq!(server.requests().len(), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn https_with_the_generated_ca() {
    let (server, c) = start(Stub::new().tls(true)).await;
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let pem = server.ca_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let yaml = server.kubeconfig_yaml("stub", Some("shop"));
    assert!(yaml.contains("certificate-authority-data: "));
    assert_eq!(
        pod_names(&Api::<Pod>::all(c), &ListParams::default())
            .await
            .unwrap()
            .len(),
        9
    );
    // The context's namespace is the client's default.
    let scoped = client_ns(&server, Some("shop")).await;
    assert_eq!(
        pod_names(
            &Api::<Pod>::default_namespaced(scoped),
            &ListParams::default()
        )
        .await
        .unwrap()
        .len(),
        5
    );
    server.shutdown().await;
}

#[tokio::test]
async fn https_without_the_ca_is_refused() {
    crypto();
    let (server, _) = start(Stub::new().tls(true)).await;
    let yaml: String = server
        .kubeconfig_yaml("stub", None)
        .lines()
        .filter(|l| !l.contains("certificate-authority-data"))
        .map(|l| format!("{l}\n"))
        .collect();
    let config = Config::from_custom_kubeconfig(
        Kubeconfig::from_yaml(&yaml).unwrap(),
        &KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    let c = Client::try_from(config).unwrap();
    let err = Api::<Pod>::all(c)
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(!matches!(err, kube::Error::Api(_)), "{err:?}");
    assert!(server.requests().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn kubeconfig_file_loads_with_kube() {
    let (server, _) = start(Stub::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = server.write_kubeconfig(dir.path(), "rulerun-test").unwrap();
    let kubeconfig = Kubeconfig::read_from(&path).unwrap();
    assert_eq!(kubeconfig.current_context.as_deref(), Some("rulerun-test"));
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    assert_eq!(
        config.cluster_url.to_string().trim_end_matches('/'),
        server.url()
    );
    crypto();
    let c = Client::try_from(config).unwrap();
    assert!(c.apiserver_version().await.is_ok());
    server.shutdown().await;
}

#[tokio::test]
async fn fixture_files_and_bad_objects() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let snapshot = json!({"apiVersion": "rulerun.dev/v1", "kind": "Snapshot", "facts": {
        "k8s/v1/Pod": [{"metadata": {"name": "p", "namespace": "ns"}}],
        "k8s/v1/Event": [{"metadata": {"name": "e", "namespace": "ns"}, "reason": "Failed"}],
        "aws/ecr/RepositoryPolicy": [{"policyText": "{}"}]
    }});
    std::fs::write(&snap, snapshot.to_string()).unwrap();
    let objs = load_fixtures(&snap).unwrap();
    assert_eq!(objs.len(), 2);
    let server = Stub::new().objects(objs).start().await.unwrap();
    let c = client(&server).await;
    assert!(
        Api::<Pod>::namespaced(c.clone(), "ns")
            .get("p")
            .await
            .is_ok()
    );
    assert_eq!(
        Api::<Event>::all(c)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    server.shutdown().await;
    // Objects the stub cannot serve fail the start.
    for bad in [
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}),
        json!({"kind": "Pod", "metadata": {"name": "p"}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}}),
    ] {
        let err = Stub::new().objects([bad]).start().await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
    assert!(rulerun_kube_stub::is_served("batch/v1", "CronJob"));
    assert!(!rulerun_kube_stub::is_served("events.k8s.io/v1", "Event"));
}

#[tokio::test]
async fn shutdown_closes_the_port_and_servers_run_side_by_side() {
    let a = Stub::new().objects(fixtures()).start().await.unwrap();
    let b = Stub::new().tls(true).start().await.unwrap();
    assert_ne!(a.url(), b.url());
    let ca = client(&a).await;
    let cb = client(&b).await;
    assert_eq!(
        Api::<Pod>::all(ca.clone())
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        9
    );
    assert!(
        Api::<Pod>::all(cb)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let addr = a.addr();
    a.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    assert!(
        Api::<Pod>::all(ca)
            .list(&ListParams::default())
            .await
            .is_err()
    );
    drop(b);
}
