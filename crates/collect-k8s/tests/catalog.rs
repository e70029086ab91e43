//! The Kubernetes half of the fact-kind catalog (`crates/core/catalog/k8s.json`):
//! generated here, where `k8s-openapi` already is, from the OpenAPI definitions it
//! carries (through its `schemars` feature), so that `rulerun-core` embeds a
//! compact data file instead of depending on `k8s-openapi`.
//!
//! `UPDATE_EXPECT=1 cargo test -p rulerun-collect-k8s --test catalog` rewrites the
//! file; without it the test fails when the committed file is stale. The kinds
//! are every resource of [`rulerun_collect_k8s::declare::RESOURCES`] (collected)
//! plus [`SNAPSHOT_ONLY`] (read from snapshots only), so the catalog and the
//! collector cannot disagree.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use k8s_openapi::api::{apps, autoscaling, batch, core, networking, policy, rbac, storage};
use k8s_openapi::schemars::{JsonSchema, SchemaGenerator};
use rulerun_collect_k8s::declare::RESOURCES;
use serde_json::{Map, Value, json};

type Gen = fn(&mut SchemaGenerator) -> Value;

fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Value {
    g.subschema_for::<T>().to_value()
}

/// The k8s-openapi type of every kind the catalog has.
fn types() -> Vec<(&'static str, Gen)> {
    vec![
        ("k8s/v1/Pod", schema::<core::v1::Pod>),
        ("k8s/v1/Event", schema::<core::v1::Event>),
        ("k8s/v1/Node", schema::<core::v1::Node>),
        ("k8s/v1/Namespace", schema::<core::v1::Namespace>),
        ("k8s/v1/ServiceAccount", schema::<core::v1::ServiceAccount>),
        ("k8s/apps/v1/ReplicaSet", schema::<apps::v1::ReplicaSet>),
        ("k8s/apps/v1/Deployment", schema::<apps::v1::Deployment>),
        ("k8s/apps/v1/StatefulSet", schema::<apps::v1::StatefulSet>),
        ("k8s/apps/v1/DaemonSet", schema::<apps::v1::DaemonSet>),
        ("k8s/batch/v1/Job", schema::<batch::v1::Job>),
        ("k8s/batch/v1/CronJob", schema::<batch::v1::CronJob>),
        // Snapshot-only.
        ("k8s/v1/ConfigMap", schema::<core::v1::ConfigMap>),
        ("k8s/v1/Service", schema::<core::v1::Service>),
        (
            "k8s/v1/PersistentVolume",
            schema::<core::v1::PersistentVolume>,
        ),
        (
            "k8s/v1/PersistentVolumeClaim",
            schema::<core::v1::PersistentVolumeClaim>,
        ),
        ("k8s/v1/ResourceQuota", schema::<core::v1::ResourceQuota>),
        ("k8s/v1/LimitRange", schema::<core::v1::LimitRange>),
        (
            "k8s/networking.k8s.io/v1/Ingress",
            schema::<networking::v1::Ingress>,
        ),
        (
            "k8s/networking.k8s.io/v1/NetworkPolicy",
            schema::<networking::v1::NetworkPolicy>,
        ),
        (
            "k8s/rbac.authorization.k8s.io/v1/Role",
            schema::<rbac::v1::Role>,
        ),
        (
            "k8s/rbac.authorization.k8s.io/v1/RoleBinding",
            schema::<rbac::v1::RoleBinding>,
        ),
        (
            "k8s/rbac.authorization.k8s.io/v1/ClusterRole",
            schema::<rbac::v1::ClusterRole>,
        ),
        (
            "k8s/rbac.authorization.k8s.io/v1/ClusterRoleBinding",
            schema::<rbac::v1::ClusterRoleBinding>,
        ),
        (
            "k8s/autoscaling/v2/HorizontalPodAutoscaler",
            schema::<autoscaling::v2::HorizontalPodAutoscaler>,
        ),
        (
            "k8s/policy/v1/PodDisruptionBudget",
            schema::<policy::v1::PodDisruptionBudget>,
        ),
        (
            "k8s/storage.k8s.io/v1/StorageClass",
            schema::<storage::v1::StorageClass>,
        ),
    ]
}

/// Kinds rulerun reads from snapshots but never collects (Secrets are left out on
/// purpose: rulerun never reads Secret data).
const SNAPSHOT_ONLY: &[&str] = &[
    "k8s/v1/ConfigMap",
    "k8s/v1/ResourceQuota",
    "k8s/v1/LimitRange",
    "k8s/networking.k8s.io/v1/NetworkPolicy",
    "k8s/rbac.authorization.k8s.io/v1/Role",
    "k8s/rbac.authorization.k8s.io/v1/RoleBinding",
    "k8s/rbac.authorization.k8s.io/v1/ClusterRole",
    "k8s/rbac.authorization.k8s.io/v1/ClusterRoleBinding",
    "k8s/autoscaling/v2/HorizontalPodAutoscaler",
    "k8s/policy/v1/PodDisruptionBudget",
    "k8s/storage.k8s.io/v1/StorageClass",
];

const DEFS: &str = "#/$defs/";

/// A JSON Schema of k8s-openapi to the catalog's shape language: `$ref` to a
/// named shape, `object` with `properties` (closed) and/or `additionalProperties`,
/// `array` with `items`, scalars, and `{}` for anything else (int-or-string,
/// raw extensions, untyped objects).
fn shape(s: &Value) -> Value {
    let Some(o) = s.as_object() else {
        return json!({});
    };
    if let Some(r) = o.get("$ref").and_then(Value::as_str) {
        return json!({"$ref": r.strip_prefix(DEFS).unwrap_or(r)});
    }
    match o.get("type").and_then(Value::as_str) {
        Some("object") => {
            let props = o.get("properties").and_then(Value::as_object);
            let extra = o.get("additionalProperties");
            if props.is_none() && extra.is_none() {
                return json!({});
            }
            let mut out = Map::new();
            out.insert("type".into(), json!("object"));
            if let Some(props) = props {
                let p: Map<String, Value> =
                    props.iter().map(|(k, v)| (k.clone(), shape(v))).collect();
                out.insert("properties".into(), Value::Object(p));
            }
            match extra {
                Some(Value::Bool(b)) => {
                    out.insert("additionalProperties".into(), json!(b));
                }
                Some(v) => {
                    out.insert("additionalProperties".into(), shape(v));
                }
                None => {}
            }
            Value::Object(out)
        }
        Some("array") => {
            json!({"type": "array", "items": o.get("items").map(shape).unwrap_or(json!({}))})
        }
        Some(t @ ("string" | "integer" | "number" | "boolean")) => json!({"type": t}),
        _ => json!({}),
    }
}

fn generate() -> String {
    let mut g = SchemaGenerator::default();
    let mut kinds = Map::new();
    for (kind, gen_fn) in types() {
        let root = gen_fn(&mut g);
        let mut entry = Map::new();
        entry.insert("shape".into(), shape(&root));
        if SNAPSHOT_ONLY.contains(&kind) {
            entry.insert("snapshotOnly".into(), json!(true));
        }
        kinds.insert(kind.to_string(), Value::Object(entry));
    }
    let defs: BTreeMap<String, Value> = g
        .definitions()
        .iter()
        .map(|(k, v)| (k.clone(), shape(v)))
        .collect();
    let doc = json!({
        "//": "Generated by `UPDATE_EXPECT=1 cargo test -p rulerun-collect-k8s --test catalog` from k8s-openapi (v1_33). Do not edit.",
        "kinds": kinds,
        "shapes": defs,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    text
}

fn catalog_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../core/catalog/k8s.json")
}

#[test]
fn the_committed_kubernetes_catalog_is_generated_from_k8s_openapi() {
    expect_test::expect_file![catalog_file()].assert_eq(&generate());
}

#[test]
fn every_collected_kind_is_in_the_catalog_and_every_other_is_snapshot_only() {
    let collected: BTreeSet<&str> = RESOURCES.iter().map(|r| r.kind).collect();
    let typed: BTreeSet<&str> = types().iter().map(|(k, _)| *k).collect();
    for k in &collected {
        assert!(
            typed.contains(k),
            "the collector reads `{k}`, which the catalog generator has no k8s-openapi type for"
        );
        assert!(!SNAPSHOT_ONLY.contains(k), "`{k}` is collected");
    }
    for k in &typed {
        assert!(
            collected.contains(k) || SNAPSHOT_ONLY.contains(k),
            "the catalog lists `{k}`, which no collector reads and is not snapshot-only"
        );
    }
    // The catalog core embeds says the same.
    let catalog = rulerun_core::catalog::builtin();
    let k8s: Vec<_> = catalog
        .kinds()
        .filter(|k| k.name.starts_with("k8s/"))
        .collect();
    for k in &k8s {
        assert_eq!(
            k.snapshot_only,
            !collected.contains(k.name.as_str()),
            "`{}`: snapshot-only in the catalog exactly when the collector does not read it",
            k.name
        );
    }
    assert_eq!(k8s.len(), typed.len());
    // Each resource's apiVersion/kind names its fact kind.
    for r in RESOURCES {
        assert_eq!(
            rulerun_core::facts::k8s_kind(&r.api_version(), r.object_kind),
            r.kind
        );
    }
}

fn fixture_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{} is not readable: {e}", dir.display()));
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            fixture_files(&p, out);
        } else if p.components().any(|c| c.as_os_str() == "fixtures") {
            out.push(p);
        }
    }
}

#[test]
fn every_kubernetes_fact_of_the_rule_fixtures_has_the_catalog_shape() {
    let mut files = Vec::new();
    fixture_files(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules"),
        &mut files,
    );
    files.sort();
    let c = rulerun_core::catalog::builtin();
    let mut checked = 0;
    for f in &files {
        let facts = rulerun_core::FactStore::load_path(f)
            .unwrap_or_else(|e| panic!("{}: {e:?}", f.display()));
        for (kind, docs) in facts.iter() {
            if !kind.starts_with("k8s/") {
                continue;
            }
            let k = c
                .kind(kind)
                .unwrap_or_else(|| panic!("{}: `{kind}` is not in the catalog", f.display()));
            for doc in docs {
                if let Err(e) = c.conforms(&k.shape, doc) {
                    panic!(
                        "{}: a `{kind}` document does not have the catalog's shape: {e}",
                        f.display()
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} Kubernetes facts in the fixtures"
    );
}
