//! The catalog of fact kinds: every kind rulerun knows, with the shape of its
//! documents, so that loading can refuse a kind that does not exist and warn
//! about a path that names a field no document of its kind can have.
//!
//! The built-in catalog is data, embedded from `crates/core/catalog/`:
//!
//! * `k8s.json`, generated from the Kubernetes OpenAPI definitions that
//!   `k8s-openapi` carries, by the test `crates/collect-k8s/tests/catalog.rs`
//!   (`UPDATE_EXPECT=1` rewrites it; otherwise the test fails when it is stale),
//!   so this crate never depends on `k8s-openapi`. Its kinds are the collector's
//!   resources plus a few kinds read from snapshots only.
//! * `aws.json`, written by hand: the shapes the AWS normalizers of
//!   `rulerun-collect-aws` produce (their tests check their outputs against it).
//!
//! Both files use one small subset of JSON Schema, which teams also use to
//! declare their own kinds (`kinds:` in `pack.yaml`, see
//! [`TeamKinds`]): `{}` is any value; `{"type": "object", "properties": {...},
//! "additionalProperties": ...}` an object whose fields are the properties
//! (closed unless `additionalProperties` is `true` or a shape every other field
//! has: a map); `{"type": "array", "items": S}`; `{"type": "string"}` and the
//! other scalars; `{"$ref": "NAME"}` a named shape of the built-in catalog (e.g.
//! `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`). `description`, `title`,
//! `required`, `format` and `enum` are accepted and ignored.
//!
//! The files are parsed once per process ([`builtin`]).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::error::edit_distance;
use rulerun_jsonpath::{Access, JsonPath};

/// The shape of a value.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// Anything: nothing is checked below it.
    Any,
    /// A string, number, integer, boolean or null.
    Scalar(Scalar),
    /// An object.
    Object(ObjectShape),
    /// An array of elements of one shape.
    Array(Box<Shape>),
    /// A named shape of the built-in catalog.
    Ref(String),
}

/// A scalar type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    /// A string.
    String,
    /// A number.
    Number,
    /// An integer.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// `null`.
    Null,
}

impl Scalar {
    fn name(self) -> &'static str {
        match self {
            Scalar::String => "a string",
            Scalar::Number => "a number",
            Scalar::Integer => "an integer",
            Scalar::Boolean => "a boolean",
            Scalar::Null => "null",
        }
    }
}

/// An object's fields.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectShape {
    /// The named fields.
    pub properties: BTreeMap<String, Shape>,
    /// Every other field.
    pub additional: Additional,
}

/// What an object holds besides its named fields.
#[derive(Clone, Debug, PartialEq)]
pub enum Additional {
    /// Nothing: a path naming another field finds nothing.
    Closed,
    /// Anything.
    Any,
    /// Fields of one shape (a map with arbitrary keys, like `metadata.labels`).
    Shape(Box<Shape>),
}

/// Where a kind comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Built in: collected, or read from snapshots only.
    Builtin,
    /// Declared by a team (`kinds:`), in this file.
    Team(std::path::PathBuf),
}

/// One fact kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Kind {
    /// The name, e.g. `k8s/v1/Pod`.
    pub name: String,
    /// Its documents' shape.
    pub shape: Shape,
    /// Read from snapshots only: no collector produces it.
    pub snapshot_only: bool,
    /// Where it is declared.
    pub origin: Origin,
}

/// The built-in catalog: kinds and named shapes.
#[derive(Debug, Default)]
pub struct Catalog {
    kinds: BTreeMap<String, Kind>,
    shapes: BTreeMap<String, Shape>,
    /// Why the embedded data did not parse (a test keeps this `None`).
    error: Option<String>,
}

const K8S: &str = include_str!("../catalog/k8s.json");
const AWS: &str = include_str!("../catalog/aws.json");

/// The built-in catalog, parsed once.
pub fn builtin() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut c = Catalog::default();
        for (file, text) in [("k8s.json", K8S), ("aws.json", AWS)] {
            if let Err(e) = c.add_file(text) {
                c.error = Some(format!("{file}: {e}"));
            }
        }
        c
    })
}

impl Catalog {
    fn add_file(&mut self, text: &str) -> Result<(), String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if let Some(shapes) = doc.get("shapes").and_then(Value::as_object) {
            for (name, s) in shapes {
                let shape = parse_shape(s, &format!("/shapes/{name}"))?;
                self.shapes.insert(name.clone(), shape);
            }
        }
        let kinds = doc
            .get("kinds")
            .and_then(Value::as_object)
            .ok_or("no `kinds` object")?;
        for (name, k) in kinds {
            let at = format!("/kinds/{name}");
            let shape = parse_shape(
                k.get("shape").unwrap_or(&Value::Null),
                &format!("{at}/shape"),
            )?;
            let snapshot_only = k.get("snapshotOnly").and_then(Value::as_bool) == Some(true);
            self.kinds.insert(
                name.clone(),
                Kind {
                    name: name.clone(),
                    shape,
                    snapshot_only,
                    origin: Origin::Builtin,
                },
            );
        }
        Ok(())
    }

    /// Why the embedded data did not parse, if it did not.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Every built-in kind, sorted by name.
    pub fn kinds(&self) -> impl Iterator<Item = &Kind> {
        self.kinds.values()
    }

    /// A built-in kind.
    pub fn kind(&self, name: &str) -> Option<&Kind> {
        self.kinds.get(name)
    }

    /// A named shape.
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// Whether every `$ref` below `shape` names a shape of the catalog; the
    /// first that does not otherwise.
    pub fn unresolved<'s>(&self, shape: &'s Shape) -> Option<&'s str> {
        match shape {
            Shape::Ref(r) => (!self.shapes.contains_key(r)).then_some(r.as_str()),
            Shape::Array(items) => self.unresolved(items),
            Shape::Object(o) => o
                .properties
                .values()
                .find_map(|s| self.unresolved(s))
                .or(match &o.additional {
                    Additional::Shape(s) => self.unresolved(s),
                    _ => None,
                }),
            Shape::Any | Shape::Scalar(_) => None,
        }
    }

    /// `shape` with references followed (a chain of references to references is
    /// followed a bounded number of times; past it, or to a missing name, the
    /// shape is `Any`).
    pub fn resolve<'a>(&'a self, mut shape: &'a Shape) -> &'a Shape {
        for _ in 0..16 {
            match shape {
                Shape::Ref(name) => match self.shapes.get(name) {
                    Some(s) => shape = s,
                    None => return &Shape::Any,
                },
                _ => return shape,
            }
        }
        &Shape::Any
    }

    /// Whether `value` has `shape`: `Err` names the first place where it does not
    /// (a field the shape does not have, or a value of another type), as a path.
    pub fn conforms(&self, shape: &Shape, value: &Value) -> Result<(), String> {
        self.conforms_at(shape, value, "$")
    }

    fn conforms_at(&self, shape: &Shape, value: &Value, at: &str) -> Result<(), String> {
        let wrong = |what: &str| {
            Err(format!(
                "{at}: expected {what}, found {}",
                crate::func::type_name(value)
            ))
        };
        match (self.resolve(shape), value) {
            (Shape::Any, _) | (_, Value::Null) => Ok(()),
            (Shape::Scalar(Scalar::String), Value::String(_))
            | (Shape::Scalar(Scalar::Boolean), Value::Bool(_))
            | (Shape::Scalar(Scalar::Number), Value::Number(_)) => Ok(()),
            (Shape::Scalar(Scalar::Integer), Value::Number(n)) if n.is_i64() || n.is_u64() => {
                Ok(())
            }
            (Shape::Scalar(s), _) => wrong(s.name()),
            (Shape::Array(items), Value::Array(a)) => {
                for (i, v) in a.iter().enumerate() {
                    self.conforms_at(items, v, &format!("{at}[{i}]"))?;
                }
                Ok(())
            }
            (Shape::Array(_), _) => wrong("an array"),
            (Shape::Object(o), Value::Object(m)) => {
                for (k, v) in m {
                    let at = format!("{at}.{k}");
                    match (o.properties.get(k), &o.additional) {
                        (Some(s), _) => self.conforms_at(s, v, &at)?,
                        (None, Additional::Shape(s)) => self.conforms_at(s, v, &at)?,
                        (None, Additional::Any) => {}
                        (None, Additional::Closed) => {
                            return Err(format!("{at}: not a field of the shape"));
                        }
                    }
                }
                Ok(())
            }
            (Shape::Object(_), _) => wrong("an object"),
            (Shape::Ref(_), _) => Ok(()),
        }
    }
}

/// Kinds a team declares for the facts it brings in snapshots (`kinds:` in
/// `pack.yaml`), besides the built-in ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TeamKinds {
    kinds: BTreeMap<String, Kind>,
    /// Declarations refused because the kind was declared with another shape:
    /// (the first declaration, the refused one). Loading reports each.
    conflicts: Vec<(Kind, Kind)>,
}

impl TeamKinds {
    /// Adds a kind; a kind of that name already declared is replaced only when
    /// it has the same shape (`Err` with the file of the first declaration; the
    /// conflict is kept for [`TeamKinds::conflicts`]).
    pub fn add(&mut self, kind: Kind) -> Result<(), Kind> {
        match self.kinds.get(&kind.name) {
            Some(first) if first.shape != kind.shape => {
                self.conflicts.push((first.clone(), kind));
                Err(first.clone())
            }
            _ => {
                self.kinds.insert(kind.name.clone(), kind);
                Ok(())
            }
        }
    }

    /// The declared kinds.
    pub fn kinds(&self) -> impl Iterator<Item = &Kind> {
        self.kinds.values()
    }

    /// Kinds declared twice with different shapes: (first, refused).
    pub fn conflicts(&self) -> &[(Kind, Kind)] {
        &self.conflicts
    }
}

/// The kinds a load knows: the built-in catalog and a team's.
#[derive(Clone, Copy, Debug)]
pub struct Kinds<'a> {
    /// The built-in catalog (named shapes resolve here).
    pub builtin: &'static Catalog,
    /// The team's kinds.
    pub team: &'a TeamKinds,
}

impl<'a> Kinds<'a> {
    /// The built-in catalog with `team`'s kinds.
    pub fn new(team: &'a TeamKinds) -> Self {
        Kinds {
            builtin: builtin(),
            team,
        }
    }

    /// A kind by name.
    pub fn get(&self, name: &str) -> Option<&'a Kind> {
        self.team
            .kinds
            .get(name)
            .or_else(|| self.builtin.kinds.get(name))
    }

    /// The kind a misspelled name most likely means: one with the same last
    /// segment (`k8s/v1/Deployment` -> `k8s/apps/v1/Deployment`), else the
    /// closest by edit distance.
    pub fn suggest(&self, name: &str) -> Option<String> {
        let all: Vec<&str> = self
            .team
            .kinds
            .keys()
            .chain(self.builtin.kinds.keys())
            .map(String::as_str)
            .collect();
        let last = |k: &str| k.rsplit('/').next().unwrap_or("").to_lowercase();
        let want = last(name);
        let same: Vec<&str> = all.iter().copied().filter(|k| last(k) == want).collect();
        if let [only] = same[..] {
            return Some(only.to_string());
        }
        let pool = if same.is_empty() { all } else { same };
        // A misspelled kind name (`Deploymnet`), with the prefix as written when
        // that has it, else wherever it is closest.
        let close: Vec<&str> = pool
            .iter()
            .copied()
            .filter(|k| is_close(&want, &last(k)))
            .collect();
        let prefix = name.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
        close
            .iter()
            .find(|k| k.rsplit_once('/').map(|(p, _)| p) == Some(prefix))
            .map(|k| k.to_string())
            .or_else(|| crate::error::closest(name, close.iter().copied()))
            .or_else(|| close.first().map(|k| k.to_string()))
    }
}

/// Keys of a kind a team declares (`kinds: {KIND: {shape: ..., description: ...}}`).
pub const KIND_DECL_KEYS: &[&str] = &["shape", "description"];

/// Decodes `kinds:` of `pack.yaml`: a mapping of kind names to
/// `{shape: SHAPE, description: TEXT}` (a missing shape is `{}`, anything). A
/// built-in kind, a name that is not a kind, a shape outside the subset or a
/// `$ref` to no built-in shape is an error at its line and column.
pub fn decode_kinds(d: &mut crate::decode::Decoder, node: &crate::yaml::Node) -> Vec<Kind> {
    use crate::yaml::NodeKind;
    let NodeKind::Map(entries) = &node.kind else {
        d.wrong_type(node, "kinds", "a mapping of fact kinds to `{shape: ...}`");
        return Vec::new();
    };
    let catalog = builtin();
    let mut out = Vec::new();
    for (k, v) in entries {
        let Some(name) = d.string(k, "kind") else {
            continue;
        };
        if !crate::facts::is_kind_name(&name) {
            d.invalid(
                k,
                "kind",
                &name,
                "fact kinds are named after their API, e.g. `k8s/karpenter.sh/v1/NodePool`, `aws/ec2/Vpc`",
            );
            continue;
        }
        if catalog.kind(&name).is_some() {
            d.other(
                k.pos,
                format!("`{name}` is a built-in kind"),
                Some("declare only kinds rulerun does not know; `docs/facts.md` lists the built-in ones".into()),
            );
            continue;
        }
        let Some(f) = d.fields(v, &format!("kind `{name}`"), KIND_DECL_KEYS) else {
            continue;
        };
        if let Some(n) = f.get("description") {
            d.string(n, "description");
        }
        let shape = match f.get("shape") {
            None => Shape::Any,
            Some(n) => match parse_shape(&n.to_json(), "shape") {
                Ok(s) => s,
                Err(e) => {
                    d.other(n.pos, format!("invalid shape: {e}"), Some("shapes are a subset of JSON Schema: `{type: object, properties: {...}, additionalProperties: ...}`, `{type: array, items: ...}`, `{type: string}` and the other scalars, `{$ref: NAME}`, `{}` for anything".into()));
                    continue;
                }
            },
        };
        if let Some(r) = catalog.unresolved(&shape) {
            let help = match crate::error::closest(r, catalog.shapes.keys().map(String::as_str)) {
                Some(c) => format!("did you mean `{c}`?"),
                None => "`$ref` names a shape of the built-in catalog, e.g. `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`".into(),
            };
            d.other(
                v.pos,
                format!("`$ref` names no built-in shape: `{r}`"),
                Some(help),
            );
            continue;
        }
        out.push(Kind {
            name,
            shape,
            snapshot_only: true,
            origin: Origin::Team(d.file.clone()),
        });
    }
    out
}

/// Parses a shape written in the catalog's JSON Schema subset; `at` names where
/// (a JSON pointer) in errors.
pub fn parse_shape(v: &Value, at: &str) -> Result<Shape, String> {
    const KEYS: &[&str] = &[
        "type",
        "properties",
        "additionalProperties",
        "items",
        "$ref",
        "description",
        "title",
        "required",
        "format",
        "enum",
    ];
    let Value::Object(o) = v else {
        return Err(format!(
            "`{at}`: a shape is a mapping, e.g. `{{type: string}}`, found {}",
            crate::func::type_name(v)
        ));
    };
    if let Some(k) = o.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!(
            "`{at}`: unknown key `{k}` in a shape; shapes take {}",
            KEYS.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(r) = o.get("$ref") {
        return match r.as_str() {
            Some(r) => Ok(Shape::Ref(r.to_string())),
            None => Err(format!("`{at}/$ref` must be a string")),
        };
    }
    let ty = match o.get("type") {
        None => None,
        Some(Value::String(t)) => Some(t.as_str()),
        // A union of types: anything below it.
        Some(Value::Array(_)) => return Ok(Shape::Any),
        Some(_) => return Err(format!("`{at}/type` must be a string")),
    };
    let ty = match ty {
        None if o.contains_key("properties") || o.contains_key("additionalProperties") => {
            Some("object")
        }
        None if o.contains_key("items") => Some("array"),
        t => t,
    };
    Ok(match ty {
        None => Shape::Any,
        Some("string") => Shape::Scalar(Scalar::String),
        Some("number") => Shape::Scalar(Scalar::Number),
        Some("integer") => Shape::Scalar(Scalar::Integer),
        Some("boolean") => Shape::Scalar(Scalar::Boolean),
        Some("null") => Shape::Scalar(Scalar::Null),
        Some("array") => Shape::Array(Box::new(match o.get("items") {
            Some(i) => parse_shape(i, &format!("{at}/items"))?,
            None => Shape::Any,
        })),
        Some("object") => {
            let properties = match o.get("properties") {
                None => BTreeMap::new(),
                Some(Value::Object(p)) => p
                    .iter()
                    .map(|(k, s)| Ok((k.clone(), parse_shape(s, &format!("{at}/properties/{k}"))?)))
                    .collect::<Result<_, String>>()?,
                Some(_) => {
                    return Err(format!(
                        "`{at}/properties` must be a mapping of field names to shapes"
                    ));
                }
            };
            let additional = match o.get("additionalProperties") {
                None if properties.is_empty() => Additional::Any,
                None | Some(Value::Bool(false)) => Additional::Closed,
                Some(Value::Bool(true)) => Additional::Any,
                Some(s) => Additional::Shape(Box::new(parse_shape(
                    s,
                    &format!("{at}/additionalProperties"),
                )?)),
            };
            Shape::Object(ObjectShape {
                properties,
                additional,
            })
        }
        Some(t) => {
            return Err(format!(
                "`{at}/type`: unknown type `{t}`; one of `object`, `array`, `string`, `number`, `integer`, `boolean`, `null`"
            ));
        }
    })
}

/// What a scope slot holds, as far as loading can tell.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SlotShape<'a> {
    /// One value of this shape.
    One(&'a Shape),
    /// A list of values of this shape (a join without `one: true`, a path
    /// finding several nodes).
    List(&'a Shape),
}

/// A path naming a field its value cannot have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PathProblem {
    pub message: String,
    pub help: String,
}

/// Follows `path` from a value of `start`: the shape of the nodes it finds (when
/// known), and the problem when it names a field that cannot be there (or
/// selects a member of a list or a scalar). `what` names the starting value in
/// messages: "a `k8s/v1/Pod`", "`$container`".
pub(crate) fn follow<'a>(
    catalog: &'a Catalog,
    start: SlotShape<'a>,
    path: &JsonPath,
    what: &str,
) -> (Option<SlotShape<'a>>, Option<PathProblem>) {
    let (accesses, _) = path.accesses();
    let mut list = matches!(start, SlotShape::List(_));
    let mut cur = match start {
        SlotShape::One(s) | SlotShape::List(s) => s,
    };
    // The path so far, as shown in messages (`spec.containers[*]`).
    let mut shown = String::new();
    for a in &accesses {
        if list {
            // The first step from a list binding: its elements, or a mistake.
            match a {
                Access::Name(n) => {
                    return (
                        None,
                        Some(PathProblem {
                            message: format!("{what} is a list, so `{n}` names nothing in it"),
                            help: format!(
                                "select its elements first: `[*].{n}`, or an index, `[0].{n}`"
                            ),
                        }),
                    );
                }
                Access::Any => {
                    list = false;
                    shown.push_str("[*]");
                    continue;
                }
                Access::Whole => return (None, None),
            }
        }
        let here = catalog.resolve(cur);
        match a {
            Access::Whole => return (None, None),
            Access::Any => {
                shown.push_str("[*]");
                match here {
                    Shape::Array(items) => cur = items,
                    Shape::Object(o) if o.properties.is_empty() => match &o.additional {
                        Additional::Shape(s) => cur = s,
                        _ => return (None, None),
                    },
                    _ => return (None, None),
                }
            }
            Access::Name(n) => {
                let dotted = if shown.is_empty() {
                    n.to_string()
                } else {
                    format!("{shown}.{n}")
                };
                match here {
                    Shape::Any => return (None, None),
                    Shape::Object(o) => match (o.properties.get(&**n), &o.additional) {
                        (Some(s), _) => cur = s,
                        (None, Additional::Shape(s)) => cur = s,
                        (None, Additional::Any) => return (None, None),
                        (None, Additional::Closed) => {
                            let near = nearest(n, o.properties.keys().map(String::as_str));
                            let prefix = if shown.is_empty() {
                                String::new()
                            } else {
                                format!("{shown}.")
                            };
                            let names: Vec<String> =
                                near.iter().map(|f| format!("`{prefix}{f}`")).collect();
                            let help = if near.first().is_some_and(|f| is_close(n, f)) {
                                format!("did you mean {}?", or_list(&names))
                            } else if names.is_empty() {
                                "it has no fields".into()
                            } else {
                                format!("the nearest fields: {}", names.join(", "))
                            };
                            return (
                                None,
                                Some(PathProblem {
                                    message: format!(
                                        "{what} has no field `{dotted}`, so the path finds nothing"
                                    ),
                                    help,
                                }),
                            );
                        }
                    },
                    Shape::Array(_) => {
                        let at = if shown.is_empty() {
                            "it".to_string()
                        } else {
                            format!("`{shown}`")
                        };
                        return (
                            None,
                            Some(PathProblem {
                                message: format!(
                                    "in {what}, {at} is a list, so `{n}` names nothing in it"
                                ),
                                help: format!("select its elements first: `{shown}[*].{n}`"),
                            }),
                        );
                    }
                    Shape::Scalar(s) => {
                        let at = if shown.is_empty() {
                            "it".to_string()
                        } else {
                            format!("`{shown}`")
                        };
                        return (
                            None,
                            Some(PathProblem {
                                message: format!("in {what}, {at} is {}, so `{n}` names nothing in it", s.name()),
                                help: "check the path against `docs/facts.md` or a real document (`rulerun query`)".into(),
                            }),
                        );
                    }
                    Shape::Ref(_) => return (None, None),
                }
                shown = dotted;
            }
        }
    }
    let result = if list {
        SlotShape::List(cur)
    } else if path.is_singular() {
        SlotShape::One(cur)
    } else {
        SlotShape::List(cur)
    };
    (Some(result), None)
}

fn is_close(word: &str, candidate: &str) -> bool {
    let limit = (word.chars().count() / 3).max(1);
    distance(&word.to_lowercase(), &candidate.to_lowercase()) <= limit
}

/// Edit distance counting a swap of two neighbours as one edit (`nmae`), within
/// the bound of [`edit_distance`] on long words.
fn distance(a: &str, b: &str) -> usize {
    let d = edit_distance(a, b);
    if a.chars().count() > crate::error::MAX_COMPARED_CHARS
        || b.chars().count() > crate::error::MAX_COMPARED_CHARS
    {
        return d;
    }
    d.min(strsim::osa_distance(a, b))
}

/// Up to three candidates nearest to `word`: those close enough to be a typo
/// when any is, else the three nearest.
fn nearest<'c>(word: &str, candidates: impl Iterator<Item = &'c str>) -> Vec<&'c str> {
    let lower = word.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .map(|c| (distance(&lower, &c.to_lowercase()), c))
        .collect();
    scored.sort();
    let close: Vec<&str> = scored
        .iter()
        .filter(|(_, c)| is_close(word, c))
        .map(|(_, c)| *c)
        .take(3)
        .collect();
    if close.is_empty() {
        scored.into_iter().map(|(_, c)| c).take(3).collect()
    } else {
        close
    }
}

fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn pod() -> SlotShape<'static> {
        SlotShape::One(&builtin().kind("k8s/v1/Pod").unwrap().shape)
    }

    fn problem(start: SlotShape<'static>, path: &str) -> Option<PathProblem> {
        follow(
            builtin(),
            start,
            &JsonPath::parse(path).unwrap(),
            "a `k8s/v1/Pod`",
        )
        .1
    }

    #[test]
    fn the_embedded_catalog_parses_and_every_reference_resolves() {
        let c = builtin();
        assert_eq!(c.error(), None);
        assert!(c.kinds().count() > 30);
        for k in c.kinds() {
            assert_eq!(c.unresolved(&k.shape), None, "{}", k.name);
        }
        for (name, s) in &c.shapes {
            assert_eq!(c.unresolved(s), None, "{name}");
        }
        assert!(c.kind("k8s/v1/ConfigMap").unwrap().snapshot_only);
        assert!(!c.kind("k8s/v1/Pod").unwrap().snapshot_only);
    }

    #[test]
    fn misspelled_kinds_get_the_kind_meant() {
        let team = TeamKinds::default();
        let k = Kinds::new(&team);
        assert_eq!(
            k.suggest("k8s/v1/Deployment").as_deref(),
            Some("k8s/apps/v1/Deployment")
        );
        assert_eq!(
            k.suggest("k8s/apps/v1/Deploymnet").as_deref(),
            Some("k8s/apps/v1/Deployment")
        );
        assert_eq!(k.suggest("k8s/v1/pod").as_deref(), Some("k8s/v1/Pod"));
        assert_eq!(k.suggest("aws/ecr/Repo").as_deref(), None);
        assert_eq!(
            k.suggest("aws/ecr/Repositry").as_deref(),
            Some("aws/ecr/Repository")
        );
        assert!(k.get("k8s/v1/Pod").is_some() && k.get("k8s/v1/Deployment").is_none());
    }

    #[test]
    fn paths_are_followed_through_the_shapes() {
        assert_eq!(problem(pod(), "$.spec.containers[*].image"), None);
        assert_eq!(problem(pod(), "$.metadata.labels.anything"), None);
        assert_eq!(
            problem(pod(), "$.metadata.labels['app.kubernetes.io/name']"),
            None
        );
        assert_eq!(problem(pod(), "$..image"), None);
        assert_eq!(
            problem(pod(), "$.status.containerStatuses[?@.ready == false].name"),
            None
        );
        let p = problem(pod(), "$.spec.container[*]").unwrap();
        assert_eq!(
            p.message,
            "a `k8s/v1/Pod` has no field `spec.container`, so the path finds nothing"
        );
        assert!(
            p.help.starts_with("did you mean `spec.containers`"),
            "{}",
            p.help
        );
        let p = problem(pod(), "$.spec.containers.image").unwrap();
        assert!(
            p.message.contains("`spec.containers` is a list"),
            "{}",
            p.message
        );
        assert!(p.help.contains("`spec.containers[*].image`"), "{}", p.help);
        let p = problem(pod(), "$.metadata.name.first").unwrap();
        assert!(p.message.contains("is a string"), "{}", p.message);
        let p = problem(pod(), "$.zzzzzzzzzz").unwrap();
        assert!(p.help.starts_with("the nearest fields: "), "{}", p.help);
        // The shape a path reaches: a container of the pod.
        let (to, _) = follow(
            builtin(),
            pod(),
            &JsonPath::parse("$.spec.containers[*]").unwrap(),
            "x",
        );
        let Some(SlotShape::List(container)) = to else {
            panic!()
        };
        let (_, p) = follow(
            builtin(),
            SlotShape::One(container),
            &JsonPath::parse("$.imagePullPolcy").unwrap(),
            "`$container`",
        );
        assert!(p.unwrap().help.contains("`imagePullPolicy`"));
        // A list binding is selected into first.
        let p = problem(SlotShape::List(container), "$.name").unwrap();
        assert!(p.message.contains("is a list"));
        assert_eq!(problem(SlotShape::List(container), "$[*].name"), None);
    }

    fn load(text: &str, team: TeamKinds) -> (crate::RuleSet, Vec<crate::LoadError>) {
        let files = [crate::SourceFile {
            path: "r.yaml".into(),
            text: text.into(),
        }];
        let scopes = crate::PackScopes {
            kinds: team,
            ..crate::PackScopes::default()
        };
        crate::load::load_rule_sources(&files, &scopes, &[])
    }

    const RULE: &str = "rules:\n  - id: r\n    title: t\n    severity: low\n    subject: {kind: SUBJECT}\n    let:\n      j: {join: JOINED, on: $.metadata.name, equals: $.metadata.name, one: true}\n    when: {path: \"PATH\", exists: true}\n    finding: {message: m}\n";

    fn rule(subject: &str, joined: &str, path: &str) -> String {
        RULE.replace("SUBJECT", subject)
            .replace("JOINED", joined)
            .replace("PATH", path)
    }

    #[test]
    fn loading_refuses_unknown_kinds_and_warns_about_impossible_fields() {
        let (set, errors) = load(
            &rule("k8s/v1/Deployment", "k8s/v1/Nodes", "$j.metadata.name"),
            TeamKinds::default(),
        );
        let shown: Vec<String> = errors
            .iter()
            .map(|e| format!("{e} / {}", e.help().unwrap_or_default()))
            .collect();
        assert_eq!(shown.len(), 2, "{shown:#?}");
        assert!(shown[0].starts_with("r.yaml:5:21: unknown fact kind `k8s/v1/Deployment` / did you mean `k8s/apps/v1/Deployment`?"), "{}", shown[0]);
        assert!(
            shown[1].starts_with(
                "r.yaml:7:17: unknown fact kind `k8s/v1/Nodes` / did you mean `k8s/v1/Node`?"
            ),
            "{}",
            shown[1]
        );
        assert!(set.rules.is_empty());

        let (set, errors) = load(
            &rule(
                "k8s/v1/Pod",
                "k8s/v1/Node",
                "$j.status.nodeInfo.kubeletVersoin",
            ),
            TeamKinds::default(),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(set.rules.len(), 1, "a rule with warnings loads");
        let w: Vec<String> = set
            .warnings
            .iter()
            .map(|w| format!("{w} / {}", w.help.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            w,
            [
                "r.yaml:8:18: path `$j.status.nodeInfo.kubeletVersoin`: `$j` has no field `status.nodeInfo.kubeletVersoin`, so the path finds nothing / did you mean `status.nodeInfo.kubeletVersion`?"
            ]
        );

        // Fine paths, maps with any key, descendants and filters never warn.
        for path in [
            "$.spec.containers[*].image",
            "$.metadata.labels.x",
            "$..image",
            "$.status.containerStatuses[?@.ready == false].name",
            "$j.metadata.annotations['a/b']",
        ] {
            let (set, errors) = load(
                &rule("k8s/v1/Pod", "k8s/v1/Node", path),
                TeamKinds::default(),
            );
            assert!(
                errors.is_empty() && set.warnings.is_empty(),
                "{path}: {errors:?} {:?}",
                set.warnings
            );
        }
    }

    #[test]
    fn team_kinds_are_known_with_their_shapes() {
        let mut team = TeamKinds::default();
        let shape = parse_shape(
            &json!({"type": "object", "properties": {"metadata": {"$ref": "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}, "spec": {"type": "object", "properties": {"limits": {"type": "object"}}}}}),
            "",
        )
        .unwrap();
        team.add(Kind {
            name: "k8s/karpenter.sh/v1/NodePool".into(),
            shape,
            snapshot_only: true,
            origin: Origin::Team("pack.yaml".into()),
        })
        .unwrap();
        let (set, errors) = load(
            &rule(
                "k8s/karpenter.sh/v1/NodePool",
                "k8s/v1/Node",
                "$.spec.limit",
            ),
            team.clone(),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(set.warnings.len(), 1, "{:?}", set.warnings);
        assert!(
            set.warnings[0]
                .message
                .contains("a `k8s/karpenter.sh/v1/NodePool` has no field `spec.limit`")
        );
        let (set, errors) = load(
            &rule(
                "k8s/karpenter.sh/v1/NodePool",
                "k8s/v1/Node",
                "$.spec.limits.cpu",
            ),
            team.clone(),
        );
        assert!(errors.is_empty() && set.warnings.is_empty());
        // The same kind declared twice with another shape is refused.
        let other = Kind {
            name: "k8s/karpenter.sh/v1/NodePool".into(),
            shape: Shape::Any,
            snapshot_only: true,
            origin: Origin::Team("other/pack.yaml".into()),
        };
        assert!(team.add(other).is_err());
    }

    #[test]
    fn team_kinds_decode_from_yaml_with_errors_at_their_place() {
        let mut d = crate::decode::Decoder::new(std::path::Path::new("pack.yaml"));
        let root = d
            .parse("kinds:\n  k8s/karpenter.sh/v1/NodePool:\n    description: Karpenter node pools\n    shape:\n      type: object\n      properties:\n        metadata: {$ref: io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta}\n        spec: {type: object, additionalProperties: true}\n  k8s/v1/Pod: {}\n  nope: {}\n  x/Y: {shape: {type: strin}}\n  x/Z: {shape: {$ref: ObjectMeta}}\n")
            .unwrap();
        let crate::yaml::NodeKind::Map(entries) = &root.kind else {
            panic!()
        };
        let kinds = decode_kinds(&mut d, &entries[0].1);
        assert_eq!(kinds.len(), 1);
        assert_eq!(kinds[0].name, "k8s/karpenter.sh/v1/NodePool");
        assert_eq!(kinds[0].origin, Origin::Team("pack.yaml".into()));
        let errors: Vec<String> = d.errors.iter().map(|e| format!("{e}")).collect();
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(
            errors[0].starts_with("pack.yaml:9:3: `k8s/v1/Pod` is a built-in kind"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("pack.yaml:10:3: invalid value `nope` for `kind`"),
            "{}",
            errors[1]
        );
        assert!(errors[2].contains("unknown type `strin`"), "{}", errors[2]);
        assert!(
            errors[3].contains("`$ref` names no built-in shape: `ObjectMeta`"),
            "{}",
            errors[3]
        );
    }

    #[test]
    fn shapes_parse_from_the_schema_subset() {
        let s = parse_shape(
            &json!({"type": "object", "properties": {"a": {"type": "string"}, "m": {"additionalProperties": {"type": "integer"}}}, "description": "x"}),
            "",
        )
        .unwrap();
        let c = builtin();
        assert_eq!(c.conforms(&s, &json!({"a": "x", "m": {"k": 1}})), Ok(()));
        assert!(
            c.conforms(&s, &json!({"b": 1}))
                .unwrap_err()
                .contains("$.b")
        );
        assert!(c.conforms(&s, &json!({"m": {"k": "s"}})).is_err());
        assert_eq!(parse_shape(&json!({}), "").unwrap(), Shape::Any);
        assert_eq!(
            parse_shape(&json!({"type": "object"}), "").unwrap(),
            Shape::Object(ObjectShape {
                properties: BTreeMap::new(),
                additional: Additional::Any
            })
        );
        assert!(
            parse_shape(&json!({"type": "strin"}), "/x")
                .unwrap_err()
                .contains("unknown type `strin`")
        );
        assert!(
            parse_shape(&json!({"propertes": {}}), "/x")
                .unwrap_err()
                .contains("unknown key `propertes`")
        );
        assert!(parse_shape(&json!("string"), "/x").is_err());
    }
}
