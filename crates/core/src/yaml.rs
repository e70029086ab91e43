//! A YAML document as a tree of nodes that remember where they came from.
//!
//! Rule files are decoded in two steps: serde-saphyr parses the text (with its
//! budgets against YAML bombs and its duplicate-key rejection) into [`Node`]s that
//! carry line and column, and the loader then walks those nodes by hand. Walking by
//! hand, rather than deriving `Deserialize` for the rule model, is what lets one run
//! report every unknown key, bad regex and bad JSONPath of a file together, each at
//! its own `file:line:column`.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A 1-based line and column in a source file; `0:0` when unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A YAML node with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// What it holds.
    pub kind: NodeKind,
}

/// The value of a [`Node`].
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// `~`, `null` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string scalar.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Node, Node)>),
}

impl NodeKind {
    /// A short noun for messages: "a string", "a mapping", ...
    pub fn describe(&self) -> &'static str {
        match self {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) | NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// The string, if the node is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The node as plain JSON (positions dropped).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::from(*i),
            NodeKind::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            NodeKind::Str(s) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    map.insert(k.key_string(), v.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// A mapping key as a string (non-string keys are rendered as YAML would print them).
    pub fn key_string(&self) -> String {
        match &self.kind {
            NodeKind::Str(s) => s.clone(),
            NodeKind::Null => "null".into(),
            NodeKind::Bool(b) => b.to_string(),
            NodeKind::Int(i) => i.to_string(),
            NodeKind::Float(f) => f.to_string(),
            NodeKind::Seq(_) | NodeKind::Map(_) => self.to_json().to_string(),
        }
    }
}

/// A YAML syntax error with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub pos: Pos,
    /// What it said, without the source snippet.
    pub message: String,
}

/// The parser options for every YAML rulerun reads: serde-saphyr's default budget
/// (limits on events, nesting and aliases against YAML bombs), duplicate keys
/// rejected, and YAML 1.2 booleans only, so that `on:` is the string `on` and not
/// `true` (the YAML 1.1 "Norway problem").
pub fn options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.strict_booleans = true;
    o
}

/// The parser options for YAML fact files: [`options`] with a budget sized for
/// `kubectl get -o yaml` of a large cluster instead of a configuration file.
/// serde-saphyr's default (250,000 nodes, a million events, 1,024 documents, 64
/// levels) refuses the YAML of a 2,000-pod cluster, so nodes and events get the
/// JSON reader's value budget ([`crate::json::MAX_VALUES`]), scalar text and
/// documents the fact file's byte limit. Nesting keeps the default 64 levels
/// (serde-saphyr recurses deeper per level than JSON's parser: 120 levels
/// overflowed a 2 MiB thread stack in a debug build). What
/// guards against YAML bombs stays as it is: the limits on aliases and anchors
/// and the alias-to-anchor ratio.
pub fn fact_options() -> serde_saphyr::Options {
    let mut o = options();
    let values = usize::try_from(crate::json::MAX_VALUES).unwrap_or(usize::MAX);
    let bytes = usize::try_from(crate::facts::MAX_FILE_BYTES).unwrap_or(usize::MAX);
    let mut b = serde_saphyr::Budget::default();
    b.max_reader_input_bytes = None;
    b.max_nodes = values;
    // A node opens and closes: two events for each collection, one per scalar.
    b.max_events = values.saturating_mul(2);
    b.max_total_scalar_bytes = bytes;
    b.max_documents = 1 << 20;
    o.budget = Some(b);
    o
}

/// Parses one YAML document into a [`Node`] tree.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    serde_saphyr::from_str_with_options::<Node>(text, options()).map_err(|e| {
        let pos = e
            .location()
            .map(|l| Pos {
                line: u32::try_from(l.line()).unwrap_or(u32::MAX),
                column: u32::try_from(l.column()).unwrap_or(u32::MAX),
            })
            .unwrap_or_default();
        SyntaxError {
            pos,
            message: message(&e),
        }
    })
}

/// What a serde-saphyr error says, in words: its own message without the
/// position, and a limit it enforces named as such (its display of a budget
/// breach is the Rust `Debug` text, `budget breached: Nodes { nodes: 250001 }`).
pub(crate) fn message(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    // The error itself, out of the wrappers that add a snippet or the places an
    // alias was defined and used (we print one position ourselves).
    let mut e = e;
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = e
    {
        e = error;
    }
    let serde_saphyr::Error::Budget { breach, .. } = e else {
        return strip_location_suffix(&e.to_string());
    };
    let (what, n) = match breach {
        B::Events { events } => ("parser events", *events),
        B::Aliases { aliases } => ("aliases (`*name`)", *aliases),
        B::Anchors { anchors } => ("anchors (`&name`)", *anchors),
        B::Depth { depth } => ("levels of nesting (depth)", *depth),
        B::Documents { documents } => ("documents", *documents),
        B::Nodes { nodes } => ("values (mappings, sequences and scalars)", *nodes),
        B::ScalarBytes { total_scalar_bytes } => ("bytes of scalar text", *total_scalar_bytes),
        B::MergeKeys { merge_keys } => ("merge keys (`<<`)", *merge_keys),
        B::AliasAnchorRatio { aliases, anchors } => {
            return format!(
                "{aliases} aliases of {anchors} anchors: a document that expands aliases this much is refused as a YAML bomb"
            );
        }
        B::InputBytes { input_bytes } => ("bytes of input", *input_bytes),
        B::RecordedAnchorEvents {
            recorded_anchor_events,
        } => (
            "parser events recorded for anchors (aliases expanding to too much)",
            *recorded_anchor_events,
        ),
        B::RecordedAnchorBytes {
            recorded_anchor_bytes,
        } => (
            "bytes recorded for anchors (aliases expanding to too much)",
            *recorded_anchor_bytes,
        ),
        other => return format!("over a YAML parser limit ({other:?})"),
    };
    format!("over the YAML parser's limit at {n} {what}")
}

/// serde-saphyr appends " at line X, column Y"; we print positions ourselves.
pub(crate) fn strip_location_suffix(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message).trim();
    // serde-saphyr's advice speaks to programmers using the library, not to rule
    // authors: keep the sentence that says what is wrong.
    let first = [", set ", "; set ", " (set "]
        .iter()
        .fold(first, |acc, sep| acc.split(sep).next().unwrap_or(acc));
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<NodeKindDe>::deserialize(deserializer)?;
        let loc = spanned.referenced;
        Ok(Node {
            pos: Pos {
                line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
                column: u32::try_from(loc.column()).unwrap_or(u32::MAX),
            },
            kind: spanned.value.0,
        })
    }
}

struct NodeKindDe(NodeKind);

impl<'de> Deserialize<'de> for NodeKindDe {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KindVisitor).map(NodeKindDe)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = NodeKind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeKind, E> {
        Ok(NodeKind::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeKind, E> {
        Ok(NodeKind::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeKind, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => NodeKind::Int(i),
            Err(_) => NodeKind::Float(v as f64),
        })
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<NodeKind, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => NodeKind::Int(i),
            Err(_) => NodeKind::Float(v as f64),
        })
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeKind, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => NodeKind::Int(i),
            Err(_) => NodeKind::Float(v as f64),
        })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeKind, E> {
        Ok(NodeKind::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeKind, E> {
        Ok(NodeKind::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeKind, E> {
        Ok(NodeKind::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<NodeKind, E> {
        Ok(NodeKind::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<NodeKind, E> {
        Ok(NodeKind::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<NodeKind, D::Error> {
        d.deserialize_any(KindVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeKind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeKind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeKind, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<Node, Node>()? {
            entries.push((k, v));
        }
        Ok(NodeKind::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn positions_are_recorded_for_nested_nodes() {
        let n = parse("a:\n  b: [1, two]\n  c: {d: true}\n").unwrap();
        let NodeKind::Map(top) = &n.kind else {
            panic!()
        };
        let (k, v) = &top[0];
        assert_eq!(k.as_str(), Some("a"));
        assert_eq!(k.pos, Pos { line: 1, column: 1 });
        let NodeKind::Map(inner) = &v.kind else {
            panic!()
        };
        assert_eq!(inner[0].0.pos, Pos { line: 2, column: 3 });
        let NodeKind::Seq(items) = &inner[0].1.kind else {
            panic!()
        };
        assert_eq!(items[1].kind, NodeKind::Str("two".into()));
        assert_eq!(
            items[1].pos,
            Pos {
                line: 2,
                column: 10
            }
        );
        assert_eq!(inner[1].1.to_json(), serde_json::json!({"d": true}));
    }

    #[test]
    fn syntax_errors_carry_positions() {
        let e = parse("a:\n  b: 1\n c: 2\n").unwrap_err();
        assert!(e.pos.line >= 2, "{e:?}");
        assert!(!e.message.is_empty());
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert!(e.message.contains("duplicate"), "{e:?}");
        assert!(!e.message.contains("DuplicateKeyPolicy"), "{e:?}");
    }

    #[test]
    fn only_yaml_1_2_booleans_are_booleans() {
        let n = parse("on: yes\noff: true\n").unwrap();
        assert_eq!(n.to_json(), serde_json::json!({"on": "yes", "off": true}));
    }
}
