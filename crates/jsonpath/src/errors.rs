//! Parser errors as [`PathError`]s: where in the query, and what was expected there.

use super::*;

pub(crate) fn abbreviate(src: &str) -> String {
    match src.char_indices().nth(64) {
        Some((at, _)) => format!("{}…", &src[..at]),
        None => src.to_owned(),
    }
}

/// A parser error of `text` (the query, or its rewrite by
/// [`bind_references`], whose offsets `original` maps back) as an error of
/// the query `src`: where (column and byte offset) and what was expected there.
pub(crate) fn syntax_error(
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
pub(crate) fn pest_expected(rendered: &str, after_name: bool) -> Option<String> {
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
pub(crate) fn expected_word(rule: &str) -> &'static str {
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
pub(crate) fn pest_offset(src: &str, rendered: &str) -> Option<usize> {
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

pub(crate) fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
