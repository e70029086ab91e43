//! JSONPath selection (RFC 9535) over facts held as [`serde_json::Value`].
//!
//! A rule's paths are compiled once, at load, with [`JsonPath::parse`]:
//!
//! 1. the query string is checked against [`JsonPath::MAX_LEN`] and
//!    [`JsonPath::MAX_DEPTH`] *before* any parser sees it (the pest parser
//!    recurses once per nesting level), and scanned for a syntax mistake that
//!    `jsonpath-rust` wrongly accepts (whitespace inside a `.name`);
//! 2. `jsonpath-rust` parses it into its AST;
//! 3. the AST is type-checked as RFC 9535 section 2.4.3 requires (function
//!    arguments and results), which `jsonpath-rust` only partly does;
//! 4. the AST is compiled either into a *simple* plan — a list of name, index
//!    and wildcard steps walked directly on the document, without allocation
//!    for a single result — or into a *general* plan.
//!
//! General plans are walked segment by segment by this module (so that
//! descendant segments with several selectors produce RFC order, which
//! `jsonpath-rust` gets wrong). Filter selectors are compiled too, and evaluated
//! directly on the document with RFC 9535 semantics (section 2.3.5.2): the
//! logical structure (`&&`, `||`, `!`, parentheses), existence tests,
//! comparisons, and the functions `length()`, `count()`, `value()`, `match()`
//! and `search()`, whose query arguments are walked like any query. `jsonpath-rust`
//! evaluates filters only in [`JsonPath::query_fallback`], the reference of the
//! differential tests. See `docs/jsonpath.md` for the conformance status.
//!
//! ## Bounds
//!
//! * A `match()` or `search()` pattern is compiled like a `regex:` matcher, with
//!   [`compile_regex`]: at most [`MAX_REGEX_LEN`] bytes, [`MAX_REGEX_SIZE`] bytes
//!   compiled and [`MAX_REGEX_DFA_SIZE`] bytes of DFA cache. A literal pattern is
//!   compiled when the path is (an invalid one is a [`PathError::Regex`]); a
//!   pattern read from the document goes through a small cache of compiled
//!   patterns, and each one compiled costs [`REGEX_COMPILE_NODES`] of the
//!   evaluation's node budget.
//! * Descendant segments and segments of several selectors multiply:
//!   `$..*..*..*..*` on a 110-level document of 861 bytes selects about 6
//!   million nodes from 110. One evaluation of a general plan may therefore
//!   visit and select at most [`JsonPath::MAX_NODES`] nodes, or
//!   [`JsonPath::NODES_PER_DOCUMENT_NODE`] per node of the document when that is
//!   more (counting every node each segment selects, every node a descendant
//!   segment walks, every item a filter tests, the nodes of the queries inside
//!   filters, and with [`JsonPath::values`] every node copied). Beyond it the
//!   evaluation stops with a [`LimitError`]: [`JsonPath::try_query`] returns
//!   it; [`JsonPath::query`], [`JsonPath::first`] and [`JsonPath::values`],
//!   for callers that cannot return an error, return what they found and record
//!   it for [`take_limit_error`] (the engine makes it an evaluation error of the
//!   rule for the subject). A path whose work is linear in the document (a
//!   single `..`, wildcards, filters of singular queries) never reaches the
//!   bound; simple plans, which select every node at most once, are not counted.

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, PoisonError};

use jsonpath_rust::parser::errors::JsonPathError;
use jsonpath_rust::parser::model::{
    Comparable, Comparison, Filter, FilterAtom, FnArg, JpQuery, Literal, Segment, Selector,
    SingularQuery, SingularQuerySegment, Test, TestFunction,
};
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::Query;
use jsonpath_rust::query::state::State;
use regex::Regex;
use serde_json::Value;

/// A compiled JSONPath query (RFC 9535).
///
/// Build it once with [`JsonPath::parse`] and evaluate it any number of times
/// with [`JsonPath::query`] or [`JsonPath::first`]. Cloning is cheap.
#[derive(Clone, Debug)]
pub struct JsonPath {
    src: Box<str>,
    plan: Plan,
    singular: bool,
    /// Whether a filter reads `$`.
    reads_root: bool,
    /// The bindings filters read (`$name` in a filter), and the steps below.
    binding_reads: Box<[(usize, Vec<Access>)]>,
}

/// The compiled form of a query.
#[derive(Clone, Debug)]
enum Plan {
    /// Only name, index and wildcard selectors, one per segment.
    Simple(Box<[Step]>),
    /// Anything else: the segments, with filters compiled, walked by [`walk`].
    General(Arc<[Seg]>),
}

/// A segment of a general plan: the `jsonpath-rust` segment, with its filter
/// selectors compiled.
#[derive(Clone, Debug)]
enum Seg {
    /// A child segment: its selectors, applied in order.
    Child(Box<[Sel]>),
    /// A descendant segment.
    Descendant(Box<Seg>),
}

/// A selector of a general plan.
#[derive(Clone, Debug)]
enum Sel {
    Name(Box<str>),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Filter(Box<FilterPlan>),
}

/// A filter selector: as parsed, and compiled for direct evaluation.
#[derive(Clone, Debug)]
struct FilterPlan {
    /// Evaluated by [`test_filter`] (`jsonpath-rust` for every test and
    /// comparison) only by [`JsonPath::query_fallback`], for differential tests.
    ast: Filter,
    fast: Fast,
}

/// A filter expression compiled for direct evaluation on [`Value`].
#[derive(Clone, Debug)]
enum Fast {
    Or(Box<[Fast]>),
    And(Box<[Fast]>),
    Not(Box<Fast>),
    /// An existence test of a singular query: true when it selects a node.
    Exists(SingularPath),
    /// An existence test of any other query.
    ExistsQuery(SubQuery),
    /// A comparison, RFC 9535 section 2.3.5.2.2.
    Compare(Op, Operand, Operand),
    /// `match()` or `search()`.
    Regex(Box<RegexTest>),
    /// One of rulerun's function extensions: `in()`.
    Ext(Box<ExtTest>),
    /// A test the type check leaves impossible (kept total rather than panic).
    False,
}

/// A singular query inside a filter: from `@`, `$` or a binding, names and
/// indices only.
#[derive(Clone, Debug)]
struct SingularPath {
    start: Start,
    steps: Box<[Step]>,
}

/// Where a singular query inside a filter starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// `@`, the item the filter tests.
    Current,
    /// `$`, the query's root.
    Root,
    /// `$name`, a binding: the id the caller's resolver gave the name
    /// (rulerun's extension to RFC 9535).
    Binding(usize),
}

/// The values of the bindings a query's filters read (`$name` inside a
/// filter), by the ids the resolver of [`JsonPath::parse_bound`] gave them.
pub trait Bindings {
    /// The value bound to `id`; `None` when it has none (a binding that is not
    /// set or is null selects nothing).
    fn binding(&self, id: usize) -> Option<&Value>;
}

/// No bindings at all: every binding reference selects nothing.
pub struct NoBindings;

impl Bindings for NoBindings {
    fn binding(&self, _: usize) -> Option<&Value> {
        None
    }
}

/// Values by index: the id of a binding is its position.
impl Bindings for Vec<Value> {
    fn binding(&self, id: usize) -> Option<&Value> {
        self.get(id)
    }
}

/// A query inside a filter (a function's `NodesType` argument, or a test):
/// from `@` (or `$` when `root`).
#[derive(Clone, Debug)]
struct SubQuery {
    root: bool,
    segments: Arc<[Seg]>,
}

/// A value in a filter: a comparison's side, or a function's `ValueType`
/// argument.
#[derive(Clone, Debug)]
enum Operand {
    Literal(Value),
    /// A number literal too large for a JSON number (`1e999`): positive or
    /// negative infinity.
    Infinite {
        negative: bool,
    },
    Path(SingularPath),
    Function(Box<ValueFn>),
    /// Nothing, for arguments the type check leaves impossible.
    Nothing,
}

/// The functions whose result is a value (RFC 9535 section 2.4.4 to 2.4.8).
#[derive(Clone, Debug)]
enum ValueFn {
    Length(Operand),
    Count(SubQuery),
    Value(SubQuery),
}

/// `match()` (the whole string) or `search()` (a substring).
#[derive(Clone, Debug)]
struct RegexTest {
    subject: Operand,
    pattern: Pattern,
    search: bool,
}

/// rulerun's function extensions to RFC 9535 (section 2.4 allows them): two
/// `ValueType` arguments, a `LogicalType` result. (jsonpath-rust's grammar
/// parses a fixed list of function names; `in` is among them.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExtFn {
    /// `in(value, list)`: the value equals an element of the list (an array).
    In,
}

impl ExtFn {
    const ALL: [ExtFn; 1] = [ExtFn::In];

    fn name(self) -> &'static str {
        match self {
            ExtFn::In => "in",
        }
    }

    fn from_name(name: &str) -> Option<ExtFn> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// A call of an [`ExtFn`].
#[derive(Clone, Debug)]
struct ExtTest {
    function: ExtFn,
    a: Operand,
    b: Operand,
}

impl ExtTest {
    fn test(&self, item: &Value, root: &Value, budget: &Budget<'_>, binds: &dyn Bindings) -> bool {
        let a = self.a.resolve(item, root, budget, binds);
        let b = self.b.resolve(item, root, budget, binds);
        match self.function {
            ExtFn::In => match b.value() {
                Some(Value::Array(list)) => a
                    .value()
                    .is_some_and(|v| list.iter().any(|e| nodes_equal(Some(v), Some(e)))),
                _ => false,
            },
        }
    }
}

/// The pattern of `match()` or `search()`.
#[derive(Clone, Debug)]
enum Pattern {
    /// A string literal, compiled with the path.
    Compiled(Arc<Regex>),
    /// A literal that is not a string: never matches.
    Never,
    /// Read from the document, compiled through [`dynamic_regex`].
    Dynamic(Operand),
}

/// What an [`Operand`] evaluates to.
enum Resolved<'a> {
    Nothing,
    Node(&'a Value),
    Owned(Value),
    Infinite { negative: bool },
}

/// A comparison operator.
#[derive(Clone, Copy, Debug)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// How filter selectors are evaluated.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Eval {
    /// Directly, as compiled.
    Fast,
    /// Every test and comparison by `jsonpath-rust` (differential testing).
    Fallback,
}

/// One step of a simple plan.
#[derive(Clone, Debug)]
enum Step {
    Name(Box<str>),
    Index(i64),
    Wildcard,
}

/// Why a JSONPath query was rejected.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum PathError {
    /// The query is longer than [`JsonPath::MAX_LEN`] bytes.
    #[error("JSONPath `{query}` is longer than {max} bytes")]
    TooLong {
        /// The query, shortened to its first 64 characters followed by `…`.
        query: String,
        /// The limit, [`JsonPath::MAX_LEN`].
        max: usize,
    },
    /// Brackets and parentheses nest deeper than [`JsonPath::MAX_DEPTH`].
    #[error("JSONPath `{query}` nests deeper than {max} levels")]
    TooDeep {
        /// The query.
        query: String,
        /// The limit, [`JsonPath::MAX_DEPTH`].
        max: usize,
    },
    /// The query is not valid RFC 9535 JSONPath.
    #[error("invalid JSONPath `{query}`: {reason}")]
    Syntax {
        /// The query.
        query: String,
        /// What is wrong, in lowercase prose.
        reason: String,
        /// Byte offset in the query where the problem was found, if known.
        offset: Option<usize>,
    },
    /// A binding reference in a filter (`$name`) that names no binding in
    /// scope (see [`JsonPath::parse_bound`]).
    #[error("invalid JSONPath `{query}`: `${name}` at column {column} is not a binding in scope", column = column(query, *offset))]
    UnknownBinding {
        /// The query.
        query: String,
        /// The name after `$`.
        name: String,
        /// Byte offset of the `$` in the query.
        offset: usize,
    },
    /// A `match()` or `search()` pattern that does not compile within the
    /// limits of [`compile_regex`].
    #[error("invalid JSONPath `{query}`: the pattern `{pattern}` of `{function}()`: {reason}")]
    Regex {
        /// The query.
        query: String,
        /// `match` or `search`.
        function: &'static str,
        /// The pattern (shortened like [`PathError::TooLong`]'s query).
        pattern: String,
        /// Why it does not compile.
        reason: String,
        /// Byte offset of the pattern in the query, if found.
        offset: Option<usize>,
    },
}

/// An evaluation that visited and selected more nodes than its budget allows
/// (see the module documentation).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("JSONPath `{path}` visits more than {limit} nodes, its limit on this document")]
pub struct LimitError {
    /// The query, shortened like [`PathError::TooLong`]'s.
    pub path: String,
    /// The limit that was reached: [`JsonPath::MAX_NODES`], or
    /// [`JsonPath::NODES_PER_DOCUMENT_NODE`] per node of the document.
    pub limit: u64,
}

impl LimitError {
    /// Advice on how to fix the path, for display below the error.
    pub fn help(&self) -> &'static str {
        HELP_LIMIT
    }
}

const HELP_START: &str = "paths start with `$`; quote names with dots like `$.metadata.labels['app.kubernetes.io/name']`";
const HELP_QUOTE: &str = "quote names that contain dots, dashes, slashes or spaces, like `$.metadata.labels['app.kubernetes.io/name']`; filters look like `$.items[?@.kind == 'Pod']`";
const HELP_FUNCTION: &str = "the functions are length(), count(), value(), match(), search() and rulerun's in(value, list); compare the result of length(), count() and value(), e.g. `$.items[?length(@.ports) > 0]`, and give length(), match() and search() a single value such as `@.name`, not a query like `@.*`";
const HELP_NESTED_FILTER: &str = "name the member to filter, e.g. `@.items[?@ > 1]` rather than `@[?@ > 1]`, inside a filter nested in another filter";
const HELP_BINDING: &str = "inside a filter, `$name.field` reads the binding `name` (a rule's `let:` or `each:` name, `subject` or `params`; `rulerun query --bind name=FILE`), and `$` alone is the root";
const HELP_TOO_LONG: &str =
    "split the selection into several shorter paths or conditions of the rule";
const HELP_TOO_DEEP: &str = "flatten the query: every `[`, `(` and nested filter adds a level";
const HELP_REGEX: &str = "patterns are I-Regexps (RFC 9485), as in `match(@.name, 'web-[0-9]+')`; a pattern may be 4096 bytes long and compile to 1 MiB (a counted repetition of a Unicode class compiles large: `\\w{200}` is over, `[a-z0-9_]{200}` is not)";
const HELP_LIMIT: &str = "each `..` and each list of selectors multiplies the nodes a path visits: name the members on the way (`$.spec.containers[*].image` rather than `$..*..image`), or use a single `..`";

/// Reason used when a filter selector is applied directly to `@` in a filter.
const NESTED_FILTER_REASON: &str = "a filter selector applied directly to `@` (as in `@[?…]` or `@..[?…]`) is not supported inside a filter nested in another filter";

impl PathError {
    /// The byte offset in the query where the problem was found, when known.
    pub fn offset(&self) -> Option<usize> {
        match self {
            PathError::Syntax { offset, .. } | PathError::Regex { offset, .. } => *offset,
            PathError::UnknownBinding { offset, .. } => Some(*offset),
            PathError::TooLong { .. } | PathError::TooDeep { .. } => None,
        }
    }

    /// Advice on how to fix the query, for display below the error.
    pub fn help(&self) -> Option<&'static str> {
        match self {
            PathError::TooLong { .. } => Some(HELP_TOO_LONG),
            PathError::TooDeep { .. } => Some(HELP_TOO_DEEP),
            PathError::Regex { .. } => Some(HELP_REGEX),
            PathError::UnknownBinding { .. } => Some(HELP_BINDING),
            PathError::Syntax { query, reason, .. } => {
                if !query.trim_start().starts_with('$') {
                    Some(HELP_START)
                } else if reason.contains("function") {
                    Some(HELP_FUNCTION)
                } else if reason == NESTED_FILTER_REASON {
                    Some(HELP_NESTED_FILTER)
                } else {
                    Some(HELP_QUOTE)
                }
            }
        }
    }
}

impl JsonPath {
    /// The longest accepted query, in bytes.
    pub const MAX_LEN: usize = 1024;
    /// The deepest accepted nesting of `[` and `(` (string literals excluded).
    pub const MAX_DEPTH: usize = 32;
    /// The nodes one evaluation may visit and select at least, whatever the
    /// document: about 8 MB of references and a few tens of milliseconds, and
    /// thousands of times what a rule's path needs on a Kubernetes object
    /// (hundreds of nodes) or an AWS API document (thousands).
    pub const MAX_NODES: u64 = 1_000_000;
    /// On a document larger than [`JsonPath::MAX_NODES`] / 4 nodes, the nodes
    /// one evaluation may visit and select per node of the document: enough for
    /// `$..*` (each node visited, then selected) and for a filter or a second
    /// `..` below a first one, so that `rulerun query` reads a whole snapshot,
    /// while a path that multiplies stays within a few times the document.
    pub const NODES_PER_DOCUMENT_NODE: u64 = 4;

    /// Compiles an RFC 9535 JSONPath query.
    ///
    /// # Errors
    ///
    /// [`PathError::TooLong`] or [`PathError::TooDeep`] when the query exceeds
    /// the caps (checked before parsing), [`PathError::Syntax`] when it is not
    /// a valid RFC 9535 query, [`PathError::Regex`] when a `match()` or
    /// `search()` pattern written in it does not compile.
    pub fn parse(src: &str) -> Result<JsonPath, PathError> {
        Self::parse_bound(src, &|_| None)
    }

    /// Compiles a JSONPath query whose filters may read bindings: inside a
    /// filter expression, `$name` followed by name and index selectors
    /// (`$container.name`, `$ports[0]`) is a singular query of the value bound
    /// to `name` (rulerun's extension to RFC 9535; plain `$` stays the root).
    /// `resolve` gives each name in scope an id, by which
    /// [`Bindings::binding`] gives its value when the query is evaluated.
    ///
    /// # Errors
    ///
    /// Those of [`JsonPath::parse`], and [`PathError::UnknownBinding`] for a
    /// name `resolve` does not know.
    pub fn parse_bound(
        src: &str,
        resolve: &dyn Fn(&str) -> Option<usize>,
    ) -> Result<JsonPath, PathError> {
        if src.len() > Self::MAX_LEN {
            return Err(PathError::TooLong {
                query: abbreviate(src),
                max: Self::MAX_LEN,
            });
        }
        prescan(src)?;
        let rewrite = bind_references(src, resolve)?;
        let text = rewrite.as_ref().map_or(src, |r| r.text.as_str());
        let ast = parse_json_path(text).map_err(|e| match &rewrite {
            Some(r) => syntax_error(src, text, &e, &|at| r.original_offset(at)),
            None => syntax_error(src, text, &e, &|at| at),
        })?;
        check_segments(&ast.segments, false, 0).map_err(|(reason, needle)| PathError::Syntax {
            query: src.to_owned(),
            offset: needle.and_then(|n| src.find(n)),
            reason,
        })?;
        let (marker, refs) = match rewrite {
            Some(r) => (Some(r.marker), r.refs),
            None => (None, Vec::new()),
        };
        let cx = Cx {
            src,
            marker,
            refs,
            reads_root: Cell::new(false),
            reads: RefCell::new(Vec::new()),
        };
        compile(&cx, ast)
    }

    /// Whether a filter of the query reads its root (`$` inside a filter).
    pub fn reads_root(&self) -> bool {
        self.reads_root
    }

    /// Whether a filter of the query reads a binding (`$name` inside a filter).
    pub fn reads_bindings(&self) -> bool {
        !self.binding_reads.is_empty()
    }

    /// The ids of the bindings the query's filters read, with the steps read
    /// below each (for field projection).
    pub(crate) fn binding_reads(&self) -> &[(usize, Vec<Access>)] {
        &self.binding_reads
    }

    /// The query as written.
    pub fn as_str(&self) -> &str {
        &self.src
    }

    /// Whether the query can produce at most one node (a singular query per
    /// RFC 9535: only name and index selectors, one per segment).
    pub fn is_singular(&self) -> bool {
        self.singular
    }

    /// Whether the query was compiled to the fast accessor (only name, index
    /// and wildcard selectors, one per segment) rather than the general walker.
    pub fn is_simple(&self) -> bool {
        matches!(self.plan, Plan::Simple(_))
    }

    /// The nodelist, in document order as RFC 9535 defines.
    ///
    /// # Errors
    ///
    /// [`LimitError`] when the evaluation exceeds its node budget.
    pub fn try_query<'a>(&self, doc: &'a Value) -> Result<Vec<&'a Value>, LimitError> {
        self.try_query_bound(doc, &NoBindings)
    }

    /// [`JsonPath::try_query`], with the values of the bindings its filters
    /// read.
    ///
    /// # Errors
    ///
    /// [`LimitError`] when the evaluation exceeds its node budget.
    pub fn try_query_bound<'a>(
        &self,
        doc: &'a Value,
        binds: &dyn Bindings,
    ) -> Result<Vec<&'a Value>, LimitError> {
        let budget = Budget::new(doc);
        let nodes = self.query_within(doc, Eval::Fast, &budget, binds);
        match budget.exceeded() {
            Some(limit) => Err(self.limit_error(limit)),
            None => Ok(nodes),
        }
    }

    /// The nodelist, like [`JsonPath::try_query`]; past the node budget, the
    /// nodes found so far, and the error is recorded for [`take_limit_error`].
    pub fn query<'a>(&self, doc: &'a Value) -> Vec<&'a Value> {
        self.query_bound(doc, &NoBindings)
    }

    /// [`JsonPath::query`], with the values of the bindings its filters read.
    pub fn query_bound<'a>(&self, doc: &'a Value, binds: &dyn Bindings) -> Vec<&'a Value> {
        let budget = Budget::new(doc);
        let nodes = self.query_within(doc, Eval::Fast, &budget, binds);
        if let Some(limit) = budget.exceeded() {
            record(self.limit_error(limit));
        }
        nodes
    }

    /// The nodelist as one JSON array, each node copied; the copies count
    /// against the node budget. Past it, `null`, and the error is recorded for
    /// [`take_limit_error`].
    pub fn values(&self, doc: &Value) -> Value {
        self.values_bound(doc, &NoBindings)
    }

    /// [`JsonPath::values`], with the values of the bindings its filters read.
    pub fn values_bound(&self, doc: &Value, binds: &dyn Bindings) -> Value {
        let budget = Budget::new(doc);
        let nodes = self.query_within(doc, Eval::Fast, &budget, binds);
        let mut items = Vec::with_capacity(nodes.len());
        for node in nodes {
            match copy_within(node, &budget) {
                Some(v) => items.push(v),
                None => break,
            }
        }
        match budget.exceeded() {
            Some(limit) => {
                record(self.limit_error(limit));
                Value::Null
            }
            None => Value::Array(items),
        }
    }

    fn query_within<'a>(
        &self,
        doc: &'a Value,
        eval: Eval,
        budget: &Budget<'_>,
        binds: &dyn Bindings,
    ) -> Vec<&'a Value> {
        match &self.plan {
            Plan::Simple(steps) => {
                if self.singular {
                    simple_singular(steps, doc).into_iter().collect()
                } else {
                    let mut out = Vec::new();
                    let _ = simple_walk(steps, doc, &mut |v| {
                        out.push(v);
                        ControlFlow::Continue(())
                    });
                    out
                }
            }
            Plan::General(segments) => {
                let mut out = Vec::new();
                let _ = walk(segments, doc, doc, eval, budget, binds, &mut |v| {
                    out.push(v);
                    ControlFlow::Continue(())
                });
                out
            }
        }
    }

    fn limit_error(&self, limit: u64) -> LimitError {
        LimitError {
            path: abbreviate(&self.src),
            limit,
        }
    }

    /// Like [`JsonPath::query`], but with every comparison and test of every
    /// filter evaluated by `jsonpath-rust` rather than directly: the reference
    /// for differential tests of the direct evaluation.
    #[doc(hidden)]
    pub fn query_fallback<'a>(&self, doc: &'a Value) -> Vec<&'a Value> {
        self.query_within(doc, Eval::Fallback, &Budget::new(doc), &NoBindings)
    }

    /// The tests and comparisons of the query's filters (not those nested in
    /// the queries of a filter) that are evaluated directly, and those handed to
    /// `jsonpath-rust` (none since functions are evaluated directly too).
    #[doc(hidden)]
    pub fn filter_atoms(&self) -> (usize, usize) {
        fn count(f: &Fast, n: &mut (usize, usize)) {
            match f {
                Fast::Or(fs) | Fast::And(fs) => fs.iter().for_each(|f| count(f, n)),
                Fast::Not(f) => count(f, n),
                Fast::Exists(_)
                | Fast::ExistsQuery(_)
                | Fast::Compare(..)
                | Fast::Regex(_)
                | Fast::Ext(_)
                | Fast::False => n.0 += 1,
            }
        }
        fn seg(s: &Seg, n: &mut (usize, usize)) {
            match s {
                Seg::Child(sels) => {
                    for sel in sels.iter() {
                        if let Sel::Filter(f) = sel {
                            count(&f.fast, n);
                        }
                    }
                }
                Seg::Descendant(inner) => seg(inner, n),
            }
        }
        let mut n = (0, 0);
        if let Plan::General(segments) = &self.plan {
            segments.iter().for_each(|s| seg(s, &mut n));
        }
        n
    }

    /// The first node, without building the whole list when avoidable; past
    /// the node budget, `None`, and the error is recorded for
    /// [`take_limit_error`].
    pub fn first<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        self.first_bound(doc, &NoBindings)
    }

    /// [`JsonPath::first`], with the values of the bindings its filters read.
    pub fn first_bound<'a>(&self, doc: &'a Value, binds: &dyn Bindings) -> Option<&'a Value> {
        match self.try_first_bound(doc, binds) {
            Ok(found) => found,
            Err(e) => {
                record(e);
                None
            }
        }
    }

    /// The first node, without building the whole list when avoidable.
    ///
    /// # Errors
    ///
    /// [`LimitError`] when the evaluation exceeds its node budget before it
    /// finds a node.
    pub fn try_first<'a>(&self, doc: &'a Value) -> Result<Option<&'a Value>, LimitError> {
        self.try_first_bound(doc, &NoBindings)
    }

    /// [`JsonPath::try_first`], with the values of the bindings its filters
    /// read.
    ///
    /// # Errors
    ///
    /// [`LimitError`] when the evaluation exceeds its node budget before it
    /// finds a node.
    pub fn try_first_bound<'a>(
        &self,
        doc: &'a Value,
        binds: &dyn Bindings,
    ) -> Result<Option<&'a Value>, LimitError> {
        let mut found = None;
        let mut take = |v| {
            found = Some(v);
            ControlFlow::Break(())
        };
        match &self.plan {
            Plan::Simple(steps) if self.singular => return Ok(simple_singular(steps, doc)),
            Plan::Simple(steps) => {
                let _ = simple_walk(steps, doc, &mut take);
            }
            Plan::General(segments) => {
                let budget = Budget::new(doc);
                let _ = walk(segments, doc, doc, Eval::Fast, &budget, binds, &mut take);
                if let Some(limit) = budget.exceeded() {
                    return Err(self.limit_error(limit));
                }
            }
        }
        Ok(found)
    }
}

thread_local! {
    /// The first node budget exceeded on this thread since [`take_limit_error`]
    /// was last called.
    static EXCEEDED: RefCell<Option<LimitError>> = const { RefCell::new(None) };
}

fn record(e: LimitError) {
    EXCEEDED.with(|x| {
        let mut x = x.borrow_mut();
        if x.is_none() {
            *x = Some(e);
        }
    });
}

/// The first node budget exceeded on this thread by [`JsonPath::query`],
/// [`JsonPath::first`] or [`JsonPath::values`] since the last call, which
/// clears it. Callers that evaluate through those take it after a unit of work
/// (the engine: after each subject) and report the unit as failed, since the
/// answers it got were cut short.
pub fn take_limit_error() -> Option<LimitError> {
    EXCEEDED.with(|x| x.borrow_mut().take())
}

/// One step of a query as field projection sees it (see [`crate::projection`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// A member name: only this member of an object.
    Name(Box<str>),
    /// Any member or element (wildcards, indices, slices, several selectors).
    Any,
    /// Everything below this point (descendants, filters).
    Whole,
}

impl JsonPath {
    /// The steps the query takes, for field projection: names narrow, every
    /// other selector reads any member or element, and descendant segments and
    /// filters read everything from where they apply (so the list ends there).
    /// The flag is true when a filter may read the query's root (`$` inside a
    /// filter): then the whole argument is read.
    pub(crate) fn accesses(&self) -> (Vec<Access>, bool) {
        let reads_root = self.reads_root;
        let mut out = Vec::new();
        match &self.plan {
            Plan::Simple(steps) => {
                for s in steps.iter() {
                    out.push(match s {
                        Step::Name(n) => Access::Name(n.clone()),
                        Step::Index(_) | Step::Wildcard => Access::Any,
                    });
                }
            }
            Plan::General(segments) => {
                for seg in segments.iter() {
                    match seg {
                        Seg::Descendant(_) => {
                            out.push(Access::Whole);
                            break;
                        }
                        Seg::Child(sels) => {
                            if sels.iter().any(|s| matches!(s, Sel::Filter(_))) {
                                out.push(Access::Whole);
                                break;
                            }
                            match &sels[..] {
                                [Sel::Name(n)] => out.push(Access::Name(n.clone())),
                                _ => out.push(Access::Any),
                            }
                        }
                    }
                }
            }
        }
        (out, reads_root)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.src)
    }
}

impl PartialEq for JsonPath {
    fn eq(&self, other: &Self) -> bool {
        self.src == other.src
    }
}

impl Eq for JsonPath {}

impl std::hash::Hash for JsonPath {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.src.hash(state);
    }
}

// ---------------------------------------------------------------------------
// Compilation

fn compile(cx: &Cx<'_>, ast: JpQuery) -> Result<JsonPath, PathError> {
    let singular = ast
        .segments
        .iter()
        .all(|s| matches!(s, Segment::Selector(Selector::Name(_) | Selector::Index(_))));
    let simple: Option<Vec<Step>> = ast
        .segments
        .iter()
        .map(|s| match s {
            Segment::Selector(Selector::Name(n)) => Some(Step::Name(n.as_str().into())),
            Segment::Selector(Selector::Index(i)) => Some(Step::Index(*i)),
            Segment::Selector(Selector::Wildcard) => Some(Step::Wildcard),
            _ => None,
        })
        .collect();
    let plan = match simple {
        Some(steps) => Plan::Simple(steps.into_boxed_slice()),
        None => Plan::General(
            ast.segments
                .into_iter()
                .map(|s| compile_segment(cx, s))
                .collect::<Result<_, _>>()?,
        ),
    };
    Ok(JsonPath {
        src: cx.src.into(),
        plan,
        singular,
        reads_root: cx.reads_root.get(),
        binding_reads: cx.reads.take().into_boxed_slice(),
    })
}

/// What compiling one query needs besides its AST: the query as written (for
/// errors), the marker that names a binding (see [`bind_references`]), and
/// what the filters read outside `@`.
struct Cx<'s> {
    src: &'s str,
    /// The character that starts the name of a binding reference rewritten
    /// as `$['<marker>name']`, with the ids of the names.
    marker: Option<char>,
    refs: Vec<BindingRef>,
    /// Whether a filter reads `$`.
    reads_root: Cell<bool>,
    /// The bindings filters read, and the steps read below each.
    reads: RefCell<Vec<(usize, Vec<Access>)>>,
}

impl Cx<'_> {
    /// The binding a root query's first segment names, if it is a rewritten
    /// binding reference: its id and byte offset in the query as written.
    fn binding(&self, first: Option<&str>) -> Option<&BindingRef> {
        let marker = self.marker?;
        let name = first?.strip_prefix(marker)?;
        self.refs.iter().find(|r| r.name == name)
    }

    /// The start of a singular query from the root, with the steps after it:
    /// a binding when the first step names one.
    fn start(&self, root: bool, steps: Box<[Step]>) -> (Start, Box<[Step]>) {
        if !root {
            return (Start::Current, steps);
        }
        let first = match steps.first() {
            Some(Step::Name(n)) => Some(&**n),
            _ => None,
        };
        match self.binding(first) {
            Some(r) => {
                let rest: Box<[Step]> = steps.iter().skip(1).cloned().collect();
                self.reads.borrow_mut().push((
                    r.id,
                    rest.iter()
                        .map(|s| match s {
                            Step::Name(n) => Access::Name(n.clone()),
                            Step::Index(_) | Step::Wildcard => Access::Any,
                        })
                        .collect(),
                ));
                (Start::Binding(r.id), rest)
            }
            None => {
                self.reads_root.set(true);
                (Start::Root, steps)
            }
        }
    }

    /// An error for a binding reference used as a query that is not singular.
    fn not_singular(&self, segments: &[Segment]) -> Result<(), PathError> {
        let first = match segments.first() {
            Some(Segment::Selector(Selector::Name(n))) => Some(n.as_str()),
            Some(Segment::Selectors(ss)) => match ss.as_slice() {
                [Selector::Name(n)] => Some(n.as_str()),
                _ => None,
            },
            _ => None,
        };
        match self.binding(first) {
            Some(r) => Err(PathError::Syntax {
                query: self.src.to_owned(),
                reason: format!(
                    "`${}` starts a query that can select several nodes; in a filter, a binding is read \
                     with a singular query (member names and indices, like `${}.name` or `${}.ports[0]`)",
                    r.name, r.name, r.name
                ),
                offset: Some(r.offset),
            }),
            None => {
                self.reads_root.set(true);
                Ok(())
            }
        }
    }
}

/// A reference to a binding inside a filter (`$name`): its name, its id
/// (given by the caller's resolver) and its byte offset in the query.
#[derive(Clone, Debug)]
struct BindingRef {
    name: String,
    id: usize,
    offset: usize,
}

fn compile_segment(cx: &Cx<'_>, segment: Segment) -> Result<Seg, PathError> {
    Ok(match segment {
        Segment::Selector(s) => Seg::Child(Box::new([compile_selector(cx, s)?])),
        Segment::Selectors(ss) => Seg::Child(
            ss.into_iter()
                .map(|s| compile_selector(cx, s))
                .collect::<Result<_, _>>()?,
        ),
        Segment::Descendant(inner) => Seg::Descendant(Box::new(compile_segment(cx, *inner)?)),
    })
}

fn compile_segments(cx: &Cx<'_>, segments: &[Segment]) -> Result<Arc<[Seg]>, PathError> {
    segments
        .iter()
        .map(|s| compile_segment(cx, s.clone()))
        .collect()
}

fn compile_selector(cx: &Cx<'_>, selector: Selector) -> Result<Sel, PathError> {
    Ok(match selector {
        Selector::Name(n) => Sel::Name(n.into()),
        Selector::Index(i) => Sel::Index(i),
        Selector::Wildcard => Sel::Wildcard,
        Selector::Slice(start, end, step) => Sel::Slice(start, end, step),
        Selector::Filter(ast) => Sel::Filter(Box::new(FilterPlan {
            fast: compile_filter(cx, &ast)?,
            ast,
        })),
    })
}

fn compile_filter(cx: &Cx<'_>, filter: &Filter) -> Result<Fast, PathError> {
    Ok(match filter {
        Filter::Or(fs) => Fast::Or(
            fs.iter()
                .map(|f| compile_filter(cx, f))
                .collect::<Result<_, _>>()?,
        ),
        Filter::And(fs) => Fast::And(
            fs.iter()
                .map(|f| compile_filter(cx, f))
                .collect::<Result<_, _>>()?,
        ),
        Filter::Atom(FilterAtom::Filter { expr, not }) => negate(compile_filter(cx, expr)?, *not),
        Filter::Atom(FilterAtom::Test { expr, not }) => negate(compile_test(cx, expr)?, *not),
        Filter::Atom(FilterAtom::Comparison(c)) => {
            let (op, lhs, rhs) = match &**c {
                Comparison::Eq(l, r) => (Op::Eq, l, r),
                Comparison::Ne(l, r) => (Op::Ne, l, r),
                Comparison::Lt(l, r) => (Op::Lt, l, r),
                Comparison::Lte(l, r) => (Op::Le, l, r),
                Comparison::Gt(l, r) => (Op::Gt, l, r),
                Comparison::Gte(l, r) => (Op::Ge, l, r),
            };
            Fast::Compare(op, comparable(cx, lhs)?, comparable(cx, rhs)?)
        }
    })
}

fn negate(f: Fast, not: bool) -> Fast {
    if not { Fast::Not(Box::new(f)) } else { f }
}

/// A test expression: an existence test, or a function returning a logical
/// value.
fn compile_test(cx: &Cx<'_>, test: &Test) -> Result<Fast, PathError> {
    Ok(match test {
        Test::RelQuery(segments) => match singular_path(cx, false, segments) {
            Some(path) => Fast::Exists(path),
            None => Fast::ExistsQuery(sub_query(cx, false, segments)?),
        },
        Test::AbsQuery(q) => match singular_path(cx, true, &q.segments) {
            Some(path) => Fast::Exists(path),
            None => Fast::ExistsQuery(sub_query(cx, true, &q.segments)?),
        },
        Test::Function(f) => match &**f {
            TestFunction::Match(subject, pattern) => regex_test(cx, subject, pattern, false)?,
            TestFunction::Search(subject, pattern) => regex_test(cx, subject, pattern, true)?,
            TestFunction::Custom(name, args) => match (ExtFn::from_name(name), args.as_slice()) {
                (Some(function), [a, b]) => Fast::Ext(Box::new(ExtTest {
                    function,
                    a: value_arg_operand(cx, a)?,
                    b: value_arg_operand(cx, b)?,
                })),
                _ => Fast::False,
            },
            _ => Fast::False,
        },
    })
}

fn sub_query(cx: &Cx<'_>, root: bool, segments: &[Segment]) -> Result<SubQuery, PathError> {
    if root {
        cx.not_singular(segments)?;
    }
    Ok(SubQuery {
        root,
        segments: compile_segments(cx, segments)?,
    })
}

fn regex_test(
    cx: &Cx<'_>,
    subject: &FnArg,
    pattern: &FnArg,
    search: bool,
) -> Result<Fast, PathError> {
    let function = if search { "search" } else { "match" };
    let pattern = match pattern {
        FnArg::Literal(Literal::String(p)) => match compile_regex(&i_regexp(p, search)) {
            Ok(re) => Pattern::Compiled(Arc::new(re)),
            Err(e) => {
                let too_long = matches!(e, RegexError::TooLong { .. });
                return Err(PathError::Regex {
                    query: cx.src.to_owned(),
                    function,
                    pattern: abbreviate(p),
                    reason: if too_long {
                        // The length of the pattern as written, not translated.
                        RegexError::TooLong {
                            len: p.len(),
                            max: MAX_REGEX_LEN,
                        }
                        .to_string()
                    } else {
                        e.to_string()
                    },
                    offset: [format!("'{p}'"), format!("\"{p}\"")]
                        .iter()
                        .find_map(|quoted| cx.src.find(quoted.as_str()))
                        .or_else(|| cx.src.find(function)),
                });
            }
        },
        FnArg::Literal(_) => Pattern::Never,
        other => Pattern::Dynamic(value_arg_operand(cx, other)?),
    };
    Ok(Fast::Regex(Box::new(RegexTest {
        subject: value_arg_operand(cx, subject)?,
        pattern,
        search,
    })))
}

/// The steps of a singular query (one name or index selector per segment).
fn singular_path(cx: &Cx<'_>, root: bool, segments: &[Segment]) -> Option<SingularPath> {
    let steps = segments
        .iter()
        .map(|s| match s {
            Segment::Selector(Selector::Name(n)) => Some(Step::Name(n.as_str().into())),
            Segment::Selector(Selector::Index(i)) => Some(Step::Index(*i)),
            Segment::Selectors(ss) => match ss.as_slice() {
                [Selector::Name(n)] => Some(Step::Name(n.as_str().into())),
                [Selector::Index(i)] => Some(Step::Index(*i)),
                _ => None,
            },
            _ => None,
        })
        .collect::<Option<Box<[Step]>>>()?;
    let (start, steps) = cx.start(root, steps);
    Some(SingularPath { start, steps })
}

fn literal(lit: &Literal) -> Operand {
    Operand::Literal(match lit {
        Literal::Int(i) => Value::from(*i),
        Literal::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => Value::Number(n),
            None => {
                return Operand::Infinite {
                    negative: f.is_sign_negative(),
                };
            }
        },
        Literal::String(s) => Value::String(s.clone()),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Null => Value::Null,
    })
}

fn comparable(cx: &Cx<'_>, c: &Comparable) -> Result<Operand, PathError> {
    let steps = |segments: &[SingularQuerySegment]| -> Box<[Step]> {
        segments
            .iter()
            .map(|s| match s {
                SingularQuerySegment::Name(n) => Step::Name(n.as_str().into()),
                SingularQuerySegment::Index(i) => Step::Index(*i),
            })
            .collect()
    };
    Ok(match c {
        Comparable::Literal(lit) => literal(lit),
        Comparable::SingularQuery(SingularQuery::Current(segments)) => {
            Operand::Path(SingularPath {
                start: Start::Current,
                steps: steps(segments),
            })
        }
        Comparable::SingularQuery(SingularQuery::Root(segments)) => {
            let (start, steps) = cx.start(true, steps(segments));
            Operand::Path(SingularPath { start, steps })
        }
        Comparable::Function(f) => value_function(cx, f)?,
    })
}

/// A function whose result is a value, as an operand.
fn value_function(cx: &Cx<'_>, f: &TestFunction) -> Result<Operand, PathError> {
    let nodes = |arg: &FnArg| -> Result<Option<SubQuery>, PathError> {
        Ok(match arg {
            FnArg::Test(test) => match &**test {
                Test::RelQuery(segments) => Some(sub_query(cx, false, segments)?),
                Test::AbsQuery(q) => Some(sub_query(cx, true, &q.segments)?),
                Test::Function(_) => None,
            },
            FnArg::Literal(_) | FnArg::Filter(_) => None,
        })
    };
    let function = match f {
        TestFunction::Length(arg) => ValueFn::Length(value_arg_operand(cx, arg)?),
        TestFunction::Count(arg) => match nodes(arg)? {
            Some(q) => ValueFn::Count(q),
            None => return Ok(Operand::Nothing),
        },
        TestFunction::Value(arg) => match nodes(arg)? {
            Some(q) => ValueFn::Value(q),
            None => return Ok(Operand::Nothing),
        },
        TestFunction::Match(..) | TestFunction::Search(..) | TestFunction::Custom(..) => {
            return Ok(Operand::Nothing);
        }
    };
    Ok(Operand::Function(Box::new(function)))
}

/// A `ValueType` argument: a literal, a singular query or a function.
fn value_arg_operand(cx: &Cx<'_>, arg: &FnArg) -> Result<Operand, PathError> {
    Ok(match arg {
        FnArg::Literal(lit) => literal(lit),
        FnArg::Test(test) => match &**test {
            Test::RelQuery(segments) => match singular_path(cx, false, segments) {
                Some(path) => Operand::Path(path),
                None => {
                    Operand::Function(Box::new(ValueFn::Value(sub_query(cx, false, segments)?)))
                }
            },
            Test::AbsQuery(q) => match singular_path(cx, true, &q.segments) {
                Some(path) => Operand::Path(path),
                None => {
                    Operand::Function(Box::new(ValueFn::Value(sub_query(cx, true, &q.segments)?)))
                }
            },
            Test::Function(f) => value_function(cx, f)?,
        },
        FnArg::Filter(_) => Operand::Nothing,
    })
}

// ---------------------------------------------------------------------------
// Regular expressions

/// The longest regular expression rulerun compiles, in bytes: `regex:`
/// matchers, and `match()` and `search()` patterns.
pub const MAX_REGEX_LEN: usize = 4096;
/// The most memory a compiled regular expression may take, in bytes (its
/// program: a short pattern such as `\w{500}` can take megabytes).
pub const MAX_REGEX_SIZE: usize = 1 << 20;
/// The most memory the lazy DFA of a regular expression may cache while
/// matching, in bytes.
pub const MAX_REGEX_DFA_SIZE: usize = 1 << 20;
/// Patterns read from documents whose compiled form is kept.
const DYNAMIC_REGEX_CACHE: usize = 32;
/// The node budget one pattern read from a document costs to compile (a
/// compilation within [`MAX_REGEX_SIZE`] takes up to tens of milliseconds, as
/// long as walking this many nodes).
pub const REGEX_COMPILE_NODES: u64 = 100_000;

/// Why a regular expression was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RegexError {
    /// Longer than [`MAX_REGEX_LEN`].
    #[error("the pattern is {len} bytes long, more than {max}")]
    TooLong {
        /// The pattern's length.
        len: usize,
        /// [`MAX_REGEX_LEN`].
        max: usize,
    },
    /// Not a valid regular expression, or larger than [`MAX_REGEX_SIZE`]
    /// compiled.
    #[error("{0}")]
    Invalid(String),
}

/// Compiles a regular expression within the limits every pattern rulerun
/// compiles has: [`MAX_REGEX_LEN`], [`MAX_REGEX_SIZE`], [`MAX_REGEX_DFA_SIZE`].
///
/// # Errors
///
/// [`RegexError`] when the pattern is too long, invalid or too large compiled.
pub fn compile_regex(pattern: &str) -> Result<Regex, RegexError> {
    COMPILATIONS.with(|c| c.set(c.get() + 1));
    if pattern.len() > MAX_REGEX_LEN {
        return Err(RegexError::TooLong {
            len: pattern.len(),
            max: MAX_REGEX_LEN,
        });
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(MAX_REGEX_SIZE)
        .dfa_size_limit(MAX_REGEX_DFA_SIZE)
        .build()
        .map_err(|e| RegexError::Invalid(regex_message(&e)))
}

thread_local! {
    /// How many patterns [`compile_regex`] was asked to compile on this thread.
    static COMPILATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many patterns [`compile_regex`] was asked to compile on the calling
/// thread so far (valid or not). A test hook: loading and evaluating run on the
/// caller's thread, so a test reads it before and after evaluating to prove that
/// no pattern was compiled meanwhile.
#[doc(hidden)]
#[must_use]
pub fn regex_compilations() -> u64 {
    COMPILATIONS.with(std::cell::Cell::get)
}

/// The one-line reason of a `regex` error (its rendering spans several lines
/// with the pattern and a caret).
fn regex_message(e: &regex::Error) -> String {
    // The last `error:` line says what is wrong (a pattern compiled too large
    // has one line only).
    let text = e.to_string();
    text.lines()
        .rev()
        .find(|l| l.trim_start().starts_with("error:"))
        .map(|l| {
            l.trim_start()
                .trim_start_matches("error:")
                .trim()
                .to_string()
        })
        .unwrap_or(text)
}

/// Translates an I-Regexp (RFC 9485) into the syntax of the `regex` crate: a
/// `.` outside a character class matches any character but `\n` and `\r`
/// (RFC 9485 section 5.3), and `match()` anchors the whole pattern.
fn i_regexp(pattern: &str, search: bool) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '.' if !in_class => out.push_str(r"[^\n\r]"),
            _ => out.push(c),
        }
    }
    if search { out } else { format!("^(?:{out})$") }
}

/// Compiled patterns read from documents, at most `cap`, least recently used
/// first: a hit moves its entry to the end, an insertion past `cap` evicts the
/// first. `None` as a compiled pattern remembers one that does not compile.
struct RegexLru {
    entries: Vec<(Box<str>, bool, Option<Arc<Regex>>)>,
    cap: usize,
}

impl RegexLru {
    const fn new(cap: usize) -> Self {
        RegexLru {
            entries: Vec::new(),
            cap,
        }
    }

    /// The cached compilation of `pattern` (as `match()`, or `search()` when
    /// `search`), now the most recently used; `None` on a miss.
    fn get(&mut self, pattern: &str, search: bool) -> Option<Option<Arc<Regex>>> {
        let i = self
            .entries
            .iter()
            .position(|(p, s, _)| **p == *pattern && *s == search)?;
        let entry = self.entries.remove(i);
        let re = entry.2.clone();
        self.entries.push(entry);
        Some(re)
    }

    fn insert(&mut self, pattern: &str, search: bool, re: Option<Arc<Regex>>) {
        if self.entries.len() >= self.cap {
            self.entries.remove(0);
        }
        self.entries.push((pattern.into(), search, re));
    }
}

static DYNAMIC: Mutex<RegexLru> = Mutex::new(RegexLru::new(DYNAMIC_REGEX_CACHE));

/// A pattern read from the document, compiled once per distinct pattern while
/// it stays among the [`DYNAMIC_REGEX_CACHE`] most recently used ([`RegexLru`]);
/// `None` when it does not compile (the test is false) or the budget cannot pay
/// for compiling it.
fn dynamic_regex(pattern: &str, search: bool, budget: &Budget<'_>) -> Option<Arc<Regex>> {
    if let Some(re) = DYNAMIC
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(pattern, search)
    {
        return re;
    }
    if pattern.len() > MAX_REGEX_LEN || !budget.spend(REGEX_COMPILE_NODES) {
        return None;
    }
    let re = compile_regex(&i_regexp(pattern, search)).ok().map(Arc::new);
    DYNAMIC
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(pattern, search, re.clone());
    re
}

/// Resolves an RFC 9535 index (negative counts from the end) in an array.
fn index(array: &[Value], i: i64) -> Option<&Value> {
    let i = if i < 0 {
        i64::try_from(array.len()).ok()?.checked_add(i)?
    } else {
        i
    };
    array.get(usize::try_from(i).ok()?)
}

/// Fast path for simple singular queries: a loop, no allocation.
fn simple_singular<'a>(steps: &[Step], doc: &'a Value) -> Option<&'a Value> {
    let mut node = doc;
    for step in steps {
        node = match (step, node) {
            (Step::Name(name), Value::Object(map)) => map.get(&**name)?,
            (Step::Index(i), Value::Array(array)) => index(array, *i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Simple plans with wildcards: depth-first, so nodes come in document order.
fn simple_walk<'a>(
    steps: &[Step],
    node: &'a Value,
    out: &mut dyn FnMut(&'a Value) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Some((step, rest)) = steps.split_first() else {
        return out(node);
    };
    match (step, node) {
        (Step::Name(name), Value::Object(map)) => match map.get(&**name) {
            Some(child) => simple_walk(rest, child, out),
            None => ControlFlow::Continue(()),
        },
        (Step::Index(i), Value::Array(array)) => match index(array, *i) {
            Some(child) => simple_walk(rest, child, out),
            None => ControlFlow::Continue(()),
        },
        (Step::Wildcard, Value::Array(array)) => {
            for child in array {
                simple_walk(rest, child, out)?;
            }
            ControlFlow::Continue(())
        }
        (Step::Wildcard, Value::Object(map)) => {
            for child in map.values() {
                simple_walk(rest, child, out)?;
            }
            ControlFlow::Continue(())
        }
        _ => ControlFlow::Continue(()),
    }
}

// ---------------------------------------------------------------------------
// The node budget

/// What one evaluation may still visit and select (see the module docs).
struct Budget<'d> {
    left: Cell<u64>,
    limit: Cell<u64>,
    /// The document, counted once if [`JsonPath::MAX_NODES`] runs out.
    doc: &'d Value,
    grown: Cell<bool>,
    exceeded: Cell<bool>,
}

impl<'d> Budget<'d> {
    fn new(doc: &'d Value) -> Self {
        Budget {
            left: Cell::new(JsonPath::MAX_NODES),
            limit: Cell::new(JsonPath::MAX_NODES),
            doc,
            grown: Cell::new(false),
            exceeded: Cell::new(false),
        }
    }

    /// Spends `n` nodes; false, and from then on always, when they are not
    /// left.
    fn spend(&self, n: u64) -> bool {
        if self.exceeded.get() {
            return false;
        }
        if n <= self.left.get() {
            self.left.set(self.left.get() - n);
            return true;
        }
        if !self.grown.get() {
            // A large document: its size sets the limit.
            self.grown.set(true);
            let allowed = count_nodes(self.doc).saturating_mul(JsonPath::NODES_PER_DOCUMENT_NODE);
            if allowed > self.limit.get() {
                self.left
                    .set(self.left.get() + (allowed - self.limit.get()));
                self.limit.set(allowed);
                return self.spend(n);
            }
        }
        self.left.set(0);
        self.exceeded.set(true);
        false
    }

    /// The limit, if it was exceeded.
    fn exceeded(&self) -> Option<u64> {
        self.exceeded.get().then(|| self.limit.get())
    }
}

/// The number of nodes of `doc` (itself and every value below it).
fn count_nodes(doc: &Value) -> u64 {
    let mut n: u64 = 0;
    let mut stack = vec![doc];
    while let Some(v) = stack.pop() {
        n += 1;
        match v {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    n
}

/// A copy of `node`, each node copied spending one of the budget; `None` when
/// it runs out. (Counting costs what copying does, and stops the first time the
/// budget cannot pay.)
fn copy_within(node: &Value, budget: &Budget<'_>) -> Option<Value> {
    budget.spend(count_nodes(node)).then(|| node.clone())
}

// ---------------------------------------------------------------------------
// General evaluation

/// Applies `segments` to `node`, calling `out` on every resulting node in
/// RFC 9535 order; stops early when `out` breaks or the budget runs out.
fn walk<'a>(
    segments: &[Seg],
    node: &'a Value,
    root: &'a Value,
    eval: Eval,
    budget: &Budget<'_>,
    binds: &dyn Bindings,
    out: &mut dyn FnMut(&'a Value) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Some((segment, rest)) = segments.split_first() else {
        return out(node);
    };
    let mut next = |child: &'a Value| walk(rest, child, root, eval, budget, binds, out);
    match segment {
        Seg::Descendant(inner) => {
            // Pre-order over the node and its descendants, without recursion
            // so that deep documents cannot exhaust the stack here.
            let mut stack = vec![node];
            while let Some(current) = stack.pop() {
                if !budget.spend(1) {
                    return ControlFlow::Break(());
                }
                apply_segment(inner, current, root, eval, budget, binds, &mut next)?;
                match current {
                    Value::Array(array) => stack.extend(array.iter().rev()),
                    Value::Object(map) => stack.extend(map.values().rev()),
                    _ => {}
                }
            }
            ControlFlow::Continue(())
        }
        Seg::Child(_) => apply_segment(segment, node, root, eval, budget, binds, &mut next),
    }
}

/// Applies the selectors of a (child) segment to one node.
fn apply_segment<'a>(
    segment: &Seg,
    node: &'a Value,
    root: &'a Value,
    eval: Eval,
    budget: &Budget<'_>,
    binds: &dyn Bindings,
    out: &mut dyn FnMut(&'a Value) -> ControlFlow<()>,
) -> ControlFlow<()> {
    match segment {
        Seg::Child(selectors) => {
            for selector in selectors.iter() {
                apply_selector(selector, node, root, eval, budget, binds, out)?;
            }
            ControlFlow::Continue(())
        }
        // The parser never nests descendant segments; treat it as written.
        Seg::Descendant(_) => walk(
            std::slice::from_ref(segment),
            node,
            root,
            eval,
            budget,
            binds,
            out,
        ),
    }
}

fn apply_selector<'a>(
    selector: &Sel,
    node: &'a Value,
    root: &'a Value,
    eval: Eval,
    budget: &Budget<'_>,
    binds: &dyn Bindings,
    out: &mut dyn FnMut(&'a Value) -> ControlFlow<()>,
) -> ControlFlow<()> {
    // Every node selected, and every item a filter tests, costs one.
    let emit = |child: &'a Value, out: &mut dyn FnMut(&'a Value) -> ControlFlow<()>| {
        if budget.spend(1) {
            out(child)
        } else {
            ControlFlow::Break(())
        }
    };
    let test = |filter: &FilterPlan,
                child: &'a Value,
                out: &mut dyn FnMut(&'a Value) -> ControlFlow<()>| {
        if !budget.spend(1) {
            return ControlFlow::Break(());
        }
        let pass = filter.test(child, root, eval, budget, binds);
        if budget.exceeded.get() {
            ControlFlow::Break(())
        } else if pass {
            out(child)
        } else {
            ControlFlow::Continue(())
        }
    };
    match (selector, node) {
        (Sel::Name(name), Value::Object(map)) => match map.get(&**name) {
            Some(child) => emit(child, out),
            None => ControlFlow::Continue(()),
        },
        (Sel::Index(i), Value::Array(array)) => match index(array, *i) {
            Some(child) => emit(child, out),
            None => ControlFlow::Continue(()),
        },
        (Sel::Wildcard, Value::Array(array)) => array.iter().try_for_each(|c| emit(c, out)),
        (Sel::Wildcard, Value::Object(map)) => map.values().try_for_each(|c| emit(c, out)),
        (Sel::Slice(start, end, step), Value::Array(array)) => {
            slice(array, *start, *end, *step, &mut |c| emit(c, out))
        }
        (Sel::Filter(filter), Value::Array(array)) => {
            array.iter().try_for_each(|c| test(filter, c, out))
        }
        (Sel::Filter(filter), Value::Object(map)) => {
            map.values().try_for_each(|c| test(filter, c, out))
        }
        _ => ControlFlow::Continue(()),
    }
}

impl FilterPlan {
    fn test(
        &self,
        item: &Value,
        root: &Value,
        eval: Eval,
        budget: &Budget<'_>,
        binds: &dyn Bindings,
    ) -> bool {
        match eval {
            Eval::Fast => self.fast.test(item, root, budget, binds),
            Eval::Fallback => test_filter(&self.ast, item, root),
        }
    }
}

impl Fast {
    /// Whether `item` passes, with `$` bound to `root`.
    fn test(&self, item: &Value, root: &Value, budget: &Budget<'_>, binds: &dyn Bindings) -> bool {
        match self {
            Fast::Or(fs) => fs.iter().any(|f| f.test(item, root, budget, binds)),
            Fast::And(fs) => fs.iter().all(|f| f.test(item, root, budget, binds)),
            Fast::Not(f) => !f.test(item, root, budget, binds),
            Fast::Exists(path) => path.resolve(item, root, binds).is_some(),
            Fast::ExistsQuery(q) => {
                let mut found = false;
                let _ = q.walk(item, root, budget, binds, &mut |_| {
                    found = true;
                    ControlFlow::Break(())
                });
                found
            }
            Fast::Compare(op, lhs, rhs) => {
                let (a, b) = (
                    lhs.resolve(item, root, budget, binds),
                    rhs.resolve(item, root, budget, binds),
                );
                match op {
                    Op::Eq => resolved_equal(&a, &b),
                    Op::Ne => !resolved_equal(&a, &b),
                    Op::Lt => resolved_less(&a, &b),
                    Op::Le => resolved_less(&a, &b) || resolved_equal(&a, &b),
                    Op::Gt => resolved_less(&b, &a),
                    Op::Ge => resolved_less(&b, &a) || resolved_equal(&a, &b),
                }
            }
            Fast::Regex(r) => r.test(item, root, budget, binds),
            Fast::Ext(e) => e.test(item, root, budget, binds),
            Fast::False => false,
        }
    }
}

impl SingularPath {
    fn resolve<'a>(
        &self,
        item: &'a Value,
        root: &'a Value,
        binds: &'a dyn Bindings,
    ) -> Option<&'a Value> {
        let start = match self.start {
            Start::Current => item,
            Start::Root => root,
            Start::Binding(id) => binds.binding(id)?,
        };
        simple_singular(&self.steps, start)
    }
}

impl SubQuery {
    fn walk<'a>(
        &self,
        item: &'a Value,
        root: &'a Value,
        budget: &Budget<'_>,
        binds: &dyn Bindings,
        out: &mut dyn FnMut(&'a Value) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let start = if self.root { root } else { item };
        walk(&self.segments, start, root, Eval::Fast, budget, binds, out)
    }
}

impl Operand {
    fn resolve<'a>(
        &'a self,
        item: &'a Value,
        root: &'a Value,
        budget: &Budget<'_>,
        binds: &'a dyn Bindings,
    ) -> Resolved<'a> {
        match self {
            Operand::Literal(v) => Resolved::Node(v),
            Operand::Infinite { negative } => Resolved::Infinite {
                negative: *negative,
            },
            Operand::Path(p) => p
                .resolve(item, root, binds)
                .map_or(Resolved::Nothing, Resolved::Node),
            Operand::Function(f) => f.apply(item, root, budget, binds),
            Operand::Nothing => Resolved::Nothing,
        }
    }
}

impl ValueFn {
    /// RFC 9535 sections 2.4.4 (`length`), 2.4.5 (`count`), 2.4.8 (`value`).
    fn apply<'a>(
        &'a self,
        item: &'a Value,
        root: &'a Value,
        budget: &Budget<'_>,
        binds: &'a dyn Bindings,
    ) -> Resolved<'a> {
        match self {
            ValueFn::Length(arg) => {
                let len = match arg.resolve(item, root, budget, binds).value() {
                    Some(Value::String(s)) => s.chars().count(),
                    Some(Value::Array(a)) => a.len(),
                    Some(Value::Object(o)) => o.len(),
                    _ => return Resolved::Nothing,
                };
                Resolved::Owned(Value::from(len))
            }
            ValueFn::Count(q) => {
                let mut n: u64 = 0;
                let _ = q.walk(item, root, budget, binds, &mut |_| {
                    n += 1;
                    ControlFlow::Continue(())
                });
                Resolved::Owned(Value::from(n))
            }
            ValueFn::Value(q) => {
                let mut found: Option<&'a Value> = None;
                let mut several = false;
                let _ = q.walk(item, root, budget, binds, &mut |v| {
                    if found.is_some() {
                        several = true;
                        return ControlFlow::Break(());
                    }
                    found = Some(v);
                    ControlFlow::Continue(())
                });
                match found {
                    Some(v) if !several => Resolved::Node(v),
                    _ => Resolved::Nothing,
                }
            }
        }
    }
}

impl RegexTest {
    fn test(&self, item: &Value, root: &Value, budget: &Budget<'_>, binds: &dyn Bindings) -> bool {
        let subject = self.subject.resolve(item, root, budget, binds);
        let Some(Value::String(text)) = subject.value() else {
            return false;
        };
        match &self.pattern {
            Pattern::Compiled(re) => re.is_match(text),
            Pattern::Never => false,
            Pattern::Dynamic(arg) => {
                let pattern = arg.resolve(item, root, budget, binds);
                match pattern.value() {
                    Some(Value::String(p)) => {
                        dynamic_regex(p, self.search, budget).is_some_and(|re| re.is_match(text))
                    }
                    _ => false,
                }
            }
        }
    }
}

impl Resolved<'_> {
    /// The JSON value, if the operand resolved to one.
    fn value(&self) -> Option<&Value> {
        match self {
            Resolved::Node(v) => Some(v),
            Resolved::Owned(v) => Some(v),
            Resolved::Nothing | Resolved::Infinite { .. } => None,
        }
    }
}

/// `==` between two comparables: Nothing equals only Nothing; an infinite
/// literal only the same infinity.
fn resolved_equal(a: &Resolved<'_>, b: &Resolved<'_>) -> bool {
    match (a, b) {
        (Resolved::Infinite { negative: x }, Resolved::Infinite { negative: y }) => x == y,
        (Resolved::Infinite { .. }, _) | (_, Resolved::Infinite { .. }) => false,
        _ => nodes_equal(a.value(), b.value()),
    }
}

/// `<` between two comparables; an infinite literal is beyond every number.
fn resolved_less(a: &Resolved<'_>, b: &Resolved<'_>) -> bool {
    match (a, b) {
        (Resolved::Infinite { negative: x }, Resolved::Infinite { negative: y }) => *x && !*y,
        (Resolved::Infinite { negative }, other) => {
            *negative && matches!(other.value(), Some(Value::Number(_)))
        }
        (other, Resolved::Infinite { negative }) => {
            !*negative && matches!(other.value(), Some(Value::Number(_)))
        }
        _ => nodes_less(a.value(), b.value()),
    }
}

/// `==` between two comparables, `None` being the empty nodelist ("Nothing"),
/// which equals only itself.
fn nodes_equal(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => values_equal(a, b),
        _ => false,
    }
}

/// `<` between two comparables: only numbers (by value) and strings (by
/// Unicode scalar values, which is UTF-8 byte order) are ordered; anything
/// else, Nothing included, is not less.
fn nodes_less(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            compare_numbers(x, y) == Some(Ordering::Less)
        }
        (Some(Value::String(x)), Some(Value::String(y))) => x < y,
        _ => false,
    }
}

/// RFC 9535 equality of values: numbers by value, strings by code points,
/// arrays element-wise, objects by the same names with equal values.
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Some(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| values_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => false,
    }
}

/// A JSON number as an exact integer when it is one, else a float.
enum Num {
    Int(i128),
    Float(f64),
}

fn num(n: &serde_json::Number) -> Option<Num> {
    if let Some(u) = n.as_u64() {
        Some(Num::Int(i128::from(u)))
    } else if let Some(i) = n.as_i64() {
        Some(Num::Int(i128::from(i)))
    } else {
        n.as_f64().map(Num::Float)
    }
}

/// Compares two numbers by their mathematical value (an integer and a float
/// exactly, not through a rounding conversion).
fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    match (num(a)?, num(b)?) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
        (Num::Int(x), Num::Float(y)) => int_vs_float(x, y),
        (Num::Float(x), Num::Int(y)) => int_vs_float(y, x).map(Ordering::reverse),
    }
}

/// How the integer `i` (within the `i64`/`u64` range) compares with `f`.
fn int_vs_float(i: i128, f: f64) -> Option<Ordering> {
    const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
    const MINUS_TWO_POW_63: f64 = -9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return None;
    }
    if f >= TWO_POW_64 {
        return Some(Ordering::Less);
    }
    if f < MINUS_TWO_POW_63 {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    // Exact: |t| < 2^64 and t has no fractional part.
    let ti = t as i128;
    Some(match i.cmp(&ti) {
        Ordering::Equal if f > t => Ordering::Less,
        Ordering::Equal if f < t => Ordering::Greater,
        other => other,
    })
}

/// Whether `item` passes a filter, every comparison and test expression being
/// evaluated by `jsonpath-rust` (the logical structure is evaluated here).
fn test_filter(filter: &Filter, item: &Value, root: &Value) -> bool {
    match filter {
        Filter::Or(filters) => filters.iter().any(|f| test_filter(f, item, root)),
        Filter::And(filters) => filters.iter().all(|f| test_filter(f, item, root)),
        Filter::Atom(FilterAtom::Filter { expr, not }) => test_filter(expr, item, root) != *not,
        Filter::Atom(atom) => test_atom(atom, item, root),
    }
}

/// One comparison or test expression, evaluated by `jsonpath-rust` with `@`
/// bound to `item` and `$` to `root`.
fn test_atom(atom: &FilterAtom, item: &Value, root: &Value) -> bool {
    let state = State {
        root,
        data: State::root(item).data,
    };
    atom.process(state)
        .ok_val()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// The array slice selector, RFC 9535 section 2.3.4.2.
fn slice<'a>(
    array: &'a [Value],
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
    out: &mut dyn FnMut(&'a Value) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Ok(len) = i64::try_from(array.len()) else {
        return ControlFlow::Continue(());
    };
    let step = step.unwrap_or(1);
    let norm = |i: i64| if i >= 0 { i } else { len.saturating_add(i) };
    let mut emit = |i: i64| match usize::try_from(i).ok().and_then(|i| array.get(i)) {
        Some(v) => out(v),
        None => ControlFlow::Continue(()),
    };
    if step > 0 {
        let lower = norm(start.unwrap_or(0)).clamp(0, len);
        let upper = norm(end.unwrap_or(len)).clamp(0, len);
        let mut i = lower;
        while i < upper {
            emit(i)?;
            i = i.saturating_add(step);
        }
    } else if step < 0 {
        let upper = norm(start.unwrap_or(len - 1)).clamp(-1, len - 1);
        let lower = norm(end.unwrap_or(-len - 1)).clamp(-1, len - 1);
        let mut i = upper;
        while lower < i {
            emit(i)?;
            i = i.saturating_add(step);
        }
    }
    ControlFlow::Continue(())
}

// ---------------------------------------------------------------------------
// Binding references

/// A query whose binding references (`$name` inside filters) were rewritten
/// as root queries of a marked member name, `$['<marker>name']`, which the
/// parser accepts and [`Cx`] recognises. The marker is a noncharacter
/// (U+FDD0 to U+FDEF) that the query does not contain, written or escaped, so
/// no member name of the query can be taken for a binding.
struct Rewrite {
    text: String,
    marker: char,
    refs: Vec<BindingRef>,
    /// For each reference: its byte range in `text` and in the query.
    spans: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

impl Rewrite {
    /// A byte offset of `text` as an offset of the query as written.
    fn original_offset(&self, at: usize) -> usize {
        let mut delta: isize = 0;
        for (new, old) in &self.spans {
            if at < new.start {
                break;
            }
            if at < new.end {
                return old.start;
            }
            delta = new.end.cast_signed() - old.end.cast_signed();
        }
        at.cast_signed()
            .saturating_sub(delta)
            .max(0)
            .cast_unsigned()
    }
}

/// Finds the binding references of a query (`$name` inside a filter
/// expression; `$` followed by a name is not RFC 9535 syntax anywhere) and
/// rewrites them; `None` when there are none.
fn bind_references(
    src: &str,
    resolve: &dyn Fn(&str) -> Option<usize>,
) -> Result<Option<Rewrite>, PathError> {
    // Open brackets and parentheses: whether each is (within) a filter.
    let mut open: Vec<(char, bool)> = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut found: Vec<(usize, &str, bool)> = Vec::new();
    let bytes = src.as_bytes();
    for (at, c) in src.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '[' => open.push(('[', false)),
            '(' => open.push(('(', open.last().is_some_and(|o| o.1))),
            ')' | ']' => {
                open.pop();
            }
            '?' => {
                if let Some(top) = open.last_mut()
                    && top.0 == '['
                {
                    top.1 = true;
                }
            }
            '$' if at > 0 => {
                let name_len = bytes[at + 1..]
                    .iter()
                    .enumerate()
                    .take_while(|(i, b)| {
                        b.is_ascii_alphabetic() || **b == b'_' || (*i > 0 && b.is_ascii_digit())
                    })
                    .count();
                if name_len > 0 {
                    let in_filter = open.last().is_some_and(|o| o.1);
                    found.push((at, &src[at + 1..at + 1 + name_len], in_filter));
                }
            }
            _ => {}
        }
    }
    if found.is_empty() {
        return Ok(None);
    }
    let mut refs = Vec::new();
    for &(at, name, in_filter) in &found {
        if !in_filter {
            return Err(PathError::Syntax {
                query: src.to_owned(),
                reason: format!(
                    "`${name}` at column {}: a binding can be read only inside a filter \
                     expression, as in `[?@.name == ${name}.name]`",
                    column(src, at)
                ),
                offset: Some(at),
            });
        }
        let Some(id) = resolve(name) else {
            return Err(PathError::UnknownBinding {
                query: src.to_owned(),
                name: name.to_owned(),
                offset: at,
            });
        };
        refs.push(BindingRef {
            name: name.to_owned(),
            id,
            offset: at,
        });
    }
    let lower = src.to_ascii_lowercase();
    let Some(marker) = ('\u{FDD0}'..='\u{FDEF}')
        .find(|&m| !src.contains(m) && !lower.contains(&format!("\\u{:04x}", u32::from(m))))
    else {
        return Err(PathError::Syntax {
            query: src.to_owned(),
            reason: "a query that reads bindings cannot also name every noncharacter from U+FDD0 to U+FDEF"
                .into(),
            offset: None,
        });
    };
    let mut text = String::with_capacity(src.len() + 8 * found.len());
    let mut spans = Vec::new();
    let mut last = 0;
    for &(at, name, _) in &found {
        text.push_str(&src[last..at]);
        let start = text.len();
        text.push_str("$['");
        text.push(marker);
        text.push_str(name);
        text.push_str("']");
        last = at + 1 + name.len();
        spans.push((start..text.len(), at..last));
    }
    text.push_str(&src[last..]);
    Ok(Some(Rewrite {
        text,
        marker,
        refs,
        spans,
    }))
}

/// The 1-based column (in characters) of byte `at` of `src`.
fn column(src: &str, at: usize) -> usize {
    src.get(..at).map_or(at, |s| s.chars().count()) + 1
}

// ---------------------------------------------------------------------------
// Validation

/// Checks done on the raw string, before the parser sees it: the nesting cap,
/// and whitespace inside a member-name shorthand (`$.a b`), which the
/// `jsonpath-rust` grammar accepts as the name `a b`.
fn prescan(src: &str) -> Result<(), PathError> {
    let syntax = |reason: String, at: usize| PathError::Syntax {
        query: src.to_owned(),
        reason,
        offset: Some(at),
    };
    // Byte offsets of the open brackets; at most MAX_DEPTH of them.
    let mut open: Vec<(usize, char)> = Vec::new();
    let mut quote: Option<(usize, char)> = None;
    let mut escaped = false;
    let mut prev: Option<char> = None;
    let mut chars = src.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if let Some((_, q)) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            prev = Some(c);
            continue;
        }
        match c {
            '\'' | '"' => quote = Some((at, c)),
            '(' | '[' => {
                if open.len() >= JsonPath::MAX_DEPTH {
                    return Err(PathError::TooDeep {
                        query: src.to_owned(),
                        max: JsonPath::MAX_DEPTH,
                    });
                }
                open.push((at, c));
            }
            ')' | ']' => {
                let Some(_) = open.pop() else {
                    return Err(syntax(
                        format!("unmatched `{c}` at column {}", column(src, at)),
                        at,
                    ));
                };
            }
            '.' if !prev.is_some_and(|p| p.is_ascii_digit()) => {
                if chars.peek().is_some_and(|&(_, n)| n == '.') {
                    chars.next();
                }
                if chars.peek().is_some_and(|&(_, n)| is_name_first(n)) {
                    let mut name_end = at;
                    while let Some(&(i, n)) = chars.peek() {
                        if !(is_name_first(n) || n.is_ascii_digit()) {
                            break;
                        }
                        name_end = i + n.len_utf8();
                        chars.next();
                    }
                    let rest = &src[name_end..];
                    let after_space = rest.trim_start_matches([' ', '\t', '\n', '\r']);
                    if after_space.len() < rest.len()
                        && after_space
                            .chars()
                            .next()
                            .is_some_and(|n| is_name_first(n) || n.is_ascii_digit())
                    {
                        return Err(PathError::Syntax {
                            query: src.to_owned(),
                            reason: format!(
                                "whitespace inside the member name `{}` at column {}",
                                src[at..name_end].trim_start_matches('.'),
                                column(src, name_end)
                            ),
                            offset: Some(name_end),
                        });
                    }
                    prev = src[..name_end].chars().next_back();
                    continue;
                }
            }
            _ => {}
        }
        prev = Some(c);
    }
    if let Some((at, q)) = quote {
        return Err(syntax(
            format!(
                "string starting with {q} at column {} is not closed",
                column(src, at)
            ),
            at,
        ));
    }
    if let Some((at, c)) = open.pop() {
        return Err(syntax(
            format!("`{c}` at column {} is not closed", column(src, at)),
            at,
        ));
    }
    Ok(())
}

/// RFC 9535 `name-first`.
fn is_name_first(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c >= '\u{80}'
}

/// A validation failure: the reason, and a snippet of the query to locate it.
type Invalid = (String, Option<&'static str>);

/// The declared type of a function expression's result (RFC 9535 2.4.1).
#[derive(PartialEq)]
enum FnType {
    Value,
    Logical,
}

/// Type-checks filters in a list of segments. `relative` is set for the
/// segments of a relative query (`@…`) inside a filter; `depth` counts the
/// filters around the segments.
fn check_segments(segments: &[Segment], relative: bool, depth: usize) -> Result<(), Invalid> {
    // Filters of the query itself are evaluated by `test_filter`, which binds
    // `@` correctly; filters nested in the queries of those filters are
    // evaluated by jsonpath-rust, which then mistakes a filter applied to `@`
    // for the item itself (`@[?…]` selects nothing), so such queries are
    // rejected rather than answered wrongly.
    if relative
        && depth >= 2
        && let Some(first) = segments.first()
        && filters_current_node(first)
    {
        return Err((NESTED_FILTER_REASON.to_owned(), Some("@")));
    }
    segments.iter().try_for_each(|s| check_segment(s, depth))
}

fn filters_current_node(segment: &Segment) -> bool {
    match segment {
        Segment::Selector(s) => matches!(s, Selector::Filter(_)),
        Segment::Selectors(ss) => ss.iter().any(|s| matches!(s, Selector::Filter(_))),
        Segment::Descendant(inner) => filters_current_node(inner),
    }
}

fn check_segment(segment: &Segment, depth: usize) -> Result<(), Invalid> {
    match segment {
        Segment::Selector(s) => check_selector(s, depth),
        Segment::Selectors(ss) => ss.iter().try_for_each(|s| check_selector(s, depth)),
        Segment::Descendant(inner) => check_segment(inner, depth),
    }
}

fn check_selector(selector: &Selector, depth: usize) -> Result<(), Invalid> {
    match selector {
        Selector::Filter(f) => check_filter(f, depth + 1),
        _ => Ok(()),
    }
}

fn check_filter(filter: &Filter, depth: usize) -> Result<(), Invalid> {
    match filter {
        Filter::Or(fs) | Filter::And(fs) => fs.iter().try_for_each(|f| check_filter(f, depth)),
        Filter::Atom(FilterAtom::Filter { expr, .. }) => check_filter(expr, depth),
        Filter::Atom(FilterAtom::Test { expr, .. }) => match &**expr {
            Test::RelQuery(segments) => check_segments(segments, true, depth),
            Test::AbsQuery(q) => check_segments(&q.segments, false, depth),
            Test::Function(f) => match check_function(f, depth)? {
                FnType::Logical => Ok(()),
                FnType::Value => Err((
                    format!(
                        "the result of function `{}()` must be compared",
                        function_name(f)
                    ),
                    Some(function_name(f)),
                )),
            },
        },
        Filter::Atom(FilterAtom::Comparison(c)) => {
            let (lhs, rhs) = comparison_sides(c);
            check_comparable(lhs, depth)?;
            check_comparable(rhs, depth)
        }
    }
}

fn comparison_sides(c: &Comparison) -> (&Comparable, &Comparable) {
    c.vals()
}

fn check_comparable(c: &Comparable, depth: usize) -> Result<(), Invalid> {
    match c {
        Comparable::Literal(_) | Comparable::SingularQuery(_) => Ok(()),
        Comparable::Function(f) => match check_function(f, depth)? {
            FnType::Value => Ok(()),
            FnType::Logical => Err((
                format!(
                    "function `{}()` returns a logical value and cannot be compared",
                    function_name(f)
                ),
                Some(function_name(f)),
            )),
        },
    }
}

fn function_name(f: &TestFunction) -> &'static str {
    match f {
        TestFunction::Length(_) => "length",
        TestFunction::Count(_) => "count",
        TestFunction::Value(_) => "value",
        TestFunction::Match(..) => "match",
        TestFunction::Search(..) => "search",
        TestFunction::Custom(name, _) => ExtFn::from_name(name).map_or("unknown", ExtFn::name),
    }
}

/// Checks the arguments of a function expression; returns its result type.
fn check_function(f: &TestFunction, depth: usize) -> Result<FnType, Invalid> {
    let name = function_name(f);
    match f {
        TestFunction::Length(arg) => value_arg(name, arg, depth).map(|()| FnType::Value),
        TestFunction::Count(arg) | TestFunction::Value(arg) => {
            nodes_arg(name, arg, depth).map(|()| FnType::Value)
        }
        TestFunction::Match(a, b) | TestFunction::Search(a, b) => {
            value_arg(name, a, depth)?;
            value_arg(name, b, depth).map(|()| FnType::Logical)
        }
        TestFunction::Custom(custom, args) => match (ExtFn::from_name(custom), args.as_slice()) {
            (Some(_), [a, b]) => {
                value_arg(name, a, depth)?;
                value_arg(name, b, depth).map(|()| FnType::Logical)
            }
            (Some(_), args) => Err((
                format!("function `{name}()` takes 2 arguments, not {}", args.len()),
                Some(name),
            )),
            (None, _) => Err((
                format!(
                    "unknown function `{custom}()`: RFC 9535 defines `length`, `count`, `value`, `match` and `search`; rulerun adds `in`"
                ),
                None,
            )),
        },
    }
}

/// An argument declared `ValueType`: a literal, a singular query, or a
/// function returning a value.
fn value_arg(name: &'static str, arg: &FnArg, depth: usize) -> Result<(), Invalid> {
    let not_singular = || {
        Err((
            format!(
                "function `{name}()` needs a single value, not a query that can select several nodes"
            ),
            Some(name),
        ))
    };
    match arg {
        FnArg::Literal(_) => Ok(()),
        FnArg::Test(test) => match &**test {
            Test::RelQuery(segments) => {
                check_segments(segments, true, depth)?;
                if is_singular_segments(segments) {
                    Ok(())
                } else {
                    not_singular()
                }
            }
            Test::AbsQuery(q) => {
                check_segments(&q.segments, false, depth)?;
                if is_singular_segments(&q.segments) {
                    Ok(())
                } else {
                    not_singular()
                }
            }
            Test::Function(inner) => match check_function(inner, depth)? {
                FnType::Value => Ok(()),
                FnType::Logical => Err((
                    format!(
                        "function `{name}()` needs a value, but `{}()` returns a logical value",
                        function_name(inner)
                    ),
                    Some(name),
                )),
            },
        },
        FnArg::Filter(_) => Err((
            format!("function `{name}()` needs a value, not a logical expression"),
            Some(name),
        )),
    }
}

/// An argument declared `NodesType`: a query.
fn nodes_arg(name: &'static str, arg: &FnArg, depth: usize) -> Result<(), Invalid> {
    match arg {
        FnArg::Test(test) => match &**test {
            Test::RelQuery(segments) => check_segments(segments, true, depth),
            Test::AbsQuery(q) => check_segments(&q.segments, false, depth),
            Test::Function(_) => Err((
                format!("function `{name}()` needs a query, not a function result"),
                Some(name),
            )),
        },
        FnArg::Literal(_) | FnArg::Filter(_) => Err((
            format!("function `{name}()` needs a query such as `@.items`"),
            Some(name),
        )),
    }
}

fn is_singular_segments(segments: &[Segment]) -> bool {
    segments
        .iter()
        .all(|s| matches!(s, Segment::Selector(Selector::Name(_) | Selector::Index(_))))
}

// ---------------------------------------------------------------------------
// Errors

fn abbreviate(src: &str) -> String {
    match src.char_indices().nth(64) {
        Some((at, _)) => format!("{}…", &src[..at]),
        None => src.to_owned(),
    }
}

/// A parser error of `text` (the query, or its rewrite by
/// [`bind_references`], whose offsets `original` maps back) as an error of
/// the query `src`: where (column and byte offset) and what was expected there.
fn syntax_error(
    src: &str,
    text: &str,
    e: &JsonPathError,
    original: &dyn Fn(usize) -> usize,
) -> PathError {
    let (reason, offset) = match e {
        JsonPathError::PestError(pest) => {
            // pest's location type is not re-exported by jsonpath-rust, so read
            // the ` --> line:column` header and the `= expected …` line of its
            // rendering.
            let rendered = pest.to_string();
            let offset = pest_offset(text, &rendered).map(original);
            let found = match offset
                .and_then(|at| src.get(at..))
                .and_then(|s| s.chars().next())
            {
                Some(c) if c.is_control() => format!(
                    "unexpected `{}` at column {}",
                    c.escape_debug(),
                    column(src, offset.unwrap_or(0))
                ),
                Some(c) => format!(
                    "unexpected `{c}` at column {}",
                    column(src, offset.unwrap_or(0))
                ),
                None => "unexpected end of query".to_owned(),
            };
            // Right after a name, more of the name is possible but never meant.
            let after_name = offset
                .and_then(|at| src.get(..at))
                .and_then(|s| s.chars().next_back())
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            let reason = match pest_expected(&rendered, after_name) {
                Some(expected) => format!("{found}: expected {expected}"),
                None => found,
            };
            (reason, offset)
        }
        JsonPathError::InvalidJsonPath(msg) => (lowercase_first(msg), None),
        JsonPathError::MaxNestingDepthExceeded(_) => {
            return PathError::TooDeep {
                query: src.to_owned(),
                max: JsonPath::MAX_DEPTH,
            };
        }
        other => (lowercase_first(&other.to_string()), None),
    };
    PathError::Syntax {
        query: src.to_owned(),
        reason,
        offset,
    }
}

/// What pest expected, from the `= expected a, b, or c` line of its
/// rendering, in words.
fn pest_expected(rendered: &str, after_name: bool) -> Option<String> {
    let line = rendered
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("= expected "))?;
    let line = line.split(';').next().unwrap_or(line);
    let rules: Vec<&str> = line
        .split(',')
        .flat_map(|r| r.split(" or "))
        .map(|r| r.trim().trim_start_matches("or ").trim())
        .filter(|r| !r.is_empty())
        .collect();
    let mut words: Vec<&'static str> = Vec::new();
    for &rule in &rules {
        // More of a name just read, or a shorter way to say a segment: only
        // when nothing else was expected.
        let continues = (after_name || !rules.contains(&"wildcard_selector"))
            && matches!(rule, "name_char" | "name_first" | "ALPHA");
        let segment = rules.iter().any(|r| r.ends_with("segment"));
        if (continues && rules.len() > 1)
            || (segment
                && matches!(
                    rule,
                    "bracketed_selection" | "index_segment" | "name_segment"
                ))
        {
            continue;
        }
        let word = expected_word(rule);
        if !words.contains(&word) {
            words.push(word);
        }
    }
    match words.as_slice() {
        [] => None,
        [one] => Some((*one).to_owned()),
        [rest @ .., last] => Some(format!("{} or {last}", rest.join(", "))),
    }
}

/// A grammar rule of jsonpath-rust, as what the user can write there.
fn expected_word(rule: &str) -> &'static str {
    match rule {
        "EOI" => "the end of the path",
        "segment" | "segments" | "child_segment" | "descendant_segment" => {
            "a segment (`.name`, `[…]` or `..name`)"
        }
        "bracketed_selection" | "index_segment" | "name_segment" => "`.name` or `[…]`",
        "selector" => "a selector (`'name'`, `*`, an index, a slice `1:3` or a filter `?…`)",
        "name_selector" | "string" => "a quoted name (`'name'`)",
        "wildcard_selector" => "`*`",
        "member_name_shorthand" | "name_first" | "name_char" | "ALPHA" => {
            "a member name (letters, digits and `_`; quote others as `['a-b']`)"
        }
        "int" | "index_selector" | "start" | "end" | "step" => "an integer",
        "slice_selector" => "a slice (`start:end:step`)",
        "filter_selector" => "a filter (`?@.name == 'x'`)",
        "logical_expr" | "logical_expr_and" | "atom_expr" | "paren_expr" | "test_expr" | "test" => {
            "a filter expression (`@.x == 'v'`, `@.x`, `!@.x`, `(…)`, a function)"
        }
        "comp_expr" | "comparable" | "literal" | "singular_query" | "rel_singular_query"
        | "abs_singular_query" => {
            "a value (`'text'`, a number, `true`, `false`, `null`, `@.x`, `$.x`, `$binding.x` or a function)"
        }
        "singular_query_segments" => "`.name` or `[index]`",
        "comp_op" => "a comparison (`==`, `!=`, `<`, `<=`, `>`, `>=`)",
        "rel_query" | "curr" => "`@`",
        "jp_query" | "root" => "`$`",
        "function_expr" | "function_name_one_arg" | "function_name_two_arg" => {
            "a function (`length`, `count`, `value`, `match`, `search`)"
        }
        "function_argument" => "a function argument",
        "number" | "frac" | "exp" => "a number",
        "bool" => "`true` or `false`",
        "null" => "`null`",
        "not_op" => "`!`",
        _ => "valid JSONPath",
    }
}

/// Byte offset from pest's ` --> line:column` (1-based, columns in chars).
fn pest_offset(src: &str, rendered: &str) -> Option<usize> {
    let header = rendered.split("-->").nth(1)?.lines().next()?.trim();
    let (line, col) = header.split_once(':')?;
    let line: usize = line.trim().parse().ok()?;
    let col: usize = col.trim().parse().ok()?;
    let mut line_start = 0;
    for _ in 1..line {
        line_start += src.get(line_start..)?.find('\n')? + 1;
    }
    let line_text = src.get(line_start..)?;
    let within = line_text
        .char_indices()
        .nth(col.checked_sub(1)?)
        .map_or(line_text.len(), |(i, _)| i);
    Some(line_start + within)
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "metadata": {
                "name": "web-0",
                "labels": {"app.kubernetes.io/name": "web", "tier": "front"},
                "ownerReferences": [{"uid": "u-1", "kind": "StatefulSet"}, {"uid": "u-2"}]
            },
            "status": {
                "phase": "Running",
                "containerStatuses": [
                    {"name": "a", "ready": true, "restartCount": 0},
                    {"name": "b", "ready": false, "restartCount": 3}
                ]
            }
        })
    }

    fn q(path: &str, doc: &Value) -> Vec<Value> {
        JsonPath::parse(path)
            .unwrap()
            .query(doc)
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn typical_rule_paths_take_the_fast_path() {
        let doc = pod();
        for (path, singular, want) in [
            ("$.status.phase", true, vec![json!("Running")]),
            (
                "$.metadata.labels['app.kubernetes.io/name']",
                true,
                vec![json!("web")],
            ),
            (
                "$.metadata.ownerReferences[0].uid",
                true,
                vec![json!("u-1")],
            ),
            (
                "$.metadata.ownerReferences[-1].uid",
                true,
                vec![json!("u-2")],
            ),
            ("$.metadata.ownerReferences[2].uid", true, vec![]),
            (
                "$.status.containerStatuses[*].name",
                false,
                vec![json!("a"), json!("b")],
            ),
            ("$.status.missing", true, vec![]),
            ("$", true, vec![doc.clone()]),
        ] {
            let p = JsonPath::parse(path).unwrap();
            assert!(p.is_simple(), "{path}");
            assert_eq!(p.is_singular(), singular, "{path}");
            assert_eq!(q(path, &doc), want, "{path}");
            assert_eq!(p.first(&doc), want.first(), "{path}");
        }
        let p = JsonPath::parse("$.status.containerStatuses[*]").unwrap();
        assert_eq!(p.query(&doc).len(), 2);
    }

    #[test]
    fn general_paths() {
        let doc = pod();
        let p = JsonPath::parse("$.status.containerStatuses[?@.ready == false].name").unwrap();
        assert!(!p.is_simple());
        assert!(!p.is_singular());
        assert_eq!(p.query(&doc), vec![&json!("b")]);
        assert_eq!(
            q(
                "$.status.containerStatuses[?@.restartCount > $.limit]",
                &json!({"limit": 1})
            ),
            Vec::<Value>::new()
        );
        let mut doc2 = doc.clone();
        doc2["limit"] = json!(1);
        assert_eq!(
            q(
                "$.status.containerStatuses[?@.restartCount > $.limit].name",
                &doc2
            ),
            vec![json!("b")]
        );
        assert_eq!(q("$..uid", &doc), vec![json!("u-1"), json!("u-2")]);
        assert_eq!(
            q("$.metadata.ownerReferences[::-1].uid", &doc),
            vec![json!("u-2"), json!("u-1")]
        );
        assert_eq!(
            q("$.metadata.ownerReferences[0]['uid','kind']", &doc),
            vec![json!("u-1"), json!("StatefulSet")]
        );
        let first = JsonPath::parse("$..name").unwrap();
        assert_eq!(first.first(&doc), Some(&json!("web-0")));
    }

    #[test]
    fn descendant_with_several_selectors_keeps_rfc_order() {
        let doc = json!({"o": [{"a": "b", "d": "e"}, {"a": "c", "d": "f"}]});
        assert_eq!(
            q("$..['a','d']", &doc),
            vec![json!("b"), json!("e"), json!("c"), json!("f")]
        );
    }

    #[test]
    fn slices() {
        let doc = json!([0, 1, 2, 3, 4, 5]);
        assert_eq!(q("$[1:3]", &doc), vec![json!(1), json!(2)]);
        assert_eq!(q("$[::2]", &doc), vec![json!(0), json!(2), json!(4)]);
        assert_eq!(q("$[-2:]", &doc), vec![json!(4), json!(5)]);
        assert_eq!(q("$[5:1:-2]", &doc), vec![json!(5), json!(3)]);
        assert_eq!(q("$[::0]", &doc), Vec::<Value>::new());
        assert_eq!(
            q(
                "$[-9007199254740991:9007199254740991:9007199254740991]",
                &doc
            ),
            vec![json!(0)]
        );
        assert_eq!(
            q(
                "$[9007199254740991:-9007199254740991:-9007199254740991]",
                &doc
            ),
            vec![json!(5)]
        );
    }

    #[test]
    fn caps_are_checked_before_parsing() {
        let long = format!("$.{}", "a".repeat(JsonPath::MAX_LEN - 2));
        assert!(JsonPath::parse(&long).is_ok());
        let too_long = format!("{long}b");
        let err = JsonPath::parse(&too_long).unwrap_err();
        assert!(matches!(err, PathError::TooLong { max: 1024, .. }), "{err}");
        assert!(err.to_string().contains("is longer than 1024 bytes"));
        assert!(err.to_string().len() < 200, "the query is abbreviated");

        let nest = |n: usize| format!("$[?{}@.a{}]", "(".repeat(n), ")".repeat(n));
        assert!(JsonPath::parse(&nest(JsonPath::MAX_DEPTH - 1)).is_ok());
        let err = JsonPath::parse(&nest(JsonPath::MAX_DEPTH)).unwrap_err();
        assert_eq!(
            err,
            PathError::TooDeep {
                query: nest(32),
                max: 32
            }
        );
        assert_eq!(
            err.to_string(),
            format!("JSONPath `{}` nests deeper than 32 levels", nest(32))
        );
        // Brackets inside string literals do not count.
        let quoted = format!("$['{}']", "[".repeat(100));
        assert!(JsonPath::parse(&quoted).is_ok());
        // Pathological inputs are rejected cheaply, without deep recursion.
        assert!(JsonPath::parse(&"[".repeat(1000)).is_err());
        assert!(JsonPath::parse(&format!("${}", "[?".repeat(500))).is_err());
    }

    #[test]
    fn syntax_errors_have_offsets_and_help() {
        let err = JsonPath::parse("status.phase").unwrap_err();
        assert_eq!(err.offset(), Some(0));
        assert!(
            err.to_string()
                .starts_with("invalid JSONPath `status.phase`: ")
        );
        assert_eq!(err.help(), Some(HELP_START));

        let err = JsonPath::parse("$.metadata.labels.app.kubernetes.io/name").unwrap_err();
        assert_eq!(err.offset(), Some(35));
        assert!(
            err.to_string().contains("unexpected `/` at column 36"),
            "{err}"
        );
        assert_eq!(err.help(), Some(HELP_QUOTE));

        let err = JsonPath::parse("$['a'").unwrap_err();
        assert_eq!(err.offset(), Some(1));
        assert!(
            err.to_string().ends_with("`[` at column 2 is not closed"),
            "{err}"
        );
        let err = JsonPath::parse("$['a]").unwrap_err();
        assert_eq!(err.offset(), Some(2));
        assert!(
            err.to_string()
                .contains("string starting with ' at column 3"),
            "{err}"
        );
        let err = JsonPath::parse("$.a]").unwrap_err();
        assert!(
            err.to_string().contains("unmatched `]` at column 4"),
            "{err}"
        );

        let err = JsonPath::parse("$.a.").unwrap_err();
        assert!(err.to_string().contains("unexpected end of query"), "{err}");
        assert_eq!(err.offset(), Some(4));
    }

    #[test]
    fn whitespace_inside_a_shorthand_name_is_rejected() {
        for bad in ["$.a b", "$..a b", "$.a\tb", "$[?@.a b == 1]", "$.a.b c.d"] {
            let err = JsonPath::parse(bad).unwrap_err();
            assert!(
                err.to_string()
                    .contains("whitespace inside the member name"),
                "{err}"
            );
        }
        assert_eq!(JsonPath::parse("$.ab c").unwrap_err().offset(), Some(4));
        for good in [
            "$ .a",
            "$.a .b",
            "$[?@.a == 1]",
            "$[?@.a && @.b]",
            "$[?@.a==1.5]",
            "$['a b']",
        ] {
            assert!(JsonPath::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn function_typing() {
        for bad in [
            "$[?length(@.a)]",
            "$[?count(@..*)]",
            "$[?value(@.a)]",
            "$[?length(@.*) < 3]",
            "$[?length(@['a', 'b']) < 3]",
            "$[?match(@.*, 'a')]",
            "$[?count(1) == 1]",
            "$[?nin(@.a, 1)]",
            "$[?in(@.*, [1])]",
            "$[?in(@.a, $.b) == true]",
            "$[?length(match(@.a, 'a')) == 1]",
        ] {
            let err = JsonPath::parse(bad).unwrap_err();
            assert_eq!(err.help(), Some(HELP_FUNCTION), "{bad}: {err}");
        }
        for good in [
            "$[?length(@.a) > 1]",
            "$[?count(@..*) > 1]",
            "$[?value(@..x) == 1]",
            "$[?match(@.a, 'a.*')]",
            "$[?search($.x, 'a')]",
            "$[?length(value(@..x)) == 1]",
        ] {
            assert!(JsonPath::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn the_in_extension_function() {
        let doc = json!({
            "groups": ["sg-1", "sg-2", 3],
            "rules": [
                {"id": 1, "group": "sg-2"},
                {"id": 2, "group": "sg-9"},
                {"id": 3, "group": 3.0},
                {"id": 4},
                {"id": 5, "group": ["sg-1"]}
            ],
            "ip": "10.0.3.7"
        });
        let ids = |path: &str| -> Vec<Value> {
            JsonPath::parse(path)
                .unwrap()
                .query(&doc)
                .into_iter()
                .cloned()
                .collect()
        };
        assert_eq!(
            ids("$.rules[?in(@.group, $.groups)].id"),
            vec![json!(1), json!(3)]
        );
        assert_eq!(
            ids("$.rules[?!in(@.group, $.groups)].id"),
            vec![json!(2), json!(4), json!(5)]
        );
        // The second argument must be an array; a missing member is in nothing.
        assert!(ids("$.rules[?in(@.group, $.ip)].id").is_empty());
        assert!(ids("$.rules[?in(@.nope, $.groups)].id").is_empty());
        assert_eq!(
            ids("$.rules[?in('sg-1', $.groups) && @.id == 2].id"),
            vec![json!(2)]
        );
        // Bindings as arguments, and what the path reads of them.
        let p = JsonPath::parse_bound(
            "$.rules[?in(@.group, $node.groups) || @.id == $node.id].id",
            &|n: &str| (n == "node").then_some(0),
        )
        .unwrap();
        let node = vec![json!({"groups": ["sg-9"], "id": 4})];
        let got: Vec<Value> = p.query_bound(&doc, &node).into_iter().cloned().collect();
        assert_eq!(got, vec![json!(2), json!(4)]);
        assert_eq!(
            p.binding_reads(),
            &[
                (0, vec![Access::Name("groups".into())]),
                (0, vec![Access::Name("id".into())])
            ]
        );
    }

    #[test]
    fn filters_applied_to_the_current_node_are_rejected() {
        for bad in [
            "$[?@.a[?@[?@ > 1]]]",
            "$[?$.a[?@..[?@ > 1]]]",
            "$[?@.a[?count(@[?@ > 1]) > 0]]",
        ] {
            let err = JsonPath::parse(bad).unwrap_err();
            assert_eq!(err.help(), Some(HELP_NESTED_FILTER), "{bad}: {err}");
        }
        let doc = json!([{"x": [0, 3]}, {"x": [1]}, [0, 2], [[5]], [[0]]]);
        assert_eq!(q("$[?@.x[?@ > 1]]", &doc), vec![json!({"x": [0, 3]})]);
        assert_eq!(q("$[?@[?@ > 1]]", &doc), vec![json!([0, 2])]);
        assert_eq!(
            q("$[?count(@..[?@ > 1]) > 0]", &doc),
            vec![json!({"x": [0, 3]}), json!([0, 2]), json!([[5]])]
        );
        assert_eq!(
            q("$[?@.*[?@.*[?@ > 1]]]", &json!([[[[[2]]]], [[[[0]]]]])),
            vec![json!([[[[2]]]])]
        );
    }

    #[test]
    fn longest_queries_on_deep_documents_stay_within_the_stack() {
        // Runs on a test thread (2 MiB stack by default).
        let depth = 500;
        let mut doc = json!(1);
        for _ in 0..depth {
            doc = json!({"a": [doc]});
        }
        let names = format!("${}", ".a[0]".repeat(depth / 3));
        let wild = format!("${}", ".*[*]".repeat(depth / 3));
        let general = format!("${}", ".a[0:1]".repeat(depth / 5));
        let filtered = format!("$..[?@.a[0].a]{}", ".a[0]".repeat(depth / 5));
        for path in [&names, &wild, &general, &filtered, &"$..*".to_owned()] {
            assert!(path.len() <= JsonPath::MAX_LEN, "{}", path.len());
            let p = JsonPath::parse(path).unwrap();
            assert!(!p.query(&doc).is_empty(), "{path}");
            assert!(p.first(&doc).is_some(), "{path}");
        }
    }

    #[test]
    fn display_eq_and_clone_are_by_source() {
        let a = JsonPath::parse("$.a").unwrap();
        let b = JsonPath::parse("$['a']").unwrap();
        assert_eq!(a.to_string(), "$.a");
        assert_eq!(a.as_str(), "$.a");
        assert_ne!(a, b);
        assert_eq!(a, a.clone());
    }

    /// A chain of `[child, "x"]` pairs, `depth` levels deep (661 bytes at 110).
    fn chain(depth: usize) -> Value {
        let mut doc = json!(1);
        for _ in 0..depth {
            doc = json!([doc, "x"]);
        }
        doc
    }

    #[test]
    fn descendant_segments_that_multiply_stop_at_the_node_budget() {
        let doc = chain(110);
        assert_eq!(serde_json::to_string(&doc).unwrap().len(), 661);
        for path in [
            "$..*..*..*..*",
            "$..*..*..*..['x', 0]",
            "$..[*,*,*,*]..[*,*,*,*]..*",
            "$..[?count(@..*..*..*) > 0]",
            "$..[?@..*..*..zz]",
            "$..[?value(@..*..*..zz) == 1]",
        ] {
            let p = JsonPath::parse(path).unwrap();
            let err = p.try_query(&doc).unwrap_err();
            assert_eq!(
                err,
                LimitError {
                    path: path.to_owned(),
                    limit: JsonPath::MAX_NODES
                }
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "JSONPath `{path}` visits more than 1000000 nodes, its limit on this document"
                )
            );
            assert!(err.help().contains("name the members"));
            // The infallible forms stop too, and record the error.
            assert!(take_limit_error().is_none());
            assert!(p.query(&doc).len() <= 1_000_000);
            assert_eq!(take_limit_error(), Some(err.clone()), "{path}");
            let _ = p.first(&doc);
            let _ = p.try_first(&doc);
            assert_eq!(p.values(&doc), Value::Null);
            assert_eq!(take_limit_error(), Some(err), "{path}");
            assert!(take_limit_error().is_none());
        }
        // One `..` more is fine.
        let p = JsonPath::parse("$..*..*").unwrap();
        assert_eq!(p.try_query(&doc).unwrap().len(), 11_990);
        assert!(take_limit_error().is_none());
    }

    #[test]
    fn linear_paths_read_large_documents_whole() {
        // 600,000 nodes: more than the budget's floor, so the limit is four
        // nodes per node of the document, which a path that visits each node
        // once or twice stays within.
        let doc = json!({"items": (0..100_000).map(|i| json!({"name": i, "a": {"b": [i, i]}})).collect::<Vec<_>>()});
        for (path, n) in [
            ("$..*", 600_001),
            ("$..b[*]", 200_000),
            ("$.items[?@.a.b[0] >= 0].name", 100_000),
            ("$..[?@ == 5]", 3),
            ("$.items[*]..*", 500_000),
        ] {
            let p = JsonPath::parse(path).unwrap();
            assert_eq!(p.try_query(&doc).unwrap().len(), n, "{path}");
        }
        assert!(matches!(p_values(&doc, "$.items[*].a"), Value::Array(a) if a.len() == 100_000));
        let err = JsonPath::parse("$..*..*")
            .unwrap()
            .try_query(&doc)
            .unwrap_err();
        assert_eq!(err.limit, 600_002 * JsonPath::NODES_PER_DOCUMENT_NODE);
    }

    fn p_values(doc: &Value, path: &str) -> Value {
        JsonPath::parse(path).unwrap().values(doc)
    }

    #[test]
    fn copies_count_against_the_budget() {
        // 22,350 nodes selected, each with all the nodes below it: 1,124,950
        // copies.
        let doc = chain(150);
        let p = JsonPath::parse("$..*..*").unwrap();
        assert!(p.try_query(&doc).is_ok());
        assert!(p.values(&doc).is_null());
        assert!(take_limit_error().is_some());
        assert!(JsonPath::parse("$..*").unwrap().values(&doc).is_array());
        assert_eq!(
            p_values(&json!({"a": [1, {"b": 2}]}), "$..*"),
            json!([[1, {"b": 2}], 1, {"b": 2}, 2])
        );
    }

    #[test]
    fn literal_patterns_are_compiled_once_with_the_path_never_per_evaluation() {
        let doc = json!([{"a": "web-1"}, {"a": "db"}, {"a": "web-22"}]);
        let before = regex_compilations();
        let m = JsonPath::parse("$[?match(@.a, 'web-[0-9]+') || search(@.a, '^d')].a").unwrap();
        assert_eq!(regex_compilations() - before, 2, "both compiled at parse");
        let after_parse = regex_compilations();
        for _ in 0..100 {
            assert_eq!(m.query(&doc).len(), 3);
        }
        assert_eq!(
            regex_compilations(),
            after_parse,
            "none compiled evaluating"
        );
    }

    #[test]
    fn patterns_from_documents_compile_once_per_distinct_pattern() {
        // A pattern no other test uses, so the shared cache cannot hold it yet.
        let doc = json!([
            {"a": "x-1", "p": "x-[0-9]-literal-free-1f0c"},
            {"a": "x-1", "p": "x-[0-9]-literal-free-1f0c"},
            {"a": "x-1-literal-free-1f0c", "p": "x-[0-9]-literal-free-1f0c"}
        ]);
        let m = JsonPath::parse("$[?match(@.a, @.p)].a").unwrap();
        let before = regex_compilations();
        for _ in 0..50 {
            assert_eq!(m.query(&doc), vec![&json!("x-1-literal-free-1f0c")]);
        }
        // Once, unless a concurrent test evicted it from the shared cache
        // in between (it holds 32).
        let compiled = regex_compilations() - before;
        assert!((1..=3).contains(&compiled), "{compiled}");
    }

    #[test]
    fn the_dynamic_pattern_cache_is_bounded_and_least_recently_used() {
        let mut lru = RegexLru::new(3);
        let re = |p: &str| Some(Arc::new(compile_regex(p).unwrap()));
        lru.insert("a", false, re("a"));
        lru.insert("b", false, re("b"));
        lru.insert("c", false, None);
        assert!(lru.get("a", false).is_some()); // a is now the most recent
        assert!(lru.get("a", true).is_none()); // search() is another entry
        lru.insert("d", false, re("d")); // evicts b, the least recently used
        assert!(lru.get("b", false).is_none());
        assert_eq!(lru.get("c", false).map(|r| r.is_none()), Some(true));
        assert!(lru.get("a", false).is_some());
        assert!(lru.get("d", false).is_some());
        assert_eq!(lru.entries.len(), 3);
        for i in 0..100 {
            lru.insert(&i.to_string(), false, None);
        }
        assert_eq!(lru.entries.len(), 3);
    }

    #[test]
    fn regex_patterns_are_compiled_with_the_path_within_limits() {
        let doc = json!([{"a": "web-1", "p": "web-[0-9]"}, {"a": "db", "p": "("}, {"a": "web-x", "p": 1}]);
        assert_eq!(
            q("$[?match(@.a, 'web-[0-9]')].a", &doc),
            vec![json!("web-1")]
        );
        assert_eq!(
            q("$[?search(@.a, 'b')].a", &doc),
            vec![json!("web-1"), json!("db"), json!("web-x")]
        );
        assert_eq!(q("$[?match(@.a, 1)]", &doc), Vec::<Value>::new());
        // Patterns from the document: compiled once each, invalid ones false.
        assert_eq!(q("$[?match(@.a, @.p)].a", &doc), vec![json!("web-1")]);
        assert_eq!(q("$[?search(@.a, @.p)].a", &doc), vec![json!("web-1")]);
        // A literal pattern that does not compile is an error of the path, at
        // the pattern.
        let err = JsonPath::parse("$[?match(@.a, 'a(b')]").unwrap_err();
        assert_eq!(err.offset(), Some(14));
        assert!(
            err.to_string().starts_with(
                "invalid JSONPath `$[?match(@.a, 'a(b')]`: the pattern `a(b` of `match()`: "
            ),
            "{err}"
        );
        assert_eq!(err.help(), Some(HELP_REGEX));
        let err = JsonPath::parse(r"$[?search(@.a, '(\\w{100}){100}')]").unwrap_err();
        assert!(
            err.to_string()
                .contains("exceeds size limit of 1048576 bytes"),
            "{err}"
        );
        // `\w{200}` (57 ms to compile, once per evaluation before) compiles to
        // more than a `regex:` matcher may; `[a-z]{200}` does not.
        let err = JsonPath::parse(r"$[?match(@, '\\w{200}')]").unwrap_err();
        assert!(err.to_string().contains("exceeds size limit"), "{err}");
        let p = JsonPath::parse("$[?match(@, '[a-z]{200}')]").unwrap();
        let words = json!(["a".repeat(200), "b".repeat(199)]);
        assert_eq!(p.query(&words), vec![&words[0]]);
        // The same limits as `regex:` matchers.
        assert!(matches!(
            compile_regex(&"a".repeat(MAX_REGEX_LEN + 1)),
            Err(RegexError::TooLong {
                len: 4097,
                max: 4096
            })
        ));
        assert!(compile_regex(&"a".repeat(MAX_REGEX_LEN)).is_ok());
        // As the help says.
        assert!(compile_regex(&i_regexp("[a-z0-9_]{200}", false)).is_ok());
        assert!(compile_regex(&i_regexp("\\w{200}", false)).is_err());
        assert!(matches!(
            compile_regex("(\\w{100}){100}"),
            Err(RegexError::Invalid(_))
        ));
    }

    #[test]
    fn patterns_from_documents_are_bounded_too() {
        // Each distinct pattern read from the document costs a share of the
        // budget to compile; a document of many costly patterns stops.
        let items: Vec<Value> = (0..20)
            .map(|i| json!({"a": "x", "p": format!("\\w{{{}}}", 100 + i)}))
            .collect();
        let doc = Value::Array(items);
        let p = JsonPath::parse("$[?match(@.a, @.p)]").unwrap();
        let err = p.try_query(&doc).unwrap_err();
        assert_eq!(err.limit, JsonPath::MAX_NODES);
        // A pattern longer than the limit never compiles: false.
        let doc = json!([{"a": "a", "p": "a".repeat(MAX_REGEX_LEN + 1)}]);
        assert!(p.try_query(&doc).unwrap().is_empty());
    }

    #[test]
    fn never_panics_on_odd_input() {
        let doc = json!({"a": [1, {"b": null}], "": {"": []}});
        let odd = [
            "",
            "$",
            "$$",
            "@",
            "$[",
            "$]",
            "$[?",
            "$[?@",
            "$[?@.a ==",
            "$['",
            "$['\\",
            "$['\\u",
            "$['\\uD800']",
            "$[\"\\uDC00\"]",
            "$[-0]",
            "$[01]",
            "$[9007199254740992]",
            "$[-9007199254740992]",
            "$[::-9007199254740991]",
            "$..",
            "$...a",
            "$.*.*.*",
            "$[?length(@) == -0.0e-0]",
            "$[?match(@, '[')]",
            "$[?search(@, '(((')]",
            "$[?@ == 1e999]",
            "$[?@ < -1e400]",
            "$..[*]",
            "$['\u{0}']",
            "$.\u{10FFFF}",
            "$[?!!@]",
            "$[?((((((@))))))]",
            "$[?@.a==\"\\\"\"]",
            "..",
            "$.a[?@.b]['c'][1:]",
        ];
        for s in odd {
            if let Ok(p) = JsonPath::parse(s) {
                let _ = p.query(&doc);
                let _ = p.first(&doc);
            } else if let Err(e) = JsonPath::parse(s) {
                let _ = (e.to_string(), e.offset(), e.help());
            }
        }
    }

    fn bound(path: &str) -> Result<JsonPath, PathError> {
        JsonPath::parse_bound(path, &|n: &str| match n {
            "container" => Some(2),
            "limits" => Some(3),
            _ => None,
        })
    }

    #[test]
    fn filters_read_bindings() {
        let pod = json!({"status": {"containerStatuses": [
            {"name": "app", "ready": true, "ports": [1]},
            {"name": "sidecar", "ready": false, "ports": []}
        ]}});
        let binds = vec![
            Value::Null,
            Value::Null,
            json!({"name": "sidecar", "pattern": "side.*", "n": 0}),
            json!({"max": 1}),
        ];
        let q = |path: &str| -> Vec<Value> {
            bound(path)
                .unwrap()
                .query_bound(&pod, &binds)
                .into_iter()
                .cloned()
                .collect()
        };
        assert_eq!(
            q("$.status.containerStatuses[?@.name == $container.name].ready"),
            vec![json!(false)]
        );
        assert_eq!(
            q("$.status.containerStatuses[?@.name != $container['name']].name"),
            vec![json!("app")]
        );
        assert_eq!(
            q("$.status.containerStatuses[?length(@.ports) == $container.n].name"),
            vec![json!("sidecar")]
        );
        assert_eq!(
            q("$.status.containerStatuses[?match(@.name, $container.pattern)].name"),
            vec![json!("sidecar")]
        );
        assert_eq!(
            q("$.status.containerStatuses[?count(@.ports[*]) >= $limits.max && @.ready].name"),
            vec![json!("app")]
        );
        // A binding alone, and a missing member: nothing to compare.
        assert_eq!(
            q("$.status.containerStatuses[?@ == $container].name"),
            Vec::<Value>::new()
        );
        assert_eq!(
            q("$.status.containerStatuses[?@.name == $container.missing].name"),
            Vec::<Value>::new()
        );
        // An existence test of a binding's member.
        assert_eq!(q("$.status.containerStatuses[?$limits.max].name").len(), 2);
        assert_eq!(q("$.status.containerStatuses[?$limits.nope].name").len(), 0);
        // `$` stays the root.
        assert_eq!(
            q("$.status.containerStatuses[?@.name == $.status.containerStatuses[1].name].ready"),
            vec![json!(false)]
        );
        // Without bindings, a binding selects nothing.
        let p = bound("$.status.containerStatuses[?@.name == $container.name].ready").unwrap();
        assert!(p.query(&pod).is_empty());
        assert!(p.first_bound(&pod, &binds).is_some());
        assert_eq!(p.values_bound(&pod, &binds), json!([false]));
        assert_eq!(p.try_query_bound(&pod, &binds).unwrap().len(), 1);
    }

    #[test]
    fn what_filters_read_outside_the_item() {
        let p = bound("$.a[?@.name == $container.name && @.x < $limits.max]").unwrap();
        assert!(!p.reads_root());
        assert!(p.reads_bindings());
        assert_eq!(
            p.binding_reads(),
            &[
                (2, vec![Access::Name("name".into())]),
                (3, vec![Access::Name("max".into())])
            ]
        );
        let p = bound("$.a[?@.name == $.b]").unwrap();
        assert!(p.reads_root());
        assert!(!p.reads_bindings());
        // `$` in a string literal reads nothing.
        let p = bound("$.a[?@.name == '$.b' && @.x == \"$container\"]").unwrap();
        assert!(!p.reads_root());
        assert!(!p.reads_bindings());
        let p = bound("$.a[?count($.b[*]) > 0]").unwrap();
        assert!(p.reads_root());
    }

    #[test]
    fn binding_references_that_are_wrong() {
        let err = bound("$.status.containerStatuses[?@.name == $contianer.name]").unwrap_err();
        assert!(
            matches!(&err, PathError::UnknownBinding { name, offset: 38, .. } if name == "contianer"),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("`$contianer` at column 39"),
            "{err}"
        );
        assert_eq!(err.help(), Some(HELP_BINDING));
        // Plain `parse` knows no bindings.
        assert!(matches!(
            JsonPath::parse("$[?@.a == $container.name]"),
            Err(PathError::UnknownBinding { .. })
        ));
        // Outside a filter.
        for bad in ["$.a.$container", "$[$container]", "$.a[?@.b[$container]]"] {
            let err = bound(bad).unwrap_err();
            assert!(
                err.to_string().contains("only inside a filter"),
                "{bad}: {err}"
            );
        }
        // Not singular.
        for bad in [
            "$[?$container.*]",
            "$[?$container..name]",
            "$[?count($container[*]) > 1]",
            "$[?@.a == value($container..x)]",
        ] {
            let err = bound(bad).unwrap_err();
            assert!(err.to_string().contains("singular query"), "{bad}: {err}");
            assert_eq!(err.offset(), bad.find("$container"), "{bad}");
        }
        // Syntax errors after a binding point into the query as written.
        let src = "$[?@.a == $container.name && @.b = 1]";
        let err = bound(src).unwrap_err();
        assert_eq!(err.offset(), Some(src.find(" = ").unwrap() + 1), "{err}");
        assert!(
            err.to_string()
                .contains("unexpected `=` at column 34: expected a segment"),
            "{err}"
        );
    }

    #[test]
    fn member_names_are_never_taken_for_bindings() {
        // A member named like the rewrite of a binding reference stays a member.
        let doc = json!({"\u{FDD0}container": {"name": "x"}, "a": [{"name": "x"}, {"name": "y"}]});
        let binds = vec![Value::Null, Value::Null, json!({"name": "y"})];
        for path in [
            "$.a[?@.name == $['\u{FDD0}container'].name && @.name != $container.name]",
            "$.a[?@.name == $['\\uFDD0container'].name && @.name != $container.name]",
            "$.a[?@.name == $['\\ufdd0container'].name && @.name != $container.name]",
        ] {
            let p = bound(path).unwrap();
            assert_eq!(
                p.query_bound(&doc, &binds),
                vec![&json!({"name": "x"})],
                "{path}"
            );
        }
    }

    #[test]
    fn syntax_errors_say_what_was_expected() {
        for (bad, want) in [
            ("$.a[?@.b == ]", "expected a value"),
            ("$.a[?@.b = 1]", "unexpected `=` at column 10"),
            ("$.a b", "whitespace"),
            ("$.a.", "unexpected end of query"),
            (
                "$.metadata.labels.app.kubernetes.io/name",
                "expected the end of the path",
            ),
            ("$[?@.a == 'x' and @.b]", "expected"),
        ] {
            let err = JsonPath::parse(bad).unwrap_err();
            println!("{bad}: {err}");
            assert!(err.to_string().contains(want), "{bad}: {err}");
            assert!(!err.to_string().contains("at byte"), "{bad}: {err}");
        }
    }
}
