//! Regular expressions: bounded compilation, I-Regexp translation, and the cache of
//! patterns read from documents.

use super::*;

/// The longest regular expression rulerun compiles, in bytes: `regex:`
/// matchers, and `match()` and `search()` patterns.
pub const MAX_REGEX_LEN: usize = 4096;
/// The most memory a compiled regular expression may take, in bytes (its
/// program: a short pattern such as `\w{500}` can take megabytes).
pub const MAX_REGEX_SIZE: usize = 1 << 20;
/// The most memory the lazy DFA of a regular expression may cache while
/// matching, in bytes.
pub const MAX_REGEX_DFA_SIZE: usize = 1 << 20;
/// Patterns read from documents whose compiled form is kept.
pub(crate) const DYNAMIC_REGEX_CACHE: usize = 32;
/// The node budget one pattern read from a document costs to compile (a
/// compilation within [`MAX_REGEX_SIZE`] takes up to tens of milliseconds, as
/// long as walking this many nodes).
pub const REGEX_COMPILE_NODES: u64 = 100_000;

/// Why a regular expression was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RegexError {
    /// Longer than [`MAX_REGEX_LEN`].
    #[error("the pattern is {len} bytes long, more than {max}")]
    TooLong {
        /// The pattern's length.
        len: usize,
        /// [`MAX_REGEX_LEN`].
        max: usize,
    },
    /// Not a valid regular expression, or larger than [`MAX_REGEX_SIZE`]
    /// compiled.
    #[error("{0}")]
    Invalid(String),
}

/// Compiles a regular expression within the limits every pattern rulerun
/// compiles has: [`MAX_REGEX_LEN`], [`MAX_REGEX_SIZE`], [`MAX_REGEX_DFA_SIZE`].
///
/// # Errors
///
/// [`RegexError`] when the pattern is too long, invalid or too large compiled.
pub fn compile_regex(pattern: &str) -> Result<Regex, RegexError> {
    #[cfg(any(test, feature = "testing"))]
    COMPILATIONS.with(|c| c.set(c.get() + 1));
    if pattern.len() > MAX_REGEX_LEN {
        return Err(RegexError::TooLong {
            len: pattern.len(),
            max: MAX_REGEX_LEN,
        });
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(MAX_REGEX_SIZE)
        .dfa_size_limit(MAX_REGEX_DFA_SIZE)
        .build()
        .map_err(|e| RegexError::Invalid(regex_message(&e)))
}

#[cfg(any(test, feature = "testing"))]
thread_local! {
    /// How many patterns [`compile_regex`] was asked to compile on this thread.
    static COMPILATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many patterns [`compile_regex`] was asked to compile on the calling
/// thread so far (valid or not). A test hook: loading and evaluating run on the
/// caller's thread, so a test reads it before and after evaluating to prove that
/// no pattern was compiled meanwhile. Feature `testing`.
#[cfg(any(test, feature = "testing"))]
#[must_use]
pub fn regex_compilations() -> u64 {
    COMPILATIONS.with(std::cell::Cell::get)
}

/// The one-line reason of a `regex` error (its rendering spans several lines
/// with the pattern and a caret).
pub(crate) fn regex_message(e: &regex::Error) -> String {
    // The last `error:` line says what is wrong (a pattern compiled too large
    // has one line only).
    let text = e.to_string();
    text.lines()
        .rev()
        .find(|l| l.trim_start().starts_with("error:"))
        .map(|l| {
            l.trim_start()
                .trim_start_matches("error:")
                .trim()
                .to_string()
        })
        .unwrap_or(text)
}

/// Translates an I-Regexp (RFC 9485) into the syntax of the `regex` crate: a
/// `.` outside a character class matches any character but `\n` and `\r`
/// (RFC 9485 section 5.3), and `match()` anchors the whole pattern.
pub(crate) fn i_regexp(pattern: &str, search: bool) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '.' if !in_class => out.push_str(r"[^\n\r]"),
            _ => out.push(c),
        }
    }
    if search { out } else { format!("^(?:{out})$") }
}

/// Compiled patterns read from documents, at most `cap`, least recently used
/// first: a hit moves its entry to the end, an insertion past `cap` evicts the
/// first. `None` as a compiled pattern remembers one that does not compile.
pub(crate) struct RegexLru {
    pub(crate) entries: Vec<(Box<str>, bool, Option<Arc<Regex>>)>,
    pub(crate) cap: usize,
}

impl RegexLru {
    pub(crate) const fn new(cap: usize) -> Self {
        RegexLru {
            entries: Vec::new(),
            cap,
        }
    }

    /// The cached compilation of `pattern` (as `match()`, or `search()` when
    /// `search`), now the most recently used; `None` on a miss.
    pub(crate) fn get(&mut self, pattern: &str, search: bool) -> Option<Option<Arc<Regex>>> {
        let i = self
            .entries
            .iter()
            .position(|(p, s, _)| **p == *pattern && *s == search)?;
        let entry = self.entries.remove(i);
        let re = entry.2.clone();
        self.entries.push(entry);
        Some(re)
    }

    pub(crate) fn insert(&mut self, pattern: &str, search: bool, re: Option<Arc<Regex>>) {
        if self.entries.len() >= self.cap {
            self.entries.remove(0);
        }
        self.entries.push((pattern.into(), search, re));
    }
}

pub(crate) static DYNAMIC: Mutex<RegexLru> = Mutex::new(RegexLru::new(DYNAMIC_REGEX_CACHE));

/// A pattern read from the document, compiled once per distinct pattern while
/// it stays among the [`DYNAMIC_REGEX_CACHE`] most recently used ([`RegexLru`]);
/// `None` when it does not compile (the test is false) or the budget cannot pay
/// for compiling it.
pub(crate) fn dynamic_regex(
    pattern: &str,
    search: bool,
    budget: &Budget<'_>,
) -> Option<Arc<Regex>> {
    if let Some(re) = DYNAMIC
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(pattern, search)
    {
        return re;
    }
    if pattern.len() > MAX_REGEX_LEN || !budget.spend(REGEX_COMPILE_NODES) {
        return None;
    }
    let re = compile_regex(&i_regexp(pattern, search)).ok().map(Arc::new);
    DYNAMIC
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(pattern, search, re.clone());
    re
}
