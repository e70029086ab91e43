//! Policy reports as Kubernetes objects: OpenReports (`openreports.io/v1alpha1`
//! `Report` and `ClusterReport`) and the older `wgpolicyk8s.io/v1alpha2`
//! `PolicyReport` and `ClusterPolicyReport`, which have the same results. A
//! report per namespace with results for namespaced subjects, one cluster
//! report for cluster-scoped and AWS subjects and for rules that could not run
//! at all; written as one `v1` `List`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use rulerun_core::{Finding, Severity, Subject};

use super::{Request, policy_name};

/// Which API the objects belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    OpenReports,
    PolicyReport,
}

impl Api {
    fn api_version(self) -> &'static str {
        match self {
            Api::OpenReports => "openreports.io/v1alpha1",
            Api::PolicyReport => "wgpolicyk8s.io/v1alpha2",
        }
    }
    fn kind(self, namespaced: bool) -> &'static str {
        match (self, namespaced) {
            (Api::OpenReports, true) => "Report",
            (Api::OpenReports, false) => "ClusterReport",
            (Api::PolicyReport, true) => "PolicyReport",
            (Api::PolicyReport, false) => "ClusterPolicyReport",
        }
    }
}

/// The name of every report rulerun writes (`rulerun-cluster` for the
/// cluster-scoped one) and the label that marks it as rulerun's.
pub const NAME: &str = "rulerun";
pub const CLUSTER_NAME: &str = "rulerun-cluster";
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "rulerun");

/// The annotation that names the cluster (kubeconfig context) of each report
/// of a fleet run's `List`.
pub const CLUSTER_ANNOTATION: &str = "rulerun.dev/cluster";

/// The `List` of report objects; in a fleet run, each cluster's reports in
/// turn, annotated with [`CLUSTER_ANNOTATION`].
pub fn document(req: &Request<'_>, api: Api) -> Value {
    let items: Vec<Value> = if req.clusters.is_empty() {
        objects(req, api, false)
    } else {
        req.clusters
            .iter()
            .flat_map(|c| {
                let mut objects = objects(&req.for_cluster(c), api, false);
                for o in &mut objects {
                    o["metadata"]["annotations"] = json!({CLUSTER_ANNOTATION: c.name});
                }
                objects
            })
            .collect()
    };
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

/// The report objects: one per namespace with results, and the cluster report
/// when it has results or `always_cluster` (`--report-to-cluster` always
/// writes it, so that the cluster shows when rulerun last ran and what passed).
pub fn objects(req: &Request<'_>, api: Api, always_cluster: bool) -> Vec<Value> {
    let timestamp = timestamp();
    // Namespace (`None`: cluster) → results and the counts of its summary.
    let mut scopes: BTreeMap<Option<String>, Scope> = BTreeMap::new();
    if always_cluster {
        scopes.insert(None, Scope::default());
    }
    let report = req.report;
    for f in &report.findings {
        let s = scopes.entry(f.subject.namespace.clone()).or_default();
        s.results.push(finding_result(req, f, &timestamp, api));
        s.fail += 1;
    }
    for i in &report.inconclusive {
        let ns = i.subject.as_ref().and_then(|s| s.namespace.clone());
        let s = scopes.entry(ns).or_default();
        s.results.push(other_result(
            req,
            &i.rule,
            i.subject.as_ref(),
            "skip",
            &format!("inconclusive: {}", i.reason),
            &timestamp,
            api,
        ));
        s.skip += 1;
    }
    for e in &report.errors {
        let ns = e.subject.as_ref().and_then(|s| s.namespace.clone());
        let s = scopes.entry(ns).or_default();
        s.results.push(other_result(
            req,
            &e.rule,
            e.subject.as_ref(),
            "error",
            &format!("evaluation error: {}", e.message),
            &timestamp,
            api,
        ));
        s.error += 1;
    }
    // Subjects checked without a result passed; counted in the summary of a
    // report that exists, never a report of their own.
    for c in &report.checked {
        for cs in &c.subjects {
            let said = report
                .findings
                .iter()
                .any(|f| f.rule == c.rule && f.subject == cs.subject)
                || report
                    .inconclusive
                    .iter()
                    .any(|i| i.rule == c.rule && i.subject.as_ref() == Some(&cs.subject))
                || report
                    .errors
                    .iter()
                    .any(|e| e.rule == c.rule && e.subject.as_ref() == Some(&cs.subject));
            if !said && let Some(s) = scopes.get_mut(&cs.subject.namespace) {
                s.pass += 1;
            }
        }
    }
    scopes
        .into_iter()
        .map(|(ns, s)| object(api, ns, s))
        .collect()
}

#[derive(Default)]
struct Scope {
    results: Vec<Value>,
    pass: usize,
    fail: usize,
    error: usize,
    skip: usize,
}

fn object(api: Api, ns: Option<String>, s: Scope) -> Value {
    let mut metadata = json!({
        "name": if ns.is_some() { NAME } else { CLUSTER_NAME },
        "labels": {MANAGED_BY.0: MANAGED_BY.1},
    });
    if let Some(ns) = &ns {
        metadata["namespace"] = json!(ns);
    }
    let mut o = json!({
        "apiVersion": api.api_version(),
        "kind": api.kind(ns.is_some()),
        "metadata": metadata,
        "results": s.results,
        "summary": {"pass": s.pass, "fail": s.fail, "warn": 0, "error": s.error, "skip": s.skip},
    });
    if api == Api::OpenReports {
        o["source"] = json!("rulerun");
    }
    o
}

fn severity(s: Severity) -> &'static str {
    s.as_str()
}

fn finding_result(req: &Request<'_>, f: &Finding, ts: &Value, _api: Api) -> Value {
    let mut props = Map::new();
    props.insert("title".into(), json!(f.title));
    for (i, step) in f.fix.iter().enumerate() {
        let n = i + 1;
        props.insert(format!("fix.{n}.command"), json!(step.command));
        props.insert(format!("fix.{n}.description"), json!(step.description));
    }
    for (k, v) in &f.evidence {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        props.insert(format!("evidence.{k}"), json!(text));
    }
    if !f.may_be_superseded_by.is_empty() {
        props.insert(
            "mayBeSupersededBy".into(),
            json!(f.may_be_superseded_by.join(",")),
        );
    }
    let mut r = json!({
        "source": "rulerun",
        "policy": policy_name(req, &f.rule),
        "rule": f.rule,
        "result": "fail",
        "scored": true,
        "severity": severity(f.severity),
        "resources": [resource(req, &f.subject)],
        "message": f.message,
        "properties": props,
        "timestamp": ts,
    });
    if let Some(p) = super::pack(req, &f.rule) {
        r["category"] = json!(p);
    }
    r
}

fn other_result(
    req: &Request<'_>,
    rule: &str,
    subject: Option<&Subject>,
    result: &str,
    message: &str,
    ts: &Value,
    _api: Api,
) -> Value {
    let mut r = json!({
        "source": "rulerun",
        "policy": policy_name(req, rule),
        "rule": rule,
        "result": result,
        "scored": true,
        "message": message,
        "timestamp": ts,
    });
    if let Some(p) = super::pack(req, rule) {
        r["category"] = json!(p);
    }
    if let Some(sev) = super::severity_of(req, rule) {
        r["severity"] = json!(severity(sev));
    }
    if let Some(s) = subject {
        r["resources"] = json!([resource(req, s)]);
    }
    r
}

/// An object reference: `k8s/GROUP/VERSION/Kind` (`k8s/v1/Kind` for the core
/// group) gives `apiVersion` and `kind`; other fact kinds (AWS) keep their
/// fact kind as `kind`. The uid is the subject document's, when a rule
/// checked that document.
fn resource(req: &Request<'_>, s: &Subject) -> Value {
    let mut r = Map::new();
    match s
        .kind
        .strip_prefix("k8s/")
        .and_then(|rest| rest.rsplit_once('/'))
    {
        Some((api_version, kind)) => {
            r.insert("apiVersion".into(), json!(api_version));
            r.insert("kind".into(), json!(kind));
        }
        None => {
            r.insert("kind".into(), json!(s.kind));
        }
    }
    if let Some(ns) = &s.namespace {
        r.insert("namespace".into(), json!(ns));
    }
    r.insert("name".into(), json!(s.name));
    let uid = req
        .report
        .checked
        .iter()
        .flat_map(|c| c.subjects.iter())
        .find(|c| &c.subject == s)
        .and_then(|c| c.uid.clone());
    if let Some(uid) = uid {
        r.insert("uid".into(), json!(uid));
    }
    Value::Object(r)
}

/// Now as `{seconds, nanos}`; `SOURCE_DATE_EPOCH` (seconds) overrides it, for
/// reproducible output.
fn timestamp() -> Value {
    if let Some(secs) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        return json!({"seconds": secs, "nanos": 0});
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    json!({"seconds": now.as_secs(), "nanos": now.subsec_nanos()})
}
