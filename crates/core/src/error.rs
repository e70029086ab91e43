//! Errors of loading rules, rule tests and facts.
//!
//! Loading never stops at the first problem: every error of a run is collected as a
//! [`LoadError`] naming its file, line and column, and the CLI prints them together.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::yaml::Pos;

/// One problem found while loading a rule file, a rule test file or a fact file.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    /// The file, as given by the user (or `<builtin>/...` for embedded rules).
    pub file: PathBuf,
    /// Where in the file; `0:0` when the problem concerns the whole file.
    pub pos: Pos,
    /// What is wrong.
    pub kind: Box<LoadErrorKind>,
}

impl LoadError {
    /// Creates an error at `pos` in `file`.
    pub fn new(file: &Path, pos: Pos, kind: LoadErrorKind) -> Self {
        LoadError {
            file: file.to_path_buf(),
            pos,
            kind: Box::new(kind),
        }
    }

    /// Advice on what to write instead, when there is any.
    pub fn help(&self) -> Option<String> {
        self.kind.help()
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pos.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.kind)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.pos, self.kind)
        }
    }
}

impl std::error::Error for LoadError {}

/// The kinds of load errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadErrorKind {
    /// The file could not be read.
    #[error("cannot read file: {0}")]
    Io(String),
    /// The YAML or JSON text does not parse.
    #[error("invalid {format}: {message}")]
    Syntax {
        /// `YAML` or `JSON`.
        format: &'static str,
        /// The parser's message.
        message: String,
    },
    /// A mapping key the format does not know.
    #[error("unknown key `{key}` in {context}")]
    UnknownKey {
        /// The key as written.
        key: String,
        /// Where it appeared, e.g. "a rule".
        context: String,
        /// The closest known key, if any is close.
        suggestion: Option<String>,
        /// All keys allowed there.
        expected: Vec<&'static str>,
    },
    /// A required key is missing.
    #[error("missing key `{key}` in {context}")]
    MissingKey {
        /// The key.
        key: &'static str,
        /// Where it is missing.
        context: String,
    },
    /// A value of the wrong type.
    #[error("`{what}` must be {expected}, found {found}")]
    WrongType {
        /// The key or element.
        what: String,
        /// What is expected, e.g. "a string".
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// A value outside its allowed set.
    #[error("invalid value `{value}` for `{what}`")]
    InvalidValue {
        /// The key.
        what: String,
        /// The value as written.
        value: String,
        /// Allowed values or advice.
        help: String,
    },
    /// A JSONPath that does not parse.
    #[error("{0}")]
    Path(#[from] rulerun_jsonpath::PathError),
    /// A path that names a binding the rule does not define (yet).
    #[error("`${name}` is not defined at this point of the rule")]
    UnknownBinding {
        /// The name after `$`.
        name: String,
        /// Names in scope.
        known: Vec<String>,
    },
    /// A regex that does not compile.
    #[error("invalid regex `{pattern}`: {message}")]
    Regex {
        /// The pattern.
        pattern: String,
        /// The regex crate's message.
        message: String,
    },
    /// A template that does not compile.
    #[error("invalid template: {message}")]
    Template {
        /// minijinja's message.
        message: String,
    },
    /// A template that uses a variable the rule does not define.
    #[error("template uses undefined variable `{name}`")]
    UndefinedVariable {
        /// The variable.
        name: String,
        /// Variables in scope.
        known: Vec<String>,
    },
    /// A function name not in the registry.
    #[error("unknown function `{name}`")]
    UnknownFunction {
        /// The name.
        name: String,
        /// The closest registered name.
        suggestion: Option<String>,
    },
    /// A function called with the wrong number of arguments.
    #[error("function `{name}` takes {expected} argument(s), got {got}")]
    Arity {
        /// The function.
        name: String,
        /// e.g. "1" or "1 to 2".
        expected: String,
        /// How many were given.
        got: usize,
    },
    /// The same rule id twice.
    #[error("duplicate rule id `{id}`, first defined at {first}")]
    DuplicateRuleId {
        /// The id.
        id: String,
        /// `file:line:column` of the first definition.
        first: String,
    },
    /// A fact document rulerun cannot place under a kind.
    #[error("unrecognised fact document: {0}")]
    Fact(String),
    /// Anything else, with its own advice.
    #[error("{message}")]
    Other {
        /// The message.
        message: String,
        /// Advice.
        help: Option<String>,
    },
}

impl LoadErrorKind {
    /// Advice on what to write instead.
    pub fn help(&self) -> Option<String> {
        match self {
            LoadErrorKind::UnknownKey {
                suggestion,
                expected,
                ..
            } => Some(match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("expected one of: {}", backticked(expected)),
            }),
            LoadErrorKind::MissingKey { key, .. } => Some(format!("add `{key}:`")),
            LoadErrorKind::InvalidValue { help, .. } => Some(help.clone()),
            LoadErrorKind::Path(e) => e.help().map(str::to_string),
            LoadErrorKind::UnknownBinding { name, known } => {
                let close = closest(name, known.iter().map(String::as_str))
                    .map(|c| format!("did you mean `${c}`? "))
                    .unwrap_or_default();
                Some(if known.is_empty() {
                    format!("{close}use `$.` for the subject; bindings are defined under `let:`")
                } else {
                    format!(
                        "{close}use `$.` for the subject or one of: {}",
                        known
                            .iter()
                            .map(|k| format!("`${k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            }
            LoadErrorKind::UndefinedVariable { name, known } => {
                let close = closest(name, known.iter().map(String::as_str));
                Some(match close {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => format!("variables here: {}", backticked(known)),
                })
            }
            LoadErrorKind::UnknownFunction {
                suggestion: Some(s),
                ..
            } => Some(format!(
                "did you mean `{s}`? `rulerun functions` lists them all"
            )),
            LoadErrorKind::UnknownFunction { .. } => {
                Some("`rulerun functions` lists the registered functions".into())
            }
            LoadErrorKind::Regex { .. } => Some(
                "the syntax is the Rust `regex` crate's (no look-around or backreferences)".into(),
            ),
            LoadErrorKind::Template { .. } => Some(
                "templates are minijinja (Jinja2) syntax: `{{ subject.metadata.name }}`".into(),
            ),
            LoadErrorKind::DuplicateRuleId { .. } => {
                Some("rule ids are unique across all loaded rules: rename one".into())
            }
            LoadErrorKind::Other { help, .. } => help.clone(),
            _ => None,
        }
    }
}

fn backticked<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Words longer than this (in characters) are never compared letter by letter:
/// the distance is quadratic in the lengths, and the words come from files and
/// facts, so a pair of megabyte strings would otherwise cost 10^12 steps.
pub const MAX_COMPARED_CHARS: usize = 256;

/// Levenshtein distance (by `strsim`), for "did you mean" suggestions. Past
/// [`MAX_COMPARED_CHARS`] it returns the longer length, the distance's upper
/// bound, so long words sort as far from everything.
pub fn edit_distance(a: &str, b: &str) -> usize {
    if a == b {
        return 0;
    }
    let (la, lb) = (a.chars().count(), b.chars().count());
    if la > MAX_COMPARED_CHARS || lb > MAX_COMPARED_CHARS {
        return la.max(lb);
    }
    strsim::levenshtein(a, b)
}

/// The candidate closest to `word`, if it is close enough to be a likely typo
/// (distance at most a third of the word's length, and at least 1 allowed).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lower = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_find_typos_only() {
        assert_eq!(
            closest("severty", ["severity", "title"]),
            Some("severity".into())
        );
        assert_eq!(closest("Where", ["where", "when"]), Some("where".into()));
        assert_eq!(closest("zzz", ["severity", "title"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        // Long words are not compared letter by letter (quadratic work).
        let long = "a".repeat(MAX_COMPARED_CHARS + 1);
        assert_eq!(edit_distance(&long, "a"), MAX_COMPARED_CHARS + 1);
        assert_eq!(edit_distance(&long, &long), 0);
        let other = "b".repeat(MAX_COMPARED_CHARS + 1);
        assert_eq!(closest(&long, [other.as_str()]), None);
    }

    #[test]
    fn display_names_file_line_column() {
        let e = LoadError::new(
            Path::new("r.yaml"),
            Pos { line: 3, column: 5 },
            LoadErrorKind::MissingKey {
                key: "id",
                context: "a rule".into(),
            },
        );
        assert_eq!(e.to_string(), "r.yaml:3:5: missing key `id` in a rule");
        assert_eq!(e.help().as_deref(), Some("add `id:`"));
    }
}
