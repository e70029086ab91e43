//! Where rules and rule tests come from: the built-in packs embedded in the binary
//! and the files and folders given on the command line.

use std::path::{Path, PathBuf};

use rulerun_core::testing::is_test_file;
use rulerun_core::yaml::Pos;
use rulerun_core::{LoadError, LoadErrorKind, SourceFile};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}

/// The prefix under which built-in rule files are reported.
pub const BUILTIN_PREFIX: &str = "<builtin>";

/// Rule files and test files found.
#[derive(Debug, Default)]
pub struct Found {
    pub rules: Vec<SourceFile>,
    pub tests: Vec<SourceFile>,
}

fn is_fixture(path: &str) -> bool {
    path.split(['/', '\\']).any(|c| c == "fixtures")
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("pack.yaml" | "rulerun.yaml")
    )
}

/// The built-in rule and test files.
pub fn builtin() -> Found {
    let mut found = Found::default();
    for (rel, text) in embedded::BUILTIN_FILES {
        let path = PathBuf::from(format!("{BUILTIN_PREFIX}/{rel}"));
        if is_fixture(rel) || !is_yaml(&path) || is_manifest(&path) {
            continue;
        }
        let file = SourceFile {
            path,
            text: (*text).to_string(),
        };
        if is_test_file(&file.path) {
            found.tests.push(file);
        } else {
            found.rules.push(file);
        }
    }
    found
}

/// The embedded files of the built-in packs: (path below `rules/`, contents).
pub fn embedded_files() -> &'static [(&'static str, &'static str)] {
    embedded::BUILTIN_FILES
}

/// Reads rule and test files from files and folders (folders recursively, sorted;
/// `fixtures/` folders, hidden entries and non-YAML files skipped). Paths are
/// shown as given; `resolve` maps them to the paths to read.
pub fn from_paths(
    paths: &[PathBuf],
    resolve: &dyn Fn(&Path) -> PathBuf,
    found: &mut Found,
    errors: &mut Vec<LoadError>,
) {
    for p in paths {
        let real = resolve(p);
        if real.is_dir() {
            let mut files = Vec::new();
            if let Err(e) = walk(&real, &mut files) {
                errors.push(LoadError::new(
                    p,
                    Pos::default(),
                    LoadErrorKind::Io(e.to_string()),
                ));
            }
            for f in files {
                let shown = match f.strip_prefix(&real) {
                    Ok(rest) => p.join(rest),
                    Err(_) => f.clone(),
                };
                read_into(&f, &shown, found, errors);
            }
        } else if real.exists() {
            read_into(&real, p, found, errors);
        } else {
            errors.push(LoadError::new(
                p,
                Pos::default(),
                LoadErrorKind::Io("no such file or folder".into()),
            ));
        }
    }
}

fn read_into(path: &Path, shown: &Path, found: &mut Found, errors: &mut Vec<LoadError>) {
    match rulerun_core::read::read_text(path, rulerun_core::read::Limit::RULES) {
        Ok(text) => {
            let file = SourceFile {
                path: shown.to_path_buf(),
                text,
            };
            if is_test_file(shown) {
                found.tests.push(file);
            } else {
                found.rules.push(file);
            }
        }
        Err(e) => errors.push(e.load_error(shown)),
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for p in rulerun_core::parts::rule_tree_files(dir)? {
        if is_yaml(&p) && !is_manifest(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Reads a fixture file a rule test names: built-in paths from the embedded files,
/// others from the file system.
pub fn read_fixture(path: &Path, resolve: &dyn Fn(&Path) -> PathBuf) -> Result<String, String> {
    let text = path.to_string_lossy().replace('\\', "/");
    if let Some(rel) = text.strip_prefix(&format!("{BUILTIN_PREFIX}/")) {
        return embedded::BUILTIN_FILES
            .iter()
            .find(|(p, _)| *p == rel)
            .map(|(_, t)| (*t).to_string())
            .ok_or_else(|| "built-in rule tests can only use files inside their pack".to_string());
    }
    // Fixtures are facts.
    rulerun_core::read::read_text(&resolve(path), rulerun_core::read::Limit::FACTS)
        .map_err(|e| e.to_string())
}

/// The folder of a file, for pairing tests with rules.
pub fn folder_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}
