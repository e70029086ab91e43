//! What a command that runs rules loads: the configuration, its packs (built-in,
//! local folders, vendored ones verified against `rulerun.lock`), rule files from
//! `--rules`, then the configuration's overrides.
//!
//! Rule ids are unique across everything loaded. When two packs define the same
//! id, that is an error naming both files, unless `rulerun.yaml` says which pack
//! wins (`rules: {ID: {from: PACK}}`): the winner's file is then loaded first, and
//! the loser's definition is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rulerun_core::rule::OverrideError;
use rulerun_core::yaml::{NodeKind, Pos};
use rulerun_core::{LoadError, LoadErrorKind, RuleSet, SourceFile, load_rule_sources};

use crate::args::RuleSourceArgs;
use crate::config::{self, Ctx, PackEntry, Project};
use crate::packs::{self, Origin, Pack};
use crate::sources::{self, Found};
use crate::vendor::{self, LOCK_FILE, Lock, VENDOR_DIR};

/// Where a loaded rule came from and what the configuration changed.
#[derive(Debug, Clone)]
pub struct RuleOrigin {
    /// The pack's name (`--rules` for command-line files).
    pub pack: String,
    pub origin: Origin,
    /// What `rulerun.yaml` changed, e.g. `severity low (was high)`.
    pub overrides: Vec<String>,
}

/// A rule `rulerun.yaml` disabled.
#[derive(Debug, Clone)]
pub struct Disabled {
    pub id: String,
    pub title: String,
    pub severity: rulerun_core::Severity,
    pub source: String,
    pub origin: RuleOrigin,
}

/// Everything a command loaded.
#[derive(Debug)]
pub struct Loaded {
    pub rules: RuleSet,
    pub origins: BTreeMap<String, RuleOrigin>,
    pub disabled: Vec<Disabled>,
    pub project: Project,
}

/// Which configuration to use (`--config`, `--no-config`).
#[derive(Debug, Clone, Default)]
pub struct ConfigChoice {
    pub file: Option<PathBuf>,
    pub disabled: bool,
}

/// Loads the project's configuration and lock.
pub fn project(ctx: &Ctx, choice: &ConfigChoice) -> Result<Project, Vec<LoadError>> {
    config::project(ctx, choice.file.as_deref(), choice.disabled)
}

/// Reads the project's lock.
pub fn lock(ctx: &Ctx, project: &Project) -> Result<Lock, Vec<LoadError>> {
    let shown = project.path(LOCK_FILE);
    Lock::read(&shown, &ctx.resolve(&shown))
}

/// The packs the project uses, in order (before `--no-builtin`).
pub fn pack_entries(project: &Project, lock: &Lock) -> Vec<(PackEntry, Pos)> {
    match project.config.as_ref().and_then(|c| c.packs.clone()) {
        Some(p) => p,
        None => {
            let mut v = vec![(PackEntry::Builtin("all".into()), Pos::default())];
            for p in &lock.packs {
                v.push((PackEntry::Vendor(p.name.clone()), Pos::default()));
            }
            v
        }
    }
}

/// Loads a vendored pack after checking it against the lock.
pub fn vendored_pack(
    ctx: &Ctx,
    project: &Project,
    lock: &Lock,
    name: &str,
    at: Option<(&Path, Pos)>,
) -> Result<Pack, Vec<LoadError>> {
    let where_ = |message: String, help: String| {
        let (file, pos) = at.unwrap_or((Path::new(LOCK_FILE), Pos::default()));
        vec![LoadError::new(
            file,
            pos,
            LoadErrorKind::Other {
                message,
                help: Some(help),
            },
        )]
    };
    let Some(locked) = lock.get(name) else {
        return Err(where_(
            format!("pack `{name}` is not vendored: `rulerun.lock` has no entry for it"),
            format!("vendor it with `rulerun pack vendor SOURCE --name {name}`"),
        ));
    };
    let dir = project.path(&format!("{VENDOR_DIR}/{name}"));
    let problems = vendor::verify(&ctx.resolve(&dir), locked);
    if !problems.is_empty() {
        return Err(problems
            .iter()
            .map(|p| {
                LoadError::new(
                    &dir.join(&p.path),
                    Pos::default(),
                    LoadErrorKind::Other {
                        message: format!(
                            "vendored pack `{name}` fails verification: {}",
                            problem_text(p)
                        ),
                        help: Some(format!(
                            "`rulerun pack verify` lists every difference; restore the pack with `rulerun pack update {name} --force`"
                        )),
                    },
                )
            })
            .collect());
    }
    let mut pack = packs::from_folder(Origin::Vendor, &ctx.resolve(&dir), &dir)?;
    pack.name = name.to_string();
    Ok(pack)
}

/// What a verification problem means, in words.
pub fn problem_text(p: &vendor::Problem) -> String {
    match p.what {
        "modified" | "added" | "removed" => format!("file {} since it was vendored", p.what),
        other => other.to_string(),
    }
}

/// Loads rules for `check`, `collect`, `explain` and `rules list`.
pub fn load(
    ctx: &Ctx,
    choice: &ConfigChoice,
    src: &RuleSourceArgs,
) -> Result<Loaded, Vec<LoadError>> {
    let project = project(ctx, choice)?;
    let lock = lock(ctx, &project)?;
    let config_file = project
        .config
        .as_ref()
        .map(|c| c.file.clone())
        .unwrap_or_default();
    let mut errors = Vec::new();
    let mut packs: Vec<Pack> = Vec::new();
    let mut builtin_seen = BTreeSet::new();
    for (entry, pos) in pack_entries(&project, &lock) {
        match entry {
            PackEntry::Builtin(name) => {
                if src.no_builtin {
                    continue;
                }
                let names = if name == "all" {
                    packs::builtin_names()
                } else {
                    vec![name]
                };
                for n in names {
                    if !builtin_seen.insert(n.clone()) {
                        continue;
                    }
                    match packs::builtin(&n) {
                        Ok(p) => packs.push(p),
                        Err(mut e) => errors.append(&mut e),
                    }
                }
            }
            PackEntry::Path(p) => {
                let shown = if project.root.as_os_str().is_empty() {
                    PathBuf::from(&p)
                } else {
                    project.root.join(&p)
                };
                match packs::from_folder(Origin::Path, &ctx.resolve(&shown), &shown) {
                    Ok(pack) => packs.push(pack),
                    Err(mut e) => errors.append(&mut e),
                }
            }
            PackEntry::Vendor(name) => {
                let at = (pos.line > 0).then_some((config_file.as_path(), pos));
                match vendored_pack(ctx, &project, &lock, &name, at) {
                    Ok(pack) => packs.push(pack),
                    Err(mut e) => errors.append(&mut e),
                }
            }
        }
    }
    // Pack names are how `from:` picks a winner: they must be unique.
    let mut names: BTreeMap<&str, &Path> = BTreeMap::new();
    for p in &packs {
        if let Some(first) = names.insert(&p.name, &p.root) {
            errors.push(LoadError::new(
                &p.root.join("pack.yaml"),
                Pos::default(),
                LoadErrorKind::Other {
                    message: format!(
                        "two packs are named `{}`: {} and {}",
                        p.name,
                        crate::escape::path(first),
                        crate::escape::path(&p.root)
                    ),
                    help: Some(
                        "vendor one under another name with `rulerun pack vendor SOURCE --name NAME`"
                            .into(),
                    ),
                },
            ));
        }
    }
    if !src.paths.is_empty() {
        let mut found = Found::default();
        sources::from_paths(&src.paths, &|p| ctx.resolve(p), &mut found, &mut errors);
        packs.push(Pack {
            name: "--rules".into(),
            origin: Origin::CommandLine,
            manifest: None,
            root: PathBuf::new(),
            files: found,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let from: BTreeMap<String, (String, Pos)> = project
        .config
        .iter()
        .flat_map(|c| c.rules.iter())
        .filter_map(|r| r.from.clone().map(|f| (r.id.clone(), f)))
        .collect();
    let (files, owners, ids) = order_files(&packs, &from, &config_file, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let scopes = packs::scopes(&packs);
    let loaded_names: BTreeSet<String> = packs.iter().map(|p| p.name.clone()).collect();
    let library = packs::builtin_part_library(&loaded_names);
    let (mut rules, load_errors) = load_rule_sources(&files, &scopes, &library);
    for e in load_errors {
        match duplicate(&e, &ids, &owners, &packs, &from) {
            Dup::NotADuplicate => errors.push(e),
            Dup::Resolved => {}
            Dup::AcrossPacks(better) => errors.push(better),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut origins = BTreeMap::new();
    for r in &rules.rules {
        if let Some(&pi) = owners.get(&r.source.file)
            && let Some(p) = packs.get(pi)
        {
            origins.insert(
                r.id.clone(),
                RuleOrigin {
                    pack: p.name.clone(),
                    origin: p.origin.clone(),
                    overrides: Vec::new(),
                },
            );
        }
    }
    let disabled = apply_overrides(&project, &mut rules, &mut origins, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Loaded {
        rules,
        origins,
        disabled,
        project,
    })
}

/// The rule ids a rule file defines, with their positions (a quick look before
/// loading, to find collisions across packs).
fn ids_of(text: &str) -> Vec<(String, Pos)> {
    let Ok(root) = rulerun_core::yaml::parse(text) else {
        return Vec::new();
    };
    let NodeKind::Map(entries) = &root.kind else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in entries {
        if k.as_str() != Some("rules") {
            continue;
        }
        let NodeKind::Seq(items) = &v.kind else {
            continue;
        };
        for item in items {
            let NodeKind::Map(fields) = &item.kind else {
                continue;
            };
            for (fk, fv) in fields {
                if fk.as_str() == Some("id")
                    && let Some(id) = fv.as_str()
                {
                    out.push((id.to_string(), item.pos));
                }
            }
        }
    }
    out
}

type Ordered = (
    Vec<SourceFile>,
    BTreeMap<PathBuf, usize>,
    BTreeMap<String, Vec<(usize, PathBuf)>>,
);

/// The rule files of all packs in load order: pack order, except that a file
/// holding a rule `from:` picks comes before the files of other packs defining
/// the same id. Returns the files, each file's pack, and every id's definitions.
fn order_files(
    packs: &[Pack],
    from: &BTreeMap<String, (String, Pos)>,
    config_file: &Path,
    errors: &mut Vec<LoadError>,
) -> Ordered {
    let mut files: Vec<(usize, &SourceFile)> = Vec::new();
    for (pi, p) in packs.iter().enumerate() {
        for f in &p.files.rules {
            files.push((pi, f));
        }
    }
    let owners: BTreeMap<PathBuf, usize> =
        files.iter().map(|(pi, f)| (f.path.clone(), *pi)).collect();
    let mut ids: BTreeMap<String, Vec<(usize, PathBuf)>> = BTreeMap::new();
    let mut defs: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (fi, (pi, f)) in files.iter().enumerate() {
        for (id, _) in ids_of(&f.text) {
            ids.entry(id.clone())
                .or_default()
                .push((*pi, f.path.clone()));
            defs.entry(id).or_default().push(fi);
        }
    }
    // Edges winner file -> loser file.
    let mut after: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); files.len()];
    let mut indegree = vec![0usize; files.len()];
    for (id, (pack, pos)) in from {
        let Some(file_idx) = defs.get(id) else {
            continue; // reported with the other overrides of unknown rules
        };
        let winners: Vec<usize> = file_idx
            .iter()
            .copied()
            .filter(|fi| {
                files
                    .get(*fi)
                    .and_then(|(pi, _)| packs.get(*pi))
                    .is_some_and(|p| p.name == *pack)
            })
            .collect();
        let Some(&winner) = winners.first() else {
            let defined_by: BTreeSet<String> = file_idx
                .iter()
                .filter_map(|fi| files.get(*fi).and_then(|(pi, _)| packs.get(*pi)))
                .map(|p| format!("`{}`", p.name))
                .collect();
            errors.push(LoadError::new(
                config_file,
                *pos,
                LoadErrorKind::Other {
                    message: format!("pack `{pack}` does not define rule `{id}`"),
                    help: Some(format!(
                        "it is defined by {}",
                        defined_by.into_iter().collect::<Vec<_>>().join(", ")
                    )),
                },
            ));
            continue;
        };
        for &fi in file_idx {
            if fi != winner
                && after.get_mut(winner).is_some_and(|s| s.insert(fi))
                && let Some(d) = indegree.get_mut(fi)
            {
                *d += 1;
            }
        }
    }
    // Kahn's algorithm, taking the earliest ready file each time.
    let mut ready: BTreeSet<usize> = (0..files.len())
        .filter(|i| indegree.get(*i) == Some(&0))
        .collect();
    let mut order = Vec::with_capacity(files.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &j in after.get(i).into_iter().flatten() {
            if let Some(d) = indegree.get_mut(j) {
                *d -= 1;
                if *d == 0 {
                    ready.insert(j);
                }
            }
        }
    }
    if order.len() != files.len() {
        errors.push(LoadError::new(
            config_file,
            Pos::default(),
            LoadErrorKind::Other {
                message: "the `from:` choices contradict each other: each of two files would have to load first".into(),
                help: Some("pick the same pack for rules that share a file".into()),
            },
        ));
    }
    let ordered = order
        .into_iter()
        .filter_map(|i| files.get(i).map(|(_, f)| (*f).clone()))
        .collect();
    (ordered, owners, ids)
}

enum Dup {
    NotADuplicate,
    Resolved,
    AcrossPacks(LoadError),
}

/// Classifies a load error: a duplicate id that `from:` resolved is dropped; one
/// across packs gets a message naming both packs and how to choose.
fn duplicate(
    e: &LoadError,
    ids: &BTreeMap<String, Vec<(usize, PathBuf)>>,
    owners: &BTreeMap<PathBuf, usize>,
    packs: &[Pack],
    from: &BTreeMap<String, (String, Pos)>,
) -> Dup {
    let LoadErrorKind::DuplicateRuleId { id, first } = e.kind.as_ref() else {
        return Dup::NotADuplicate;
    };
    let this_pack = owners.get(&e.file).and_then(|pi| packs.get(*pi));
    let Some(this_pack) = this_pack else {
        return Dup::NotADuplicate;
    };
    if let Some((winner, _)) = from.get(id)
        && *winner != this_pack.name
    {
        return Dup::Resolved;
    }
    let other = ids
        .get(id)
        .into_iter()
        .flatten()
        .filter_map(|(pi, _)| packs.get(*pi))
        .find(|p| p.name != this_pack.name);
    let Some(other) = other else {
        return Dup::NotADuplicate;
    };
    Dup::AcrossPacks(LoadError::new(
        &e.file,
        e.pos,
        LoadErrorKind::Other {
            message: format!(
                "rule id `{id}` of pack `{}` is also defined by pack `{}` at {first}",
                this_pack.name, other.name
            ),
            help: Some(format!(
                "rename one, or say which wins in rulerun.yaml: `rules: {{{id}: {{from: {}}}}}`",
                other.name
            )),
        },
    ))
}

/// Applies `rules:` of `rulerun.yaml`; returns the disabled rules.
fn apply_overrides(
    project: &Project,
    rules: &mut RuleSet,
    origins: &mut BTreeMap<String, RuleOrigin>,
    errors: &mut Vec<LoadError>,
) -> Vec<Disabled> {
    let Some(config) = &project.config else {
        return Vec::new();
    };
    let file = config.file.clone();
    let mut disabled_ids = BTreeSet::new();
    for rc in &config.rules {
        let Some(rule) = rules.get(&rc.id) else {
            let help = match rulerun_core::error::closest(
                &rc.id,
                rules.rules.iter().map(|r| r.id.as_str()),
            ) {
                Some(c) => format!("did you mean `{c}`?"),
                None => "`rulerun rules list` shows the loaded rules".into(),
            };
            errors.push(LoadError::new(
                &file,
                rc.pos,
                LoadErrorKind::Other {
                    message: format!("no loaded rule has id `{}`", rc.id),
                    help: Some(help),
                },
            ));
            continue;
        };
        let was = rule.severity;
        let mut notes = Vec::new();
        if let Some((sev, pos)) = rc.severity {
            match rules.set_severity(&rc.id, sev) {
                Ok(()) => notes.push(format!("severity {sev} (was {was})")),
                Err(e) => errors.push(override_error(&file, pos, &e)),
            }
        }
        for (name, value, pos) in &rc.params {
            match rules.set_param(&rc.id, name, value.clone()) {
                Ok(()) => notes.push(format!("params.{name}")),
                Err(e) => errors.push(override_error(&file, *pos, &e)),
            }
        }
        if let Some((pack, _)) = &rc.from {
            notes.push(format!("from {pack}"));
        }
        if rc.enabled == Some(false) {
            disabled_ids.insert(rc.id.clone());
            notes.push("disabled".into());
        }
        if let Some(o) = origins.get_mut(&rc.id) {
            o.overrides.extend(notes);
        }
    }
    let mut disabled = Vec::new();
    for r in &rules.rules {
        if disabled_ids.contains(&r.id) {
            disabled.push(Disabled {
                id: r.id.clone(),
                title: r.title.clone(),
                severity: r.severity,
                source: r.source.to_string(),
                origin: origins.get(&r.id).cloned().unwrap_or(RuleOrigin {
                    pack: String::new(),
                    origin: Origin::CommandLine,
                    overrides: Vec::new(),
                }),
            });
        }
    }
    rules.retain(|r| !disabled_ids.contains(&r.id));
    disabled
}

fn override_error(file: &Path, pos: Pos, e: &OverrideError) -> LoadError {
    let help = match e {
        OverrideError::UnknownParam { param, known, .. } => Some(
            match rulerun_core::error::closest(param, known.iter().map(String::as_str)) {
                Some(c) => format!("did you mean `{c}`?"),
                None if known.is_empty() => "this rule has no parameters".into(),
                None => format!("its parameters: {}", packs::backticked(known)),
            },
        ),
        OverrideError::WrongType { .. } => {
            Some("`rulerun explain RULE` shows each parameter with its default".into())
        }
        OverrideError::UnknownRule(_) => None,
    };
    LoadError::new(
        file,
        pos,
        LoadErrorKind::Other {
            message: e.to_string(),
            help,
        },
    )
}

/// The packs that the packs among `paths` use (`uses:` in their `pack.yaml`,
/// followed transitively) and that `paths` do not name, and for a path inside a
/// pack (a rule's folder) the rest of that pack: their rule and part files are
/// added to `found` (their tests are not), so that a pack's tests run
/// with the rules they expect beside them, as `check` would load them (a test of
/// `eks-image-pull` expecting `pod-image-pull-failing` to be superseded failed
/// with "no loaded rule has id"). A used pack is read from a sibling folder of
/// the same name when one holds a `pack.yaml` of that name (the pack being
/// developed beside it), else from the built-in packs. Returns the sibling
/// folders read (for [`scopes_of_found`]) and the files added.
pub fn add_used_packs(
    paths: &[PathBuf],
    ctx: &Ctx,
    found: &mut Found,
    errors: &mut Vec<LoadError>,
) -> (Vec<PathBuf>, BTreeSet<PathBuf>) {
    let before: BTreeSet<PathBuf> = found.rules.iter().map(|f| f.path.clone()).collect();
    let manifest_of = |p: &Path| {
        let text = rulerun_core::read::read_text(
            &ctx.resolve(&p.join("pack.yaml")),
            rulerun_core::read::Limit::CONFIG,
        )
        .ok()?;
        packs::parse_manifest(&p.join("pack.yaml"), &text).ok()
    };
    let mut have: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<(PathBuf, String)> = Vec::new();
    for p in paths {
        if let Some(m) = manifest_of(p) {
            have.insert(m.name.clone());
            todo.extend(m.uses.iter().map(|u| (p.clone(), u.clone())));
        }
    }
    let mut extra = Vec::new();
    // A folder or file inside a pack (a rule's folder): the rest of its pack is
    // loaded beside it (its parts, its other rules), and what the pack uses.
    for p in paths {
        if manifest_of(p).is_some() {
            continue;
        }
        let Some((root, m)) = p
            .ancestors()
            .skip(1)
            .filter(|a| !a.as_os_str().is_empty())
            .find_map(|a| manifest_of(a).map(|m| (a.to_path_buf(), m)))
        else {
            continue;
        };
        if !have.insert(m.name.clone()) {
            continue;
        }
        let present: BTreeSet<PathBuf> = found.rules.iter().map(|f| f.path.clone()).collect();
        let mut theirs = Found::default();
        sources::from_paths(
            std::slice::from_ref(&root),
            &|p| ctx.resolve(p),
            &mut theirs,
            errors,
        );
        found.rules.extend(
            theirs
                .rules
                .into_iter()
                .filter(|f| !present.contains(&f.path)),
        );
        todo.extend(m.uses.iter().map(|u| (root.clone(), u.clone())));
        extra.push(root);
    }
    while let Some((from, name)) = todo.pop() {
        if !have.insert(name.clone()) {
            continue;
        }
        let sibling = from.parent().map(|d| d.join(&name));
        if let Some(sibling) = sibling
            && let Some(m) = manifest_of(&sibling).filter(|m| m.name == name)
        {
            let mut theirs = Found::default();
            sources::from_paths(
                std::slice::from_ref(&sibling),
                &|p| ctx.resolve(p),
                &mut theirs,
                errors,
            );
            found.rules.append(&mut theirs.rules);
            todo.extend(m.uses.iter().map(|u| (sibling.clone(), u.clone())));
            extra.push(sibling);
        } else if let Ok(pack) = packs::builtin(&name) {
            let uses = pack.manifest.as_ref().map(|m| m.uses.clone());
            found.rules.extend(pack.files.rules);
            todo.extend(
                uses.unwrap_or_default()
                    .into_iter()
                    .map(|u| (pack.root.clone(), u)),
            );
        }
        // A pack found nowhere is reported where its `uses:` is checked.
    }
    let added = found
        .rules
        .iter()
        .map(|f| f.path.clone())
        .filter(|p| !before.contains(p))
        .collect();
    (extra, added)
}

/// The packs of the files `validate` and `test` read: a file below a folder that
/// holds `pack.yaml` (a named path, a folder inside one, or a built-in pack)
/// belongs to the innermost such pack;
/// other files are loose. Also returns the built-in parts those packs may use
/// when their packs are not among the files.
pub fn scopes_of_found(
    found: &Found,
    paths: &[PathBuf],
    ctx: &Ctx,
) -> (rulerun_core::PackScopes, Vec<(String, SourceFile)>) {
    let mut scopes = rulerun_core::PackScopes::default();
    let mut roots: Vec<(PathBuf, String)> = Vec::new();
    for name in packs::builtin_names() {
        roots.push((
            PathBuf::from(format!("{}/{name}", sources::BUILTIN_PREFIX)),
            name.clone(),
        ));
        if let Ok(p) = packs::builtin(&name)
            && let Some(m) = &p.manifest
        {
            packs::add_kinds(&mut scopes, &m.kinds);
            scopes.uses.insert(name, m.uses.clone());
        }
    }
    // A named path that is a pack, and a pack folder inside a named path (`rulerun
    // test rules` names the folder of several packs): the files found below it
    // belong to that pack, so its parts are the ones on disk, not the built-in
    // pack of the same name.
    let mut folders: BTreeSet<PathBuf> = paths.iter().cloned().collect();
    for f in &found.rules {
        for a in f.path.ancestors().skip(1) {
            if a.as_os_str().is_empty() || !paths.iter().any(|p| a.starts_with(p)) {
                break;
            }
            folders.insert(a.to_path_buf());
        }
    }
    for p in &folders {
        let real = ctx.resolve(p);
        let manifest = real.join("pack.yaml");
        if let Ok(text) =
            rulerun_core::read::read_text(&manifest, rulerun_core::read::Limit::CONFIG)
            && let Ok(m) = packs::parse_manifest(&p.join("pack.yaml"), &text)
        {
            roots.push((p.clone(), m.name.clone()));
            packs::add_kinds(&mut scopes, &m.kinds);
            scopes.uses.insert(m.name, m.uses);
        }
    }
    let mut present = BTreeSet::new();
    for f in &found.rules {
        // the innermost pack holding the file
        if let Some((_, name)) = roots
            .iter()
            .filter(|(root, _)| f.path.starts_with(root))
            .max_by_key(|(root, _)| root.components().count())
        {
            scopes.pack_of.insert(f.path.clone(), name.clone());
            present.insert(name.clone());
        }
    }
    let library = packs::builtin_part_library(&present);
    (scopes, library)
}
