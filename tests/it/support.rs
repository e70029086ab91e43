//! Helpers shared by the cross-crate tests.

use std::path::{Path, PathBuf};

/// The repository's root folder.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The result of running the CLI in-process.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A path below the repository root, as an argument.
pub fn repo(rel: &str) -> String {
    root().join(rel).display().to_string()
}

/// Runs `rulerun ARGS...` in-process (pass repository paths through [`repo`]).
pub fn rulerun<S: AsRef<str>>(args: &[S]) -> Run {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut argv = vec!["rulerun".to_string()];
    argv.extend(args.iter().map(|a| a.as_ref().to_string()));
    let code = rulerun::run(
        argv,
        rulerun::Terminal {
            color: false,
            progress: false,
        },
        &mut out,
        &mut err,
    );
    Run {
        code,
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    }
}
