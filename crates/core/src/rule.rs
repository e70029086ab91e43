//! The compiled rule model. Rules are built only by [`crate::load`]; everything a
//! rule needs at run time (paths, regexes, templates, functions, slot numbers) is
//! resolved there, once.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Serialize;

use crate::coverage::SiteId;
use crate::expr::{Cond, ScopedPath, ValueExpr};
use crate::finding::Severity;
use crate::func::Function;
use crate::template::{TemplateId, Templates};
use crate::yaml::Pos;
use rulerun_jsonpath::JsonPath;

/// Where something was defined.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The file.
    pub file: PathBuf,
    /// The position of the definition.
    pub pos: Pos,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.pos)
    }
}

impl Serialize for Pos {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A rule's documentation fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleDocs {
    /// One paragraph: what the rule detects.
    pub summary: String,
    /// Why it matters.
    pub why_it_matters: String,
    /// How to fix it, in prose.
    pub how_to_fix: String,
    /// Links.
    pub references: Vec<String>,
}

/// A rule parameter with its default.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Param {
    /// The name.
    pub name: String,
    /// What it means.
    pub description: String,
    /// Its value unless configured.
    pub default: serde_json::Value,
}

/// Why an override could not be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OverrideError {
    /// No such rule.
    #[error("no loaded rule has id `{0}`")]
    UnknownRule(String),
    /// No such parameter.
    #[error("rule `{rule}` has no parameter `{param}`")]
    UnknownParam {
        /// The rule.
        rule: String,
        /// The parameter.
        param: String,
        /// Its parameters.
        known: Vec<String>,
    },
    /// A value of another JSON type than the default's.
    #[error("parameter `{param}` of rule `{rule}` takes {expected}, found {found}")]
    WrongType {
        /// The rule.
        rule: String,
        /// The parameter.
        param: String,
        /// The default's type.
        expected: &'static str,
        /// The value's type.
        found: &'static str,
    },
}

/// A loaded rule.
#[derive(Debug)]
pub struct Rule {
    /// Stable id, e.g. `ecr-repository-policy-denies-pull`.
    pub id: String,
    /// One line.
    pub title: String,
    /// Severity of its findings.
    pub severity: Severity,
    /// Free-form labels.
    pub labels: Vec<String>,
    /// Documentation.
    pub docs: RuleDocs,
    /// Parameters teams may set (`params.NAME` in templates, `$params.NAME` in paths).
    pub params: Vec<Param>,
    /// The parameters' values: defaults, then overrides.
    pub param_values: serde_json::Value,
    /// Rules whose findings on the same subject this rule's findings replace
    /// (a precise diagnosis supersedes a generic symptom).
    pub supersedes: Vec<String>,
    /// Where the rule was defined.
    pub source: Source,
    /// The fact kind of the subject.
    pub subject_kind: String,
    /// Every fact kind the rule reads (subject and joins).
    pub kinds: BTreeSet<String>,
    pub(crate) names: Vec<String>,
    pub(crate) filter: Option<Cond>,
    pub(crate) each: Option<Each>,
    pub(crate) bindings: Vec<Binding>,
    pub(crate) when: Option<Cond>,
    pub(crate) finding: FindingSpec,
    /// The parts the rule uses (`pack/name`), bindings parts in expansion order.
    pub parts: Vec<String>,
    /// The names the rule's templates read: template contexts hold only those.
    pub(crate) template_vars: crate::template::Variables,
    /// The indexes of the templates compiled for this rule (field projection
    /// analyses their sources).
    pub(crate) templates: std::ops::Range<usize>,
    /// The places tests can exercise (`rulerun test` reports those they did not).
    pub(crate) coverage: crate::coverage::Sites,
}

#[derive(Debug)]
pub(crate) struct Each {
    pub path: ScopedPath,
    pub filter: Option<Cond>,
    /// Coverage sites: `each` itself, and the first of `where`.
    pub site: SiteId,
    pub filter_site: SiteId,
}

#[derive(Debug)]
pub(crate) struct Binding {
    pub slot: usize,
    pub kind: BindingKind,
    /// `if:`: the binding is computed only when this holds, else it is null.
    pub guard: Option<Cond>,
    /// Coverage sites: the binding, and the first of `if:`.
    pub site: SiteId,
    pub guard_site: SiteId,
}

#[derive(Debug)]
pub(crate) enum BindingKind {
    Join(Box<Join>),
    Call {
        function: &'static Function,
        args: Vec<ValueExpr>,
        /// The pattern argument, compiled at load, of a function with one
        /// (`Function::compiled`).
        pattern: Option<regex::Regex>,
    },
    Value(ValueExpr),
}

#[derive(Debug)]
pub(crate) struct Join {
    /// The index this join reads: kind plus canonical key paths.
    pub id: crate::join::JoinId,
    pub kind: String,
    /// Key paths evaluated on each fact of `kind` (the index).
    pub on: Vec<JsonPath>,
    /// Key paths evaluated in the scope (the lookup).
    pub equals: Vec<ScopedPath>,
    pub filter: Option<Cond>,
    pub one: bool,
    /// The coverage site of the first node of `where`.
    pub filter_site: SiteId,
}

#[derive(Debug)]
pub(crate) struct FindingSpec {
    pub subject: SubjectSpec,
    pub message: TemplateId,
    pub evidence: Vec<(String, ValueExpr)>,
    pub fix: Vec<FixSpec>,
}

#[derive(Debug, Default)]
pub(crate) struct SubjectSpec {
    pub kind: Option<ValueExpr>,
    pub namespace: Option<ValueExpr>,
    pub name: Option<ValueExpr>,
}

#[derive(Debug)]
pub(crate) struct FixSpec {
    pub description: TemplateId,
    pub command: FixCommand,
    /// `if:`: the step is given only when this holds.
    pub guard: Option<Cond>,
    /// Coverage sites: the step, and the first of `if:`.
    pub site: SiteId,
    pub guard_site: SiteId,
    /// `placeholders:`: the values the user supplies, in the order declared.
    pub placeholders: Vec<PlaceholderSpec>,
}

/// A declared placeholder of a fix step: `NAME: description`.
#[derive(Debug)]
pub(crate) struct PlaceholderSpec {
    pub name: String,
    /// What to put there (a template).
    pub description: TemplateId,
}

#[derive(Debug)]
pub(crate) enum FixCommand {
    Argv(Vec<ArgvPart>),
    Shell(TemplateId),
}

/// One element of an `argv` fix.
#[derive(Debug)]
pub(crate) enum ArgvPart {
    /// A template: exactly one argument.
    Template(TemplateId),
    /// A path (`$...`): its value spliced in, one argument per array element.
    Path(ScopedPath),
}

/// Rules and the templates they render with.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// The rules, in load order.
    pub rules: Vec<Rule>,
    /// The parts of the loaded packs, with the rules that use each.
    pub parts: Vec<crate::parts::PartInfo>,
    /// What loading found suspicious (paths naming fields their kinds cannot
    /// have), sorted, each once.
    pub warnings: Vec<crate::warning::Warning>,
    pub(crate) templates: Templates,
}

impl Rule {
    /// How many joins the rule computes, one after another: a live run resolves at
    /// least one more of them per candidate in each round of fetching, so this
    /// bounds the rounds the rule can need.
    pub fn join_count(&self) -> usize {
        self.bindings
            .iter()
            .filter(|b| matches!(b.kind, BindingKind::Join(_)))
            .count()
    }
}

impl RuleSet {
    /// The rule with this id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Every fact kind any rule reads.
    pub fn kinds(&self) -> BTreeSet<String> {
        self.rules
            .iter()
            .flat_map(|r| r.kinds.iter().cloned())
            .collect()
    }

    /// Every join on `kind`, once each.
    pub fn joins_of(&self, kind: &str) -> Vec<crate::join::JoinId> {
        self.rules
            .iter()
            .flat_map(|r| r.bindings.iter())
            .filter_map(|b| match &b.kind {
                BindingKind::Join(j) if j.kind == kind => Some(j.id.clone()),
                _ => None,
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Sets a rule's severity (configuration overrides).
    pub fn set_severity(&mut self, id: &str, severity: Severity) -> Result<(), OverrideError> {
        let rule = self
            .rules
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| OverrideError::UnknownRule(id.to_string()))?;
        rule.severity = severity;
        Ok(())
    }

    /// Sets a rule parameter; the value must have the JSON type of the default
    /// (any type when the default is null).
    pub fn set_param(
        &mut self,
        id: &str,
        param: &str,
        value: serde_json::Value,
    ) -> Result<(), OverrideError> {
        let rule = self
            .rules
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| OverrideError::UnknownRule(id.to_string()))?;
        let Some(p) = rule.params.iter().find(|p| p.name == param) else {
            return Err(OverrideError::UnknownParam {
                rule: id.to_string(),
                param: param.to_string(),
                known: rule.params.iter().map(|p| p.name.clone()).collect(),
            });
        };
        let same_type = std::mem::discriminant(&p.default) == std::mem::discriminant(&value)
            || p.default.is_null();
        if !same_type {
            return Err(OverrideError::WrongType {
                rule: id.to_string(),
                param: param.to_string(),
                expected: crate::func::type_name(&p.default),
                found: crate::func::type_name(&value),
            });
        }
        if let serde_json::Value::Object(map) = &mut rule.param_values {
            map.insert(param.to_string(), value);
        }
        Ok(())
    }

    /// Keeps only the rules for which `keep` is true.
    pub fn retain(&mut self, keep: impl FnMut(&Rule) -> bool) {
        self.rules.retain(keep);
    }
}
