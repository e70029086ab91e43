//! Lists: item shape, order, paging, label and field selectors.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod, Secret, ServiceAccount};
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use rulerun_kube_stub::{Stub, synth};

use crate::{api_error, client, pod_names, raw, start};

#[tokio::test]
async fn items_carry_no_kind_and_come_in_key_order() {
    let (server, c) = start(Stub::new()).await;
    let list = raw(&c, "/api/v1/pods").await.unwrap();
    assert_eq!(list["kind"], "PodList");
    assert_eq!(list["apiVersion"], "v1");
    assert!(list["metadata"]["resourceVersion"].as_str().is_some());
    assert!(list["metadata"].get("continue").is_none());
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 9);
    assert!(
        items
            .iter()
            .all(|i| i.get("kind").is_none() && i.get("apiVersion").is_none())
    );
    let keys: Vec<String> = items
        .iter()
        .map(|i| {
            format!(
                "{}/{}",
                i["metadata"]["namespace"].as_str().unwrap(),
                i["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(keys[0], "default/debug");
    let deployments = raw(&c, "/apis/apps/v1/namespaces/shop/deployments")
        .await
        .unwrap();
    assert_eq!(deployments["kind"], "DeploymentList");
    assert_eq!(deployments["apiVersion"], "apps/v1");
    server.shutdown().await;
}

#[tokio::test]
async fn typed_lists_of_every_kind() {
    let (server, c) = start(Stub::new()).await;
    let all = ListParams::default();
    assert_eq!(
        Api::<Pod>::all(c.clone())
            .list(&all)
            .await
            .unwrap()
            .items
            .len(),
        9
    );
    assert_eq!(
        Api::<Pod>::namespaced(c.clone(), "shop")
            .list(&all)
            .await
            .unwrap()
            .items
            .len(),
        5
    );
    assert_eq!(
        Api::<Pod>::namespaced(c.clone(), "nowhere")
            .list(&all)
            .await
            .unwrap()
            .items
            .len(),
        0
    );
    let nodes = Api::<Node>::all(c.clone()).list(&all).await.unwrap();
    let names: Vec<String> = nodes.iter().map(|n| n.name_any()).collect();
    assert_eq!(names, ["node-a", "node-b"]);
    assert_eq!(
        Api::<Namespace>::all(c.clone())
            .list(&all)
            .await
            .unwrap()
            .items
            .len(),
        3
    );
    assert_eq!(
        Api::<Event>::all(c.clone())
            .list(&all)
            .await
            .unwrap()
            .items
            .len(),
        4
    );
    assert_eq!(
        Api::<ServiceAccount>::all(c.clone())
            .list(&all)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        Api::<Secret>::all(c.clone())
            .list(&all)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        Api::<Deployment>::all(c.clone())
            .list(&all)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        Api::<ReplicaSet>::namespaced(c.clone(), "shop")
            .list(&all)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        Api::<StatefulSet>::all(c.clone())
            .list(&all)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        Api::<DaemonSet>::all(c.clone())
            .list(&all)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        Api::<Job>::all(c.clone())
            .list(&all)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        Api::<CronJob>::all(c.clone())
            .list(&all)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    server.shutdown().await;
}

/// Lists every page with `limit`, returning names and the pages' metadata.
async fn page_through(api: &Api<Pod>, lp: ListParams) -> (Vec<String>, Vec<Option<i64>>) {
    let mut names = Vec::new();
    let mut remaining = Vec::new();
    let mut lp = lp;
    loop {
        let page = api.list(&lp).await.unwrap();
        names.extend(page.items.iter().map(|p| p.name_any()));
        remaining.push(page.metadata.remaining_item_count);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => lp = lp.continue_token(&token),
            None => break,
        }
    }
    (names, remaining)
}

#[tokio::test]
async fn paging_with_limit_and_continue() {
    let (server, c) = start(Stub::new()).await;
    let api = Api::<Pod>::all(c.clone());
    let everything = pod_names(&api, &ListParams::default()).await.unwrap();
    server.clear_log();
    let (names, remaining) = page_through(&api, ListParams::default().limit(3)).await;
    assert_eq!(names, everything);
    assert_eq!(remaining, [Some(6), Some(3), None]);
    let lists = server.requests();
    assert_eq!(lists.len(), 3);
    assert!(
        lists
            .iter()
            .all(|r| r.path == "/api/v1/pods" && r.param("limit") == Some("3"))
    );
    assert_eq!(
        lists
            .iter()
            .filter(|r| r.param("continue").is_some())
            .count(),
        2
    );
    // A short last page.
    server.clear_log();
    let (names, _) = page_through(&api, ListParams::default().limit(5)).await;
    assert_eq!(names.len(), 9);
    assert_eq!(server.count(|r| r.is_for("pods")), 2);
    // Paging within a namespace with a selector: no remainingItemCount.
    let shop = Api::<Pod>::namespaced(c.clone(), "shop");
    let (names, remaining) =
        page_through(&shop, ListParams::default().labels("app=web").limit(2)).await;
    assert_eq!(names, ["web-1", "web-2", "web-3"]);
    assert_eq!(remaining, [None, None]);
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_continue_is_bad_request() {
    let (server, c) = start(Stub::new()).await;
    let api = Api::<Pod>::all(c);
    for token in ["!!!", "bm90IGpzb24", "e30"] {
        let s = api_error(
            api.list(&ListParams::default().limit(1).continue_token(token))
                .await,
        );
        assert_eq!((s.code, s.reason.as_str()), (400, "BadRequest"), "{token}");
        assert!(
            s.message.starts_with("continue key is not valid"),
            "{}",
            s.message
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn label_selectors() {
    let (server, c) = start(Stub::new()).await;
    let shop = Api::<Pod>::namespaced(c.clone(), "shop");
    let sel = |s: &str| ListParams::default().labels(s);
    assert_eq!(
        pod_names(&shop, &sel("app=web")).await.unwrap(),
        ["web-1", "web-2", "web-3"]
    );
    assert_eq!(pod_names(&shop, &sel("app==api")).await.unwrap(), ["api-1"]);
    assert_eq!(
        pod_names(&shop, &sel("app!=web")).await.unwrap(),
        ["api-1", "db-0"]
    );
    assert_eq!(
        pod_names(&shop, &sel("app in (api,db)")).await.unwrap(),
        ["api-1", "db-0"]
    );
    assert_eq!(
        pod_names(&shop, &sel("app notin (web, api)"))
            .await
            .unwrap(),
        ["db-0"]
    );
    assert_eq!(pod_names(&shop, &sel("tier")).await.unwrap().len(), 4);
    assert_eq!(pod_names(&shop, &sel("!tier")).await.unwrap(), ["db-0"]);
    assert_eq!(
        pod_names(&shop, &sel("app=web,tier=front"))
            .await
            .unwrap()
            .len(),
        3
    );
    assert!(
        pod_names(&shop, &sel("app=web,tier=back"))
            .await
            .unwrap()
            .is_empty()
    );
    let nodes = Api::<Node>::all(c.clone());
    assert_eq!(nodes.list(&sel("zone=b")).await.unwrap().items.len(), 1);
    let s = api_error(shop.list(&sel("app in web")).await);
    assert_eq!((s.code, s.reason.as_str()), (400, "BadRequest"));
    assert!(
        s.message.starts_with("unable to parse requirement"),
        "{}",
        s.message
    );
    // The query reached the server decoded.
    assert!(server.count(|r| r.param("labelSelector") == Some("app notin (web, api)")) == 1);
    server.shutdown().await;
}

#[tokio::test]
async fn field_selectors() {
    let (server, c) = start(Stub::new()).await;
    let pods = Api::<Pod>::all(c.clone());
    let sel = |s: &str| ListParams::default().fields(s);
    assert_eq!(
        pod_names(&pods, &sel("metadata.name=web-2")).await.unwrap(),
        ["web-2"]
    );
    assert_eq!(
        pod_names(&pods, &sel("metadata.namespace=kube-system"))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        pod_names(&pods, &sel("spec.nodeName=node-b"))
            .await
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        pod_names(&pods, &sel("status.phase!=Running"))
            .await
            .unwrap(),
        ["debug", "web-3"]
    );
    assert_eq!(
        pod_names(
            &pods,
            &sel("spec.nodeName==node-a,status.phase=Running,metadata.namespace!=default")
        )
        .await
        .unwrap(),
        ["coredns-1", "db-0", "web-1"]
    );
    let events = Api::<Event>::all(c.clone());
    let of = |s: &'static str| {
        let events = events.clone();
        async move {
            events
                .list(&sel(s))
                .await
                .unwrap()
                .items
                .iter()
                .map(|e| e.name_any())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        of("involvedObject.uid=uid-shop-web-3").await,
        ["web-3.1", "web-3.2"]
    );
    assert_eq!(
        of("involvedObject.name=debug,involvedObject.namespace=default").await,
        ["debug.1"]
    );
    assert_eq!(
        of("involvedObject.kind=Pod,type=Warning").await,
        ["debug.1", "web-3.1"]
    );
    assert_eq!(of("reason=Failed").await.len(), 2);
    assert_eq!(of("source=kubelet").await.len(), 4);
    let nodes = Api::<Node>::all(c.clone());
    assert_eq!(
        nodes
            .list(&sel("spec.unschedulable=false"))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let s = api_error(pods.list(&sel("spec.foo=bar")).await);
    assert_eq!((s.code, s.reason.as_str()), (400, "BadRequest"));
    assert_eq!(s.message, "field label not supported: spec.foo");
    // `reason` is an event field, not a pod field.
    let s = api_error(pods.list(&sel("reason=Failed")).await);
    assert_eq!(s.message, "field label not supported: reason");
    server.shutdown().await;
}

#[tokio::test]
async fn synthetic_cluster_pages_like_a_big_one() {
    let server = Stub::new()
        .objects(synth::cluster(300, 12))
        .start()
        .await
        .unwrap();
    let c = client(&server).await;
    let (names, _) = page_through(
        &Api::<Pod>::all(c.clone()),
        ListParams::default().limit(100),
    )
    .await;
    assert_eq!(names.len(), 300);
    assert_eq!(server.count(|r| r.path == "/api/v1/pods"), 3);
    let failed = Api::<Event>::all(c.clone())
        .list(&ListParams::default().fields("reason=Failed,type=Warning"))
        .await
        .unwrap();
    let forbidden = failed
        .items
        .iter()
        .filter(|e| {
            e.message
                .as_deref()
                .is_some_and(|m| m.contains(synth::FAILING_IMAGE) && m.contains("403 Forbidden"))
        })
        .count();
    assert_eq!(forbidden, 12);
    let stuck = Api::<Pod>::namespaced(c.clone(), synth::FAILING_NAMESPACE)
        .list(
            &ListParams::default()
                .labels("app=ui")
                .fields("status.phase=Pending"),
        )
        .await
        .unwrap();
    assert_eq!(stuck.items.len(), 12);
    let waiting = stuck.items[0]
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0]
        .state
        .as_ref()
        .unwrap()
        .waiting
        .as_ref()
        .unwrap()
        .reason
        .clone();
    assert_eq!(waiting.as_deref(), Some("ImagePullBackOff"));
    assert_eq!(
        Api::<Node>::all(c)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        15
    );
    server.shutdown().await;
}
