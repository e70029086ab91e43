//! Evaluation: the simple walk, the node budget, general plans and compiled filters.

use super::*;

/// Resolves an RFC 9535 index (negative counts from the end) in an array.
pub(crate) fn index(array: &[Value], i: i64) -> Option<&Value> {
    let i = if i < 0 {
        i64::try_from(array.len()).ok()?.checked_add(i)?
    } else {
        i
    };
    array.get(usize::try_from(i).ok()?)
}

/// Fast path for simple singular queries: a loop, no allocation.
pub(crate) fn simple_singular<'a>(steps: &[Step], doc: &'a Value) -> Option<&'a Value> {
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
pub(crate) fn simple_walk<'a>(
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
pub(crate) struct Budget<'d> {
    pub(crate) left: Cell<u64>,
    pub(crate) limit: Cell<u64>,
    /// The document, counted once if [`JsonPath::MAX_NODES`] runs out.
    pub(crate) doc: &'d Value,
    pub(crate) grown: Cell<bool>,
    pub(crate) exceeded: Cell<bool>,
}

impl<'d> Budget<'d> {
    pub(crate) fn new(doc: &'d Value) -> Self {
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
    pub(crate) fn spend(&self, n: u64) -> bool {
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
    pub(crate) fn exceeded(&self) -> Option<u64> {
        self.exceeded.get().then(|| self.limit.get())
    }
}

/// The number of nodes of `doc` (itself and every value below it).
pub(crate) fn count_nodes(doc: &Value) -> u64 {
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
pub(crate) fn copy_within(node: &Value, budget: &Budget<'_>) -> Option<Value> {
    budget.spend(count_nodes(node)).then(|| node.clone())
}

// ---------------------------------------------------------------------------
// General evaluation

/// Applies `segments` to `node`, calling `out` on every resulting node in
/// RFC 9535 order; stops early when `out` breaks or the budget runs out.
pub(crate) fn walk<'a>(
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
pub(crate) fn apply_segment<'a>(
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

pub(crate) fn apply_selector<'a>(
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
    pub(crate) fn test(
        &self,
        item: &Value,
        root: &Value,
        eval: Eval,
        budget: &Budget<'_>,
        binds: &dyn Bindings,
    ) -> bool {
        match eval {
            Eval::Fast => self.fast.test(item, root, budget, binds),
            #[cfg(any(test, feature = "testing"))]
            Eval::Fallback => test_filter(&self.ast, item, root),
        }
    }
}

impl Fast {
    /// Whether `item` passes, with `$` bound to `root`.
    pub(crate) fn test(
        &self,
        item: &Value,
        root: &Value,
        budget: &Budget<'_>,
        binds: &dyn Bindings,
    ) -> bool {
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
    pub(crate) fn resolve<'a>(
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
    pub(crate) fn walk<'a>(
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
    pub(crate) fn resolve<'a>(
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
    pub(crate) fn apply<'a>(
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
    pub(crate) fn test(
        &self,
        item: &Value,
        root: &Value,
        budget: &Budget<'_>,
        binds: &dyn Bindings,
    ) -> bool {
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
    pub(crate) fn value(&self) -> Option<&Value> {
        match self {
            Resolved::Node(v) => Some(v),
            Resolved::Owned(v) => Some(v),
            Resolved::Nothing | Resolved::Infinite { .. } => None,
        }
    }
}

/// `==` between two comparables: Nothing equals only Nothing; an infinite
/// literal only the same infinity.
pub(crate) fn resolved_equal(a: &Resolved<'_>, b: &Resolved<'_>) -> bool {
    match (a, b) {
        (Resolved::Infinite { negative: x }, Resolved::Infinite { negative: y }) => x == y,
        (Resolved::Infinite { .. }, _) | (_, Resolved::Infinite { .. }) => false,
        _ => nodes_equal(a.value(), b.value()),
    }
}

/// `<` between two comparables; an infinite literal is beyond every number.
pub(crate) fn resolved_less(a: &Resolved<'_>, b: &Resolved<'_>) -> bool {
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
pub(crate) fn nodes_equal(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => values_equal(a, b),
        _ => false,
    }
}

/// `<` between two comparables: only numbers (by value) and strings (by
/// Unicode scalar values, which is UTF-8 byte order) are ordered; anything
/// else, Nothing included, is not less.
pub(crate) fn nodes_less(a: Option<&Value>, b: Option<&Value>) -> bool {
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
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
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
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

pub(crate) fn num(n: &serde_json::Number) -> Option<Num> {
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
pub(crate) fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    match (num(a)?, num(b)?) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
        (Num::Int(x), Num::Float(y)) => int_vs_float(x, y),
        (Num::Float(x), Num::Int(y)) => int_vs_float(y, x).map(Ordering::reverse),
    }
}

/// How the integer `i` (within the `i64`/`u64` range) compares with `f`.
pub(crate) fn int_vs_float(i: i128, f: f64) -> Option<Ordering> {
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
#[cfg(any(test, feature = "testing"))]
pub(crate) fn test_filter(filter: &Filter, item: &Value, root: &Value) -> bool {
    match filter {
        Filter::Or(filters) => filters.iter().any(|f| test_filter(f, item, root)),
        Filter::And(filters) => filters.iter().all(|f| test_filter(f, item, root)),
        Filter::Atom(FilterAtom::Filter { expr, not }) => test_filter(expr, item, root) != *not,
        Filter::Atom(atom) => test_atom(atom, item, root),
    }
}

/// One comparison or test expression, evaluated by `jsonpath-rust` with `@`
/// bound to `item` and `$` to `root`.
#[cfg(any(test, feature = "testing"))]
pub(crate) fn test_atom(atom: &FilterAtom, item: &Value, root: &Value) -> bool {
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
pub(crate) fn slice<'a>(
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
