//! Rule packs: a folder with `pack.yaml` (name, version, description, the rulerun
//! versions it needs, the rule files it holds) plus its rules, tests and fixtures.
//! The built-in packs under `rules/` have the same form (embedded in the binary).

pub mod schema;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rulerun_core::testing::is_test_file;
use rulerun_core::yaml::Pos;
use rulerun_core::{LoadError, LoadErrorKind, SourceFile};

use crate::decode::{Decoder, is_contained_relative, is_pack_name};
use crate::sources::{self, BUILTIN_PREFIX, Found};

/// Keys of `pack.yaml`.
pub const MANIFEST_KEYS: &[&str] = &[
    "name",
    "version",
    "description",
    "rulerun",
    "rules",
    "parts",
    "uses",
    "kinds",
    "tests",
];

/// Keys of `tests:` in `pack.yaml`.
pub const MANIFEST_TESTS_KEYS: &[&str] = &["requireMustNotFire"];

/// A parsed `pack.yaml`.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub name: String,
    pub version: semver::Version,
    /// The rulerun versions the pack works with.
    pub rulerun: Option<semver::VersionReq>,
    /// Rule files, relative to the pack folder, `/`-separated.
    pub rules: Vec<String>,
    /// Where `rules:` is written, for errors about it.
    pub rules_pos: Pos,
    /// Part files (shared bindings, conditions and fix steps), relative to the
    /// pack folder.
    pub parts: Vec<String>,
    /// Packs whose public parts this pack's rules may use (`PACK/PART`).
    pub uses: Vec<String>,
    /// Fact kinds the pack declares for facts teams bring in snapshots (`kinds:`).
    pub kinds: Vec<rulerun_core::catalog::Kind>,
    /// `tests: {requireMustNotFire: true}`: every rule needs a case expecting no
    /// finding from it.
    pub require_must_not_fire: bool,
}

/// This rulerun's version.
pub fn rulerun_version() -> semver::Version {
    semver::Version::parse(env!("CARGO_PKG_VERSION")).unwrap_or(semver::Version::new(0, 0, 0))
}

/// Parses a `pack.yaml` (`file` is the name errors are reported under).
pub fn parse_manifest(file: &Path, text: &str) -> Result<Manifest, Vec<LoadError>> {
    let mut d = Decoder::new(file);
    let manifest = manifest(&mut d, text);
    match manifest {
        Some(m) if d.errors.is_empty() => Ok(m),
        _ => Err(d.errors),
    }
}

fn manifest(d: &mut Decoder, text: &str) -> Option<Manifest> {
    let root = d.parse(text)?;
    let f = d.fields(&root, "a pack manifest", MANIFEST_KEYS)?;
    let name = d.required(&f, "name", "a pack manifest").and_then(|n| {
        let name = d.string(n, "name")?;
        if !is_pack_name(&name) {
            d.invalid(
                n,
                "name",
                &name,
                "pack names are lowercase words joined by `-`, e.g. `platform-rules`",
            );
            return None;
        }
        Some(name)
    });
    let version = d.required(&f, "version", "a pack manifest").and_then(|n| {
        let v = d.string(n, "version")?;
        match semver::Version::parse(&v) {
            Ok(v) => Some(v),
            Err(e) => {
                d.invalid(
                    n,
                    "version",
                    &v,
                    format!("a semantic version such as `1.2.0` ({e})"),
                );
                None
            }
        }
    });
    if let Some(n) = f.get("description") {
        d.string(n, "description");
    }
    let rulerun = match f.get("rulerun") {
        Some(n) => {
            let req = d.string(n, "rulerun")?;
            match semver::VersionReq::parse(&req) {
                Ok(r) => Some(r),
                Err(e) => {
                    d.invalid(
                        n,
                        "rulerun",
                        &req,
                        format!("a version requirement such as `\">=0.1.0\"` ({e})"),
                    );
                    return None;
                }
            }
        }
        None => None,
    };
    let rules_node = d.required(&f, "rules", "a pack manifest")?;
    let mut rules = Vec::new();
    let mut parts = Vec::new();
    let lists = [
        Some(("rules", rules_node)),
        f.get("parts").map(|n| ("parts", n)),
    ];
    for (key, node) in lists.into_iter().flatten() {
        for item in d.seq(node, key, "a list of files") {
            let Some(path) = d.string(item, key) else {
                continue;
            };
            if !is_contained_relative(&path) {
                d.invalid(
                    item,
                    key,
                    &path,
                    "files are relative paths inside the pack folder, without `..`",
                );
                continue;
            }
            if rules.contains(&path) || parts.contains(&path) {
                d.other(item.pos, format!("`{path}` is listed twice"), None);
                continue;
            }
            if key == "rules" {
                rules.push(path);
            } else {
                parts.push(path);
            }
        }
    }
    let mut uses = Vec::new();
    if let Some(n) = f.get("uses") {
        for item in d.seq(n, "uses", "a list of pack names") {
            let Some(u) = d.string(item, "uses") else {
                continue;
            };
            if !is_pack_name(&u) {
                d.invalid(
                    item,
                    "uses",
                    &u,
                    "pack names are lowercase words joined by `-`, e.g. `eks-image-pull`",
                );
                continue;
            }
            uses.push(u);
        }
    }
    let kinds = f
        .get("kinds")
        .map(|n| rulerun_core::catalog::decode_kinds(d, n))
        .unwrap_or_default();
    let mut require_must_not_fire = false;
    if let Some(n) = f.get("tests")
        && let Some(t) = d.fields(n, "`tests` of a pack manifest", MANIFEST_TESTS_KEYS)
        && let Some(b) = t.get("requireMustNotFire")
    {
        require_must_not_fire = d.bool(b, "requireMustNotFire").unwrap_or(false);
    }
    Some(Manifest {
        kinds,
        require_must_not_fire,
        name: name?,
        version: version?,
        rulerun,
        rules,
        rules_pos: rules_node.pos,
        parts,
        uses,
    })
}

impl Manifest {
    /// An error when this rulerun is not one the pack accepts.
    pub fn check_rulerun_version(&self, file: &Path) -> Option<LoadError> {
        let req = self.rulerun.as_ref()?;
        let have = rulerun_version();
        if req.matches(&have) {
            return None;
        }
        Some(LoadError::new(
            file,
            Pos::default(),
            LoadErrorKind::Other {
                message: format!(
                    "pack `{}` {} needs rulerun `{req}`; this is rulerun {have}",
                    self.name, self.version
                ),
                help: Some(
                    "upgrade rulerun, or vendor a version of the pack made for this one".into(),
                ),
            },
        ))
    }
}

/// Where a pack comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Built into rulerun.
    Builtin,
    /// A folder named in `rulerun.yaml`.
    Path,
    /// Vendored under `vendor/rulepacks/`, verified against `rulerun.lock`.
    Vendor,
    /// `--rules` on the command line (no manifest).
    CommandLine,
}

impl Origin {
    pub fn as_str(&self) -> &'static str {
        match self {
            Origin::Builtin => "built-in",
            Origin::Path => "path",
            Origin::Vendor => "vendored",
            Origin::CommandLine => "command line",
        }
    }
}

/// A pack's files, ready to load.
#[derive(Debug)]
pub struct Pack {
    /// The pack's name (`--rules` for command-line files).
    pub name: String,
    pub origin: Origin,
    pub manifest: Option<Manifest>,
    /// The pack folder as shown (`<builtin>/kubernetes`, `team-rules`, ...).
    pub root: PathBuf,
    pub files: Found,
}

/// The names of the built-in packs.
pub fn builtin_names() -> Vec<String> {
    let mut names = BTreeSet::new();
    for (rel, _) in sources::embedded_files() {
        if let Some((pack, rest)) = rel.split_once('/')
            && rest == "pack.yaml"
        {
            names.insert(pack.to_string());
        }
    }
    names.into_iter().collect()
}

/// A built-in pack, checked like any pack folder.
pub fn builtin(name: &str) -> Result<Pack, Vec<LoadError>> {
    let prefix = format!("{name}/");
    let files: Vec<(String, String)> = sources::embedded_files()
        .iter()
        .filter_map(|(rel, text)| {
            rel.strip_prefix(&prefix)
                .map(|r| (r.to_string(), (*text).to_string()))
        })
        .collect();
    let root = PathBuf::from(format!("{BUILTIN_PREFIX}/{name}"));
    let Some((_, manifest_text)) = files.iter().find(|(r, _)| r == "pack.yaml") else {
        return Err(vec![LoadError::new(
            &root,
            Pos::default(),
            LoadErrorKind::Other {
                message: format!("no built-in pack is named `{name}`"),
                help: Some(format!("built-in packs: {}", backticked(&builtin_names()))),
            },
        )]);
    };
    let yaml_files: Vec<(String, String)> = files
        .iter()
        .filter(|(r, _)| is_pack_yaml(r))
        .cloned()
        .collect();
    assemble(Origin::Builtin, &root, manifest_text, yaml_files)
}

/// Whether a path inside a pack is a rule or test file (not a fixture, not a
/// manifest, not hidden).
fn is_pack_yaml(rel: &str) -> bool {
    let hidden_or_fixture = rel
        .split('/')
        .any(|c| c.starts_with('.') || c == "fixtures");
    let yaml = rel.ends_with(".yaml") || rel.ends_with(".yml");
    let name = rel.rsplit('/').next().unwrap_or(rel);
    yaml && !hidden_or_fixture && name != "pack.yaml" && name != "rulerun.yaml"
}

/// A pack folder on disk: `dir` is where to read, `shown` how paths are shown.
pub fn from_folder(origin: Origin, dir: &Path, shown: &Path) -> Result<Pack, Vec<LoadError>> {
    use rulerun_core::read::{Limit, read_text};
    let manifest_path = dir.join("pack.yaml");
    let manifest_text = read_text(&manifest_path, Limit::CONFIG).map_err(|e| {
        vec![LoadError::new(
            &shown.join("pack.yaml"),
            Pos::default(),
            LoadErrorKind::Other {
                message: format!("cannot read the pack manifest: {e}"),
                help: Some(
                    "a pack is a folder with `pack.yaml` (name, version, rules); see docs/packs.md"
                        .into(),
                ),
            },
        )]
    })?;
    let mut rels = Vec::new();
    walk_rel(dir, "", &mut rels).map_err(|e| {
        vec![LoadError::new(
            shown,
            Pos::default(),
            LoadErrorKind::Io(e.to_string()),
        )]
    })?;
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for rel in rels.into_iter().filter(|r| is_pack_yaml(r)) {
        match read_text(&dir.join(&rel), Limit::RULES) {
            Ok(t) => files.push((rel, t)),
            Err(e) => errors.push(e.load_error(&shown.join(&rel))),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    assemble(origin, shown, &manifest_text, files)
}

/// Files below `dir` as sorted `/`-separated relative paths; symbolic links are
/// not followed (and not listed).
fn walk_rel(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let ty = e.file_type()?;
        if ty.is_dir() {
            walk_rel(&e.path(), &rel, out)?;
        } else if ty.is_file() {
            out.push(rel);
        }
    }
    Ok(())
}

/// Checks a pack's manifest against its files and sorts them into rules and tests.
fn assemble(
    origin: Origin,
    root: &Path,
    manifest_text: &str,
    files: Vec<(String, String)>,
) -> Result<Pack, Vec<LoadError>> {
    let manifest_file = root.join("pack.yaml");
    let manifest = parse_manifest(&manifest_file, manifest_text)?;
    let mut errors = Vec::new();
    if let Some(e) = manifest.check_rulerun_version(&manifest_file) {
        errors.push(e);
    }
    let mut found = Found::default();
    let mut listed: BTreeSet<&str> = manifest
        .rules
        .iter()
        .chain(&manifest.parts)
        .map(String::as_str)
        .collect();
    for (rel, text) in files {
        let path = root.join(&rel);
        if is_test_file(&path) {
            found.tests.push(SourceFile { path, text });
            continue;
        }
        if !listed.remove(rel.as_str()) {
            errors.push(LoadError::new(
                &path,
                Pos::default(),
                LoadErrorKind::Other {
                    message: format!(
                        "rule file `{rel}` is not listed in pack `{}`",
                        manifest.name
                    ),
                    help: Some(format!(
                        "add `- {rel}` under `rules:` in {}",
                        crate::escape::path(&manifest_file)
                    )),
                },
            ));
            continue;
        }
        found.rules.push(SourceFile { path, text });
    }
    for missing in listed {
        errors.push(LoadError::new(
            &manifest_file,
            manifest.rules_pos,
            LoadErrorKind::Other {
                message: format!("file `{missing}` listed in `pack.yaml` does not exist"),
                help: Some("list the pack's rule files relative to `pack.yaml`".into()),
            },
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Pack {
        name: manifest.name.clone(),
        origin,
        manifest: Some(manifest),
        root: root.to_path_buf(),
        files: found,
    })
}

pub fn backticked(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The part files of the built-in packs not in `loaded`, as `(pack, file)`: a pack
/// may use a built-in pack's parts even when that pack's rules are not loaded
/// (`--no-builtin`, or `rulerun test` on a team pack).
pub fn builtin_part_library(loaded: &BTreeSet<String>) -> Vec<(String, SourceFile)> {
    let mut out = Vec::new();
    for name in builtin_names() {
        if loaded.contains(&name) {
            continue;
        }
        let Ok(pack) = builtin(&name) else {
            continue;
        };
        let Some(manifest) = &pack.manifest else {
            continue;
        };
        for f in pack.files.rules {
            let listed = manifest.parts.iter().any(|p| pack.root.join(p) == f.path);
            if listed {
                out.push((name.clone(), f));
            }
        }
    }
    out
}

/// The packs' scopes for loading: each file's pack (files of the `--rules`
/// pseudo-pack stay loose) and each pack's `uses:`.
pub fn scopes(packs: &[Pack]) -> rulerun_core::PackScopes {
    let mut scopes = rulerun_core::PackScopes::default();
    for p in packs {
        let Some(m) = &p.manifest else {
            continue;
        };
        for f in &p.files.rules {
            scopes.pack_of.insert(f.path.clone(), p.name.clone());
        }
        scopes.uses.insert(p.name.clone(), m.uses.clone());
        add_kinds(&mut scopes, &m.kinds);
    }
    scopes
}

/// Adds a pack's declared kinds to the load's; a kind two packs declare with
/// different shapes keeps the first declaration.
pub fn add_kinds(scopes: &mut rulerun_core::PackScopes, kinds: &[rulerun_core::catalog::Kind]) {
    for k in kinds {
        let _first_wins = scopes.kinds.add(k.clone());
    }
}
