//! Server-side apply and delete of custom resources, and CRD presence.

use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use kube::{Api, Client, ResourceExt};
use rulerun_kube_stub::{Stub, StubServer};
use serde_json::{Value, json};

use crate::{api_error, client, raw};

/// A minimal CustomResourceDefinition of `plural.group`, serving `version`.
fn crd(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {
            "group": group,
            "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
            "scope": if namespaced { "Namespaced" } else { "Cluster" },
            "versions": [{"name": version, "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    })
}

fn openreports_crds() -> Vec<Value> {
    vec![
        crd("openreports.io", "v1alpha1", "Report", "reports", true),
        crd(
            "openreports.io",
            "v1alpha1",
            "ClusterReport",
            "clusterreports",
            false,
        ),
    ]
}

fn reports(c: &Client, ns: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "openreports.io",
        "v1alpha1",
        "Report",
    ));
    Api::namespaced_with(c.clone(), ns, &ar)
}

fn report(name: &str, results: Value) -> Value {
    json!({
        "apiVersion": "openreports.io/v1alpha1", "kind": "Report",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "rulerun"}},
        "source": "rulerun",
        "results": results,
        "summary": {"fail": results.as_array().map_or(0, Vec::len)}
    })
}

async fn start(objects: Vec<Value>) -> (StubServer, Client) {
    let server = Stub::new().objects(objects).start().await.unwrap();
    let c = client(&server).await;
    (server, c)
}

#[tokio::test]
async fn apply_creates_then_updates_and_delete_removes() {
    let (server, c) = start(openreports_crds()).await;
    let api = reports(&c, "shop");
    let pp = PatchParams::apply("rulerun");
    let first = api
        .patch(
            "rulerun",
            &pp,
            &Patch::Apply(report("rulerun", json!([{"rule": "a"}, {"rule": "b"}]))),
        )
        .await
        .unwrap();
    let uid = first.uid().unwrap();
    assert_eq!(first.namespace().as_deref(), Some("shop"));
    assert_eq!(first.metadata.generation, Some(1));
    assert!(first.metadata.creation_timestamp.is_some());
    let mf = first.metadata.managed_fields.clone().unwrap();
    assert_eq!(mf.len(), 1);
    assert_eq!(mf[0].manager.as_deref(), Some("rulerun"));
    assert_eq!(mf[0].operation.as_deref(), Some("Apply"));
    let rv1: u64 = first.resource_version().unwrap().parse().unwrap();

    // Applying the same again changes nothing.
    let same = api
        .patch(
            "rulerun",
            &pp,
            &Patch::Apply(report("rulerun", json!([{"rule": "a"}, {"rule": "b"}]))),
        )
        .await
        .unwrap();
    assert_eq!(same.resource_version(), first.resource_version());

    // One result fewer: the same object (uid), a new resourceVersion and generation.
    let second = api
        .patch(
            "rulerun",
            &pp,
            &Patch::Apply(report("rulerun", json!([{"rule": "a"}]))),
        )
        .await
        .unwrap();
    assert_eq!(second.uid().unwrap(), uid);
    assert!(second.resource_version().unwrap().parse::<u64>().unwrap() > rv1);
    assert_eq!(second.metadata.generation, Some(2));
    assert_eq!(second.data["results"], json!([{"rule": "a"}]));
    assert_eq!(second.data["summary"], json!({"fail": 1}));

    // Listed by label; a raw GET keeps kind and apiVersion.
    let lp = ListParams::default().labels("app.kubernetes.io/managed-by=rulerun");
    let listed = Api::<DynamicObject>::all_with(
        c.clone(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk(
            "openreports.io",
            "v1alpha1",
            "Report",
        )),
    )
    .list(&lp)
    .await
    .unwrap();
    assert_eq!(listed.items.len(), 1);
    let got = raw(
        &c,
        "/apis/openreports.io/v1alpha1/namespaces/shop/reports/rulerun",
    )
    .await
    .unwrap();
    assert_eq!(got["kind"], "Report");

    // Delete: a Success Status naming the object; then 404 (Status) for both.
    let gone = api
        .delete("rulerun", &DeleteParams::default())
        .await
        .unwrap();
    let status = gone.right().expect("a Status, as for custom resources");
    let details = status.details.unwrap();
    assert_eq!(
        (details.name.as_str(), details.uid.as_str()),
        ("rulerun", uid.as_str())
    );
    assert_eq!(details.kind, "reports");
    let s = api_error(api.get("rulerun").await);
    assert_eq!(
        (s.code, s.message.as_str()),
        (404, "reports.openreports.io \"rulerun\" not found")
    );
    let s = api_error(api.delete("rulerun", &DeleteParams::default()).await);
    assert_eq!((s.code, s.reason.as_str()), (404, "NotFound"));

    let log: Vec<String> = server.requests().iter().map(ToString::to_string).collect();
    for line in &log {
        println!("{line}");
    }
    let applies: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(
        applies.iter().map(|r| r.status).collect::<Vec<_>>(),
        [201, 200, 200]
    );
    for r in &applies {
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/apply-patch+yaml")
        );
        assert_eq!(r.param("fieldManager"), Some("rulerun"));
    }
    assert!(
        log.iter().any(|l| l
            .starts_with("DELETE /apis/openreports.io/v1alpha1/namespaces/shop/reports/rulerun")
            && l.ends_with("-> 200")),
        "{log:#?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn apply_needs_a_field_manager_and_the_url_name() {
    let (server, c) = start(openreports_crds()).await;
    let path = "/apis/openreports.io/v1alpha1/namespaces/shop/reports/rulerun";
    let send = |path: &str, body: &Value| {
        http::Request::patch(path)
            .header("content-type", "application/apply-patch+yaml")
            .body(serde_json::to_vec(body).unwrap())
            .unwrap()
    };
    let s = api_error(
        c.request::<Value>(send(path, &report("rulerun", json!([]))))
            .await,
    );
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
    assert!(
        s.message.contains("fieldManager: Required value"),
        "{}",
        s.message
    );
    let with_manager = format!("{path}?fieldManager=rulerun");
    let s = api_error(
        c.request::<Value>(send(&with_manager, &report("other", json!([]))))
            .await,
    );
    assert_eq!(s.code, 400);
    assert!(
        s.message.contains("does not match the name on the URL"),
        "{}",
        s.message
    );
    // A merge patch is not emulated.
    let merge = http::Request::patch(&with_manager)
        .header("content-type", "application/merge-patch+json")
        .body(b"{}".to_vec())
        .unwrap();
    assert_eq!(api_error(c.request::<Value>(merge).await).code, 415);
    assert_eq!(server.count(|r| r.method == "PATCH"), 3);
    server.shutdown().await;
}

#[tokio::test]
async fn another_managers_fields_conflict_unless_forced() {
    let (server, c) = start(openreports_crds()).await;
    let api = reports(&c, "shop");
    let mut theirs = report("shared", json!([{"rule": "k"}]));
    theirs["source"] = json!("kyverno");
    api.patch(
        "shared",
        &PatchParams::apply("kyverno"),
        &Patch::Apply(theirs),
    )
    .await
    .unwrap();
    let mine = report("shared", json!([{"rule": "r"}]));
    let s = api_error(
        api.patch(
            "shared",
            &PatchParams::apply("rulerun"),
            &Patch::Apply(mine.clone()),
        )
        .await,
    );
    assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
    assert!(s.message.starts_with("Apply failed with"), "{}", s.message);
    assert!(
        s.message.contains("conflict with \"kyverno\""),
        "{}",
        s.message
    );
    let forced = api
        .patch(
            "shared",
            &PatchParams::apply("rulerun").force(),
            &Patch::Apply(mine),
        )
        .await
        .unwrap();
    assert_eq!(forced.data["source"], "rulerun");
    let managers: Vec<_> = forced
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    // kyverno keeps the label it set to the same value.
    assert_eq!(managers, ["kyverno", "rulerun"]);
    server.shutdown().await;
}

#[tokio::test]
async fn custom_resources_exist_only_with_their_crd() {
    let (server, c) = start(vec![]).await;
    for p in [
        "/apis/openreports.io",
        "/apis/openreports.io/v1alpha1",
        "/apis/openreports.io/v1alpha1/reports",
        "/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports",
    ] {
        let s = api_error(raw(&c, p).await);
        assert_eq!(s.code, 404, "{p}");
    }
    let s = api_error(
        reports(&c, "shop")
            .patch(
                "rulerun",
                &PatchParams::apply("rulerun"),
                &Patch::Apply(report("rulerun", json!([]))),
            )
            .await,
    );
    assert_eq!(s.code, 404);
    let groups = raw(&c, "/apis").await.unwrap();
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["apps", "batch", "networking.k8s.io", "apiextensions.k8s.io"]
    );
    server.shutdown().await;

    let mut objects = openreports_crds();
    objects.push(crd(
        "wgpolicyk8s.io",
        "v1alpha2",
        "PolicyReport",
        "policyreports",
        true,
    ));
    let (server, c) = start(objects).await;
    let discovery = kube::Discovery::new(c.clone()).run().await.unwrap();
    let (ar, caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk(
            "openreports.io",
            "v1alpha1",
            "ClusterReport",
        ))
        .unwrap();
    assert_eq!(ar.plural, "clusterreports");
    assert_eq!(caps.scope, kube::discovery::Scope::Cluster);
    assert!(
        discovery
            .resolve_gvk(&GroupVersionKind::gvk(
                "wgpolicyk8s.io",
                "v1alpha2",
                "PolicyReport"
            ))
            .is_some()
    );
    // Only the CRDs that are there.
    assert!(
        discovery
            .resolve_gvk(&GroupVersionKind::gvk(
                "wgpolicyk8s.io",
                "v1alpha2",
                "ClusterPolicyReport"
            ))
            .is_none()
    );
    let list = raw(&c, "/apis/wgpolicyk8s.io/v1alpha2").await.unwrap();
    assert_eq!(list["resources"].as_array().unwrap().len(), 1);
    let crds = raw(
        &c,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    )
    .await
    .unwrap();
    assert_eq!(crds["items"].as_array().unwrap().len(), 3);
    server.shutdown().await;
}

#[tokio::test]
async fn a_custom_resource_without_its_crd_is_not_a_fixture() {
    let err = Stub::new()
        .objects([report("rulerun", json!([]))])
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("reports.openreports.io"), "{err}");
}

#[tokio::test]
async fn writes_honour_forbid() {
    let server = Stub::new()
        .objects(openreports_crds())
        .forbid("create", "reports", Some("shop"))
        .forbid("delete", "reports", None)
        .start()
        .await
        .unwrap();
    let c = client(&server).await;
    let pp = PatchParams::apply("rulerun");
    let s = api_error(
        reports(&c, "shop")
            .patch("rulerun", &pp, &Patch::Apply(report("rulerun", json!([]))))
            .await,
    );
    assert_eq!(s.code, 403);
    assert!(
        s.message
            .contains("cannot create resource \"reports\" in API group \"openreports.io\""),
        "{}",
        s.message
    );
    reports(&c, "other")
        .patch("rulerun", &pp, &Patch::Apply(report("rulerun", json!([]))))
        .await
        .unwrap();
    let s = api_error(
        reports(&c, "other")
            .delete("rulerun", &DeleteParams::default())
            .await,
    );
    assert_eq!(s.code, 403);
    server.shutdown().await;
}
