//! `rulerun pack vendor|verify|update|list`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use rulerun_core::LoadError;

use super::CmdResult;
use crate::args::PackCommand;
use crate::config::{Ctx, PackEntry, Project};
use crate::decode::is_pack_name;
use crate::loading::{self, ConfigChoice};
use crate::packs::{self, Origin};
use crate::vendor::{self, LOCK_FILE, Lock, Locked, PackError, Source, VENDOR_DIR};
use crate::{Terminal, escape, exit, render};

pub fn cmd_pack(
    command: PackCommand,
    ctx: &Ctx,
    choice: &ConfigChoice,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let project = match loading::project(ctx, choice) {
        Ok(p) => p,
        Err(e) => return load_failed(&e, term, err),
    };
    let lock = match loading::lock(ctx, &project) {
        Ok(l) => l,
        Err(e) => return load_failed(&e, term, err),
    };
    let result = match command {
        PackCommand::Vendor { source, name } => {
            vendor_cmd(&source, name.as_deref(), ctx, &project, lock, out)
        }
        PackCommand::Verify { names } => {
            return verify_cmd(&names, ctx, &project, &lock, term, out, err);
        }
        PackCommand::Update {
            name,
            reference,
            force,
        } => update_cmd(&name, reference.as_deref(), force, ctx, &project, lock, out),
        PackCommand::List => return list_cmd(ctx, &project, &lock, out),
    };
    match result {
        Ok(code) => Ok(code),
        Err(e) => {
            if !e.load.is_empty() {
                render::load_errors_then(&e.load, "nothing was changed", term, err)?;
            }
            render::command_error(&e.message, e.help.as_deref(), term, err)?;
            Ok(exit::USAGE)
        }
    }
}

fn load_failed(errors: &[LoadError], term: Terminal, err: &mut dyn Write) -> CmdResult {
    render::load_errors(errors, term, err)?;
    Ok(exit::USAGE)
}

fn write_lock(ctx: &Ctx, project: &Project, lock: &Lock) -> Result<(), PackError> {
    let path = ctx.resolve(&project.path(LOCK_FILE));
    std::fs::write(&path, lock.to_yaml()).map_err(|e| {
        PackError::new(
            format!(
                "cannot write `{}`: {e}",
                escape::path(&project.path(LOCK_FILE))
            ),
            None,
        )
    })
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// A lock entry's source, ref and commit, escaped for printing.
fn describe(l: &Locked) -> String {
    let text = match (&l.reference, &l.commit) {
        (Some(r), Some(c)) => format!("{}#{r}, commit {}", l.source, short(c)),
        _ => l.source.clone(),
    };
    escape::line(&text).into_owned()
}

/// How a folder source is recorded: as given when the project folder is the
/// working folder, else absolute (so `pack update` finds it from anywhere).
fn recorded_source(source: &Source, ctx: &Ctx, project: &Project) -> String {
    match source {
        Source::Folder(p) if Path::new(p).is_relative() && !project.root.as_os_str().is_empty() => {
            std::fs::canonicalize(ctx.resolve(Path::new(p)))
                .map(|a| a.display().to_string())
                .unwrap_or_else(|_| p.clone())
        }
        other => other.recorded(),
    }
}

fn vendor_cmd(
    source_text: &str,
    name: Option<&str>,
    ctx: &Ctx,
    project: &Project,
    mut lock: Lock,
    out: &mut dyn Write,
) -> Result<i32, PackError> {
    let source = Source::parse(source_text)?;
    if let Some(n) = name
        && !is_pack_name(n)
    {
        return Err(PackError::new(
            format!("invalid pack name `{n}`"),
            Some("pack names are lowercase words joined by `-`, e.g. `platform-rules`"),
        ));
    }
    let staged = vendor::stage(&source, &|p| ctx.resolve(p))?;
    let name = name.unwrap_or(&staged.manifest.name).to_string();
    if lock.get(&name).is_some() {
        return Err(PackError::new(
            format!("pack `{name}` is already vendored"),
            Some(&format!(
                "`rulerun pack update {name} --ref REF` moves it to another ref; `--name` vendors a second copy"
            )),
        ));
    }
    let dest = project.path(&format!("{VENDOR_DIR}/{name}"));
    if std::fs::symlink_metadata(ctx.resolve(&dest)).is_ok() {
        return Err(PackError::new(
            format!(
                "`{}` exists but is not in rulerun.lock",
                escape::path(&dest)
            ),
            Some("remove it, or vendor under another `--name`"),
        ));
    }
    vendor::install(&staged, &ctx.resolve(&dest))?;
    let locked = Locked {
        name: name.clone(),
        source: recorded_source(&source, ctx, project),
        reference: match &source {
            Source::Git { reference, .. } => Some(reference.clone()),
            Source::Folder(_) => None,
        },
        commit: staged.commit.clone(),
        version: staged.manifest.version.to_string(),
        files: staged.files.clone(),
    };
    let shown = describe(&locked);
    lock.packs.push(locked);
    write_lock(ctx, project, &lock)?;
    let rules = vendor::rules_by_id(&staged.dir, &staged.manifest.rules);
    let _ = writeln!(
        out,
        "vendored {} {} from {shown}",
        escape::line(&name),
        escape::line(&staged.manifest.version.to_string())
    );
    let _ = writeln!(
        out,
        "  {} files, {} rule(s): {}",
        staged.files.len(),
        rules.len(),
        escape::line(&rules.keys().cloned().collect::<Vec<_>>().join(", "))
    );
    let _ = writeln!(
        out,
        "  into {}/, recorded in {}",
        escape::path(&dest),
        escape::path(&project.path(LOCK_FILE))
    );
    if let Some(packs) = project.config.as_ref().and_then(|c| c.packs.as_ref())
        && !packs
            .iter()
            .any(|(p, _)| *p == PackEntry::Vendor(name.clone()))
    {
        let _ = writeln!(
            out,
            "  note: add `- vendor: {}` under `packs:` in rulerun.yaml to load it",
            escape::line(&name)
        );
    }
    Ok(exit::OK)
}

fn verify_cmd(
    names: &[String],
    ctx: &Ctx,
    project: &Project,
    lock: &Lock,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    for n in names {
        if lock.get(n).is_none() {
            render::command_error(
                &format!("pack `{n}` is not in rulerun.lock"),
                Some("`rulerun pack list` shows the vendored packs"),
                term,
                err,
            )?;
            return Ok(exit::USAGE);
        }
    }
    let mut failed = 0;
    let mut checked = 0;
    for l in &lock.packs {
        if !names.is_empty() && !names.contains(&l.name) {
            continue;
        }
        checked += 1;
        let dir = project.path(&format!("{VENDOR_DIR}/{}", l.name));
        let problems = vendor::verify(&ctx.resolve(&dir), l);
        if problems.is_empty() {
            writeln!(
                out,
                "ok      {} {}: {} files match rulerun.lock ({})",
                escape::line(&l.name),
                escape::line(&l.version),
                l.files.len(),
                describe(l)
            )?;
            continue;
        }
        failed += 1;
        for p in &problems {
            let file = if p.path.is_empty() {
                dir.clone()
            } else {
                dir.join(&p.path)
            };
            writeln!(out, "{}: {}", escape::path(&file), p.what)?;
        }
        writeln!(
            out,
            "FAILED  {} {}: {} difference(s) from rulerun.lock",
            escape::line(&l.name),
            escape::line(&l.version),
            problems.len()
        )?;
    }
    // A folder under vendor/rulepacks/ that the lock does not know.
    if names.is_empty() {
        let vendor_dir = project.path(VENDOR_DIR);
        if let Ok(entries) = std::fs::read_dir(ctx.resolve(&vendor_dir)) {
            let mut extra: Vec<std::ffi::OsString> = entries
                .flatten()
                .map(|e| e.file_name())
                .filter(|n| {
                    let n = n.to_string_lossy();
                    !n.starts_with('.') && lock.get(&n).is_none()
                })
                .collect();
            extra.sort();
            for n in extra {
                failed += 1;
                writeln!(
                    out,
                    "{}: added (not in rulerun.lock)",
                    escape::path(&vendor_dir.join(n))
                )?;
            }
        }
    }
    if checked == 0 && failed == 0 {
        writeln!(
            out,
            "no vendored packs ({} has none)",
            escape::path(&project.path(LOCK_FILE))
        )?;
    }
    Ok(if failed == 0 {
        exit::OK
    } else {
        exit::FINDINGS
    })
}

fn update_cmd(
    name: &str,
    reference: Option<&str>,
    force: bool,
    ctx: &Ctx,
    project: &Project,
    mut lock: Lock,
    out: &mut dyn Write,
) -> Result<i32, PackError> {
    let Some(old) = lock.get(name).cloned() else {
        return Err(PackError::new(
            format!("pack `{name}` is not in rulerun.lock"),
            Some("`rulerun pack vendor SOURCE` vendors a new pack"),
        ));
    };
    let dir = project.path(&format!("{VENDOR_DIR}/{name}"));
    let problems = vendor::verify(&ctx.resolve(&dir), &old);
    if !problems.is_empty() && !force {
        for p in &problems {
            let _ = writeln!(out, "{}: {}", escape::path(&dir.join(&p.path)), p.what);
        }
        return Err(PackError::new(
            format!("vendored pack `{name}` has local changes; updating would discard them"),
            Some("`--force` replaces the vendored copy anyway"),
        ));
    }
    let source = if let Some(url) = old.source.strip_prefix("git+") {
        let r = reference
            .map(str::to_string)
            .or(old.reference.clone())
            .unwrap_or_default();
        Source::parse(&format!("git+{url}#{r}"))?
    } else {
        if reference.is_some() {
            return Err(PackError::new(
                format!("pack `{name}` was vendored from a folder, which has no refs"),
                Some("run `rulerun pack update NAME` without `--ref` to copy the folder again"),
            ));
        }
        Source::Folder(old.source.clone())
    };
    let root = project.root.clone();
    let staged = vendor::stage(&source, &|p| {
        if root.as_os_str().is_empty() {
            ctx.resolve(p)
        } else {
            ctx.resolve(&root.join(p))
        }
    })?;
    let old_rules = match rulerun_core::read::read_text(
        &ctx.resolve(&dir.join("pack.yaml")),
        rulerun_core::read::Limit::CONFIG,
    )
    .ok()
    .and_then(|t| packs::parse_manifest(Path::new("pack.yaml"), &t).ok())
    {
        Some(m) => vendor::rules_by_id(&ctx.resolve(&dir), &m.rules),
        None => BTreeMap::new(),
    };
    let new_rules = vendor::rules_by_id(&staged.dir, &staged.manifest.rules);
    vendor::install(&staged, &ctx.resolve(&dir))?;
    let new = Locked {
        name: name.to_string(),
        source: old.source.clone(),
        reference: match &source {
            Source::Git { reference, .. } => Some(reference.clone()),
            Source::Folder(_) => None,
        },
        commit: staged.commit.clone(),
        version: staged.manifest.version.to_string(),
        files: staged.files.clone(),
    };
    let at = |l: &Locked| match (&l.reference, &l.commit) {
        (Some(r), Some(c)) => format!("{} ({r}, commit {})", l.version, short(c)),
        _ => l.version.clone(),
    };
    let _ = writeln!(
        out,
        "updated {}: {} -> {}",
        escape::line(name),
        escape::line(&at(&old)),
        escape::line(&at(&new))
    );
    let mut changes = Vec::new();
    for (id, _) in new_rules
        .iter()
        .filter(|(id, _)| !old_rules.contains_key(*id))
    {
        changes.push(format!("  added    {id}"));
    }
    for (id, rule) in &new_rules {
        if old_rules.get(id).is_some_and(|o| o != rule) {
            changes.push(format!("  changed  {id}"));
        }
    }
    for id in old_rules.keys().filter(|id| !new_rules.contains_key(*id)) {
        changes.push(format!("  removed  {id}"));
    }
    if changes.is_empty() {
        changes.push("  no rule changed".into());
    }
    for c in changes {
        let _ = writeln!(out, "{}", escape::line(&c));
    }
    if let Some(slot) = lock.packs.iter_mut().find(|p| p.name == name) {
        *slot = new;
    }
    write_lock(ctx, project, &lock)?;
    Ok(exit::OK)
}

fn list_cmd(ctx: &Ctx, project: &Project, lock: &Lock, out: &mut dyn Write) -> CmdResult {
    let mut rows: Vec<[String; 4]> = Vec::new();
    let mut listed_vendor = Vec::new();
    for (entry, _) in loading::pack_entries(project, lock) {
        match entry {
            PackEntry::Builtin(n) => {
                let names = if n == "all" {
                    packs::builtin_names()
                } else {
                    vec![n]
                };
                for n in names {
                    let version = packs::builtin(&n)
                        .ok()
                        .and_then(|p| p.manifest.map(|m| m.version.to_string()))
                        .unwrap_or_default();
                    if !rows.iter().any(|r| r[0] == n) {
                        rows.push([n, version, Origin::Builtin.as_str().into(), String::new()]);
                    }
                }
            }
            PackEntry::Path(p) => {
                let shown = if project.root.as_os_str().is_empty() {
                    PathBuf::from(&p)
                } else {
                    project.root.join(&p)
                };
                let (name, version) =
                    match packs::from_folder(Origin::Path, &ctx.resolve(&shown), &shown) {
                        Ok(pack) => (
                            pack.name,
                            pack.manifest
                                .map(|m| m.version.to_string())
                                .unwrap_or_default(),
                        ),
                        Err(_) => ("?".into(), "(invalid)".into()),
                    };
                rows.push([
                    name,
                    version,
                    Origin::Path.as_str().into(),
                    escape::path(&shown),
                ]);
            }
            PackEntry::Vendor(n) => {
                listed_vendor.push(n.clone());
                match lock.get(&n) {
                    Some(l) => rows.push([
                        n,
                        l.version.clone(),
                        Origin::Vendor.as_str().into(),
                        describe(l),
                    ]),
                    None => rows.push([
                        n,
                        String::new(),
                        "vendored".into(),
                        "(not in rulerun.lock)".into(),
                    ]),
                }
            }
        }
    }
    for l in &lock.packs {
        if !listed_vendor.contains(&l.name) {
            rows.push([
                l.name.clone(),
                l.version.clone(),
                "vendored, unused".into(),
                describe(l),
            ]);
        }
    }
    let rows: Vec<[String; 4]> = rows
        .into_iter()
        .map(|r| r.map(|cell| escape::line(&cell).into_owned()))
        .collect();
    let w: Vec<usize> = (0..3)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2]
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(exit::OK)
}
