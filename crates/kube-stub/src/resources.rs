//! The resource types the stub serves and the discovery documents that describe them.

use serde_json::{Value, json};

/// Verbs the real API server lists for an ordinary namespaced or cluster-scoped resource.
const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// Verbs of `namespaces` (no `deletecollection`).
const NAMESPACE_VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

/// A field selector label a resource supports besides `metadata.name` and
/// `metadata.namespace`: the label, the JSON path it reads, and the value a missing
/// field compares as.
#[derive(Debug)]
pub(crate) struct FieldLabel {
    pub label: &'static str,
    pub path: &'static str,
    pub default: &'static str,
}

const fn field(label: &'static str, path: &'static str, default: &'static str) -> FieldLabel {
    FieldLabel {
        label,
        path,
        default,
    }
}

/// One served resource type.
#[derive(Debug)]
pub(crate) struct Resource {
    pub group: &'static str,
    pub version: &'static str,
    /// Plural name as in URLs (`pods`).
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    /// Field selector labels beyond `metadata.name`/`metadata.namespace`, as the real
    /// server registers them for this resource.
    pub fields: &'static [FieldLabel],
}

impl Resource {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The resource as the real server names it in messages: `pods`, `deployments.apps`.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The `APIResource` entry of the legacy discovery document.
    fn discovery_entry(&self) -> Value {
        let mut r = json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": self.verbs,
        });
        if !self.short_names.is_empty() {
            r["shortNames"] = json!(self.short_names);
        }
        if !self.categories.is_empty() {
            r["categories"] = json!(self.categories);
        }
        r
    }

    /// The `APIResourceDiscovery` entry of the aggregated discovery document.
    fn aggregated_entry(&self) -> Value {
        let mut r = json!({
            "resource": self.plural,
            "responseKind": {"group": self.group, "version": self.version, "kind": self.kind},
            "scope": if self.namespaced { "Namespaced" } else { "Cluster" },
            "singularResource": self.singular,
            "verbs": self.verbs,
        });
        if !self.short_names.is_empty() {
            r["shortNames"] = json!(self.short_names);
        }
        if !self.categories.is_empty() {
            r["categories"] = json!(self.categories);
        }
        r
    }
}

const NO_FIELDS: &[FieldLabel] = &[];

/// Every resource the stub serves, core group first.
pub(crate) static RESOURCES: &[Resource] = &[
    Resource {
        group: "",
        version: "v1",
        plural: "configmaps",
        singular: "configmap",
        kind: "ConfigMap",
        namespaced: true,
        short_names: &["cm"],
        categories: &[],
        verbs: VERBS,
        fields: NO_FIELDS,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "endpoints",
        singular: "endpoints",
        kind: "Endpoints",
        namespaced: true,
        short_names: &["ep"],
        categories: &[],
        verbs: VERBS,
        fields: NO_FIELDS,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "events",
        singular: "event",
        kind: "Event",
        namespaced: true,
        short_names: &["ev"],
        categories: &[],
        verbs: VERBS,
        fields: &[
            field("involvedObject.kind", "involvedObject.kind", ""),
            field("involvedObject.namespace", "involvedObject.namespace", ""),
            field("involvedObject.name", "involvedObject.name", ""),
            field("involvedObject.uid", "involvedObject.uid", ""),
            field("involvedObject.apiVersion", "involvedObject.apiVersion", ""),
            field(
                "involvedObject.resourceVersion",
                "involvedObject.resourceVersion",
                "",
            ),
            field("involvedObject.fieldPath", "involvedObject.fieldPath", ""),
            field("reason", "reason", ""),
            field("reportingComponent", "reportingComponent", ""),
            field("source", "source.component", ""),
            field("type", "type", ""),
        ],
    },
    Resource {
        group: "",
        version: "v1",
        plural: "limitranges",
        singular: "limitrange",
        kind: "LimitRange",
        namespaced: true,
        short_names: &["limits"],
        categories: &[],
        verbs: VERBS,
        fields: NO_FIELDS,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "namespaces",
        singular: "namespace",
        kind: "Namespace",
        namespaced: false,
        short_names: &["ns"],
        categories: &[],
        verbs: NAMESPACE_VERBS,
        fields: &[field("status.phase", "status.phase", "")],
    },
    Resource {
        group: "",
        version: "v1",
        plural: "nodes",
        singular: "node",
        kind: "Node",
        namespaced: false,
        short_names: &["no"],
        categories: &[],
        verbs: VERBS,
        fields: &[field("spec.unschedulable", "spec.unschedulable", "false")],
    },
    Resource {
        group: "",
        version: "v1",
        plural: "persistentvolumeclaims",
        singular: "persistentvolumeclaim",
        kind: "PersistentVolumeClaim",
        namespaced: true,
        short_names: &["pvc"],
        categories: &[],
        verbs: VERBS,
        fields: NO_FIELDS,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "persistentvolumes",
        singular: "persistentvolume",
        kind: "PersistentVolume",
        namespaced: false,
        short_names: &["pv"],
        categories: &[],
        verbs: VERBS,
        fields: NO_FIELDS,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "pods",
        singular: "pod",
        kind: "Pod",
        namespaced: true,
        short_names: &["po"],
        categories: &["all"],
        verbs: VERBS,
        fields: &[
            field("spec.nodeName", "spec.nodeName", ""),
            field("spec.restartPolicy", "spec.restartPolicy", ""),
            field("spec.schedulerName", "spec.schedulerName", ""),
            field("spec.serviceAccountName", "spec.serviceAccountName", ""),
            field("spec.hostNetwork", "spec.hostNetwork", "false"),
            field("status.phase", "status.phase", ""),
            field("status.podIP", "status.podIP", ""),
            field("status.nominatedNodeName", "status.nominatedNodeName", ""),
        ],
    },
    Resource {
        group: "",
        version: "v1",
        plural: "resourcequotas",
        singular: "resourcequota",
        kind: "ResourceQuota",
        namespaced: true,
        short_names: &["quota"],
        categories: &[],
        verbs: VERBS,
        fields: NO_FIELDS,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "secrets",
        singular: "secret",
        kind: "Secret",
        namespaced: true,
        short_names: &[],
        categories: &[],
        verbs: VERBS,
        fields: &[field("type", "type", "")],
    },
    Resource {
        group: "",
        version: "v1",
        plural: "serviceaccounts",
        singular: "serviceaccount",
        kind: "ServiceAccount",
        namespaced: true,
        short_names: &["sa"],
        categories: &[],
        verbs: VERBS,
        fields: NO_FIELDS,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "services",
        singular: "service",
        kind: "Service",
        namespaced: true,
        short_names: &["svc"],
        categories: &["all"],
        verbs: VERBS,
        fields: NO_FIELDS,
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "daemonsets",
        singular: "daemonset",
        kind: "DaemonSet",
        namespaced: true,
        short_names: &["ds"],
        categories: &["all"],
        verbs: VERBS,
        fields: NO_FIELDS,
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "deployments",
        singular: "deployment",
        kind: "Deployment",
        namespaced: true,
        short_names: &["deploy"],
        categories: &["all"],
        verbs: VERBS,
        fields: NO_FIELDS,
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "replicasets",
        singular: "replicaset",
        kind: "ReplicaSet",
        namespaced: true,
        short_names: &["rs"],
        categories: &["all"],
        verbs: VERBS,
        fields: &[field("status.replicas", "status.replicas", "0")],
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "statefulsets",
        singular: "statefulset",
        kind: "StatefulSet",
        namespaced: true,
        short_names: &["sts"],
        categories: &["all"],
        verbs: VERBS,
        fields: NO_FIELDS,
    },
    Resource {
        group: "batch",
        version: "v1",
        plural: "cronjobs",
        singular: "cronjob",
        kind: "CronJob",
        namespaced: true,
        short_names: &["cj"],
        categories: &["all"],
        verbs: VERBS,
        fields: NO_FIELDS,
    },
    Resource {
        group: "batch",
        version: "v1",
        plural: "jobs",
        singular: "job",
        kind: "Job",
        namespaced: true,
        short_names: &[],
        categories: &["all"],
        verbs: VERBS,
        fields: &[field("status.successful", "status.succeeded", "0")],
    },
];

/// The API groups under `/apis`, in the order the server lists them.
const GROUPS: &[&str] = &["apps", "batch"];

/// The index in [`RESOURCES`] of the resource of `api_version` and `kind`.
pub(crate) fn by_kind(api_version: &str, kind: &str) -> Option<usize> {
    RESOURCES
        .iter()
        .position(|r| r.kind == kind && r.api_version() == api_version)
}

/// The index in [`RESOURCES`] of `plural` in `group`/`version`.
pub(crate) fn by_plural(group: &str, version: &str, plural: &str) -> Option<usize> {
    RESOURCES
        .iter()
        .position(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Whether `group`/`version` is served.
pub(crate) fn serves_group_version(group: &str, version: &str) -> bool {
    RESOURCES
        .iter()
        .any(|r| r.group == group && r.version == version)
}

/// `/version` of an EKS 1.31 control plane.
pub(crate) fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "31+",
        "gitVersion": "v1.31.4-eks-2d5f260",
        "gitCommit": "bd1ba0e0e4e5e7ba4d8fa1bd3a8b2bb2d4de0b3b",
        "gitTreeState": "clean",
        "buildDate": "2024-12-12T21:04:07Z",
        "goVersion": "go1.22.9",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// `/api`: the core group's versions.
pub(crate) fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

fn group_entry(group: &str) -> Value {
    let gv = json!({"groupVersion": format!("{group}/v1"), "version": "v1"});
    json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
}

/// `/apis`: the named groups.
pub(crate) fn group_list() -> Value {
    json!({
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": GROUPS.iter().map(|g| group_entry(g)).collect::<Vec<_>>()
    })
}

/// `/apis/{group}`, if served.
pub(crate) fn group(group: &str) -> Option<Value> {
    if !GROUPS.contains(&group) {
        return None;
    }
    let mut g = group_entry(group);
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    Some(g)
}

/// `/api/v1` or `/apis/{group}/{version}`, if served.
pub(crate) fn resource_list(group: &str, version: &str) -> Option<Value> {
    if !serves_group_version(group, version) {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .map(Resource::discovery_entry)
        .collect();
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources
    }))
}

/// The aggregated discovery document (`apidiscovery.k8s.io/v2`) of `/api` (`core`)
/// or `/apis`.
pub(crate) fn aggregated(core: bool) -> Value {
    let groups: Vec<&str> = if core { vec![""] } else { GROUPS.to_vec() };
    let items: Vec<Value> = groups
        .iter()
        .map(|g| {
            let resources: Vec<Value> = RESOURCES
                .iter()
                .filter(|r| r.group == *g)
                .map(Resource::aggregated_entry)
                .collect();
            json!({
                "metadata": {"name": g, "creationTimestamp": null},
                "versions": [{"version": "v1", "resources": resources, "freshness": "Current"}]
            })
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items
    })
}
