//! Evaluation: rules over facts, to findings.
//!
//! For each rule: every fact of the subject kind is filtered by `subject.where`;
//! `each` expands it into elements; `let` bindings are computed in order; `when`
//! decides; the finding is rendered. Joins look candidates up in hash indexes built
//! once per (kind, key paths) for the whole run before any rule runs, so a join costs
//! one hash lookup per subject, never a scan of the joined kind.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::coverage::{self, Coverage, SiteId};
use crate::expr::{Cond, Op, Scope, ScopedPath, Slot, ValueExpr, key_text};
use crate::facts::FactStore;
use crate::finding::{ArgvRange, FixPlaceholder, PlaceholderWhere, TextRange};
use crate::finding::{EvalError, Finding, FixStep, Report, Subject};
use crate::func::Function;
use crate::join::JoinId;
use crate::rule::{ArgvPart, BindingKind, FixCommand, Join, Rule, RuleSet};
use crate::template::{self, Templates, check_argument, check_aws_argument, is_aws_cli};
use rulerun_jsonpath::JsonPath;

const KEY_SEP: char = '\u{1f}';

/// An index of one kind's facts by key paths: key text to positions.
type Index = HashMap<String, Vec<u32>>;

/// Evaluates every rule of `rules` over `facts`.
pub fn check(rules: &RuleSet, facts: &FactStore) -> Report {
    check_selected(rules, facts, |_| true)
}

/// What a live run has collected so far, for [`check_planned`]: the kinds fetched
/// by key (and which keys), and what could not be collected.
///
/// What is missing makes only the candidates that need it inconclusive: a rule
/// whose subject kind is missing cannot enumerate its subjects and is inconclusive
/// as a whole; any other rule runs, and a candidate that reaches a join on a
/// missing kind (or a join no fetch answers) is inconclusive for its subject, while
/// the candidates that never reach it are decided as usual.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// By join (kind and canonical `on` paths): the keys fetched and those
    /// whose fetch failed.
    pub keyed: HashMap<JoinId, KeyState>,
    /// Kinds that could not be collected at all, with the reason (e.g. a 403):
    /// neither a subject nor a join can read them.
    pub unavailable: std::collections::BTreeMap<String, String>,
    /// Kinds that are fetched by key but cannot be listed whole, with the reason
    /// (AWS kinds): a rule with such a subject kind is inconclusive as a whole;
    /// joins on them are answered by key.
    pub unlisted: std::collections::BTreeMap<String, String>,
    /// Joins that no fetch answers, with the reason (an
    /// AWS kind joined on other paths than its fetch operations are keyed by): a
    /// candidate that reaches one is inconclusive.
    pub unavailable_joins: std::collections::BTreeMap<JoinId, String>,
    /// Set when the runner stops fetching (its cap on rounds): keys not fetched
    /// yet never will be, so a candidate that needs one is inconclusive, with this
    /// reason and the kind, instead of waiting.
    pub stopped: Option<String>,
}

/// The keys of one keyed kind.
#[derive(Debug, Clone, Default)]
pub struct KeyState {
    /// Keys fetched (found or recorded as absent).
    pub fetched: std::collections::HashSet<Vec<String>>,
    /// Keys whose fetch failed, with the reason.
    pub failed: HashMap<Vec<String>, String>,
}

impl Plan {
    /// Declares that `kind` joined on `on` is fetched by key.
    pub fn keyed_kind(&mut self, kind: &str, on: &[&str]) {
        self.keyed.entry(JoinId::new(kind, on)).or_default();
    }
}

/// Keys a rule asked for that a keyed kind does not hold yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    /// The join: the kind and its canonical `on` paths.
    pub join: JoinId,
    /// The key tuples (one value per `on` path).
    pub keys: std::collections::BTreeSet<Vec<String>>,
    /// The namespaces of the subjects that asked.
    pub namespaces: std::collections::BTreeSet<String>,
}

/// Evaluates like [`check`], for a live run that fetches some kinds by key: a
/// join on a keyed kind whose keys are not fetched yet records a [`Demand`] and
/// leaves that candidate undecided (no finding, no error); a key whose fetch
/// failed, or a join on a kind that could not be collected, makes the candidate
/// inconclusive for its subject (no demand is recorded for it); a rule whose
/// subject kind could not be collected is inconclusive as a whole. The runner
/// fetches the demands and calls again until nothing is demanded.
pub fn check_planned(rules: &RuleSet, facts: &FactStore, plan: &Plan) -> (Report, Vec<Demand>) {
    let mut demands: HashMap<JoinId, Demand> = HashMap::new();
    let mut report = evaluate(rules, facts, |_| true, Some((plan, &mut demands)), None);
    report
        .inconclusive
        .sort_by(|a, b| (&a.rule, &a.subject, &a.reason).cmp(&(&b.rule, &b.subject, &b.reason)));
    report.inconclusive.dedup();
    let mut demands: Vec<Demand> = demands.into_values().collect();
    demands.sort_by(|a, b| a.join.cmp(&b.join));
    (report, demands)
}

/// Evaluates the rules of `rules` for which `select` is true.
pub fn check_selected(
    rules: &RuleSet,
    facts: &FactStore,
    select: impl Fn(&Rule) -> bool,
) -> Report {
    evaluate(rules, facts, select, None, None)
}

/// Evaluates like [`check_selected`], recording into `coverage` which conditions,
/// bindings, `each` and fix steps of the selected rules the facts exercised (for
/// `rulerun test`; see [`crate::coverage`]).
pub fn check_covered(
    rules: &RuleSet,
    facts: &FactStore,
    select: impl Fn(&Rule) -> bool,
    coverage: &mut Coverage,
) -> Report {
    evaluate(rules, facts, select, None, Some(coverage))
}

fn evaluate(
    rules: &RuleSet,
    facts: &FactStore,
    select: impl Fn(&Rule) -> bool,
    mut planned: Option<(&Plan, &mut HashMap<JoinId, Demand>)>,
    mut coverage: Option<&mut Coverage>,
) -> Report {
    let (indexes, failed_indexes) = build_indexes(rules, facts, &select);
    let mut report = Report {
        facts: facts.len(),
        ..Report::default()
    };
    let mut held: Vec<Held> = Vec::new();
    for rule in rules.rules.iter().filter(|r| select(r)) {
        // A subject kind that could not be collected: the rule cannot enumerate
        // its subjects, so it is inconclusive as a whole.
        if let Some((plan, _)) = &planned {
            let kind = &rule.subject_kind;
            if let Some(reason) = plan
                .unavailable
                .get(kind)
                .or_else(|| plan.unlisted.get(kind))
            {
                report.inconclusive.push(crate::finding::Inconclusive {
                    rule: rule.id.clone(),
                    subject: None,
                    reason: format!("`{kind}` could not be collected: {reason}"),
                    cluster: None,
                });
                held.push(Held {
                    rule: rule.id.clone(),
                    subject: None,
                    element: None,
                });
                continue;
            }
        }
        report.rules_evaluated += 1;
        let hits = coverage.as_deref_mut().map(|c| c.rule_hits(rule));
        if let Some(message) = rule.bindings.iter().find_map(|b| match &b.kind {
            BindingKind::Join(j) => failed_indexes.get(&j.id),
            _ => None,
        }) {
            report.errors.push(EvalError {
                rule: rule.id.clone(),
                subject: None,
                message: message.clone(),
                cluster: None,
            });
            continue;
        }
        // The index each binding's join reads, looked up once per rule rather than
        // once per subject.
        let joins = rule
            .bindings
            .iter()
            .map(|b| match &b.kind {
                BindingKind::Join(j) => indexes.get(&j.id),
                _ => None,
            })
            .collect();
        let mut ev = Evaluator {
            rule,
            facts,
            planned: planned.as_mut().map(|(p, d)| (*p, &mut **d)),
            joins,
            rule_value: std::cell::OnceCell::new(),
            subject_converted: std::cell::RefCell::default(),
            converted: std::cell::RefCell::default(),
            templates: &rules.templates,
            report: &mut report,
            held: &mut held,
            hits,
            reads: std::cell::OnceCell::new(),
        };
        ev.run();
    }
    drop_superseded(rules, &mut report);
    mark_undecided(rules, &mut report, &held);
    report.sort();
    report
}

/// A rule that could not decide, for a subject (and `each` element) or for all
/// (`subject: None`): the findings it supersedes there are marked.
struct Held {
    rule: String,
    subject: Option<Subject>,
    element: Option<String>,
}

/// Marks the findings that a rule which could not decide supersedes on their
/// subject (and element, as [`drop_superseded`] matches them): had it decided, its
/// finding might have replaced them. They stay reported (the symptom they name is
/// real) and list that rule in [`Finding::may_be_superseded_by`].
fn mark_undecided(rules: &RuleSet, report: &mut Report, held: &[Held]) {
    // (superseded rule, subject or None for all) -> (element or None for all, rule)
    type Key<'r> = (&'r str, Option<&'r Subject>);
    let mut by: HashMap<Key<'_>, Vec<(Option<&str>, &str)>> = HashMap::new();
    for h in held {
        let Some(rule) = rules.get(&h.rule) else {
            continue;
        };
        for s in &rule.supersedes {
            by.entry((s.as_str(), h.subject.as_ref()))
                .or_default()
                .push((h.element.as_deref(), rule.id.as_str()));
        }
    }
    if by.is_empty() {
        return;
    }
    for f in &mut report.findings {
        let mut undecided: Vec<String> = Vec::new();
        for key in [(f.rule.as_str(), Some(&f.subject)), (f.rule.as_str(), None)] {
            for (element, rule) in by.get(&key).into_iter().flatten() {
                let same = match (element, &f.element) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                };
                if same {
                    undecided.push((*rule).to_string());
                }
            }
        }
        undecided.sort();
        undecided.dedup();
        f.may_be_superseded_by = undecided;
    }
}

/// How `supersedes` tells `each` elements apart: by their `name` member (container
/// statuses, volumes, ports...), which stays the same under field projection, else
/// by their JSON text.
fn element_key(v: &Value) -> String {
    match v.get("name").and_then(Value::as_str) {
        Some(name) => format!("name:{name}"),
        None => v.to_string(),
    }
}

/// Removes findings that a more precise rule's finding on the same subject
/// supersedes. When both rules iterate an `each` list, only the finding about the
/// same element is replaced (one container's generic finding, not its sibling's).
fn drop_superseded(rules: &RuleSet, report: &mut Report) {
    type Key<'r> = (&'r str, crate::finding::Subject, Option<String>);
    // (superseded rule, subject, element of the superseding finding)
    let mut replaced: std::collections::HashSet<Key<'_>> = std::collections::HashSet::new();
    // (superseded rule, subject): some finding supersedes it there
    let mut touched: std::collections::HashSet<(&str, crate::finding::Subject)> =
        std::collections::HashSet::new();
    for f in &report.findings {
        if let Some(rule) = rules.get(&f.rule) {
            for s in &rule.supersedes {
                replaced.insert((s.as_str(), f.subject.clone(), f.element.clone()));
                touched.insert((s.as_str(), f.subject.clone()));
            }
        }
    }
    if replaced.is_empty() {
        return;
    }
    let dropped = |f: &Finding| {
        let rule = f.rule.as_str();
        match &f.element {
            // a finding about the whole subject goes when anything supersedes it there
            None => touched.contains(&(rule, f.subject.clone())),
            // an element's finding goes for a finding about that element, or about
            // the whole subject
            Some(_) => {
                replaced.contains(&(rule, f.subject.clone(), f.element.clone()))
                    || replaced.contains(&(rule, f.subject.clone(), None))
            }
        }
    };
    let keep: Vec<bool> = report.findings.iter().map(|f| !dropped(f)).collect();
    let before = report.findings.len();
    let mut keep = keep.into_iter();
    report.findings.retain(|_| keep.next().unwrap_or(true));
    report.superseded += before - report.findings.len();
}

fn build_indexes(
    rules: &RuleSet,
    facts: &FactStore,
    select: &impl Fn(&Rule) -> bool,
) -> (HashMap<JoinId, Index>, HashMap<JoinId, String>) {
    let mut indexes: HashMap<JoinId, Index> = HashMap::new();
    // Indexes whose `on` paths went over their node budget (incomplete).
    let mut failed: HashMap<JoinId, String> = HashMap::new();
    for rule in rules.rules.iter().filter(|r| select(r)) {
        for b in &rule.bindings {
            if let BindingKind::Join(j) = &b.kind {
                let key = j.id.clone();
                if indexes.contains_key(&key) {
                    continue;
                }
                let _ = rulerun_jsonpath::take_limit_error();
                let mut index = Index::new();
                for (i, doc) in facts.of_kind(&j.kind).iter().enumerate() {
                    let Ok(pos) = u32::try_from(i) else { break };
                    if let [on] = j.on.as_slice() {
                        // One key path: its texts are the keys, no joining needed.
                        for node in on.query(doc) {
                            match node {
                                Value::String(k) => index_add(&mut index, k, pos),
                                other => {
                                    if let Some(k) = key_text(other) {
                                        index_add(&mut index, &k, pos);
                                    }
                                }
                            }
                        }
                    } else {
                        for k in composite_keys(j.on.iter().map(|p| p.query(doc))) {
                            index_add(&mut index, &k, pos);
                        }
                    }
                }
                if let Some(e) = rulerun_jsonpath::take_limit_error() {
                    failed.insert(key.clone(), format!("join on `{}`: {e}", j.kind));
                }
                indexes.insert(key, index);
            }
        }
    }
    (indexes, failed)
}

/// Files `pos` under `key`, allocating the key only the first time it is seen.
fn index_add(index: &mut Index, key: &str, pos: u32) {
    match index.get_mut(key) {
        Some(positions) => positions.push(pos),
        None => {
            index.insert(key.to_owned(), vec![pos]);
        }
    }
}

/// The positions `index` holds for the keys `parts` find in `scope`, appended to
/// `hits` (unsorted, possibly repeated).
fn index_lookup(index: &Index, parts: &[ScopedPath], scope: &Scope<'_>, hits: &mut Vec<u32>) {
    if let [part] = parts {
        for node in part.query(scope) {
            let found = match node {
                Value::String(k) => index.get(k.as_str()),
                other => key_text(other).and_then(|k| index.get(&k)),
            };
            if let Some(found) = found {
                hits.extend_from_slice(found);
            }
        }
    } else {
        for k in composite_keys(parts.iter().map(|p| p.query(scope))) {
            if let Some(found) = index.get(&k) {
                hits.extend_from_slice(found);
            }
        }
    }
}

/// Every combination of the key parts' texts, joined by a separator.
fn composite_keys<'a>(parts: impl Iterator<Item = Vec<&'a Value>>) -> Vec<String> {
    let mut keys = vec![String::new()];
    for (n, nodes) in parts.enumerate() {
        let texts: Vec<std::borrow::Cow<'a, str>> = nodes
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(std::borrow::Cow::Borrowed(s.as_str())),
                other => key_text(other).map(std::borrow::Cow::Owned),
            })
            .collect();
        if let [t] = texts.as_slice() {
            // The usual case, one node per part: extend each key in place.
            for k in &mut keys {
                if n > 0 {
                    k.push(KEY_SEP);
                }
                k.push_str(t);
            }
            continue;
        }
        let mut next = Vec::with_capacity(keys.len() * texts.len());
        for k in &keys {
            for t in &texts {
                let mut s = k.clone();
                if n > 0 {
                    s.push(KEY_SEP);
                }
                s.push_str(t);
                next.push(s);
            }
        }
        keys = next;
    }
    keys
}

struct Evaluator<'a, 'p> {
    rule: &'a Rule,
    facts: &'a FactStore,
    /// In a live run: what is collected, and the demands to fill in.
    planned: Option<(&'p Plan, &'p mut HashMap<JoinId, Demand>)>,
    /// For each of the rule's bindings, the index its join reads (None for other
    /// bindings, and for joins without an index).
    joins: Vec<Option<&'a Index>>,
    /// `rule` in template contexts, built on first use.
    rule_value: std::cell::OnceCell<minijinja::Value>,
    /// The template value of the last subject: a subject's findings are
    /// consecutive, so one entry converts each subject once and keeps at most
    /// one converted subject alive.
    subject_converted: std::cell::RefCell<Option<(ByAddr<'a>, minijinja::Value)>>,
    /// Template values of the other values bound by reference (joined facts,
    /// `each` elements, parameters), converted once for all the rule's findings.
    converted: std::cell::RefCell<HashMap<ByAddr<'a>, minijinja::Value>>,
    templates: &'a Templates,
    report: &'a mut Report,
    /// The candidates found inconclusive, for `supersedes`.
    held: &'a mut Vec<Held>,
    /// Under `rulerun test`: the rule's coverage flags, one per site.
    hits: Option<&'p [std::cell::Cell<u8>]>,
    /// The slots each binding reads, for [`Evaluator::look_ahead`]; computed
    /// when a candidate of the rule first waits for keys.
    reads: std::cell::OnceCell<std::rc::Rc<[Option<Vec<usize>>]>>,
}

/// A value bound by reference, identified by its address: facts do not change
/// during a run, and the borrow keeps the value (so its address) alive.
#[derive(Clone, Copy)]
struct ByAddr<'a>(&'a Value);

impl PartialEq for ByAddr<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for ByAddr<'_> {}

impl std::hash::Hash for ByAddr<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.0, state);
    }
}

/// The slots each binding of `rule` reads: those of the paths and templates of
/// its `if:`, its join's keys and `where`, its arguments or value (a path's
/// own slot and the bindings its filters name; a template's names). `None` for
/// a binding whose reads cannot be told (a template reading `debug`, which is
/// every name).
fn binding_reads(rule: &Rule, templates: &Templates) -> Vec<Option<Vec<usize>>> {
    fn path(p: &ScopedPath, out: &mut Vec<usize>) {
        out.push(p.slot);
        out.extend(p.path.binding_reads().iter().map(|(id, _)| *id));
    }
    fn cond(c: &Cond, out: &mut Vec<usize>) {
        match c {
            Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| cond(c, out)),
            Cond::Not(c) => cond(c, out),
            Cond::Match(m) => {
                path(&m.path, out);
                if let Op::EqualsPath(p) | Op::NotEqualsPath(p) = &m.op {
                    path(p, out);
                }
            }
        }
    }
    fn value(v: &ValueExpr, rule: &Rule, templates: &Templates, out: &mut Vec<usize>) -> bool {
        match v {
            ValueExpr::Literal(_) => true,
            ValueExpr::Path(p) => {
                path(p, out);
                true
            }
            ValueExpr::Template(t) => {
                let Some(names) = templates.variables_of(*t) else {
                    return false;
                };
                for name in names {
                    if name == "debug" {
                        return false;
                    }
                    out.extend(
                        rule.names
                            .iter()
                            .enumerate()
                            .filter(|(_, n)| *n == name)
                            .map(|(i, _)| i),
                    );
                }
                true
            }
            ValueExpr::Array(items) => items.iter().all(|i| value(i, rule, templates, out)),
            ValueExpr::Object(entries) => {
                entries.iter().all(|(_, v)| value(v, rule, templates, out))
            }
        }
    }
    rule.bindings
        .iter()
        .map(|b| {
            let mut out = Vec::new();
            if let Some(g) = &b.guard {
                cond(g, &mut out);
            }
            let known = match &b.kind {
                BindingKind::Join(j) => {
                    j.equals.iter().for_each(|p| path(p, &mut out));
                    if let Some(f) = &j.filter {
                        cond(f, &mut out);
                    }
                    true
                }
                BindingKind::Call { args, .. } => {
                    args.iter().all(|a| value(a, rule, templates, &mut out))
                }
                BindingKind::Value(v) => value(v, rule, templates, &mut out),
            };
            out.retain(|s| *s != b.slot);
            out.sort_unstable();
            out.dedup();
            known.then_some(out)
        })
        .collect()
}

/// Why a candidate could not be decided.
enum Undecided {
    /// Keys were demanded; the next round decides.
    Pending,
    /// A fetch it needs failed.
    Inconclusive(String),
}

impl<'a> Evaluator<'a, '_> {
    /// In a live run, checks that a keyed join's keys are collected; records
    /// demands for those that are not.
    fn keys_ready(&mut self, j: &Join, scope: &Scope<'_>) -> Result<(), Undecided> {
        let Some((plan, demands)) = self.planned.as_mut() else {
            return Ok(());
        };
        let Some(state) = plan.keyed.get(&j.id) else {
            return Ok(());
        };
        let mut missing = Vec::new();
        for k in composite_keys(j.equals.iter().map(|p| p.query(scope))) {
            let tuple: Vec<String> = k.split(KEY_SEP).map(str::to_string).collect();
            if let Some(reason) = state.failed.get(&tuple) {
                return Err(Undecided::Inconclusive(reason.clone()));
            }
            if !state.fetched.contains(&tuple) {
                missing.push(tuple);
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        if let Some(stopped) = &plan.stopped {
            return Err(Undecided::Inconclusive(format!(
                "{stopped} with `{}` still to read",
                j.kind
            )));
        }
        let d = demands.entry(j.id.clone()).or_insert_with(|| Demand {
            join: j.id.clone(),
            keys: Default::default(),
            namespaces: Default::default(),
        });
        d.keys.extend(missing);
        if let Some(ns) = scope
            .slots
            .first()
            .and_then(|s| s.value().pointer("/metadata/namespace"))
            .and_then(Value::as_str)
        {
            d.namespaces.insert(ns.to_string());
        }
        Err(Undecided::Pending)
    }

    fn run(&mut self) {
        let rule = self.rule;
        self.report.checked.push(crate::finding::Checked {
            rule: rule.id.clone(),
            subjects: Vec::new(),
            cluster: None,
        });
        for subject in self.facts.of_kind(&rule.subject_kind) {
            // A path that went over its node budget got its answers cut short:
            // the subject's findings go, and the rule failed on it.
            let (findings, errors) = (self.report.findings.len(), self.report.errors.len());
            let _ = rulerun_jsonpath::take_limit_error();
            self.subject(subject);
            if let Some(e) = rulerun_jsonpath::take_limit_error() {
                self.report.findings.truncate(findings);
                self.report.errors.truncate(errors);
                let scope = Scope {
                    slots: vec![Slot::Ref(subject), Slot::Ref(&rule.param_values)],
                };
                self.error(&scope, e.to_string());
            }
        }
    }

    fn subject(&mut self, subject: &'a Value) {
        let rule = self.rule;
        let mut scope = Scope {
            slots: Vec::with_capacity(rule.names.len()),
        };
        scope.slots.push(Slot::Ref(subject));
        scope.slots.push(Slot::Ref(&rule.param_values));
        if !self.holds(rule.filter.as_ref(), rule.coverage.filter, &scope) {
            return;
        }
        if let Some(c) = self.report.checked.last_mut() {
            c.subjects.push(crate::finding::CheckedSubject::of(
                &rule.subject_kind,
                subject,
            ));
        }
        match &rule.each {
            None => self.candidate(scope),
            Some(each) => {
                for element in each.path.path.query_bound(subject, &scope) {
                    self.hit(coverage::matched, each.site);
                    let mut s = scope.clone();
                    s.slots.push(Slot::Ref(element));
                    if self.holds(each.filter.as_ref(), each.filter_site, &s) {
                        self.candidate(s);
                    }
                }
            }
        }
    }

    fn candidate(&mut self, mut scope: Scope<'a>) {
        let rule = self.rule;
        for (n, b) in rule.bindings.iter().enumerate() {
            while scope.slots.len() < b.slot {
                scope.slots.push(Slot::Unset);
            }
            if !self.holds(b.guard.as_ref(), b.guard_site, &scope) {
                scope.slots.truncate(b.slot);
                scope.slots.push(Slot::Owned(Value::Null));
                continue;
            }
            let slot = match &b.kind {
                BindingKind::Join(j) => {
                    if let Some(reason) = self.join_unavailable(j, &scope) {
                        self.inconclusive(&scope, reason);
                        return;
                    }
                    match self.keys_ready(j, &scope) {
                        Ok(()) => {}
                        Err(Undecided::Pending) => {
                            self.look_ahead(n, scope);
                            return;
                        }
                        Err(Undecided::Inconclusive(reason)) => {
                            self.inconclusive(&scope, reason);
                            return;
                        }
                    }
                    let index = self.joins.get(n).copied().flatten();
                    self.join(j, index, b.slot, &mut scope)
                }
                BindingKind::Call {
                    function,
                    args,
                    pattern,
                } => match self.call(function, args, pattern.as_ref(), &scope) {
                    Ok(v) => Slot::Owned(v),
                    Err(reason) if function.name == "inconclusive" => {
                        self.inconclusive(&scope, reason);
                        return;
                    }
                    Err(e) => {
                        let name = rule.names.get(b.slot).map_or("?", String::as_str);
                        self.error(
                            &scope,
                            format!("binding `{name}`: function `{}` failed: {e}", function.name),
                        );
                        return;
                    }
                },
                BindingKind::Value(v) => match self.value(v, &scope) {
                    Ok(v) => Slot::Owned(v),
                    Err(e) => {
                        let name = rule.names.get(b.slot).map_or("?", String::as_str);
                        self.error(&scope, format!("binding `{name}`: {e}"));
                        return;
                    }
                },
            };
            self.hit(coverage::evaluated, b.site);
            let found = match &slot {
                Slot::Ref(_) => true,
                Slot::Owned(Value::Array(items)) => !items.is_empty(),
                Slot::Owned(v) => !v.is_null(),
                Slot::Unset => false,
            };
            if found && matches!(b.kind, BindingKind::Join(_)) {
                self.hit(coverage::matched, b.site);
            }
            scope.slots.truncate(b.slot);
            scope.slots.push(slot);
        }
        if !self.holds(rule.when.as_ref(), rule.coverage.when, &scope) {
            return;
        }
        match self.finding(&scope) {
            Ok(f) => self.report.findings.push(f),
            Err(e) => self.error(&scope, e),
        }
    }

    /// Calls a binding's function with its arguments' values.
    fn call(
        &self,
        function: &'static Function,
        args: &[ValueExpr],
        pattern: Option<&regex::Regex>,
        scope: &Scope<'a>,
    ) -> Result<Value, String> {
        let values: Vec<Value> = args
            .iter()
            .map(|a| self.value(a, scope))
            .collect::<Result<_, _>>()?;
        match (function.compiled.as_ref(), pattern) {
            (Some(c), Some(re)) => (c.call)(&values, re),
            _ => (function.call)(&values),
        }
        .map_err(|e| e.to_string())
    }

    /// In a live run, once binding `pending` waits for keys: evaluates the
    /// bindings after it that read nothing waiting (by [`binding_reads`]: not
    /// it, nor any binding that reads it), so that the keys of their joins are
    /// demanded in the same round instead of one round each. A binding that
    /// reads a waiting one waits too; its `if:` is never guessed, so a join
    /// guarded by what is still to come is not fetched early. Records demands
    /// only: nothing is reported, and a binding that would end the candidate
    /// (inconclusive, an error) ends the look-ahead, as evaluation would stop
    /// there next round.
    fn look_ahead(&mut self, pending: usize, mut scope: Scope<'a>) {
        let rule = self.rule;
        let reads = std::rc::Rc::clone(
            self.reads
                .get_or_init(|| std::rc::Rc::from(binding_reads(rule, self.templates))),
        );
        let mut waiting = vec![false; rule.names.len()];
        let Some(first) = rule.bindings.get(pending) else {
            return;
        };
        if let Some(w) = waiting.get_mut(first.slot) {
            *w = true;
        }
        for (n, b) in rule.bindings.iter().enumerate().skip(pending + 1) {
            while scope.slots.len() < b.slot {
                scope.slots.push(Slot::Unset);
            }
            scope.slots.truncate(b.slot);
            let waits = reads
                .get(n)
                .and_then(Option::as_ref)
                .is_none_or(|r| r.iter().any(|s| waiting.get(*s).copied().unwrap_or(false)));
            if waits {
                if let Some(w) = waiting.get_mut(b.slot) {
                    *w = true;
                }
                scope.slots.push(Slot::Unset);
                continue;
            }
            if !b.guard.as_ref().is_none_or(|g| g.eval(&scope)) {
                scope.slots.push(Slot::Owned(Value::Null));
                continue;
            }
            let slot = match &b.kind {
                BindingKind::Join(j) => {
                    if self.join_unavailable(j, &scope).is_some() {
                        return;
                    }
                    match self.keys_ready(j, &scope) {
                        Ok(()) => {
                            let index = self.joins.get(n).copied().flatten();
                            self.join(j, index, b.slot, &mut scope)
                        }
                        Err(Undecided::Pending) => {
                            if let Some(w) = waiting.get_mut(b.slot) {
                                *w = true;
                            }
                            Slot::Unset
                        }
                        Err(Undecided::Inconclusive(_)) => return,
                    }
                }
                BindingKind::Call {
                    function,
                    args,
                    pattern,
                } => match self.call(function, args, pattern.as_ref(), &scope) {
                    Ok(v) => Slot::Owned(v),
                    Err(_) => return,
                },
                BindingKind::Value(v) => match self.value(v, &scope) {
                    Ok(v) => Slot::Owned(v),
                    Err(_) => return,
                },
            };
            scope.slots.push(slot);
        }
    }

    fn join(
        &self,
        j: &Join,
        index: Option<&Index>,
        slot: usize,
        scope: &mut Scope<'a>,
    ) -> Slot<'a> {
        let docs = self.facts.of_kind(&j.kind);
        let mut hits: Vec<u32> = Vec::new();
        if let Some(index) = index {
            index_lookup(index, &j.equals, scope, &mut hits);
        }
        hits.sort_unstable();
        hits.dedup();
        let mut matched: Vec<&'a Value> = Vec::new();
        for i in hits {
            let Some(doc) = usize::try_from(i).ok().and_then(|i| docs.get(i)) else {
                continue;
            };
            if let Some(filter) = &j.filter {
                scope.slots.truncate(slot);
                scope.slots.push(Slot::Ref(doc));
                let keep = self.holds(Some(filter), j.filter_site, scope);
                scope.slots.truncate(slot);
                if !keep {
                    continue;
                }
            }
            matched.push(doc);
            if j.one {
                break;
            }
        }
        if j.one {
            matched
                .first()
                .map_or(Slot::Owned(Value::Null), |d| Slot::Ref(d))
        } else {
            Slot::Owned(Value::Array(matched.into_iter().cloned().collect()))
        }
    }

    fn value(&self, expr: &ValueExpr, scope: &Scope<'a>) -> Result<Value, String> {
        Ok(match expr {
            ValueExpr::Literal(v) => v.clone(),
            ValueExpr::Path(p) => p.value(scope),
            ValueExpr::Template(t) => Value::String(
                self.templates
                    .render(*t, &self.context(scope))
                    .map_err(|e| e.to_string())?,
            ),
            ValueExpr::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.value(i, scope))
                    .collect::<Result<_, _>>()?,
            ),
            ValueExpr::Object(entries) => {
                let mut m = Map::new();
                for (k, v) in entries {
                    m.insert(k.clone(), self.value(v, scope)?);
                }
                Value::Object(m)
            }
        })
    }

    /// The template context: the bound names the rule's templates read, plus
    /// `rule` when they read it. Values bound by reference are converted once
    /// per rule (the subject once per subject).
    fn context(&self, scope: &Scope<'a>) -> minijinja::Value {
        let vars = &self.rule.template_vars;
        let mut map = std::collections::BTreeMap::new();
        for (i, (name, slot)) in self.rule.names.iter().zip(&scope.slots).enumerate() {
            if !vars.contains(name) {
                continue;
            }
            let value = match slot {
                Slot::Ref(v) if i == 0 => {
                    let mut last = self.subject_converted.borrow_mut();
                    match &*last {
                        Some((at, value)) if *at == ByAddr(v) => value.clone(),
                        _ => {
                            let value = template_value(v);
                            *last = Some((ByAddr(v), value.clone()));
                            value
                        }
                    }
                }
                Slot::Ref(v) => self
                    .converted
                    .borrow_mut()
                    .entry(ByAddr(v))
                    .or_insert_with(|| template_value(v))
                    .clone(),
                other => template_value(other.value()),
            };
            map.insert(name.clone(), value);
        }
        if vars.contains("rule") {
            let rule = self.rule_value.get_or_init(|| {
                crate::template::to_value(serde_json::json!({
                    "id": self.rule.id,
                    "title": self.rule.title,
                    "severity": self.rule.severity,
                }))
            });
            map.insert("rule".to_string(), rule.clone());
        }
        minijinja::Value::from(map)
    }

    fn subject_of(&self, scope: &Scope<'a>) -> Result<Subject, String> {
        let spec = &self.rule.finding.subject;
        let subject = scope.slots.first().map_or(&Value::Null, Slot::value);
        let text =
            |e: &Option<ValueExpr>, default: Option<&Value>| -> Result<Option<String>, String> {
                let v = match e {
                    Some(e) => Some(self.value(e, scope)?),
                    None => default.cloned(),
                };
                Ok(match v {
                    Some(Value::String(s)) => Some(s),
                    Some(Value::Null) | None => None,
                    Some(other) => Some(other.to_string()),
                })
            };
        let kind = text(&spec.kind, None)?.unwrap_or_else(|| self.rule.subject_kind.clone());
        let namespace = text(&spec.namespace, subject.pointer("/metadata/namespace"))?;
        let name = text(&spec.name, subject.pointer("/metadata/name"))?.unwrap_or_default();
        Ok(Subject {
            kind,
            namespace,
            name,
        })
    }

    fn finding(&self, scope: &Scope<'a>) -> Result<Finding, String> {
        let spec = &self.rule.finding;
        let ctx = self.context(scope);
        let render = |t| self.templates.render(t, &ctx).map_err(|e| e.to_string());
        let mut evidence = Map::new();
        for (k, v) in &spec.evidence {
            let value = self
                .value(v, scope)
                .map_err(|e| format!("evidence `{k}`: {e}"))?;
            evidence.insert(k.clone(), value);
        }
        let mut fix = Vec::with_capacity(spec.fix.len());
        for (i, step) in spec.fix.iter().enumerate() {
            if !self.holds(step.guard.as_ref(), step.guard_site, scope) {
                continue;
            }
            let n = i + 1;
            let description =
                render(step.description).map_err(|e| format!("fix step {n} description: {e}"))?;
            // Placeholders: (name, range) in the command, and in argv elements.
            let in_command: Vec<(String, std::ops::Range<usize>)>;
            let mut in_argv: Vec<(String, ArgvRange)> = Vec::new();
            let (argv, command) = match &step.command {
                FixCommand::Argv(parts) => {
                    let mut argv: Vec<String> = Vec::with_capacity(parts.len());
                    // The elements with their placeholders' marks, for quoting.
                    let mut marked: Vec<String> = Vec::with_capacity(parts.len());
                    // A value may start with `-` only where the rule writes an
                    // option itself (`--flag={{ x }}`) or after a literal `--`.
                    let mut after_dashdash = false;
                    for (j, part) in parts.iter().enumerate() {
                        match part {
                            ArgvPart::Template(t) => {
                                let raw = self
                                    .templates
                                    .render_marked(*t, &ctx)
                                    .map_err(|e| format!("fix step {n} argv[{j}]: {e}"))?;
                                let arg = template::show_placeholders(&raw);
                                let lead = self.templates.argument_lead(*t);
                                let aws = argv.first().is_some_and(|c: &String| is_aws_cli(c));
                                check_argument(&arg, lead.option || after_dashdash)
                                    .and_then(|()| {
                                        if aws && !lead.literal {
                                            check_aws_argument(&arg)
                                        } else {
                                            Ok(())
                                        }
                                    })
                                    .map_err(|e| format!("fix step {n} argv[{j}]: {e}"))?;
                                after_dashdash |= lead.dashdash;
                                let mut at = 0;
                                for seg in template::segments(&raw) {
                                    match seg {
                                        template::Segment::Text(x) => at += x.len(),
                                        template::Segment::Placeholder(name) => {
                                            let end = at + name.len() + 2;
                                            in_argv.push((
                                                name.to_string(),
                                                ArgvRange {
                                                    index: argv.len(),
                                                    start: at,
                                                    end,
                                                },
                                            ));
                                            at = end;
                                        }
                                    }
                                }
                                argv.push(arg);
                                marked.push(raw);
                            }
                            ArgvPart::Path(p) => {
                                let first = argv.len();
                                splice_arguments(&p.value(scope), &mut argv);
                                let aws = argv.first().is_some_and(|c: &String| is_aws_cli(c));
                                for arg in &argv[first..] {
                                    check_argument(arg, after_dashdash)
                                        .and_then(|()| {
                                            if aws { check_aws_argument(arg) } else { Ok(()) }
                                        })
                                        .map_err(|e| format!("fix step {n} argv[{j}]: {e}"))?;
                                    // A value cannot pose as a placeholder.
                                    marked.push(template::unmark(arg));
                                }
                            }
                        }
                    }
                    let (command, ranges) = template::shell_join_marked(&marked);
                    in_command = ranges;
                    (Some(argv), command)
                }
                FixCommand::Shell(t) => {
                    let (command, ranges) = self
                        .templates
                        .render_command(*t, &ctx)
                        .map_err(|e| format!("fix step {n} command: {e}"))?;
                    in_command = ranges;
                    (None, command)
                }
            };
            let mut placeholders = Vec::with_capacity(step.placeholders.len());
            for p in &step.placeholders {
                let description = render(p.description).map_err(|e| {
                    format!("fix step {n} placeholder `{}` description: {e}", p.name)
                })?;
                placeholders.push(FixPlaceholder {
                    name: p.name.clone(),
                    description,
                    at: PlaceholderWhere {
                        command: in_command
                            .iter()
                            .filter(|(name, _)| *name == p.name)
                            .map(|(_, r)| TextRange {
                                start: r.start,
                                end: r.end,
                            })
                            .collect(),
                        argv: in_argv
                            .iter()
                            .filter(|(name, _)| *name == p.name)
                            .map(|(_, r)| *r)
                            .collect(),
                    },
                });
            }
            fix.push(FixStep {
                description,
                argv,
                command,
                placeholders,
            });
            self.hit(coverage::matched, step.site);
        }
        Ok(Finding {
            rule: self.rule.id.clone(),
            severity: self.rule.severity,
            title: self.rule.title.clone(),
            subject: self.subject_of(scope)?,
            message: render(spec.message).map_err(|e| format!("message: {e}"))?,
            evidence,
            fix,
            element: self
                .rule
                .each
                .as_ref()
                .and_then(|_| scope.slots.get(2))
                .map(|slot| element_key(slot.value())),
            may_be_superseded_by: Vec::new(),
            cluster: None,
        })
    }

    /// The candidate cannot be decided: the rule is inconclusive for its subject.
    /// When the finding's subject cannot be rendered from what is bound so far, the
    /// subject document's own kind, namespace and name are named instead, so the
    /// entry never reads as the whole rule.
    fn inconclusive(&mut self, scope: &Scope<'a>, reason: String) {
        let subject = self.subject_of(scope).unwrap_or_else(|_| {
            let doc = scope.slots.first().map_or(&Value::Null, Slot::value);
            let text = |p: &str| doc.pointer(p).and_then(Value::as_str).map(str::to_string);
            Subject {
                kind: self.rule.subject_kind.clone(),
                namespace: text("/metadata/namespace"),
                name: text("/metadata/name").unwrap_or_default(),
            }
        });
        self.held.push(Held {
            rule: self.rule.id.clone(),
            subject: Some(subject.clone()),
            element: self.element(scope),
        });
        self.report.inconclusive.push(crate::finding::Inconclusive {
            rule: self.rule.id.clone(),
            subject: Some(subject),
            reason,
            cluster: None,
        });
    }

    /// The `each` element a candidate is about, keyed as `supersedes` keys it.
    fn element(&self, scope: &Scope<'a>) -> Option<String> {
        self.rule
            .each
            .as_ref()
            .and_then(|_| scope.slots.get(2))
            .map(|slot| element_key(slot.value()))
    }

    /// In a live run, why a join cannot be answered: its kind could not be
    /// collected, or no fetch answers it. Checked before its keys are demanded, so
    /// nothing is fetched for it. A join with no key to look up (a Fargate
    /// profile's name for a pod without that label) matches nothing whatever the
    /// kind holds, so it does not need the kind.
    fn join_unavailable(&self, j: &Join, scope: &Scope<'_>) -> Option<String> {
        let (plan, _) = self.planned.as_ref()?;
        let reason = plan
            .unavailable
            .get(&j.kind)
            .or_else(|| plan.unavailable_joins.get(&j.id))?;
        if composite_keys(j.equals.iter().map(|p| p.query(scope))).is_empty() {
            return None;
        }
        Some(format!("`{}` could not be collected: {reason}", j.kind))
    }

    /// Whether `cond` holds (an absent one does); under `rulerun test`, records
    /// the outcome of each of its nodes, numbered from `site`.
    fn holds(&self, cond: Option<&Cond>, site: SiteId, scope: &Scope<'_>) -> bool {
        match (cond, self.hits) {
            (None, _) => true,
            (Some(c), None) => c.eval(scope),
            (Some(c), Some(hits)) => coverage::eval_traced(c, scope, site, hits),
        }
    }

    /// Under `rulerun test`, records `mark` for `site`.
    fn hit(&self, mark: fn(&[std::cell::Cell<u8>], SiteId), site: SiteId) {
        if let Some(hits) = self.hits {
            mark(hits, site);
        }
    }

    fn error(&mut self, scope: &Scope<'a>, message: String) {
        let subject = self.subject_of(scope).ok();
        self.report.errors.push(EvalError {
            rule: self.rule.id.clone(),
            subject,
            message,
            cluster: None,
        });
    }
}

/// A JSON value as a template value: the same value `template::to_value` builds
/// through serde (`None`, `Bool`, `U64`/`I64`/`F64`, strings, a `Vec` for arrays
/// and a `BTreeMap<Value, Value>` for objects), built directly, which is several
/// times faster on whole fact documents.
fn template_value(v: &Value) -> minijinja::Value {
    match v {
        Value::Null => minijinja::Value::from(()),
        Value::Bool(b) => minijinja::Value::from(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => minijinja::Value::from(u),
            (None, Some(i), _) => minijinja::Value::from(i),
            (None, None, Some(f)) => minijinja::Value::from(f),
            (None, None, None) => crate::template::to_value(n),
        },
        Value::String(s) => minijinja::Value::from(s.as_str()),
        Value::Array(items) => {
            minijinja::Value::from_object(items.iter().map(template_value).collect::<Vec<_>>())
        }
        Value::Object(map) => minijinja::Value::from_object(
            map.iter()
                .map(|(k, v)| (minijinja::Value::from(k.as_str()), template_value(v)))
                .collect::<std::collections::BTreeMap<_, _>>(),
        ),
    }
}

/// An argv element given as a path: an array becomes one argument per element, a
/// scalar one argument, null nothing. Strings are passed as they are, numbers and
/// booleans as their JSON text, objects as compact JSON.
fn splice_arguments(v: &Value, argv: &mut Vec<String>) {
    match v {
        Value::Null => {}
        Value::Array(items) => {
            for i in items {
                splice_arguments(i, argv);
            }
        }
        Value::String(s) => argv.push(s.clone()),
        other => argv.push(other.to_string()),
    }
}

/// Evaluates a path over a document (for `rulerun query`).
pub fn query(path: &JsonPath, doc: &Value) -> Value {
    Value::Array(path.query(doc).into_iter().cloned().collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A join waiting for keys holds back only what reads it: the keys of the
    /// later joins that do not read it are demanded in the same round; a join
    /// keyed by it, or guarded by it (`if:`), or reading a value computed from
    /// another waiting join, waits for its round.
    #[test]
    fn a_waiting_join_holds_back_only_what_reads_it() {
        let rules = r#"
rules:
  - id: ahead
    title: A
    severity: low
    subject: {kind: k8s/v1/Pod}
    let:
      group: {join: aws/eks/Nodegroup, on: $.nodegroupName, equals: "$.metadata.labels.group", one: true}
      instance: {join: aws/ec2/Instance, on: $.InstanceId, equals: $.metadata.labels.instance, one: true}
      role: {join: aws/iam/Role, on: $.Arn, equals: $group.nodeRole, one: true}
      fallback:
        join: aws/ec2/Instance
        on: $.InstanceId
        equals: $.metadata.labels.other
        one: true
        if: {path: $group.nodeRole, exists: false}
      profile_arn: {value: "arn:aws:iam::111122223333:instance-profile/{{ instance.InstanceId }}"}
      profile: {join: aws/iam/InstanceProfile, on: $.Arn, equals: $profile_arn, one: true}
    finding:
      message: "{{ subject.metadata.name }} {{ role.Arn }} {{ profile.Arn }} {{ fallback.InstanceId | default('none') }}"
"#;
        let (set, errors) = crate::load_rules(&[crate::SourceFile {
            path: "r.yaml".into(),
            text: rules.into(),
        }]);
        assert!(errors.is_empty(), "{errors:?}");
        let mut plan = Plan::default();
        let joins: [(&str, &str); 4] = [
            ("aws/eks/Nodegroup", "$.nodegroupName"),
            ("aws/ec2/Instance", "$.InstanceId"),
            ("aws/iam/Role", "$.Arn"),
            ("aws/iam/InstanceProfile", "$.Arn"),
        ];
        for (kind, on) in joins {
            plan.keyed_kind(kind, &[on]);
        }
        let pod = serde_json::json!({"metadata": {"name": "p", "labels": {"group": "g", "instance": "i-1", "other": "i-2"}}});
        let mut facts = FactStore::new();
        facts.add("k8s/v1/Pod", pod);
        let asked = |demands: &[Demand]| -> Vec<(String, Vec<Vec<String>>)> {
            demands
                .iter()
                .map(|d| (d.join.kind().to_string(), d.keys.iter().cloned().collect()))
                .collect()
        };
        let key = |k: &str| vec![vec![k.to_string()]];

        // Round 1: the node group and the instance together; not the role
        // (keyed by the node group), the fallback (guarded by it) or the
        // profile (keyed by a value of the instance).
        let (report, demands) = check_planned(&set, &facts, &plan);
        assert!(report.findings.is_empty() && report.inconclusive.is_empty());
        assert_eq!(
            asked(&demands),
            [
                ("aws/ec2/Instance".to_string(), key("i-1")),
                ("aws/eks/Nodegroup".to_string(), key("g")),
            ]
        );

        // Round 2: both answered; the role and the profile together, and no
        // fallback (the node group has a role).
        let fetched = |plan: &mut Plan, kind: &str, on: &str, k: &str| {
            plan.keyed
                .get_mut(&JoinId::new(kind, &[on]))
                .unwrap()
                .fetched
                .insert(vec![k.to_string()]);
        };
        fetched(&mut plan, "aws/eks/Nodegroup", "$.nodegroupName", "g");
        fetched(&mut plan, "aws/ec2/Instance", "$.InstanceId", "i-1");
        facts.add(
            "aws/eks/Nodegroup",
            serde_json::json!({"nodegroupName": "g", "nodeRole": "arn:aws:iam::111122223333:role/R"}),
        );
        facts.add("aws/ec2/Instance", serde_json::json!({"InstanceId": "i-1"}));
        let (_, demands) = check_planned(&set, &facts, &plan);
        assert_eq!(
            asked(&demands),
            [
                (
                    "aws/iam/InstanceProfile".to_string(),
                    key("arn:aws:iam::111122223333:instance-profile/i-1")
                ),
                (
                    "aws/iam/Role".to_string(),
                    key("arn:aws:iam::111122223333:role/R")
                ),
            ]
        );

        // A rule with no keyed join waiting decides as before.
        facts.add(
            "aws/iam/Role",
            serde_json::json!({"Arn": "arn:aws:iam::111122223333:role/R"}),
        );
        facts.add(
            "aws/iam/InstanceProfile",
            serde_json::json!({"Arn": "arn:aws:iam::111122223333:instance-profile/i-1"}),
        );
        fetched(
            &mut plan,
            "aws/iam/Role",
            "$.Arn",
            "arn:aws:iam::111122223333:role/R",
        );
        fetched(
            &mut plan,
            "aws/iam/InstanceProfile",
            "$.Arn",
            "arn:aws:iam::111122223333:instance-profile/i-1",
        );
        let (report, demands) = check_planned(&set, &facts, &plan);
        assert!(demands.is_empty(), "{demands:?}");
        assert_eq!(report.findings.len(), 1, "{report:?}");
        assert_eq!(
            report.findings[0].message,
            "p arn:aws:iam::111122223333:role/R arn:aws:iam::111122223333:instance-profile/i-1 none"
        );
    }

    /// Contexts hold only the names the rule's templates read, except with
    /// `debug()`, which prints them all; documents shared by findings are
    /// converted once and render the same every time.
    #[test]
    fn contexts_hold_the_names_templates_read() {
        let rules = r#"
rules:
  - id: trimmed
    title: T
    severity: low
    subject: {kind: k8s/v1/Pod}
    let:
      node: {join: k8s/v1/Node, on: $.metadata.name, equals: $.spec.nodeName, one: true}
      unused: {value: "{{ node.metadata.name }}!"}
    finding:
      message: "{{ subject.metadata.name }} on {{ node.metadata.name }} ({{ node.status.x }}) {{ rule.id }}"
      evidence:
        again: "{{ node.metadata.name }}/{{ subject.metadata.name }}"
  - id: everything
    title: E
    severity: low
    subject: {kind: k8s/v1/Pod}
    let:
      hidden: {value: 42}
    finding:
      message: "{{ debug() }}"
"#;
        let (set, errors) = crate::load_rules(&[crate::SourceFile {
            path: "r.yaml".into(),
            text: rules.into(),
        }]);
        assert!(errors.is_empty(), "{errors:?}");
        let vars = |id: &str| set.get(id).unwrap().template_vars.clone();
        let only = |names: &[&str]| {
            crate::template::Variables::Only(names.iter().map(|n| n.to_string()).collect())
        };
        assert_eq!(vars("trimmed"), only(&["node", "rule", "subject"]));
        assert_eq!(vars("everything"), crate::template::Variables::All);

        let mut facts = FactStore::new();
        facts
            .add_facts_map(
                serde_json::json!({
                    "k8s/v1/Pod": [
                        {"metadata": {"name": "a"}, "spec": {"nodeName": "n"}},
                        {"metadata": {"name": "b"}, "spec": {"nodeName": "n"}},
                    ],
                    "k8s/v1/Node": [{"metadata": {"name": "n"}, "status": {"x": 1}}],
                })
                .as_object()
                .unwrap()
                .clone(),
            )
            .unwrap();
        let report = check(&set, &facts);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let messages: Vec<(&str, &str)> = report
            .findings
            .iter()
            .map(|f| (f.rule.as_str(), f.message.as_str()))
            .collect();
        let trimmed: Vec<&str> = messages
            .iter()
            .filter(|(r, _)| *r == "trimmed")
            .map(|(_, m)| *m)
            .collect();
        assert_eq!(trimmed, ["a on n (1) trimmed", "b on n (1) trimmed"]);
        let again: Vec<&Value> = report
            .findings
            .iter()
            .filter_map(|f| f.evidence.get("again"))
            .collect();
        assert_eq!(
            again,
            [&serde_json::json!("n/a"), &serde_json::json!("n/b")]
        );
        for (rule, message) in messages {
            if rule == "everything" {
                for name in ["hidden", "subject", "params", "rule"] {
                    assert!(message.contains(name), "{name} in {message}");
                }
            }
        }
    }

    #[test]
    fn template_values_match_the_serde_conversion() {
        let doc = serde_json::json!({
            "null": null, "t": true, "f": false,
            "u": 18446744073709551615u64, "i": -9223372036854775808i64, "z": 0, "x": 1.5, "e": 1e300,
            "s": "", "short": "abc", "long": "a string longer than a small string's inline buffer",
            "a": [1, "two", [3.0], {"four": 4}], "empty": {}, "none": [],
            "nested": {"b": {"c": [null, {"d": "e"}]}, "a": 1},
        });
        let mut cases: Vec<&Value> = vec![&doc];
        if let Value::Object(m) = &doc {
            cases.extend(m.values());
        }
        let mut env = minijinja::Environment::new();
        env.add_template("t", "{{ x }}|{{ x | tojson }}|{% if x is mapping %}{% for k, v in x | items %}{{ k }}={{ v }};{% endfor %}{% endif %}{{ x is string }}{{ x is number }}{{ x is sequence }}{{ x is none }}")
            .unwrap();
        let t = env.get_template("t").unwrap();
        for v in cases {
            let ours = template_value(v);
            let serde = crate::template::to_value(v);
            assert_eq!(ours, serde, "{v}");
            assert_eq!(format!("{ours:?}"), format!("{serde:?}"), "{v}");
            assert_eq!(ours.kind(), serde.kind(), "{v}");
            let render = |x: minijinja::Value| t.render(minijinja::context! {x}).unwrap();
            assert_eq!(render(ours), render(serde), "{v}");
        }
    }
}
