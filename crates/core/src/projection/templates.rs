//! Analysis of templates: which members of the scope a minijinja template reads,
//! followed through attributes, filters, tests, `if`, loops and `set`.

use super::*;

/// A read of a scope name in a template: attributes and elements, then a use.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TRead {
    pub(crate) name: String,
    pub(crate) path: Vec<Access>,
    pub(crate) usage: Use,
}

/// An abstract template value: the scope locations it may be (part of).
pub(crate) type Av = Vec<(String, Vec<Access>)>;

pub(crate) struct Walker<'s> {
    pub(crate) names: &'s [String],
    pub(crate) frames: Vec<HashMap<&'s str, Av>>,
    pub(crate) sets: HashMap<&'s str, Av>,
    pub(crate) loops: Vec<Av>,
    pub(crate) reads: Vec<TRead>,
}

/// Tests that depend only on a value's presence, type or scalar value, all of
/// which projection keeps.
pub(crate) const PRESENCE_TESTS: &[&str] = &[
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
pub(crate) fn template_reads(source: &str, names: &[String]) -> Option<Vec<TRead>> {
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

pub(crate) fn extend(av: &Av, step: Access) -> Av {
    av.iter()
        .map(|(n, p)| {
            let mut p = p.clone();
            p.push(step.clone());
            (n.clone(), p)
        })
        .collect()
}

impl<'s> Walker<'s> {
    pub(crate) fn used(&mut self, av: &Av, usage: Use) {
        for (n, p) in av {
            self.reads.push(TRead {
                name: n.clone(),
                path: p.clone(),
                usage,
            });
        }
    }

    pub(crate) fn var(&mut self, id: &'s str) -> Option<Av> {
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

    pub(crate) fn whole(&mut self, e: &minijinja::machinery::ast::Expr<'s>) -> Option<()> {
        let av = self.expr(e)?;
        self.used(&av, Use::Whole);
        Some(())
    }

    pub(crate) fn args(&mut self, args: &[minijinja::machinery::ast::CallArg<'s>]) -> Option<()> {
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

    pub(crate) fn expr(&mut self, e: &minijinja::machinery::ast::Expr<'s>) -> Option<Av> {
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

    pub(crate) fn bind(&mut self, target: &minijinja::machinery::ast::Expr<'s>, av: Av) {
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

    pub(crate) fn body(&mut self, stmts: &[minijinja::machinery::ast::Stmt<'s>]) -> Option<()> {
        for s in stmts {
            self.stmt(s)?;
        }
        Some(())
    }

    pub(crate) fn stmt(&mut self, s: &minijinja::machinery::ast::Stmt<'s>) -> Option<()> {
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
