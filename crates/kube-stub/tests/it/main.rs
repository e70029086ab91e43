//! Drives the real kube client against the stub through generated kubeconfigs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod binary;
mod discovery;
mod errors;
mod get;
mod lists;
mod server;
mod writes;

use k8s_openapi::api::core::v1::Pod;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use rulerun_kube_stub::{Stub, StubServer};
use serde_json::{Value, json};

/// Chooses rustls' process-wide crypto provider once, as the rulerun binary must
/// when both ring (kube) and aws-lc-rs (AWS SDK) are compiled in. Harmless here,
/// where only ring is.
pub fn crypto() {
    if std::env::var_os("NO_CRYPTO").is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A kube client built from the server's generated kubeconfig.
pub async fn client(server: &StubServer) -> Client {
    client_ns(server, None).await
}

/// Same, with a default namespace in the context.
pub async fn client_ns(server: &StubServer, namespace: Option<&str>) -> Client {
    crypto();
    let yaml = server.kubeconfig_yaml("stub", namespace);
    let kubeconfig = Kubeconfig::from_yaml(&yaml).unwrap();
    let options = KubeConfigOptions {
        context: Some("stub".into()),
        ..Default::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

/// Starts a stub with [`fixtures`] and returns it with a client.
pub async fn start(stub: Stub) -> (StubServer, Client) {
    let server = stub.objects(fixtures()).start().await.unwrap();
    let c = client(&server).await;
    (server, c)
}

/// The API error of a kube result, or a failure.
pub fn api_error<T: std::fmt::Debug>(r: kube::Result<T>) -> Box<kube::core::Status> {
    match r {
        Err(kube::Error::Api(s)) => s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn pod(ns: &str, name: &str, app: &str, tier: Option<&str>, node: &str, phase: &str) -> Value {
    let mut labels = json!({"app": app});
    if let Some(t) = tier {
        labels["tier"] = json!(t);
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{ns}-{name}"), "labels": labels},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx:1.27"}]},
        "status": {"phase": phase}
    })
}

fn event(ns: &str, name: &str, pod: &str, reason: &str, kind: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod, "uid": format!("uid-{ns}-{pod}"), "apiVersion": "v1"},
        "reason": reason, "message": format!("{reason} on {pod}"), "type": kind,
        "source": {"component": "kubelet", "host": "node-a"}
    })
}

/// A small cluster: 9 pods in three namespaces, 2 nodes, events, workloads, a secret.
pub fn fixtures() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}, "status": {"phase": "Active"}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}, "status": {"phase": "Active"}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}, "status": {"phase": "Active"}}),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-b", "labels": {"zone": "b"}}, "spec": {"unschedulable": true}}),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a", "labels": {"zone": "a"}}}),
        pod("shop", "web-1", "web", Some("front"), "node-a", "Running"),
        pod("shop", "web-2", "web", Some("front"), "node-b", "Running"),
        pod("shop", "web-3", "web", Some("front"), "node-a", "Pending"),
        pod("shop", "api-1", "api", Some("back"), "node-b", "Running"),
        pod("shop", "db-0", "db", None, "node-a", "Running"),
        pod(
            "kube-system",
            "coredns-1",
            "coredns",
            None,
            "node-a",
            "Running",
        ),
        pod(
            "kube-system",
            "coredns-2",
            "coredns",
            None,
            "node-b",
            "Running",
        ),
        pod("default", "debug", "debug", None, "node-b", "Failed"),
        // No namespace: goes to `default`.
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "loose", "labels": {"app": "loose"}}, "spec": {"nodeName": "node-a"}, "status": {"phase": "Running"}}),
        event("shop", "web-3.1", "web-3", "Failed", "Warning"),
        event("shop", "web-3.2", "web-3", "BackOff", "Normal"),
        event("shop", "web-1.1", "web-1", "Started", "Normal"),
        event("default", "debug.1", "debug", "Failed", "Warning"),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}, "spec": {"replicas": 3}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-5d4f", "namespace": "shop"}, "status": {"replicas": 3}}),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "shop"}}),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "aws-node", "namespace": "kube-system"}}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "shop"}, "status": {"succeeded": 1}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", "namespace": "shop"}, "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "shop"}}),
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "db-password", "namespace": "shop"}, "data": {"p": "eA=="}}),
    ]
}

/// Names of the pods the client lists, in order.
pub async fn pod_names(api: &Api<Pod>, lp: &kube::api::ListParams) -> kube::Result<Vec<String>> {
    use kube::ResourceExt;
    Ok(api
        .list(lp)
        .await?
        .items
        .iter()
        .map(|p| p.name_any())
        .collect())
}

/// A raw GET through the kube client, answered body as JSON.
pub async fn raw(client: &Client, path: &str) -> kube::Result<Value> {
    let req = http::Request::get(path).body(Vec::new()).unwrap();
    client.request::<Value>(req).await
}
