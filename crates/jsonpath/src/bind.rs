//! Binding references (`$name` inside filters), rewritten into marked root queries
//! the parser accepts.

use super::*;

/// A query whose binding references (`$name` inside filters) were rewritten
/// as root queries of a marked member name, `$['<marker>name']`, which the
/// parser accepts and [`Cx`] recognises. The marker is a noncharacter
/// (U+FDD0 to U+FDEF) that the query does not contain, written or escaped, so
/// no member name of the query can be taken for a binding.
pub(crate) struct Rewrite {
    pub(crate) text: String,
    pub(crate) marker: char,
    pub(crate) refs: Vec<BindingRef>,
    /// For each reference: its byte range in `text` and in the query.
    pub(crate) spans: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

impl Rewrite {
    /// A byte offset of `text` as an offset of the query as written.
    pub(crate) fn original_offset(&self, at: usize) -> usize {
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
pub(crate) fn bind_references(
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
pub(crate) fn column(src: &str, at: usize) -> usize {
    src.get(..at).map_or(at, |s| s.chars().count()) + 1
}
