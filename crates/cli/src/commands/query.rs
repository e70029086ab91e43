//! `rulerun query`: a JSONPath evaluated on one document, exactly as given.
//!
//! The document is read whole (within [`Limit::FACTS`]) as one JSON or YAML
//! value of any type: a top-level array is an array, not a list of facts. The
//! path takes the forms rules write: `$…` reads the document, `$name…` the
//! document given with `--bind name=FILE`, and inside a filter `$name.x` is a
//! singular query of that document (rulerun's extension to RFC 9535). An
//! invalid path, a document that does not parse and an evaluation over its node
//! budget exit 2.

use std::io::Write;
use std::path::{Path, PathBuf};

use rulerun_core::LoadError;
use rulerun_core::error::{LoadErrorKind, closest};
use rulerun_core::read::{self, Limit};
use rulerun_core::yaml::Pos;
use rulerun_jsonpath::{JsonPath, PathError};
use serde_json::Value;

use super::CmdResult;
use crate::{escape, exit};

/// Where a document comes from: a file, or standard input (`-`).
fn is_stdin(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// `rulerun query PATH [--input FILE] [--bind NAME=FILE]...`.
pub fn cmd_query(
    path: &str,
    input: Option<&PathBuf>,
    binds: &[(String, PathBuf)],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let names: Vec<&str> = binds.iter().map(|(n, _)| n.as_str()).collect();
    if let Some(twice) = names
        .iter()
        .enumerate()
        .find_map(|(i, n)| names[..i].contains(n).then_some(n))
    {
        writeln!(err, "error: `--bind {twice}=…` is given twice")?;
        writeln!(err, "  help: give each name one document")?;
        return Ok(exit::USAGE);
    }
    let compiled = match compile(path, &names) {
        Ok(c) => c,
        Err(lines) => {
            for l in lines {
                writeln!(err, "{l}")?;
            }
            return Ok(exit::USAGE);
        }
    };
    // `$` inside the filters of a `$name…` path is that document, as in rules:
    // the input is read only for a path that starts at `$`.
    let needs_input = compiled.top.is_none();
    let stdin_uses = binds.iter().filter(|(_, p)| is_stdin(p)).count()
        + usize::from(needs_input && input.is_none_or(|p| is_stdin(p)));
    if stdin_uses > 1 {
        writeln!(
            err,
            "error: standard input is given for more than one document"
        )?;
        writeln!(
            err,
            "  help: give `--input FILE` when a `--bind` reads standard input (`-`)"
        )?;
        return Ok(exit::USAGE);
    }
    let mut docs: Vec<Value> = Vec::with_capacity(binds.len());
    for (_, file) in binds {
        match read_document(Some(file))? {
            Ok(doc) => docs.push(doc),
            Err(e) => return print_load_error(&e, err),
        }
    }
    let input_doc;
    let start = match compiled.top {
        None => {
            input_doc = match read_document(input)? {
                Ok(doc) => doc,
                Err(e) => return print_load_error(&e, err),
            };
            &input_doc
        }
        Some(i) => docs.get(i).unwrap_or(&Value::Null),
    };
    // A path that multiplies nodes (`$..*..*..*`) stops at its node budget.
    let nodes = match compiled.path.try_query_bound(start, &docs) {
        Ok(nodes) => nodes,
        Err(e) => {
            writeln!(err, "error: {}", escape::line(&e.to_string()))?;
            writeln!(err, "  help: {}", escape::line(e.help()))?;
            return Ok(exit::USAGE);
        }
    };
    // Written from the document, not copied: a nodelist may hold the same
    // subtree many times (`$..*` holds each node within each of its ancestors).
    serde_json::to_writer_pretty(&mut *out, &nodes).map_err(std::io::Error::other)?;
    writeln!(out)?;
    Ok(exit::OK)
}

/// A compiled query path: the binding it starts from (`None`: the input
/// document) and the JSONPath applied to it.
struct Compiled {
    /// The index of the `--bind` document a `$name…` path starts from.
    top: Option<usize>,
    path: JsonPath,
}

/// Compiles `path` in the rule path forms; on error, the lines to print.
fn compile(path: &str, names: &[&str]) -> Result<Compiled, Vec<String>> {
    let position = |n: &str| names.iter().position(|k| *k == n);
    let (top, rest, shift) = match rulerun_core::load::split_scoped_path(path) {
        Some((Some(name), rest)) => match position(name) {
            Some(i) => (Some(i), rest, name.len()),
            None => return Err(unknown_binding(path, name, 0, names)),
        },
        _ => (None, path.to_owned(), 0),
    };
    match JsonPath::parse_bound(&rest, &position) {
        Ok(p) => Ok(Compiled { top, path: p }),
        Err(PathError::UnknownBinding { name, offset, .. }) => {
            Err(unknown_binding(path, &name, offset + shift, names))
        }
        Err(e) => {
            let mut lines = vec![format!(
                "error: {}",
                escape::line(&with_query(&e, path, shift))
            )];
            if let Some(at) = e.offset() {
                lines.extend(caret(path, at + shift));
            }
            if let Some(h) = e.help() {
                lines.push(format!("  help: {}", escape::line(h)));
            }
            Err(lines)
        }
    }
}

/// The error's message about the path as the user wrote it (the binding name
/// put back in front of a `$name…` path).
fn with_query(e: &PathError, original: &str, shift: usize) -> String {
    let text = e.to_string();
    let Some(tail) = original.get(1 + shift..).filter(|_| shift > 0) else {
        return text;
    };
    let text = text.replacen(&format!("`${tail}`"), &format!("`{original}`"), 1);
    // Columns counted in the path after the name: count the name too.
    match text.split_once(" at column ") {
        Some((head, rest)) => {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            match rest[..digits].parse::<usize>() {
                Ok(col) => format!("{head} at column {}{}", col + shift, &rest[digits..]),
                Err(_) => text.clone(),
            }
        }
        None => text.clone(),
    }
}

/// The query, and a caret under byte `at` of it.
fn caret(query: &str, at: usize) -> Vec<String> {
    let shown = escape::line(query);
    let before = query.get(..at).unwrap_or(query);
    let width = escape::line(before).chars().count();
    vec![format!("  {shown}"), format!("  {}^", " ".repeat(width))]
}

fn unknown_binding(path: &str, name: &str, at: usize, names: &[&str]) -> Vec<String> {
    let mut lines = vec![format!(
        "error: invalid JSONPath `{}`: `${}` is not a document given with `--bind`",
        escape::line(path),
        escape::line(name)
    )];
    lines.extend(caret(path, at));
    let help = match closest(name, names.iter().copied()) {
        Some(near) => format!("did you mean `${near}`? `--bind NAME=FILE` names a document"),
        None if names.is_empty() => {
            format!("give the document with `--bind {name}=FILE`; `$` is the input document")
        }
        None => format!(
            "the documents given with `--bind` are {}; `$` is the input document",
            names
                .iter()
                .map(|n| format!("`${n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    lines.push(format!("  help: {}", escape::line(&help)));
    lines
}

fn print_load_error(e: &LoadError, err: &mut dyn Write) -> CmdResult {
    writeln!(err, "error: {}", escape::line(&e.to_string()))?;
    if let Some(h) = e.help() {
        writeln!(err, "  help: {}", escape::line(&h))?;
    }
    Ok(exit::USAGE)
}

/// Reads one document from a file or standard input (`None` or `-`).
fn read_document(path: Option<&PathBuf>) -> std::io::Result<Result<Value, LoadError>> {
    let (name, text) = match path {
        Some(p) if !is_stdin(p) => (
            p.clone(),
            read::read_text(p, Limit::FACTS).map_err(|e| {
                std::io::Error::other(format!("cannot read `{}`: {e}", escape::path(p)))
            })?,
        ),
        _ => (
            PathBuf::from("<stdin>"),
            read::read_text_from(std::io::stdin().lock(), Limit::FACTS)
                .map_err(|e| std::io::Error::other(format!("cannot read standard input: {e}")))?,
        ),
    };
    Ok(parse_document(&name, &text))
}

/// One JSON or YAML value, as written: JSON when the text is JSON (any value,
/// read strictly), otherwise exactly one YAML document.
pub fn parse_document(name: &Path, text: &str) -> Result<Value, LoadError> {
    // Only the BOM is cut, so lines and columns stay those of the file.
    let text = text.trim_start_matches('\u{feff}');
    let json = rulerun_core::json::from_str(text);
    let looks_json = text.trim_start().starts_with(['{', '[']);
    match json {
        Ok(v) => return Ok(v),
        Err(e) if looks_json => return Err(e.load_error(name)),
        Err(e) if !matches!(e.kind, rulerun_core::json::JsonErrorKind::Syntax(_)) => {
            return Err(e.load_error(name));
        }
        Err(_) => {}
    }
    // Not JSON: YAML, read as fact files are (the same parser and limits).
    let mut docs = rulerun_core::facts::parse_fact_text(name, text)?;
    match docs.len() {
        1 => Ok(docs.pop().unwrap_or_default()),
        0 => Err(LoadError::new(
            name,
            Pos::default(),
            LoadErrorKind::Other {
                message: "no document: the input is empty".into(),
                help: Some("give one JSON or YAML document".into()),
            },
        )),
        n => Err(LoadError::new(
            name,
            Pos::default(),
            LoadErrorKind::Other {
                message: format!("{n} YAML documents: `rulerun query` reads one"),
                help: Some(
                    "split the documents apart, or make them one YAML list (`- ...` items) \
                     and select with `$[*]`"
                        .into(),
                ),
            },
        )),
    }
}
