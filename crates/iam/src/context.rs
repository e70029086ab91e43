//! The request context: condition keys and their values (known, missing or
//! unknown), and `${...}` policy-variable substitution.

use std::collections::BTreeMap;

use crate::glob::Tok;

/// A context entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CtxEntry {
    /// Known values (a single-valued key has one).
    Values(Vec<String>),
    /// The key may or may not be present, and its value is not known.
    Unknown,
}

/// What a key lookup gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup<'a> {
    Missing,
    Unknown,
    Values(&'a [String]),
}

/// Request context with case-insensitive keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Context {
    map: BTreeMap<String, CtxEntry>,
}

impl Context {
    pub(crate) fn insert(&mut self, key: &str, entry: CtxEntry) {
        self.map.insert(key.to_lowercase(), entry);
    }

    /// Inserts only if the caller did not set the key.
    pub(crate) fn insert_default(&mut self, key: &str, values: Vec<String>) {
        self.map
            .entry(key.to_lowercase())
            .or_insert(CtxEntry::Values(values));
    }

    pub(crate) fn get(&self, key: &str) -> Lookup<'_> {
        match self.map.get(&key.to_lowercase()) {
            None => Lookup::Missing,
            Some(CtxEntry::Unknown) => Lookup::Unknown,
            Some(CtxEntry::Values(v)) => Lookup::Values(v),
        }
    }
}

/// Result of substituting policy variables into a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subst {
    /// The pattern, with substituted text as literals.
    Toks(Vec<Tok>),
    /// A variable has no value and no default: the pattern matches nothing.
    Missing(String),
    /// A variable's value is unknown.
    Unknown(String),
}

/// Compiles `pattern` for wildcard matching, substituting `${key}`,
/// `${key, 'default'}` and the escapes `${*}`, `${?}`, `${$}` when
/// `variables` is true. Substituted text never acts as a wildcard.
pub(crate) fn substitute(pattern: &str, ctx: &Context, variables: bool) -> Subst {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0usize;
    while let Some(&c) = chars.get(i) {
        if variables && c == '$' && chars.get(i + 1) == Some(&'{') {
            let close = chars
                .get(i + 2..)
                .and_then(|rest| rest.iter().position(|&ch| ch == '}'));
            if let Some(off) = close {
                let inner: String = chars
                    .get(i + 2..i + 2 + off)
                    .unwrap_or(&[])
                    .iter()
                    .collect();
                i += 3 + off;
                match inner.trim() {
                    "*" => out.push(Tok::Lit('*')),
                    "?" => out.push(Tok::Lit('?')),
                    "$" => out.push(Tok::Lit('$')),
                    _ => {
                        let (key, default) = split_default(&inner);
                        match ctx.get(&key) {
                            Lookup::Unknown => return Subst::Unknown(key.to_lowercase()),
                            Lookup::Values([single]) => {
                                out.extend(single.chars().map(Tok::Lit));
                            }
                            // missing, or multi-valued (not usable as a variable)
                            Lookup::Values(_) | Lookup::Missing => match default {
                                Some(d) => out.extend(d.chars().map(Tok::Lit)),
                                None => return Subst::Missing(key),
                            },
                        }
                    }
                }
                continue;
            }
        }
        out.push(match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        });
        i += 1;
    }
    Subst::Toks(out)
}

/// Splits `key, 'default'` into the key and the default value.
fn split_default(inner: &str) -> (String, Option<String>) {
    match inner.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            let d = d
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .unwrap_or(d);
            (k.trim().to_string(), Some(d.to_string()))
        }
        None => (inner.trim().to_string(), None),
    }
}

/// Renders tokens back to text (`*`/`?` wildcards as themselves).
pub(crate) fn toks_to_string(toks: &[Tok]) -> String {
    toks.iter()
        .map(|t| match t {
            Tok::Lit(c) => *c,
            Tok::Star => '*',
            Tok::One => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables() {
        let mut ctx = Context::default();
        ctx.insert("aws:username", CtxEntry::Values(vec!["bob".into()]));
        ctx.insert("aws:SourceVpce", CtxEntry::Unknown);
        assert_eq!(
            substitute("home/${aws:UserName}/*", &ctx, true),
            Subst::Toks(
                "home/bob/"
                    .chars()
                    .map(Tok::Lit)
                    .chain([Tok::Star])
                    .collect()
            )
        );
        assert_eq!(
            substitute("${aws:SourceVpce}", &ctx, true),
            Subst::Unknown("aws:sourcevpce".into())
        );
        assert_eq!(
            substitute("${aws:nope}", &ctx, true),
            Subst::Missing("aws:nope".into())
        );
        assert_eq!(
            substitute("${aws:nope, 'x'}${*}", &ctx, true),
            Subst::Toks(vec![Tok::Lit('x'), Tok::Lit('*')])
        );
        // without variables (2008-10-17) the text is literal
        assert_eq!(
            toks_to_string(match &substitute("${aws:username}", &ctx, false) {
                Subst::Toks(t) => t,
                _ => &[],
            }),
            "${aws:username}"
        );
    }
}
