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
    /// Whether a CustomResourceDefinition defines it: then it is served only while
    /// the store holds that CRD (named `{plural}.{group}`, serving `version`).
    pub custom: bool,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
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
        custom: false,
    },
    Resource {
        group: "apiextensions.k8s.io",
        version: "v1",
        plural: "customresourcedefinitions",
        singular: "customresourcedefinition",
        kind: "CustomResourceDefinition",
        namespaced: false,
        short_names: &["crd", "crds"],
        categories: &["api-extensions"],
        verbs: VERBS,
        fields: NO_FIELDS,
        custom: false,
    },
    Resource {
        group: "openreports.io",
        version: "v1alpha1",
        plural: "reports",
        singular: "report",
        kind: "Report",
        namespaced: true,
        short_names: &["rep"],
        categories: &[],
        verbs: VERBS,
        fields: NO_FIELDS,
        custom: true,
    },
    Resource {
        group: "openreports.io",
        version: "v1alpha1",
        plural: "clusterreports",
        singular: "clusterreport",
        kind: "ClusterReport",
        namespaced: false,
        short_names: &["creps"],
        categories: &[],
        verbs: VERBS,
        fields: NO_FIELDS,
        custom: true,
    },
    Resource {
        group: "wgpolicyk8s.io",
        version: "v1alpha2",
        plural: "policyreports",
        singular: "policyreport",
        kind: "PolicyReport",
        namespaced: true,
        short_names: &["polr"],
        categories: &[],
        verbs: VERBS,
        fields: NO_FIELDS,
        custom: true,
    },
    Resource {
        group: "wgpolicyk8s.io",
        version: "v1alpha2",
        plural: "clusterpolicyreports",
        singular: "clusterpolicyreport",
        kind: "ClusterPolicyReport",
        namespaced: false,
        short_names: &["cpolr"],
        categories: &[],
        verbs: VERBS,
        fields: NO_FIELDS,
        custom: true,
    },
    Resource {
        group: "networking.k8s.io",
        version: "v1",
        plural: "ingresses",
        singular: "ingress",
        kind: "Ingress",
        namespaced: true,
        short_names: &["ing"],
        categories: &[],
        verbs: VERBS,
        fields: NO_FIELDS,
        custom: false,
    },
];

/// The API groups under `/apis`, in the order the server lists them.
const GROUPS: &[&str] = &[
    "apps",
    "batch",
    "networking.k8s.io",
    "apiextensions.k8s.io",
    "openreports.io",
    "wgpolicyk8s.io",
];

/// The custom resources the store's CustomResourceDefinitions define: a
/// [`Resource`] marked `custom` is served only while its CRD is stored.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Crds {
    /// `(name, served versions)` of each stored CRD.
    defined: Vec<(String, Vec<String>)>,
}

impl Crds {
    /// The CRDs among `objects` (CustomResourceDefinition documents).
    pub fn from_objects<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Self {
        let defined = objects
            .into_iter()
            .filter(|o| {
                o.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition")
                    && o.get("apiVersion").and_then(Value::as_str)
                        == Some("apiextensions.k8s.io/v1")
            })
            .filter_map(|o| {
                let name = o.pointer("/metadata/name")?.as_str()?.to_string();
                let versions = o
                    .pointer("/spec/versions")
                    .and_then(Value::as_array)
                    .map(|vs| {
                        vs.iter()
                            .filter(|v| v.get("served").and_then(Value::as_bool) != Some(false))
                            .filter_map(|v| v.get("name")?.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                Some((name, versions))
            })
            .collect();
        Crds { defined }
    }

    /// Whether `r` is served: a built-in resource always, a custom one while its
    /// CRD is stored and serves its version.
    pub fn serves(&self, r: &Resource) -> bool {
        !r.custom
            || self.defined.iter().any(|(name, versions)| {
                *name == r.qualified() && versions.iter().any(|v| v == r.version)
            })
    }
}

/// The index in [`RESOURCES`] of the resource of `api_version` and `kind`, served
/// or not.
pub(crate) fn by_kind(api_version: &str, kind: &str) -> Option<usize> {
    RESOURCES
        .iter()
        .position(|r| r.kind == kind && r.api_version() == api_version)
}

/// The index in [`RESOURCES`] of `plural` in `group`/`version`, if served.
pub(crate) fn by_plural(crds: &Crds, group: &str, version: &str, plural: &str) -> Option<usize> {
    RESOURCES.iter().position(|r| {
        r.group == group && r.version == version && r.plural == plural && crds.serves(r)
    })
}

/// The served resources of `group`.
fn of_group<'a>(crds: &'a Crds, group: &'a str) -> impl Iterator<Item = &'static Resource> + 'a {
    RESOURCES
        .iter()
        .filter(move |r| r.group == group && crds.serves(r))
}

/// The served version of `group` (each group serves one), if any.
fn group_version(crds: &Crds, group: &str) -> Option<&'static str> {
    of_group(crds, group).next().map(|r| r.version)
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

fn group_entry(group: &str, version: &str) -> Value {
    let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
}

/// The named groups served, with their version.
fn served_groups(crds: &Crds) -> Vec<(&'static str, &'static str)> {
    GROUPS
        .iter()
        .filter_map(|g| group_version(crds, g).map(|v| (*g, v)))
        .collect()
}

/// `/apis`: the named groups.
pub(crate) fn group_list(crds: &Crds) -> Value {
    json!({
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": served_groups(crds).iter().map(|(g, v)| group_entry(g, v)).collect::<Vec<_>>()
    })
}

/// `/apis/{group}`, if served.
pub(crate) fn group(crds: &Crds, group: &str) -> Option<Value> {
    let version = group_version(crds, group)?;
    let mut g = group_entry(group, version);
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    Some(g)
}

/// `/api/v1` or `/apis/{group}/{version}`, if served.
pub(crate) fn resource_list(crds: &Crds, group: &str, version: &str) -> Option<Value> {
    let resources: Vec<Value> = of_group(crds, group)
        .filter(|r| r.version == version)
        .map(Resource::discovery_entry)
        .collect();
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources
    }))
}

/// The aggregated discovery document (`apidiscovery.k8s.io/v2`) of `/api` (`core`)
/// or `/apis`.
pub(crate) fn aggregated(crds: &Crds, core: bool) -> Value {
    let groups: Vec<(&str, &str)> = if core {
        vec![("", "v1")]
    } else {
        served_groups(crds)
    };
    let items: Vec<Value> = groups
        .iter()
        .map(|(g, v)| {
            let resources: Vec<Value> = of_group(crds, g).map(Resource::aggregated_entry).collect();
            json!({
                "metadata": {"name": g, "creationTimestamp": null},
                "versions": [{"version": v, "resources": resources, "freshness": "Current"}]
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
