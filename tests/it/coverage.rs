//! `rulerun test` reports what the cases did not exercise (and `--require-coverage`
//! fails on it); `pack.yaml` can require a must-not-fire case per rule, which the
//! built-in packs do.

use std::fs;
use std::path::Path;

use crate::support::{root, rulerun};

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, text).unwrap();
}

const PACK: &str = "name: team\nversion: 1.0.0\nrules: [r/rule.yaml]\n";

const RULE: &str = r#"rules:
  - id: pending-pod
    title: Pending
    severity: low
    subject: {kind: k8s/v1/Pod, where: {path: $.status.phase, equals: Pending}}
    let:
      node: {join: k8s/v1/Node, on: $.metadata.name, equals: $.spec.nodeName, one: true}
    when:
      any:
        - {path: $node.spec.unschedulable, equals: true}
        - {path: $.spec.nodeName, exists: false}
    finding:
      message: "{{ subject.metadata.name }} is pending"
      fix:
        - description: look at the node
          if: {path: $node.metadata.name, exists: true}
          argv: [kubectl, describe, node, "{{ node.metadata.name }}"]
"#;

const FIRES: &str = "tests:\n  - name: fires\n    facts: {k8s/v1/Pod: [{metadata: {name: p}, status: {phase: Pending}}]}\n    expect: [{subject: p}]\n";

const QUIET: &str = "  - name: quiet on a schedulable node\n    facts:\n      k8s/v1/Pod: [{metadata: {name: q}, spec: {nodeName: n}, status: {phase: Pending}}, {metadata: {name: r}, status: {phase: Running}}]\n      k8s/v1/Node: [{metadata: {name: n}, spec: {unschedulable: false}}]\n    expect: []\n  - name: fires on a cordoned node\n    facts:\n      k8s/v1/Pod: [{metadata: {name: s}, spec: {nodeName: m}, status: {phase: Pending}}]\n      k8s/v1/Node: [{metadata: {name: m}, spec: {unschedulable: true}}]\n    expect: [{subject: s, fix: [{command: kubectl describe node m}]}]\n";

#[test]
fn test_reports_what_no_case_exercised_under_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pack.yaml", PACK);
    write(dir.path(), "r/rule.yaml", RULE);
    write(dir.path(), "r/tests.yaml", FIRES);
    let d = dir.path().display().to_string();
    let run = rulerun(&["test", &d]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let rule = format!("{d}/r/rule.yaml");
    assert_eq!(
        run.stdout,
        format!(
            "running 1 rule test(s)\n\
             test fires ... ok\n\
             coverage `pending-pod`: 7 of 7 item(s) not exercised by 1 case(s)\n\
             \x20 {rule}:5:40: condition `$.status.phase equals` in `subject.where` never false\n\
             \x20 {rule}:7:7: binding `node` never matched\n\
             \x20 {rule}:9:7: condition `any` in `when` never false\n\
             \x20 {rule}:10:11: condition `$node.spec.unschedulable equals` in `when` never true\n\
             \x20 {rule}:11:11: condition `$.spec.nodeName exists` in `when` never false\n\
             \x20 {rule}:15:11: fix step 1 never rendered\n\
             \x20 {rule}:16:15: condition `$node.metadata.name exists` in `fix step 1 if` never true\n\
             \n\
             test result: ok. 1 passed; 0 failed\n\
             coverage: 7 item(s) of 1 rule(s) not exercised (informational; --require-coverage makes it a failure)\n"
        )
    );
    // The result is printed once.
    assert_eq!(run.stdout.matches("passed").count(), 1, "{}", run.stdout);

    let run = rulerun(&["test", "--require-coverage", &d]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "test result: FAILED. 1 passed; 0 failed\ncoverage: 7 item(s) of 1 rule(s) not exercised (--require-coverage)\n"
        ),
        "{}",
        run.stdout
    );

    // A must-not-fire case with near-miss facts and a case on a node that is not
    // ready exercise the rest.
    write(dir.path(), "r/tests.yaml", &format!("{FIRES}{QUIET}"));
    let run = rulerun(&["test", "--require-coverage", &d]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "coverage `pending-pod`: complete, 7 item(s) exercised by 3 case(s)\n\ntest result: ok. 3 passed; 0 failed\n"
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("coverage:"), "{}", run.stdout);
}

#[test]
fn parts_report_their_own_position_and_name() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pack.yaml",
        "name: team\nversion: 1.0.0\nrules: [r/rule.yaml]\nparts: [parts.yaml]\n",
    );
    write(
        dir.path(),
        "parts.yaml",
        "parts:\n  - id: pending\n    condition: {path: $.status.phase, equals: Pending}\n",
    );
    write(
        dir.path(),
        "r/rule.yaml",
        "rules:\n  - id: pending-pod\n    title: Pending\n    severity: low\n    subject: {kind: k8s/v1/Pod, where: {use: pending}}\n    finding: {message: pending}\n",
    );
    write(dir.path(), "r/tests.yaml", FIRES);
    let d = dir.path().display().to_string();
    let run = rulerun(&["test", &d]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&format!(
            "coverage `pending-pod`: 1 of 1 item(s) not exercised by 1 case(s)\n  {d}/parts.yaml:3:16: condition `$.status.phase equals` in `subject.where` never false (part `team/pending`)\n"
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn coverage_lines_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "r/rule.yaml",
        "rules:\n  - id: odd\n    title: Odd\n    severity: low\n    subject: {kind: k8s/v1/Pod, where: {path: \"$.metadata.annotations['a\\u202eb']\", exists: true}}\n    finding: {message: odd}\n",
    );
    write(
        dir.path(),
        "r/tests.yaml",
        "tests:\n  - name: quiet\n    facts: {k8s/v1/Pod: [{metadata: {name: p}}]}\n    expect: []\n",
    );
    let run = rulerun(&["test", &dir.path().display().to_string()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("condition `$.metadata.annotations['a\\u{202e}b'] exists` in `subject.where` never true\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_pack_can_require_a_must_not_fire_case_per_rule() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pack.yaml",
        &format!("{PACK}tests: {{requireMustNotFire: true}}\n"),
    );
    write(dir.path(), "r/rule.yaml", RULE);
    // A case expecting the rule inconclusive, or a finding, is not one.
    write(dir.path(), "r/tests.yaml", FIRES);
    let d = dir.path().display().to_string();
    for cmd in ["test", "validate"] {
        let run = rulerun(&[cmd, &d]);
        assert_eq!(run.code, 2, "{cmd}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.starts_with(&format!(
                "{d}/r/rule.yaml:2:5: error: rule `pending-pod` has no must-not-fire test case, which pack `team` requires\n  help: add a case to the tests beside it that expects no finding from it (`expect: []`)"
            )),
            "{cmd}: {}",
            run.stderr
        );
        assert!(
            run.stderr.ends_with("1 error found; nothing was run\n"),
            "{}",
            run.stderr
        );
    }
    write(dir.path(), "r/tests.yaml", &format!("{FIRES}{QUIET}"));
    for cmd in ["test", "validate"] {
        let run = rulerun(&[cmd, &d]);
        assert_eq!(run.code, 0, "{cmd}: {}{}", run.stdout, run.stderr);
    }
    // Off by default, and `false` is off.
    write(dir.path(), "r/tests.yaml", FIRES);
    for manifest in [
        PACK.to_string(),
        format!("{PACK}tests: {{requireMustNotFire: false}}\n"),
    ] {
        write(dir.path(), "pack.yaml", &manifest);
        let run = rulerun(&["validate", &d]);
        assert_eq!(run.code, 0, "{manifest}: {}", run.stderr);
    }
    // A misspelt key is an error with the right one.
    write(
        dir.path(),
        "pack.yaml",
        &format!("{PACK}tests: {{requireMustNotfire: true}}\n"),
    );
    let run = rulerun(&["validate", &d]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("`requireMustNotFire`"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_built_in_packs_require_must_not_fire_cases() {
    for pack in ["eks-image-pull", "eks-troubleshooting", "kubernetes"] {
        let manifest =
            fs::read_to_string(root().join("rules").join(pack).join("pack.yaml")).unwrap();
        assert!(
            manifest.contains("\ntests: {requireMustNotFire: true}\n"),
            "{pack}/pack.yaml"
        );
    }
    // And every rule has one: the built-in tests load (from disk and embedded).
    let run = rulerun(&["validate".to_string(), crate::support::repo("rules")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = rulerun(&["test"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("coverage `ecr-repository-policy-denies-pull`: "),
        "{}",
        run.stdout
    );
}
