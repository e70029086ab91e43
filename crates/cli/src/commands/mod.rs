//! The subcommands: one module each; [`dispatch`] runs the one parsed.

mod check;
mod collect;
mod explain;
mod functions;
mod iam;
mod pack;
mod query;
mod reports;
mod rules;
mod schema;
mod test;
mod validate;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use rulerun_core::testing::{TestCase, load_tests};
use rulerun_core::{LoadError, RuleSet};

use crate::args::{Cli, Command, RuleSourceArgs, RulesCommand};
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
        Command::Check(a) => check::cmd_check(&a, ctx, &choice, term, out, err),
        Command::Collect(a) => collect::cmd_collect(&a, ctx, &choice, term, out, err),
        Command::Reports(a) => reports::cmd_reports(&a, ctx, term, out, err),
        Command::Rules {
            command: RulesCommand::List { rules, output },
        } => rules::cmd_rules_list(&rules, output, ctx, &choice, term, out, err),
        Command::Explain { rule, rules } => {
            explain::cmd_explain(&rule, &rules, ctx, &choice, term, out, err)
        }
        Command::Validate {
            paths,
            deny_warnings,
        } => validate::cmd_validate(&paths, deny_warnings, ctx, term, out, err),
        Command::Test {
            paths,
            deny_warnings,
            require_coverage,
        } => test::cmd_test(&paths, deny_warnings, require_coverage, ctx, term, out, err),
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
            query::cmd_query(
                &path,
                input.map(|p| ctx.resolve(&p)).as_ref(),
                &bind,
                out,
                err,
            )
        }
        Command::Functions => functions::cmd_functions(out),
        Command::Iam { command } => iam::cmd_iam(command, ctx, out, err),
        Command::Pack { command } => pack::cmd_pack(command, ctx, &choice, term, out, err),
        Command::Schema { name, out_dir } => {
            schema::cmd_schema(name, out_dir.as_deref(), ctx, out, err)
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
