//! Vendored rule packs: copies of other teams' packs under `vendor/rulepacks/NAME/`,
//! recorded in `rulerun.lock` with their source, ref, resolved commit and a sha256
//! per file, and verified against it before use.
//!
//! Sources are a local folder or a git repository at a ref
//! (`git+file:///srv/packs.git#v1.2`, `git+https://host/packs.git#<commit>`); the
//! system `git` fetches, run with explicit arguments (never through a shell), `--`
//! or `--end-of-options` before user input, and `GIT_*` variables removed from its
//! environment. A pack with a symbolic link, or with files that would land outside
//! its folder, is refused.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use rulerun_core::LoadError;
use rulerun_core::yaml::NodeKind;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::decode::{Decoder, is_contained_relative, is_pack_name};
use crate::{escape, packs};

/// The lock file's name, beside `rulerun.yaml`.
pub const LOCK_FILE: &str = "rulerun.lock";
/// Where vendored packs live, below the project folder.
pub const VENDOR_DIR: &str = "vendor/rulepacks";

/// At most this many files in one pack.
const MAX_FILES: usize = 10_000;
/// At most this many bytes in one pack.
const MAX_BYTES: u64 = 64 << 20;

/// An error of a pack operation, with advice.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PackError {
    pub message: String,
    pub help: Option<String>,
    /// Errors of files (a pack's manifest or rules), printed with positions.
    pub load: Vec<LoadError>,
}

impl PackError {
    pub fn new(message: impl Into<String>, help: Option<&str>) -> Self {
        PackError {
            message: message.into(),
            help: help.map(str::to_string),
            load: Vec::new(),
        }
    }
}

fn perr(message: impl Into<String>) -> PackError {
    PackError::new(message, None)
}

/// One vendored pack in the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub name: String,
    /// The source as given (`git+URL` without the ref, or a folder).
    pub source: String,
    /// The ref asked for (git only).
    pub reference: Option<String>,
    /// The commit it resolved to (git only).
    pub commit: Option<String>,
    /// The pack's version from its manifest.
    pub version: String,
    /// Relative path -> sha256 (hex).
    pub files: BTreeMap<String, String>,
}

/// `rulerun.lock`.
#[derive(Debug, Clone, Default)]
pub struct Lock {
    pub packs: Vec<Locked>,
}

impl Lock {
    pub fn get(&self, name: &str) -> Option<&Locked> {
        self.packs.iter().find(|p| p.name == name)
    }

    /// Reads the lock of the project at `root` (shown), `resolve` mapping shown
    /// paths to paths to read; no file is an empty lock.
    pub fn read(shown: &Path, read_path: &Path) -> Result<Lock, Vec<LoadError>> {
        let text = match rulerun_core::read::read_text(read_path, rulerun_core::read::Limit::CONFIG)
        {
            Ok(t) => t,
            Err(e) if e.is_not_found() => return Ok(Lock::default()),
            Err(e) => return Err(vec![e.load_error(shown)]),
        };
        parse_lock(shown, &text)
    }

    /// The lock as YAML (every string JSON-quoted, which YAML reads as is).
    pub fn to_yaml(&self) -> String {
        let q = |s: &str| Value::String(s.to_string()).to_string();
        let mut out = String::from(
            "# Written by `rulerun pack vendor` and `rulerun pack update`; do not edit.\n# `rulerun pack verify` checks vendor/rulepacks/ against it.\nversion: 1\npacks:",
        );
        if self.packs.is_empty() {
            out.push_str(" []\n");
            return out;
        }
        out.push('\n');
        let mut packs: Vec<&Locked> = self.packs.iter().collect();
        packs.sort_by(|a, b| a.name.cmp(&b.name));
        for p in packs {
            let _ = writeln!(out, "  - name: {}", q(&p.name));
            let _ = writeln!(out, "    version: {}", q(&p.version));
            let _ = writeln!(out, "    source: {}", q(&p.source));
            if let Some(r) = &p.reference {
                let _ = writeln!(out, "    ref: {}", q(r));
            }
            if let Some(c) = &p.commit {
                let _ = writeln!(out, "    commit: {}", q(c));
            }
            // `files:` and nothing would read back as null, not as no files.
            if p.files.is_empty() {
                out.push_str("    files: []\n");
            } else {
                out.push_str("    files:\n");
            }
            for (path, sha) in &p.files {
                let _ = writeln!(out, "      - {{path: {}, sha256: {}}}", q(path), q(sha));
            }
        }
        out
    }
}

const LOCK_KEYS: &[&str] = &["version", "packs"];
const LOCKED_KEYS: &[&str] = &["name", "version", "source", "ref", "commit", "files"];
const FILE_KEYS: &[&str] = &["path", "sha256"];

pub(crate) fn parse_lock(file: &Path, text: &str) -> Result<Lock, Vec<LoadError>> {
    let mut d = Decoder::new(file);
    let mut lock = Lock::default();
    if let Some(root) = d.parse(text)
        && let Some(f) = d.fields(&root, "rulerun.lock", LOCK_KEYS)
    {
        d.format_version(&f, "lock");
        if let Some(packs) = d.required(&f, "packs", "rulerun.lock") {
            for p in d.seq(packs, "packs", "a list of packs") {
                if let Some(l) = locked(&mut d, p) {
                    if lock.get(&l.name).is_some() {
                        d.other(p.pos, format!("pack `{}` is locked twice", l.name), None);
                    }
                    lock.packs.push(l);
                }
            }
        }
    }
    if d.errors.is_empty() {
        Ok(lock)
    } else {
        Err(d.errors)
    }
}

fn locked(d: &mut Decoder, node: &rulerun_core::yaml::Node) -> Option<Locked> {
    let f = d.fields(node, "a locked pack", LOCKED_KEYS)?;
    let s = |d: &mut Decoder, key: &'static str, required: bool| -> Option<String> {
        let n = if required {
            d.required(&f, key, "a locked pack")?
        } else {
            f.get(key)?
        };
        d.string(n, key)
    };
    let name = s(d, "name", true)?;
    if !is_pack_name(&name) {
        d.other(
            f.pos,
            format!("invalid pack name `{name}` in the lock"),
            None,
        );
        return None;
    }
    let version = s(d, "version", true)?;
    let source = s(d, "source", true)?;
    let reference = s(d, "ref", false);
    let commit = s(d, "commit", false);
    let files_node = d.required(&f, "files", "a locked pack")?;
    let mut files = BTreeMap::new();
    for item in d.seq(files_node, "files", "a list of `{path, sha256}`") {
        let Some(ff) = d.fields(item, "a locked file", FILE_KEYS) else {
            continue;
        };
        let path = d
            .required(&ff, "path", "a locked file")
            .and_then(|n| d.string(n, "path"));
        let sha = d
            .required(&ff, "sha256", "a locked file")
            .and_then(|n| d.string(n, "sha256"));
        let (Some(path), Some(sha)) = (path, sha) else {
            continue;
        };
        if !is_contained_relative(&path) {
            d.invalid(
                item,
                "path",
                &path,
                "locked paths are relative to the pack folder, without `..`",
            );
            continue;
        }
        let hex = sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit());
        if !hex {
            d.invalid(item, "sha256", &sha, "64 hexadecimal digits");
            continue;
        }
        if files.contains_key(&path) {
            // A second entry would win silently: the tampered file's hash after the
            // original's would pass verification.
            d.other(
                item.pos,
                format!("`{path}` is locked twice"),
                Some(
                    "each file of a pack has one entry; vendor the pack again to rewrite the lock"
                        .into(),
                ),
            );
            continue;
        }
        files.insert(path, sha.to_ascii_lowercase());
    }
    Some(Locked {
        name,
        source,
        reference,
        commit,
        version,
        files,
    })
}

/// The sha256 of bytes, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// What is wrong with one file of a vendored pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, relative to the pack folder.
    pub path: String,
    pub what: &'static str,
}

/// Compares a vendored folder with its lock entry: modified, added and removed
/// files, and anything that is not a regular file or folder.
pub fn verify(dir: &Path, locked: &Locked) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return vec![Problem {
                path: String::new(),
                what: "is not a folder",
            }];
        }
        Err(_) => {
            return vec![Problem {
                path: String::new(),
                what: "is missing",
            }];
        }
    }
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            problems.push(Problem {
                path: prefix,
                what: "cannot be read",
            });
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let Ok(ty) = e.file_type() else { continue };
            if ty.is_symlink() {
                problems.push(Problem {
                    path: rel,
                    what: "is a symbolic link",
                });
            } else if ty.is_dir() {
                stack.push((e.path(), rel));
            } else if !ty.is_file() {
                problems.push(Problem {
                    path: rel,
                    what: "is not a regular file",
                });
            } else {
                match locked.files.get(&rel) {
                    None => problems.push(Problem {
                        path: rel.clone(),
                        what: "added",
                    }),
                    Some(want) => match rulerun_core::read::read_bytes(
                        &e.path(),
                        rulerun_core::read::Limit::PACK_FILE,
                    ) {
                        Ok(bytes) if sha256_hex(&bytes) == *want => {}
                        Ok(_) => problems.push(Problem {
                            path: rel.clone(),
                            what: "modified",
                        }),
                        Err(_) => problems.push(Problem {
                            path: rel.clone(),
                            what: "cannot be read",
                        }),
                    },
                }
                seen.insert(rel);
            }
        }
    }
    for path in locked.files.keys() {
        if !seen.contains(path) {
            problems.push(Problem {
                path: path.clone(),
                what: "removed",
            });
        }
    }
    problems.sort_by(|a, b| a.path.cmp(&b.path));
    problems
}

/// Where a pack is vendored from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local folder, as given.
    Folder(String),
    /// A git repository (`url` without `git+`) at a ref.
    Git { url: String, reference: String },
}

impl Source {
    /// Parses `git+URL#REF` or a folder path.
    pub fn parse(text: &str) -> Result<Source, PackError> {
        let Some(rest) = text.strip_prefix("git+") else {
            return Ok(Source::Folder(text.to_string()));
        };
        let Some((url, reference)) = rest.rsplit_once('#') else {
            return Err(PackError::new(
                format!("git source `{text}` has no ref"),
                Some(
                    "add the tag, branch or commit after `#`, e.g. `git+https://example.com/packs.git#v1.2`",
                ),
            ));
        };
        check_ref(reference)?;
        let scheme_ok = ["file://", "https://", "http://", "ssh://"]
            .iter()
            .any(|s| url.starts_with(s));
        if !scheme_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(PackError::new(
                format!("unsupported git URL `{url}`"),
                Some("use `git+file://`, `git+https://`, `git+http://` or `git+ssh://`"),
            ));
        }
        Ok(Source::Git {
            url: url.to_string(),
            reference: reference.to_string(),
        })
    }

    /// The source as recorded in the lock (without the ref).
    pub fn recorded(&self) -> String {
        match self {
            Source::Folder(p) => p.clone(),
            Source::Git { url, .. } => format!("git+{url}"),
        }
    }
}

fn check_ref(reference: &str) -> Result<(), PackError> {
    let ok = !reference.is_empty()
        && !reference.starts_with('-')
        && !reference.contains("..")
        && reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-+".contains(c));
    if ok {
        Ok(())
    } else {
        Err(PackError::new(
            format!("invalid git ref `{reference}`"),
            Some(
                "a tag, branch or commit: letters, digits, `.`, `_`, `/`, `-`, `+`, not starting with `-`",
            ),
        ))
    }
}

/// A pack fetched into a temporary folder, checked, not yet installed.
pub struct Staged {
    /// Holds the temporary folder until dropped.
    _temp: tempfile::TempDir,
    /// The pack's files (the folder to copy from).
    pub dir: PathBuf,
    pub manifest: packs::Manifest,
    pub commit: Option<String>,
    /// Relative path -> sha256.
    pub files: BTreeMap<String, String>,
}

/// Fetches `source` (folder paths resolved with `resolve`) into a temporary
/// folder and checks it: only regular files and folders, within the limits, a
/// valid manifest, rules that load, and a rulerun version the pack accepts.
pub fn stage(source: &Source, resolve: &dyn Fn(&Path) -> PathBuf) -> Result<Staged, PackError> {
    let temp = tempfile::Builder::new()
        .prefix("rulerun-pack-")
        .tempdir()
        .map_err(|e| perr(format!("cannot create a temporary folder: {e}")))?;
    let copy = temp.path().join("pack");
    let (from, commit, shown) = match source {
        Source::Folder(p) => {
            let dir = resolve(Path::new(p));
            match std::fs::symlink_metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(PackError::new(
                        format!("`{p}` is a symbolic link"),
                        Some("give the pack folder itself"),
                    ));
                }
                _ => {
                    return Err(PackError::new(
                        format!("`{p}` is not a folder"),
                        Some("give a pack folder (with `pack.yaml`) or `git+URL#REF`"),
                    ));
                }
            }
            (dir, None, p.clone())
        }
        Source::Git { url, reference } => {
            let checkout = temp.path().join("checkout");
            let commit = git_fetch(url, reference, &checkout)?;
            (checkout, Some(commit), format!("git+{url}#{reference}"))
        }
    };
    let mut files = BTreeMap::new();
    let mut bytes = 0u64;
    copy_tree(&from, &copy, "", &mut files, &mut bytes, &shown)?;
    let pack =
        packs::from_folder(packs::Origin::Vendor, &copy, Path::new(&shown)).map_err(|load| {
            PackError {
                message: format!("`{shown}` is not a valid rule pack"),
                help: Some(
                    "a pack is a folder with `pack.yaml` (name, version, rules); see docs/packs.md"
                        .into(),
                ),
                load,
            }
        })?;
    let scopes = packs::scopes(std::slice::from_ref(&pack));
    let library = packs::builtin_part_library(&std::iter::once(pack.name.clone()).collect());
    let (_, errors) = rulerun_core::load_rule_sources(&pack.files.rules, &scopes, &library);
    if !errors.is_empty() {
        return Err(PackError {
            message: format!("the rules of `{shown}` do not load"),
            help: None,
            load: errors,
        });
    }
    let manifest = pack
        .manifest
        .ok_or_else(|| perr(format!("`{shown}` has no manifest")))?;
    Ok(Staged {
        _temp: temp,
        dir: copy,
        manifest,
        commit,
        files,
    })
}

/// Copies regular files and folders from `from` to `to`, hashing each file;
/// refuses symbolic links and special files. The top-level `.git` is skipped.
fn copy_tree(
    from: &Path,
    to: &Path,
    prefix: &str,
    files: &mut BTreeMap<String, String>,
    bytes: &mut u64,
    shown: &str,
) -> Result<(), PackError> {
    std::fs::create_dir_all(to)
        .map_err(|e| perr(format!("cannot create `{}`: {e}", escape::path(to))))?;
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .map_err(|e| perr(format!("cannot read `{}`: {e}", escape::path(from))))?
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            return Err(perr(format!(
                "`{shown}` holds a file whose name is not UTF-8: `{}`",
                escape::path(&Path::new(prefix).join(e.file_name()))
            )));
        };
        if prefix.is_empty() && name == ".git" {
            continue;
        }
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if !is_contained_relative(&rel) {
            return Err(PackError::new(
                format!("pack file `{rel}` would land outside the pack folder"),
                Some("pack files are plain relative paths"),
            ));
        }
        let ty = e
            .file_type()
            .map_err(|err| perr(format!("cannot read `{rel}`: {err}")))?;
        if ty.is_symlink() {
            return Err(PackError::new(
                format!("pack `{shown}` holds a symbolic link: `{rel}`"),
                Some(
                    "packs may only hold regular files and folders; a link could point outside the pack",
                ),
            ));
        }
        if ty.is_dir() {
            copy_tree(&e.path(), &to.join(&name), &rel, files, bytes, shown)?;
        } else if ty.is_file() {
            let mut data = Vec::new();
            std::fs::File::open(e.path())
                .and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut data))
                .map_err(|err| perr(format!("cannot read `{rel}`: {err}")))?;
            *bytes += data.len() as u64;
            if *bytes > MAX_BYTES || files.len() >= MAX_FILES {
                return Err(PackError::new(
                    format!("pack `{shown}` is too large"),
                    Some("a pack holds at most 10000 files and 64 MiB"),
                ));
            }
            std::fs::write(to.join(&name), &data)
                .map_err(|err| perr(format!("cannot write `{rel}`: {err}")))?;
            files.insert(rel, sha256_hex(&data));
        } else {
            return Err(PackError::new(
                format!("pack `{shown}` holds `{rel}`, which is not a regular file"),
                None,
            ));
        }
    }
    Ok(())
}

/// A `git` command with a clean environment (no `GIT_*` variables, no prompts).
fn git() -> Command {
    let mut cmd = Command::new("git");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("GIT_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    cmd.env("GIT_CONFIG_NOSYSTEM", "1");
    cmd.stdin(std::process::Stdio::null());
    cmd
}

fn run_git(cmd: &mut Command, what: &str) -> Result<String, PackError> {
    let out = cmd.output().map_err(|e| {
        PackError::new(
            format!("cannot run `git` to {what}: {e}"),
            Some("install git, or vendor from a local folder"),
        )
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string();
        return Err(perr(format!("git could not {what}: {last}")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Clones `url` into `dest` and checks out `reference`; returns the commit.
fn git_fetch(url: &str, reference: &str, dest: &Path) -> Result<String, PackError> {
    run_git(
        git()
            .args(["clone", "--quiet", "--no-checkout", "--"])
            .arg(url)
            .arg(dest),
        &format!("clone `{url}`"),
    )?;
    let mut commit = None;
    for candidate in [
        format!("{reference}^{{commit}}"),
        format!("refs/tags/{reference}^{{commit}}"),
        format!("origin/{reference}^{{commit}}"),
    ] {
        let r = git()
            .arg("-C")
            .arg(dest)
            .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
            .arg(&candidate)
            .output();
        if let Ok(out) = r
            && out.status.success()
        {
            let sha = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !sha.is_empty() {
                commit = Some(sha);
                break;
            }
        }
    }
    let Some(commit) = commit else {
        return Err(PackError::new(
            format!("`{url}` has no tag, branch or commit `{reference}`"),
            Some("`git ls-remote URL` lists the tags and branches"),
        ));
    };
    run_git(
        git()
            .arg("-C")
            .arg(dest)
            .args([
                "-c",
                "core.symlinks=true",
                "-c",
                "advice.detachedHead=false",
                "checkout",
                "--quiet",
                "--detach",
            ])
            .arg(&commit)
            .arg("--"),
        &format!("check out `{reference}`"),
    )?;
    Ok(commit)
}

/// Installs a staged pack at `dest`, replacing what is there.
pub fn install(staged: &Staged, dest: &Path) -> Result<(), PackError> {
    let parent = dest
        .parent()
        .ok_or_else(|| perr("the vendor folder has no parent"))?;
    // The folders on the way must be real folders, not links leading elsewhere.
    let mut on_the_way = parent.to_path_buf();
    loop {
        if let Ok(m) = std::fs::symlink_metadata(&on_the_way)
            && m.file_type().is_symlink()
        {
            return Err(PackError::new(
                format!("`{}` is a symbolic link", escape::path(&on_the_way)),
                Some("vendored packs are written below the project folder only"),
            ));
        }
        if on_the_way.file_name().is_some_and(|n| n == "vendor") || !on_the_way.pop() {
            break;
        }
    }
    std::fs::create_dir_all(parent)
        .map_err(|e| perr(format!("cannot create `{}`: {e}", escape::path(parent))))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let partial = parent.join(format!(".{name}.partial"));
    let _ = std::fs::remove_dir_all(&partial);
    let mut files = BTreeMap::new();
    let mut bytes = 0;
    copy_tree(&staged.dir, &partial, "", &mut files, &mut bytes, &name)?;
    if files != staged.files {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(perr("the pack changed while it was being copied"));
    }
    if std::fs::symlink_metadata(dest).is_ok() {
        std::fs::remove_dir_all(dest)
            .map_err(|e| perr(format!("cannot replace `{}`: {e}", escape::path(dest))))?;
    }
    std::fs::rename(&partial, dest)
        .map_err(|e| perr(format!("cannot write `{}`: {e}", escape::path(dest))))?;
    Ok(())
}

/// The rules of a pack folder, by id, as JSON (to tell what changed).
pub fn rules_by_id(dir: &Path, rule_files: &[String]) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for rel in rule_files {
        let Ok(text) =
            rulerun_core::read::read_text(&dir.join(rel), rulerun_core::read::Limit::RULES)
        else {
            continue;
        };
        let Ok(root) = rulerun_core::yaml::parse(&text) else {
            continue;
        };
        let NodeKind::Map(entries) = &root.kind else {
            continue;
        };
        for (k, v) in entries {
            if k.as_str() != Some("rules") {
                continue;
            }
            if let NodeKind::Seq(items) = &v.kind {
                for item in items {
                    let json = item.to_json();
                    if let Some(id) = json.get("id").and_then(Value::as_str) {
                        out.insert(id.to_string(), json.clone());
                    }
                }
            }
        }
    }
    out
}
