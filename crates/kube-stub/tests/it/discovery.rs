//! `/version` and discovery through kube's own discovery client.

use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope, verbs};
use rulerun_kube_stub::Stub;

use crate::{client, raw};

async fn version(tls: bool) {
    let server = Stub::new().tls(tls).start().await.unwrap();
    let info = client(&server).await.apiserver_version().await.unwrap();
    assert_eq!(info.major, "1");
    assert_eq!(info.minor, "31+");
    assert!(
        info.git_version.starts_with("v1.31."),
        "{}",
        info.git_version
    );
    assert_eq!(info.platform, "linux/amd64");
    server.shutdown().await;
}

#[tokio::test]
async fn version_over_http() {
    version(false).await;
}

#[tokio::test]
async fn version_over_https() {
    version(true).await;
}

fn check(discovery: &Discovery) {
    let groups: Vec<&str> = discovery.groups().map(|g| g.name()).collect();
    for g in ["", "apps", "batch"] {
        assert!(groups.contains(&g), "{groups:?}");
    }
    let pod = GroupVersionKind::gvk("", "v1", "Pod");
    let (ar, caps) = discovery.resolve_gvk(&pod).unwrap();
    assert_eq!(ar.plural, "pods");
    assert_eq!(caps.scope, Scope::Namespaced);
    assert!(caps.supports_operation(verbs::LIST));
    assert!(caps.supports_operation(verbs::GET));
    let node = GroupVersionKind::gvk("", "v1", "Node");
    assert_eq!(
        discovery.resolve_gvk(&node).unwrap().1.scope,
        Scope::Cluster
    );
    let deploy = GroupVersionKind::gvk("apps", "v1", "Deployment");
    assert_eq!(
        discovery.resolve_gvk(&deploy).unwrap().0.plural,
        "deployments"
    );
    let cron = GroupVersionKind::gvk("batch", "v1", "CronJob");
    assert_eq!(discovery.resolve_gvk(&cron).unwrap().0.plural, "cronjobs");
    let apps = discovery.get("apps").unwrap();
    assert_eq!(apps.preferred_version_or_latest(), "v1");
}

#[tokio::test]
async fn legacy_discovery_over_http_and_https() {
    for tls in [false, true] {
        let server = Stub::new().tls(tls).start().await.unwrap();
        let c = client(&server).await;
        let discovery = Discovery::new(c).run().await.unwrap();
        check(&discovery);
        // /apis, /api, then one request per group version.
        let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
        for p in [
            "/apis",
            "/api",
            "/api/v1",
            "/apis/apps/v1",
            "/apis/batch/v1",
        ] {
            assert!(paths.iter().any(|x| x == p), "{p} not in {paths:?}");
        }
        assert!(server.requests().iter().all(|r| r.status == 200));
        server.shutdown().await;
    }
}

#[tokio::test]
async fn aggregated_discovery() {
    let server = Stub::new().start().await.unwrap();
    let discovery = Discovery::new(client(&server).await)
        .run_aggregated()
        .await
        .unwrap();
    check(&discovery);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn discovery_documents_look_real() {
    let server = Stub::new().start().await.unwrap();
    let c = client(&server).await;
    let api = raw(&c, "/api").await.unwrap();
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"][0], "v1");
    let core = raw(&c, "/api/v1").await.unwrap();
    assert_eq!(core["kind"], "APIResourceList");
    assert_eq!(core["groupVersion"], "v1");
    let pods = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "pods")
        .unwrap();
    assert_eq!(pods["singularName"], "pod");
    assert_eq!(pods["namespaced"], true);
    assert_eq!(pods["kind"], "Pod");
    assert_eq!(pods["shortNames"][0], "po");
    let apis = raw(&c, "/apis").await.unwrap();
    assert_eq!(apis["kind"], "APIGroupList");
    assert_eq!(
        apis["groups"][0]["preferredVersion"]["groupVersion"],
        "apps/v1"
    );
    let apps = raw(&c, "/apis/apps").await.unwrap();
    assert_eq!(apps["kind"], "APIGroup");
    let batch = raw(&c, "/apis/batch/v1").await.unwrap();
    assert_eq!(batch["groupVersion"], "batch/v1");
    // kube's typed client lists through the same documents.
    let core = c.list_core_api_resources("v1").await.unwrap();
    assert!(core.resources.iter().any(|r| r.name == "events"));
}
