//! Test coverage of rules: which bindings, conditions and fix steps the test cases
//! exercised.
//!
//! `load` numbers every place of a rule that a test can exercise (a **site**): each
//! condition node (matchers, `all`, `any`, `not`, the list shorthand for `all`, in
//! `subject.where`, `each.where`, a binding's `if:`, a join's `where:`, `when` and a
//! fix step's `if:`), each binding, `each`, and each fix step, parts expanded into
//! the rule included (at the part file's position, with the part's name). The
//! conditions of one root are numbered in preorder, so the engine needs no number
//! in the condition tree: [`eval_traced`] walks it with the root's first number.
//!
//! The engine records into a [`Coverage`] only when the test runner passes one
//! (`engine::check_covered`); `check` and live runs pass none and pay nothing but
//! an `Option` test per site.

use std::cell::Cell;
use std::collections::HashMap;
use std::path::PathBuf;

use crate::expr::{Cond, Scope};
use crate::rule::Rule;
use crate::yaml::Pos;

/// The number of a site in its rule's [`Sites`].
pub(crate) type SiteId = u32;

/// No site (an absent condition).
pub(crate) const NO_SITE: SiteId = SiteId::MAX;

/// Evaluated at least once (conditions: with either outcome; bindings: computed).
const EVALUATED: u8 = 1;
/// A condition was true.
const TRUE: u8 = 2;
/// A condition was false.
const FALSE: u8 = 4;
/// A join found a fact, `each` an element, a fix step was rendered.
const MATCHED: u8 = 8;

/// What a site is, which decides what exercising it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteKind {
    /// A condition: exercised when it was true once and false once.
    Condition,
    /// A condition whose outcomes follow from another site's (`not`): not reported.
    Implied,
    /// A `join` binding: exercised when it found a fact.
    Join,
    /// A `call` or `value` binding: exercised when it was computed.
    Binding,
    /// A value given to a part's input: not reported.
    Input,
    /// `each`: exercised when it produced an element.
    Each,
    /// A fix step: exercised when it was rendered.
    Fix,
}

/// A place of a rule that tests can exercise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The file it is written in (a part's file for a part's site).
    pub file: PathBuf,
    /// Its position.
    pub pos: Pos,
    /// What it is.
    pub kind: SiteKind,
    /// What it is, in words: `` `$.status.phase` in `` and the like, or
    /// `` binding `node` ``.
    pub what: String,
    /// The part it comes from (`pack/name`), when it comes from one.
    pub part: Option<String>,
}

/// The sites of one rule, numbered by [`SiteId`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sites {
    /// Every site.
    pub sites: Vec<Site>,
    /// The first site of `subject.where`, `when` (or [`NO_SITE`]).
    pub(crate) filter: SiteId,
    pub(crate) when: SiteId,
}

impl Sites {
    pub(crate) fn push(&mut self, site: Site) -> SiteId {
        let id = SiteId::try_from(self.sites.len()).unwrap_or(NO_SITE);
        self.sites.push(site);
        id
    }

    pub(crate) fn set_kind(&mut self, id: SiteId, kind: SiteKind) {
        if let Some(s) = usize::try_from(id).ok().and_then(|i| self.sites.get_mut(i)) {
            s.kind = kind;
        }
    }

    /// The number the next site will have.
    pub(crate) fn next(&self) -> SiteId {
        SiteId::try_from(self.sites.len()).unwrap_or(NO_SITE)
    }
}

/// What the test cases exercised, per rule, accumulated over the cases run with it.
#[derive(Debug, Default)]
pub struct Coverage {
    hits: HashMap<String, Vec<Cell<u8>>>,
    cases: HashMap<String, usize>,
}

/// A site no test case exercised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    /// The site.
    pub site: Site,
    /// What did not happen: `never true`, `never false`, `never evaluated`,
    /// `never matched`, `never computed`, `never produced an element`,
    /// `never rendered`.
    pub missing: &'static str,
}

impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {} {}",
            self.site.file.display(),
            self.site.pos,
            self.site.what,
            self.missing
        )?;
        if let Some(p) = &self.site.part {
            write!(f, " (part `{p}`)")?;
        }
        Ok(())
    }
}

/// How much of one rule the cases exercised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleCoverage {
    /// The rule.
    pub rule: String,
    /// The test cases that ran it.
    pub cases: usize,
    /// Sites reported (conditions, bindings, `each`, fix steps).
    pub total: usize,
    /// What was not exercised, in site order.
    pub gaps: Vec<Gap>,
}

impl RuleCoverage {
    /// Whether every site was exercised.
    pub fn complete(&self) -> bool {
        self.gaps.is_empty()
    }
}

impl Coverage {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The hit flags of `rule`, one per site (created on first use); counts a case.
    pub(crate) fn rule_hits(&mut self, rule: &Rule) -> &[Cell<u8>] {
        *self.cases.entry(rule.id.clone()).or_default() += 1;
        let hits = self
            .hits
            .entry(rule.id.clone())
            .or_insert_with(|| vec![Cell::new(0); rule.coverage.sites.len()]);
        if hits.len() < rule.coverage.sites.len() {
            hits.resize(rule.coverage.sites.len(), Cell::new(0));
        }
        hits
    }

    /// How much of `rule` the cases run so far exercised (`None` when none ran it).
    pub fn of_rule(&self, rule: &Rule) -> Option<RuleCoverage> {
        let hits = self.hits.get(&rule.id)?;
        let mut out = RuleCoverage {
            rule: rule.id.clone(),
            cases: self.cases.get(&rule.id).copied().unwrap_or(0),
            ..RuleCoverage::default()
        };
        for (i, site) in rule.coverage.sites.iter().enumerate() {
            let h = hits.get(i).map_or(0, Cell::get);
            let missing = match site.kind {
                SiteKind::Implied | SiteKind::Input => continue,
                SiteKind::Condition => match (h & TRUE != 0, h & FALSE != 0) {
                    (true, true) => None,
                    (true, false) => Some("never false"),
                    (false, true) => Some("never true"),
                    (false, false) => Some("never evaluated"),
                },
                SiteKind::Join if h & EVALUATED == 0 => Some("never evaluated"),
                SiteKind::Join => (h & MATCHED == 0).then_some("never matched"),
                SiteKind::Binding => (h & EVALUATED == 0).then_some("never computed"),
                SiteKind::Each => (h & MATCHED == 0).then_some("never produced an element"),
                SiteKind::Fix => (h & MATCHED == 0).then_some("never rendered"),
            };
            out.total += 1;
            if let Some(missing) = missing {
                out.gaps.push(Gap {
                    site: site.clone(),
                    missing,
                });
            }
        }
        Some(out)
    }
}

fn set(hits: &[Cell<u8>], site: SiteId, flag: u8) {
    if let Some(c) = usize::try_from(site).ok().and_then(|i| hits.get(i)) {
        c.set(c.get() | flag);
    }
}

/// Records that a binding was computed.
pub(crate) fn evaluated(hits: &[Cell<u8>], site: SiteId) {
    set(hits, site, EVALUATED);
}

/// Records that a join found a fact, `each` an element, a fix step was rendered.
pub(crate) fn matched(hits: &[Cell<u8>], site: SiteId) {
    set(hits, site, MATCHED);
}

/// Evaluates `cond` exactly as [`Cond::eval`] does (same short-circuits), recording
/// each node's outcome; `first` is the number of its root, its nodes numbered in
/// preorder from there.
pub(crate) fn eval_traced(
    cond: &Cond,
    scope: &Scope<'_>,
    first: SiteId,
    hits: &[Cell<u8>],
) -> bool {
    let mut next = first;
    traced(cond, scope, &mut next, hits)
}

fn traced(cond: &Cond, scope: &Scope<'_>, next: &mut SiteId, hits: &[Cell<u8>]) -> bool {
    let me = *next;
    *next = next.saturating_add(1);
    let result = match cond {
        Cond::All(cs) | Cond::Any(cs) => {
            let all = matches!(cond, Cond::All(_));
            let mut decided = None;
            for c in cs {
                if decided.is_some() {
                    *next = next.saturating_add(size(c));
                    continue;
                }
                let v = traced(c, scope, next, hits);
                if v != all {
                    decided = Some(v);
                }
            }
            decided.unwrap_or(all)
        }
        Cond::Not(c) => !traced(c, scope, next, hits),
        Cond::Match(m) => m.eval(scope),
    };
    set(hits, me, EVALUATED | if result { TRUE } else { FALSE });
    result
}

/// The number of nodes of a condition tree.
fn size(cond: &Cond) -> SiteId {
    match cond {
        Cond::All(cs) | Cond::Any(cs) => cs.iter().map(size).fold(1, SiteId::saturating_add),
        Cond::Not(c) => size(c).saturating_add(1),
        Cond::Match(_) => 1,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{FactStore, SourceFile, load_rules};

    const RULES: &str = r#"
parts:
  - id: pending
    condition: {path: $.status.phase, equals: Pending}
  - id: restart
    fix:
      - description: restart
        argv: [kubectl, delete, pod, "{{ subject.metadata.name }}"]
rules:
  - id: r
    title: T
    severity: low
    subject: {kind: k8s/v1/Pod, where: {use: pending}}
    each: {as: c, path: "$.spec.containers[*]"}
    let:
      node: {join: k8s/v1/Node, on: $.metadata.name, equals: $.spec.nodeName, one: true}
      name: {value: $c.name, if: {path: $c.name, exists: true}}
    when:
      any:
        - {path: $c.image, startsWith: "docker.io/"}
        - not: {path: $node.status.ready, equals: true}
    finding:
      message: "{{ c.name }}"
      fix:
        - description: never
          if: {path: $c.name, equals: nobody}
          argv: [echo, "{{ c.name }}"]
        - use: restart
"#;

    fn facts(v: serde_json::Value) -> FactStore {
        let mut f = FactStore::new();
        f.add_facts_map(v.as_object().unwrap().clone()).unwrap();
        f
    }

    fn gaps(cov: &Coverage, set: &crate::RuleSet) -> Vec<String> {
        let rule = set.get("r").unwrap();
        cov.of_rule(rule)
            .unwrap()
            .gaps
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn coverage_names_what_the_cases_did_not_exercise() {
        let (set, errors) = load_rules(&[SourceFile {
            path: "r.yaml".into(),
            text: RULES.into(),
        }]);
        assert!(errors.is_empty(), "{errors:?}");
        let mut cov = Coverage::new();
        assert!(cov.of_rule(set.get("r").unwrap()).is_none());

        // A pending pod with a docker.io image on no known node: fires.
        let one = facts(serde_json::json!({"k8s/v1/Pod": [
            {"metadata": {"name": "a"}, "status": {"phase": "Pending"}, "spec": {"nodeName": "n",
             "containers": [{"name": "app", "image": "docker.io/x"}]}}]}));
        let report = crate::engine::check_covered(&set, &one, |_| true, &mut cov);
        assert_eq!(report.findings.len(), 1);
        assert_eq!(
            gaps(&cov, &set),
            [
                "r.yaml:4:16: condition `$.status.phase equals` in `subject.where` never false (part `pending`)",
                "r.yaml:16:7: binding `node` never matched",
                "r.yaml:17:34: condition `$c.name exists` in `let.name.if` never false",
                "r.yaml:19:7: condition `any` in `when` never false",
                "r.yaml:20:11: condition `$c.image startsWith` in `when` never false",
                "r.yaml:21:16: condition `$node.status.ready equals` in `when` never evaluated",
                "r.yaml:25:11: fix step 1 never rendered",
                "r.yaml:26:15: condition `$c.name equals` in `fix step 1 if` never true",
            ]
        );

        // A running pod, and a pending one on a ready node with other images, one
        // container without a name: quiet. The second case fills in everything but
        // a node that is not ready and the fix step that never applies.
        let two = facts(serde_json::json!({
            "k8s/v1/Pod": [
                {"metadata": {"name": "b"}, "status": {"phase": "Running"}},
                {"metadata": {"name": "c"}, "status": {"phase": "Pending"}, "spec": {"nodeName": "n",
                 "containers": [{"name": "app", "image": "ghcr.io/x"}, {"image": "ghcr.io/y"}]}}],
            "k8s/v1/Node": [{"metadata": {"name": "n"}, "status": {"ready": true}}]}));
        let report = crate::engine::check_covered(&set, &two, |_| true, &mut cov);
        assert!(report.findings.is_empty());
        assert_eq!(
            gaps(&cov, &set),
            [
                "r.yaml:21:16: condition `$node.status.ready equals` in `when` never false",
                "r.yaml:25:11: fix step 1 never rendered",
                "r.yaml:26:15: condition `$c.name equals` in `fix step 1 if` never true",
            ]
        );
        let rc = cov.of_rule(set.get("r").unwrap()).unwrap();
        assert_eq!(rc.cases, 2);
        // subject.where, each, node, name, name.if, any, 2 matchers (not is
        // implied), 2 fix steps, 1 fix `if`.
        assert_eq!(rc.total, 11);
        assert!(!rc.complete());
    }

    /// Short-circuits are the engine's: a condition after a decided `all`/`any`
    /// element is not evaluated, and its number is skipped.
    #[test]
    fn traced_evaluation_agrees_with_eval() {
        let (set, errors) = load_rules(&[SourceFile {
            path: "r.yaml".into(),
            text: RULES.into(),
        }]);
        assert!(errors.is_empty(), "{errors:?}");
        let rule = set.get("r").unwrap();
        let when = rule.when.as_ref().unwrap();
        let doc = serde_json::json!({"image": "docker.io/x"});
        for node in [
            serde_json::json!(null),
            serde_json::json!({"status": {"ready": false}}),
        ] {
            let scope = Scope {
                slots: vec![
                    crate::expr::Slot::Ref(&serde_json::Value::Null),
                    crate::expr::Slot::Ref(&serde_json::Value::Null),
                    crate::expr::Slot::Ref(&doc),
                    crate::expr::Slot::Owned(node),
                ],
            };
            let hits = vec![Cell::new(0); rule.coverage.sites.len()];
            assert_eq!(
                eval_traced(when, &scope, rule.coverage.when, &hits),
                when.eval(&scope)
            );
            // The `not` and its matcher were skipped: the first `any` element held.
            let w = rule.coverage.when as usize;
            assert_eq!(hits[w + 1].get(), EVALUATED | TRUE);
            assert_eq!(hits[w + 2].get(), 0);
            assert_eq!(hits[w + 3].get(), 0);
        }
    }
}
