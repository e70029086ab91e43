//! `rulerun test`: runs rule tests, reports per rule what they did not exercise,
//! and holds packs to `tests: {requireMustNotFire: true}` (also for `validate`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use rulerun_core::coverage::{Coverage, RuleCoverage};
use rulerun_core::testing::{TestCase, TestOutcome, is_must_not_fire, run_test_covered};
use rulerun_core::{LoadError, LoadErrorKind, RuleSet};

use crate::commands::CmdResult;
use crate::config::Ctx;
use crate::packs::{self, Manifest};
use crate::sources::{self, BUILTIN_PREFIX};
use crate::{escape, exit};

/// Runs the loaded cases and prints, per test file, its cases' results and then
/// the coverage of the rules they test. With `require_coverage`, anything not
/// exercised (or a rule no case runs) fails the run. Rules from the files in
/// `beside` (the packs the tested packs use, loaded only so that their cases see
/// the rules `check` would run) are neither listed nor counted.
pub fn run(
    rules: &RuleSet,
    cases: &[TestCase],
    require_coverage: bool,
    beside: &BTreeSet<PathBuf>,
    out: &mut dyn Write,
) -> CmdResult {
    writeln!(out, "running {} rule test(s)", cases.len())?;
    let mut coverage = Coverage::new();
    let outcomes: Vec<TestOutcome> = cases
        .iter()
        .map(|c| run_test_covered(rules, c, &mut coverage))
        .collect();
    let mut shown: BTreeSet<&str> = BTreeSet::new();
    let mut not_exercised = 0;
    let mut rules_with_gaps = 0;
    let mut print_rule = |id: &str, out: &mut dyn Write| -> std::io::Result<()> {
        let Some(rule) = rules.get(id) else {
            return Ok(());
        };
        let Some(cov) = coverage.of_rule(rule) else {
            return Ok(());
        };
        if !cov.complete() {
            not_exercised += cov.gaps.len();
            rules_with_gaps += 1;
        }
        print_coverage(&cov, out)
    };
    let mut i = 0;
    while i < cases.len() {
        // The cases of one test file, then the coverage of the rules beside it.
        let file = cases.get(i).map(|c| c.file.clone());
        while let Some(o) = outcomes
            .get(i)
            .filter(|_| cases.get(i).map(|c| &c.file) == file.as_ref())
        {
            let status = if o.passed() { "ok" } else { "FAILED" };
            writeln!(out, "test {} ... {status}", escape::line(&o.name))?;
            i += 1;
        }
        let folder = file.as_deref().map(sources::folder_of);
        for r in &rules.rules {
            if Some(sources::folder_of(&r.source.file)) == folder && shown.insert(&r.id) {
                print_rule(&r.id, out)?;
            }
        }
    }
    // Rules tested only from other folders, then rules no case runs.
    for r in &rules.rules {
        if beside.contains(&r.source.file) {
            continue;
        }
        if cases.iter().any(|c| c.rules.contains(&r.id)) && shown.insert(&r.id) {
            print_rule(&r.id, out)?;
        }
    }
    let untested: Vec<&str> = rules
        .rules
        .iter()
        .filter(|r| !beside.contains(&r.source.file))
        .map(|r| r.id.as_str())
        .filter(|id| !shown.contains(id))
        .collect();
    for id in &untested {
        writeln!(out, "coverage `{}`: no test case runs it", escape::line(id))?;
    }
    let failed: Vec<&TestOutcome> = outcomes.iter().filter(|o| !o.passed()).collect();
    if !failed.is_empty() {
        writeln!(out, "\nfailures:")?;
        for f in &failed {
            writeln!(
                out,
                "\n---- {} ({}) ----",
                escape::line(&f.name),
                escape::line(&f.location)
            )?;
            for why in &f.failures {
                writeln!(out, "  {}", escape::line(why))?;
            }
        }
    }
    let gaps = not_exercised + untested.len();
    let coverage_fails = require_coverage && gaps > 0;
    let ok = failed.is_empty() && !coverage_fails;
    let passed = cases.len() - failed.len();
    writeln!(
        out,
        "\ntest result: {}. {passed} passed; {} failed",
        if ok { "ok" } else { "FAILED" },
        failed.len()
    )?;
    if gaps > 0 {
        let mut what = Vec::new();
        if not_exercised > 0 {
            what.push(format!(
                "{not_exercised} item(s) of {rules_with_gaps} rule(s) not exercised"
            ));
        }
        if !untested.is_empty() {
            what.push(format!("{} rule(s) without a test case", untested.len()));
        }
        writeln!(
            out,
            "coverage: {}{}",
            what.join("; "),
            if require_coverage {
                " (--require-coverage)"
            } else {
                " (informational; --require-coverage makes it a failure)"
            }
        )?;
    }
    Ok(if ok { exit::OK } else { exit::FINDINGS })
}

/// One rule's coverage: a line, and one line per item not exercised.
fn print_coverage(cov: &RuleCoverage, out: &mut dyn Write) -> std::io::Result<()> {
    let id = escape::line(&cov.rule);
    if cov.complete() {
        return writeln!(
            out,
            "coverage `{id}`: complete, {} item(s) exercised by {} case(s)",
            cov.total, cov.cases
        );
    }
    writeln!(
        out,
        "coverage `{id}`: {} of {} item(s) not exercised by {} case(s)",
        cov.gaps.len(),
        cov.total,
        cov.cases
    )?;
    for g in &cov.gaps {
        writeln!(
            out,
            "  {}:{}: {} {}{}",
            escape::path(&g.site.file),
            g.site.pos,
            escape::line(&g.site.what),
            g.missing,
            g.site
                .part
                .as_ref()
                .map(|p| format!(" (part `{}`)", escape::line(p)))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

/// An error for each rule of a pack with `tests: {requireMustNotFire: true}` that
/// no loaded case runs expecting no finding from it.
pub fn must_not_fire_errors(rules: &RuleSet, cases: &[TestCase], ctx: &Ctx) -> Vec<LoadError> {
    let mut manifests: BTreeMap<PathBuf, Option<(String, Manifest)>> = BTreeMap::new();
    let mut errors = Vec::new();
    for rule in &rules.rules {
        let Some((shown, manifest)) = pack_of(&rule.source.file, ctx, &mut manifests) else {
            continue;
        };
        if !manifest.require_must_not_fire || cases.iter().any(|c| is_must_not_fire(c, &rule.id)) {
            continue;
        }
        errors.push(LoadError::new(
            &rule.source.file,
            rule.source.pos,
            LoadErrorKind::Other {
                message: format!(
                    "rule `{}` has no must-not-fire test case, which pack `{}` requires",
                    rule.id, manifest.name
                ),
                help: Some(format!(
                    "add a case to the tests beside it that expects no finding from it (`expect: []`), with facts where it must stay quiet; `tests: {{requireMustNotFire: true}}` in {} asks for one",
                    escape::line(&shown)
                )),
            },
        ));
    }
    errors
}

/// The manifest of the pack a rule file belongs to: the nearest `pack.yaml` above
/// it that lists it (built-in packs from the embedded files), with the manifest's
/// path as shown.
fn pack_of<'m>(
    file: &Path,
    ctx: &Ctx,
    cache: &'m mut BTreeMap<PathBuf, Option<(String, Manifest)>>,
) -> Option<(String, &'m Manifest)> {
    let text = file.to_string_lossy().replace('\\', "/");
    if let Some(rest) = text.strip_prefix(&format!("{BUILTIN_PREFIX}/")) {
        let name = rest.split('/').next().unwrap_or_default().to_string();
        let key = PathBuf::from(format!("{BUILTIN_PREFIX}/{name}"));
        let entry = cache.entry(key.clone()).or_insert_with(|| {
            let m = packs::builtin(&name).ok()?.manifest?;
            Some((key.join("pack.yaml").display().to_string(), m))
        });
        return entry.as_ref().map(|(s, m)| (s.clone(), m));
    }
    let real = ctx.resolve(file);
    let dir = real
        .ancestors()
        .skip(1)
        .find(|d| d.join("pack.yaml").is_file())?;
    let rel = real
        .strip_prefix(dir)
        .ok()?
        .to_string_lossy()
        .replace('\\', "/");
    let entry = cache.entry(dir.to_path_buf()).or_insert_with(|| {
        let manifest = dir.join("pack.yaml");
        let text =
            rulerun_core::read::read_text(&manifest, rulerun_core::read::Limit::CONFIG).ok()?;
        let m = packs::parse_manifest(&manifest, &text).ok()?;
        Some((escape::path(&manifest), m))
    });
    let (shown, m) = entry.as_ref()?;
    m.rules.contains(&rel).then(|| (shown.clone(), m))
}
