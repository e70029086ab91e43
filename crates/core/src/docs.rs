//! Reference documentation generated from the code and the rules: one page per
//! rule (`docs/rules/<id>.md`, `rulerun explain`), the function reference and the
//! matcher table. Tests check that the committed pages are fresh.

use std::fmt::Write as _;

use crate::rule::Rule;

/// The Markdown page of a rule.
pub fn rule_markdown(rule: &Rule) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# `{}`\n", rule.id);
    let _ = writeln!(s, "**{}**\n", rule.title);
    let _ = writeln!(s, "| severity | subject | reads | labels |");
    let _ = writeln!(s, "| --- | --- | --- | --- |");
    let kinds: Vec<String> = rule.kinds.iter().map(|k| format!("`{k}`")).collect();
    let labels: Vec<String> = rule.labels.iter().map(|k| format!("`{k}`")).collect();
    let _ = writeln!(
        s,
        "| {} | `{}` | {} | {} |\n",
        rule.severity,
        rule.subject_kind,
        kinds.join(", "),
        if labels.is_empty() {
            "-".into()
        } else {
            labels.join(", ")
        }
    );
    let docs = &rule.docs;
    for (heading, text) in [
        ("What it detects", &docs.summary),
        ("Why it matters", &docs.why_it_matters),
        ("How to fix", &docs.how_to_fix),
    ] {
        if !text.trim().is_empty() {
            let _ = writeln!(s, "## {heading}\n\n{}\n", text.trim());
        }
    }
    if !docs.references.is_empty() {
        let _ = writeln!(s, "## References\n");
        for r in &docs.references {
            let _ = writeln!(s, "- <{r}>");
        }
        s.push('\n');
    }
    let file = rule.source.file.to_string_lossy().replace('\\', "/");
    let file = file
        .strip_prefix("<builtin>/")
        .map(|f| format!("rules/{f}"))
        .unwrap_or(file);
    let _ = writeln!(s, "Defined in `{file}`; its tests sit beside it.");
    s
}

/// The function reference (`docs/functions.md`).
pub fn functions_markdown() -> String {
    let mut s = String::from(
        "# Functions\n\n<!-- generated from crates/core/src/func/mod.rs by `cargo test`; do not edit -->\n\nRules call functions in `let` bindings (`x: {call: NAME, args: [...]}`) and in\ntemplates (`{{ NAME(...) }}`).\n\n",
    );
    for f in crate::func::FUNCTIONS {
        let _ = writeln!(
            s,
            "## `{}`\n\n`{}`\n\n{}\n\n{}\n",
            f.name,
            f.signature,
            f.summary,
            f.docs.trim()
        );
    }
    s
}

/// The matcher table of `docs/rule-language.md`.
pub fn matchers_markdown() -> String {
    let mut s = String::from("| operator | true when |\n| --- | --- |\n");
    for (name, doc) in crate::load::MATCHERS {
        let _ = writeln!(s, "| `{name}` | {doc} |");
    }
    s
}
