//! Single GETs, 404s and the read-only guard.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{DeleteParams, PostParams};
use kube::{Api, ResourceExt};
use rulerun_kube_stub::Stub;

use crate::{api_error, raw, start};

#[tokio::test]
async fn get_namespaced_and_cluster_scoped() {
    let (server, c) = start(Stub::new()).await;
    let pod = Api::<Pod>::namespaced(c.clone(), "shop")
        .get("web-1")
        .await
        .unwrap();
    assert_eq!(pod.name_any(), "web-1");
    assert_eq!(pod.spec.unwrap().node_name.as_deref(), Some("node-a"));
    let loose = Api::<Pod>::namespaced(c.clone(), "default")
        .get("loose")
        .await
        .unwrap();
    assert!(loose.metadata.uid.is_some(), "a uid is filled in");
    assert!(loose.metadata.resource_version.is_some());
    let node = Api::<Node>::all(c.clone()).get("node-b").await.unwrap();
    assert_eq!(node.labels()["zone"], "b");
    let ns = Api::<Namespace>::all(c.clone()).get("shop").await.unwrap();
    assert_eq!(ns.name_any(), "shop");
    let d = Api::<Deployment>::namespaced(c.clone(), "shop")
        .get("web")
        .await
        .unwrap();
    assert_eq!(d.spec.unwrap().replicas, Some(3));
    let j = Api::<Job>::namespaced(c.clone(), "shop")
        .get("migrate")
        .await
        .unwrap();
    assert_eq!(j.status.unwrap().succeeded, Some(1));
    // A single object keeps kind and apiVersion.
    let v = raw(&c, "/apis/apps/v1/namespaces/shop/deployments/web")
        .await
        .unwrap();
    assert_eq!(v["kind"], "Deployment");
    assert_eq!(v["apiVersion"], "apps/v1");
    server.shutdown().await;
}

#[tokio::test]
async fn not_found_is_a_real_status() {
    let (server, c) = start(Stub::new()).await;
    let pods = Api::<Pod>::namespaced(c.clone(), "shop");
    let s = api_error(pods.get("nope").await);
    assert_eq!(s.code, 404);
    assert_eq!(s.reason, "NotFound");
    assert_eq!(s.message, "pods \"nope\" not found");
    let details = s.details.unwrap();
    assert_eq!(details.name, "nope");
    assert_eq!(details.kind, "pods");
    assert!(pods.get_opt("nope").await.unwrap().is_none());
    // The right name in the wrong namespace.
    assert!(
        Api::<Pod>::namespaced(c.clone(), "kube-system")
            .get_opt("web-1")
            .await
            .unwrap()
            .is_none()
    );
    let s = api_error(
        Api::<Deployment>::namespaced(c.clone(), "shop")
            .get("api")
            .await,
    );
    assert_eq!(s.message, "deployments.apps \"api\" not found");
    assert_eq!(s.details.unwrap().group, "apps");
    let s = api_error(Api::<Node>::all(c.clone()).get("node-z").await);
    assert_eq!(s.message, "nodes \"node-z\" not found");
    // Unknown paths and resources.
    for p in [
        "/api/v1/widgets",
        "/apis/example.com/v1",
        "/apis/apps/v2/deployments",
        "/nope",
        "/api/v1/pods/web-1",
    ] {
        let s = api_error(raw(&c, p).await);
        assert_eq!((s.code, s.reason.as_str()), (404, "NotFound"), "{p}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn writes_are_refused_and_logged() {
    let (server, c) = start(Stub::new()).await;
    let pods = Api::<Pod>::namespaced(c, "shop");
    let s = api_error(pods.delete("web-1", &DeleteParams::default()).await);
    assert_eq!((s.code, s.reason.as_str()), (405, "MethodNotAllowed"));
    let mut p = Pod::default();
    p.metadata.name = Some("new".into());
    let s = api_error(pods.create(&PostParams::default(), &p).await);
    assert_eq!(s.code, 405);
    assert_eq!(server.count(|r| r.method != "GET"), 2);
    assert_eq!(server.count(|r| r.method == "DELETE" && r.status == 405), 1);
    // Still there.
    assert!(pods.get("web-1").await.is_ok());
    server.shutdown().await;
}
