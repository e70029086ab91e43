use rulerun_collect_k8s::connect::{ConnectOptions, connect};
use rulerun_collect_k8s::declare::resource;
use rulerun_collect_k8s::fetch::{FetchError, FetchOptions, K8sFetcher};
use rulerun_kube_stub::{Stub, StubServer};
use serde_json::{Value, json};

fn install_crypto() {
    // Both ring (the stub's TLS) and aws-lc-rs (rulerun's choice) are linked into
    // this test binary; rustls needs one chosen, as the rulerun binary does.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

fn pod(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{ns}-{name}"),
        "managedFields": [{"manager": "kubelet"}]}, "status": {"phase": "Running"}})
}

fn event(ns: &str, name: &str, uid: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
        "involvedObject": {"kind": "Pod", "namespace": ns, "name": "p", "uid": uid}, "reason": "Failed", "type": "Warning"})
}

async fn fetcher(server: &StubServer, page_size: u32) -> (K8sFetcher, tempfile::TempDir) {
    install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let path = server.write_kubeconfig(dir.path(), "stub").unwrap();
    let (client, info) = connect(&ConnectOptions {
        kubeconfig: Some(path),
        context: Some("stub".into()),
        ..ConnectOptions::default()
    })
    .await
    .unwrap();
    assert_eq!(info.context.as_deref(), Some("stub"));
    let f = K8sFetcher::new(
        client,
        FetchOptions {
            page_size,
            ..FetchOptions::default()
        },
    );
    (f, dir)
}

#[tokio::test]
async fn lists_page_with_limit_and_continue_and_restore_kind() {
    let pods: Vec<Value> = (0..23)
        .map(|i| pod("default", &format!("p{i:02}")))
        .collect();
    let server = Stub::new().objects(pods).start().await.unwrap();
    let (f, _dir) = fetcher(&server, 10).await;
    let items = f
        .list(resource("k8s/v1/Pod").unwrap(), None, None)
        .await
        .unwrap();
    assert_eq!(items.len(), 23);
    assert_eq!(items[0]["kind"], "Pod");
    assert_eq!(items[0]["apiVersion"], "v1");
    assert!(items[0]["metadata"].get("managedFields").is_none());
    let lists = server.count(|r| r.path == "/api/v1/pods");
    assert_eq!(lists, 3, "23 pods in pages of 10");
    assert_eq!(f.requests(), 3);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.param("limit") == Some("10"))
    );
}

#[tokio::test]
async fn events_are_field_selected_by_involved_object_uid() {
    let server = Stub::new()
        .objects([
            event("a", "e1", "u1"),
            event("a", "e2", "u2"),
            event("b", "e3", "u1"),
        ])
        .start()
        .await
        .unwrap();
    let (f, _dir) = fetcher(&server, 500).await;
    let items = f
        .list(
            resource("k8s/v1/Event").unwrap(),
            None,
            Some("involvedObject.uid=u1"),
        )
        .await
        .unwrap();
    let names: Vec<&str> = items
        .iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["e1", "e3"]);
    let r = &server.requests()[server.requests().len() - 1];
    assert_eq!(r.param("fieldSelector"), Some("involvedObject.uid=u1"));
}

#[tokio::test]
async fn forbidden_lists_are_values_naming_verb_resource_and_namespace() {
    let server = Stub::new()
        .objects([pod("default", "p"), event("default", "e", "u")])
        .forbid("list", "events", None)
        .start()
        .await
        .unwrap();
    let (f, _dir) = fetcher(&server, 500).await;
    let err = f
        .list(resource("k8s/v1/Event").unwrap(), Some("default"), None)
        .await
        .unwrap_err();
    match &err {
        FetchError::Forbidden {
            verb,
            resource,
            namespace,
            message,
        } => {
            assert_eq!(verb, "list");
            assert_eq!(resource, "events");
            assert_eq!(namespace.as_deref(), Some("default"));
            assert!(message.contains("forbidden"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "forbidden: cannot list `events` in namespace `default`"
    );
    // Other kinds still read.
    assert_eq!(
        f.list(resource("k8s/v1/Pod").unwrap(), None, None)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn gets_return_none_for_missing_objects() {
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}});
    let server = Stub::new().objects([node]).start().await.unwrap();
    let (f, _dir) = fetcher(&server, 500).await;
    let nodes = resource("k8s/v1/Node").unwrap();
    let got = f.get(nodes, None, "n1").await.unwrap().unwrap();
    assert_eq!(got["kind"], "Node");
    assert!(f.get(nodes, None, "missing").await.unwrap().is_none());
}

#[tokio::test]
async fn service_accounts_lose_everything_but_pull_secret_names_and_secrets_are_never_read() {
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "a"},
        "secrets": [{"name": "tok"}], "imagePullSecrets": [{"name": "regcred"}]});
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "regcred", "namespace": "a"}, "data": {".dockerconfigjson": "c2VjcmV0"}});
    let server = Stub::new().objects([sa, secret]).start().await.unwrap();
    let (f, _dir) = fetcher(&server, 500).await;
    let items = f
        .list(resource("k8s/v1/ServiceAccount").unwrap(), Some("a"), None)
        .await
        .unwrap();
    assert_eq!(items[0]["imagePullSecrets"], json!([{"name": "regcred"}]));
    assert!(items[0].get("secrets").is_none());
    assert_eq!(server.count(|r| r.path.contains("secrets")), 0);
    assert!(server.requests().iter().all(|r| r.method == "GET"));
}

/// A namespace or name that is no path segment (`..`, `a/b`, empty) never
/// reaches the API server, where it would address another path: a namespace is
/// refused, a name is an object that cannot exist.
#[tokio::test]
async fn names_and_namespaces_that_are_not_one_segment_send_nothing() {
    let server = Stub::new()
        .objects(vec![pod("default", "p")])
        .start()
        .await
        .unwrap();
    let (f, _dir) = fetcher(&server, 10).await;
    let pods = resource("k8s/v1/Pod").unwrap();
    for ns in ["..", ".", "", "default/../kube-system"] {
        let e = f.list(pods, Some(ns), None).await.unwrap_err();
        assert!(
            matches!(&e, FetchError::InvalidNamespace { namespace, .. } if namespace == ns),
            "{e}"
        );
        assert!(e.help().is_some());
        let e = f.get(pods, Some(ns), "p").await.unwrap_err();
        assert!(matches!(e, FetchError::InvalidNamespace { .. }), "{e}");
    }
    for name in ["..", ".", "", "p/../q"] {
        assert_eq!(f.get(pods, Some("default"), name).await.unwrap(), None);
    }
    assert_eq!(server.count(|_| true), 0, "{:?}", server.requests());
    // An ordinary name is read.
    let got = f.get(pods, Some("default"), "p").await.unwrap();
    assert_eq!(got.unwrap()["metadata"]["name"], "p");
}
