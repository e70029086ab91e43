//! `rulerun validate`: rule and rule-test files checked, every error at once.

use std::io::Write;
use std::path::PathBuf;

use rulerun_core::load_rule_sources;

use super::{CmdResult, load_cases};
use crate::config::Ctx;
use crate::sources::{self, Found};
use crate::{Terminal, exit, render};

pub fn cmd_validate(
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
