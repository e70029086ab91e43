//! Rendering findings, reports and errors for people (text) and programs (JSON).

use std::io::{self, Write};

use anstyle::{AnsiColor, Style as Ansi};
use rulerun_core::finding::EvalError;
use rulerun_core::{Finding, LoadError, Report, Severity};
use serde_json::json;

use crate::{Terminal, escape};

/// Terminal styles: ANSI SGR sequences written by `anstyle`, only when the
/// [`Terminal`] asked for colour (a TTY, no `NO_COLOR`).
struct Style {
    on: bool,
}

const BOLD: Ansi = Ansi::new().bold();
const RED: Ansi = AnsiColor::Red.on_default();
const BOLD_RED: Ansi = AnsiColor::Red.on_default().bold();
const GREEN: Ansi = AnsiColor::Green.on_default();
const YELLOW: Ansi = AnsiColor::Yellow.on_default();
const BOLD_YELLOW: Ansi = AnsiColor::Yellow.on_default().bold();
const BLUE: Ansi = AnsiColor::Blue.on_default();
const CYAN: Ansi = AnsiColor::Cyan.on_default();

impl Style {
    fn paint(&self, style: Ansi, text: &str) -> String {
        if self.on {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
    fn severity(&self, s: Severity) -> String {
        let style = match s {
            Severity::Info => CYAN,
            Severity::Low => BLUE,
            Severity::Medium => YELLOW,
            Severity::High => RED,
            Severity::Critical => BOLD_RED,
        };
        self.paint(style, s.as_str())
    }
}

/// Prints findings grouped by subject.
pub fn report_text(report: &Report, term: Terminal, out: &mut dyn Write) -> io::Result<()> {
    let st = Style { on: term.color };
    let mut last_subject = None;
    for f in &report.findings {
        if last_subject != Some(&f.subject) {
            if last_subject.is_some() {
                writeln!(out)?;
            }
            writeln!(
                out,
                "{}",
                st.paint(BOLD, &escape::line(&f.subject.to_string()))
            )?;
            last_subject = Some(&f.subject);
        }
        finding_text(f, &st, out)?;
    }
    for e in &report.errors {
        eval_error_text(e, &st, out)?;
    }
    inconclusive_text(report, &st, out)?;
    if !report.findings.is_empty() || !report.errors.is_empty() || !report.inconclusive.is_empty() {
        writeln!(out)?;
    }
    writeln!(out, "{}", summary_line(report))?;
    Ok(())
}

fn finding_text(f: &Finding, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "  {} {} {}",
        st.severity(f.severity),
        st.paint(BOLD, &escape::line(&f.rule)),
        escape::line(&f.title)
    )?;
    // One line per field: a message or command cannot tell the rule's text from
    // the facts' (an Event message is free text), so no line break is printed.
    writeln!(out, "    {}", escape::line(&f.message))?;
    if !f.may_be_superseded_by.is_empty() {
        let rules: Vec<String> = f
            .may_be_superseded_by
            .iter()
            .map(|r| escape::line(r).into_owned())
            .collect();
        writeln!(
            out,
            "    {} {} (inconclusive, below)",
            st.paint(YELLOW, "a more precise rule could not decide:"),
            rules.join(", ")
        )?;
    }
    if !f.fix.is_empty() {
        writeln!(out, "    {}", st.paint(GREEN, "fix:"))?;
        for (i, step) in f.fix.iter().enumerate() {
            writeln!(out, "      {}. {}", i + 1, escape::line(&step.description))?;
            writeln!(out, "         $ {}", escape::line(&step.command))?;
            // A placeholder is a value to supply: as printed, bash runs nothing.
            for p in &step.placeholders {
                writeln!(
                    out,
                    "           {} {}",
                    st.paint(YELLOW, &format!("replace <{}>:", p.name)),
                    escape::line(&p.description)
                )?;
            }
        }
    }
    Ok(())
}

/// Rules that could not decide, grouped by rule and reason.
fn inconclusive_text(report: &Report, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    let mut groups: Vec<(&str, &str, usize)> = Vec::new();
    for i in &report.inconclusive {
        match groups
            .iter_mut()
            .find(|(r, why, _)| *r == i.rule && *why == i.reason)
        {
            Some(g) => g.2 += 1,
            None => groups.push((&i.rule, &i.reason, 1)),
        }
    }
    if groups.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\n{}",
        st.paint(YELLOW, "inconclusive (facts could not be collected):")
    )?;
    for (rule, why, n) in groups {
        let subjects = if n > 1 {
            format!(" ({n} subjects)")
        } else {
            String::new()
        };
        writeln!(
            out,
            "  {}{subjects}: {}",
            st.paint(BOLD, &escape::line(rule)),
            escape::line(why)
        )?;
    }
    Ok(())
}

fn eval_error_text(e: &EvalError, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    let subject = e
        .subject
        .as_ref()
        .map(|s| format!(" on {s}"))
        .unwrap_or_default();
    writeln!(
        out,
        "{}: rule `{}` failed{}: {}",
        st.paint(RED, "error"),
        escape::line(&e.rule),
        escape::line(&subject),
        escape::line(&e.message)
    )
}

fn summary_line(report: &Report) -> String {
    let mut counts = Vec::new();
    for s in Severity::ALL.iter().rev() {
        let n = report.findings.iter().filter(|f| f.severity == *s).count();
        if n > 0 {
            counts.push(format!("{n} {s}"));
        }
    }
    let findings = match report.findings.len() {
        0 => "no findings".to_string(),
        1 => format!("1 finding ({})", counts.join(", ")),
        n => format!("{n} findings ({})", counts.join(", ")),
    };
    let errors = match report.errors.len() {
        0 => String::new(),
        n => format!(", {n} evaluation error(s)"),
    };
    let superseded = match report.superseded {
        0 => String::new(),
        n => format!(", {n} superseded by more precise findings"),
    };
    format!(
        "{findings}{superseded}{errors}; {} rules over {} facts",
        report.rules_evaluated, report.facts
    )
}

/// A fleet run's text: each cluster under a heading with its context's name,
/// in the order checked, its findings grouped by subject and its own summary
/// line, then one line for the whole fleet.
pub fn fleet_text(
    clusters: &[crate::report::ClusterReport],
    all: &Report,
    term: Terminal,
    out: &mut dyn Write,
) -> io::Result<()> {
    let st = Style { on: term.color };
    for (i, c) in clusters.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let server = c
            .server
            .as_deref()
            .map(|s| format!(" ({})", escape::line(s)))
            .unwrap_or_default();
        writeln!(
            out,
            "{}{server}",
            st.paint(BOLD, &format!("== cluster {} ==", escape::line(&c.name)))
        )?;
        if let Some(e) = &c.error {
            // Every rule is inconclusive for the same reason: said once.
            writeln!(
                out,
                "{}: cluster `{}` could not be checked: {}",
                st.paint(RED, "error"),
                escape::line(&c.name),
                escape::line(e)
            )?;
            writeln!(
                out,
                "{}",
                st.paint(
                    YELLOW,
                    &format!("inconclusive: all {} rules", c.report.inconclusive.len())
                )
            )?;
            continue;
        }
        report_text(&c.report, term, out)?;
    }
    writeln!(out)?;
    let with_findings = clusters
        .iter()
        .filter(|c| !c.report.findings.is_empty())
        .count();
    let inconclusive = clusters
        .iter()
        .filter(|c| !c.report.inconclusive.is_empty())
        .count();
    writeln!(
        out,
        "{} clusters ({with_findings} with findings, {inconclusive} inconclusive): {}",
        clusters.len(),
        summary_line(all)
    )
}

/// The findings JSON document (docs/findings-json.md); with the clusters of a
/// fleet run, a `clusters` member lists them.
pub fn report_json(
    report: &Report,
    clusters: &[crate::report::ClusterReport],
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut by_severity = serde_json::Map::new();
    for s in Severity::ALL {
        by_severity.insert(
            s.as_str().into(),
            json!(report.findings.iter().filter(|f| f.severity == s).count()),
        );
    }
    let doc = json!({
        "findings": report.findings,
        "errors": report.errors,
        "inconclusive": report.inconclusive,
        "summary": {
            "findings": report.findings.len(),
            "bySeverity": by_severity,
            "maxSeverity": report.max_severity(),
            "rulesEvaluated": report.rules_evaluated,
            "superseded": report.superseded,
            "facts": report.facts,
            "errors": report.errors.len(),
            "inconclusive": report.inconclusive.len(),
        }
    });
    let mut doc = doc;
    if !clusters.is_empty() {
        doc["clusters"] = clusters
            .iter()
            .map(|c| {
                let r = &c.report;
                let mut v = json!({
                    "name": c.name,
                    "findings": r.findings.len(),
                    "maxSeverity": r.max_severity(),
                    "errors": r.errors.len(),
                    "inconclusive": r.inconclusive.len(),
                    "facts": r.facts,
                });
                if let Some(server) = &c.server {
                    v["server"] = json!(server);
                }
                if let Some(e) = &c.error {
                    v["error"] = json!(e);
                }
                v
            })
            .collect();
    }
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}

/// Prints warnings (`file:line:column: warning: ...`, with help), escaped like
/// errors. With `deny` (`--deny-warnings`) they are errors: a count says so and
/// the result is true (the command runs nothing and exits 2).
pub fn warnings(
    warnings: &[rulerun_core::Warning],
    deny: bool,
    term: Terminal,
    err: &mut dyn Write,
) -> io::Result<bool> {
    let st = Style { on: term.color };
    for w in warnings {
        let at = if w.pos.line == 0 {
            escape::path(&w.file)
        } else {
            format!("{}:{}", escape::path(&w.file), w.pos)
        };
        writeln!(
            err,
            "{at}: {}: {}",
            st.paint(BOLD_YELLOW, "warning"),
            escape::line(&w.message)
        )?;
        if let Some(help) = &w.help {
            writeln!(err, "  {} {}", st.paint(CYAN, "help:"), escape::line(help))?;
        }
    }
    let n = warnings.len();
    if deny && n > 0 {
        writeln!(
            err,
            "{}: {n} warning{} denied by `--deny-warnings`; nothing was run",
            st.paint(BOLD_RED, "error"),
            if n == 1 { "" } else { "s" }
        )?;
        return Ok(true);
    }
    Ok(false)
}

/// Prints load errors, all of them, then a count.
pub fn load_errors(errors: &[LoadError], term: Terminal, err: &mut dyn Write) -> io::Result<()> {
    load_errors_then(errors, "nothing was run", term, err)
}

/// Prints load errors, all of them, then a count and `outcome` (what the
/// command did not do because of them).
pub fn load_errors_then(
    errors: &[LoadError],
    outcome: &str,
    term: Terminal,
    err: &mut dyn Write,
) -> io::Result<()> {
    let st = Style { on: term.color };
    for e in errors {
        writeln!(
            err,
            "{}: {}: {}",
            location(e),
            st.paint(BOLD_RED, "error"),
            escape::line(&e.kind.to_string())
        )?;
        if let Some(help) = e.help() {
            writeln!(err, "  {} {}", st.paint(CYAN, "help:"), escape::line(&help))?;
        }
    }
    let n = errors.len();
    writeln!(
        err,
        "{n} error{} found; {outcome}",
        if n == 1 { "" } else { "s" }
    )
}

/// Prints a command's error and its advice, as load errors are printed.
pub fn command_error(
    message: &str,
    help: Option<&str>,
    term: Terminal,
    err: &mut dyn Write,
) -> io::Result<()> {
    let st = Style { on: term.color };
    writeln!(
        err,
        "{}: {}",
        st.paint(BOLD_RED, "error"),
        escape::line(message)
    )?;
    if let Some(help) = help {
        writeln!(err, "  {} {}", st.paint(CYAN, "help:"), escape::line(help))?;
    }
    Ok(())
}

/// Where a load error is: its file (escaped), with `:line:column` when known.
pub fn location(e: &LoadError) -> String {
    if e.pos.line == 0 {
        escape::path(&e.file)
    } else {
        format!("{}:{}", escape::path(&e.file), e.pos)
    }
}
