//! SARIF 2.1.0 (OASIS), as code-scanning dashboards read it: one run, one
//! reporting descriptor per loaded rule, one result per finding, inconclusive
//! rules and evaluation errors as tool execution notifications.

use serde_json::{Value, json};

use rulerun_core::{Finding, Rule, Severity, Subject};

use super::{Request, element_name, qualified, rule_file};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The name of the fingerprint in `partialFingerprints`; versioned so that a
/// change of what it hashes is a new name, never a changed value.
pub const FINGERPRINT: &str = "rulerunSubject/v1";

/// SARIF's `level` for a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` (a number 0.0-10.0, as a string): critical is
/// 9.0 and above, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9.
pub fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// The SARIF document.
pub fn document(req: &Request<'_>) -> Value {
    let rules: Vec<&Rule> = req.rules.rules.iter().collect();
    let index = |id: &str| rules.iter().position(|r| r.id == id);
    let descriptors: Vec<Value> = rules.iter().map(|r| descriptor(req, r)).collect();
    let results: Vec<Value> = req
        .report
        .findings
        .iter()
        .map(|f| result(req, f, index(&f.rule)))
        .collect();
    let mut notifications: Vec<Value> = Vec::new();
    for i in &req.report.inconclusive {
        notifications.push(notification(
            "warning",
            &format!(
                "{}inconclusive: {}",
                in_cluster(i.cluster.as_deref()),
                i.reason
            ),
            &i.rule,
            index(&i.rule),
            i.subject.as_ref(),
            i.cluster.as_deref(),
        ));
    }
    for e in &req.report.errors {
        notifications.push(notification(
            "error",
            &format!(
                "{}evaluation error: {}",
                in_cluster(e.cluster.as_deref()),
                e.message
            ),
            &e.rule,
            index(&e.rule),
            e.subject.as_ref(),
            e.cluster.as_deref(),
        ));
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "rulerun",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": descriptors,
                }
            },
            "invocations": [{
                "executionSuccessful": req.report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {
                "rulesEvaluated": req.report.rules_evaluated,
                "facts": req.report.facts,
                "superseded": req.report.superseded,
            },
        }]
    })
}

fn descriptor(req: &Request<'_>, r: &Rule) -> Value {
    let docs = &r.docs;
    let mut help_text = docs.summary.trim().to_string();
    for part in [&docs.why_it_matters, &docs.how_to_fix] {
        if !part.trim().is_empty() {
            help_text.push_str("\n\n");
            help_text.push_str(part.trim());
        }
    }
    let mut d = json!({
        "id": r.id,
        "name": r.id,
        "shortDescription": {"text": r.title},
        "fullDescription": {"text": if docs.summary.trim().is_empty() { r.title.clone() } else { docs.summary.trim().to_string() }},
        "help": {
            "text": if help_text.is_empty() { r.title.clone() } else { help_text },
            "markdown": rulerun_core::docs::rule_markdown(r),
        },
        "defaultConfiguration": {"level": level(r.severity)},
        "properties": {
            "security-severity": security_severity(r.severity),
            "severity": r.severity,
            "pack": super::pack(req, &r.id),
            "tags": r.labels,
        },
    });
    if let Some(uri) = docs.references.first() {
        d["helpUri"] = json!(uri);
    }
    d
}

fn result(req: &Request<'_>, f: &Finding, index: Option<usize>) -> Value {
    let element = element_name(f.element.as_ref());
    let mut r = json!({
        "ruleId": f.rule,
        "level": level(f.severity),
        "message": {"text": f.message},
        "locations": [location(req, &f.rule, Some(&f.subject), f.cluster.as_deref())],
        "partialFingerprints": {FINGERPRINT: fingerprint(f.cluster.as_deref(), &f.rule, &f.subject, element.as_deref())},
        "properties": {
            "severity": f.severity,
            "title": f.title,
            "subject": f.subject,
            "fix": f.fix,
            "evidence": f.evidence,
        },
    });
    if let Some(i) = index {
        r["ruleIndex"] = json!(i);
    }
    if let Some(e) = element {
        r["properties"]["element"] = json!(e);
    }
    if let Some(c) = &f.cluster {
        r["properties"]["cluster"] = json!(c);
    }
    if !f.may_be_superseded_by.is_empty() {
        r["properties"]["mayBeSupersededBy"] = json!(f.may_be_superseded_by);
    }
    r
}

/// Rule id and subject identity (and the `each` element's name), never the
/// message: the same problem on the same object keeps its fingerprint when the
/// message's details change. In a fleet run the subject's identity starts with
/// its cluster (`CLUSTER/`), so the same finding in two clusters differs.
pub fn fingerprint(
    cluster: Option<&str>,
    rule: &str,
    subject: &Subject,
    element: Option<&str>,
) -> String {
    let mut s = format!("{rule}:{}", in_fleet(cluster, subject));
    if let Some(e) = element {
        s.push_str(&format!("#{e}"));
    }
    s
}

/// The rule file (code-scanning uploads reject results without a physical
/// location) and the subject as a logical location.
fn location(
    req: &Request<'_>,
    rule_id: &str,
    subject: Option<&Subject>,
    cluster: Option<&str>,
) -> Value {
    let mut loc = json!({});
    if let Some(rule) = req.rules.get(rule_id) {
        let file = rule_file(req, rule);
        let mut physical = json!({"artifactLocation": {"uri": uri(&file)}});
        if rule.source.pos.line > 0 {
            physical["region"] = json!({
                "startLine": rule.source.pos.line,
                "startColumn": rule.source.pos.column.max(1),
            });
        }
        loc["physicalLocation"] = physical;
    }
    if let Some(s) = subject {
        let mut logical = json!({
            "name": s.name,
            "kind": s.kind,
            "fullyQualifiedName": in_fleet(cluster, s),
            "properties": {"kind": s.kind, "name": s.name},
        });
        if let Some(ns) = &s.namespace {
            logical["properties"]["namespace"] = json!(ns);
        }
        if let Some(c) = cluster {
            logical["properties"]["cluster"] = json!(c);
        }
        loc["logicalLocations"] = json!([logical]);
    }
    loc
}

fn notification(
    level: &str,
    text: &str,
    rule: &str,
    index: Option<usize>,
    subject: Option<&Subject>,
    cluster: Option<&str>,
) -> Value {
    let mut n = json!({
        "level": level,
        "message": {"text": text},
        "associatedRule": {"id": rule},
    });
    if let Some(i) = index {
        n["associatedRule"]["index"] = json!(i);
    }
    if let Some(s) = subject {
        n["locations"] = json!([{
            "logicalLocations": [{
                "name": s.name,
                "kind": s.kind,
                "fullyQualifiedName": in_fleet(cluster, s),
            }]
        }]);
    }
    if let Some(c) = cluster {
        n["properties"] = json!({"cluster": c});
    }
    n
}

/// The subject's qualified name, after `CLUSTER/` in a fleet run.
fn in_fleet(cluster: Option<&str>, s: &Subject) -> String {
    match cluster {
        Some(c) => format!("{c}/{}", qualified(s)),
        None => qualified(s),
    }
}

/// `cluster `NAME`: ` before a notification's text in a fleet run.
fn in_cluster(cluster: Option<&str>) -> String {
    cluster
        .map(|c| format!("cluster `{c}`: "))
        .unwrap_or_default()
}

/// A relative URI reference for a path (`/` between segments, every byte
/// outside RFC 3986's unreserved set and `/` percent-encoded); absolute paths
/// become `file://` URIs.
pub fn uri(path: &std::path::Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut out = String::with_capacity(text.len());
    if text.starts_with('/') {
        out.push_str("file://");
    }
    out.extend(percent_encoding::utf8_percent_encode(&text, PATH_SET));
    out
}

/// Every byte but RFC 3986's unreserved characters and `/`.
const PATH_SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');
