//! Paths, value expressions and conditions, compiled at load and evaluated over a
//! rule's scope.
//!
//! A rule's scope is a list of named slots: the subject first, then the element of
//! `each`, then the bindings of `let` in order. A path written `$.a.b` reads the
//! subject; `$name.a.b` (or `$name` alone) reads the slot `name`. The loader resolves
//! names to slot numbers, so evaluation never looks a name up.

use regex::Regex;
use serde_json::Value;

use rulerun_jsonpath::{Bindings, JsonPath};

/// A JSONPath over one slot of the scope.
#[derive(Clone, Debug)]
pub struct ScopedPath {
    /// The slot the path starts from.
    pub slot: usize,
    /// The query, with the slot name replaced by `$`.
    pub path: JsonPath,
    /// The path as the rule author wrote it, for messages.
    pub text: String,
}

/// A value in a scope slot: borrowed from the facts, or computed.
#[derive(Clone, Debug)]
pub enum Slot<'a> {
    /// Not (yet) bound.
    Unset,
    /// A fact document or part of one.
    Ref(&'a Value),
    /// A computed value (join results, function results).
    Owned(Value),
}

static NULL: Value = Value::Null;

impl Slot<'_> {
    /// The slot's value (`null` when unset).
    pub fn value(&self) -> &Value {
        match self {
            Slot::Unset => &NULL,
            Slot::Ref(v) => v,
            Slot::Owned(v) => v,
        }
    }
}

/// The scope of one evaluation.
#[derive(Clone, Debug)]
pub struct Scope<'a> {
    /// Slots, in the order the rule defines names.
    pub slots: Vec<Slot<'a>>,
}

/// Inside a filter, `$name.x` reads the slot `name` (the ids
/// [`JsonPath::parse_bound`] was given are slot numbers). A slot that is not
/// set, or a binding that is null, selects nothing, as `$name.x` outside a
/// filter does.
impl Bindings for Scope<'_> {
    fn binding(&self, id: usize) -> Option<&Value> {
        match self.slots.get(id) {
            Some(Slot::Unset) | None => None,
            Some(slot) if id > 0 && slot.value().is_null() => None,
            Some(slot) => Some(slot.value()),
        }
    }
}

impl ScopedPath {
    /// The nodelist of the path in `scope`.
    ///
    /// A binding that is null (a `one: true` join that found nothing, a binding
    /// whose `if:` did not hold) has no nodes at all, so `exists: false` holds for
    /// it and `$node.x` finds nothing.
    pub fn query<'s>(&self, scope: &'s Scope<'_>) -> Vec<&'s Value> {
        match scope.slots.get(self.slot) {
            Some(slot) if self.slot > 0 && slot.value().is_null() => Vec::new(),
            Some(slot) => self.path.query_bound(slot.value(), scope),
            None => Vec::new(),
        }
    }

    /// The path's result as one value: the node itself for singular paths (or null
    /// when absent), an array of the nodes otherwise.
    pub fn value(&self, scope: &Scope<'_>) -> Value {
        if self.path.is_singular() {
            match scope.slots.get(self.slot) {
                Some(slot) => self
                    .path
                    .first_bound(slot.value(), scope)
                    .cloned()
                    .unwrap_or(Value::Null),
                None => Value::Null,
            }
        } else {
            // Copied within the path's node budget (`$..*` holds each node
            // within each of its ancestors).
            match scope.slots.get(self.slot) {
                Some(slot) if self.slot == 0 || !slot.value().is_null() => {
                    self.path.values_bound(slot.value(), scope)
                }
                _ => Value::Array(Vec::new()),
            }
        }
    }
}

/// A value computed from the scope: a literal, a path, a template, or a list or
/// mapping of those.
#[derive(Clone, Debug)]
pub enum ValueExpr {
    /// A constant.
    Literal(Value),
    /// A path (`$...`).
    Path(ScopedPath),
    /// A string template (contains `{{` or `{%`).
    Template(crate::template::TemplateId),
    /// A list of expressions.
    Array(Vec<ValueExpr>),
    /// A mapping of expressions.
    Object(Vec<(String, ValueExpr)>),
}

/// A boolean condition over the scope.
#[derive(Clone, Debug)]
pub enum Cond {
    /// Every condition holds (true when empty).
    All(Vec<Cond>),
    /// At least one holds (false when empty).
    Any(Vec<Cond>),
    /// The condition does not hold.
    Not(Box<Cond>),
    /// A matcher on a path's nodelist.
    Match(Matcher),
}

/// Whether a matcher needs one node or every node to satisfy its operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    /// At least one node (the default).
    Any,
    /// Every node, and at least one node.
    All,
}

/// A path and an operator.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// What to test.
    pub path: ScopedPath,
    /// How to test it.
    pub op: Op,
    /// Over the nodelist.
    pub quantifier: Quantifier,
}

/// The matcher operators. Each is documented in `docs/rule-language.md` and in
/// [`crate::load::MATCHERS`].
#[derive(Clone, Debug)]
pub enum Op {
    /// JSON equality (numbers compare by value).
    Equals(Value),
    /// Not `Equals`.
    NotEquals(Value),
    /// A node equals a node of another path.
    EqualsPath(ScopedPath),
    /// Not `EqualsPath`.
    NotEqualsPath(ScopedPath),
    /// Equal to one of the values.
    In(Vec<Value>),
    /// Not `In`.
    NotIn(Vec<Value>),
    /// A string node matches the regex (unanchored; use `^...$` to anchor).
    Regex(Box<Regex>),
    /// A string node contains the substring, or an array node contains the value.
    Contains(Value),
    /// A string node starts with the prefix.
    StartsWith(String),
    /// A string node ends with the suffix.
    EndsWith(String),
    /// The nodelist is non-empty (`true`) or empty (`false`).
    Exists(bool),
    /// Numeric comparisons; numeric strings count as numbers.
    Gt(f64),
    /// `>=`.
    Gte(f64),
    /// `<`.
    Lt(f64),
    /// `<=`.
    Lte(f64),
    /// The nodelist has this many nodes; with an array node, its length is used
    /// when the path is singular.
    Count(CountOp),
}

/// A comparison for `count`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CountOp {
    /// `==`.
    Eq(usize),
    /// `>=`.
    Gte(usize),
    /// `<=`.
    Lte(usize),
}

impl Cond {
    /// Evaluates the condition.
    pub fn eval(&self, scope: &Scope<'_>) -> bool {
        match self {
            Cond::All(cs) => cs.iter().all(|c| c.eval(scope)),
            Cond::Any(cs) => cs.iter().any(|c| c.eval(scope)),
            Cond::Not(c) => !c.eval(scope),
            Cond::Match(m) => m.eval(scope),
        }
    }
}

impl Matcher {
    /// Evaluates the matcher.
    pub fn eval(&self, scope: &Scope<'_>) -> bool {
        let nodes = self.path.query(scope);
        match &self.op {
            Op::Exists(want) => nodes.is_empty() != *want,
            Op::NotEquals(v) => !self.quantify(&nodes, |n| json_eq(n, v)),
            Op::EqualsPath(other) => {
                let others = other.query(scope);
                self.quantify(&nodes, |n| others.iter().any(|o| json_eq(n, o)))
            }
            Op::NotEqualsPath(other) => {
                let others = other.query(scope);
                !self.quantify(&nodes, |n| others.iter().any(|o| json_eq(n, o)))
            }
            Op::NotIn(vs) => !self.quantify(&nodes, |n| vs.iter().any(|v| json_eq(n, v))),
            Op::Count(c) => {
                let len = match (self.path.path.is_singular(), nodes.first()) {
                    (true, Some(Value::Array(items))) => items.len(),
                    (true, Some(Value::Object(map))) => map.len(),
                    _ => nodes.len(),
                };
                match c {
                    CountOp::Eq(n) => len == *n,
                    CountOp::Gte(n) => len >= *n,
                    CountOp::Lte(n) => len <= *n,
                }
            }
            op => self.quantify(&nodes, |n| op_holds(op, n)),
        }
    }

    fn quantify(&self, nodes: &[&Value], f: impl Fn(&Value) -> bool) -> bool {
        match self.quantifier {
            Quantifier::Any => nodes.iter().any(|n| f(n)),
            Quantifier::All => !nodes.is_empty() && nodes.iter().all(|n| f(n)),
        }
    }
}

fn op_holds(op: &Op, node: &Value) -> bool {
    match op {
        Op::Equals(v) => json_eq(node, v),
        Op::In(vs) => vs.iter().any(|v| json_eq(node, v)),
        Op::Regex(re) => scalar_text(node).is_some_and(|s| re.is_match(&s)),
        Op::Contains(v) => match (node, v) {
            (Value::String(s), Value::String(sub)) => s.contains(sub.as_str()),
            (Value::Array(items), v) => items.iter().any(|i| json_eq(i, v)),
            _ => false,
        },
        Op::StartsWith(p) => node.as_str().is_some_and(|s| s.starts_with(p.as_str())),
        Op::EndsWith(p) => node.as_str().is_some_and(|s| s.ends_with(p.as_str())),
        Op::Gt(x) => number(node).is_some_and(|n| n > *x),
        Op::Gte(x) => number(node).is_some_and(|n| n >= *x),
        Op::Lt(x) => number(node).is_some_and(|n| n < *x),
        Op::Lte(x) => number(node).is_some_and(|n| n <= *x),
        Op::NotEquals(_)
        | Op::NotIn(_)
        | Op::Exists(_)
        | Op::Count(_)
        | Op::EqualsPath(_)
        | Op::NotEqualsPath(_) => false,
    }
}

/// JSON equality where numbers compare by value (`1 == 1.0`).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A node as a number: numbers, and strings that parse as numbers.
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// The text a regex sees: strings as they are, numbers and booleans as JSON.
fn scalar_text(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        Value::String(s) => Some(std::borrow::Cow::Borrowed(s)),
        Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(std::borrow::Cow::Owned(b.to_string())),
        _ => None,
    }
}

/// A join key: strings as they are, other scalars as their JSON text.
pub fn key_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> ScopedPath {
        ScopedPath {
            slot: 0,
            path: JsonPath::parse(p).unwrap(),
            text: p.into(),
        }
    }

    fn check(doc: &Value, p: &str, op: Op, q: Quantifier) -> bool {
        let scope = Scope {
            slots: vec![Slot::Ref(doc)],
        };
        Matcher {
            path: path(p),
            op,
            quantifier: q,
        }
        .eval(&scope)
    }

    #[test]
    fn operators_follow_their_documented_semantics() {
        let doc = json!({"a": "ImagePullBackOff", "n": 3, "s": "4", "l": ["x", "y"], "c": [{"r": "A"}, {"r": "B"}]});
        let any = Quantifier::Any;
        assert!(check(
            &doc,
            "$.a",
            Op::Equals(json!("ImagePullBackOff")),
            any
        ));
        assert!(check(&doc, "$.n", Op::Equals(json!(3.0)), any));
        assert!(check(&doc, "$.missing", Op::NotEquals(json!("x")), any));
        assert!(check(
            &doc,
            "$.a",
            Op::In(vec![json!("ErrImagePull"), json!("ImagePullBackOff")]),
            any
        ));
        assert!(!check(
            &doc,
            "$.a",
            Op::NotIn(vec![json!("ImagePullBackOff")]),
            any
        ));
        assert!(check(
            &doc,
            "$.a",
            Op::Regex(Box::new(Regex::new("Pull").unwrap())),
            any
        ));
        assert!(check(&doc, "$.a", Op::Contains(json!("Back")), any));
        assert!(check(&doc, "$.l", Op::Contains(json!("y")), any));
        assert!(check(&doc, "$.a", Op::StartsWith("Image".into()), any));
        assert!(check(&doc, "$.a", Op::EndsWith("Off".into()), any));
        assert!(check(&doc, "$.n", Op::Gt(2.0), any));
        assert!(check(&doc, "$.s", Op::Gte(4.0), any));
        assert!(!check(&doc, "$.a", Op::Lt(10.0), any));
        assert!(check(&doc, "$.n", Op::Lte(3.0), any));
        assert!(check(&doc, "$.missing", Op::Exists(false), any));
        assert!(check(&doc, "$.n", Op::Exists(true), any));
        assert!(check(&doc, "$.c[*].r", Op::Equals(json!("B")), any));
        assert!(!check(
            &doc,
            "$.c[*].r",
            Op::Equals(json!("B")),
            Quantifier::All
        ));
        assert!(check(
            &doc,
            "$.c[*].r",
            Op::Regex(Box::new(Regex::new("^[AB]$").unwrap())),
            Quantifier::All
        ));
        assert!(!check(
            &doc,
            "$.none[*]",
            Op::Equals(json!(1)),
            Quantifier::All
        ));
        assert!(check(&doc, "$.l", Op::Count(CountOp::Eq(2)), any));
        assert!(check(&doc, "$.c[*]", Op::Count(CountOp::Gte(2)), any));
    }

    #[test]
    fn conditions_combine() {
        let doc = json!({"a": 1});
        let scope = Scope {
            slots: vec![Slot::Ref(&doc)],
        };
        let yes = Cond::Match(Matcher {
            path: path("$.a"),
            op: Op::Exists(true),
            quantifier: Quantifier::Any,
        });
        let no = Cond::Not(Box::new(yes.clone()));
        assert!(Cond::All(vec![]).eval(&scope));
        assert!(!Cond::Any(vec![]).eval(&scope));
        assert!(Cond::Any(vec![no.clone(), yes.clone()]).eval(&scope));
        assert!(!Cond::All(vec![no, yes]).eval(&scope));
    }
}
