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
    // `rulerun::run` is `run_in` the current folder.
    rulerun_in(Path::new(""), args)
}

/// Runs `rulerun ARGS...` in-process as if started in `dir` (relative paths,
/// `rulerun.yaml` and `rulerun.lock` are found there).
pub fn rulerun_in<S: AsRef<str>>(dir: &Path, args: &[S]) -> Run {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut argv = vec!["rulerun".to_string()];
    argv.extend(args.iter().map(|a| a.as_ref().to_string()));
    let term = rulerun::Terminal {
        color: false,
        progress: false,
    };
    let code = rulerun::run_in(dir, argv, term, &mut out, &mut err);
    Run {
        code,
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    }
}

/// A fenced code block of a Markdown file.
pub struct Block {
    /// The info string after the opening fence (`yaml`, `json`, `text`).
    pub lang: String,
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The lines between the fences.
    pub body: Vec<String>,
}

impl Block {
    /// The value after `# TAG: ` on the block's first line.
    pub fn tag(&self, tag: &str) -> Option<String> {
        let first = self.body.first()?;
        let rest = first.strip_prefix('#')?.trim_start();
        let value = rest.strip_prefix(tag)?.strip_prefix(':')?;
        Some(value.trim().to_string())
    }

    pub fn text(&self) -> String {
        let mut s = self.body.join("\n");
        s.push('\n');
        s
    }
}

/// The fenced blocks of a Markdown text (fences at column 0).
pub fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        match open.take() {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some(Block {
                        lang: info.trim().to_string(),
                        line: i + 1,
                        body: Vec::new(),
                    });
                }
            }
            Some(mut b) => {
                if line.trim_end() == "```" {
                    out.push(b);
                } else {
                    b.body.push(line.to_string());
                    open = Some(b);
                }
            }
        }
    }
    assert!(open.is_none(), "a code block is not closed");
    out
}
