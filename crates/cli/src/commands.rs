//! The subcommands.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;

use rulerun_core::select::JsonPath;
use rulerun_core::testing::{TestCase, load_tests, run_test};
use rulerun_core::{FactStore, LoadError, RuleSet, check, load_rules};
use serde_json::json;

use crate::args::{
    CheckArgs, Cli, CollectArgs, Command, Format, IamCommand, RuleSourceArgs, RulesCommand,
};
use crate::sources::{self, Found};
use crate::{Terminal, exit, render};

pub fn dispatch(cli: Cli, term: Terminal, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let result = match cli.command {
        Command::Check(a) => cmd_check(&a, term, out, err),
        Command::Collect(a) => cmd_collect(&a, term, out, err),
        Command::Rules {
            command: RulesCommand::List { rules, output },
        } => cmd_rules_list(&rules, output, term, out, err),
        Command::Explain { rule, rules } => cmd_explain(&rule, &rules, term, out, err),
        Command::Validate { paths } => cmd_validate(&paths, term, out, err),
        Command::Test { paths } => cmd_test(&paths, term, out, err),
        Command::Query { path, input } => cmd_query(&path, input.as_ref(), out, err),
        Command::Functions => cmd_functions(out),
        Command::Iam { command } => cmd_iam(command, out, err),
    };
    match result {
        Ok(code) => code,
        // `rulerun ... | head`: the reader has gone, nothing left to say.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            exit::USAGE
        }
    }
}

type CmdResult = std::io::Result<i32>;

/// Loads the rules a command asked for; on errors prints them all and returns None.
fn load(
    src: &RuleSourceArgs,
    term: Terminal,
    err: &mut dyn Write,
) -> std::io::Result<Option<(RuleSet, Found)>> {
    let mut found = if src.no_builtin {
        Found::default()
    } else {
        sources::builtin()
    };
    let mut errors: Vec<LoadError> = Vec::new();
    sources::from_paths(&src.paths, &mut found, &mut errors);
    let (rules, mut load_errors) = load_rules(&found.rules);
    errors.append(&mut load_errors);
    if !errors.is_empty() {
        render::load_errors(&errors, term, err)?;
        return Ok(None);
    }
    Ok(Some((rules, found)))
}

fn cmd_check(a: &CheckArgs, term: Terminal, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let Some((rules, _)) = load(&a.rules, term, err)? else {
        return Ok(exit::USAGE);
    };
    let report = if a.facts.is_empty() {
        let quiet = a.output == Format::Json;
        match crate::live::run(&rules, &a.cluster, term, quiet) {
            Ok(run) => run.report,
            Err(e) => {
                crate::live::print_error(&e, err)?;
                return Ok(exit::USAGE);
            }
        }
    } else {
        let mut facts = FactStore::new();
        let mut errors = Vec::new();
        for p in &a.facts {
            match FactStore::load_path(p) {
                Ok(s) => facts.merge(s),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if !errors.is_empty() {
            render::load_errors(&errors, term, err)?;
            return Ok(exit::USAGE);
        }
        check(&rules, &facts)
    };
    match a.output {
        Format::Text => render::report_text(&report, term, out)?,
        Format::Json => render::report_json(&report, out)?,
    }
    if let Some(threshold) = a.fail_on.threshold()
        && report.findings.iter().any(|f| f.severity >= threshold)
    {
        return Ok(exit::FINDINGS);
    }
    if !report.errors.is_empty() {
        return Ok(exit::USAGE);
    }
    if !report.inconclusive.is_empty() {
        return Ok(exit::INCONCLUSIVE);
    }
    Ok(exit::OK)
}

fn cmd_collect(
    a: &CollectArgs,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let Some((rules, _)) = load(&a.rules, term, err)? else {
        return Ok(exit::USAGE);
    };
    let run = match crate::live::run(&rules, &a.cluster, term, false) {
        Ok(run) => run,
        Err(e) => {
            crate::live::print_error(&e, err)?;
            return Ok(exit::USAGE);
        }
    };
    let snapshot = run.facts.to_snapshot(json!({
        "collectedBy": format!("rulerun {}", env!("CARGO_PKG_VERSION")),
        "namespace": a.cluster.namespace,
        "context": a.cluster.context,
        "rules": rules.rules.len(),
        "rounds": run.rounds,
        "kubernetesRequests": run.k8s_requests,
    }));
    let text = serde_json::to_string_pretty(&snapshot).map_err(std::io::Error::other)?;
    if a.output.as_os_str() == "-" {
        writeln!(out, "{text}")?;
    } else {
        std::fs::write(&a.output, format!("{text}\n")).map_err(|e| {
            std::io::Error::other(format!("cannot write `{}`: {e}", a.output.display()))
        })?;
        writeln!(
            err,
            "wrote {} facts to {}",
            run.facts.len(),
            a.output.display()
        )?;
    }
    for i in &run.report.inconclusive {
        writeln!(
            err,
            "warning: rule `{}` could not decide: {}",
            i.rule,
            render::clean(&i.reason)
        )?;
    }
    Ok(if run.report.inconclusive.is_empty() {
        exit::OK
    } else {
        exit::INCONCLUSIVE
    })
}

fn cmd_rules_list(
    src: &RuleSourceArgs,
    format: Format,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let Some((rules, _)) = load(src, term, err)? else {
        return Ok(exit::USAGE);
    };
    match format {
        Format::Json => {
            let list: Vec<_> = rules
                .rules
                .iter()
                .map(|r| json!({"id": r.id, "title": r.title, "severity": r.severity, "labels": r.labels, "subject": r.subject_kind, "kinds": r.kinds, "source": r.source.to_string()}))
                .collect();
            serde_json::to_writer_pretty(&mut *out, &list).map_err(std::io::Error::other)?;
            writeln!(out)?;
        }
        Format::Text => {
            let width = rules.rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
            for r in &rules.rules {
                writeln!(
                    out,
                    "{:<width$}  {:<8}  {}  ({})",
                    r.id,
                    r.severity.as_str(),
                    render::clean(&r.title),
                    r.source
                )?;
            }
        }
    }
    Ok(exit::OK)
}

fn cmd_explain(
    id: &str,
    src: &RuleSourceArgs,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let Some((rules, _)) = load(src, term, err)? else {
        return Ok(exit::USAGE);
    };
    let Some(rule) = rules.get(id) else {
        let ids: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
        writeln!(err, "error: no rule has id `{id}`")?;
        match rulerun_core::error::closest(id, ids.iter().copied()) {
            Some(c) => writeln!(err, "  help: did you mean `{c}`?")?,
            None => writeln!(err, "  help: `rulerun rules list` shows the loaded rules")?,
        }
        return Ok(exit::USAGE);
    };
    write!(out, "{}", rulerun_core::docs::rule_markdown(rule))?;
    Ok(exit::OK)
}

fn cmd_validate(
    paths: &[PathBuf],
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let mut found = Found::default();
    let mut errors = Vec::new();
    sources::from_paths(paths, &mut found, &mut errors);
    let (rules, mut e) = load_rules(&found.rules);
    errors.append(&mut e);
    let (cases, mut e) = load_cases(&rules, &found);
    errors.append(&mut e);
    if !errors.is_empty() {
        render::load_errors(&errors, term, err)?;
        return Ok(exit::USAGE);
    }
    writeln!(
        out,
        "{} rule(s) and {} test case(s) are valid",
        rules.rules.len(),
        cases.len()
    )?;
    Ok(exit::OK)
}

/// Loads the test cases of `found.tests`, pairing each file with the rules defined
/// in its folder.
fn load_cases(rules: &RuleSet, found: &Found) -> (Vec<TestCase>, Vec<LoadError>) {
    let mut by_folder: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    for r in &rules.rules {
        by_folder
            .entry(sources::folder_of(&r.source.file))
            .or_default()
            .push(r.id.clone());
    }
    let all: Vec<String> = rules.rules.iter().map(|r| r.id.clone()).collect();
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for t in &found.tests {
        let folder_rules = by_folder
            .get(&sources::folder_of(&t.path))
            .cloned()
            .unwrap_or_default();
        let (mut c, mut e) = load_tests(t, &folder_rules, &all, &sources::read_fixture);
        cases.append(&mut c);
        errors.append(&mut e);
    }
    (cases, errors)
}

fn cmd_test(
    paths: &[PathBuf],
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let mut found = if paths.is_empty() {
        sources::builtin()
    } else {
        Found::default()
    };
    let mut errors = Vec::new();
    sources::from_paths(paths, &mut found, &mut errors);
    let (rules, mut e) = load_rules(&found.rules);
    errors.append(&mut e);
    let (cases, mut e) = load_cases(&rules, &found);
    errors.append(&mut e);
    if !errors.is_empty() {
        render::load_errors(&errors, term, err)?;
        return Ok(exit::USAGE);
    }
    writeln!(out, "running {} rule test(s)", cases.len())?;
    let mut failed = Vec::new();
    for case in &cases {
        let outcome = run_test(&rules, case);
        let status = if outcome.passed() { "ok" } else { "FAILED" };
        writeln!(out, "test {} ... {status}", render::clean(&outcome.name))?;
        if !outcome.passed() {
            failed.push(outcome);
        }
    }
    if !failed.is_empty() {
        writeln!(out, "\nfailures:")?;
        for f in &failed {
            writeln!(
                out,
                "\n---- {} ({}) ----",
                render::clean(&f.name),
                f.location
            )?;
            for why in &f.failures {
                writeln!(out, "  {}", render::clean(why))?;
            }
        }
    }
    let passed = cases.len() - failed.len();
    writeln!(
        out,
        "\ntest result: {}. {passed} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len()
    )?;
    writeln!(out, "{passed} passed, {} failed", failed.len())?;
    Ok(if failed.is_empty() {
        exit::OK
    } else {
        exit::FINDINGS
    })
}

fn cmd_query(
    path: &str,
    input: Option<&PathBuf>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let compiled = match JsonPath::parse(path) {
        Ok(p) => p,
        Err(e) => {
            writeln!(err, "error: {e}")?;
            if let Some(h) = e.help() {
                writeln!(err, "  help: {h}")?;
            }
            return Ok(exit::USAGE);
        }
    };
    let (name, text) = match input {
        Some(p) if p.as_os_str() != "-" => (
            p.clone(),
            std::fs::read_to_string(p).map_err(|e| {
                std::io::Error::other(format!("cannot read `{}`: {e}", p.display()))
            })?,
        ),
        _ => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            (PathBuf::from("<stdin>"), s)
        }
    };
    let docs = match rulerun_core::facts::parse_fact_text(&name, &text) {
        Ok(d) => d,
        Err(e) => {
            writeln!(err, "{e}")?;
            return Ok(exit::USAGE);
        }
    };
    let doc = match docs.len() {
        1 => docs.into_iter().next().unwrap_or_default(),
        _ => serde_json::Value::Array(docs),
    };
    let result = rulerun_core::engine::query(&compiled, &doc);
    serde_json::to_writer_pretty(&mut *out, &result).map_err(std::io::Error::other)?;
    writeln!(out)?;
    Ok(exit::OK)
}

fn cmd_functions(out: &mut dyn Write) -> CmdResult {
    for f in rulerun_core::func::FUNCTIONS {
        writeln!(out, "{}\n    {}", f.signature, f.summary)?;
    }
    Ok(exit::OK)
}

fn read_input(path: Option<&PathBuf>) -> std::io::Result<(String, String)> {
    match path {
        Some(p) if p.as_os_str() != "-" => Ok((
            p.display().to_string(),
            std::fs::read_to_string(p).map_err(|e| {
                std::io::Error::other(format!("cannot read `{}`: {e}", p.display()))
            })?,
        )),
        _ => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            Ok(("<stdin>".into(), s))
        }
    }
}

fn cmd_iam(command: IamCommand, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let (path, required) = match &command {
        IamCommand::Eval { input } => (input.as_ref(), None),
        IamCommand::Fix { input, required } => (input.as_ref(), Some(required.clone())),
    };
    let (name, text) = read_input(path)?;
    let input: rulerun_iam::EvalInput = match serde_json::from_str(&text) {
        Ok(i) => i,
        Err(e) => {
            writeln!(
                err,
                "{name}:{}:{}: error: invalid input: {e}",
                e.line(),
                e.column()
            )?;
            writeln!(
                err,
                "  help: `rulerun iam eval --help` shows the input format"
            )?;
            return Ok(exit::USAGE);
        }
    };
    let (value, code) = match required {
        None => match rulerun_iam::evaluate(&input) {
            Ok(ev) => (serde_json::to_value(ev), exit::OK),
            Err(e) => {
                writeln!(err, "{name}: error: {e}")?;
                return Ok(exit::USAGE);
            }
        },
        Some(required) => match rulerun_iam::fix_resource_policy(&input, &required) {
            Ok(fix) => {
                let code = if fix.proven { exit::OK } else { exit::FINDINGS };
                (serde_json::to_value(fix), code)
            }
            Err(e) => {
                writeln!(err, "{name}: error: {e}")?;
                return Ok(exit::USAGE);
            }
        },
    };
    let value = value.map_err(std::io::Error::other)?;
    serde_json::to_writer_pretty(&mut *out, &value).map_err(std::io::Error::other)?;
    writeln!(out)?;
    Ok(code)
}
