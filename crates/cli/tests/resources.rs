//! The resource test tier: hostile and broken inputs (issue #12), each run
//! through the real `rulerun` binary as a child process under an address-space
//! limit ([`MEMORY_LIMIT`], `RLIMIT_AS` set by `ulimit -v` in a `/bin/sh` that
//! then `exec`s rulerun: the workspace forbids `unsafe`, which `pre_exec` needs)
//! and a wall-clock bound ([`TIME_LIMIT`]: a child still running then is killed
//! and the case fails saying so). Each case asserts the exit code and the clean
//! error text, and that nothing panicked or ran out of memory.
//!
//! One [`Case`] per input; each class of defect is one test with its cases
//! (the class's siblings: every parser or flag the input reaches). With
//! `--nocapture`, each case prints its peak memory and time when
//! `/usr/bin/time` is there (for the record, never asserted).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The address space the child may map: far above what any of these inputs
/// needs once bounded, far below what the unbounded versions took.
const MEMORY_LIMIT: u64 = 2 << 30;
/// The wall-clock bound of one case. Not a timing assertion: a case that ends
/// at all ends in seconds; this only turns a hang into a failure.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// A file of a case, written into its working folder before it runs.
struct File {
    path: &'static str,
    content: Vec<u8>,
}

fn file(path: &'static str, content: impl Into<Vec<u8>>) -> File {
    File {
        path,
        content: content.into(),
    }
}

/// What the child reads on its standard input.
#[derive(Clone, Copy)]
enum Stdin {
    /// Nothing (`/dev/null`).
    Null,
    /// Spaces, without end, until rulerun stops reading.
    Endless,
}

/// One hostile input: files, arguments, and what rulerun must answer.
struct Case {
    name: &'static str,
    files: Vec<File>,
    /// Symbolic links: (link, target).
    links: Vec<(&'static str, &'static str)>,
    stdin: Stdin,
    /// The address-space limit of this case.
    memory: u64,
    args: Vec<&'static str>,
    /// The exit code (2: usage or input error, 0: clean, 1: findings).
    code: i32,
    /// Texts stderr must contain.
    stderr: Vec<&'static str>,
    /// Texts stdout must contain.
    stdout: Vec<&'static str>,
}

impl Case {
    fn new(name: &'static str, args: &[&'static str], code: i32) -> Case {
        Case {
            name,
            files: Vec::new(),
            links: Vec::new(),
            stdin: Stdin::Null,
            memory: MEMORY_LIMIT,
            args: args.to_vec(),
            code,
            stderr: Vec::new(),
            stdout: Vec::new(),
        }
    }

    fn file(mut self, path: &'static str, content: impl Into<Vec<u8>>) -> Case {
        self.files.push(file(path, content));
        self
    }

    fn link(mut self, link: &'static str, target: &'static str) -> Case {
        self.links.push((link, target));
        self
    }

    fn stdin(mut self, stdin: Stdin) -> Case {
        self.stdin = stdin;
        self
    }

    fn memory(mut self, bytes: u64) -> Case {
        self.memory = bytes;
        self
    }

    fn stderr(mut self, text: &'static str) -> Case {
        self.stderr.push(text);
        self
    }

    fn stdout(mut self, text: &'static str) -> Case {
        self.stdout.push(text);
        self
    }
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// Peak resident memory (KiB) and elapsed seconds, from `/usr/bin/time`.
    measured: Option<String>,
}

/// Runs `args` in `dir` under the limits; `None` when it had to be killed.
fn run_limited(dir: &Path, args: &[&str], stdin: Stdin, memory: u64) -> Option<Outcome> {
    let bin = env!("CARGO_BIN_EXE_rulerun");
    let measure = dir.join(".measured");
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M KiB peak, %e s").arg("-o").arg(&measure);
        c.arg("/bin/sh");
        c
    } else {
        Command::new("/bin/sh")
    };
    cmd.arg("-c")
        .arg(format!("ulimit -v {} && exec \"$0\" \"$@\"", memory / 1024))
        .arg(bin)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(match stdin {
            Stdin::Null => Stdio::null(),
            Stdin::Endless => Stdio::piped(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, so that a kill reaches rulerun under `time`.
    cmd.process_group(0);
    let mut child = cmd.spawn().unwrap();
    if let Some(mut input) = child.stdin.take() {
        // Until rulerun closes its end (a write error), or is gone.
        std::thread::spawn(move || {
            let spaces = [b' '; 64 * 1024];
            while input.write_all(&spaces).is_ok() {}
        });
    }
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > TIME_LIMIT {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = String::from_utf8_lossy(&out.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).into_owned();
    let status = status?;
    // `/usr/bin/time` exits with the child's code, and says so when it was
    // killed by a signal (then there is no code).
    let measured = std::fs::read_to_string(&measure).ok().map(|m| {
        m.lines()
            .filter(|l| !l.starts_with("Command "))
            .collect::<Vec<_>>()
            .join(" ")
    });
    Some(Outcome {
        code: status.code(),
        stdout,
        stderr,
        measured,
    })
}

/// Runs every case (each in a fresh folder) and fails with all that went wrong.
fn tier(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in cases {
        let tmp = tempfile::tempdir().unwrap();
        for f in &case.files {
            let p = tmp.path().join(f.path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, &f.content).unwrap();
        }
        for (link, target) in &case.links {
            let p = tmp.path().join(link);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, &p).unwrap();
        }
        let shown = format!("{}: rulerun {}", case.name, case.args.join(" "));
        let Some(o) = run_limited(tmp.path(), &case.args, case.stdin, case.memory) else {
            failures.push(format!(
                "{shown}: still running after {} s, killed",
                TIME_LIMIT.as_secs()
            ));
            continue;
        };
        println!(
            "{}: exit {:?}, {}",
            case.name,
            o.code,
            o.measured.as_deref().unwrap_or("not measured")
        );
        let mut wrong = Vec::new();
        if o.code != Some(case.code) {
            wrong.push(format!("exit {:?}, expected {}", o.code, case.code));
        }
        for text in &case.stderr {
            if !o.stderr.contains(text) {
                wrong.push(format!("stderr lacks {text:?}"));
            }
        }
        for text in &case.stdout {
            if !o.stdout.contains(text) {
                wrong.push(format!("stdout lacks {text:?}"));
            }
        }
        // What a panic, an abort on a failed allocation and a stack overflow print.
        for bad in [
            "panicked",
            "RUST_BACKTRACE",
            "memory allocation of",
            "has overflowed its stack",
        ] {
            if o.stderr.contains(bad) {
                wrong.push(format!("stderr says {bad:?}"));
            }
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{shown}: {}\n--- stdout\n{}\n--- stderr\n{}",
                wrong.join("; "),
                abbreviate(&o.stdout),
                abbreviate(&o.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn abbreviate(s: &str) -> String {
    if s.len() <= 4000 {
        s.to_string()
    } else {
        let mut end = 4000;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}... ({} bytes)", &s[..end], s.len())
    }
}

// ---------------------------------------------------------------------------
// Inputs

/// "Billion laughs": ten levels of nine aliases, 9^10 nodes once expanded,
/// under `key`, followed by `rest`.
fn alias_bomb(rest: &str) -> String {
    let mut s = String::from(
        "bomb:\n  a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(",");
        s.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    s.push_str(rest);
    s
}

/// `depth` nested arrays inside a Kubernetes object's `data`.
fn deep_json(depth: usize) -> String {
    format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"deep\",\"namespace\":\"default\"}},\"data\":{{\"x\":{}{}}}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

fn pod_with_name(name: &str) -> String {
    format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"{name}\",\"namespace\":\"default\"}},\"status\":{{\"phase\":\"Running\"}}}}"
    )
}

/// A rule file whose one rule matches pods whose name matches `regex`.
fn regex_rule(regex: &str) -> String {
    format!(
        "rules:\n  - id: hostile-regex\n    title: t\n    severity: low\n    subject: {{kind: k8s/v1/Pod, where: {{path: $.metadata.name, regex: {regex:?}}}}}\n    finding:\n      message: matched\n"
    )
}

const LOCK_HEAD: &str = "version: 1\npacks:\n  - name: \"team\"\n    version: \"1.0.0\"\n    source: \"../team-rules\"\n    files:\n";

// ---------------------------------------------------------------------------
// The harness itself

#[test]
fn the_harness_applies_the_address_space_limit() {
    // `ulimit -v` is what the cases rely on: check it reaches the exec'd process.
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {} && exec \"$0\" \"$@\"",
            MEMORY_LIMIT / 1024
        ))
        .arg("cat")
        .arg("/proc/self/limits")
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let limits = String::from_utf8_lossy(&out.stdout);
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))
        .unwrap_or_else(|| panic!("{limits}"));
    assert!(line.contains(&MEMORY_LIMIT.to_string()), "{line}");
    // And a run that is cut short is reported as a failure, not a pass.
    let o = run_limited(tmp.path(), &["--version"], Stdin::Null, MEMORY_LIMIT).unwrap();
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(o.stdout.starts_with("rulerun "), "{}", o.stdout);
}

// ---------------------------------------------------------------------------
// Classes fixed

#[test]
fn a_lock_listing_a_file_twice_is_refused() {
    let twice = format!(
        "{LOCK_HEAD}      - {{path: \"a/rule.yaml\", sha256: \"{}\"}}\n      - {{path: \"a/rule.yaml\", sha256: \"{}\"}}\n",
        "0".repeat(64),
        "1".repeat(64)
    );
    tier(vec![
        Case::new("pack verify", &["pack", "verify"], 2)
            .file("rulerun.lock", twice.clone())
            .stderr("rulerun.lock:8:9: error: `a/rule.yaml` is locked twice")
            .stderr("help: each file of a pack has one entry; vendor the pack again to rewrite the lock"),
        Case::new("check reads the lock too", &["check", "--facts", "pod.json"], 2)
            .file("rulerun.lock", twice)
            .file("pod.json", pod_with_name("web"))
            .stderr("`a/rule.yaml` is locked twice")
            .stderr("nothing was run"),
    ]);
}

#[test]
fn request_timeouts_out_of_range_are_refused_when_parsed() {
    let mut cases = Vec::new();
    for cmd in ["check", "collect"] {
        for value in ["18446744073709551615", "0"] {
            let mut args = vec![cmd, "--request-timeout", value];
            if cmd == "collect" {
                args.extend(["-o", "snapshot.json"]);
            }
            cases.push(
                Case::new("--request-timeout", &args, 2)
                    .stderr("error: invalid value '")
                    .stderr("for '--request-timeout <SECONDS>': ")
                    .stderr(" is not in 1..=3600"),
            );
        }
    }
    tier(cases);
}

#[test]
fn empty_fact_files_are_no_facts_not_a_healthy_cluster() {
    tier(vec![
        Case::new(
            "an empty file",
            &["check", "--no-config", "--facts", "empty.json"],
            2,
        )
        .file("empty.json", "")
        .stderr("error: no facts: `empty.json` holds no documents")
        .stderr("help: point --facts at a snapshot"),
        Case::new(
            "a folder of empty files",
            &["check", "--no-config", "--facts", "facts"],
            2,
        )
        .file("facts/a.json", "")
        .file("facts/b.yaml", "")
        .file("facts/c.yml", "\n\n")
        .stderr("error: no facts: `facts` holds no documents"),
        Case::new(
            "empty YAML documents",
            &["check", "--no-config", "--facts", "docs.yaml"],
            2,
        )
        .file("docs.yaml", "---\n---\n")
        .stderr("error: no facts: `docs.yaml` holds no documents"),
    ]);
}

#[test]
fn yaml_alias_bombs_are_refused_by_every_yaml_reader() {
    let budget = "invalid YAML: over the YAML parser's limit at ";
    tier(vec![
        Case::new(
            "fact file",
            &["check", "--no-config", "--facts", "bomb.yaml"],
            2,
        )
        .file("bomb.yaml", alias_bomb("apiVersion: v1\nkind: ConfigMap\n"))
        .stderr("bomb.yaml:")
        .stderr(budget),
        Case::new("rule file", &["validate", "--no-config", "bomb.yaml"], 2)
            .file("bomb.yaml", alias_bomb("rules: []\n"))
            .stderr("bomb.yaml:")
            .stderr(budget),
        Case::new(
            "rule test file",
            &["test", "--no-config", "bomb.test.yaml"],
            2,
        )
        .file("bomb.test.yaml", alias_bomb("tests: []\n"))
        .stderr("bomb.test.yaml:")
        .stderr(budget),
        Case::new("rulerun.yaml", &["rules", "list"], 2)
            .file("rulerun.yaml", alias_bomb("packs: []\n"))
            .stderr("rulerun.yaml:")
            .stderr(budget),
        Case::new("rulerun.lock", &["pack", "verify"], 2)
            .file("rulerun.lock", alias_bomb("version: 1\npacks: []\n"))
            .stderr("rulerun.lock:")
            .stderr(budget),
        Case::new(
            "query document",
            &["query", "--no-config", "$..*", "--input", "bomb.yaml"],
            2,
        )
        .file("bomb.yaml", alias_bomb(""))
        .stderr("bomb.yaml:")
        .stderr(budget),
    ]);
}

#[test]
fn deep_documents_are_refused_by_every_reader() {
    let deep = deep_json(100_000);
    let nesting = "error: nesting deeper than 127 levels of arrays and objects";
    tier(vec![
        Case::new("fact file", &["check", "--no-config", "--facts", "deep.json"], 2)
            .file("deep.json", deep.clone())
            .stderr("deep.json:1:225: ")
            .stderr(nesting)
            .stderr("help: no Kubernetes or AWS document nests this deep"),
        Case::new("fact file, YAML", &["check", "--no-config", "--facts", "deep.yaml"], 2)
            .file(
                "deep.yaml",
                format!(
                    "apiVersion: v1\nkind: ConfigMap\ndata: {}{}\n",
                    "[".repeat(100_000),
                    "]".repeat(100_000)
                ),
            )
            .stderr("deep.yaml:3:")
            .stderr("error: invalid YAML: recursion limit exceeded"),
        Case::new("fact file, YAML blocks", &["check", "--no-config", "--facts", "deep.yaml"], 2)
            .file(
                "deep.yaml",
                format!(
                    "apiVersion: v1\nkind: ConfigMap\ndata:\n{}",
                    (1..2000).map(|i| format!("{}- \n", "  ".repeat(i))).collect::<String>()
                ),
            )
            .stderr("deep.yaml:67:129: error: invalid YAML: over the YAML parser's limit at 65 levels of nesting (depth)"),
        Case::new("query document", &["query", "--no-config", "$", "--input", "deep.json"], 2)
            .file("deep.json", deep)
            .stderr("deep.json:1:225: nesting deeper than 127 levels of arrays and objects"),
        Case::new("iam eval input", &["iam", "eval", "--no-config", "deep.json"], 2)
            .file(
                "deep.json",
                format!(
                    "{{\"request\":{{\"principal\":\"x\",\"action\":\"a\",\"resource\":\"r\",\"context\":{{\"k\":{}{}}}}}}}",
                    "[".repeat(100_000),
                    "]".repeat(100_000)
                ),
            )
            .stderr("deep.json:1:")
            .stderr(nesting),
        Case::new("rule file", &["validate", "--no-config", "deep.yaml"], 2)
            .file("deep.yaml", format!("rules: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)))
            .stderr("deep.yaml:1:")
            .stderr("error: invalid YAML: recursion limit exceeded"),
    ]);
}

#[test]
fn numbers_out_of_range_are_refused_where_no_rule_reads_them() {
    let range = "error: number out of range: numbers are read as 64-bit floats, at most about 1.8e308 in size";
    let pod = |value: &str| {
        format!(
            "{{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {{\"name\": \"a\", \"namespace\": \"d\"}}, \"zz\": {value}}}"
        )
    };
    tier(vec![
        Case::new("1e999", &["check", "--no-config", "--facts", "pod.json"], 2)
            .file("pod.json", pod("1e999"))
            .stderr("pod.json:1:92: ")
            .stderr(range),
        Case::new(
            "-1e999",
            &["check", "--no-config", "--facts", "pod.json"],
            2,
        )
        .file("pod.json", pod("-1e999"))
        .stderr("pod.json:1:93: ")
        .stderr(range),
        Case::new(
            "400 digits",
            &["query", "--no-config", "$", "-i", "pod.json"],
            2,
        )
        .file("pod.json", pod(&format!("1{}", "0".repeat(400))))
        .stderr("pod.json:1:488: number out of range"),
    ]);
}

#[test]
fn catastrophic_regex_matchers_are_refused_or_linear() {
    let long_name = format!("{}b", "a".repeat(200_000));
    tier(vec![
        Case::new(
            "a regex too large to compile",
            &["check", "--no-config", "--no-builtin", "--rules", "rule.yaml", "--facts", "pod.json"],
            2,
        )
        .file("rule.yaml", regex_rule(r"(\w{100}){100}"))
        .file("pod.json", pod_with_name("web"))
        .stderr("rule.yaml:5:")
        .stderr("error: invalid regex `(\\w{100}){100}`: Compiled regex exceeds size limit of 1048576 bytes")
        .stderr("nothing was run"),
        Case::new(
            "a backtracking pattern on a long value",
            &["check", "--no-config", "--no-builtin", "--rules", "rule.yaml", "--facts", "pod.json", "-o", "json"],
            0,
        )
        .file("rule.yaml", regex_rule("^(a*)*(a|aa)*c$"))
        .file("pod.json", pod_with_name(&long_name))
        .stdout("\"findings\": []"),
    ]);
}

#[test]
fn templates_that_double_their_values_are_stopped_while_they_render() {
    let rule = |message: &str| {
        format!(
            "rules:\n  - id: doubling\n    title: t\n    severity: low\n    subject: {{kind: k8s/v1/Pod}}\n    finding:\n      message: {message:?}\n"
        )
    };
    let args = &[
        "check",
        "--no-config",
        "--no-builtin",
        "--rules",
        "rule.yaml",
        "--facts",
        "pod.json",
    ];
    tier(vec![
        Case::new("a list doubled 30 times", args, 2)
            .file(
                "rule.yaml",
                rule("{% set ns = namespace(x=[subject.metadata.name]) %}{% for i in range(30) %}{% set ns.x = ns.x + ns.x %}{% endfor %}{{ ns.x | length }}"),
            )
            .file("pod.json", pod_with_name("web"))
            .stdout("error: rule `doubling` failed on k8s/v1/Pod default/web: message: template failed: engine ran out of fuel (template line 1)")
            .stdout("no findings, 1 evaluation error(s)"),
        Case::new("a string doubled 40 times", args, 2)
            .file(
                "rule.yaml",
                rule("{% set ns = namespace(x=subject.metadata.name) %}{% for i in range(40) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x | length }}"),
            )
            .file("pod.json", pod_with_name("web"))
            .stdout("error: rule `doubling` failed on k8s/v1/Pod default/web: message: template failed: the value assigned to `x` exceeds the 1048576-byte value limit"),
        Case::new("a string repeated a billion times", args, 2)
            .file("rule.yaml", rule("{{ subject.metadata.name * 1000000000 }}"))
            .file("pod.json", pod_with_name("web"))
            .stdout("error: rule `doubling` failed on k8s/v1/Pod default/web: message: template failed: engine ran out of fuel (template line 1)"),
    ]);
}

#[test]
fn fact_streams_past_the_limit_are_refused_without_running_out_of_memory() {
    // The limit (2 GiB of facts) counts bytes read, so a pipe that never ends is
    // cut off; under a 1 GiB address space the buffer cannot reach the limit,
    // and its growth fails as an error, not an abort.
    tier(vec![
        Case::new(
            "--facts /dev/stdin",
            &["check", "--no-config", "--facts", "/dev/stdin"],
            2,
        )
        .stdin(Stdin::Endless)
        .memory(1 << 30)
        .stderr("/dev/stdin: error: cannot read file: out of memory")
        .stderr("nothing was run"),
        Case::new(
            "query from standard input",
            &["query", "--no-config", "$"],
            2,
        )
        .stdin(Stdin::Endless)
        .memory(1 << 30)
        .stderr("out of memory"),
    ]);
}

#[test]
fn kubeconfigs_that_do_not_end_are_refused_before_kube_reads_them() {
    // kube reads a kubeconfig whole; `/dev/zero` (or a pipe that never ends)
    // would fill memory. `--kubeconfig` and each file of `KUBECONFIG` are read
    // to at most 16 MiB.
    tier(vec![
        Case::new(
            "--kubeconfig /dev/zero",
            &["check", "--no-config", "--kubeconfig", "/dev/zero"],
            2,
        )
        .stderr("cannot use kubeconfig `/dev/zero`: more than 16 MiB, or a device or pipe that does not end"),
        Case::new(
            "--kubeconfig of 17 MiB",
            &["collect", "--no-config", "--kubeconfig", "big.yaml", "-o", "s.json"],
            2,
        )
        .file("big.yaml", format!("# {}\n", "x".repeat(17 << 20)))
        .stderr("cannot use kubeconfig `big.yaml`: more than 16 MiB"),
        Case::new(
            "--kubeconfig /dev/stdin",
            &["check", "--no-config", "--kubeconfig", "/dev/stdin"],
            2,
        )
        .stdin(Stdin::Endless)
        .stderr("cannot use kubeconfig `/dev/stdin`: more than 16 MiB"),
        // No --kubeconfig: kube's default, `~/.kube/config` (HOME is the case's folder).
        Case::new("~/.kube/config to /dev/zero", &["check", "--no-config"], 2)
            .link(".kube/config", "/dev/zero")
            .stderr("/.kube/config`: more than 16 MiB, or a device or pipe that does not end"),
    ]);
}

#[test]
fn link_loops_in_a_facts_folder_are_errors_naming_the_link() {
    tier(vec![
        Case::new(
            "a link to itself, to its folder's parent, and nowhere",
            &["check", "--no-config", "--facts", "facts"],
            2,
        )
        .file("facts/a.json", pod_with_name("a"))
        .link("facts/me.yaml", "me.yaml")
        .link("facts/sub/up", "..")
        .link("facts/aws-old.json", "aws.json")
        .stderr("facts/me.yaml: error: symbolic link to `me.yaml` loops back on itself")
        .stderr("facts/sub/up: error: symbolic link leads back to `")
        .stderr("`, a folder that holds it: a loop")
        .stderr("facts/aws-old.json: error: symbolic link to `aws.json` leads nowhere")
        .stderr("3 errors found; nothing was run"),
    ]);
}

#[test]
fn duplicate_json_keys_are_refused_as_yaml_ones_are() {
    let pods = "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n  {\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n   \"metadata\": {\"name\": \"a\", \"namespace\": \"default\", \"name\": \"b\"}}]}\n";
    tier(vec![
        Case::new(
            "fact file",
            &["check", "--no-config", "--facts", "pods.json"],
            2,
        )
        .file("pods.json", pods)
        .stderr("pods.json:3:59: error: duplicate key `name`"),
        Case::new(
            "query document",
            &["query", "--no-config", "$", "-i", "pods.json"],
            2,
        )
        .file("pods.json", pods)
        .stderr("pods.json:3:59: duplicate key `name`"),
        Case::new(
            "iam eval input",
            &["iam", "eval", "--no-config", "input.json"],
            2,
        )
        .file(
            "input.json",
            r#"{"request": {"action": "ecr:BatchGetImage", "action": "ecr:PutImage"}}"#,
        )
        .stderr("input.json:1:52: error: duplicate key `action`"),
        Case::new(
            "fact file, YAML",
            &["check", "--no-config", "--facts", "pods.yaml"],
            2,
        )
        .file(
            "pods.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: default\n  name: b\n",
        )
        .stderr("pods.yaml:6:3: error: duplicate key `name`"),
    ]);
}

/// Live collection from an API server that misbehaves (the stand-in of
/// `rulerun-kube-stub`, run in this process; rulerun, the child, reads it
/// through a kubeconfig): with the default limits, a list that never ends or
/// never stops paging leaves the kind inconclusive (exit 3) within the address
/// space, naming the limit and the flag; a malformed list is no "none found".
#[test]
fn live_lists_are_bounded_in_pages_and_bytes() {
    use rulerun_kube_stub::{Misbehaviour, Stub, StubServer};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let scenario = rulerun_kube_stub::load_fixtures(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/ui-private-403/cluster.json"
    )))
    .unwrap();
    let stub = |m: Misbehaviour| -> StubServer {
        runtime
            .block_on(
                Stub::new()
                    .objects(scenario.clone())
                    .misbehave("pods", m)
                    .start(),
            )
            .unwrap()
    };
    const RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/kubernetes");
    let check = [
        "check",
        "--no-config",
        "--no-builtin",
        "--rules",
        RULES,
        "--kubeconfig",
        "kubeconfig",
        "--context",
        "stub",
    ];
    let endless_body = stub(Misbehaviour::OversizedList { bytes: 16 << 30 });
    let endless_pages = stub(Misbehaviour::EndlessContinue);
    let looping = stub(Misbehaviour::RepeatedContinue);
    let malformed = stub(Misbehaviour::Items(Some("oops".into())));
    let kubeconfig = |s: &StubServer| s.kubeconfig_yaml("stub", None);
    let mut collect = check.to_vec();
    collect[0] = "collect";
    collect.extend(["-o", "snapshot.json"]);
    let mut list_bytes = check.to_vec();
    list_bytes.extend(["--max-list-bytes", "1MiB"]);
    tier(vec![
        Case::new("a list body of 16 GiB", &check, 3)
            .file("kubeconfig", kubeconfig(&endless_body))
            .stdout("`k8s/v1/Pod` could not be collected: the API server's answer to LIST `pods` is larger than the limit of 64 MiB per response")
            .stdout("raise `--max-response-bytes`"),
        Case::new("continue tokens without end", &check, 3)
            .file("kubeconfig", kubeconfig(&endless_pages))
            .stdout("`k8s/v1/Pod` could not be collected: LIST `pods` did not end after 2000 pages of 500 items")
            .stdout("raise `--max-list-pages`"),
        Case::new("pages over the per-list limit", &list_bytes, 3)
            .file("kubeconfig", kubeconfig(&endless_pages))
            .stdout("LIST `pods` is larger than the limit of 1 MiB per list")
            .stdout("raise `--max-list-bytes`"),
        Case::new("a continue token given twice", &check, 3)
            .file("kubeconfig", kubeconfig(&looping))
            .stdout("LIST `pods` would never end: the API server answered page 2 with the `continue` token it had given on page 1"),
        Case::new("items that is a string", &check, 3)
            .file("kubeconfig", kubeconfig(&malformed))
            .stdout("the API server's answer to LIST `pods` was malformed: `items` is a string, expected a list"),
        Case::new("items that is a string, collected", &collect, 3)
            .file("kubeconfig", kubeconfig(&malformed))
            .stderr("warning: rule `pod-image-pull-failing` could not decide: `k8s/v1/Pod` could not be collected: the API server's answer to LIST `pods` was malformed"),
    ]);
    // The 16 GiB body was not read: only what fits the limit and the sockets.
    let streamed = endless_body.streamed_bytes();
    assert!(streamed < 256 << 20, "{streamed} bytes streamed");
}

/// `depth` levels of alternating objects and arrays around one string: a
/// document where every `..` multiplies the nodes a path visits.
fn deep_alternating(depth: usize) -> String {
    let mut doc = "\"x\"".to_string();
    for i in 0..depth {
        doc = if i % 2 == 0 {
            format!("{{\"a\":{doc}}}")
        } else {
            format!("[{doc}]")
        };
    }
    doc
}

#[test]
fn jsonpath_descendants_and_match_patterns_are_bounded() {
    let deep = deep_alternating(110);
    let config_map = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"deep\",\"namespace\":\"default\"}},\"data\":{deep}}}"
    );
    let rule = |path: &str| {
        format!(
            "rules:\n  - id: paths\n    title: t\n    severity: low\n    subject: {{kind: k8s/v1/ConfigMap, where: {{path: '{path}', exists: true}}}}\n    finding:\n      message: m\n"
        )
    };
    let check = &[
        "check",
        "--no-config",
        "--no-builtin",
        "--rules",
        "rule.yaml",
        "--facts",
        "cm.json",
    ];
    let budget =
        "JSONPath `$..*..*..*..*` visits more than 1000000 nodes, its limit on this document";
    let pattern =
        "the pattern `\\w{200}` of `match()`: Compiled regex exceeds size limit of 1048576 bytes.";
    tier(vec![
        Case::new(
            "query: four descendant segments on 110 levels",
            &["query", "--no-config", "$..*..*..*..*", "-i", "deep.json"],
            2,
        )
        .file("deep.json", deep.clone())
        .stderr(budget)
        .stderr("help: each `..` and each list of selectors multiplies the nodes a path visits"),
        Case::new("rule: four descendant segments on 110 levels", check, 2)
            .file("rule.yaml", rule("$..*..*..*..*"))
            .file("cm.json", config_map.clone())
            .stdout("error: rule `paths` failed on k8s/v1/ConfigMap default/deep: ")
            .stdout(budget),
        Case::new(
            "query: a match() pattern too large to compile",
            &[
                "query",
                "--no-config",
                "$..[?match(@, \"\\\\w{200}\")]",
                "-i",
                "deep.json",
            ],
            2,
        )
        .file("deep.json", deep.clone())
        .stderr(pattern),
        Case::new("rule: a match() pattern too large to compile", check, 2)
            .file("rule.yaml", rule("$.data[?match(@, \"\\\\w{200}\")]"))
            .file("cm.json", config_map)
            .stderr("rule.yaml:5:")
            .stderr(pattern)
            .stderr("nothing was run"),
        Case::new(
            "query: a 100000-byte search() pattern from the document",
            &[
                "query",
                "--no-config",
                "$.items[?search(@.name, $.p)]",
                "-i",
                "doc.json",
            ],
            0,
        )
        .file(
            "doc.json",
            format!(
                "{{\"p\": \"{}\", \"items\": [{{\"name\": \"a\"}}]}}",
                "a".repeat(100_000)
            ),
        )
        .stdout("[]"),
    ]);
}
