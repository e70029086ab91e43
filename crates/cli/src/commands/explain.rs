//! `rulerun explain`: a rule's documentation and its parts, or a part's.

use std::io::Write;

use super::{CmdResult, load};
use crate::args::RuleSourceArgs;
use crate::config::Ctx;
use crate::loading::ConfigChoice;
use crate::{Terminal, escape, exit};

pub fn cmd_explain(
    id: &str,
    src: &RuleSourceArgs,
    ctx: &Ctx,
    choice: &ConfigChoice,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let Some(loaded) = load(src, ctx, choice, term, err)? else {
        return Ok(exit::USAGE);
    };
    let rules = &loaded.rules;
    let Some(rule) = rules.get(id) else {
        return explain_part(id, rules, !src.paths.is_empty(), out, err);
    };
    // Markdown from rule files alone: its line breaks stay, controls do not.
    write!(
        out,
        "{}",
        escape::block(&rulerun_core::docs::rule_markdown(rule))
    )?;
    let parts: Vec<&rulerun_core::PartInfo> = rules
        .parts
        .iter()
        .filter(|p| p.used_by.iter().any(|r| r == id))
        .collect();
    if !parts.is_empty() {
        writeln!(out, "\n## Parts\n")?;
        writeln!(
            out,
            "Built from these parts (`rulerun explain PART` shows one):\n"
        )?;
        writeln!(out, "| part | kind | description |")?;
        writeln!(out, "| --- | --- | --- |")?;
        for p in parts {
            writeln!(
                out,
                "| `{}` | {} | {} |",
                escape::line(&rulerun_core::docs::part_name(p)),
                rulerun_core::docs::kind_name(p.kind),
                escape::line(&first_sentence(&p.description))
            )?;
        }
    }
    if !rule.params.is_empty() {
        writeln!(out, "\n## Parameters\n")?;
        writeln!(
            out,
            "Set them in `rulerun.yaml` under `rules: {{{}: {{params: ...}}}}`.\n",
            escape::line(&rule.id)
        )?;
        writeln!(out, "| parameter | value | default | description |")?;
        writeln!(out, "| --- | --- | --- | --- |")?;
        for p in &rule.params {
            let value = rule.param_values.get(&p.name).cloned().unwrap_or_default();
            writeln!(
                out,
                "| `{}` | `{}` | `{}` | {} |",
                escape::line(&p.name),
                escape::line(&value.to_string()),
                escape::line(&p.default.to_string()),
                escape::line(&p.description)
            )?;
        }
    }
    if let Some(o) = loaded.origins.get(id) {
        writeln!(
            out,
            "\nFrom pack `{}` ({}).",
            escape::line(&o.pack),
            o.origin.as_str()
        )?;
        if !o.overrides.is_empty() {
            writeln!(
                out,
                "Overridden by rulerun.yaml: {}.",
                escape::line(&o.overrides.join(", "))
            )?;
        }
    }
    Ok(exit::OK)
}

/// `rulerun explain NAME` for a name that is no rule id: the part called
/// `PACK/NAME`, or the one part called `NAME`.
fn explain_part(
    name: &str,
    rules: &rulerun_core::RuleSet,
    from_files: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let parts = &rules.parts;
    // `PACK/NAME` (or a loose file's `NAME`) exactly, else every part called `NAME`
    let exact: Vec<&rulerun_core::PartInfo> = parts
        .iter()
        .filter(|p| rulerun_core::docs::part_name(p) == name)
        .collect();
    let matches: Vec<&rulerun_core::PartInfo> = if exact.is_empty() {
        parts.iter().filter(|p| p.id == name).collect()
    } else {
        exact
    };
    match matches.as_slice() {
        [part] => {
            write!(
                out,
                "{}",
                escape::block(&rulerun_core::docs::part_markdown(part))
            )?;
            Ok(exit::OK)
        }
        [] => {
            writeln!(
                err,
                "error: no rule or part is called `{}`",
                escape::line(name)
            )?;
            let names: Vec<String> = rules
                .rules
                .iter()
                .map(|r| r.id.clone())
                .chain(parts.iter().map(rulerun_core::docs::part_name))
                .chain(parts.iter().map(|p| p.id.clone()))
                .collect();
            match rulerun_core::error::closest(name, names.iter().map(String::as_str)) {
                Some(c) => writeln!(err, "  help: did you mean `{}`?", escape::line(&c))?,
                // A rule of one's own files is loaded only with `--rules`.
                None if from_files => writeln!(
                    err,
                    "  help: `rulerun rules list --rules PATH` lists the rules that load from your files and the built-in ones"
                )?,
                None => writeln!(
                    err,
                    "  help: a rule or part in a file of your own loads with `--rules PATH`: `rulerun explain {} --rules PATH` (`rulerun rules list` shows the built-in and configured rules)",
                    escape::line(name)
                )?,
            }
            Ok(exit::USAGE)
        }
        several => {
            let names: Vec<String> = several
                .iter()
                .map(|p| format!("`{}`", escape::line(&rulerun_core::docs::part_name(p))))
                .collect();
            writeln!(
                err,
                "error: several packs have a part called `{}`",
                escape::line(name)
            )?;
            writeln!(err, "  help: name one of {}", names.join(", "))?;
            Ok(exit::USAGE)
        }
    }
}

/// The first sentence of a description, on one line.
fn first_sentence(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.find(". ") {
        Some(i) => text[..=i].to_string(),
        None => text,
    }
}
