//! docs/writing-rules.md, replayed step by step in a temporary folder.
//!
//! The tutorial works in `/tmp/tutorial`; here that is a fresh temporary folder
//! (the path is swapped in commands and files, and swapped back in outputs),
//! which does not exist until the tutorial's first `mkdir -p`: every folder a
//! file goes into must have been made by a command before, as on a reader's
//! machine. In order, top to bottom:
//!
//! - a ```` ```sh ```` block: one command per line, run in the current folder
//!   (`rulerun ...` in-process, `git ...` as a process, `cd`, `mkdir -p`,
//!   `cat FILE`, `echo TEXT >> FILE`, `sed -i 's/OLD/NEW/' FILE` with literal
//!   OLD and NEW, first occurrence per line, and `cat > FILE <<'EOF'` heredocs). A
//!   trailing `# exits N` is the expected exit code (default 0). ```` ```shell ````
//!   blocks (installing rulerun) are not replayed.
//! - a block whose leading comments hold `# file: PATH`: written to PATH (the
//!   `# file:` and `# example:` lines left out).
//! - a ```` ```text ```` block right after a ```` ```sh ```` block: the output
//!   (stdout, then stderr) of that block's last command, exactly, except that
//!   commit hashes and sha256 sums may differ. `UPDATE_EXPECT=1` rewrites these
//!   blocks from the real output.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{blocks, root};

const DOC: &str = "docs/writing-rules.md";
const TUTORIAL_ROOT: &str = "/tmp/tutorial";

/// Splits a command line into words: whitespace-separated, with '...' and "..."
/// quoting; a `#` starting a word begins a comment.
fn words(line: &str) -> (Vec<String>, Option<String>) {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                in_word = true;
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                    cur.push(d);
                }
            }
            '#' if !in_word => {
                let comment: String = chars.collect();
                return (out, Some(comment.trim().to_string()));
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    (out, None)
}

struct Replay {
    root: PathBuf,
    cwd: PathBuf,
}

impl Replay {
    fn path(&self, p: &str) -> PathBuf {
        let p = p.replace(TUTORIAL_ROOT, &self.root.display().to_string());
        self.cwd.join(p)
    }

    /// Writes a file as the reader would: into a folder an earlier command made.
    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        assert!(
            p.parent().is_some_and(Path::is_dir),
            "the tutorial writes `{rel}` before a command makes its folder (add a `mkdir -p`)"
        );
        let text = text.replace(TUTORIAL_ROOT, &self.root.display().to_string());
        std::fs::write(p, text).unwrap();
    }

    /// Runs one command; returns (exit code, output).
    fn run(&mut self, argv: &[String], at: &str) -> (i32, String) {
        let argv: Vec<String> = argv
            .iter()
            .map(|a| a.replace(TUTORIAL_ROOT, &self.root.display().to_string()))
            .collect();
        match argv.first().map(String::as_str) {
            Some("cd") => {
                self.cwd = self.path(&argv[1]);
                (0, String::new())
            }
            Some("mkdir") => {
                for d in argv.iter().skip(1).filter(|a| !a.starts_with('-')) {
                    std::fs::create_dir_all(self.path(d)).unwrap();
                }
                (0, String::new())
            }
            Some("cat") => (0, std::fs::read_to_string(self.path(&argv[1])).unwrap()),
            Some("echo") => {
                assert_eq!(
                    argv.get(argv.len() - 2).map(String::as_str),
                    Some(">>"),
                    "{at}: only `echo TEXT >> FILE`"
                );
                use std::io::Write as _;
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(self.path(&argv[argv.len() - 1]))
                    .unwrap();
                writeln!(f, "{}", argv[1..argv.len() - 2].join(" ")).unwrap();
                (0, String::new())
            }
            Some("sed") => {
                let [_, flag, script, file] = argv.as_slice() else {
                    panic!("{at}: only `sed -i 's/OLD/NEW/' FILE`");
                };
                assert_eq!(flag, "-i", "{at}: only `sed -i 's/OLD/NEW/' FILE`");
                let parts: Vec<&str> = script.split('/').collect();
                let [_, old, new, _] = parts.as_slice() else {
                    panic!("{at}: only `sed -i 's/OLD/NEW/' FILE`, without `/` in OLD or NEW");
                };
                let path = self.path(file);
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(text.contains(old), "{at}: `{old}` is not in {file}");
                let edited: String = text
                    .split_inclusive('\n')
                    .map(|l| l.replacen(old, new, 1))
                    .collect();
                std::fs::write(path, edited).unwrap();
                (0, String::new())
            }
            Some("git") => {
                let out = Command::new("git")
                    .args([
                        "-c",
                        "user.name=Team A",
                        "-c",
                        "user.email=team-a@example.com",
                    ])
                    .args([
                        "-c",
                        "init.defaultBranch=main",
                        "-c",
                        "commit.gpgsign=false",
                    ])
                    .args(&argv[1..])
                    .current_dir(&self.cwd)
                    .env_remove("GIT_DIR")
                    .env_remove("GIT_WORK_TREE")
                    .output()
                    .unwrap();
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                (out.status.code().unwrap_or(-1), text)
            }
            Some("rulerun") => {
                let mut out = Vec::new();
                let mut err = Vec::new();
                let code = rulerun::run_in(
                    &self.cwd,
                    argv.clone(),
                    rulerun::Terminal {
                        color: false,
                        progress: false,
                    },
                    &mut out,
                    &mut err,
                );
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&err)
                );
                (code, text)
            }
            other => panic!("{at}: the tutorial test cannot run {other:?}"),
        }
    }
}

/// Output as the doc shows it: the temporary folder back to `/tmp/tutorial`.
fn shown(root: &Path, text: &str) -> String {
    text.replace(&root.display().to_string(), TUTORIAL_ROOT)
}

/// Hex words of 12 or more characters (commits, sha256 sums) made equal.
fn normalized(text: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let hex = word.len() >= 12
            && word
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            && word.chars().any(|c| c.is_ascii_digit());
        if hex {
            out.push_str("<hex>");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_writing_rules_tutorial_runs_as_written() {
    let doc_path = root().join(DOC);
    let markdown = std::fs::read_to_string(&doc_path).unwrap();
    let lines: Vec<&str> = markdown.lines().collect();
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().canonicalize().unwrap();
    let mut replay = Replay {
        root: base.join("tutorial"),
        cwd: base.clone(),
    };
    let mut last: Option<(usize, String)> = None; // (line, output) of the last command
    let mut after_sh = false;
    let mut replacements: Vec<(usize, usize, String)> = Vec::new();
    let mut mismatches = Vec::new();
    let mut commands = 0;
    for b in blocks(&markdown) {
        let at = format!("{DOC}:{}", b.line);
        let file_tag = b
            .body
            .iter()
            .take_while(|l| l.starts_with('#'))
            .find_map(|l| l.strip_prefix("# file:").map(|p| p.trim().to_string()));
        if let Some(path) = file_tag {
            let text: Vec<&str> = b
                .body
                .iter()
                .map(String::as_str)
                .filter(|l| !l.starts_with("# file:") && !l.starts_with("# example:"))
                .collect();
            replay.write(&path, &format!("{}\n", text.join("\n")));
            after_sh = false;
            continue;
        }
        match b.lang.as_str() {
            "sh" => {
                let mut i = 0;
                while i < b.body.len() {
                    let line = b.body[i].trim();
                    let here = format!("{DOC}:{}", b.line + i + 1);
                    i += 1;
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    if let Some(rest) = line.strip_prefix("cat > ") {
                        let (target, _) = rest.split_once(" <<").expect("cat > FILE <<'EOF'");
                        let mut text = String::new();
                        while i < b.body.len() && b.body[i] != "EOF" {
                            text.push_str(&b.body[i]);
                            text.push('\n');
                            i += 1;
                        }
                        i += 1;
                        replay.write(target.trim(), &text);
                        continue;
                    }
                    let (argv, comment) = words(line);
                    let want_code = comment
                        .as_deref()
                        .and_then(|c| c.strip_prefix("exits "))
                        .map(|n| n.trim().parse::<i32>().unwrap())
                        .unwrap_or(0);
                    let (code, output) = replay.run(&argv, &here);
                    assert_eq!(code, want_code, "{here}: `{line}` exited {code}:\n{output}");
                    last = Some((b.line + i, shown(&replay.root, &output)));
                    commands += 1;
                }
                after_sh = true;
            }
            "text" if after_sh => {
                let (line, output) = last
                    .take()
                    .unwrap_or_else(|| panic!("{at}: no command before this output"));
                let want = b.body.join("\n");
                if normalized(&want) != normalized(output.trim_end()) {
                    mismatches.push(format!(
                        "{at} (output of the command at line {line}):\n--- documented\n{want}\n--- actual\n{}",
                        output.trim_end()
                    ));
                }
                replacements.push((b.line, b.line + b.body.len(), output.trim_end().to_string()));
                after_sh = false;
            }
            _ => after_sh = false,
        }
    }
    assert!(commands >= 15, "{DOC}: only {commands} commands replayed");
    if mismatches.is_empty() {
        return;
    }
    // Stale: the tutorial with every output replaced by the actual one
    // (`UPDATE_EXPECT=1` writes it).
    eprintln!(
        "the tutorial's outputs differ:\n\n{}",
        mismatches.join("\n\n")
    );
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    for (start, end, text) in &replacements {
        out.extend(lines[i..*start].iter().map(|l| l.to_string()));
        out.extend(text.lines().map(str::to_string));
        i = *end;
    }
    out.extend(lines[i..].iter().map(|l| l.to_string()));
    expect_test::expect_file![&doc_path].assert_eq(&format!("{}\n", out.join("\n")));
}
