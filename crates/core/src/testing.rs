//! Rule tests: test cases that sit beside rules, with facts and the findings they
//! must (and must not) produce.
//!
//! A test file is named `tests.yaml` or `*.test.yaml`:
//!
//! ```yaml
//! tests:
//!   - name: fires on a pod waiting in ImagePullBackOff
//!     facts: fixtures/backoff.json        # or inline: {k8s/v1/Pod: [...]}
//!     expect:
//!       - subject: default/web-1
//!         message: cannot pull
//!         fix:
//!           - command: {contains: kubectl rollout restart}
//!   - name: stays quiet for running pods
//!     facts: {k8s/v1/Pod: [{metadata: {name: ok}, status: {phase: Running}}]}
//!     expect: []
//! ```
//!
//! The findings of the rules under test must match the expectations exactly: each
//! expectation matches one finding, and a finding no expectation matches fails the
//! test. `expect: []` is a must-not-fire case.

use std::path::{Path, PathBuf};

use regex::Regex;
use serde_json::Value;

use crate::coverage::Coverage;
use crate::engine::{check_covered, check_selected};
use crate::error::{LoadError, LoadErrorKind, closest};
use crate::expr::json_eq;
use crate::facts::{FactStore, parse_fact_text};
use crate::finding::Finding;
use crate::load::SourceFile;
use crate::rule::RuleSet;
use crate::yaml::{self, Node, NodeKind, Pos};

const FILE_KEYS: &[&str] = &["tests"];
const CASE_KEYS: &[&str] = &["name", "rules", "facts", "expect", "inconclusive"];
const INCONCLUSIVE_KEYS: &[&str] = &["rule", "subject", "reason"];
const EXPECT_KEYS: &[&str] = &["rule", "subject", "message", "evidence", "fix", "severity"];
const STEP_KEYS: &[&str] = &["description", "command"];
const TEXT_KEYS: &[&str] = &["contains", "matches", "equals", "notContains"];

/// Whether a file name is a rule test file's.
pub fn is_test_file(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        n == "tests.yaml"
            || n == "tests.yml"
            || n.ends_with(".test.yaml")
            || n.ends_with(".test.yml")
    })
}

/// A text expectation.
#[derive(Debug, Clone)]
pub enum TextMatch {
    /// Contains the substring.
    Contains(String),
    /// Does not contain the substring.
    NotContains(String),
    /// Matches the regex.
    Matches(Regex),
    /// Is exactly the string.
    Equals(String),
}

impl TextMatch {
    fn test(&self, s: &str) -> bool {
        match self {
            TextMatch::Contains(x) => s.contains(x.as_str()),
            TextMatch::NotContains(x) => !s.contains(x.as_str()),
            TextMatch::Matches(re) => re.is_match(s),
            TextMatch::Equals(x) => s == x,
        }
    }
}

impl std::fmt::Display for TextMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextMatch::Contains(x) => write!(f, "contains {x:?}"),
            TextMatch::NotContains(x) => write!(f, "does not contain {x:?}"),
            TextMatch::Matches(re) => write!(f, "matches /{}/", re.as_str()),
            TextMatch::Equals(x) => write!(f, "equals {x:?}"),
        }
    }
}

/// One expected finding.
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    /// The rule id, when given.
    pub rule: Option<String>,
    /// `namespace/name` or `name`, when given.
    pub subject: Option<String>,
    /// Expectations on the message.
    pub message: Vec<TextMatch>,
    /// Evidence entries that must be present and equal.
    pub evidence: Vec<(String, Value)>,
    /// Expectations on fix steps, by position.
    pub fix: Vec<(Vec<TextMatch>, Vec<TextMatch>)>,
    /// The severity, when given.
    pub severity: Option<String>,
    /// Where the expectation is written.
    pub pos: Pos,
}

/// A loaded test case.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// Its name.
    pub name: String,
    /// The test file.
    pub file: PathBuf,
    /// Where it starts.
    pub pos: Pos,
    /// The rule ids under test.
    pub rules: Vec<String>,
    /// The facts.
    pub facts: FactStore,
    /// The expected findings, exactly.
    pub expect: Vec<Expectation>,
    /// The rules expected to be inconclusive, exactly (none when not written).
    pub inconclusive: Vec<InconclusiveExpectation>,
}

/// A rule expected to be inconclusive for a subject.
#[derive(Debug, Clone, Default)]
pub struct InconclusiveExpectation {
    /// The rule id, when given.
    pub rule: Option<String>,
    /// `namespace/name` or `name`, when given.
    pub subject: Option<String>,
    /// Expectations on the reason.
    pub reason: Vec<TextMatch>,
    /// Where it is written.
    pub pos: Pos,
}

impl InconclusiveExpectation {
    fn fits(&self, i: &crate::finding::Inconclusive) -> bool {
        let subject_ok = match (&self.subject, &i.subject) {
            (None, _) => true,
            (Some(want), Some(s)) => subject_text(s) == *want,
            (Some(_), None) => false,
        };
        self.rule.as_ref().is_none_or(|r| *r == i.rule)
            && subject_ok
            && self.reason.iter().all(|m| m.test(&i.reason))
    }
}

fn subject_text(s: &crate::finding::Subject) -> String {
    match &s.namespace {
        Some(ns) => format!("{ns}/{}", s.name),
        None => s.name.clone(),
    }
}

/// The result of running one test case.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// The case's name.
    pub name: String,
    /// `file:line:column` of the case.
    pub location: String,
    /// Why it failed; empty when it passed.
    pub failures: Vec<String>,
}

impl TestOutcome {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Loads the test cases of a test file. `folder_rules` are the ids of the rules
/// defined in the same folder, the default rules under test; `all_rules` are every
/// loaded id, to check the ones a case names.
///
/// `read` reads a fixture file a case names (relative paths resolve against the
/// test file's folder); the CLI passes the file system, or the embedded files for
/// the built-in packs.
pub fn load_tests(
    file: &SourceFile,
    folder_rules: &[String],
    all_rules: &[String],
    read: &dyn Fn(&Path) -> Result<String, String>,
) -> (Vec<TestCase>, Vec<LoadError>) {
    let mut d = TestDecoder {
        file: &file.path,
        errors: Vec::new(),
        read,
    };
    let cases = d.file(&file.text, folder_rules, all_rules);
    (cases, d.errors)
}

/// Runs one test case.
pub fn run_test(rules: &RuleSet, case: &TestCase) -> TestOutcome {
    let report = check_selected(rules, &case.facts, |r| case.rules.contains(&r.id));
    outcome(case, &report)
}

/// Runs one test case, recording into `coverage` what of the rules under test it
/// exercised (see [`crate::coverage`]).
pub fn run_test_covered(rules: &RuleSet, case: &TestCase, coverage: &mut Coverage) -> TestOutcome {
    let select = |r: &crate::rule::Rule| case.rules.contains(&r.id);
    let report = check_covered(rules, &case.facts, select, coverage);
    outcome(case, &report)
}

/// Whether `case` is a must-not-fire case for `rule`: it tests the rule and
/// expects no finding (and no inconclusive result) that can be the rule's. An
/// expectation without `rule:` in a case testing several rules can be any of
/// theirs, so it counts against each.
pub fn is_must_not_fire(case: &TestCase, rule: &str) -> bool {
    let mine = |r: &Option<String>| match r {
        Some(r) => r == rule,
        None => true,
    };
    case.rules.iter().any(|r| r == rule)
        && !case.expect.iter().any(|e| mine(&e.rule))
        && !case.inconclusive.iter().any(|i| mine(&i.rule))
}

fn outcome(case: &TestCase, report: &crate::finding::Report) -> TestOutcome {
    let mut failures = Vec::new();
    for e in &report.errors {
        failures.push(format!(
            "rule `{}` failed to evaluate: {}",
            e.rule, e.message
        ));
    }
    // Pair expectations with findings by maximum bipartite matching, so a loose
    // expectation never takes the finding a stricter one needs.
    let fits: Vec<Vec<bool>> = case
        .expect
        .iter()
        .map(|exp| {
            report
                .findings
                .iter()
                .map(|f| expectation_matches(exp, f, &case.rules).is_ok())
                .collect()
        })
        .collect();
    let owner = match_expectations(&fits, report.findings.len());
    let mut taken = vec![false; report.findings.len()];
    for f in owner.iter().flatten() {
        if let Some(t) = taken.get_mut(*f) {
            *t = true;
        }
    }
    for (e, exp) in case.expect.iter().enumerate() {
        if owner.get(e).is_some_and(Option::is_some) {
            continue;
        }
        let why: Vec<String> = report
            .findings
            .iter()
            .filter_map(|f| expectation_matches(exp, f, &case.rules).err())
            .collect();
        let detail = if report.findings.is_empty() {
            "no finding was produced".to_string()
        } else if why.is_empty() {
            "every finding it fits is taken by another expectation".to_string()
        } else {
            format!("mismatches: {}", why.join("; "))
        };
        failures.push(format!(
            "expected finding at line {} not produced: {detail}",
            exp.pos.line
        ));
    }
    let unmatched: Vec<&Finding> = report
        .findings
        .iter()
        .zip(&taken)
        .filter(|(_, t)| !**t)
        .map(|(f, _)| f)
        .collect();
    for f in unmatched {
        failures.push(format!(
            "unexpected finding from `{}` on {}: {}",
            f.rule, f.subject, f.message
        ));
    }
    let mut used = vec![false; report.inconclusive.len()];
    for exp in &case.inconclusive {
        let hit = report
            .inconclusive
            .iter()
            .enumerate()
            .find(|(i, x)| !used.get(*i).copied().unwrap_or(true) && exp.fits(x));
        match hit {
            Some((i, _)) => {
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
            }
            None => failures.push(format!(
                "expected inconclusive rule at line {} not reported{}",
                exp.pos.line,
                if report.inconclusive.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; reported: {}",
                        report
                            .inconclusive
                            .iter()
                            .map(|x| format!("`{}`: {}", x.rule, x.reason))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                }
            )),
        }
    }
    for (x, u) in report.inconclusive.iter().zip(&used) {
        if !u && case.rules.contains(&x.rule) {
            failures.push(format!(
                "unexpected inconclusive rule `{}`{}: {}",
                x.rule,
                x.subject
                    .as_ref()
                    .map(|s| format!(" on {}", subject_text(s)))
                    .unwrap_or_default(),
                x.reason
            ));
        }
    }
    TestOutcome {
        name: case.name.clone(),
        location: format!("{}:{}", case.file.display(), case.pos),
        failures,
    }
}

/// For each expectation, the finding it is paired with (Kuhn's augmenting paths).
fn match_expectations(fits: &[Vec<bool>], findings: usize) -> Vec<Option<usize>> {
    fn augment(
        e: usize,
        fits: &[Vec<bool>],
        seen: &mut [bool],
        by_finding: &mut [Option<usize>],
    ) -> bool {
        let Some(row) = fits.get(e) else { return false };
        for (f, ok) in row.iter().enumerate() {
            if !*ok || seen.get(f).copied().unwrap_or(true) {
                continue;
            }
            if let Some(s) = seen.get_mut(f) {
                *s = true;
            }
            let current = by_finding.get(f).copied().flatten();
            if current.is_none_or(|other| augment(other, fits, seen, by_finding)) {
                if let Some(slot) = by_finding.get_mut(f) {
                    *slot = Some(e);
                }
                return true;
            }
        }
        false
    }
    let mut by_finding: Vec<Option<usize>> = vec![None; findings];
    for e in 0..fits.len() {
        let mut seen = vec![false; findings];
        augment(e, fits, &mut seen, &mut by_finding);
    }
    let mut owner = vec![None; fits.len()];
    for (f, e) in by_finding.iter().enumerate() {
        if let Some(slot) = e.and_then(|e| owner.get_mut(e)) {
            *slot = Some(f);
        }
    }
    owner
}

fn expectation_matches(exp: &Expectation, f: &Finding, rules: &[String]) -> Result<(), String> {
    let rule = exp.rule.as_deref().or(match rules {
        [only] => Some(only.as_str()),
        _ => None,
    });
    if let Some(r) = rule
        && f.rule != r
    {
        return Err(format!("rule is `{}`, expected `{r}`", f.rule));
    }
    if let Some(s) = &exp.subject {
        let full = match &f.subject.namespace {
            Some(ns) => format!("{ns}/{}", f.subject.name),
            None => f.subject.name.clone(),
        };
        if *s != full && *s != f.subject.name {
            return Err(format!("subject is `{full}`, expected `{s}`"));
        }
    }
    if let Some(sev) = &exp.severity
        && f.severity.as_str() != sev
    {
        return Err(format!("severity is `{}`, expected `{sev}`", f.severity));
    }
    for m in &exp.message {
        if !m.test(&f.message) {
            return Err(format!("message {:?} does not satisfy: {m}", f.message));
        }
    }
    for (k, v) in &exp.evidence {
        match f.evidence.get(k) {
            Some(actual) if json_eq(actual, v) => {}
            Some(actual) => return Err(format!("evidence `{k}` is {actual}, expected {v}")),
            None => return Err(format!("evidence has no `{k}`")),
        }
    }
    for (i, (desc, cmd)) in exp.fix.iter().enumerate() {
        let Some(step) = f.fix.get(i) else {
            return Err(format!(
                "fix has {} step(s), expected at least {}",
                f.fix.len(),
                i + 1
            ));
        };
        for m in desc {
            if !m.test(&step.description) {
                return Err(format!(
                    "fix step {} description {:?} does not satisfy: {m}",
                    i + 1,
                    step.description
                ));
            }
        }
        for m in cmd {
            if !m.test(&step.command) {
                return Err(format!(
                    "fix step {} command {:?} does not satisfy: {m}",
                    i + 1,
                    step.command
                ));
            }
        }
    }
    Ok(())
}

/// Resolves `.` and `..` components without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

struct TestDecoder<'a> {
    file: &'a Path,
    errors: Vec<LoadError>,
    read: &'a dyn Fn(&Path) -> Result<String, String>,
}

impl TestDecoder<'_> {
    fn err(&mut self, pos: Pos, kind: LoadErrorKind) {
        self.errors.push(LoadError::new(self.file, pos, kind));
    }

    fn map<'n>(
        &mut self,
        node: &'n Node,
        context: &str,
        allowed: &'static [&'static str],
    ) -> Option<Vec<(&'n str, &'n Node)>> {
        let NodeKind::Map(entries) = &node.kind else {
            self.err(
                node.pos,
                LoadErrorKind::WrongType {
                    what: context.into(),
                    expected: "a mapping",
                    found: node.kind.describe(),
                },
            );
            return None;
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let key = k.as_str().unwrap_or("");
            if allowed.contains(&key) {
                out.push((key, v));
            } else {
                let shown = k.key_string();
                self.err(
                    k.pos,
                    LoadErrorKind::UnknownKey {
                        suggestion: closest(&shown, allowed.iter().copied()),
                        key: shown,
                        context: context.into(),
                        expected: allowed.to_vec(),
                    },
                );
            }
        }
        Some(out)
    }

    fn file(&mut self, text: &str, folder_rules: &[String], all_rules: &[String]) -> Vec<TestCase> {
        let root = match yaml::parse(text) {
            Ok(n) => n,
            Err(e) => {
                self.err(
                    e.pos,
                    LoadErrorKind::Syntax {
                        format: "YAML",
                        message: e.message,
                    },
                );
                return Vec::new();
            }
        };
        let Some(top) = self.map(&root, "a test file", FILE_KEYS) else {
            return Vec::new();
        };
        let Some((_, tests)) = top.into_iter().next() else {
            self.err(
                root.pos,
                LoadErrorKind::MissingKey {
                    key: "tests",
                    context: "a test file".into(),
                },
            );
            return Vec::new();
        };
        let NodeKind::Seq(items) = &tests.kind else {
            self.err(
                tests.pos,
                LoadErrorKind::WrongType {
                    what: "tests".into(),
                    expected: "a list of test cases",
                    found: tests.kind.describe(),
                },
            );
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|i| self.case(i, folder_rules, all_rules))
            .collect()
    }

    fn case(
        &mut self,
        node: &Node,
        folder_rules: &[String],
        all_rules: &[String],
    ) -> Option<TestCase> {
        let before = self.errors.len();
        let fields = self.map(node, "a test case", CASE_KEYS)?;
        let get = |k: &str| fields.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        let name = match get("name").and_then(Node::as_str) {
            Some(n) => n.to_string(),
            None => {
                self.err(
                    node.pos,
                    LoadErrorKind::MissingKey {
                        key: "name",
                        context: "a test case".into(),
                    },
                );
                String::new()
            }
        };
        let rules = match get("rules") {
            Some(n) => {
                let ids: Vec<String> = match &n.kind {
                    NodeKind::Seq(items) => items.iter().map(Node::key_string).collect(),
                    _ => vec![n.key_string()],
                };
                for id in &ids {
                    if !all_rules.contains(id) {
                        self.err(
                            n.pos,
                            LoadErrorKind::Other {
                                message: format!("no loaded rule has id `{id}`"),
                                help: closest(id, all_rules.iter().map(String::as_str))
                                    .map(|c| format!("did you mean `{c}`?")),
                            },
                        );
                    }
                }
                ids
            }
            None => folder_rules.to_vec(),
        };
        if rules.is_empty() {
            self.err(
                node.pos,
                LoadErrorKind::Other {
                    message: "no rules to test: this folder defines none".into(),
                    help: Some("name them with `rules: [rule-id]`".into()),
                },
            );
        }
        let facts = match get("facts") {
            Some(n) => self.facts(n),
            None => {
                self.err(
                    node.pos,
                    LoadErrorKind::MissingKey {
                        key: "facts",
                        context: "a test case".into(),
                    },
                );
                None
            }
        };
        let expect = match get("expect") {
            Some(n) => match &n.kind {
                NodeKind::Seq(items) => items.iter().filter_map(|i| self.expectation(i)).collect(),
                _ => {
                    self.err(
                        n.pos,
                        LoadErrorKind::WrongType {
                            what: "expect".into(),
                            expected: "a list of findings (`[]` for none)",
                            found: n.kind.describe(),
                        },
                    );
                    Vec::new()
                }
            },
            None => {
                self.err(
                    node.pos,
                    LoadErrorKind::MissingKey {
                        key: "expect",
                        context: "a test case".into(),
                    },
                );
                Vec::new()
            }
        };
        let inconclusive = match get("inconclusive") {
            Some(n) => match &n.kind {
                NodeKind::Seq(items) => items
                    .iter()
                    .filter_map(|i| self.inconclusive_expectation(i))
                    .collect(),
                _ => {
                    self.err(
                        n.pos,
                        LoadErrorKind::WrongType {
                            what: "inconclusive".into(),
                            expected: "a list of `{rule, subject, reason}`",
                            found: n.kind.describe(),
                        },
                    );
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        if self.errors.len() != before {
            return None;
        }
        Some(TestCase {
            name,
            file: self.file.to_path_buf(),
            pos: node.pos,
            rules,
            facts: facts?,
            expect,
            inconclusive,
        })
    }

    /// `facts:` is a path (relative to the test file), a mapping of kind to
    /// documents, a Kubernetes object, or a list of any of these, merged in order.
    fn facts(&mut self, node: &Node) -> Option<FactStore> {
        let mut store = FactStore::new();
        let parts: Vec<&Node> = match &node.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let mut ok = true;
        for part in parts {
            if let Err(msg) = self.facts_part(part, &mut store) {
                self.err(part.pos, LoadErrorKind::Fact(msg));
                ok = false;
            }
        }
        ok.then_some(store)
    }

    fn facts_part(&mut self, node: &Node, store: &mut FactStore) -> Result<(), String> {
        match &node.kind {
            NodeKind::Str(rel) => {
                let base = self.file.parent().unwrap_or(Path::new("."));
                let path = normalize(&base.join(rel));
                let text = (self.read)(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
                let docs = parse_fact_text(&path, &text).map_err(|e| e.to_string())?;
                docs.into_iter().try_for_each(|d| store.add_document(d).map(|_| ()))
            }
            NodeKind::Map(_) => match node.to_json() {
                Value::Object(m) if m.contains_key("apiVersion") && m.contains_key("kind") => {
                    store.add_document(Value::Object(m)).map(|_| ())
                }
                Value::Object(m) => store.add_facts_map(m).map(|_| ()),
                _ => Ok(()),
            },
            _ => Err("`facts` is a path, a mapping of kind to documents, a Kubernetes object, or a list of these".into()),
        }
    }

    fn inconclusive_expectation(&mut self, node: &Node) -> Option<InconclusiveExpectation> {
        let fields = self.map(node, "an expected inconclusive rule", INCONCLUSIVE_KEYS)?;
        let get = |k: &str| fields.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        Some(InconclusiveExpectation {
            rule: get("rule").map(Node::key_string),
            subject: get("subject").map(Node::key_string),
            reason: get("reason")
                .map(|n| self.text_match(n))
                .unwrap_or_default(),
            pos: node.pos,
        })
    }

    fn text_match(&mut self, node: &Node) -> Vec<TextMatch> {
        match &node.kind {
            NodeKind::Str(s) => vec![TextMatch::Contains(s.clone())],
            NodeKind::Map(_) => {
                let Some(fields) = self.map(node, "a text expectation", TEXT_KEYS) else {
                    return Vec::new();
                };
                let mut out = Vec::new();
                for (k, v) in fields {
                    let s = v.key_string();
                    match k {
                        "contains" => out.push(TextMatch::Contains(s)),
                        "notContains" => out.push(TextMatch::NotContains(s)),
                        "equals" => out.push(TextMatch::Equals(s)),
                        _ => match crate::load::compile_regex(&s) {
                            Ok(re) => out.push(TextMatch::Matches(re)),
                            Err(message) => self.err(
                                v.pos,
                                LoadErrorKind::Regex {
                                    pattern: s,
                                    message,
                                },
                            ),
                        },
                    }
                }
                out
            }
            _ => {
                self.err(
                    node.pos,
                    LoadErrorKind::WrongType {
                        what: "text expectation".into(),
                        expected: "a string or `{contains|matches|equals: ...}`",
                        found: node.kind.describe(),
                    },
                );
                Vec::new()
            }
        }
    }

    fn expectation(&mut self, node: &Node) -> Option<Expectation> {
        let fields = self.map(node, "an expected finding", EXPECT_KEYS)?;
        let mut exp = Expectation {
            pos: node.pos,
            ..Expectation::default()
        };
        for (k, v) in fields {
            match k {
                "rule" => exp.rule = Some(v.key_string()),
                "subject" => exp.subject = Some(v.key_string()),
                "severity" => exp.severity = Some(v.key_string()),
                "message" => exp.message = self.text_match(v),
                "evidence" => {
                    if let Value::Object(m) = v.to_json() {
                        exp.evidence = m.into_iter().collect();
                    }
                }
                _ => {
                    let NodeKind::Seq(steps) = &v.kind else {
                        self.err(
                            v.pos,
                            LoadErrorKind::WrongType {
                                what: "fix".into(),
                                expected: "a list of steps",
                                found: v.kind.describe(),
                            },
                        );
                        continue;
                    };
                    for step in steps {
                        let Some(sf) = self.map(step, "an expected fix step", STEP_KEYS) else {
                            continue;
                        };
                        let mut desc = Vec::new();
                        let mut cmd = Vec::new();
                        for (sk, sv) in sf {
                            if sk == "description" {
                                desc = self.text_match(sv);
                            } else {
                                cmd = self.text_match(sv);
                            }
                        }
                        exp.fix.push((desc, cmd));
                    }
                }
            }
        }
        Some(exp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_pairs_loose_expectations_after_strict_ones() {
        // Expectation 0 fits both findings, expectation 1 only the first:
        // first-fit would fail, the matching pairs 0 with 1 and 1 with 0.
        let fits = vec![vec![true, true], vec![true, false]];
        assert_eq!(match_expectations(&fits, 2), vec![Some(1), Some(0)]);
        let fits = vec![vec![true], vec![true]];
        assert_eq!(match_expectations(&fits, 1), vec![Some(0), None]);
    }

    #[test]
    fn must_not_fire_cases_expect_nothing_from_the_rule() {
        let case =
            |rules: &[&str], expect: Vec<Option<&str>>, inconclusive: Vec<Option<&str>>| TestCase {
                name: "c".into(),
                file: "tests.yaml".into(),
                pos: Pos::default(),
                rules: rules.iter().map(|r| r.to_string()).collect(),
                facts: FactStore::new(),
                expect: expect
                    .into_iter()
                    .map(|rule| Expectation {
                        rule: rule.map(str::to_string),
                        ..Expectation::default()
                    })
                    .collect(),
                inconclusive: inconclusive
                    .into_iter()
                    .map(|rule| InconclusiveExpectation {
                        rule: rule.map(str::to_string),
                        ..InconclusiveExpectation::default()
                    })
                    .collect(),
            };
        assert!(is_must_not_fire(&case(&["a"], vec![], vec![]), "a"));
        assert!(!is_must_not_fire(&case(&["a"], vec![], vec![]), "b"));
        assert!(!is_must_not_fire(&case(&["a"], vec![None], vec![]), "a"));
        assert!(!is_must_not_fire(
            &case(&["a"], vec![], vec![Some("a")]),
            "a"
        ));
        // Another rule's finding leaves `a` quiet; an expectation without `rule`
        // may be either's.
        assert!(is_must_not_fire(
            &case(&["a", "b"], vec![Some("b")], vec![]),
            "a"
        ));
        assert!(!is_must_not_fire(
            &case(&["a", "b"], vec![None], vec![]),
            "a"
        ));
    }
}
