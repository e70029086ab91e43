//! Compiling a parsed query into a plan, and type-checking it (RFC 9535 section 2.4.3).

use super::*;

pub(crate) fn compile(cx: &Cx<'_>, ast: JpQuery) -> Result<JsonPath, PathError> {
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
pub(crate) struct Cx<'s> {
    pub(crate) src: &'s str,
    /// The character that starts the name of a binding reference rewritten
    /// as `$['<marker>name']`, with the ids of the names.
    pub(crate) marker: Option<char>,
    pub(crate) refs: Vec<BindingRef>,
    /// Whether a filter reads `$`.
    pub(crate) reads_root: Cell<bool>,
    /// The bindings filters read, and the steps read below each.
    pub(crate) reads: RefCell<Vec<(usize, Vec<Access>)>>,
}

impl Cx<'_> {
    /// The binding a root query's first segment names, if it is a rewritten
    /// binding reference: its id and byte offset in the query as written.
    pub(crate) fn binding(&self, first: Option<&str>) -> Option<&BindingRef> {
        let marker = self.marker?;
        let name = first?.strip_prefix(marker)?;
        self.refs.iter().find(|r| r.name == name)
    }

    /// The start of a singular query from the root, with the steps after it:
    /// a binding when the first step names one.
    pub(crate) fn start(&self, root: bool, steps: Box<[Step]>) -> (Start, Box<[Step]>) {
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
    pub(crate) fn not_singular(&self, segments: &[Segment]) -> Result<(), PathError> {
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
pub(crate) struct BindingRef {
    pub(crate) name: String,
    pub(crate) id: usize,
    pub(crate) offset: usize,
}

pub(crate) fn compile_segment(cx: &Cx<'_>, segment: Segment) -> Result<Seg, PathError> {
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

pub(crate) fn compile_segments(cx: &Cx<'_>, segments: &[Segment]) -> Result<Arc<[Seg]>, PathError> {
    segments
        .iter()
        .map(|s| compile_segment(cx, s.clone()))
        .collect()
}

pub(crate) fn compile_selector(cx: &Cx<'_>, selector: Selector) -> Result<Sel, PathError> {
    Ok(match selector {
        Selector::Name(n) => Sel::Name(n.into()),
        Selector::Index(i) => Sel::Index(i),
        Selector::Wildcard => Sel::Wildcard,
        Selector::Slice(start, end, step) => Sel::Slice(start, end, step),
        Selector::Filter(ast) => Sel::Filter(Box::new(FilterPlan {
            fast: compile_filter(cx, &ast)?,
            #[cfg(any(test, feature = "testing"))]
            ast,
        })),
    })
}

pub(crate) fn compile_filter(cx: &Cx<'_>, filter: &Filter) -> Result<Fast, PathError> {
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

pub(crate) fn negate(f: Fast, not: bool) -> Fast {
    if not { Fast::Not(Box::new(f)) } else { f }
}

/// A test expression: an existence test, or a function returning a logical
/// value.
pub(crate) fn compile_test(cx: &Cx<'_>, test: &Test) -> Result<Fast, PathError> {
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

pub(crate) fn sub_query(
    cx: &Cx<'_>,
    root: bool,
    segments: &[Segment],
) -> Result<SubQuery, PathError> {
    if root {
        cx.not_singular(segments)?;
    }
    Ok(SubQuery {
        root,
        segments: compile_segments(cx, segments)?,
    })
}

pub(crate) fn regex_test(
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
pub(crate) fn singular_path(cx: &Cx<'_>, root: bool, segments: &[Segment]) -> Option<SingularPath> {
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

pub(crate) fn literal(lit: &Literal) -> Operand {
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

pub(crate) fn comparable(cx: &Cx<'_>, c: &Comparable) -> Result<Operand, PathError> {
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
pub(crate) fn value_function(cx: &Cx<'_>, f: &TestFunction) -> Result<Operand, PathError> {
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
pub(crate) fn value_arg_operand(cx: &Cx<'_>, arg: &FnArg) -> Result<Operand, PathError> {
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
