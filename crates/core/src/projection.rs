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
use crate::select::{Access, JsonPath};
use crate::template::Variables;

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

// ---------------------------------------------------------------------------
// Analysis of rules

/// What a scope slot holds, in terms of fact documents.
#[derive(Clone, Debug)]
enum Origin {
    /// Nothing read from facts (parameters, computed values whose sources are
    /// kept whole).
    Computed,
    /// The value at `prefix` in documents of `kind` (a document, or part of one).
    At { kind: String, prefix: Vec<Access> },
    /// An array of whole documents of `kind` (a join without `one: true`).
    Docs(String),
}

#[derive(Default)]
struct Analysis {
    kinds: BTreeMap<String, Node>,
}

impl Analysis {
    fn kind(&mut self, kind: &str) -> &mut Node {
        self.kinds.entry(kind.to_string()).or_default()
    }

    /// Records a read of `path` (steps after the slot) from a slot of `origin`.
    fn read(&mut self, origin: &Origin, path: &[Access], reads_root: bool, usage: Use) {
        match origin {
            Origin::Computed => {}
            Origin::At { kind, prefix } => {
                let node = self.kind(kind);
                if reads_root {
                    node.insert(prefix, Use::Whole);
                    return;
                }
                let mut full = prefix.clone();
                full.extend_from_slice(path);
                node.insert(&full, usage);
            }
            Origin::Docs(kind) => {
                let node = self.kind(kind);
                if reads_root {
                    node.insert(&[], Use::Whole);
                    return;
                }
                match path.split_first() {
                    // The array itself: its length is the number of documents.
                    None if usage != Use::Whole => {}
                    Some((Access::Any, rest)) => node.insert(rest, usage),
                    _ => node.insert(&[], Use::Whole),
                }
            }
        }
    }

    fn path(&mut self, origins: &[Origin], p: &ScopedPath, usage: Use) {
        let (steps, root) = p.path.accesses();
        let origin = origins.get(p.slot).cloned().unwrap_or(Origin::Computed);
        self.read(&origin, &steps, root, usage);
        self.binding_reads(origins, &p.path);
    }

    /// What a path's filters read of other slots (`$name.x` inside a filter):
    /// compared, so whole.
    fn binding_reads(&mut self, origins: &[Origin], path: &JsonPath) {
        for (slot, steps) in path.binding_reads() {
            let origin = origins.get(*slot).cloned().unwrap_or(Origin::Computed);
            self.read(&origin, steps, false, Use::Whole);
        }
    }

    fn cond(&mut self, origins: &[Origin], c: &Cond) {
        match c {
            Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| self.cond(origins, c)),
            Cond::Not(c) => self.cond(origins, c),
            Cond::Match(m) => {
                let usage = match &m.op {
                    Op::Exists(_) => Use::Presence,
                    Op::Count(_) if m.path.path.is_singular() => Use::Length,
                    Op::Count(_) => Use::Presence,
                    Op::EqualsPath(other) | Op::NotEqualsPath(other) => {
                        self.path(origins, other, Use::Whole);
                        Use::Whole
                    }
                    _ => Use::Whole,
                };
                self.path(origins, &m.path, usage);
            }
        }
    }

    fn value(&mut self, origins: &[Origin], e: &ValueExpr) {
        match e {
            ValueExpr::Literal(_) | ValueExpr::Template(_) => {}
            ValueExpr::Path(p) => self.path(origins, p, Use::Whole),
            ValueExpr::Array(items) => items.iter().for_each(|i| self.value(origins, i)),
            ValueExpr::Object(entries) => entries.iter().for_each(|(_, v)| self.value(origins, v)),
        }
    }

    fn rule(&mut self, set: &RuleSet, rule: &Rule) {
        let subject = Origin::At {
            kind: rule.subject_kind.clone(),
            prefix: Vec::new(),
        };
        // What the engine reads itself: the default finding subject.
        let meta = |n: &str| [Access::Name("metadata".into()), Access::Name(n.into())];
        self.read(&subject, &meta("namespace"), false, Use::Whole);
        self.read(&subject, &meta("name"), false, Use::Whole);
        let mut origins = vec![subject, Origin::Computed];
        if let Some(f) = &rule.filter {
            self.cond(&origins, f);
        }
        if let Some(each) = &rule.each {
            let (steps, root) = each.path.path.accesses();
            self.binding_reads(&origins, &each.path.path);
            let base = origins
                .get(each.path.slot)
                .cloned()
                .unwrap_or(Origin::Computed);
            // The elements must stay (their number and order).
            self.read(&base, &steps, root, Use::Presence);
            let element = match (&base, root) {
                (Origin::At { kind, prefix }, false) => {
                    let mut prefix = prefix.clone();
                    prefix.extend(steps);
                    Origin::At {
                        kind: kind.clone(),
                        prefix,
                    }
                }
                (Origin::Computed, _) => Origin::Computed,
                (Origin::At { kind, prefix }, true) => {
                    let mut prefix = prefix.clone();
                    prefix.push(Access::Whole);
                    Origin::At {
                        kind: kind.clone(),
                        prefix,
                    }
                }
                (Origin::Docs(kind), _) => {
                    self.kind(kind).insert(&[], Use::Whole);
                    Origin::At {
                        kind: kind.clone(),
                        prefix: vec![Access::Whole],
                    }
                }
            };
            origins.push(element);
            if let Some(f) = &each.filter {
                self.cond(&origins, f);
            }
        }
        for b in &rule.bindings {
            while origins.len() < b.slot {
                origins.push(Origin::Computed);
            }
            origins.truncate(b.slot);
            if let Some(g) = &b.guard {
                self.cond(&origins, g);
            }
            let origin = match &b.kind {
                BindingKind::Join(j) => {
                    let joined = Origin::At {
                        kind: j.kind.clone(),
                        prefix: Vec::new(),
                    };
                    for on in &j.on {
                        let (steps, root) = on.accesses();
                        self.read(&joined, &steps, root, Use::Whole);
                    }
                    for eq in &j.equals {
                        self.path(&origins, eq, Use::Whole);
                    }
                    if let Some(f) = &j.filter {
                        origins.push(joined.clone());
                        self.cond(&origins, f);
                        origins.truncate(b.slot);
                    }
                    // Even when no field is read, the kind's documents stay.
                    self.kind(&j.kind);
                    if j.one {
                        joined
                    } else {
                        Origin::Docs(j.kind.clone())
                    }
                }
                BindingKind::Call { args, .. } => {
                    args.iter().for_each(|a| self.value(&origins, a));
                    Origin::Computed
                }
                BindingKind::Value(v) => {
                    self.value(&origins, v);
                    Origin::Computed
                }
            };
            origins.push(origin);
        }
        if let Some(w) = &rule.when {
            self.cond(&origins, w);
        }
        let spec = &rule.finding;
        for e in [
            &spec.subject.kind,
            &spec.subject.namespace,
            &spec.subject.name,
        ]
        .into_iter()
        .flatten()
        {
            self.value(&origins, e);
        }
        for (_, e) in &spec.evidence {
            self.value(&origins, e);
        }
        for step in &spec.fix {
            if let Some(g) = &step.guard {
                self.cond(&origins, g);
            }
            if let FixCommand::Argv(parts) = &step.command {
                for part in parts {
                    if let ArgvPart::Path(p) = part {
                        self.path(&origins, p, Use::Whole);
                    }
                }
            }
        }
        // Templates: every one compiled for the rule.
        let debug = rule.template_vars == Variables::All;
        for index in rule.templates.clone() {
            let Some((source, names)) = set.templates.source(index) else {
                continue;
            };
            let reads = if debug {
                None
            } else {
                template_reads(source, &rule.names)
            };
            let reads = reads.unwrap_or_else(|| {
                // Not analysable: every name the template reads, whole.
                let all: Vec<&String> = if debug {
                    rule.names.iter().collect()
                } else {
                    names.iter().collect()
                };
                all.into_iter()
                    .map(|n| TRead {
                        name: n.clone(),
                        path: Vec::new(),
                        usage: Use::Whole,
                    })
                    .collect()
            });
            for r in reads {
                let Some(slot) = rule.names.iter().position(|n| *n == r.name) else {
                    continue;
                };
                let origin = origins.get(slot).cloned().unwrap_or(Origin::Computed);
                self.read(&origin, &r.path, false, r.usage);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Analysis of templates

/// A read of a scope name in a template: attributes and elements, then a use.
#[derive(Clone, Debug, PartialEq)]
struct TRead {
    name: String,
    path: Vec<Access>,
    usage: Use,
}

/// An abstract template value: the scope locations it may be (part of).
type Av = Vec<(String, Vec<Access>)>;

struct Walker<'s> {
    names: &'s [String],
    frames: Vec<HashMap<&'s str, Av>>,
    sets: HashMap<&'s str, Av>,
    loops: Vec<Av>,
    reads: Vec<TRead>,
}

/// Tests that depend only on a value's presence, type or scalar value, all of
/// which projection keeps.
const PRESENCE_TESTS: &[&str] = &[
    "defined",
    "undefined",
    "none",
    "true",
    "false",
    "boolean",
    "string",
    "number",
    "integer",
    "float",
    "mapping",
    "sequence",
    "iterable",
    "odd",
    "even",
    "divisibleby",
    "startingwith",
    "endingwith",
    "lower",
    "upper",
    "safe",
    "escaped",
];

/// What a template reads of the rule's scope names, or `None` when it uses
/// something the analysis does not follow (macros, unknown statements).
fn template_reads(source: &str, names: &[String]) -> Option<Vec<TRead>> {
    use minijinja::machinery::parse;
    let ast = parse(source, "template", Default::default()).ok()?;
    let mut w = Walker {
        names,
        frames: vec![HashMap::new()],
        sets: HashMap::new(),
        loops: Vec::new(),
        reads: Vec::new(),
    };
    // Names `set` anywhere are looked up everywhere: repeat until what they
    // hold no longer grows.
    let mut sets_len = 0;
    for _ in 0..8 {
        w.reads.clear();
        w.loops.clear();
        w.frames = vec![HashMap::new()];
        w.stmt(&ast)?;
        let len: usize = w.sets.values().map(Vec::len).sum();
        if len == sets_len {
            return Some(w.reads);
        }
        sets_len = len;
    }
    None
}

fn extend(av: &Av, step: Access) -> Av {
    av.iter()
        .map(|(n, p)| {
            let mut p = p.clone();
            p.push(step.clone());
            (n.clone(), p)
        })
        .collect()
}

impl<'s> Walker<'s> {
    fn used(&mut self, av: &Av, usage: Use) {
        for (n, p) in av {
            self.reads.push(TRead {
                name: n.clone(),
                path: p.clone(),
                usage,
            });
        }
    }

    fn var(&mut self, id: &'s str) -> Option<Av> {
        if id == "debug" {
            return None;
        }
        if id == "loop" {
            // `loop.previtem`, `loop.nextitem`, `loop.changed(...)`: the elements.
            if let Some(it) = self.loops.last().cloned() {
                self.used(&it, Use::Whole);
            }
            return Some(Vec::new());
        }
        let mut av: Av = Vec::new();
        for f in &self.frames {
            if let Some(v) = f.get(id) {
                av.extend(v.iter().cloned());
            }
        }
        if let Some(v) = self.sets.get(id) {
            av.extend(v.iter().cloned());
        }
        if self.names.iter().any(|n| n == id) {
            av.push((id.to_string(), Vec::new()));
        }
        Some(av)
    }

    fn whole(&mut self, e: &minijinja::machinery::ast::Expr<'s>) -> Option<()> {
        let av = self.expr(e)?;
        self.used(&av, Use::Whole);
        Some(())
    }

    fn args(&mut self, args: &[minijinja::machinery::ast::CallArg<'s>]) -> Option<()> {
        use minijinja::machinery::ast::CallArg;
        for a in args {
            match a {
                CallArg::Pos(e)
                | CallArg::Kwarg(_, e)
                | CallArg::PosSplat(e)
                | CallArg::KwargSplat(e) => self.whole(e)?,
            }
        }
        Some(())
    }

    fn expr(&mut self, e: &minijinja::machinery::ast::Expr<'s>) -> Option<Av> {
        use minijinja::machinery::ast::{BinOpKind, Expr, UnaryOpKind};
        Some(match e {
            Expr::Var(v) => self.var(v.id)?,
            Expr::Const(_) => Vec::new(),
            Expr::GetAttr(g) => extend(&self.expr(&g.expr)?, Access::Name(g.name.into())),
            Expr::GetItem(g) => {
                let base = self.expr(&g.expr)?;
                let step = match &g.subscript_expr {
                    Expr::Const(c) => match c.value.as_str() {
                        Some(s) => Some(Access::Name(s.into())),
                        None if c.value.as_i64().is_some() => Some(Access::Any),
                        None => None,
                    },
                    _ => None,
                };
                match step {
                    Some(step) => extend(&base, step),
                    None => {
                        self.used(&base, Use::Whole);
                        self.whole(&g.subscript_expr)?;
                        Vec::new()
                    }
                }
            }
            Expr::Slice(s) => {
                for x in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.whole(x)?;
                }
                // A slice of a sequence holds some of its elements.
                self.expr(&s.expr)?
            }
            Expr::Filter(f) => {
                let base = match &f.expr {
                    Some(x) => self.expr(x)?,
                    None => Vec::new(),
                };
                match (f.name, f.args.is_empty()) {
                    ("first" | "last", true) => extend(&base, Access::Any),
                    ("length" | "count", true) => {
                        self.used(&base, Use::Length);
                        Vec::new()
                    }
                    _ => {
                        self.used(&base, Use::Whole);
                        self.args(&f.args)?;
                        Vec::new()
                    }
                }
            }
            Expr::Test(t) => {
                let base = self.expr(&t.expr)?;
                let usage = if PRESENCE_TESTS.contains(&t.name) {
                    Use::Presence
                } else {
                    Use::Whole
                };
                self.used(&base, usage);
                self.args(&t.args)?;
                Vec::new()
            }
            Expr::UnaryOp(u) => {
                let base = self.expr(&u.expr)?;
                match u.op {
                    UnaryOpKind::Not => self.used(&base, Use::Truthy),
                    UnaryOpKind::Neg => self.used(&base, Use::Whole),
                }
                Vec::new()
            }
            Expr::BinOp(b) => {
                let left = self.expr(&b.left)?;
                let right = self.expr(&b.right)?;
                match b.op {
                    // `a and b`, `a or b`: the result is one of them.
                    BinOpKind::ScAnd | BinOpKind::ScOr => {
                        self.used(&left, Use::Truthy);
                        let mut out = left;
                        out.extend(right);
                        out
                    }
                    _ => {
                        self.used(&left, Use::Whole);
                        self.used(&right, Use::Whole);
                        Vec::new()
                    }
                }
            }
            Expr::Compare(c) => {
                self.whole(&c.expr)?;
                for op in &c.ops {
                    self.whole(&op.expr)?;
                }
                Vec::new()
            }
            Expr::IfExpr(i) => {
                let test = self.expr(&i.test_expr)?;
                self.used(&test, Use::Truthy);
                let mut out = self.expr(&i.true_expr)?;
                if let Some(f) = &i.false_expr {
                    out.extend(self.expr(f)?);
                }
                out
            }
            Expr::Call(c) => {
                self.args(&c.args)?;
                match &c.expr {
                    // A function (`image_ref(...)`): its arguments are read whole.
                    Expr::Var(v) if !self.names.iter().any(|n| n == v.id) => {
                        if v.id == "debug" {
                            return None;
                        }
                    }
                    // A method call: the receiver, whole.
                    Expr::GetAttr(g) => self.whole(&g.expr)?,
                    other => self.whole(other)?,
                }
                Vec::new()
            }
            Expr::List(l) => {
                for x in &l.items {
                    self.whole(x)?;
                }
                Vec::new()
            }
            Expr::Tuple(t) => {
                for x in &t.items {
                    self.whole(x)?;
                }
                Vec::new()
            }
            Expr::Map(m) => {
                for x in m.keys.iter().chain(m.values.iter()) {
                    self.whole(x)?;
                }
                Vec::new()
            }
        })
    }

    fn bind(&mut self, target: &minijinja::machinery::ast::Expr<'s>, av: Av) {
        use minijinja::machinery::ast::Expr;
        match target {
            Expr::Var(v) => {
                if let Some(f) = self.frames.last_mut() {
                    f.entry(v.id).or_default().extend(av);
                }
            }
            // Unpacking, attribute targets: what is assigned is read whole.
            _ => self.used(&av, Use::Whole),
        }
    }

    fn body(&mut self, stmts: &[minijinja::machinery::ast::Stmt<'s>]) -> Option<()> {
        for s in stmts {
            self.stmt(s)?;
        }
        Some(())
    }

    fn stmt(&mut self, s: &minijinja::machinery::ast::Stmt<'s>) -> Option<()> {
        use minijinja::machinery::ast::{Expr, Stmt};
        match s {
            Stmt::Template(t) => self.body(&t.children)?,
            Stmt::EmitExpr(e) => self.whole(&e.expr)?,
            Stmt::EmitRaw(_) => {}
            Stmt::ForLoop(f) => {
                let it = self.expr(&f.iter)?;
                // The number of iterations (and a mapping's keys).
                self.used(&it, Use::Length);
                if f.recursive {
                    self.used(&it, Use::Whole);
                }
                self.frames.push(HashMap::new());
                match &f.target {
                    Expr::Var(_) => self.bind(&f.target, extend(&it, Access::Any)),
                    other => {
                        self.used(&it, Use::Whole);
                        // Unpacked names hold parts of elements, read whole.
                        if let Expr::Tuple(t) = other {
                            for x in &t.items {
                                self.bind(x, Vec::new());
                            }
                        }
                    }
                }
                self.loops.push(it);
                if let Some(fe) = &f.filter_expr {
                    let v = self.expr(fe)?;
                    self.used(&v, Use::Truthy);
                }
                self.body(&f.body)?;
                self.loops.pop();
                self.frames.pop();
                self.body(&f.else_body)?;
            }
            Stmt::IfCond(i) => {
                let v = self.expr(&i.expr)?;
                self.used(&v, Use::Truthy);
                self.body(&i.true_body)?;
                self.body(&i.false_body)?;
            }
            Stmt::WithBlock(w) => {
                self.frames.push(HashMap::new());
                for (target, e) in &w.assignments {
                    let v = self.expr(e)?;
                    self.bind(target, v);
                }
                self.body(&w.body)?;
                self.frames.pop();
            }
            Stmt::Set(set) => {
                let v = self.expr(&set.expr)?;
                match &set.target {
                    // Visible from here on, wherever it is looked up.
                    Expr::Var(t) => {
                        let held = self.sets.entry(t.id).or_default();
                        for x in v {
                            if !held.contains(&x) {
                                held.push(x);
                            }
                        }
                    }
                    _ => self.used(&v, Use::Whole),
                }
            }
            Stmt::SetBlock(set) => {
                if let Some(f) = &set.filter {
                    self.whole(f)?;
                }
                self.body(&set.body)?;
            }
            Stmt::AutoEscape(a) => {
                self.whole(&a.enabled)?;
                self.body(&a.body)?;
            }
            Stmt::FilterBlock(f) => {
                self.whole(&f.filter)?;
                self.body(&f.body)?;
            }
            Stmt::Do(d) => {
                self.args(&d.call.args)?;
                self.whole(&d.call.expr)?;
            }
            #[allow(unreachable_patterns)]
            _ => return None,
        }
        Some(())
    }
}

// ---------------------------------------------------------------------------
// Parsing with a projection

/// Parses fact text (JSON or YAML) into documents that hold only what
/// `projection` keeps; give them to [`FactStore::add_document`]. JSON is parsed
/// without allocating skipped members; YAML is parsed whole, then projected.
/// Syntax errors are reported as [`crate::facts::parse_fact_text`] reports them.
pub fn parse_fact_text_projected(
    path: &Path,
    text: &str,
    projection: &Projection,
) -> Result<Vec<Value>, LoadError> {
    if projection.all {
        return crate::facts::parse_fact_text(path, text);
    }
    // Only the BOM is cut, so lines and columns are the file's.
    let json = text.trim_start_matches('\u{feff}');
    if crate::facts::is_json(json) {
        let strict = Strict::new();
        let mut de = serde_json::Deserializer::from_str(json);
        let parsed = TopSeed(projection, &strict)
            .deserialize(&mut de)
            .and_then(|docs| de.end().map(|()| docs));
        match parsed {
            Ok(Some(docs)) => Ok(docs),
            // A document whose projection could not be decided while streaming.
            Ok(None) => Ok(crate::facts::parse_fact_text(path, text)?
                .into_iter()
                .map(|d| project_document(projection, d))
                .collect()),
            Err(e) => Err(strict.error(&e).load_error(path)),
        }
    } else {
        Ok(crate::facts::parse_fact_text(path, text)?
            .into_iter()
            .map(|d| project_document(projection, d))
            .collect())
    }
}

/// A parsed document (snapshot, list or object) projected as
/// [`parse_fact_text_projected`] would have parsed it.
pub fn project_document(projection: &Projection, doc: Value) -> Value {
    if projection.all {
        return doc;
    }
    let Value::Object(mut obj) = doc else {
        return doc;
    };
    match classify(&obj) {
        Class::Snapshot => {
            if let Some(Value::Object(facts)) = obj.get_mut("facts") {
                let facts = std::mem::take(facts);
                let facts = facts
                    .into_iter()
                    .map(|(kind, docs)| {
                        let docs = match docs {
                            Value::Array(items) => Value::Array(
                                items
                                    .into_iter()
                                    .map(|d| projection.project(&kind, d))
                                    .collect(),
                            ),
                            other => other,
                        };
                        (kind, docs)
                    })
                    .collect();
                obj.insert("facts".into(), Value::Object(facts));
            }
            Value::Object(obj)
        }
        Class::List { api_version, kind } => {
            if let Some(Value::Array(items)) = obj.remove("items") {
                let items = items
                    .into_iter()
                    .map(|item| project_item(projection, &api_version, &kind, item))
                    .collect();
                obj.insert("items".into(), Value::Array(items));
            }
            Value::Object(obj)
        }
        Class::Object(kind) => projection.project_object(&kind, Value::Object(obj)),
        Class::Other => Value::Object(obj),
    }
}

/// A list item projected by its kind (its own, else the list's), keeping its
/// `apiVersion` and `kind`; left whole when it has no kind (an error later).
fn project_item(projection: &Projection, list_av: &str, list_kind: &str, item: Value) -> Value {
    let Value::Object(o) = &item else {
        return item;
    };
    let av = o
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or(list_av)
        .to_string();
    let item_kind = list_kind.strip_suffix("List").unwrap_or("");
    let kind = match o.get("kind").and_then(Value::as_str) {
        Some(k) => k.to_string(),
        None if !item_kind.is_empty() => item_kind.to_string(),
        None => return item,
    };
    projection.project_object(&k8s_kind(&av, &kind), item)
}

enum Class {
    Snapshot,
    List { api_version: String, kind: String },
    Object(String),
    Other,
}

/// How [`FactStore::add_document`] reads a document.
fn classify(obj: &Map<String, Value>) -> Class {
    let av = obj.get("apiVersion").and_then(Value::as_str);
    let kind = obj.get("kind").and_then(Value::as_str);
    match (av, kind) {
        (Some(SNAPSHOT_API_VERSION), Some(SNAPSHOT_KIND)) => Class::Snapshot,
        (Some(av), Some(k))
            if k == "List" || (k.ends_with("List") && obj.contains_key("items")) =>
        {
            Class::List {
                api_version: av.to_string(),
                kind: k.to_string(),
            }
        }
        (Some(av), Some(k)) => Class::Object(k8s_kind(av, k)),
        _ => Class::Other,
    }
}

/// The top level of fact text: one document or an array of documents. `None`
/// when a document must be parsed again whole (see [`DocSeed`]).
struct TopSeed<'p>(&'p Projection, &'p Strict);

/// The scalar `visit_*` methods of a visitor: each scalar becomes the `Value`
/// `serde_json` builds for it, turned into the visitor's output by `$wrap`.
/// Each counts against the value budget of the parse (the visitor's `.1`).
macro_rules! visit_scalars {
    ($wrap:expr) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            self.1.count()?;
            Ok(($wrap)(Value::Bool(v)))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            self.1.count()?;
            Ok(($wrap)(Value::from(v)))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.1.count()?;
            Ok(($wrap)(Value::from(v)))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            self.1.count()?;
            Ok(($wrap)(self.1.float(v)?))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            self.1.count()?;
            Ok(($wrap)(Value::String(v.to_string())))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            self.1.count()?;
            Ok(($wrap)(Value::Null))
        }
    };
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Option<Vec<Value>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Option<Vec<Value>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        self.1.count()?;
        let mut docs = Vec::new();
        let mut complete = true;
        while let Some(doc) = seq.next_element_seed(DocSeed(self.0, self.1))? {
            match doc {
                Some(d) => docs.push(d),
                None => complete = false,
            }
        }
        Ok(complete.then_some(docs))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(DocSeed(self.0, self.1).visit_map(map)?.map(|d| vec![d]))
    }
    visit_scalars!(|v| Some(vec![v]));
}

/// One document. A snapshot's `facts` are projected per kind and a list's
/// `items` per item kind as they are read; the rest of the document is read
/// whole, then projected when it is a single object. `None` when `facts` or
/// `items` were projected but the document turns out to be a single object
/// (whose members they are): it is then parsed again whole.
struct DocSeed<'p>(&'p Projection, &'p Strict);

impl<'de> DeserializeSeed<'de> for DocSeed<'_> {
    type Value = Option<Value>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_> {
    type Value = Option<Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.1.count()?;
        let mut obj = Map::new();
        let mut lossy = false;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if obj.contains_key(&*key.0) {
                return Err(self.1.duplicate(&key.0));
            }
            let value = match &*key.0 {
                "facts" => {
                    let (v, projected) = map.next_value_seed(FactsSeed(self.0, self.1))?;
                    lossy |= projected;
                    v
                }
                "items" => {
                    let (v, projected) = map.next_value_seed(ItemsSeed(self.0, self.1))?;
                    lossy |= projected;
                    v
                }
                _ => map.next_value_seed(ValueSeed(self.1))?,
            };
            obj.insert(key.0.into_owned(), value);
        }
        Ok(match classify(&obj) {
            Class::Snapshot | Class::Other => Some(Value::Object(obj)),
            Class::List { api_version, kind } => {
                // Items without a kind of their own take the list's.
                if let Some(Value::Array(items)) = obj.get_mut("items") {
                    for item in items.iter_mut() {
                        let unprojected = item.as_object().is_some_and(|o| {
                            !(o.contains_key("apiVersion") && o.contains_key("kind"))
                        });
                        if unprojected {
                            let whole = std::mem::take(item);
                            *item = project_item(self.0, &api_version, &kind, whole);
                        }
                    }
                }
                Some(Value::Object(obj))
            }
            Class::Object(_) if lossy => None,
            Class::Object(kind) => Some(self.0.project_object(&kind, Value::Object(obj))),
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Ok(Some(ValueSeed(self.1).visit_seq(seq)?))
    }
    visit_scalars!(Some);
}

/// A snapshot's `facts`: each kind's documents projected by the kind's node.
/// The flag is true when something was projected.
struct FactsSeed<'p>(&'p Projection, &'p Strict);

impl<'de> DeserializeSeed<'de> for FactsSeed<'_> {
    type Value = (Value, bool);
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FactsSeed<'_> {
    type Value = (Value, bool);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of fact kinds to documents")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.1.count()?;
        let mut out = Map::new();
        while let Some(kind) = map.next_key::<String>()? {
            if out.contains_key(&kind) {
                return Err(self.1.duplicate(&kind));
            }
            let node = self.0.node(&kind);
            let docs = map.next_value_seed(ArraySeed(node, self.1))?;
            out.insert(kind, docs);
        }
        Ok((Value::Object(out), true))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Ok((ValueSeed(self.1).visit_seq(seq)?, false))
    }
    visit_scalars!(|v| (v, false));
}

/// A list's `items`: each item read whole, then projected by its own kind when
/// it names one (one item at a time is held whole). The flag is true when
/// something was projected.
struct ItemsSeed<'p>(&'p Projection, &'p Strict);

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = (Value, bool);
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = (Value, bool);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        self.1.count()?;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let mut projected = false;
        while let Some(item) = seq.next_element_seed(ValueSeed(self.1))? {
            let own = item.as_object().and_then(|o| {
                let av = o.get("apiVersion")?.as_str()?;
                let k = o.get("kind")?.as_str()?;
                Some(k8s_kind(av, k))
            });
            match own {
                Some(kind) => {
                    projected = true;
                    out.push(self.0.project_object(&kind, item));
                }
                None => out.push(item),
            }
        }
        Ok((Value::Array(out), projected))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok((ValueSeed(self.1).visit_map(map)?, false))
    }
    visit_scalars!(|v| (v, false));
}

/// A kind's documents: an array whose elements `0` projects (anything else is
/// read whole, for the error message).
struct ArraySeed<'n>(&'n Node, &'n Strict);

impl<'de> DeserializeSeed<'de> for ArraySeed<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.0.whole {
            return ValueSeed(self.1).deserialize(d);
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ArraySeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of documents")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.1.count()?;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(NodeSeed(self.0, self.1))? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        ValueSeed(self.1).visit_map(map)
    }
    visit_scalars!(std::convert::identity);
}

/// A value projected by a node while it is parsed.
struct NodeSeed<'n>(&'n Node, &'n Strict);

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.0.whole {
            return ValueSeed(self.1).deserialize(d);
        }
        d.deserialize_any(ValueVisitor(self.0, self.1))
    }
}

/// Builds a [`Value`] as [`ValueSeed`] does, keeping only what the node keeps;
/// the members it does not keep are checked by [`SkipSeed`].
struct ValueVisitor<'n>(&'n Node, &'n Strict);

impl<'de> Visitor<'de> for ValueVisitor<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.1.count()?;
        Ok(Value::String(v))
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.1.count()?;
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        NodeSeed(self.0, self.1).deserialize(d)
    }
    visit_scalars!(std::convert::identity);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.1.count()?;
        let e = self.0.element();
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(NodeSeed(e, self.1))? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.1.count()?;
        let mut out = Map::new();
        // Every member name, kept or skipped, for duplicates.
        let mut keys = KeySet::default();
        let mut first = self.0.nonempty;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            // A clone of a borrowed name is a pointer; escaped names are rare.
            if let Err(dup) = keys.insert(key.0.clone()) {
                return Err(self.1.duplicate(&dup));
            }
            let name = &*key.0;
            match self.0.child(name) {
                Some(c) => {
                    let v = map.next_value_seed(NodeSeed(c, self.1))?;
                    out.insert(name.to_string(), v);
                }
                None if first => {
                    let v = map.next_value_seed(NodeSeed(&EMPTY, self.1))?;
                    out.insert(name.to_string(), v);
                }
                None => map.next_value_seed(SkipSeed(self.1))?,
            }
            first = false;
        }
        Ok(Value::Object(out))
    }
}

impl FactStore {
    /// Like [`FactStore::load_path`], with documents holding only what
    /// `projection` keeps (for `check`; `collect` and `query` keep whole
    /// documents).
    pub fn load_path_projected(
        path: &Path,
        projection: &Projection,
    ) -> Result<FactStore, Vec<LoadError>> {
        Self::load_paths_projected(std::slice::from_ref(&path), projection)
    }

    /// [`FactStore::load_paths`], with documents holding only what
    /// `projection` keeps.
    pub fn load_paths_projected(
        paths: &[&Path],
        projection: &Projection,
    ) -> Result<FactStore, Vec<LoadError>> {
        FactStore::load_paths_with(paths, |file, text| {
            parse_fact_text_projected(file, text, projection)
        })
    }

    /// [`FactStore::load_paths_projected`], kept apart by cluster as
    /// [`crate::facts::ClusterFacts`] describes.
    pub fn load_clusters_projected(
        paths: &[&Path],
        projection: &Projection,
    ) -> Result<Vec<crate::facts::ClusterFacts>, Vec<LoadError>> {
        FactStore::load_clusters_with(paths, |file, text| {
            parse_fact_text_projected(file, text, projection)
        })
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
