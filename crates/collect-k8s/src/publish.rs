//! The one write rulerun does, when asked (`rulerun check --report-to-cluster`):
//! its policy reports, server-side applied (field manager `rulerun`) through the
//! dynamic API, and the reports it owns (selected by its label) deleted from the
//! namespaces that no longer have results. The objects are made by the CLI; this
//! module only checks that the cluster serves their kinds (the CRDs are
//! installed), applies them and prunes.

use std::collections::BTreeSet;
use std::time::Duration;

use kube::api::{ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use serde_json::Value;

/// The field manager of every apply.
pub const FIELD_MANAGER: &str = "rulerun";

/// A report kind: its group, version, kind and plural, as its CRD names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
}

impl Kind {
    /// `reports.openreports.io`: the name of its CustomResourceDefinition.
    pub fn crd(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }

    fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }

    fn resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.into(),
            version: self.version.into(),
            api_version: self.api_version(),
            kind: self.kind.into(),
            plural: self.plural.into(),
        }
    }
}

/// The two kinds of one report API: per namespace and cluster-scoped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportApi {
    pub namespaced: Kind,
    pub cluster: Kind,
    /// How to install the CRDs, for the error when they are missing.
    pub install: &'static str,
}

/// OpenReports: `openreports.io/v1alpha1` `Report` and `ClusterReport`.
pub const OPENREPORTS: ReportApi = ReportApi {
    namespaced: Kind {
        group: "openreports.io",
        version: "v1alpha1",
        kind: "Report",
        plural: "reports",
    },
    cluster: Kind {
        group: "openreports.io",
        version: "v1alpha1",
        kind: "ClusterReport",
        plural: "clusterreports",
    },
    install: "install the OpenReports CRDs (openreports/reports-api, `config/crd/`): `kubectl apply --server-side -f https://raw.githubusercontent.com/openreports/reports-api/main/config/crd/openreports.io_reports.yaml -f https://raw.githubusercontent.com/openreports/reports-api/main/config/crd/openreports.io_clusterreports.yaml`, or use `--report-to-cluster=policyreport` on a cluster that has the wgpolicyk8s.io CRDs",
};

/// The older `wgpolicyk8s.io/v1alpha2` `PolicyReport` and `ClusterPolicyReport`.
pub const POLICYREPORT: ReportApi = ReportApi {
    namespaced: Kind {
        group: "wgpolicyk8s.io",
        version: "v1alpha2",
        kind: "PolicyReport",
        plural: "policyreports",
    },
    cluster: Kind {
        group: "wgpolicyk8s.io",
        version: "v1alpha2",
        kind: "ClusterPolicyReport",
        plural: "clusterpolicyreports",
    },
    install: "install the wgpolicyk8s.io CRDs (kubernetes-sigs/wg-policy-prototypes, `policy-report/crd/v1alpha2/`; Kyverno's chart installs them too), or use `--report-to-cluster=openreports` on a cluster that has the OpenReports CRDs",
};

/// Every report API `--report-to-cluster` can write.
pub const APIS: &[ReportApi] = &[OPENREPORTS, POLICYREPORT];

/// The name of the ClusterRole that grants the write.
pub const WRITER_ROLE: &str = "rulerun-report-writer";

/// The ClusterRole granting exactly what [`publish`] does: `get` and `list` (the
/// pruning list) and `create`, `patch` (server-side apply) and `delete` on the
/// report kinds of [`APIS`], grouped by API group, and nothing else.
pub fn cluster_role_yaml() -> String {
    let mut out = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {WRITER_ROLE}\nrules:\n"
    );
    for api in APIS {
        out.push_str(&format!(
            "  - apiGroups: [\"{}\"]\n    resources: [{}, {}]\n    verbs: [get, list, create, patch, delete]\n",
            api.namespaced.group, api.namespaced.plural, api.cluster.plural
        ));
    }
    out
}

/// What to write.
#[derive(Debug, Clone)]
pub struct Publish<'a> {
    pub api: ReportApi,
    /// The report objects: each of `api`'s kinds, with `metadata.name` (and
    /// `metadata.namespace` for namespaced ones) and the owner label.
    pub objects: &'a [Value],
    /// The label (`key`, `value`) that marks a report as rulerun's: only reports
    /// carrying it are ever deleted.
    pub owner_label: (&'a str, &'a str),
    /// Where the check looked: `Some(ns)` for one namespace (only that
    /// namespace's report is pruned and cluster-scoped ones are left alone),
    /// `None` for the whole cluster.
    pub namespace: Option<&'a str>,
    /// The bound on each request.
    pub timeout: Duration,
}

/// What happened to one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub verb: Verb,
    /// `Report`, `ClusterReport`, ...
    pub kind: &'static str,
    pub namespace: Option<String>,
    pub name: String,
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Created,
    Updated,
    Unchanged,
    Deleted,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Created => "created",
            Verb::Updated => "updated",
            Verb::Unchanged => "unchanged",
            Verb::Deleted => "deleted",
        }
    }
}

/// Why the reports could not be written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PublishError {
    /// The cluster does not serve the report kinds.
    #[error("the cluster does not serve {}: {} not installed", kinds.join(" and "), if kinds.len() == 1 { "its CustomResourceDefinition is" } else { "their CustomResourceDefinitions are" })]
    CrdMissing {
        /// `` `reports.openreports.io` (openreports.io/v1alpha1 Report) ``.
        kinds: Vec<String>,
        /// How to install them.
        install: &'static str,
    },
    /// RBAC refused a write or list.
    #[error("forbidden: cannot {verb} `{resource}`{}: {message}", scope(.namespace))]
    Forbidden {
        verb: String,
        resource: String,
        namespace: Option<String>,
        message: String,
    },
    /// Another field manager set a field of rulerun's report differently.
    #[error("cannot apply {kind} `{name}`{}: {message}", scope(.namespace))]
    Conflict {
        kind: String,
        namespace: Option<String>,
        name: String,
        message: String,
    },
    /// Any other failure of a request.
    #[error("cannot {what}: {message}")]
    Request { what: String, message: String },
    /// An object handed in lacks its name.
    #[error("a report object has no `metadata.name`")]
    Unnamed,
}

fn scope(ns: &Option<String>) -> String {
    match ns {
        Some(ns) => format!(" in namespace `{ns}`"),
        None => String::new(),
    }
}

impl PublishError {
    /// Advice.
    pub fn help(&self) -> Option<String> {
        match self {
            PublishError::CrdMissing { install, .. } => Some((*install).to_string()),
            PublishError::Forbidden { .. } => Some(
                "bind the write ClusterRole of docs/permissions.md (create, patch and delete on the report kinds only) to the identity rulerun runs as".into(),
            ),
            PublishError::Conflict { kind, namespace, name, .. } => Some(format!(
                "another field manager changed rulerun's report; delete it (`kubectl delete {}{} {name}`) and the next run recreates it",
                kind.to_lowercase(),
                namespace.as_ref().map(|n| format!(" -n {n}")).unwrap_or_default()
            )),
            PublishError::Request { .. } | PublishError::Unnamed => None,
        }
    }
}

/// Checks that the cluster serves `api`'s kinds, applies every object and
/// deletes the reports labelled as rulerun's that the objects no longer have.
/// Returns what it did, in order.
pub async fn publish(client: &Client, p: &Publish<'_>) -> Result<Vec<Action>, PublishError> {
    check_served(client, &p.api, p.timeout).await?;
    let mut actions = Vec::new();
    let selector = format!("{}={}", p.owner_label.0, p.owner_label.1);
    let lp = ListParams::default().labels(&selector);
    for (kind, namespaced) in [(p.api.namespaced, true), (p.api.cluster, false)] {
        // With one namespace checked, cluster-scoped reports are left as they are.
        if !namespaced && p.namespace.is_some() {
            continue;
        }
        let ar = kind.resource();
        let listed: Vec<DynamicObject> = {
            let api: Api<DynamicObject> = match (namespaced, p.namespace) {
                (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
                _ => Api::all_with(client.clone(), &ar),
            };
            let what = format!("list {} labelled `{selector}`", kind.crd());
            bounded(p.timeout, &what, api.list(&lp))
                .await
                .map_err(|e| request_error(e, "list", &kind, p.namespace, &what))?
                .items
        };
        let mut wanted: BTreeSet<(Option<String>, String)> = BTreeSet::new();
        for obj in p.objects.iter().filter(|o| {
            o.get("kind").and_then(Value::as_str) == Some(kind.kind)
                && o.get("apiVersion").and_then(Value::as_str) == Some(kind.api_version().as_str())
        }) {
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .ok_or(PublishError::Unnamed)?
                .to_string();
            let ns = obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .map(str::to_string);
            if namespaced && p.namespace.is_some_and(|only| ns.as_deref() != Some(only)) {
                continue;
            }
            let api: Api<DynamicObject> = match &ns {
                Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
                None => Api::all_with(client.clone(), &ar),
            };
            let what = format!("apply {} `{name}`{}", kind.kind, scope(&ns));
            let applied = bounded(
                p.timeout,
                &what,
                api.patch(
                    &name,
                    &PatchParams::apply(FIELD_MANAGER),
                    &Patch::Apply(obj),
                ),
            )
            .await
            .map_err(|e| match e {
                Failure::Api(s) if s.code == 409 => PublishError::Conflict {
                    kind: kind.kind.into(),
                    namespace: ns.clone(),
                    name: name.clone(),
                    message: s.message,
                },
                e => request_error(e, "patch", &kind, ns.as_deref(), &what),
            })?;
            let before = listed
                .iter()
                .find(|o| o.name_any() == name && o.namespace() == ns);
            let verb = match before {
                None => Verb::Created,
                Some(b) if b.resource_version() == applied.resource_version() => Verb::Unchanged,
                Some(_) => Verb::Updated,
            };
            actions.push(Action {
                verb,
                kind: kind.kind,
                namespace: ns.clone(),
                name: name.clone(),
            });
            wanted.insert((ns, name));
        }
        for old in &listed {
            let key = (old.namespace(), old.name_any());
            if wanted.contains(&key) {
                continue;
            }
            let (ns, name) = key;
            let api: Api<DynamicObject> = match &ns {
                Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
                None => Api::all_with(client.clone(), &ar),
            };
            let what = format!("delete {} `{name}`{}", kind.kind, scope(&ns));
            match bounded(
                p.timeout,
                &what,
                api.delete(&name, &DeleteParams::default()),
            )
            .await
            {
                Ok(_) => {}
                // Gone already (deleted by someone else meanwhile): nothing to do.
                Err(Failure::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(request_error(e, "delete", &kind, ns.as_deref(), &what)),
            }
            actions.push(Action {
                verb: Verb::Deleted,
                kind: kind.kind,
                namespace: ns,
                name,
            });
        }
    }
    Ok(actions)
}

/// The reports of `api` labelled `owner_label`: the namespaced ones of every
/// namespace, then the cluster-scoped ones; what `rulerun reports` reads. Read
/// only, bounded by `timeout` per request; a cluster that does not serve the
/// kinds is [`PublishError::CrdMissing`].
pub async fn read(
    client: &Client,
    api: &ReportApi,
    owner_label: (&str, &str),
    timeout: Duration,
) -> Result<Vec<Value>, PublishError> {
    check_served(client, api, timeout).await?;
    let selector = format!("{}={}", owner_label.0, owner_label.1);
    let mut reports = Vec::new();
    for kind in [api.namespaced, api.cluster] {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &kind.resource());
        let what = format!("list {} labelled `{selector}`", kind.crd());
        let mut lp = ListParams::default().labels(&selector).limit(500);
        // Pages until the server has no more; bounded so a server that keeps
        // answering a continue token cannot hold the run.
        for _ in 0..MAX_REPORT_PAGES {
            let page = bounded(timeout, &what, api.list(&lp))
                .await
                .map_err(|e| request_error(e, "list", &kind, None, &what))?;
            let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
            for mut o in page.items {
                // List items lack them, as `kubectl get -o json` restores them.
                o.types = Some(kube::api::TypeMeta {
                    api_version: kind.api_version(),
                    kind: kind.kind.into(),
                });
                reports.push(serde_json::to_value(o).map_err(|e| PublishError::Request {
                    what: what.clone(),
                    message: e.to_string(),
                })?);
            }
            match next {
                Some(token) => lp = lp.continue_token(&token),
                None => break,
            }
        }
    }
    Ok(reports)
}

/// The most pages of one report kind read (500 reports each).
const MAX_REPORT_PAGES: usize = 200;

/// Discovery of the API's group version: which of its kinds are served.
async fn check_served(
    client: &Client,
    api: &ReportApi,
    timeout: Duration,
) -> Result<(), PublishError> {
    let gv = api.namespaced.api_version();
    let what = format!("read the API group `{gv}`");
    let served: Vec<String> =
        match bounded(timeout, &what, client.list_api_group_resources(&gv)).await {
            Ok(list) => list.resources.into_iter().map(|r| r.name).collect(),
            Err(Failure::Api(s)) if s.code == 404 => Vec::new(),
            Err(e) => return Err(request_error(e, "get", &api.namespaced, None, &what)),
        };
    let missing: Vec<String> = [api.namespaced, api.cluster]
        .iter()
        .filter(|k| !served.iter().any(|r| r == k.plural))
        .map(|k| format!("`{}` ({} {})", k.crd(), k.api_version(), k.kind))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(PublishError::CrdMissing {
            kinds: missing,
            install: api.install,
        })
    }
}

/// A failed request.
enum Failure {
    Api(Box<kube::core::Status>),
    Other(String),
}

async fn bounded<T>(
    timeout: Duration,
    what: &str,
    fut: impl std::future::Future<Output = kube::Result<T>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(timeout, fut).await {
        Err(_) => Err(Failure::Other(format!(
            "{what} timed out after {}s",
            timeout.as_secs()
        ))),
        Ok(Ok(v)) => Ok(v),
        Ok(Err(kube::Error::Api(s))) => Err(Failure::Api(s)),
        Ok(Err(e)) => Err(Failure::Other(crate::cause::describe(&e).words)),
    }
}

fn request_error(
    e: Failure,
    verb: &str,
    kind: &Kind,
    ns: Option<&str>,
    what: &str,
) -> PublishError {
    match e {
        Failure::Api(s) if s.code == 403 => PublishError::Forbidden {
            verb: verb.into(),
            resource: kind.crd(),
            namespace: ns.map(str::to_string),
            message: s.message,
        },
        Failure::Api(s) => PublishError::Request {
            what: what.into(),
            message: format!("the API server answered {}: {}", s.code, s.message),
        },
        Failure::Other(m) => PublishError::Request {
            what: what.into(),
            message: m,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_role_grants_only_the_report_kinds() {
        let role = cluster_role_yaml();
        assert_eq!(role.matches("- apiGroups").count(), 2);
        assert!(
            role.contains(
                "apiGroups: [\"openreports.io\"]\n    resources: [reports, clusterreports]"
            )
        );
        assert!(role.contains(
            "apiGroups: [\"wgpolicyk8s.io\"]\n    resources: [policyreports, clusterpolicyreports]"
        ));
        assert!(!role.contains("\"\"") && !role.contains("secrets") && !role.contains('*'));
        assert!(
            !role.contains("update")
                && !role.contains("watch")
                && !role.contains("deletecollection")
        );
    }
}
