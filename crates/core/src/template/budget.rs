//! Bounds on the values one render may build.
//!
//! minijinja's fuel charges every instruction and the bytes and slots that
//! operators and filters allocate, but a container may share its items: `[x, x]`
//! costs two slots whatever `x` holds, so thirty doublings (a loop over a
//! `namespace()`, a recursive macro, `[[x] * 1000] * 1000`) build a value whose
//! *expanded* size is 2^30 times the first, and whatever walks it (printing,
//! `~`, `tojson`, comparing, hashing, handing it to a rulerun function) runs for
//! minutes and allocates gigabytes before any charge is made.
//!
//! So every value a template builds is measured where it is built. At compile
//! time the template's source is *instrumented*: each expression that can build
//! a new value (list, tuple and mapping literals, `+`, `*`, `~`, every filter and
//! every call) is wrapped in a call of [`CHECK`], which measures the value and
//! returns it unchanged. A value larger than [`MAX_VALUE`] (its text size:
//! string bytes, and a few bytes per number, item and entry) or nested deeper
//! than [`MAX_NESTING`] is a render error naming what built it. Values a
//! template does not build (the rule's scope) are bounded by the fact limits, and
//! every operator's cost is about linear in its operands, so by induction every
//! walk of every value is bounded.
//!
//! The one mutable value, a `namespace()`, could otherwise be made to contain
//! itself (`{% set ns.a = ns %}`), which no size check catches before a walk
//! recurses forever. A value assigned to a namespace attribute, or given to
//! `namespace()`, is therefore checked by [`CHECK_ASSIGN`], which also refuses
//! any namespace, other special mapping or lazy sequence inside it: namespaces
//! hold only text, numbers, lists and plain mappings, so none can reach itself.
//!
//! Measuring is counted too: one render may visit at most [`MAX_CHECK_WORK`]
//! items across all its checks (a loop that grows a list and measures it each
//! time is quadratic). `tojson` and `pprint` indent by nesting level, so they
//! estimate their output, indentation included, before serializing.

use std::cell::Cell;

use minijinja::machinery::ast::{self, CallArg, Expr, Stmt};
use minijinja::value::{Kwargs, ObjectRepr, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, Value};

/// The largest value (in bytes of text, roughly its size as compact JSON) a
/// template may build.
pub const MAX_VALUE: u64 = 1 << 20;
/// The deepest nesting of lists and mappings a template may build (fact
/// documents nest at most 127 levels).
pub const MAX_NESTING: usize = 192;
/// Items that the checks of one render may visit, in all.
pub const MAX_CHECK_WORK: u64 = 4_000_000;

/// The function wrapped around every expression that builds a value.
pub(super) const CHECK: &str = "__rr_value";
/// The function wrapped around every value assigned to a namespace attribute.
pub(super) const CHECK_ASSIGN: &str = "__rr_assign";
/// Names starting with this are reserved for the instrumentation.
pub(super) const RESERVED: &str = "__rr_";
/// Wrapped around the root of an attribute chain a guard tests
/// (`a.b.c | default(x)`, `a.b.c is defined`): lookups on it never fail.
pub(super) const GUARD_CHAIN: &str = "__rr_chain";
/// Wrapped around such a chain: its value, or undefined when a parent is missing.
pub(super) const GUARD_UNWRAP: &str = "__rr_unwrap";

/// A value under a guard: an attribute or item of it is another guarded value,
/// `None` once a parent is missing, so that `a.b.c | default(x)` gives `x`
/// when `a.b` is missing instead of failing on `.c` (as minijinja's
/// semi-strict undefined does). Only guards see it: [`GUARD_UNWRAP`] returns
/// the value or undefined.
#[derive(Debug)]
struct Guarded(Option<Value>);

impl minijinja::value::Object for Guarded {
    fn repr(self: &std::sync::Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        let next = self
            .0
            .as_ref()
            .and_then(|v| v.get_item(key).ok())
            .filter(|v| !v.is_undefined());
        Some(Value::from_object(Guarded(next)))
    }
}

thread_local! {
    /// Items the checks of the current render have visited.
    static WORK: Cell<u64> = const { Cell::new(0) };
}

/// Starts the work count of a render.
pub(super) fn start_render() {
    WORK.with(|w| w.set(0));
}

/// Registers the checks, and replaces `namespace`, `tojson` and `pprint` with
/// bounded versions.
pub(super) fn install(env: &mut Environment<'static>) {
    env.add_function(GUARD_CHAIN, |value: Value| {
        Value::from_object(Guarded(Some(value).filter(|v| !v.is_undefined())))
    });
    env.add_function(GUARD_UNWRAP, |value: Value| {
        match value.downcast_object_ref::<Guarded>() {
            Some(Guarded(Some(v))) => v.clone(),
            Some(Guarded(None)) => Value::UNDEFINED,
            None => value,
        }
    });
    env.add_function(CHECK, |value: Value, what: &str| -> Result<Value, Error> {
        measure(&value, Style::Compact, false)
            .map_err(|p| p.error(&format!("the value of {what}")))?;
        Ok(value)
    });
    env.add_function(
        CHECK_ASSIGN,
        |value: Value, attr: &str| -> Result<Value, Error> {
            plain(value, &format!("the value assigned to `{attr}`"))
        },
    );
    env.add_function(
        "namespace",
        |defaults: Option<ValueOrKwargs>| -> Result<Value, Error> {
            // The defaults' values as `{% set ns.attr = value %}` would assign
            // them; anything else is left to minijinja's error.
            let Some(pairs) = defaults.as_ref().and_then(|d| {
                d.as_object()
                    .filter(|o| o.repr() == ObjectRepr::Map)
                    .and_then(|o| o.try_iter_pairs())
            }) else {
                return minijinja::functions::namespace(defaults);
            };
            let mut values = std::collections::BTreeMap::new();
            for (key, value) in pairs {
                let what = format!(
                    "the value given to `namespace()` for `{}`",
                    identifier(key.as_str().unwrap_or("?"))
                );
                values.insert(key, plain(value, &what)?);
            }
            let (defaults,): (ValueOrKwargs,) =
                minijinja::value::from_args(&[Value::from(values)])?;
            minijinja::functions::namespace(Some(defaults))
        },
    );
    env.add_filter(
        "tojson",
        |value: &Value, indent: Option<Value>, kwargs: Kwargs| -> Result<Value, Error> {
            let width = match indent.clone() {
                Some(v) => Some(v),
                None => kwargs.peek::<Option<Value>>("indent")?,
            };
            let width = match width {
                None => 0,
                Some(v) => match bool::try_from(v.clone()) {
                    Ok(true) => 2,
                    Ok(false) => 0,
                    Err(_) => usize::try_from(v)?,
                },
            };
            measure(value, Style::Indented(width), false)
                .map_err(|p| p.error("the output of filter `tojson`"))?;
            minijinja::filters::tojson(value, indent, kwargs)
        },
    );
    env.add_filter("pprint", |value: &Value| -> Result<String, Error> {
        measure(value, Style::Indented(4), false)
            .map_err(|p| p.error("the output of filter `pprint`"))?;
        Ok(minijinja::filters::pprint(value))
    });
}

/// A value for a namespace attribute: measured, holding no namespace or other
/// special object, and a lazy sequence (as `a + b` builds) made a list, so that
/// it is a snapshot and not a view of something that may change.
fn plain(value: Value, what: &str) -> Result<Value, Error> {
    measure(&value, Style::Compact, true).map_err(|p| p.error(what))?;
    match value.as_object() {
        Some(obj) if obj.repr() == ObjectRepr::Iterable => {
            let items: Vec<Value> = value.try_iter()?.collect();
            Ok(Value::from(items))
        }
        _ => Ok(value),
    }
}

/// How a value's size is counted.
#[derive(Clone, Copy)]
enum Style {
    /// As text on one line (printing, `~`, `string`, `join`).
    Compact,
    /// Serialized with this many spaces of indentation per level (`tojson`,
    /// `pprint`), strings with their escapes.
    Indented(usize),
}

/// Why a value was refused.
enum Problem {
    TooLarge,
    TooDeep,
    Special,
    Work,
}

impl Problem {
    /// The error, `what` naming the value (`the value of filter `join``).
    fn error(&self, what: &str) -> Error {
        let msg = match self {
            Problem::TooLarge => format!("{what} exceeds the {MAX_VALUE}-byte value limit"),
            Problem::TooDeep => format!("{what} nests deeper than {MAX_NESTING} levels"),
            Problem::Special => format!(
                "{what} holds a namespace, a loop, a macro or a lazy sequence inside it, but a \
                 namespace may hold only text, numbers, lists and plain mappings, so that it \
                 cannot come to contain itself (make lazy sequences lists with `|list`)"
            ),
            Problem::Work => format!(
                "the template measured more than {MAX_CHECK_WORK} items of the values it \
                 builds (the last: {what}); it builds large values over and over"
            ),
        };
        Error::new(ErrorKind::InvalidOperation, msg)
    }
}

type Items = Box<dyn Iterator<Item = Value> + Send + Sync>;

/// Measures `value` in `style`, up to [`MAX_VALUE`]. With `plain_only`, refuses
/// objects other than lists and plain mappings (see the module docs).
fn measure(value: &Value, style: Style, plain_only: bool) -> Result<u64, Problem> {
    let indent = match style {
        Style::Compact => 0,
        Style::Indented(width) => width as u64,
    };
    let mut size: u64 = 0;
    // One iterator per open container: the stack is as deep as the nesting.
    let mut stack: Vec<Items> = Vec::new();
    let mut next = Some(value.clone());
    loop {
        let Some(v) = next.take().or_else(|| {
            while let Some(top) = stack.last_mut() {
                if let Some(v) = top.next() {
                    return Some(v);
                }
                stack.pop();
            }
            None
        }) else {
            return Ok(size);
        };
        let work = WORK.with(|w| {
            let n = w.get().saturating_add(1);
            w.set(n);
            n
        });
        if work > MAX_CHECK_WORK {
            return Err(Problem::Work);
        }
        let depth = stack.len() as u64;
        // Each item on its own line when indented, with a separator.
        size = size.saturating_add(2 + if indent > 0 { 1 + depth * indent } else { 0 });
        size = size.saturating_add(match (v.as_str(), v.as_bytes(), v.as_object()) {
            (Some(s), _, _) => text_size(s, style),
            (None, Some(b), _) => b.len() as u64 * 4 + 3,
            (None, None, Some(obj)) => {
                let items: Option<Items> = match obj.repr() {
                    ObjectRepr::Seq => obj.try_iter(),
                    // Lazy sequences (`a + b`, `x * n`, `range()`) can be walked
                    // again; inside a namespace only as a list, made by `plain`.
                    ObjectRepr::Iterable if plain_only && depth > 0 => {
                        return Err(Problem::Special);
                    }
                    ObjectRepr::Iterable => obj.try_iter(),
                    ObjectRepr::Map => {
                        let plain = v
                            .downcast_object_ref::<std::collections::BTreeMap<Value, Value>>()
                            .is_some()
                            || v.is_kwargs();
                        if plain_only && !plain {
                            return Err(Problem::Special);
                        }
                        obj.try_iter_pairs()
                            .map(|pairs| -> Items { Box::new(pairs.flat_map(|(k, v)| [k, v])) })
                    }
                    _ => None,
                };
                if let Some(items) = items {
                    if stack.len() >= MAX_NESTING {
                        return Err(Problem::TooDeep);
                    }
                    stack.push(items);
                }
                // Brackets, and the closing line when indented.
                2 + if indent > 0 { 1 + depth * indent } else { 0 }
            }
            // Numbers, booleans, none: at most 24 bytes or so as text.
            (None, None, None) => 8,
        });
        if size > MAX_VALUE {
            return Err(Problem::TooLarge);
        }
    }
}

/// The size of a string as text: its bytes and quotes, and when serialized,
/// its escapes (at most ten bytes for a character, `\u{10ffff}`).
fn text_size(s: &str, style: Style) -> u64 {
    match style {
        Style::Compact => s.len() as u64 + 2,
        Style::Indented(_) => {
            let escaped: u64 = s
                .bytes()
                .map(|b| match b {
                    b'"' | b'\\' => 2,
                    b'<' | b'>' | b'&' | b'\'' => 6,
                    0..=0x1f | 0x7f => 10,
                    _ => 1,
                })
                .sum();
            escaped + 2
        }
    }
}

// ---------------------------------------------------------------------------
// Instrumentation

/// Where to insert text into the source.
struct Edit {
    at: usize,
    /// Closing edits go before opening ones at the same offset; among closings,
    /// inner (later) wraps first; among openings, outer (earlier) wraps first.
    close: bool,
    seq: usize,
    text: String,
}

/// The source with every value-building expression wrapped in a check, or
/// `None` when the source does not parse (the environment then reports the
/// error as it always did).
///
/// # Errors
///
/// A message when the source uses a reserved name or could not be instrumented
/// faithfully (a bug: the instrumented template is parsed again and must have
/// the original's structure).
pub(super) fn instrument(source: &str) -> Result<Option<String>, String> {
    if let Some(at) = source.find(RESERVED) {
        let line = source[..at].matches('\n').count() + 1;
        return Err(format!(
            "names starting with `{RESERVED}` are reserved (template line {line})"
        ));
    }
    let Ok(ast) = minijinja::machinery::parse(source, "<template>", Default::default()) else {
        return Ok(None);
    };
    let mut walker = Instrument {
        src: source,
        edits: Vec::new(),
        seq: 0,
        failed: false,
    };
    walker.stmt(&ast);
    if walker.failed {
        return Err(instrument_bug());
    }
    if walker.edits.is_empty() {
        return Ok(Some(source.to_owned()));
    }
    let mut edits = walker.edits;
    edits.sort_by(|a, b| {
        a.at.cmp(&b.at)
            .then(b.close.cmp(&a.close))
            .then(if a.close {
                b.seq.cmp(&a.seq)
            } else {
                a.seq.cmp(&b.seq)
            })
    });
    let mut out = String::with_capacity(source.len() + edits.len() * 16);
    let mut from = 0;
    for e in &edits {
        out.push_str(source.get(from..e.at).ok_or_else(instrument_bug)?);
        out.push_str(&e.text);
        from = e.at;
    }
    out.push_str(source.get(from..).ok_or_else(instrument_bug)?);
    // The instrumented template must be the original with calls around some
    // expressions, nothing else.
    let again = minijinja::machinery::parse(&out, "<template>", Default::default())
        .map_err(|_| instrument_bug())?;
    let (mut a, mut b) = (String::new(), String::new());
    shape_stmt(&ast, &mut a);
    shape_stmt(&again, &mut b);
    if a != b {
        return Err(instrument_bug());
    }
    Ok(Some(out))
}

fn instrument_bug() -> String {
    "rulerun could not add its value-size checks to this template (a rulerun bug, please \
     report it with the template)"
        .to_owned()
}

struct Instrument<'s> {
    src: &'s str,
    edits: Vec<Edit>,
    seq: usize,
    failed: bool,
}

impl Instrument<'_> {
    fn stmts(&mut self, stmts: &[Stmt<'_>]) {
        for s in stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, stmt: &Stmt<'_>) {
        match stmt {
            Stmt::Template(t) => self.stmts(&t.children),
            Stmt::EmitExpr(e) => self.expr(&e.expr),
            Stmt::ForLoop(f) => {
                self.expr(&f.iter);
                if let Some(e) = &f.filter_expr {
                    self.expr(e);
                }
                self.stmts(&f.body);
                self.stmts(&f.else_body);
            }
            Stmt::IfCond(c) => {
                self.expr(&c.expr);
                self.stmts(&c.true_body);
                self.stmts(&c.false_body);
            }
            Stmt::WithBlock(w) => {
                for (_, value) in &w.assignments {
                    self.expr(value);
                }
                self.stmts(&w.body);
            }
            Stmt::Set(s) => {
                if let Expr::GetAttr(target) = &s.target {
                    // `{% set ns.attr = value %}`: measured by the assignment's
                    // check, which also keeps namespaces out of namespaces.
                    self.expr(&target.expr);
                    self.wrap(&s.expr, CHECK_ASSIGN, identifier(target.name));
                    self.inner(&s.expr);
                } else {
                    self.expr(&s.expr);
                }
            }
            Stmt::SetBlock(s) => {
                if let Some(f) = &s.filter {
                    self.filter_chain(f);
                }
                self.stmts(&s.body);
            }
            Stmt::AutoEscape(a) => {
                self.expr(&a.enabled);
                self.stmts(&a.body);
            }
            Stmt::FilterBlock(f) => {
                self.filter_chain(&f.filter);
                self.stmts(&f.body);
            }
            Stmt::Macro(m) => {
                for d in &m.defaults {
                    self.expr(d);
                }
                self.stmts(&m.body);
            }
            Stmt::CallBlock(c) => {
                self.expr(&c.call.expr);
                self.args(&c.call.args);
                for d in &c.macro_decl.defaults {
                    self.expr(d);
                }
                self.stmts(&c.macro_decl.body);
            }
            Stmt::Do(d) => {
                self.expr(&d.call.expr);
                self.args(&d.call.args);
            }
            _ => {}
        }
    }

    /// The filters of a `{% filter %}` block or `{% set x | f %}`: applied to
    /// the captured text (bounded by fuel), so only their arguments are walked.
    fn filter_chain(&mut self, expr: &Expr<'_>) {
        match expr {
            Expr::Filter(f) => {
                if let Some(e) = &f.expr {
                    self.filter_chain(e);
                }
                self.args(&f.args);
            }
            other => self.expr(other),
        }
    }

    fn args(&mut self, args: &[CallArg<'_>]) {
        for a in args {
            match a {
                CallArg::Pos(e)
                | CallArg::Kwarg(_, e)
                | CallArg::PosSplat(e)
                | CallArg::KwargSplat(e) => self.expr(e),
            }
        }
    }

    fn expr(&mut self, expr: &Expr<'_>) {
        if let Some(what) = builds(expr) {
            self.wrap(expr, CHECK, &what);
        }
        self.inner(expr);
    }

    /// The operands of `expr`.
    fn inner(&mut self, expr: &Expr<'_>) {
        match expr {
            Expr::Var(_) | Expr::Const(_) => {}
            Expr::Slice(s) => {
                self.expr(&s.expr);
                for e in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(e);
                }
            }
            Expr::UnaryOp(u) => self.expr(&u.expr),
            Expr::BinOp(b) => {
                self.expr(&b.left);
                self.expr(&b.right);
            }
            Expr::Compare(c) => {
                self.expr(&c.expr);
                for op in &c.ops {
                    self.expr(&op.expr);
                }
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr);
                self.expr(&i.true_expr);
                if let Some(e) = &i.false_expr {
                    self.expr(e);
                }
            }
            Expr::Filter(f) => {
                if let Some(e) = &f.expr {
                    if matches!(f.name, "default" | "d") {
                        self.guard(e);
                    }
                    self.expr(e);
                }
                self.args(&f.args);
            }
            Expr::Test(t) => {
                if matches!(t.name, "defined" | "undefined") {
                    self.guard(&t.expr);
                }
                self.expr(&t.expr);
                self.args(&t.args);
            }
            Expr::GetAttr(g) => self.expr(&g.expr),
            Expr::GetItem(g) => {
                self.expr(&g.expr);
                self.expr(&g.subscript_expr);
            }
            Expr::Call(c) => {
                self.expr(&c.expr);
                self.args(&c.args);
            }
            Expr::List(l) => l.items.iter().for_each(|e| self.expr(e)),
            Expr::Tuple(t) => t.items.iter().for_each(|e| self.expr(e)),
            Expr::Map(m) => {
                for (k, v) in m.keys.iter().zip(&m.values) {
                    self.expr(k);
                    self.expr(v);
                }
            }
        }
    }

    /// Makes an attribute chain a guard tests safe to look up with a parent
    /// missing: `a.b.c` becomes `__rr_unwrap(__rr_chain(a).b.c)`.
    fn guard(&mut self, expr: &Expr<'_>) {
        let mut root = expr;
        loop {
            match root {
                Expr::GetAttr(g) => root = &g.expr,
                Expr::GetItem(g) => root = &g.expr,
                _ => break,
            }
        }
        if std::ptr::eq(root, expr) {
            return;
        }
        let (Some((start, end)), Some((root_start, root_end))) =
            (extent(expr, self.src), extent(root, self.src))
        else {
            self.failed = true;
            return;
        };
        for (open_at, close_at, func) in [
            (start, end, GUARD_UNWRAP),
            (root_start, root_end, GUARD_CHAIN),
        ] {
            let seq = self.seq;
            self.seq += 1;
            self.edits.push(Edit {
                at: open_at,
                close: false,
                seq,
                text: format!("{func}("),
            });
            self.edits.push(Edit {
                at: close_at,
                close: true,
                seq,
                text: ")".to_owned(),
            });
        }
    }

    /// Wraps `expr` in `func(expr, "what")`.
    fn wrap(&mut self, expr: &Expr<'_>, func: &str, what: &str) {
        let Some((start, end)) = extent(expr, self.src) else {
            self.failed = true;
            return;
        };
        let seq = self.seq;
        self.seq += 1;
        self.edits.push(Edit {
            at: start,
            close: false,
            seq,
            text: format!("{func}("),
        });
        self.edits.push(Edit {
            at: end,
            close: true,
            seq,
            text: format!(", \"{what}\")"),
        });
    }
}

/// What a value-building expression is, for messages (text safe inside a
/// string literal: names are identifiers), or `None`.
fn builds(expr: &Expr<'_>) -> Option<String> {
    let what = match expr {
        Expr::List(_) => "a list".to_owned(),
        Expr::Tuple(_) => "a tuple".to_owned(),
        Expr::Map(_) => "a mapping".to_owned(),
        Expr::BinOp(b) => match b.op {
            ast::BinOpKind::Add => "`+`".to_owned(),
            ast::BinOpKind::Mul => "`*`".to_owned(),
            ast::BinOpKind::Concat => "`~`".to_owned(),
            _ => return None,
        },
        Expr::Filter(f) if f.expr.is_some() => format!("filter `{}`", identifier(f.name)),
        Expr::Call(c) => match &c.expr {
            Expr::Var(v) => format!("`{}()`", identifier(v.id)),
            Expr::GetAttr(g) => format!("`.{}()`", identifier(g.name)),
            _ => "a call".to_owned(),
        },
        _ => return None,
    };
    // Literals of constants are bounded by the source; but `[1] * 100000000`
    // is folded into a constant too (a lazy one), so operators are checked.
    if matches!(expr, Expr::List(_) | Expr::Tuple(_) | Expr::Map(_)) && expr.as_const().is_some() {
        return None;
    }
    Some(what)
}

/// `name` if it is a plain identifier (it always is), else `?`.
fn identifier(name: &str) -> &str {
    if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        name
    } else {
        "?"
    }
}

/// The byte range of an expression's text, parentheses around it included when
/// they group part of it. minijinja's spans are exact at the end, but some start
/// at the operator (`|f`, `.name(...)`), so the start is that of the leftmost
/// operand.
fn extent(expr: &Expr<'_>, src: &str) -> Option<(usize, usize)> {
    let mut start = leftmost(expr) as usize;
    let mut end = rightmost(expr) as usize;
    // Unbalanced brackets inside: a group whose opening is before `start` (as in
    // `(a ~ b)|f`, where the filter's operand starts after the parenthesis), or
    // whose closing is after `end`.
    let (mut unclosed, mut unopened) = balance(src.get(start..end)?)?;
    let bytes = src.as_bytes();
    while unopened > 0 {
        while start > 0 && bytes[start - 1].is_ascii_whitespace() {
            start -= 1;
        }
        if start == 0 || bytes[start - 1] != b'(' {
            return None;
        }
        start -= 1;
        unopened -= 1;
    }
    while unclosed > 0 {
        while end < bytes.len() && bytes[end].is_ascii_whitespace() {
            end += 1;
        }
        if end >= bytes.len() || !matches!(bytes[end], b')' | b']' | b'}') {
            return None;
        }
        end += 1;
        unclosed -= 1;
    }
    Some((start, end))
}

/// Counts the brackets of `text` left open and those closed without opening,
/// outside string literals; `None` when a string is not closed.
fn balance(text: &str) -> Option<(usize, usize)> {
    let mut open = 0usize;
    let mut unopened = 0usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for b in text.bytes() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == q {
                quote = None;
            }
            continue;
        }
        match b {
            b'\'' | b'"' => quote = Some(b),
            b'(' | b'[' | b'{' => open += 1,
            b')' | b']' | b'}' => {
                if open > 0 {
                    open -= 1;
                } else {
                    unopened += 1;
                }
            }
            _ => {}
        }
    }
    if quote.is_some() {
        return None;
    }
    Some((open, unopened))
}

fn leftmost(expr: &Expr<'_>) -> u32 {
    match expr {
        Expr::BinOp(b) => leftmost(&b.left),
        Expr::Compare(c) => leftmost(&c.expr),
        Expr::IfExpr(i) => leftmost(&i.true_expr),
        Expr::Filter(f) => match &f.expr {
            Some(e) => leftmost(e),
            None => expr.span().start_offset,
        },
        Expr::Test(t) => leftmost(&t.expr),
        Expr::GetAttr(g) => leftmost(&g.expr),
        Expr::GetItem(g) => leftmost(&g.expr),
        Expr::Slice(s) => leftmost(&s.expr),
        Expr::Call(c) => leftmost(&c.expr),
        Expr::Var(_)
        | Expr::Const(_)
        | Expr::UnaryOp(_)
        | Expr::List(_)
        | Expr::Tuple(_)
        | Expr::Map(_) => expr.span().start_offset,
    }
}

fn rightmost(expr: &Expr<'_>) -> u32 {
    let own = expr.span().end_offset;
    let inner = match expr {
        Expr::BinOp(b) => rightmost(&b.right),
        Expr::IfExpr(i) => match &i.false_expr {
            Some(e) => rightmost(e),
            None => rightmost(&i.test_expr),
        },
        Expr::Compare(c) => c.ops.last().map_or(0, |op| rightmost(&op.expr)),
        Expr::UnaryOp(u) => rightmost(&u.expr),
        _ => 0,
    };
    own.max(inner)
}

// ---------------------------------------------------------------------------
// Structure, to check the instrumentation

fn shape_stmts(stmts: &[Stmt<'_>], out: &mut String) {
    for s in stmts {
        shape_stmt(s, out);
    }
}

fn shape_stmt(stmt: &Stmt<'_>, out: &mut String) {
    match stmt {
        Stmt::Template(t) => {
            out.push_str("T(");
            shape_stmts(&t.children, out);
        }
        Stmt::EmitExpr(e) => {
            out.push_str("E(");
            shape_expr(&e.expr, out);
        }
        Stmt::EmitRaw(r) => {
            out.push_str("R(");
            out.push_str(r.raw);
        }
        Stmt::ForLoop(f) => {
            out.push_str("F(");
            shape_expr(&f.target, out);
            shape_expr(&f.iter, out);
            if let Some(e) = &f.filter_expr {
                shape_expr(e, out);
            }
            out.push_str(if f.recursive { "rec" } else { "" });
            shape_stmts(&f.body, out);
            out.push('|');
            shape_stmts(&f.else_body, out);
        }
        Stmt::IfCond(c) => {
            out.push_str("I(");
            shape_expr(&c.expr, out);
            shape_stmts(&c.true_body, out);
            out.push('|');
            shape_stmts(&c.false_body, out);
        }
        Stmt::WithBlock(w) => {
            out.push_str("W(");
            for (t, v) in &w.assignments {
                shape_expr(t, out);
                shape_expr(v, out);
            }
            shape_stmts(&w.body, out);
        }
        Stmt::Set(s) => {
            out.push_str("S(");
            shape_expr(&s.target, out);
            shape_expr(&s.expr, out);
        }
        Stmt::SetBlock(s) => {
            out.push_str("SB(");
            shape_expr(&s.target, out);
            if let Some(f) = &s.filter {
                shape_expr(f, out);
            }
            shape_stmts(&s.body, out);
        }
        Stmt::AutoEscape(a) => {
            out.push_str("AE(");
            shape_expr(&a.enabled, out);
            shape_stmts(&a.body, out);
        }
        Stmt::FilterBlock(f) => {
            out.push_str("FB(");
            shape_expr(&f.filter, out);
            shape_stmts(&f.body, out);
        }
        Stmt::Macro(m) => {
            out.push_str("M(");
            out.push_str(m.name);
            m.args.iter().for_each(|e| shape_expr(e, out));
            m.defaults.iter().for_each(|e| shape_expr(e, out));
            shape_stmts(&m.body, out);
        }
        Stmt::CallBlock(c) => {
            out.push_str("CB(");
            shape_expr(&c.call.expr, out);
            shape_args(&c.call.args, out);
            c.macro_decl.args.iter().for_each(|e| shape_expr(e, out));
            c.macro_decl
                .defaults
                .iter()
                .for_each(|e| shape_expr(e, out));
            shape_stmts(&c.macro_decl.body, out);
        }
        Stmt::Do(d) => {
            out.push_str("D(");
            shape_expr(&d.call.expr, out);
            shape_args(&d.call.args, out);
        }
    }
    out.push(')');
}

fn shape_args(args: &[CallArg<'_>], out: &mut String) {
    for a in args {
        match a {
            CallArg::Pos(e) => shape_expr(e, out),
            CallArg::Kwarg(name, e) => {
                out.push_str(name);
                out.push('=');
                shape_expr(e, out);
            }
            CallArg::PosSplat(e) => {
                out.push('*');
                shape_expr(e, out);
            }
            CallArg::KwargSplat(e) => {
                out.push_str("**");
                shape_expr(e, out);
            }
        }
    }
}

/// The expression a check wraps, if `expr` is a check.
fn unwrap_check<'a, 'e>(expr: &'e Expr<'a>) -> Option<&'e Expr<'a>> {
    let Expr::Call(c) = expr else { return None };
    let Expr::Var(v) = &c.expr else { return None };
    if ![CHECK, CHECK_ASSIGN, GUARD_CHAIN, GUARD_UNWRAP].contains(&v.id) {
        return None;
    }
    match c.args.first() {
        Some(CallArg::Pos(inner)) => Some(inner),
        _ => None,
    }
}

fn shape_expr(expr: &Expr<'_>, out: &mut String) {
    if let Some(inner) = unwrap_check(expr) {
        return shape_expr(inner, out);
    }
    match expr {
        Expr::Var(v) => {
            out.push_str("v:");
            out.push_str(v.id);
        }
        Expr::Const(c) => {
            out.push_str("c:");
            out.push_str(&format!("{:?}", c.value));
        }
        Expr::Slice(s) => {
            out.push_str("sl(");
            shape_expr(&s.expr, out);
            for e in [&s.start, &s.stop, &s.step] {
                out.push(';');
                if let Some(e) = e {
                    shape_expr(e, out);
                }
            }
        }
        Expr::UnaryOp(u) => {
            out.push_str(match u.op {
                ast::UnaryOpKind::Not => "not(",
                ast::UnaryOpKind::Neg => "neg(",
            });
            shape_expr(&u.expr, out);
        }
        Expr::BinOp(b) => {
            out.push_str(&format!("b{}(", b.op as u8));
            shape_expr(&b.left, out);
            out.push(',');
            shape_expr(&b.right, out);
        }
        Expr::Compare(c) => {
            out.push_str("cmp(");
            shape_expr(&c.expr, out);
            for op in &c.ops {
                out.push_str(&format!(",{}:", op.op as u8));
                shape_expr(&op.expr, out);
            }
        }
        Expr::IfExpr(i) => {
            out.push_str("if(");
            shape_expr(&i.test_expr, out);
            out.push(',');
            shape_expr(&i.true_expr, out);
            if let Some(e) = &i.false_expr {
                out.push(',');
                shape_expr(e, out);
            }
        }
        Expr::Filter(f) => {
            out.push_str("f:");
            out.push_str(f.name);
            out.push('(');
            if let Some(e) = &f.expr {
                shape_expr(e, out);
            }
            out.push(';');
            shape_args(&f.args, out);
        }
        Expr::Test(t) => {
            out.push_str("t:");
            out.push_str(t.name);
            out.push('(');
            shape_expr(&t.expr, out);
            out.push(';');
            shape_args(&t.args, out);
        }
        Expr::GetAttr(g) => {
            out.push_str("ga:");
            out.push_str(g.name);
            out.push('(');
            shape_expr(&g.expr, out);
        }
        Expr::GetItem(g) => {
            out.push_str("gi(");
            shape_expr(&g.expr, out);
            out.push(',');
            shape_expr(&g.subscript_expr, out);
        }
        Expr::Call(c) => {
            out.push_str("call(");
            shape_expr(&c.expr, out);
            out.push(';');
            shape_args(&c.args, out);
        }
        Expr::List(l) => {
            out.push_str("list(");
            l.items.iter().for_each(|e| {
                shape_expr(e, out);
                out.push(',');
            });
        }
        Expr::Tuple(t) => {
            out.push_str("tuple(");
            t.items.iter().for_each(|e| {
                shape_expr(e, out);
                out.push(',');
            });
        }
        Expr::Map(m) => {
            out.push_str("map(");
            for (k, v) in m.keys.iter().zip(&m.values) {
                shape_expr(k, out);
                out.push(':');
                shape_expr(v, out);
                out.push(',');
            }
        }
    }
    out.push(')');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::template::{Mode, TemplateError, Templates, to_value};

    fn render(source: &str) -> Result<String, TemplateError> {
        let mut t = Templates::new();
        let id = t.compile(source, Mode::Plain, &["x".to_string()])?;
        t.render(id, &to_value(serde_json::json!({"x": ["a", "b"]})))
    }

    fn refused(source: &str, needle: &str) {
        let err = render(source).unwrap_err().to_string();
        assert!(err.contains(needle), "{source}: {err}");
        assert!(err.starts_with("template failed: "), "{err}");
    }

    const TOO_LARGE: &str = "exceeds the 1048576-byte value limit";

    #[test]
    fn values_that_double_are_refused_when_built() {
        // A list doubled in a namespace, by `+` and by nesting; a string by `~`
        // and by a captured block; by a recursive macro: 2^40 items unless
        // stopped.
        for (source, what) in [
            (
                "{% set ns = namespace(x=[1]) %}{% for i in range(40) %}{% set ns.x = ns.x + ns.x %}{% endfor %}{{ ns.x|tojson|length }}",
                "the value assigned to `x`",
            ),
            (
                "{% set ns = namespace(x=[1]) %}{% for i in range(40) %}{% set ns.x = [ns.x, ns.x] %}{% endfor %}{{ ns.x ~ '' }}",
                "the value assigned to `x`",
            ),
            (
                "{% set ns = namespace(x='ab') %}{% for i in range(40) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x|length }}",
                "the value assigned to `x`",
            ),
            (
                "{% set ns = namespace(x='ab') %}{% for i in range(40) %}{% set y %}{{ ns.x }}{{ ns.x }}{% endset %}{% set ns.x = y %}{% endfor %}{{ ns.x|length }}",
                "the value assigned to `x`",
            ),
            (
                "{% macro d(v, n) %}{% if n > 0 %}{{ d([v, v, v, v], n - 1) }}{% else %}{{ v|tojson|length }}{% endif %}{% endmacro %}{{ d([1], 12) }}",
                "the value of a list",
            ),
            (
                "{{ ([[[1] * 1000] * 1000] * 1000)|tojson|length }}",
                "the value of `*`",
            ),
            ("{{ (([1] * 100000000) ~ '')|length }}", "the value of `*`"),
            (
                "{% set a = [x, x, x, x] %}{% set b = [a, a, a, a] %}{% set c = [b, b, b, b] %}{% set d = [c, c, c, c] %}{% set e = [d, d, d, d] %}{% set f = [e, e, e, e] %}{% set g = [f, f, f, f] %}{% set h = [g, g, g, g] %}{% set i = [h, h, h, h] %}{% set j = [i, i, i, i] %}{{ j|length }}",
                "the value of a list",
            ),
            (
                "{{ image_ref([[[[x] * 100] * 100] * 100]) }}",
                "the value of `*`",
            ),
        ] {
            refused(source, &format!("{what} {TOO_LARGE}"));
        }
    }

    #[test]
    fn serializing_counts_its_indentation() {
        // 3 items, but 10^8 spaces of indentation each.
        refused(
            "{{ [[1], [2], [3]]|tojson(indent=100000000)|length }}",
            &format!("the output of filter `tojson` {TOO_LARGE}"),
        );
        refused(
            "{% set ns = namespace(x=[1] * 2000) %}{% for i in range(150) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x|pprint|length }}",
            &format!("the output of filter `pprint` {TOO_LARGE}"),
        );
        // The filters still print what minijinja's print.
        assert_eq!(
            render(
                "{{ x|tojson }} {{ x|tojson(indent=2) }} {{ {'a': 1}|tojson(true) }} {{ x|pprint }}"
            )
            .unwrap(),
            "[\"a\", \"b\"] [\n  \"a\",\n  \"b\"\n] {\n  \"a\": 1\n} [\n    'a',\n    'b',\n]"
        );
    }

    #[test]
    fn namespaces_cannot_contain_themselves() {
        // Each of these made a namespace reachable from itself, and printing it
        // overflowed the stack (an abort, not an error).
        for source in [
            "{% set ns = namespace() %}{% set ns.a = ns %}{{ ns }}",
            "{% set ns = namespace() %}{% set ns.a = [ns] %}{{ ns|tojson }}",
            "{% set ns = namespace() %}{% set ns.a = {'k': [1, ns]} %}{{ ns == ns }}",
            "{% set ns = namespace() %}{% set ns.a = [ns] + [] %}{{ ns }}",
            "{% set a = namespace() %}{% set b = namespace(x=a) %}{% set a.y = b %}{{ a }}",
            "{% set a = namespace() %}{% set b = namespace(x=[a]) %}{{ a }}",
            "{% set a = namespace() %}{% set b = namespace({'x': a}) %}{{ a }}",
        ] {
            refused(source, "cannot come to contain itself");
        }
        // A lazy view of a namespace is stored as a snapshot.
        assert_eq!(
            render("{% set ns = namespace() %}{% set ns.a = ns|items %}{{ ns.a|length }}").unwrap(),
            "0"
        );
    }

    #[test]
    fn nesting_is_bounded() {
        refused(
            "{% set ns = namespace(x=[]) %}{% for i in range(500) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}",
            "the value assigned to `x` nests deeper than 192 levels",
        );
    }

    #[test]
    fn measuring_is_bounded_in_all() {
        // Each list is small enough, but measuring them all is not.
        refused(
            "{% set big = range(50000)|list %}{% for i in range(100) %}{% set y = [big] %}{% endfor %}",
            &format!("measured more than {MAX_CHECK_WORK} items"),
        );
    }

    #[test]
    fn ordinary_templates_work_as_before() {
        for (source, want) in [
            (
                "{% set ns = namespace(l=[], found=false) %}{% for i in x %}{% set ns.l = ns.l + [i|upper] %}{% if i == 'b' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.l|join(',') }} {{ ns.found }}",
                "A,B True",
            ),
            (
                "{% set ns = namespace(l=x + ['c'], n=none) %}{{ ns.l|join }}{{ ns.n }}",
                "abcNone",
            ),
            (
                "{% set ns = namespace(d={}) %}{% for i in x %}{% set ns.d = dict(ns.d, **{i: loop.index}) %}{% endfor %}{{ ns.d|tojson }}",
                "{\"a\": 1, \"b\": 2}",
            ),
            (
                "{{ (x|first) if x else 'none' }} {{ x[1:]|list }} {{ [x, x]|length }} {{ (x + ['c'])|join }} {{ '%s-%s'|format(*x) }}",
                "a ['b'] 2 abc a-b",
            ),
            (
                "{% for i in x %}{{ loop.cycle('<', '>') }}{% endfor %}{% filter upper|replace('A', x|join) %}a{% endfilter %}",
                "<>ab",
            ),
            (
                "{% macro m(v=[1, 2]) %}{{ v|sum }}{% endmacro %}{{ m() }} {{ m([x|length] * 3) }}",
                "3 6",
            ),
            (
                "{% if (x|select('eq', 'z')|first) is undefined %}none{% endif %} {{ ((x ~ 'q'))|length }}",
                "none 11",
            ),
        ] {
            assert_eq!(render(source).unwrap(), want, "{source}");
        }
    }

    #[test]
    fn instrumentation_wraps_what_builds_values_and_keeps_the_structure() {
        let out = instrument("{{ (a ~ b)|upper }} {% set ns.x = ns.x + [1] %}{{ [1, 2] }}")
            .unwrap()
            .unwrap();
        assert_eq!(
            out,
            "{{ __rr_value((__rr_value(a ~ b, \"`~`\"))|upper, \"filter `upper`\") }} {% set ns.x = __rr_assign(ns.x + [1], \"x\") %}{{ [1, 2] }}"
        );
        // A source that does not parse is left to the environment's error.
        assert_eq!(instrument("{{ x").unwrap(), None);
        let err = instrument("{{ __rr_value }}").unwrap_err();
        assert!(err.contains("`__rr_` are reserved"), "{err}");
    }
}
