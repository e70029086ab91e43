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
//! evaluates filters only in `JsonPath::query_fallback`, the reference of the
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
#[cfg(any(test, feature = "testing"))]
use jsonpath_rust::query::Query;
#[cfg(any(test, feature = "testing"))]
use jsonpath_rust::query::state::State;
use regex::Regex;
use serde_json::Value;

mod bind;
mod check;
mod compile;
mod errors;
mod eval;
mod regexes;

#[cfg(any(test, feature = "testing"))]
pub use self::regexes::regex_compilations;
pub use self::regexes::{
    MAX_REGEX_DFA_SIZE, MAX_REGEX_LEN, MAX_REGEX_SIZE, REGEX_COMPILE_NODES, RegexError,
    compile_regex,
};
use self::{bind::*, check::*, compile::*, errors::*, eval::*, regexes::*};

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
    /// comparison) only by `JsonPath::query_fallback`, for differential tests.
    #[cfg(any(test, feature = "testing"))]
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
    #[cfg(any(test, feature = "testing"))]
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
    pub fn binding_reads(&self) -> &[(usize, Vec<Access>)] {
        &self.binding_reads
    }

    /// The query as written.
    pub fn as_str(&self) -> &str {
        &self.src
    }

    /// The query in one spelling per simple query, to compare queries by what
    /// they select rather than how they are written (join identities): names
    /// in the `.name` shorthand where RFC 9535 allows it (`$['registryId']`,
    /// `$["registryId"]` and `$.registryId` are all `$.registryId`), other
    /// names in single-quoted brackets with the escapes of a normalized path
    /// (RFC 9535 section 2.7), indexes as `[n]` and wildcards as `[*]`. A
    /// query with a filter, slice, descendant segment or several selectors in
    /// a segment keeps its text.
    pub fn canonical(&self) -> std::borrow::Cow<'_, str> {
        let Plan::Simple(steps) = &self.plan else {
            return std::borrow::Cow::Borrowed(&self.src);
        };
        let mut out = String::from("$");
        for step in steps.iter() {
            match step {
                Step::Name(n) if is_shorthand(n) => {
                    out.push('.');
                    out.push_str(n);
                }
                Step::Name(n) => {
                    out.push_str("['");
                    for c in n.chars() {
                        match c {
                            '\\' => out.push_str("\\\\"),
                            '\'' => out.push_str("\\'"),
                            '\u{8}' => out.push_str("\\b"),
                            '\u{c}' => out.push_str("\\f"),
                            '\n' => out.push_str("\\n"),
                            '\r' => out.push_str("\\r"),
                            '\t' => out.push_str("\\t"),
                            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                            c => out.push(c),
                        }
                    }
                    out.push_str("']");
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
                Step::Wildcard => out.push_str("[*]"),
            }
        }
        if out == self.src.as_ref() {
            std::borrow::Cow::Borrowed(&self.src)
        } else {
            std::borrow::Cow::Owned(out)
        }
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
    /// for differential tests of the direct evaluation (feature `testing`).
    #[cfg(any(test, feature = "testing"))]
    pub fn query_fallback<'a>(&self, doc: &'a Value) -> Vec<&'a Value> {
        self.query_within(doc, Eval::Fallback, &Budget::new(doc), &NoBindings)
    }

    /// The tests and comparisons of the query's filters (not those nested in
    /// the queries of a filter) that are evaluated directly, and those handed to
    /// `jsonpath-rust` (none since functions are evaluated directly too).
    /// Feature `testing`.
    #[cfg(any(test, feature = "testing"))]
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

/// One step of a query as field projection sees it (`rulerun_core::projection`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
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
    pub fn accesses(&self) -> (Vec<Access>, bool) {
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

    #[test]
    fn canonical_spells_a_simple_query_one_way() {
        let canon = |p: &str| JsonPath::parse(p).unwrap().canonical().into_owned();
        for same in [
            "$.registryId",
            "$['registryId']",
            "$[\"registryId\"]",
            "$[ 'registryId' ]",
        ] {
            assert_eq!(canon(same), "$.registryId", "{same}");
        }
        assert_eq!(canon("$.imageTags.*"), "$.imageTags[*]");
        assert_eq!(
            canon("$['Associations'][*]['Main']"),
            "$.Associations[*].Main"
        );
        assert_eq!(canon("$.items[-1]"), "$.items[-1]");
        assert_eq!(
            canon("$.metadata.labels[\"app.kubernetes.io/name\"]"),
            "$.metadata.labels['app.kubernetes.io/name']"
        );
        assert_eq!(
            canon("$['it\\'s']['a\\\\b']['1st']"),
            "$['it\\'s']['a\\\\b']['1st']"
        );
        assert_eq!(canon("$['tab\\there']"), "$['tab\\there']");
        // Filters keep their text.
        assert_eq!(canon("$.items[?@.a == 1]"), "$.items[?@.a == 1]");
        // The canonical form is a query that selects the same nodes, and is canonical.
        let doc = json!({"a b": {"it's": [1, {"x": 2}]}, "registryId": "1"});
        // Unicode whitespace, which jsonpath-rust trims from a shorthand name,
        // keeps the brackets.
        assert_eq!(canon("$['x\u{a0}']"), "$['x\u{a0}']");
        assert_eq!(canon("$['\u{e9}t\u{e9}']"), "$.\u{e9}t\u{e9}");
        for p in [
            "$['a b'][\"it's\"][1].x",
            "$[\"registryId\"]",
            "$['a b'].*[*]",
            "$['x\u{a0}']",
            "$['\u{2028}']",
            "$['\u{e9}t\u{e9}']",
        ] {
            let c = canon(p);
            assert_eq!(canon(&c), c);
            assert_eq!(q(&c, &doc), q(p, &doc), "{p} vs {c}");
        }
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
