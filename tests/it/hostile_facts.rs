//! Fact files read honestly (#12): the size limit counts bytes read (pipes,
//! FIFOs, devices), links in a `--facts` folder are followed with loops and
//! dangling links reported, duplicate JSON keys are refused as YAML's are, and
//! numbers out of range and deep nesting are refused wherever they are.
//!
//! Limits are lowered on the test's thread (`rulerun_core::read::with_test_limits`)
//! so that no test streams gigabytes; the CLI runs in-process on that thread.

use std::io::Write;
use std::path::{Path, PathBuf};

use rulerun_core::read::with_test_limits;

use crate::support::{Run, repo, rulerun};

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn pod(name: &str) -> String {
    format!(
        r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "{name}", "namespace": "default"}}, "status": {{"phase": "Running"}}}}"#
    )
}

fn refused(run: &Run) -> &str {
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    &run.stderr
}

/// A FIFO at `path`, made with `mkfifo`.
#[cfg(unix)]
fn fifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
}

/// Writes spaces into the FIFO at `path` until its reader goes away.
#[cfg(unix)]
fn endless_writer(path: PathBuf) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        let mut written = 0u64;
        while f.write_all(&[b' '; 8192]).is_ok() {
            written += 8192;
        }
        written
    })
}

#[cfg(target_os = "linux")]
#[test]
fn a_device_is_read_up_to_the_limit_and_refused() {
    let limit = "more than 1 MiB of facts; rulerun reads at most that much from one file";
    let run = with_test_limits(1 << 20, u64::MAX, || {
        rulerun(&["check", "--facts", "/dev/zero"])
    });
    assert_eq!(
        refused(&run),
        format!(
            "/dev/zero: error: {limit}\n  help: split the facts into several files in a folder and pass `--facts FOLDER`\n1 error found; nothing was run\n"
        )
    );
    let run = with_test_limits(1 << 20, u64::MAX, || {
        rulerun(&["query", "$", "-i", "/dev/zero"])
    });
    assert_eq!(
        refused(&run),
        format!("error: cannot read `/dev/zero`: {limit}\n")
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_is_read_whole_and_within_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    // A FIFO that never ends (as `--facts /dev/stdin` from a generator).
    let pipe = tmp.path().join("endless.json");
    fifo(&pipe);
    let writer = endless_writer(pipe.clone());
    let run = with_test_limits(256 << 10, u64::MAX, || {
        rulerun(&["check", "--facts", &s(&pipe)])
    });
    let written = writer.join().unwrap();
    let err = refused(&run);
    assert!(
        err.contains(&format!(
            "{}: error: more than 256 KiB of facts; rulerun reads at most that much from one file",
            s(&pipe)
        )),
        "{err}"
    );
    // The writer was stopped by the reader closing the pipe, not much past the limit.
    assert!(written < 1 << 20, "{written}");
    // A FIFO that ends is read like a file.
    let pipe = tmp.path().join("once.json");
    fifo(&pipe);
    let writer = {
        let pipe = pipe.clone();
        std::thread::spawn(move || std::fs::write(pipe, pod("web")).unwrap())
    };
    let run = rulerun(&["check", "--facts", &s(&pipe)]);
    writer.join().unwrap();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("over 1 facts"), "{}", run.stdout);
}

#[cfg(unix)]
#[test]
fn linked_files_and_folders_in_a_facts_folder_are_read() {
    use std::os::unix::fs::symlink;
    let example = Path::new(&repo("examples/ui-private-403"))
        .canonicalize()
        .unwrap();
    let want = rulerun(&["check", "--facts", &s(&example), "-o", "json"]);
    assert!(want.stdout.contains("ecr-repository-policy-denies-pull"));
    // The cluster as a file, the AWS facts as a link to a file outside the
    // folder: the diagnosis is the one of the example, not the Kubernetes-only one.
    let tmp = tempfile::tempdir().unwrap();
    let facts = tmp.path().join("facts");
    std::fs::create_dir_all(&facts).unwrap();
    std::fs::copy(example.join("cluster.json"), facts.join("cluster.json")).unwrap();
    symlink(example.join("aws.json"), facts.join("aws.json")).unwrap();
    let got = rulerun(&["check", "--facts", &s(&facts), "-o", "json"]);
    assert_eq!(got.stdout, want.stdout, "{}", got.stderr);
    assert_eq!(got.code, want.code);
    // A link to a folder, and a second link to a file already read (read once).
    let facts = tmp.path().join("by-folder");
    std::fs::create_dir_all(&facts).unwrap();
    symlink(&example, facts.join("example")).unwrap();
    symlink(example.join("aws.json"), facts.join("z-aws-again.json")).unwrap();
    let got = rulerun(&["check", "--facts", &s(&facts), "-o", "json"]);
    assert_eq!(got.stdout, want.stdout, "{}", got.stderr);
}

#[cfg(unix)]
#[test]
fn link_loops_and_dangling_links_are_errors_naming_the_link() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let facts = tmp.path().join("facts");
    std::fs::create_dir_all(facts.join("sub")).unwrap();
    std::fs::write(facts.join("a.json"), pod("a")).unwrap();
    symlink("..", facts.join("sub/up")).unwrap();
    symlink("aws.json", facts.join("aws-old.json")).unwrap();
    symlink("me.yaml", facts.join("me.yaml")).unwrap();
    let real = facts.canonicalize().unwrap();
    let run = rulerun(&["check", "--facts", &s(&facts)]);
    let err = refused(&run);
    for line in [
        format!(
            "{}: error: symbolic link to `aws.json` leads nowhere: No such file or directory (os error 2)",
            s(&facts.join("aws-old.json"))
        ),
        format!(
            "{}: error: symbolic link to `me.yaml` loops back on itself",
            s(&facts.join("me.yaml"))
        ),
        format!(
            "{}: error: symbolic link leads back to `{}`, a folder that holds it: a loop",
            s(&facts.join("sub/up")),
            s(&real)
        ),
        "3 errors found; nothing was run".to_string(),
    ] {
        assert!(err.contains(&line), "{line}\n{err}");
    }
}

#[test]
fn duplicate_json_keys_are_refused_as_yaml_ones_are() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("pods.json");
    std::fs::write(
        &json,
        "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n  {\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n   \"metadata\": {\"name\": \"a\", \"namespace\": \"default\", \"name\": \"b\"}}]}\n",
    )
    .unwrap();
    let yaml = tmp.path().join("pods.yaml");
    std::fs::write(
        &yaml,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: default\n  name: b\n",
    )
    .unwrap();
    for (file, at) in [(&json, "3:59"), (&yaml, "6:3")] {
        let run = rulerun(&["check", "--facts", &s(file)]);
        let err = refused(&run);
        assert!(
            err.contains(&format!("{}:{at}: error: duplicate key `name`", s(file))),
            "{err}"
        );
        // `query` reads facts the same way.
        let run = rulerun(&["query", "$", "-i", &s(file)]);
        assert!(
            refused(&run).contains(&format!("{}:{at}: duplicate key `name`", s(file))),
            "{}",
            run.stderr
        );
    }
    // In a snapshot's kinds, and in members no rule reads (projection skips them).
    let snap = tmp.path().join("snap.json");
    std::fs::write(
        &snap,
        r#"{"apiVersion": "rulerun.dev/v1", "kind": "Snapshot", "facts": {"k8s/v1/Pod": [{"metadata": {"name": "a", "namespace": "d"}, "zz": {"x": 1, "x": 2}}]}}"#,
    )
    .unwrap();
    let run = rulerun(&["check", "--facts", &s(&snap)]);
    assert!(
        refused(&run).contains(&format!("{}:1:142: error: duplicate key `x`", s(&snap))),
        "{}",
        run.stderr
    );
    // `iam eval` input: serde_json would take the last of duplicate members.
    let input = tmp.path().join("input.json");
    std::fs::write(
        &input,
        r#"{"request": {"action": "ecr:BatchGetImage", "action": "ecr:PutImage"}}"#,
    )
    .unwrap();
    let run = rulerun(&["iam", "eval", &s(&input)]);
    assert!(
        refused(&run).contains(&format!(
            "{}:1:52: error: duplicate key `action`",
            s(&input)
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn numbers_out_of_range_and_deep_nesting_are_refused_wherever_they_are() {
    let tmp = tempfile::tempdir().unwrap();
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let huge = format!("1{}", "0".repeat(400));
    let range = "error: number out of range: numbers are read as 64-bit floats, at most about 1.8e308 in size";
    // `zz` is a member no rule reads: the file is refused all the same, as
    // docs/snapshot-format.md says, so loading never depends on the rules.
    // A rule that reads `zz`: then it is no longer skipped by projection.
    let rule = tmp.path().join("reads-zz.yaml");
    std::fs::write(
        &rule,
        "rules:\n  - id: reads-zz\n    title: T\n    severity: low\n    subject: {kind: k8s/v1/Pod, where: {path: $.zz, exists: true}}\n    finding: {message: m}\n",
    )
    .unwrap();
    for (value, at, message) in [
        ("1e999", "1:92", range),
        ("-1e999", "1:93", range),
        (huge.as_str(), "1:488", range),
        (
            deep.as_str(),
            "1:214",
            "error: nesting deeper than 127 levels of arrays and objects",
        ),
    ] {
        let file = tmp.path().join("snap.json");
        std::fs::write(
            &file,
            format!(
                r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "a", "namespace": "d"}}, "zz": {value}}}"#
            ),
        )
        .unwrap();
        for args in [
            vec!["check", "--facts", &s(&file)],
            vec!["check", "--facts", &s(&file), "--rules", &s(&rule)],
        ] {
            let run = rulerun(&args);
            let err = refused(&run);
            assert!(
                err.contains(&format!("{}:{at}: {message}", s(&file))),
                "{value:.20}: {err}"
            );
        }
        let run = rulerun(&["query", "$", "-i", &s(&file)]);
        let want = format!(
            "{}:{at}: {}",
            s(&file),
            message.trim_start_matches("error: ")
        );
        assert!(refused(&run).contains(&want), "{}", run.stderr);
    }
    // Within range: an integer past 64 bits is read as a float.
    let file = tmp.path().join("big.json");
    std::fs::write(&file, r#"{"n": 123456789012345678901234567890}"#).unwrap();
    let run = rulerun(&["query", "$.n", "-i", &s(&file)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("1.2345678901234568e+29"),
        "{}",
        run.stdout
    );
}

#[test]
fn values_held_in_memory_are_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("zeros.json");
    let zeros = vec!["0"; 1000].join(",");
    std::fs::write(&file, format!("[{zeros}]")).unwrap();
    let run = with_test_limits(u64::MAX, 500, || rulerun(&["query", "$", "-i", &s(&file)]));
    assert!(
        refused(&run).contains(&format!(
            "{}:1:1000: more than 500 values (numbers, strings, arrays and objects) in one file",
            s(&file)
        )),
        "{}",
        run.stderr
    );
    // Documents that are not facts: a bounded number of errors, not one each.
    let run = rulerun(&["check", "--facts", &s(&file)]);
    let err = refused(&run);
    assert_eq!(err.lines().count(), 22, "{err}");
    assert!(
        err.contains(&format!(
            "{}: error: 980 more documents that are not facts\n",
            s(&file)
        )),
        "{err}"
    );
}

#[test]
fn facts_given_twice_or_inside_a_folder_also_given_are_read_once() {
    let example = Path::new(&repo("examples/ui-private-403"))
        .canonicalize()
        .unwrap();
    let want = rulerun(&["check", "--facts", &s(&example), "-o", "json"]);
    assert_eq!(want.code, 1, "{}", want.stderr);
    // Facts counted twice would double every finding.
    for args in [
        vec![s(&example), s(&example)],
        vec![s(&example), s(&example.join("cluster.json"))],
        vec![s(&example.join("aws.json")), s(&example)],
    ] {
        let mut argv = vec!["check".to_string(), "-o".into(), "json".into()];
        for a in &args {
            argv.extend(["--facts".to_string(), a.clone()]);
        }
        let got = rulerun(&argv);
        assert_eq!(got.stdout, want.stdout, "{args:?}: {}", got.stderr);
        assert_eq!(got.code, want.code);
    }
}

#[cfg(unix)]
#[test]
fn linked_folders_of_rules_are_read_and_loops_are_errors() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let shared = tmp.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(
        shared.join("broken.yaml"),
        "rules:\n  - id: x\n    nonsense: 1\n",
    )
    .unwrap();
    let rules = tmp.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    symlink(&shared, rules.join("linked")).unwrap();
    // A rule in a linked folder is read (here: found broken), not skipped.
    let run = rulerun(&["validate", "--no-config", &s(&rules)]);
    let err = refused(&run);
    assert!(err.contains("linked/broken.yaml"), "{err}");
    // A link back to a folder being walked is an error naming the link.
    symlink("..", shared.join("up")).unwrap();
    let run = rulerun(&["validate", "--no-config", &s(&rules)]);
    let err = refused(&run);
    assert!(
        err.contains("symbolic link leads back to") && err.contains("a loop"),
        "{err}"
    );
    std::fs::remove_file(shared.join("up")).unwrap();
    symlink("nowhere", rules.join("gone")).unwrap();
    let run = rulerun(&["validate", "--no-config", &s(&rules)]);
    let err = refused(&run);
    assert!(
        err.contains("symbolic link that cannot be followed"),
        "{err}"
    );
}
