//! Validation before and after parsing: the raw-string prescan and the RFC 9535
//! well-typedness checks.

use super::*;

/// Checks done on the raw string, before the parser sees it: the nesting cap,
/// and whitespace inside a member-name shorthand (`$.a b`), which the
/// `jsonpath-rust` grammar accepts as the name `a b`.
pub(crate) fn prescan(src: &str) -> Result<(), PathError> {
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
/// Whether `name` can be written in the member-name shorthand, `.name`, and
/// read back as itself: RFC 9535's `member-name-shorthand`, without the
/// Unicode whitespace (U+00A0, U+2028, ...) that `jsonpath-rust` trims from it.
pub(crate) fn is_shorthand(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_first)
        && chars.all(|c| is_name_first(c) || c.is_ascii_digit())
        && !name.chars().any(char::is_whitespace)
}

pub(crate) fn is_name_first(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c >= '\u{80}'
}

/// A validation failure: the reason, and a snippet of the query to locate it.
pub(crate) type Invalid = (String, Option<&'static str>);

/// The declared type of a function expression's result (RFC 9535 2.4.1).
#[derive(PartialEq)]
pub(crate) enum FnType {
    Value,
    Logical,
}

/// Type-checks filters in a list of segments. `relative` is set for the
/// segments of a relative query (`@…`) inside a filter; `depth` counts the
/// filters around the segments.
pub(crate) fn check_segments(
    segments: &[Segment],
    relative: bool,
    depth: usize,
) -> Result<(), Invalid> {
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

pub(crate) fn filters_current_node(segment: &Segment) -> bool {
    match segment {
        Segment::Selector(s) => matches!(s, Selector::Filter(_)),
        Segment::Selectors(ss) => ss.iter().any(|s| matches!(s, Selector::Filter(_))),
        Segment::Descendant(inner) => filters_current_node(inner),
    }
}

pub(crate) fn check_segment(segment: &Segment, depth: usize) -> Result<(), Invalid> {
    match segment {
        Segment::Selector(s) => check_selector(s, depth),
        Segment::Selectors(ss) => ss.iter().try_for_each(|s| check_selector(s, depth)),
        Segment::Descendant(inner) => check_segment(inner, depth),
    }
}

pub(crate) fn check_selector(selector: &Selector, depth: usize) -> Result<(), Invalid> {
    match selector {
        Selector::Filter(f) => check_filter(f, depth + 1),
        _ => Ok(()),
    }
}

pub(crate) fn check_filter(filter: &Filter, depth: usize) -> Result<(), Invalid> {
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

pub(crate) fn comparison_sides(c: &Comparison) -> (&Comparable, &Comparable) {
    c.vals()
}

pub(crate) fn check_comparable(c: &Comparable, depth: usize) -> Result<(), Invalid> {
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

pub(crate) fn function_name(f: &TestFunction) -> &'static str {
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
pub(crate) fn check_function(f: &TestFunction, depth: usize) -> Result<FnType, Invalid> {
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
pub(crate) fn value_arg(name: &'static str, arg: &FnArg, depth: usize) -> Result<(), Invalid> {
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
pub(crate) fn nodes_arg(name: &'static str, arg: &FnArg, depth: usize) -> Result<(), Invalid> {
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

pub(crate) fn is_singular_segments(segments: &[Segment]) -> bool {
    segments
        .iter()
        .all(|s| matches!(s, Segment::Selector(Selector::Name(_) | Selector::Index(_))))
}
