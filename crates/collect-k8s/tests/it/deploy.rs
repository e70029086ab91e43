//! The kustomize base in `deploy/`: every manifest parses as its Kubernetes type
//! strictly (re-serialized, it is the input: a misspelled or misplaced field
//! would be dropped by the type and fail), the ClusterRoles are the generated
//! ones (`UPDATE_EXPECT=1` rewrites them), and the CronJob runs rulerun locked
//! down.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("`{}` is missing: {e}", path.display()));
    rulerun_core::yaml::parse(&text)
        .unwrap_or_else(|e| panic!("`{}`: {e:?}", path.display()))
        .to_json()
}

/// `doc` as `T`, checked to lose nothing on the way back.
fn strict<T: DeserializeOwned + Serialize>(doc: &Value, file: &str) -> T {
    let typed: T = serde_json::from_value(doc.clone())
        .unwrap_or_else(|e| panic!("`{file}` is not a valid object of its kind: {e}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        &back, doc,
        "`{file}` has fields its type does not know (misspelled or misplaced)"
    );
    typed
}

/// The ClusterRole file `name` holds exactly `generated` (`UPDATE_EXPECT=1`
/// rewrites it).
fn generated_role(name: &str, generated: &str) -> ClusterRole {
    let path = deploy().join(name);
    expect_test::expect_file![&path].assert_eq(generated);
    strict(&yaml(&path), name)
}

#[test]
fn every_manifest_is_a_strict_kubernetes_object_and_the_roles_are_generated() {
    let reader = generated_role(
        "clusterrole-reader.yaml",
        &rulerun_collect_k8s::declare::cluster_role_yaml(),
    );
    let writer = generated_role(
        "clusterrole-report-writer.yaml",
        &rulerun_collect_k8s::publish::cluster_role_yaml(),
    );
    let kustomization = yaml(&deploy().join("kustomization.yaml"));
    assert_eq!(kustomization["kind"], "Kustomization");
    assert_eq!(kustomization["namespace"], "rulerun");
    let listed: BTreeSet<String> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(deploy())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    assert_eq!(listed, on_disk, "every manifest is a resource of the base");

    let mut sa_name = None;
    let mut bindings = Vec::new();
    let mut cronjob = None;
    let mut configmap = None;
    for file in &on_disk {
        let doc = yaml(&deploy().join(file));
        match doc["kind"].as_str().unwrap() {
            "Namespace" => {
                let ns: Namespace = strict(&doc, file);
                assert_eq!(ns.metadata.name.as_deref(), Some("rulerun"));
                let labels = ns.metadata.labels.unwrap();
                assert_eq!(labels["pod-security.kubernetes.io/enforce"], "restricted");
            }
            "ServiceAccount" => {
                let sa: ServiceAccount = strict(&doc, file);
                let ann = sa.metadata.annotations.clone().unwrap();
                assert!(ann["eks.amazonaws.com/role-arn"].starts_with("arn:aws:iam::"));
                sa_name = sa.metadata.name;
            }
            "ClusterRole" => {
                let _: ClusterRole = strict(&doc, file);
            }
            "ClusterRoleBinding" => bindings.push(strict::<ClusterRoleBinding>(&doc, file)),
            "ConfigMap" => configmap = Some(strict::<ConfigMap>(&doc, file)),
            "CronJob" => cronjob = Some(strict::<CronJob>(&doc, file)),
            other => panic!("`{file}`: unexpected kind {other}"),
        }
    }
    let sa_name = sa_name.expect("a ServiceAccount");

    // Both roles bound to the service account.
    let mut bound: Vec<String> = bindings
        .iter()
        .map(|b| {
            let s = &b.subjects.as_ref().unwrap()[0];
            assert_eq!(
                (s.kind.as_str(), s.name.as_str()),
                ("ServiceAccount", sa_name.as_str())
            );
            assert_eq!(s.namespace.as_deref(), Some("rulerun"));
            assert_eq!(b.role_ref.kind, "ClusterRole");
            b.role_ref.name.clone()
        })
        .collect();
    bound.sort();
    let mut roles = vec![reader.metadata.name.unwrap(), writer.metadata.name.unwrap()];
    roles.sort();
    assert_eq!(bound, roles);

    // The configuration rulerun reads: a valid rulerun.yaml, mounted where it runs.
    let configmap = configmap.expect("a ConfigMap");
    let data = configmap.data.unwrap();
    let config = rulerun_core::yaml::parse(&data["rulerun.yaml"])
        .unwrap()
        .to_json();
    assert_eq!(config["version"], 1);

    let cronjob = cronjob.expect("a CronJob");
    let spec = cronjob.spec.unwrap();
    assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
    let job = spec.job_template.spec.unwrap();
    assert!(job.active_deadline_seconds.is_some(), "a run is bounded");
    let pod = job.template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some(sa_name.as_str()));
    let psc = pod.security_context.unwrap();
    assert_eq!(psc.run_as_non_root, Some(true));
    assert!(psc.run_as_user.unwrap() > 0);
    assert_eq!(psc.seccomp_profile.unwrap().type_, "RuntimeDefault");
    assert_eq!(pod.containers.len(), 1);
    let c = &pod.containers[0];
    let args = c.args.clone().unwrap();
    assert_eq!(args[0], "check");
    assert!(args.iter().any(|a| a == "--report-to-cluster"), "{args:?}");
    let sc = c.security_context.clone().unwrap();
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.run_as_non_root, Some(true));
    assert!(sc.privileged.is_none());
    let caps = sc.capabilities.unwrap();
    assert_eq!(caps.drop.unwrap(), ["ALL"]);
    assert!(caps.add.is_none());
    let res = c.resources.clone().unwrap();
    for key in ["cpu", "memory"] {
        assert!(
            res.requests.as_ref().unwrap().contains_key(key),
            "request {key}"
        );
        assert!(
            res.limits.as_ref().unwrap().contains_key(key),
            "limit {key}"
        );
    }
    // rulerun.yaml is found in the working folder; /tmp is the one writable place.
    let mounts = c.volume_mounts.clone().unwrap();
    let workdir = c.working_dir.clone().unwrap();
    let config_mount = mounts.iter().find(|m| m.mount_path == workdir).unwrap();
    assert_eq!(config_mount.read_only, Some(true));
    let volumes = pod.volumes.unwrap();
    let config_volume = volumes
        .iter()
        .find(|v| v.name == config_mount.name)
        .unwrap();
    let items = config_volume
        .config_map
        .as_ref()
        .unwrap()
        .items
        .clone()
        .unwrap();
    assert!(
        items
            .iter()
            .any(|i| i.key == "rulerun.yaml" && i.path == "rulerun.yaml")
    );
    let tmp = mounts.iter().find(|m| m.mount_path == "/tmp").unwrap();
    assert!(
        volumes
            .iter()
            .any(|v| v.name == tmp.name && v.empty_dir.is_some())
    );
    // The settings the args and environment read exist.
    for env in c.env.clone().unwrap() {
        if let Some(r) = env.value_from.and_then(|v| v.config_map_key_ref) {
            assert_eq!(r.name, configmap.metadata.name.clone().unwrap());
            assert!(data.contains_key(&r.key), "{}", r.key);
        }
    }
}
