//! Field projection: facts loaded for a check hold only the fields rules can read.
//!
//! [`RuleSet::projection`] analyses every loaded rule — its JSONPath selections
//! (subject and `each` filters, `let` bindings, join keys and filters, `when`,
//! evidence, fix arguments), its templates (parsed, and followed through
//! attributes, `first`/`last`, `length`, `if`, loops and `set`), and what the
//! engine reads itself (a finding subject's `metadata.namespace` and
//! `metadata.name`) — and computes, for each fact kind, a tree of the object
//! members any rule can read. [`parse_fact_text_projected`] then parses fact text
//! with a [`serde::de::DeserializeSeed`] driven by that tree, checking every other
//! member without building it, so it is never allocated.
//!
//! The projection is semantics-preserving: a check over projected facts gives
//! the same [`crate::Report`] as over whole facts. It is built so that:
//!
//! * arrays keep every element (so lengths, indices and `[*]` are unchanged),
//!   each element projected by the array's element node;
//! * scalars are kept as they are, objects keep the members named by the tree
//!   (every member where a wildcard or index applies);
//! * a value read as a whole (a path's result, an interpolated value, a function
//!   argument, a comparison) is kept whole, and so is everything below a
//!   descendant segment or a filter;
//! * a value only tested for existence or counted keeps its presence (and, for
//!   a count, every member), a value tested for truth keeps at least one member
//!   when it had one;
//! * whatever the analysis cannot follow (a template with macros, a method call,
//!   a computed subscript, `debug()`) keeps the values it names whole.
//!
//! Kinds no rule reads keep their documents as empty objects, so counts (and
//! errors about documents that are not objects) are unchanged. The snapshot
//! envelope (`apiVersion`, `kind`, `metadata`), a list's `apiVersion`/`kind`/`items`
//! and each object's own `apiVersion`/`kind` are read as they are, since
//! [`FactStore::add_document`] decides kinds from them.
//!
//! Skipped members are checked as the whole-document parse checks them
//! ([`crate::json`]): a duplicate member, a number out of the range of `f64` or
//! nesting deeper than 127 levels is refused, with its line and column, whether
//! or not a rule reads it, so whether a file loads never depends on the rules
//! loaded.
//!
//! Four layers: the tree ([`Node`], [`Projection`]) here; `rules`, the analysis
//! of rules into the tree; `templates`, the analysis of minijinja templates it
//! calls; `seed`, the parsing with a tree.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::LoadError;
use crate::expr::{Cond, Op, ScopedPath, ValueExpr};
use crate::facts::{FactStore, SNAPSHOT_API_VERSION, SNAPSHOT_KIND, k8s_kind};
use crate::json::{Key, KeySet, SkipSeed, Strict, ValueSeed};
use crate::rule::{ArgvPart, BindingKind, FixCommand, Rule, RuleSet};
use crate::template::Variables;
use rulerun_jsonpath::{Access, JsonPath};

mod rules;
mod seed;
mod templates;

pub use self::seed::{parse_fact_text_projected, project_document};
use self::{rules::*, templates::*};

// ---------------------------------------------------------------------------
// The projection tree

/// What to keep of one value: the whole of it, or some of its members.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    whole: bool,
    /// Keep at least one member of an object that has members (truth tests).
    nonempty: bool,
    /// Named members of an object.
    fields: BTreeMap<Box<str>, Node>,
    /// Every member of an object and every element of an array; merged into
    /// `fields` once built, so a named member's node covers both.
    any: Option<Box<Node>>,
}

static EMPTY: Node = Node {
    whole: false,
    nonempty: false,
    fields: BTreeMap::new(),
    any: None,
};

static WHOLE: Node = Node {
    whole: true,
    nonempty: false,
    fields: BTreeMap::new(),
    any: None,
};

/// How a read uses the value it reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Use {
    /// Compared, printed, passed on: the whole value.
    Whole,
    /// Only whether it exists (and its type, which projection keeps).
    Presence,
    /// Its truth: an object must stay non-empty when it was.
    Truthy,
    /// Its length: every member or element must stay.
    Length,
}

impl Node {
    /// Whether the whole value is kept.
    pub fn is_whole(&self) -> bool {
        self.whole
    }

    fn child(&self, key: &str) -> Option<&Node> {
        if self.whole {
            return Some(&WHOLE);
        }
        self.fields.get(key).or(self.any.as_deref())
    }

    fn element(&self) -> &Node {
        if self.whole {
            return &WHOLE;
        }
        self.any.as_deref().unwrap_or(&EMPTY)
    }

    fn insert(&mut self, path: &[Access], usage: Use) {
        if self.whole {
            return;
        }
        match path.split_first() {
            None => match usage {
                Use::Whole => self.whole = true,
                Use::Presence => {}
                Use::Truthy => self.nonempty = true,
                Use::Length => {
                    self.any.get_or_insert_with(Box::default);
                }
            },
            Some((Access::Whole, _)) => self.whole = true,
            Some((Access::Name(n), rest)) => self
                .fields
                .entry(n.clone())
                .or_default()
                .insert(rest, usage),
            Some((Access::Any, rest)) => self
                .any
                .get_or_insert_with(Box::default)
                .insert(rest, usage),
        }
    }

    fn merge(&mut self, other: &Node) {
        if self.whole {
            return;
        }
        if other.whole {
            *self = WHOLE.clone();
            return;
        }
        self.nonempty |= other.nonempty;
        for (k, v) in &other.fields {
            self.fields.entry(k.clone()).or_default().merge(v);
        }
        if let Some(a) = &other.any {
            self.any.get_or_insert_with(Box::default).merge(a);
        }
    }

    /// Drops what a whole node makes redundant and merges `any` into the named
    /// members.
    fn normalize(&mut self) {
        if self.whole {
            self.fields.clear();
            self.any = None;
            self.nonempty = false;
            return;
        }
        if let Some(any) = &mut self.any {
            any.normalize();
        }
        if let Some(any) = &self.any {
            for f in self.fields.values_mut() {
                f.merge(any);
            }
        }
        for f in self.fields.values_mut() {
            f.normalize();
        }
    }

    /// The kept paths, one per leaf, for tests and diagnostics: `$.a.b` is kept
    /// whole, `$.a.b?` only present, `$.a.b!` present and non-empty; `[*]` is
    /// every member or element.
    pub fn paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_paths("$".to_string(), &mut out);
        out
    }

    fn collect_paths(&self, at: String, out: &mut Vec<String>) {
        if self.whole {
            out.push(at);
            return;
        }
        let leaf = self.fields.is_empty() && self.any.is_none();
        if leaf || self.nonempty {
            out.push(format!("{at}{}", if self.nonempty { "!" } else { "?" }));
        }
        if let Some(a) = &self.any {
            a.collect_paths(format!("{at}[*]"), out);
        }
        for (k, v) in &self.fields {
            let plain = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            let step = if plain {
                format!(".{k}")
            } else {
                format!("['{k}']")
            };
            v.collect_paths(format!("{at}{step}"), out);
        }
    }

    /// `value` with only what this node keeps.
    pub fn project(&self, value: Value) -> Value {
        if self.whole {
            return value;
        }
        match value {
            Value::Object(map) => {
                let mut out = Map::new();
                let mut first = self.nonempty;
                for (k, v) in map {
                    match self.child(&k) {
                        Some(c) => {
                            let v = c.project(v);
                            out.insert(k, v);
                        }
                        None if first => {
                            let v = EMPTY.project(v);
                            out.insert(k, v);
                        }
                        None => {}
                    }
                    first = false;
                }
                Value::Object(out)
            }
            Value::Array(items) => {
                let e = self.element();
                Value::Array(items.into_iter().map(|v| e.project(v)).collect())
            }
            scalar => scalar,
        }
    }
}

/// What fact documents of each kind keep at load: see the [module
/// documentation](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Projection {
    /// Keep everything (no projection).
    all: bool,
    kinds: BTreeMap<String, Node>,
}

impl Projection {
    /// Keeps every document whole.
    pub fn all() -> Self {
        Projection {
            all: true,
            kinds: BTreeMap::new(),
        }
    }

    /// Whether this keeps everything.
    pub fn is_all(&self) -> bool {
        self.all
    }

    /// What documents of `kind` keep: the whole document under
    /// [`Projection::all`], nothing but an empty object for a kind no rule reads.
    pub fn node(&self, kind: &str) -> &Node {
        if self.all {
            return &WHOLE;
        }
        self.kinds.get(kind).unwrap_or(&EMPTY)
    }

    /// The kinds some rule reads, with what they keep.
    pub fn kinds(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.kinds.iter().map(|(k, n)| (k.as_str(), n))
    }

    /// A document of `kind` with only what rules can read.
    pub fn project(&self, kind: &str, doc: Value) -> Value {
        self.node(kind).project(doc)
    }

    /// A Kubernetes object of `kind`, projected but keeping its own `apiVersion`
    /// and `kind`, which [`FactStore::add_document`] reads.
    fn project_object(&self, kind: &str, doc: Value) -> Value {
        let node = self.node(kind);
        if node.whole {
            return doc;
        }
        let Value::Object(mut map) = doc else {
            return node.project(doc);
        };
        let av = map.remove("apiVersion");
        let k = map.remove("kind");
        let Value::Object(mut out) = node.project(Value::Object(map)) else {
            return Value::Null;
        };
        if let Some(av) = av {
            out.insert("apiVersion".into(), av);
        }
        if let Some(k) = k {
            out.insert("kind".into(), k);
        }
        Value::Object(out)
    }
}

impl RuleSet {
    /// The fields each fact kind must keep for these rules to give the same
    /// report as over whole documents.
    pub fn projection(&self) -> Projection {
        let mut a = Analysis::default();
        for rule in &self.rules {
            a.rule(self, rule);
        }
        let mut kinds = a.kinds;
        for n in kinds.values_mut() {
            n.normalize();
        }
        Projection { all: false, kinds }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn projection(rules: &str) -> Projection {
        let (set, errors) = crate::load_rules(&[crate::SourceFile {
            path: "r.yaml".into(),
            text: rules.into(),
        }]);
        assert!(errors.is_empty(), "{errors:#?}");
        set.projection()
    }

    fn paths(p: &Projection, kind: &str) -> Vec<String> {
        p.node(kind).paths()
    }

    const META: [&str; 2] = ["$.metadata.name", "$.metadata.namespace"];

    #[test]
    fn paths_narrow_and_wildcards_keep_every_element() {
        let p = projection(
            r#"
rules:
  - id: r
    title: T
    severity: low
    subject:
      kind: k8s/v1/Pod
      where: {path: $.status.phase, equals: Pending}
    each: {as: c, path: "$.spec.containers[*]", where: {path: $c.image, regex: x}}
    finding:
      message: "m"
      evidence:
        node: $.spec.nodeName
        ports: "$.spec.containers[*].ports[0].containerPort"
        labels: {path: $.metadata.labels, count: 1}
"#,
        );
        let mut want = vec![
            "$.metadata.labels",
            "$.spec.containers[*].image",
            "$.spec.containers[*].ports[*].containerPort",
            "$.spec.nodeName",
            "$.status.phase",
        ];
        want.extend(META);
        want.sort();
        let mut got = paths(&p, "k8s/v1/Pod");
        got.sort();
        // The evidence object's paths are read whole (`count` is no matcher there).
        assert_eq!(got, want);
        assert_eq!(p.node("k8s/v1/Node"), &Node::default());
    }

    #[test]
    fn descendants_filters_and_root_references_keep_whole_subtrees() {
        let p = projection(
            r#"
rules:
  - id: r
    title: T
    severity: low
    subject:
      kind: k8s/v1/Pod
      where:
        - {path: "$.status.conditions[?@.type == 'Ready'].status", equals: "False"}
        - {path: "$.spec..image", exists: true}
    let:
      n: {join: k8s/v1/Node, on: $.metadata.name, equals: $.spec.nodeName, one: true}
    when: {path: "$n.status.addresses[?@.address == $.spec.x]", exists: true}
    finding:
      message: "m"
"#,
        );
        let mut got = paths(&p, "k8s/v1/Pod");
        got.sort();
        let mut want = vec!["$.spec", "$.status.conditions"];
        want.extend(META);
        want.sort();
        assert_eq!(got, want);
        // `$` inside the filter is the node: the whole node is read.
        assert_eq!(paths(&p, "k8s/v1/Node"), ["$"]);
    }

    #[test]
    fn templates_read_nested_attributes_and_bare_names_whole() {
        let p = projection(
            r#"
rules:
  - id: r
    title: T
    severity: low
    subject: {kind: k8s/v1/Pod}
    each: {as: c, path: "$.status.containerStatuses[*]"}
    let:
      node: {join: k8s/v1/Node, on: $.metadata.name, equals: $.spec.nodeName, one: true}
      dep: {join: k8s/apps/v1/Deployment, on: $.metadata.uid, equals: $.metadata.uid, one: true}
      events:
        join: k8s/v1/Event
        on: $.involvedObject.uid
        equals: $.metadata.uid
        where: {path: $.reason, equals: Failed}
      rs: {join: k8s/apps/v1/ReplicaSet, on: $.metadata.uid, equals: $.metadata.uid, one: true}
    finding:
      message: >-
        {{ c.state.waiting.reason }} {{ subject.metadata.labels['app'] }}
        {%- if dep %} {{ dep.metadata.name }}{% endif %}
        {%- if events %}: {{ (events | last).message }} ({{ events | length }}){% endif %}
        {{ node }} {{ subject.spec.containers[0].image }}
        {% for x in subject.spec.volumes %}{{ x.name }}{% endfor %}
      evidence:
        rs: "{% macro m(v) %}{{ v }}{% endmacro %}{{ m(rs.metadata.name) }}"
"#,
        );
        let mut got = paths(&p, "k8s/v1/Pod");
        got.sort();
        let mut want = vec![
            "$.metadata.labels.app",
            "$.metadata.uid",
            "$.spec.containers[*].image",
            "$.spec.nodeName",
            "$.spec.volumes[*].name",
            "$.status.containerStatuses[*].state.waiting.reason",
        ];
        want.extend(META);
        want.sort();
        assert_eq!(got, want);
        assert_eq!(paths(&p, "k8s/v1/Node"), ["$"]);
        assert_eq!(
            paths(&p, "k8s/apps/v1/Deployment"),
            ["$!", "$.metadata.name", "$.metadata.uid"]
        );
        assert_eq!(
            paths(&p, "k8s/v1/Event"),
            ["$.involvedObject.uid", "$.message", "$.reason"]
        );
        // A template with a macro is not followed: what it names is whole.
        assert_eq!(paths(&p, "k8s/apps/v1/ReplicaSet"), ["$"]);
    }

    #[test]
    fn projection_keeps_lengths_truth_and_scalars() {
        let p = projection(
            r#"
rules:
  - id: r
    title: T
    severity: low
    subject: {kind: k8s/v1/Pod}
    let:
      d: {join: k8s/apps/v1/Deployment, on: $.metadata.uid, equals: $.metadata.uid, one: true}
    finding:
      message: "{% if d %}y{% endif %} {{ subject.spec.containers | length }}"
"#,
        );
        let pod = json!({"metadata": {"name": "a", "uid": "u", "x": [1, 2]},
            "spec": {"containers": [{"name": "c", "image": "i"}, {"name": "d"}], "other": 1}});
        assert_eq!(
            p.project("k8s/v1/Pod", pod),
            json!({"metadata": {"name": "a", "uid": "u"}, "spec": {"containers": [{}, {}]}})
        );
        let dep = json!({"status": {"a": 1}, "spec": 2});
        assert_eq!(p.project("k8s/apps/v1/Deployment", dep), json!({"spec": 2}));
        // A kind no rule reads: empty objects, as many as there were.
        assert_eq!(p.project("k8s/v1/Secret", json!({"data": 1})), json!({}));
        assert_eq!(p.project("k8s/v1/Secret", json!(3)), json!(3));
    }

    #[test]
    fn streaming_parse_matches_projecting_the_whole_parse() {
        let p = projection(
            r#"
rules:
  - id: r
    title: T
    severity: low
    subject: {kind: k8s/v1/Pod, where: {path: $.spec.nodeName, exists: true}}
    finding: {message: "{{ subject.status.phase }}"}
"#,
        );
        let texts = [
            r#"{"apiVersion": "rulerun.dev/v1", "kind": "Snapshot", "facts": {"k8s/v1/Pod": [{"metadata": {"name": "a", "x": 1}, "spec": {"nodeName": "n", "y": [1, {"z": 2}]}, "status": {"phase": "P", "q": 1.5}}], "k8s/v1/Node": [{"a": 1}], "x/y": 3}}"#,
            r#"{"items": [{"metadata": {"name": "a", "x": 1}, "spec": {"nodeName": "n"}}, {"kind": "Node", "apiVersion": "v1", "a": 1}], "apiVersion": "v1", "kind": "PodList"}"#,
            r#"[{"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "b", "\u0078": 2}, "spec": {"q": 1}, "items": [1]}, {"kind": "Weird", "apiVersion": "v1", "facts": {"k8s/v1/Pod": [{"a": 1}]}}]"#,
            r#"{"apiVersion": "rulerun.dev/v1", "kind": "Snapshot", "facts": []}"#,
        ];
        for text in texts {
            let path = Path::new("f.json");
            let streamed = parse_fact_text_projected(path, text, &p).unwrap();
            let whole: Vec<Value> = crate::facts::parse_fact_text(path, text)
                .unwrap()
                .into_iter()
                .map(|d| project_document(&p, d))
                .collect();
            assert_eq!(streamed, whole, "{text}");
            let mut a = FactStore::new();
            let mut b = FactStore::new();
            for d in streamed {
                let _ = a.add_document(d);
            }
            for d in crate::facts::parse_fact_text(path, text).unwrap() {
                let _ = b.add_document(d);
            }
            assert_eq!(a.len(), b.len(), "{text}");
            for (kind, docs) in b.iter() {
                let projected: Vec<Value> =
                    docs.iter().map(|d| p.project(kind, d.clone())).collect();
                let got: Vec<Value> = a
                    .of_kind(kind)
                    .iter()
                    .map(|d| p.project(kind, d.clone()))
                    .collect();
                assert_eq!(got, projected, "{text} {kind}");
            }
        }
        for bad in [
            "{\n  \"a\": ,\n}",
            "[{\"facts\": {\"k8s/v1/Pod\": [{\"a\": tru}]}}]",
            "{} x",
        ] {
            let path = Path::new("f.json");
            let e1 = parse_fact_text_projected(path, bad, &p).unwrap_err();
            let e2 = crate::facts::parse_fact_text(path, bad).unwrap_err();
            assert_eq!(e1.to_string(), e2.to_string(), "{bad}");
            assert_eq!(e1.pos, e2.pos, "{bad}");
        }
    }

    /// What the module documentation and `docs/snapshot-format.md` say about
    /// skipped members: checked as the whole parse checks them (syntax,
    /// duplicate members, numbers out of range, depth), with the same error at
    /// the same line and column; only what is kept counts against the budget.
    #[test]
    fn skipped_members_are_checked_as_whole_ones() {
        let p = projection(
            r#"
rules:
  - id: r
    title: T
    severity: low
    subject: {kind: k8s/v1/Pod}
    finding: {message: "m"}
"#,
        );
        let path = Path::new("f.json");
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let huge = format!("1{}", "0".repeat(400));
        let cases = [
            (
                deep.as_str(),
                "f.json:1:235: nesting deeper than 127 levels of arrays and objects",
            ),
            (
                "1e999",
                "f.json:1:116: number out of range: numbers are read as 64-bit floats, at most about 1.8e308 in size",
            ),
            (
                "-1e999",
                "f.json:1:117: number out of range: numbers are read as 64-bit floats, at most about 1.8e308 in size",
            ),
            (
                huge.as_str(),
                "f.json:1:512: number out of range: numbers are read as 64-bit floats, at most about 1.8e308 in size",
            ),
            (r#"{"a": 1, "a": 2}"#, "f.json:1:123: duplicate key `a`"),
            (r#"1, "x": 2"#, "f.json:1:117: duplicate key `x`"),
            (r#""\q""#, "f.json:1:114: invalid JSON: invalid escape"),
        ];
        for (skipped, message) in cases {
            let text = format!(
                r#"{{"apiVersion": "rulerun.dev/v1", "kind": "Snapshot", "facts": {{"k8s/v1/Pod": [{{"metadata": {{"name": "a"}}, "x": {skipped}}}]}}}}"#
            );
            let whole = crate::facts::parse_fact_text(path, &text).unwrap_err();
            let projected = parse_fact_text_projected(path, &text, &p).unwrap_err();
            assert_eq!(projected, whole, "{skipped}");
            assert_eq!(projected.to_string(), message, "{skipped}");
        }
        // Duplicate kinds in a snapshot, and duplicate envelope members.
        for (text, message) in [
            (
                r#"{"apiVersion": "rulerun.dev/v1", "kind": "Snapshot", "facts": {"k8s/v1/Pod": [], "k8s/v1/Pod": []}}"#,
                "f.json:1:93: duplicate key `k8s/v1/Pod`",
            ),
            (
                r#"{"apiVersion": "v1", "kind": "Pod", "kind": "Node"}"#,
                "f.json:1:42: duplicate key `kind`",
            ),
        ] {
            let whole = crate::facts::parse_fact_text(path, text).unwrap_err();
            let projected = parse_fact_text_projected(path, text, &p).unwrap_err();
            assert_eq!(projected, whole, "{text}");
            assert_eq!(projected.to_string(), message, "{text}");
        }
        // Only kept values count: 60 skipped numbers fit a budget of 20.
        let text = format!(
            r#"{{"apiVersion": "rulerun.dev/v1", "kind": "Snapshot", "facts": {{"k8s/v1/Pod": [{{"metadata": {{"name": "a"}}, "x": [{}]}}]}}}}"#,
            vec!["0"; 60].join(",")
        );
        crate::read::with_test_limits(u64::MAX, 20, || {
            let docs = parse_fact_text_projected(path, &text, &p).unwrap();
            assert_eq!(
                docs[0]["facts"]["k8s/v1/Pod"][0],
                json!({"metadata": {"name": "a"}})
            );
            let e = crate::facts::parse_fact_text(path, &text).unwrap_err();
            assert!(e.to_string().contains("more than 20 values"), "{e}");
        });
    }
}
