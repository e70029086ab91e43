//! The fact-kind catalog through the CLI: unknown kinds are errors with the kind
//! meant, paths naming fields their kinds cannot have are warnings (through
//! bindings too), `--deny-warnings` makes them errors on `validate`, `check` and
//! `test`, teams declare their own kinds, and the built-in packs are clean.

use std::path::Path;

use crate::support::{repo, rulerun};

fn write(dir: &Path, rel: &str, text: &str) -> String {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const MISSPELLED_KIND: &str = "\
rules:
  - id: deployment-without-replicas
    title: A deployment has no replicas
    severity: low
    subject: {kind: k8s/v1/Deployment}
    let:
      node: {join: k8s/v1/Nodes, on: $.metadata.name, equals: $.spec.template.spec.nodeName, one: true}
    when: {path: $.spec.replicas, equals: 0}
    finding:
      message: \"{{ subject.metadata.name }} has no replicas\"
";

const MISSPELLED_FIELD: &str = "\
rules:
  - id: pull-always
    title: A container pulls its image on every start
    severity: low
    subject: {kind: k8s/v1/Pod}
    each: {as: container, path: \"$.spec.container[*]\"}
    let:
      node: {join: k8s/v1/Node, on: $.metadata.nmae, equals: $.spec.nodeName, one: true}
      first: {value: \"$.spec.containers[0]\"}
    when:
      all:
        - {path: $container.imagePullPolcy, equals: Always}
        - {path: $node.status.nodeInfo.kubeletVersoin, exists: true}
        - {path: $first.image, exists: true}
        - {path: $.metadata.labels.anything, exists: false}
        - {path: \"$..image\", exists: true}
    finding:
      message: \"{{ subject.metadata.name }} pulls always\"
";

#[test]
fn an_unknown_kind_is_an_error_naming_the_kind_meant() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "rule.yaml", MISSPELLED_KIND);
    let run = rulerun(&["validate", &file]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let expected = format!(
        "{file}:5:21: error: unknown fact kind `k8s/v1/Deployment`\n  help: did you mean `k8s/apps/v1/Deployment`? `docs/facts.md` lists the kinds rulerun knows; declare your own under `kinds:` in `pack.yaml`\n"
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("{file}:7:20: error: unknown fact kind `k8s/v1/Nodes`\n  help: did you mean `k8s/v1/Node`?")),
        "{}",
        run.stderr
    );
    // The join's binding is still defined: no follow-on errors.
    assert!(run.stderr.contains("2 errors found"), "{}", run.stderr);
    // `check` refuses it too, before reading any fact.
    let run = rulerun(&[
        "check",
        "--no-config",
        "--no-builtin",
        "--rules",
        &file,
        "--facts",
        &repo("rules/kubernetes/pod-image-pull-failing/fixtures"),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("did you mean `k8s/apps/v1/Deployment`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_field_the_kind_cannot_have_is_a_warning_denied_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "rule.yaml", MISSPELLED_FIELD);
    let run = rulerun(&["validate", &file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{file}:6:33: warning: path `$.spec.container[*]`: a `k8s/v1/Pod` has no field `spec.container`, so the path finds nothing").as_str(),
            "  help: did you mean `spec.containers`?",
            format!("{file}:8:37: warning: path `$.metadata.nmae`: a `k8s/v1/Node` has no field `metadata.nmae`, so the path finds nothing").as_str(),
            "  help: did you mean `metadata.name`?",
            format!("{file}:13:18: warning: path `$node.status.nodeInfo.kubeletVersoin`: `$node` has no field `status.nodeInfo.kubeletVersoin`, so the path finds nothing").as_str(),
            "  help: did you mean `status.nodeInfo.kubeletVersion`?",
        ],
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("1 rule(s)"), "{}", run.stdout);
    let run = rulerun(&["validate", "--deny-warnings", &file]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .trim_end()
            .ends_with("error: 3 warnings denied by `--deny-warnings`; nothing was run"),
        "{}",
        run.stderr
    );
    let facts = repo("rules/kubernetes/pod-image-pull-failing/fixtures");
    let check = |extra: &[&str]| {
        let mut args = vec![
            "check",
            "--no-config",
            "--no-builtin",
            "--rules",
            &file,
            "--facts",
            &facts,
        ];
        args.extend_from_slice(extra);
        rulerun(&args)
    };
    let run = check(&[]);
    assert_ne!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("warning: path `$.spec.container[*]`"),
        "{}",
        run.stderr
    );
    let run = check(&["--deny-warnings"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn paths_through_element_bindings_follow_the_element_shape() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "rule.yaml",
        "rules:\n  - id: r\n    title: t\n    severity: low\n    subject: {kind: k8s/v1/Pod}\n    each: {as: container, path: \"$.spec.containers[*]\"}\n    let:\n      events: {join: k8s/v1/Event, on: $.involvedObject.uid, equals: $.metadata.uid}\n    when:\n      all:\n        - {path: $container.imagePullPolcy, equals: Always}\n        - {path: $events.reason, exists: true}\n        - {path: \"$events[*].reason\", exists: true}\n    finding: {message: m}\n",
    );
    let run = rulerun(&["validate", &file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("{file}:11:18: warning: path `$container.imagePullPolcy`: `$container` has no field `imagePullPolcy`, so the path finds nothing\n  help: did you mean `imagePullPolicy`?\n")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("path `$events.reason`: `$events` is a list, so `reason` names nothing in it\n  help: select its elements first: `[*].reason`"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("warning:").count(), 2, "{}", run.stderr);
}

#[test]
fn warnings_are_escaped_like_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "rule.yaml",
        "rules:\n  - id: r\n    title: t\n    severity: low\n    subject: {kind: k8s/v1/Pod}\n    when: {path: \"$.spec['evil\\u202e']\", exists: true}\n    finding: {message: m}\n",
    );
    let run = rulerun(&["validate", &file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("`spec.evil\\u{202e}`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains('\u{202e}'));
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
}

#[test]
fn the_builtin_packs_are_clean_under_deny_warnings() {
    let run = rulerun(&["validate", "--deny-warnings", &repo("rules")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let run = rulerun(&["test", "--deny-warnings"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let run = rulerun(&[
        "check",
        "--no-config",
        "--deny-warnings",
        "--facts",
        &repo("rules/kubernetes/pod-image-pull-failing/fixtures"),
    ]);
    assert_ne!(run.code, 2, "{}", run.stderr);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn facts_md_lists_exactly_the_catalog_kinds() {
    let text = std::fs::read_to_string(crate::support::root().join("docs/facts.md")).unwrap();
    let listed: std::collections::BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|k| k.starts_with("k8s/") || k.starts_with("aws/"))
        .map(str::to_string)
        .collect();
    let catalog: std::collections::BTreeSet<String> = rulerun_core::catalog::builtin()
        .kinds()
        .map(|k| k.name.clone())
        .collect();
    assert_eq!(
        listed, catalog,
        "docs/facts.md's tables list one row per kind of crates/core/catalog/"
    );
}

#[test]
fn packs_declare_their_own_kinds() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pack/pack.yaml",
        "name: karpenter-rules\nversion: 1.0.0\nrules: [r/rule.yaml]\nkinds:\n  k8s/karpenter.sh/v1/NodePool:\n    description: Karpenter node pools\n    shape:\n      type: object\n      properties:\n        metadata: {$ref: io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta}\n        spec: {type: object, properties: {limits: {type: object, additionalProperties: {type: string}}}}\n",
    );
    write(
        dir.path(),
        "pack/r/rule.yaml",
        "rules:\n  - id: nodepool-without-limits\n    title: A node pool has no limits\n    severity: low\n    subject: {kind: k8s/karpenter.sh/v1/NodePool}\n    when: {path: $.spec.limit, exists: false}\n    finding: {message: \"{{ subject.metadata.name }} has no limits\"}\n",
    );
    let pack = dir.path().join("pack").display().to_string();
    let run = rulerun(&["validate", &pack]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("warning: path `$.spec.limit`: a `k8s/karpenter.sh/v1/NodePool` has no field `spec.limit`, so the path finds nothing\n  help: did you mean `spec.limits`?"),
        "{}",
        run.stderr
    );
    // Without the declaration the kind is unknown.
    write(
        dir.path(),
        "loose/rule.yaml",
        &std::fs::read_to_string(dir.path().join("pack/r/rule.yaml")).unwrap(),
    );
    let run = rulerun(&["validate", &dir.path().join("loose").display().to_string()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("unknown fact kind `k8s/karpenter.sh/v1/NodePool`"),
        "{}",
        run.stderr
    );
    // A declared kind is checked where it is declared.
    write(
        dir.path(),
        "bad/pack.yaml",
        "name: bad\nversion: 1.0.0\nrules: []\nkinds:\n  k8s/v1/Pod: {}\n  x/Y: {shape: {type: objekt}}\n",
    );
    let run = rulerun(&["validate", &dir.path().join("bad").display().to_string()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("pack.yaml:5:3: error: `k8s/v1/Pod` is a built-in kind"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("unknown type `objekt`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_kind_declared_twice_with_two_shapes_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let pack = |name: &str, field: &str| {
        write(
            dir.path(),
            &format!("{name}/pack.yaml"),
            &format!(
                "name: {name}\nversion: 1.0.0\nrules: []\nkinds:\n  team/inventory/Service:\n    shape: {{type: object, properties: {{{field}: {{type: string}}}}}}\n"
            ),
        )
    };
    pack("a", "owner");
    pack("b", "team");
    let a = dir.path().join("a").display().to_string();
    let b = dir.path().join("b").display().to_string();
    let run = rulerun(&["validate", &a, &b]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "kind `team/inventory/Service` is declared again with another shape (first in `"
        ),
        "{}",
        run.stderr
    );
    // The same shape twice is one kind.
    pack("b", "owner");
    let run = rulerun(&["validate", &a, &b]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}
