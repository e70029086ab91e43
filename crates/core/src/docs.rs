//! Reference documentation generated from the code and the rules: one page per
//! rule (`docs/rules/<id>.md`, `rulerun explain`), the function reference and the
//! matcher table. Tests check that the committed pages are fresh.

use std::fmt::Write as _;

use crate::parts::{PartInfo, PartKind};
use crate::rule::{Rule, Source};

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
    let _ = writeln!(
        s,
        "Defined in `{}`; its tests sit beside it.",
        shown_file(&rule.source)
    );
    s
}

/// A source file as the docs show it: built-in files under `rules/`.
fn shown_file(source: &Source) -> String {
    let file = source.file.to_string_lossy().replace('\\', "/");
    file.strip_prefix("<builtin>/")
        .map(|f| format!("rules/{f}"))
        .unwrap_or(file)
}

/// `PACK/NAME`, or `NAME` for a part of loose rule files.
pub fn part_name(part: &PartInfo) -> String {
    if part.pack.is_empty() {
        part.id.clone()
    } else {
        format!("{}/{}", part.pack, part.id)
    }
}

/// `bindings`, `condition` or `fix`.
pub fn kind_name(kind: PartKind) -> &'static str {
    match kind {
        PartKind::Bindings => "bindings",
        PartKind::Condition => "condition",
        PartKind::Fix => "fix",
    }
}

fn code_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Markdown page of a part (`rulerun explain PART`): kind, pack,
/// description, inputs, the parts it builds on, the names it binds, how a rule
/// uses it, where it is defined and the loaded rules that use it.
pub fn part_markdown(part: &PartInfo) -> String {
    let mut s = String::new();
    let name = part_name(part);
    let _ = writeln!(
        s,
        "# Part `{name}`
"
    );
    let _ = writeln!(
        s,
        "**A {} part** of {}, {}.\n",
        kind_name(part.kind),
        if part.pack.is_empty() {
            "the loose rule files".to_string()
        } else {
            format!("pack `{}`", part.pack)
        },
        match (part.public, part.pack.is_empty()) {
            (true, false) => format!(
                "public: packs that declare `uses: [{}]` in `pack.yaml` may use it",
                part.pack
            ),
            (true, true) => "public".to_string(),
            (false, _) => "private to its pack".to_string(),
        }
    );
    let description = part.description.trim();
    if !description.is_empty() {
        let _ = writeln!(s, "{description}\n");
    }
    let _ = writeln!(s, "## Use\n");
    let _ = writeln!(s, "In a rule, {}.", part.kind.how_to_use(&name));
    if !part.pack.is_empty() {
        let _ = writeln!(
            s,
            "Rules of pack `{}` may write `{}` alone.",
            part.pack, part.id
        );
    }
    s.push('\n');
    let _ = writeln!(s, "## Inputs\n");
    if part.inputs.is_empty() {
        let _ = writeln!(
            s,
            "None: it reads the subject{}.\n",
            if part.uses.is_empty() {
                ""
            } else {
                " and the names of the parts it builds on"
            }
        );
    } else {
        let _ = writeln!(
            s,
            "Names it reads from the rule's scope{}.\n",
            if part.kind == PartKind::Bindings {
                " (or from `with:`, or its default)"
            } else {
                ""
            }
        );
        let _ = writeln!(s, "| input | default | description |");
        let _ = writeln!(s, "| --- | --- | --- |");
        for i in &part.inputs {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} |",
                i.name,
                i.default
                    .as_ref()
                    .map(|d| format!("`{d}`"))
                    .unwrap_or_else(|| "-".into()),
                i.description
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        s.push('\n');
    }
    if !part.uses.is_empty() {
        let _ = writeln!(s, "## Builds on\n");
        let _ = writeln!(
            s,
            "{}: {}.\n",
            code_list(&part.uses),
            if part.kind == PartKind::Bindings {
                "expanded before it, so a rule that uses it binds their names too"
            } else {
                "a rule that uses it lists them under its `uses:`"
            }
        );
    }
    if !part.provides.is_empty() {
        let _ = writeln!(s, "## Binds\n");
        let _ = writeln!(s, "{}\n", code_list(&part.provides));
    }
    let _ = writeln!(s, "## Used by\n");
    if part.used_by.is_empty() {
        let _ = writeln!(s, "No loaded rule.\n");
    } else {
        let _ = writeln!(s, "{}\n", code_list(&part.used_by));
    }
    let _ = writeln!(
        s,
        "Defined in `{}:{}`.",
        shown_file(&part.source),
        part.source.pos
    );
    s
}

/// The function reference (`docs/functions.md`).
pub fn functions_markdown() -> String {
    let mut s = String::from(
        "# Functions\n\n<!-- generated from the function registry (crates/core/src/func/mod.rs, crates/func-aws/src/lib.rs) by `UPDATE_EXPECT=1 cargo test`; do not edit -->\n\nRules call functions in `let` bindings (`x: {call: NAME, args: [...]}`) and in\ntemplates (`{{ NAME(...) }}`).\n\n",
    );
    for f in crate::func::all() {
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
