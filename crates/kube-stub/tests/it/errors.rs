//! 403 Forbidden as RBAC answers it, and 401 without credentials.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::ListParams;
use kube::{Api, Client, Config};
use rulerun_kube_stub::Stub;

use crate::{api_error, crypto, start};

#[tokio::test]
async fn forbidden_everywhere() {
    let (server, c) = start(Stub::new().forbid("list", "events", None)).await;
    let s = api_error(
        Api::<Event>::all(c.clone())
            .list(&ListParams::default())
            .await,
    );
    assert_eq!(s.code, 403);
    assert_eq!(s.reason, "Forbidden");
    assert_eq!(
        s.message,
        "events is forbidden: User \"system:serviceaccount:rulerun:rulerun\" cannot list resource \"events\" in API group \"\" at the cluster scope"
    );
    let details = s.details.unwrap();
    assert_eq!(details.kind, "events");
    assert_eq!(details.name, "");
    let s = api_error(
        Api::<Event>::namespaced(c.clone(), "shop")
            .list(&ListParams::default())
            .await,
    );
    assert_eq!(
        s.message,
        "events is forbidden: User \"system:serviceaccount:rulerun:rulerun\" cannot list resource \"events\" in API group \"\" in the namespace \"shop\""
    );
    // Other verbs and resources are untouched.
    assert!(
        Api::<Event>::namespaced(c.clone(), "shop")
            .get("web-3.1")
            .await
            .is_ok()
    );
    assert!(
        Api::<Pod>::all(c.clone())
            .list(&ListParams::default())
            .await
            .is_ok()
    );
    assert_eq!(server.count(|r| r.status == 403), 2);
    assert_eq!(server.count(|r| r.is_for("events")), 3);
    server.shutdown().await;
}

#[tokio::test]
async fn forbidden_in_one_namespace_or_at_cluster_scope() {
    let stub = Stub::new()
        .forbid("list", "pods", Some("kube-system"))
        .forbid_cluster_scope("list", "deployments")
        .forbid("get", "nodes", None)
        .user("arn:aws:iam::1234567890:role/viewer");
    let (server, c) = start(stub).await;
    let s = api_error(
        Api::<Pod>::namespaced(c.clone(), "kube-system")
            .list(&ListParams::default())
            .await,
    );
    assert_eq!(
        s.message,
        "pods is forbidden: User \"arn:aws:iam::1234567890:role/viewer\" cannot list resource \"pods\" in API group \"\" in the namespace \"kube-system\""
    );
    assert!(
        Api::<Pod>::namespaced(c.clone(), "shop")
            .list(&ListParams::default())
            .await
            .is_ok()
    );
    assert!(
        Api::<Pod>::all(c.clone())
            .list(&ListParams::default())
            .await
            .is_ok()
    );
    let s = api_error(
        Api::<Deployment>::all(c.clone())
            .list(&ListParams::default())
            .await,
    );
    assert_eq!(
        s.message,
        "deployments.apps is forbidden: User \"arn:aws:iam::1234567890:role/viewer\" cannot list resource \"deployments\" in API group \"apps\" at the cluster scope"
    );
    assert_eq!(s.details.unwrap().group, "apps");
    assert!(
        Api::<Deployment>::namespaced(c.clone(), "shop")
            .list(&ListParams::default())
            .await
            .is_ok()
    );
    let s = api_error(Api::<Node>::all(c.clone()).get("node-a").await);
    assert_eq!(
        s.message,
        "nodes \"node-a\" is forbidden: User \"arn:aws:iam::1234567890:role/viewer\" cannot get resource \"nodes\" in API group \"\" at the cluster scope"
    );
    assert_eq!(s.details.unwrap().name, "node-a");
    assert!(
        Api::<Node>::all(c)
            .list(&ListParams::default())
            .await
            .is_ok()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn no_token_is_unauthorized_but_version_is_public() {
    crypto();
    let (server, _) = start(Stub::new()).await;
    let config = Config::new(server.url().parse().unwrap());
    let anonymous = Client::try_from(config).unwrap();
    assert!(anonymous.apiserver_version().await.is_ok());
    let s = api_error(
        Api::<Pod>::all(anonymous)
            .list(&ListParams::default())
            .await,
    );
    assert_eq!((s.code, s.reason.as_str()), (401, "Unauthorized"));
    server.shutdown().await;
}
