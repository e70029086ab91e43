//! Findings: what a rule reports, and the report of a whole run.
//!
//! These types are serialized as the findings JSON (`rulerun check -o json`), one of
//! rulerun's public contracts: fields are only ever added, never renamed or removed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Minor.
    Low,
    /// Should be fixed.
    Medium,
    /// Breaks something.
    High,
    /// Breaks something important, or is a security exposure.
    Critical,
}

impl Severity {
    /// All severities, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a severity name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown severity `{0}`: expected one of info, low, medium, high, critical")]
pub struct ParseSeverityError(pub String);

impl FromStr for Severity {
    type Err = ParseSeverityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseSeverityError(s.to_string()))
    }
}

/// What a finding is about.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Subject {
    /// The fact kind, e.g. `k8s/v1/Pod`.
    pub kind: String,
    /// The namespace, for namespaced Kubernetes objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// One step of a fix: what it does and the command that does it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixStep {
    /// What the step does, for a person.
    pub description: String,
    /// The command as separate arguments, when the rule gave it as an argv list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
    /// The command as one line to paste into a POSIX shell; every interpolated value
    /// is single-quoted. A placeholder stands in it bare, as `<NAME>`.
    pub command: String,
    /// The values the user supplies before running the command, in the order
    /// the step declares them. Omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placeholders: Vec<FixPlaceholder>,
}

/// A value the user supplies in a fix step's command: `<NAME>` there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixPlaceholder {
    /// The name, `[A-Z][A-Z0-9_]*`; the command holds `<NAME>`.
    pub name: String,
    /// What to put there, for a person.
    pub description: String,
    /// Where `<NAME>` stands.
    #[serde(rename = "where")]
    pub at: PlaceholderWhere,
}

/// Where a placeholder stands in a fix step: byte ranges (UTF-8, end
/// exclusive) of its `<NAME>` text, to replace from the last to the first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceholderWhere {
    /// In `command`.
    pub command: Vec<TextRange>,
    /// In elements of `argv` (argv steps only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<ArgvRange>,
}

/// A byte range in a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextRange {
    /// The first byte.
    pub start: usize,
    /// The byte after the last.
    pub end: usize,
}

/// A byte range in one element of `argv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgvRange {
    /// The element's index.
    pub index: usize,
    /// The first byte.
    pub start: usize,
    /// The byte after the last.
    pub end: usize,
}

impl FixStep {
    /// The command with each placeholder replaced by the value `value` gives
    /// for its name (`None` leaves it), the way a person fills it in.
    pub fn command_with(&self, value: impl Fn(&str) -> Option<String>) -> String {
        let mut edits: Vec<(TextRange, String)> = Vec::new();
        for p in &self.placeholders {
            if let Some(v) = value(&p.name) {
                edits.extend(p.at.command.iter().map(|r| (*r, v.clone())));
            }
        }
        edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
        let mut command = self.command.clone();
        for (r, v) in edits {
            if command.is_char_boundary(r.start)
                && command.is_char_boundary(r.end)
                && r.end <= command.len()
            {
                command.replace_range(r.start..r.end, &v);
            }
        }
        command
    }
}

/// A problem a rule found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule's id.
    pub rule: String,
    /// The rule's severity.
    pub severity: Severity,
    /// The rule's title.
    pub title: String,
    /// What the finding is about.
    pub subject: Subject,
    /// The rendered message.
    pub message: String,
    /// Facts that support the finding, as the rule chose them.
    pub evidence: serde_json::Map<String, serde_json::Value>,
    /// Steps that fix the problem, in order.
    pub fix: Vec<FixStep>,
    /// The `each` element the finding is about (its JSON text), for
    /// `supersedes`: a precise finding replaces the generic one about the same
    /// element (one container of a pod), not about the whole subject. Not part
    /// of the findings JSON.
    #[serde(skip)]
    pub element: Option<String>,
    /// Rules that supersede this one and could not decide on this subject (and
    /// element) in a partial run (facts they needed could not be collected): had
    /// they decided, one of their findings might have replaced this one. Empty
    /// when no such rule exists; omitted from the findings JSON then.
    #[serde(
        rename = "mayBeSupersededBy",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub may_be_superseded_by: Vec<String>,
    /// The cluster (kubeconfig context) of a fleet run (`check --context A
    /// --context B`, `--all-contexts`); omitted when one cluster was checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// A rule that failed while evaluating one subject (a function error or a template
/// that met a missing value). The run goes on; the CLI reports these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalError {
    /// The rule.
    pub rule: String,
    /// The subject being evaluated, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Subject>,
    /// What went wrong.
    pub message: String,
    /// The cluster (kubeconfig context) of a fleet run (`check --context A
    /// --context B`, `--all-contexts`); omitted when one cluster was checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// A rule that could not decide, for all subjects or one: a kind or key it needs
/// could not be collected (RBAC, IAM, a timeout). The reason names what is missing
/// and the permission that would fix it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inconclusive {
    /// The rule.
    pub rule: String,
    /// The subject, when only some subjects are affected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Subject>,
    /// What could not be collected, and why.
    pub reason: String,
    /// The cluster (kubeconfig context) of a fleet run (`check --context A
    /// --context B`, `--all-contexts`); omitted when one cluster was checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// The result of evaluating rules over facts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Findings, sorted by subject, then rule.
    pub findings: Vec<Finding>,
    /// Evaluation errors.
    pub errors: Vec<EvalError>,
    /// Rules that could not decide in a live run.
    pub inconclusive: Vec<Inconclusive>,
    /// How many rules ran.
    pub rules_evaluated: usize,
    /// Findings left out because a more precise rule's finding on the same
    /// subject supersedes them.
    pub superseded: usize,
    /// How many fact documents were available.
    pub facts: usize,
    /// Per rule that ran, the subjects it checked (for reports that list what
    /// passed, such as JUnit). Not part of the findings JSON.
    #[serde(skip)]
    pub checked: Vec<Checked>,
}

/// The subjects one rule checked: the facts of its subject kind that its
/// subject `where` let through, in fact order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    /// The rule.
    pub rule: String,
    /// The subjects.
    pub subjects: Vec<CheckedSubject>,
    /// The cluster of a fleet run, as in [`Finding::cluster`].
    pub cluster: Option<String>,
}

/// One subject a rule checked, identified from its fact document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedSubject {
    /// The rule's subject kind, the document's `metadata.namespace` and
    /// `metadata.name` (for documents without one, an AWS resource, the first
    /// top-level string member whose name ends in `Arn`, else `""`).
    pub subject: Subject,
    /// The document's `metadata.uid`, when it has one.
    pub uid: Option<String>,
}

impl CheckedSubject {
    /// The identity of `doc`, a fact of `kind`.
    pub fn of(kind: &str, doc: &serde_json::Value) -> Self {
        let text = |p: &str| doc.pointer(p).and_then(|v| v.as_str()).map(str::to_string);
        let name = text("/metadata/name")
            .or_else(|| {
                doc.as_object().and_then(|m| {
                    m.iter()
                        .find(|(k, v)| (k.ends_with("Arn") || k.ends_with("ARN")) && v.is_string())
                        .and_then(|(_, v)| v.as_str().map(str::to_string))
                })
            })
            .unwrap_or_default();
        CheckedSubject {
            subject: Subject {
                kind: kind.to_string(),
                namespace: text("/metadata/namespace"),
                name,
            },
            uid: text("/metadata/uid"),
        }
    }
}

impl Report {
    /// The highest severity among the findings.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Marks every finding, evaluation error, inconclusive entry and checked
    /// list as `cluster`'s (a fleet run).
    pub fn tag_cluster(&mut self, cluster: &str) {
        let name = Some(cluster.to_string());
        self.findings
            .iter_mut()
            .for_each(|f| f.cluster.clone_from(&name));
        self.errors
            .iter_mut()
            .for_each(|e| e.cluster.clone_from(&name));
        self.inconclusive
            .iter_mut()
            .for_each(|i| i.cluster.clone_from(&name));
        self.checked
            .iter_mut()
            .for_each(|c| c.cluster.clone_from(&name));
    }

    /// Sorts findings into their documented order.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.subject, &a.rule, &a.message).cmp(&(&b.subject, &b.rule, &b.message))
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn placeholders_are_filled_in_from_the_last() {
        let step = FixStep {
            description: "d".into(),
            argv: None,
            command: "echo <A> x=<B>".into(),
            placeholders: vec![
                FixPlaceholder {
                    name: "A".into(),
                    description: "a".into(),
                    at: PlaceholderWhere {
                        command: vec![TextRange { start: 5, end: 8 }],
                        argv: Vec::new(),
                    },
                },
                FixPlaceholder {
                    name: "B".into(),
                    description: "b".into(),
                    at: PlaceholderWhere {
                        command: vec![TextRange { start: 11, end: 14 }],
                        argv: Vec::new(),
                    },
                },
            ],
        };
        assert_eq!(
            step.command_with(|n| (n == "A").then(|| "'a b'".to_string())),
            "echo 'a b' x=<B>"
        );
        assert_eq!(step.command_with(|n| Some(n.to_lowercase())), "echo a x=b");
    }

    #[test]
    fn severities_parse_and_order() {
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert!(Severity::Critical > Severity::Info);
        assert!("urgent".parse::<Severity>().is_err());
        assert_eq!(
            serde_json::to_string(&Severity::Medium).unwrap(),
            "\"medium\""
        );
    }
}
