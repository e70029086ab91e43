//! `rulerun query` through the real binary: the whole RFC 9535 JSONPath
//! Compliance Test Suite (every case a `rulerun query` process, the document on
//! standard input, the nodelist compared as JSON; an invalid selector exits 2
//! with the error), the document read exactly as given (any top-level value,
//! JSON or YAML), and `--bind`.
//!
//! The suite is the repository's copy, `tests/data/conformance/jsonpath-cts.json`;
//! the test fails when it is missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Suite {
    tests: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    selector: String,
    #[serde(default)]
    document: Value,
    #[serde(default)]
    result: Option<Vec<Value>>,
    #[serde(default)]
    results: Option<Vec<Vec<Value>>>,
    #[serde(default)]
    invalid_selector: bool,
}

fn suite_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/conformance/jsonpath-cts.json")
}

/// `rulerun ARGS`, with `stdin` on standard input.
fn rulerun(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rulerun"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rulerun starts");
    let mut input = child.stdin.take().unwrap();
    // A path that is refused never reads its input: a closed pipe is fine.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs one case through the binary; `Err` says what went wrong.
fn run_case(case: &Case) -> Result<(), String> {
    let document = serde_json::to_vec(&case.document).unwrap();
    let out = if case.selector.contains('\0') {
        // No process can be given an argument holding NUL (execve's strings
        // end at it): these selectors go through the same entry point in
        // this process instead, standard input then being this test's.
        let dir = tempfile::tempdir().unwrap();
        let doc = dir.path().join("doc.json");
        std::fs::write(&doc, &document).unwrap();
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let code = rulerun::run(
            [
                "rulerun",
                "query",
                "--input",
                doc.to_str().unwrap(),
                "--",
                &case.selector,
            ]
            .map(String::from)
            .to_vec(),
            rulerun::Terminal {
                color: false,
                progress: false,
            },
            &mut stdout,
            &mut stderr,
        );
        (Some(code), stdout, stderr)
    } else {
        let o = rulerun(&["query", "--", &case.selector], &document);
        (o.status.code(), o.stdout, o.stderr)
    };
    let (code, stdout, stderr) = out;
    if case.invalid_selector {
        return if code == Some(2) && stdout.is_empty() && text(&stderr).starts_with("error: ") {
            Ok(())
        } else {
            Err(format!(
                "an invalid selector: exit {code:?}, stdout {}, stderr {}",
                text(&stdout),
                text(&stderr)
            ))
        };
    }
    if code != Some(0) {
        return Err(format!("exit {code:?}: {}", text(&stderr)));
    }
    let got: Value = serde_json::from_slice(&stdout)
        .map_err(|e| format!("output is not JSON ({e}): {}", text(&stdout)))?;
    let accepted: Vec<Value> = match (&case.result, &case.results) {
        (Some(one), _) => vec![Value::from(one.clone())],
        (None, Some(many)) => many.iter().cloned().map(Value::from).collect(),
        (None, None) => return Err("the case has no expected result".into()),
    };
    if accepted.contains(&got) {
        Ok(())
    } else {
        Err(format!(
            "got {got}, want {}",
            serde_json::to_string(&accepted).unwrap()
        ))
    }
}

#[test]
fn the_jsonpath_compliance_suite_through_the_binary() {
    let path = suite_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the RFC 9535 compliance suite is not readable at {} ({e}): it is part of \
             the repository; restore tests/data/conformance/jsonpath-cts.json with `git checkout`",
            path.display()
        )
    });
    let suite: Suite = serde_json::from_str(&text).expect("a CTS file");
    assert!(suite.tests.len() >= 703, "{} cases", suite.tests.len());
    let next = AtomicUsize::new(0);
    let failed = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get() * 4);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = suite.tests.get(i) else {
                        break;
                    };
                    if let Err(why) = run_case(case) {
                        failed
                            .lock()
                            .unwrap()
                            .push(format!("{} `{}`: {why}", case.name, case.selector));
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap();
    println!(
        "jsonpath CTS through `rulerun query`: {} passed, {} failed, of {}",
        suite.tests.len() - failed.len(),
        failed.len(),
        suite.tests.len()
    );
    assert!(failed.is_empty(), "failed:\n{}", failed.join("\n"));
}

/// `rulerun query PATH` on `doc` (standard input): exit code and the nodelist.
fn query(path: &str, doc: &str, extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec!["query"];
    args.extend_from_slice(extra);
    args.extend(["--", path]);
    let out = rulerun(&args, doc.as_bytes());
    let value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), value, text(&out.stderr))
}

#[test]
fn the_document_is_read_exactly_as_given() {
    // A top-level array is an array (it was read as a list of facts).
    let doc = r#"[{"a": 1}]"#;
    for (path, want) in [
        ("$[0].a", json!([1])),
        ("$[*].a", json!([1])),
        ("$", json!([[{"a": 1}]])),
        ("$.a", json!([])),
    ] {
        let (code, got, err) = query(path, doc, &[]);
        assert_eq!(code, Some(0), "{path}: {err}");
        assert_eq!(got, want, "{path}");
    }
    let two = r#"[{"a": 1}, {"a": 2}]"#;
    assert_eq!(query("$[1].a", two, &[]).1, json!([2]));
    assert_eq!(query("$.a", two, &[]).1, json!([]));
    // YAML: a sequence, a mapping, a scalar; JSON scalars.
    let yaml = "- a: 1\n- a: 2\n";
    assert_eq!(query("$[*].a", yaml, &[]).1, json!([1, 2]));
    assert_eq!(query("$", yaml, &[]).1, json!([[{"a": 1}, {"a": 2}]]));
    assert_eq!(query("$.items[0]", "items: [x, y]\n", &[]).1, json!(["x"]));
    assert_eq!(query("$", "hello\n", &[]).1, json!(["hello"]));
    for (doc, want) in [
        ("1", json!([1])),
        ("\"a\"", json!(["a"])),
        ("null", json!([null])),
        ("true", json!([true])),
    ] {
        assert_eq!(query("$", doc, &[]).1, want, "{doc}");
    }
    // One document only.
    let (code, _, err) = query("$", "a: 1\n---\na: 2\n", &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("2 YAML documents"), "{err}");
    let (code, _, err) = query("$", "", &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no document"), "{err}");
    // JSON is read strictly.
    let (code, _, err) = query("$", r#"{"a": 1, "a": 2}"#, &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("duplicate key `a`"), "{err}");
}

#[test]
fn invalid_paths_exit_2_with_a_caret() {
    let (code, got, err) = query("$.items[?@.name = 'a']", "{}", &[]);
    assert_eq!(code, Some(2));
    assert_eq!(got, Value::Null);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "error: invalid JSONPath `$.items[?@.name = 'a']`: unexpected `=` at column 17: \
             expected a segment (`.name`, `[…]` or `..name`) or a comparison (`==`, `!=`, `<`, `<=`, `>`, `>=`)",
            "  $.items[?@.name = 'a']",
            "                  ^",
        ],
        "{err}"
    );
    assert!(lines[3].starts_with("  help: "), "{err}");
    let (code, _, err) = query("items", "{}", &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("help: paths start with `$`"), "{err}");
}

#[test]
fn bound_documents() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("container.json");
    std::fs::write(&c, r#"{"name": "sidecar", "image": "x:1"}"#).unwrap();
    let bind = format!("c={}", c.display());
    let pod = r#"{"status": {"containerStatuses": [{"name": "app", "ready": true}, {"name": "sidecar", "ready": false}]}}"#;
    // In a filter.
    let (code, got, err) = query(
        "$.status.containerStatuses[?@.name == $c.name].ready",
        pod,
        &["--bind", &bind],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(got, json!([false]));
    // At the start: the bound document (the input is not read).
    let (code, got, err) = query("$c.image", "not read", &["--bind", &bind]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(got, json!(["x:1"]));
    // An unknown name: where, and the names given.
    let (code, _, err) = query(
        "$.status.containerStatuses[?@.name == $cc.name]",
        pod,
        &["--bind", &bind],
    );
    assert_eq!(code, Some(2));
    assert_eq!(
        err,
        format!(
            "error: invalid JSONPath `$.status.containerStatuses[?@.name == $cc.name]`: `$cc` is not a \
             document given with `--bind`\n  $.status.containerStatuses[?@.name == $cc.name]\n{}^\n  \
             help: did you mean `$c`? `--bind NAME=FILE` names a document\n",
            " ".repeat(2 + 38)
        )
    );
    let (code, _, err) = query("$x.name", pod, &[]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("help: give the document with `--bind x=FILE`"),
        "{err}"
    );
    // Names as rules write them, each once.
    let (code, _, err) = query("$", pod, &["--bind", "a-b=x.json"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("not a binding name"), "{err}");
    let (code, _, err) = query("$", pod, &["--bind", &bind, "--bind", &bind]);
    assert_eq!(code, Some(2));
    assert!(err.contains("given twice"), "{err}");
    // Standard input once.
    let (code, _, err) = query("$", pod, &["--bind", "c=-"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("more than one document"), "{err}");
}
