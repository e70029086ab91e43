//! The Kubernetes resources rulerun reads.

/// A resource rulerun may list or get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// The fact kind, e.g. `k8s/v1/Pod`.
    pub kind: &'static str,
    /// The API group (`""` for core).
    pub group: &'static str,
    /// The version.
    pub version: &'static str,
    /// The object kind.
    pub object_kind: &'static str,
    /// The plural resource name in URLs and RBAC.
    pub plural: &'static str,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
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

    /// The resource as the kube client's dynamic API describes it.
    pub fn api_resource(&self) -> kube::core::ApiResource {
        kube::core::ApiResource {
            group: self.group.to_string(),
            version: self.version.to_string(),
            api_version: self.api_version(),
            kind: self.object_kind.to_string(),
            plural: self.plural.to_string(),
        }
    }

    /// The collection URL path, cluster-wide or in one namespace (ignored for a
    /// cluster-scoped resource), as the kube client's dynamic API builds it; the
    /// namespace is percent-encoded (the fetcher refuses one that is empty, `.`,
    /// `..` or holds a `/`, which would still address another path).
    pub fn url_path(&self, namespace: Option<&str>) -> String {
        let ns = namespace
            .filter(|_| self.namespaced)
            .map(|n| percent_encoding::utf8_percent_encode(n, SEGMENT).to_string());
        <kube::core::DynamicObject as kube::core::Resource>::url_path(
            &self.api_resource(),
            ns.as_deref(),
        )
    }
}

/// Every byte but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`): what
/// a path segment built from a value keeps as it is.
pub(crate) const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

const fn res(
    kind: &'static str,
    group: &'static str,
    version: &'static str,
    object_kind: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> Resource {
    Resource {
        kind,
        group,
        version,
        object_kind,
        plural,
        namespaced,
    }
}

/// Every resource rulerun reads. Nothing else is ever requested.
pub static RESOURCES: &[Resource] = &[
    res("k8s/v1/Pod", "", "v1", "Pod", "pods", true),
    res("k8s/v1/Event", "", "v1", "Event", "events", true),
    res("k8s/v1/Node", "", "v1", "Node", "nodes", false),
    res(
        "k8s/v1/Namespace",
        "",
        "v1",
        "Namespace",
        "namespaces",
        false,
    ),
    res(
        "k8s/v1/PersistentVolume",
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        false,
    ),
    res(
        "k8s/v1/PersistentVolumeClaim",
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
    ),
    res("k8s/v1/Service", "", "v1", "Service", "services", true),
    res(
        "k8s/v1/ServiceAccount",
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        true,
    ),
    res(
        "k8s/apps/v1/ReplicaSet",
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        true,
    ),
    res(
        "k8s/apps/v1/Deployment",
        "apps",
        "v1",
        "Deployment",
        "deployments",
        true,
    ),
    res(
        "k8s/apps/v1/StatefulSet",
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        true,
    ),
    res(
        "k8s/apps/v1/DaemonSet",
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        true,
    ),
    res("k8s/batch/v1/Job", "batch", "v1", "Job", "jobs", true),
    res(
        "k8s/batch/v1/CronJob",
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        true,
    ),
    res(
        "k8s/networking.k8s.io/v1/Ingress",
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
    ),
];

/// The resource of a fact kind.
pub fn resource(kind: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.kind == kind)
}

/// A way to fetch a kind by key instead of listing it: rules that join the kind
/// on exactly these paths get only the objects their subjects reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyed {
    /// The fact kind.
    pub kind: &'static str,
    /// The join paths (`on:`) this fetch answers, in canonical spelling.
    pub on: &'static [&'static str],
    /// How the keys are read.
    pub fetch: KeyedFetch,
}

/// How a keyed kind's keys are read, by how many there are. Past the bounds,
/// one request that returns more serves every key: a list (per namespace or
/// cluster-wide) the join's index then narrows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyedFetch {
    /// Up to `max` keys: one list per key with the field selector `field=KEY`
    /// (the value escaped as field selectors require). More: one list per
    /// namespace of the subjects that asked, up to `max_namespaces` of them,
    /// else one cluster-wide list (a namespace given to the run is listed alone).
    FieldSelector {
        field: &'static str,
        max: usize,
        max_namespaces: usize,
    },
    /// Up to `max` keys: one GET per key (the object's name). More: one list.
    GetByName { max: usize },
}

/// Subjects up to which events are read with one field selector each.
pub const EVENT_SELECTOR_MAX: usize = 10;
/// Namespaces up to which events are listed per namespace, else cluster-wide.
pub const EVENT_NAMESPACE_MAX: usize = 10;
/// Nodes up to which each is read with a GET, else all are listed.
pub const NODE_GET_MAX: usize = 10;

/// Kinds fetched by key. Events: by `involvedObject.uid` (a field selector per
/// subject for a few subjects, a list per namespace for many); nodes: by name
/// (a GET per node for a few, one list for many).
pub static KEYED: &[Keyed] = &[
    Keyed {
        kind: "k8s/v1/Event",
        on: &["$.involvedObject.uid"],
        fetch: KeyedFetch::FieldSelector {
            field: "involvedObject.uid",
            max: EVENT_SELECTOR_MAX,
            max_namespaces: EVENT_NAMESPACE_MAX,
        },
    },
    Keyed {
        kind: "k8s/v1/Node",
        on: &["$.metadata.name"],
        fetch: KeyedFetch::GetByName { max: NODE_GET_MAX },
    },
];

/// `value` as the value of a field selector term (`field=value`): `\`, `,`
/// and `=` escaped with a backslash, as the API server's parser requires, so a
/// key can never add a term of its own.
pub fn field_selector_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The ClusterRole granting exactly what rulerun reads: `get` and `list` on each
/// resource of [`RESOURCES`], grouped by API group.
pub fn cluster_role_yaml() -> String {
    let mut groups: Vec<&str> = RESOURCES.iter().map(|r| r.group).collect();
    groups.dedup();
    let mut out = String::from(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: rulerun-reader\nrules:\n",
    );
    let mut seen = Vec::new();
    for g in groups {
        if seen.contains(&g) {
            continue;
        }
        seen.push(g);
        let plurals: Vec<&str> = RESOURCES
            .iter()
            .filter(|r| r.group == g)
            .map(|r| r.plural)
            .collect();
        out.push_str(&format!(
            "  - apiGroups: [\"{g}\"]\n    resources: [{}]\n    verbs: [get, list]\n",
            plurals.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn field_selector_values_cannot_add_terms() {
        assert_eq!(field_selector_value("0b9e-11"), "0b9e-11");
        assert_eq!(
            field_selector_value("x,metadata.name=y\\"),
            "x\\,metadata.name\\=y\\\\"
        );
    }

    #[test]
    fn every_keyed_kind_is_a_collected_resource() {
        for k in KEYED {
            let res = resource(k.kind).unwrap();
            if let KeyedFetch::FieldSelector { .. } = k.fetch {
                assert!(res.namespaced, "{}", k.kind);
            }
        }
    }

    #[test]
    fn paths_follow_the_api_layout() {
        let pods = resource("k8s/v1/Pod").unwrap();
        assert_eq!(pods.url_path(None), "/api/v1/pods");
        assert_eq!(pods.url_path(Some("ns")), "/api/v1/namespaces/ns/pods");
        assert_eq!(
            pods.url_path(Some("a/b?c")),
            "/api/v1/namespaces/a%2Fb%3Fc/pods"
        );
        let rs = resource("k8s/apps/v1/ReplicaSet").unwrap();
        assert_eq!(
            rs.url_path(Some("ns")),
            "/apis/apps/v1/namespaces/ns/replicasets"
        );
        assert_eq!(rs.api_version(), "apps/v1");
        let nodes = resource("k8s/v1/Node").unwrap();
        assert_eq!(nodes.url_path(Some("ignored")), "/api/v1/nodes");
    }

    #[test]
    fn the_cluster_role_grants_reads_only_and_never_secrets() {
        let role = cluster_role_yaml();
        assert!(role.contains("verbs: [get, list]"));
        assert!(!role.contains("secrets"));
        assert!(!role.contains("create") && !role.contains("delete") && !role.contains("watch"));
        assert!(role.contains("apiGroups: [\"apps\"]\n    resources: [replicasets, deployments, statefulsets, daemonsets]"));
    }
}
