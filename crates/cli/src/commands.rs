//! The subcommands.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use rulerun_core::read::{self, Limit};
use rulerun_core::testing::{TestCase, load_tests};
use rulerun_core::{FactStore, LoadError, RuleSet, check, load_rule_sources};
use serde_json::json;

use crate::args::{
    CheckArgs, Cli, CollectArgs, Command, FailOn, Format, IamCommand, RuleSourceArgs, RulesCommand,
};
use crate::config::Ctx;
use crate::loading::{self, ConfigChoice, Loaded};
use crate::sources::{self, Found};
use crate::{Terminal, escape, exit, render};

pub fn dispatch(
    cli: Cli,
    ctx: &Ctx,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let choice = ConfigChoice {
        file: cli.config.clone(),
        disabled: cli.no_config,
    };
    let result = match cli.command {
        Command::Check(a) => cmd_check(&a, ctx, &choice, term, out, err),
        Command::Collect(a) => cmd_collect(&a, ctx, &choice, term, out, err),
        Command::Rules {
            command: RulesCommand::List { rules, output },
        } => cmd_rules_list(&rules, output, ctx, &choice, term, out, err),
        Command::Explain { rule, rules } => {
            cmd_explain(&rule, &rules, ctx, &choice, term, out, err)
        }
        Command::Validate {
            paths,
            deny_warnings,
        } => cmd_validate(&paths, deny_warnings, ctx, term, out, err),
        Command::Test {
            paths,
            deny_warnings,
            require_coverage,
        } => cmd_test(&paths, deny_warnings, require_coverage, ctx, term, out, err),
        Command::Query { path, input, bind } => {
            let bind: Vec<_> = bind
                .into_iter()
                .map(|(n, p)| {
                    (
                        n,
                        if p.as_os_str() == "-" {
                            p
                        } else {
                            ctx.resolve(&p)
                        },
                    )
                })
                .collect();
            crate::query::cmd_query(
                &path,
                input.map(|p| ctx.resolve(&p)).as_ref(),
                &bind,
                out,
                err,
            )
        }
        Command::Functions => cmd_functions(out),
        Command::Iam { command } => cmd_iam(command, ctx, out, err),
        Command::Pack { command } => {
            crate::commands_pack::cmd_pack(command, ctx, &choice, term, out, err)
        }
        Command::Schema { name, out_dir } => {
            crate::commands_pack::cmd_schema(name, out_dir.as_deref(), ctx, out, err)
        }
    };
    match result {
        Ok(code) => code,
        // `rulerun ... | head`: the reader has gone, nothing left to say.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            let _ = writeln!(err, "error: {}", escape::line(&e.to_string()));
            exit::USAGE
        }
    }
}

pub type CmdResult = std::io::Result<i32>;

/// Loads the rules a command asked for (configuration, packs, `--rules`,
/// overrides); on errors prints them all and returns None.
fn load(
    src: &RuleSourceArgs,
    ctx: &Ctx,
    choice: &ConfigChoice,
    term: Terminal,
    err: &mut dyn Write,
) -> std::io::Result<Option<Loaded>> {
    match loading::load(ctx, choice, src) {
        Ok(l) => Ok(Some(l)),
        Err(errors) => {
            render::load_errors(&errors, term, err)?;
            Ok(None)
        }
    }
}

fn cmd_check(
    a: &CheckArgs,
    ctx: &Ctx,
    choice: &ConfigChoice,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let Some(loaded) = load(&a.rules, ctx, choice, term, err)? else {
        return Ok(exit::USAGE);
    };
    if render::warnings(&loaded.rules.warnings, a.deny_warnings, term, err)? {
        return Ok(exit::USAGE);
    }
    let config = loaded.project.config.as_ref();
    let output = a
        .output
        .or(config
            .and_then(|c| c.output)
            .map(crate::args::CheckFormat::from))
        .unwrap_or(crate::args::CheckFormat::Text);
    let fail_on = a
        .fail_on
        .or(config.and_then(|c| c.fail_on))
        .unwrap_or(FailOn::Info);
    let rules = loaded.rules;
    let report = if a.facts.is_empty() {
        let quiet = output != crate::args::CheckFormat::Text && a.output_file.is_none();
        let mut cluster = a.cluster.clone();
        cluster.kubeconfig = cluster.kubeconfig.map(|k| ctx.resolve(&k));
        match crate::live::run(&rules, &cluster, term, quiet) {
            Ok(run) => run.report,
            Err(e) => {
                crate::live::print_error(&e, err)?;
                return Ok(exit::USAGE);
            }
        }
    } else {
        // Only the fields the loaded rules can read are kept (docs/ARCHITECTURE.md);
        // reports that name subjects by uid keep whole documents.
        let projection = crate::report::projection(output, &rules);
        // One load for every `--facts`: a file reached twice is read once.
        let resolved: Vec<PathBuf> = a.facts.iter().map(|p| ctx.resolve(p)).collect();
        let paths: Vec<&Path> = resolved.iter().map(PathBuf::as_path).collect();
        let (facts, mut errors) = match FactStore::load_paths_projected(&paths, &projection) {
            Ok(facts) => (facts, Vec::new()),
            Err(errors) => (FactStore::new(), errors),
        };
        if !errors.is_empty() {
            for e in &mut errors {
                e.file = ctx.shown(&e.file);
            }
            render::load_errors(&errors, term, err)?;
            return Ok(exit::USAGE);
        }
        // Empty files must not read as a healthy cluster. A snapshot that lists a
        // kind with no documents does say something (nothing of that kind exists).
        if facts.iter().next().is_none() {
            let shown: Vec<String> = a
                .facts
                .iter()
                .map(|p| format!("`{}`", escape::path(p)))
                .collect();
            let e = LoadError::new(
                a.facts.first().map(PathBuf::as_path).unwrap_or(Path::new("--facts")),
                rulerun_core::yaml::Pos::default(),
                rulerun_core::LoadErrorKind::Other {
                    message: format!(
                        "no facts: {} {} no documents",
                        shown.join(", "),
                        if shown.len() == 1 { "holds" } else { "hold" }
                    ),
                    help: Some("point --facts at a snapshot from `rulerun collect`, or at `kubectl get -o json` output".into()),
                },
            );
            render::load_errors(&[e], term, err)?;
            return Ok(exit::USAGE);
        }
        check(&rules, &facts)
    };
    let request = crate::report::Request {
        format: output,
        file: a.output_file.as_deref(),
        report: &report,
        rules: &rules,
        origins: &loaded.origins,
        ctx,
    };
    if !crate::report::write(&request, term, out, err)? {
        return Ok(exit::USAGE);
    }
    if let Some(threshold) = fail_on.threshold()
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
    ctx: &Ctx,
    choice: &ConfigChoice,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let Some(loaded) = load(&a.rules, ctx, choice, term, err)? else {
        return Ok(exit::USAGE);
    };
    let rules = loaded.rules;
    let mut cluster = a.cluster.clone();
    cluster.kubeconfig = cluster.kubeconfig.map(|k| ctx.resolve(&k));
    let run = match crate::live::run(&rules, &cluster, term, false) {
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
        std::fs::write(ctx.resolve(&a.output), format!("{text}\n")).map_err(|e| {
            std::io::Error::other(format!("cannot write `{}`: {e}", escape::path(&a.output)))
        })?;
        writeln!(
            err,
            "wrote {} facts to {}",
            run.facts.len(),
            escape::path(&a.output)
        )?;
    }
    for i in &run.report.inconclusive {
        writeln!(
            err,
            "warning: rule `{}` could not decide: {}",
            escape::line(&i.rule),
            escape::line(&i.reason)
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
    let origin = |id: &str| loaded.origins.get(id).cloned();
    match format {
        Format::Json => {
            let mut list: Vec<_> = rules
                .rules
                .iter()
                .map(|r| {
                    let o = origin(&r.id);
                    json!({"id": r.id, "title": r.title, "severity": r.severity, "labels": r.labels, "subject": r.subject_kind, "kinds": r.kinds, "source": r.source.to_string(),
                        "pack": o.as_ref().map(|o| o.pack.clone()), "origin": o.as_ref().map(|o| o.origin.as_str()),
                        "enabled": true, "overrides": o.map(|o| o.overrides).unwrap_or_default(), "params": r.param_values})
                })
                .collect();
            for d in &loaded.disabled {
                list.push(json!({"id": d.id, "title": d.title, "severity": d.severity, "source": d.source,
                    "pack": d.origin.pack, "origin": d.origin.origin.as_str(), "enabled": false, "overrides": d.origin.overrides}));
            }
            serde_json::to_writer_pretty(&mut *out, &list).map_err(std::io::Error::other)?;
            writeln!(out)?;
        }
        Format::Text => {
            let width = rules
                .rules
                .iter()
                .map(|r| escape::line(&r.id).len())
                .chain(loaded.disabled.iter().map(|d| escape::line(&d.id).len()))
                .max()
                .unwrap_or(0);
            let pack_of = |o: Option<&loading::RuleOrigin>| match o {
                Some(o) if o.origin == crate::packs::Origin::CommandLine => "--rules".to_string(),
                Some(o) => format!("{} ({})", escape::line(&o.pack), o.origin.as_str()),
                None => String::new(),
            };
            let pack_width = rules
                .rules
                .iter()
                .map(|r| pack_of(loaded.origins.get(&r.id)).len())
                .chain(
                    loaded
                        .disabled
                        .iter()
                        .map(|d| pack_of(Some(&d.origin)).len()),
                )
                .max()
                .unwrap_or(0);
            let line = |id: &str,
                        sev: &str,
                        title: &str,
                        source: &str,
                        o: Option<&loading::RuleOrigin>|
             -> String {
                let mut text = format!(
                    "{:<width$}  {sev:<8}  {:<pack_width$}  {}  ({})",
                    escape::line(id),
                    pack_of(o),
                    escape::line(title),
                    escape::line(source)
                );
                if let Some(o) = o
                    && !o.overrides.is_empty()
                {
                    text.push_str(&format!(
                        "  [overridden: {}]",
                        escape::line(&o.overrides.join(", "))
                    ));
                }
                text
            };
            for r in &rules.rules {
                let o = origin(&r.id);
                writeln!(
                    out,
                    "{}",
                    line(
                        &r.id,
                        r.severity.as_str(),
                        &r.title,
                        &r.source.to_string(),
                        o.as_ref()
                    )
                )?;
            }
            for d in &loaded.disabled {
                writeln!(
                    out,
                    "{}",
                    line(&d.id, "off", &d.title, &d.source, Some(&d.origin))
                )?;
            }
        }
    }
    Ok(exit::OK)
}

fn cmd_explain(
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

fn cmd_validate(
    paths: &[PathBuf],
    deny_warnings: bool,
    ctx: &Ctx,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let mut found = Found::default();
    let mut errors = Vec::new();
    sources::from_paths(paths, &|p| ctx.resolve(p), &mut found, &mut errors);
    // A folder that is a pack: its manifest must hold, too.
    for p in paths {
        if ctx.resolve(p).join("pack.yaml").is_file()
            && let Err(mut e) =
                crate::packs::from_folder(crate::packs::Origin::Path, &ctx.resolve(p), p)
        {
            errors.append(&mut e);
        }
    }
    // The packs a pack uses are loaded beside it, as `test` loads them.
    let (siblings, beside) = crate::loading::add_used_packs(paths, ctx, &mut found, &mut errors);
    let roots: Vec<PathBuf> = paths.iter().chain(&siblings).cloned().collect();
    let (scopes, library) = crate::loading::scopes_of_found(&found, &roots, ctx);
    let (rules, mut e) = load_rule_sources(&found.rules, &scopes, &library);
    errors.append(&mut e);
    let (cases, mut e) = load_cases(&rules, &found, ctx);
    errors.append(&mut e);
    let mut missing = crate::testrun::must_not_fire_errors(&rules, &cases, ctx);
    missing.retain(|e| !beside.contains(&e.file));
    errors.append(&mut missing);
    let denied = render::warnings(&rules.warnings, deny_warnings, term, err)?;
    if !errors.is_empty() {
        render::load_errors(&errors, term, err)?;
        return Ok(exit::USAGE);
    }
    if denied {
        return Ok(exit::USAGE);
    }
    writeln!(
        out,
        "{} rule(s) and {} test case(s) are valid",
        rules
            .rules
            .iter()
            .filter(|r| !beside.contains(&r.source.file))
            .count(),
        cases.len()
    )?;
    Ok(exit::OK)
}

/// Loads the test cases of `found.tests`, pairing each file with the rules defined
/// in its folder.
fn load_cases(rules: &RuleSet, found: &Found, ctx: &Ctx) -> (Vec<TestCase>, Vec<LoadError>) {
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
        let read = |p: &std::path::Path| sources::read_fixture(p, &|q| ctx.resolve(q));
        let (mut c, mut e) = load_tests(t, &folder_rules, &all, &read);
        cases.append(&mut c);
        errors.append(&mut e);
    }
    (cases, errors)
}

fn cmd_test(
    paths: &[PathBuf],
    deny_warnings: bool,
    require_coverage: bool,
    ctx: &Ctx,
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
    sources::from_paths(paths, &|p| ctx.resolve(p), &mut found, &mut errors);
    let (siblings, beside) = crate::loading::add_used_packs(paths, ctx, &mut found, &mut errors);
    let roots: Vec<PathBuf> = paths.iter().chain(&siblings).cloned().collect();
    let (scopes, library) = crate::loading::scopes_of_found(&found, &roots, ctx);
    let (rules, mut e) = load_rule_sources(&found.rules, &scopes, &library);
    errors.append(&mut e);
    let (cases, mut e) = load_cases(&rules, &found, ctx);
    errors.append(&mut e);
    let mut missing = crate::testrun::must_not_fire_errors(&rules, &cases, ctx);
    missing.retain(|e| !beside.contains(&e.file));
    errors.append(&mut missing);
    let denied = render::warnings(&rules.warnings, deny_warnings, term, err)?;
    if !errors.is_empty() {
        render::load_errors(&errors, term, err)?;
        return Ok(exit::USAGE);
    }
    if denied {
        return Ok(exit::USAGE);
    }
    crate::testrun::run(&rules, &cases, require_coverage, &beside, out)
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
            escape::path(p),
            read::read_text(p, Limit::IAM_INPUT).map_err(|e| {
                std::io::Error::other(format!("cannot read `{}`: {e}", escape::path(p)))
            })?,
        )),
        _ => Ok((
            "<stdin>".into(),
            read::read_text_from(std::io::stdin().lock(), Limit::IAM_INPUT)
                .map_err(|e| std::io::Error::other(format!("cannot read standard input: {e}")))?,
        )),
    }
}

fn cmd_iam(command: IamCommand, ctx: &Ctx, out: &mut dyn Write, err: &mut dyn Write) -> CmdResult {
    let (path, required) = match &command {
        IamCommand::Eval { input } => (input.clone(), None),
        IamCommand::Fix { input, required } => (input.clone(), Some(required.clone())),
    };
    let path = path.map(|p| {
        if p.as_os_str() == "-" {
            p
        } else {
            ctx.resolve(&p)
        }
    });
    let (name, text) = read_input(path.as_ref())?;
    // serde_json would take the last of duplicate members of a policy or request.
    if let Err(e) = rulerun_core::json::check(&text) {
        // A duplicate key is quoted in the message: escaped like every other value.
        let message = escape::line(&e.kind.to_string()).into_owned();
        writeln!(err, "{name}:{}:{}: error: {message}", e.line, e.column)?;
        if let Some(h) = e.kind.help() {
            writeln!(err, "  help: {h}")?;
        }
        return Ok(exit::USAGE);
    }
    let input: rulerun_iam::EvalInput = match serde_json::from_str(&text) {
        Ok(i) => i,
        Err(e) => {
            writeln!(
                err,
                "{name}:{}:{}: error: invalid input: {}",
                e.line(),
                e.column(),
                escape::line(&e.to_string())
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
                writeln!(err, "{name}: error: {}", escape::line(&e.to_string()))?;
                return Ok(exit::USAGE);
            }
        },
        Some(required) => match rulerun_iam::fix_resource_policy(&input, &required) {
            Ok(fix) => {
                let code = if fix.proven { exit::OK } else { exit::FINDINGS };
                (serde_json::to_value(fix), code)
            }
            Err(e) => {
                writeln!(err, "{name}: error: {}", escape::line(&e.to_string()))?;
                return Ok(exit::USAGE);
            }
        },
    };
    let value = value.map_err(std::io::Error::other)?;
    serde_json::to_writer_pretty(&mut *out, &value).map_err(std::io::Error::other)?;
    writeln!(out)?;
    Ok(code)
}
