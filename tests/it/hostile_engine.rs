//! The engine's own work is bounded on hostile input (#12): JSONPath node
//! budgets in `query` and in rules, `match()`/`search()` patterns compiled once
//! within the `regex:` limits, and templates that build huge or self-containing
//! values. Each case asserts the clean error; the resource tier
//! (`crates/cli/tests/resources.rs`) runs such cases under memory and time limits.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::support::rulerun;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// 110 levels of `[child, "x"]`: 661 bytes.
fn chain(depth: usize) -> Value {
    let mut doc = json!(1);
    for _ in 0..depth {
        doc = json!([doc, "x"]);
    }
    doc
}

fn pod(name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    })
}

fn pods(dir: &Path, items: &[Value]) -> String {
    write(
        dir,
        "pods.json",
        &json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string(),
    )
}

fn check(dir: &Path, rules: &str, facts: &str) -> crate::support::Run {
    let rules = write(dir, "rules.yaml", rules);
    rulerun(&[
        "check",
        "--no-config",
        "--no-builtin",
        "--rules",
        &rules,
        "--facts",
        facts,
    ])
}

#[test]
fn query_stops_a_path_that_multiplies_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let doc = chain(110);
    let text = doc.to_string();
    assert_eq!(text.len(), 661);
    let f = write(dir.path(), "deep.json", &text);
    // Before: 5.8 GB and minutes (about 6 million nodes, each copied).
    let run = rulerun(&["query", "$..*..*..*..*", "--input", &f]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "error: JSONPath `$..*..*..*..*` visits more than 1000000 nodes, its limit on this document\n  \
         help: each `..` and each list of selectors multiplies the nodes a path visits: name the \
         members on the way (`$.spec.containers[*].image` rather than `$..*..image`), or use a \
         single `..`\n"
    );
    assert!(run.stdout.is_empty());
    // The same through functions and lists of selectors.
    for path in ["$..[?count(@..*..*..*) > 0]", "$..[*,*,*,*]..[*,*,*,*]..*"] {
        let run = rulerun(&["query", path, "--input", &f]);
        assert_eq!(run.code, 2, "{path}: {}", run.stdout);
        assert!(
            run.stderr
                .contains(&format!("JSONPath `{path}` visits more than 1000000 nodes")),
            "{}",
            run.stderr
        );
    }
    // One `..` less is answered, each node written as it is in the document.
    let run = rulerun(&["query", "$..*..*", "--input", &f]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let nodes: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(nodes.len(), 11_990);
}

#[test]
fn query_reads_a_large_document_whole_with_linear_paths() {
    // 500,002 nodes: past the budget's floor, each path visits every node once
    // or twice, within four per node of the document.
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<Value> = (0..100_000)
        .map(|i| json!({"name": format!("p{i}"), "n": i, "tags": ["a"]}))
        .collect();
    let f = write(
        dir.path(),
        "big.json",
        &json!({ "items": items }).to_string(),
    );
    for (path, n) in [
        ("$..*", 500_001),
        ("$..name", 100_000),
        ("$.items[?@.n >= 99998].name", 2),
        ("$..[?@ == 'a']", 100_000),
    ] {
        let run = rulerun(&["query", path, "--input", &f]);
        assert_eq!(run.code, 0, "{path}: {}", run.stderr);
        let nodes: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(nodes.len(), n, "{path}");
    }
}

#[test]
fn match_patterns_are_checked_when_the_path_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "doc.json",
        r#"[{"a": "web-1", "p": "web-[0-9]"}, {"a": "db", "p": "(("}]"#,
    );
    // As large compiled as a `regex:` matcher may not be.
    let run = rulerun(&["query", r"$[?match(@.a, '\\w{200}')]", "--input", &f]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with(
            r"error: invalid JSONPath `$[?match(@.a, '\\w{200}')]`: the pattern `\w{200}` of `match()`: Compiled regex exceeds size limit of 1048576 bytes"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("help: patterns are I-Regexps (RFC 9485)")
    );
    let run = rulerun(&["query", "$[?search(@.a, 'a(')]", "--input", &f]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("the pattern `a(` of `search()`: unclosed group"),
        "{}",
        run.stderr
    );
    // Patterns from the document: compiled once each, invalid ones false.
    let run = rulerun(&["query", "$[?match(@.a, @.p)].a", "--input", &f]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        json!(["web-1"])
    );
}

#[test]
fn a_rule_whose_path_multiplies_fails_for_that_subject_only() {
    let dir = tempfile::tempdir().unwrap();
    let facts = pods(
        dir.path(),
        &[
            pod("deep", json!({"x": chain(110)})),
            pod("flat", json!({"x": 1})),
        ],
    );
    let rules = r#"
rules:
  - id: when-multiplies
    title: A condition that multiplies
    severity: low
    subject: {kind: k8s/v1/Pod}
    when: {path: "$..*..*..*..*", exists: true}
    finding:
      message: "{{ subject.metadata.name }}"
  - id: let-multiplies
    title: A binding that copies what multiplies
    severity: low
    subject: {kind: k8s/v1/Pod}
    let:
      all: {value: "$..*..*..*"}
    finding:
      message: "{{ subject.metadata.name }}: {{ all|length }}"
"#;
    // Before: 6 seconds and 1.4 GB for these two rules on these two pods.
    let run = check(dir.path(), rules, &facts);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let errors: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(
        errors,
        [
            "error: rule `when-multiplies` failed on k8s/v1/Pod default/deep: JSONPath `$..*..*..*..*` visits more than 1000000 nodes, its limit on this document",
            "error: rule `let-multiplies` failed on k8s/v1/Pod default/deep: JSONPath `$..*..*..*` visits more than 1000000 nodes, its limit on this document",
        ],
        "{}",
        run.stdout
    );
    // The other pod is decided as usual.
    assert!(run.stdout.contains("flat: 0"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("k8s/v1/Pod default/deep\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_join_whose_key_path_multiplies_fails_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let facts = pods(
        dir.path(),
        &[
            pod("deep", json!({"x": chain(110)})),
            pod("flat", json!({"x": 1})),
        ],
    );
    let rules = r#"
rules:
  - id: join-multiplies
    title: A join keyed by a path that multiplies
    severity: low
    subject: {kind: k8s/v1/Pod}
    let:
      other: {join: k8s/v1/Pod, on: "$..*..*..*..zz", equals: $.metadata.name}
    finding:
      message: "{{ subject.metadata.name }}"
"#;
    let run = check(dir.path(), rules, &facts);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "error: rule `join-multiplies` failed: join on `k8s/v1/Pod`: JSONPath `$..*..*..*..zz` visits more than 1000000 nodes, its limit on this document"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("no findings, 1 evaluation error(s)"),
        "{}",
        run.stdout
    );
}

#[test]
fn templates_that_build_huge_values_fail_for_that_finding() {
    let dir = tempfile::tempdir().unwrap();
    let facts = pods(dir.path(), &[pod("web", json!({}))]);
    for (message, error) in [
        // A list doubled 40 times: 2^40 items (before: minutes, gigabytes).
        (
            "{% set ns = namespace(x=[1]) %}{% for i in range(40) %}{% set ns.x = ns.x + ns.x %}{% endfor %}{{ ns.x|tojson|length }}",
            "template failed: the value assigned to `x` exceeds the 1048576-byte value limit (template line 1)",
        ),
        (
            "{% macro d(v, n) %}{% if n > 0 %}{{ d([v, v, v, v], n - 1) }}{% else %}{{ v|string|length }}{% endif %}{% endmacro %}{{ d([1], 12) }}",
            "template failed: the value of a list exceeds the 1048576-byte value limit (template line 1)",
        ),
        (
            "{{ ([[[1] * 1000] * 1000] * 1000)|tojson|length }}",
            "template failed: the value of `*` exceeds the 1048576-byte value limit (template line 1)",
        ),
        (
            "{{ [[1], [2]]|tojson(indent=100000000) }}",
            "template failed: the output of filter `tojson` exceeds the 1048576-byte value limit (template line 1)",
        ),
        // A namespace that contains itself (before: a stack overflow, abort).
        (
            "{% set ns = namespace() %}{% set ns.a = ns %}{{ ns }}",
            "template failed: the value assigned to `a` holds a namespace, a loop, a macro or a lazy sequence inside it",
        ),
    ] {
        let rules = format!(
            "rules:\n  - id: builds\n    title: T\n    severity: low\n    subject: {{kind: k8s/v1/Pod}}\n    finding:\n      message: '{message}'\n"
        );
        let run = check(dir.path(), &rules, &facts);
        assert_eq!(run.code, 2, "{message}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains(&format!(
                "error: rule `builds` failed on k8s/v1/Pod default/web: message: {error}"
            )),
            "{message}: {}",
            run.stdout
        );
    }
}
