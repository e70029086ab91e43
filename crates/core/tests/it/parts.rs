//! Named parts: expansion into ordinary bindings, conditions and fix steps, pack
//! scoping, and every load error a part can cause, each at its own position.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rulerun_core::{
    FactStore, LoadError, PackScopes, SourceFile, check, load_rule_sources, load_rules,
};
use serde_json::json;

use crate::support::{facts, src};

const PARTS: &str = r#"parts:
  - id: pod-node
    description: the pod's node and its zone
    let:
      node: {join: k8s/v1/Node, on: $.metadata.name, equals: $.spec.nodeName, one: true}
      zone: {value: "$node.metadata.labels['topology.kubernetes.io/zone']"}
  - id: in-zone
    description: the node is in the zone `wanted` names
    inputs:
      wanted: {description: a zone name}
    uses: [pod-node]
    let:
      same: {value: "{{ zone == wanted }}"}
  - id: pending
    condition: {path: $.status.phase, equals: Pending}
  - id: describe-node
    uses: [pod-node]
    fix:
      - description: look at node {{ node.metadata.name }}
        argv: [kubectl, describe, "node/{{ node.metadata.name }}"]
"#;

const RULE: &str = r#"rules:
  - id: pod-in-zone
    title: A pending pod's node is in zone a
    severity: low
    subject: {kind: k8s/v1/Pod, where: {use: pending}}
    uses: [{part: in-zone, with: {wanted: zone-a}}]
    when: {path: $same, equals: "True"}
    finding:
      message: "{{ subject.metadata.name }} on {{ node.metadata.name }} in {{ zone }}"
      fix:
        - use: describe-node
"#;

fn cluster() -> FactStore {
    facts(json!({
        "k8s/v1/Pod": [
            {"metadata": {"name": "p1", "namespace": "d", "uid": "1"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Pending"}},
            {"metadata": {"name": "p2", "namespace": "d", "uid": "2"}, "spec": {"nodeName": "n2"}, "status": {"phase": "Pending"}},
            {"metadata": {"name": "p3", "namespace": "d", "uid": "3"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}
        ],
        "k8s/v1/Node": [
            {"metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "zone-a"}}},
            {"metadata": {"name": "n2", "labels": {"topology.kubernetes.io/zone": "zone-b"}}}
        ]
    }))
}

#[test]
fn parts_expand_into_bindings_conditions_and_fix_steps() {
    let (set, errors) = load_rules(&[src("parts.yaml", PARTS), src("rule.yaml", RULE)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let rule = set.get("pod-in-zone").unwrap();
    // the join inside the part is the rule's: planner and projection see it
    assert!(rule.kinds.contains("k8s/v1/Node"), "{:?}", rule.kinds);
    assert_eq!(rule.parts, ["pod-node", "in-zone"]);
    let report = check(&set, &cluster());
    let found: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.message.as_str(), f.fix[0].command.as_str()))
        .collect();
    assert_eq!(found, [("p1 on n1 in zone-a", "kubectl describe node/n1")]);
    // what explain shows: kinds, inputs, provides, used by
    let info = set.parts.iter().find(|p| p.id == "in-zone").unwrap();
    assert_eq!(info.inputs[0].name, "wanted");
    assert_eq!(info.provides, ["same"]);
    assert_eq!(info.used_by, ["pod-in-zone"]);
    let node = set.parts.iter().find(|p| p.id == "pod-node").unwrap();
    assert_eq!(node.used_by, ["pod-in-zone"], "used through in-zone");
    // the projection keeps what the part's templates and joins read
    let projection = set.projection();
    assert!(!projection.is_all());
}

#[test]
fn an_input_comes_from_with_the_scope_or_its_default() {
    let parts = r#"parts:
  - id: greet
    inputs:
      who: {default: "$.metadata.name"}
    let:
      text: {value: "hello {{ who }}"}
"#;
    let rules = r#"rules:
  - id: by-default
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    uses: [greet]
    finding: {message: "{{ text }}"}
  - id: by-with
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    uses: [{part: greet, with: {who: "$.spec.nodeName"}}]
    finding: {message: "{{ text }}"}
  - id: by-scope
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    each: {as: who, path: "$.status.phase"}
    uses: [greet]
    finding: {message: "{{ text }}"}
"#;
    let (set, errors) = load_rules(&[src("p.yaml", parts), src("r.yaml", rules)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let report = check(
        &set,
        &facts(
            json!({"k8s/v1/Pod": [{"metadata": {"name": "p1", "namespace": "d"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}]}),
        ),
    );
    let mut got: Vec<(String, String)> = report
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.message.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("by-default".to_string(), "hello p1".to_string()),
            ("by-scope".to_string(), "hello Running".to_string()),
            ("by-with".to_string(), "hello n1".to_string()),
        ]
    );
}

/// A part used twice with different inputs, each `as` a scope of its own: its
/// names (bindings, inputs, the parts it builds on, and what its templates and
/// filters read) stay apart from the rule's and from the other use.
#[test]
fn a_part_used_as_a_scope_keeps_its_names_apart() {
    let parts = r#"parts:
  - id: node-of
    description: the node a name designates, its zone, and a sentence about it
    inputs:
      name: {description: a node name}
    uses: [zones]
    let:
      node: {join: k8s/v1/Node, on: $.metadata.name, equals: $name, one: true}
      zone: {value: "$node.metadata.labels['topology.kubernetes.io/zone']"}
      known: {value: "$zones[?@ == $zone]"}
      text: {value: "{{ name }} is in {{ zone | default('no zone', true) }}"}
  - id: zones
    let:
      zones: {value: [zone-a, zone-c]}
"#;
    let rule = r#"rules:
  - id: pods-across-zones
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    uses:
      - {part: node-of, as: here, with: {name: $.spec.nodeName}}
      - {part: node-of, as: peer, with: {name: "$.metadata.annotations.peer"}}
    let:
      # the rule's own `node` and `text` do not clash with the part's
      node: {value: "$here.node.metadata.name"}
      text: {value: "{{ here.text }}; {{ peer.text }}"}
    when: {path: $here.zone, notEquals: $peer.zone}
    finding:
      message: "{{ subject.metadata.name }} on {{ node }}: {{ text }}; known: {{ here.known }} {{ peer.known }}"
"#;
    let (set, errors) = load_rules(&[src("parts.yaml", parts), src("rule.yaml", rule)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let r = set.get("pods-across-zones").unwrap();
    assert_eq!(r.parts, ["zones", "node-of"]);
    let store = facts(json!({
        "k8s/v1/Pod": [
            {"metadata": {"name": "p1", "namespace": "d", "uid": "1", "annotations": {"peer": "n2"}}, "spec": {"nodeName": "n1"}},
            {"metadata": {"name": "p2", "namespace": "d", "uid": "2", "annotations": {"peer": "n3"}}, "spec": {"nodeName": "n1"}}
        ],
        "k8s/v1/Node": [
            {"metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "zone-a"}}},
            {"metadata": {"name": "n2", "labels": {"topology.kubernetes.io/zone": "zone-b"}}},
            {"metadata": {"name": "n3", "labels": {"topology.kubernetes.io/zone": "zone-a"}}}
        ]
    }));
    let report = check(&set, &store);
    let found: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        found,
        ["p1 on n1: n1 is in zone-a; n2 is in zone-b; known: ['zone-a'] []"]
    );

    // errors: the scope name is a binding name, bound once; `__` is reserved
    let bad = r#"rules:
  - id: r1
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    uses:
      - {part: node-of, as: here, with: {name: $.spec.nodeName}}
      - {part: node-of, as: here, with: {name: $.spec.nodeName}}
    finding: {message: m}
  - id: r2
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    let:
      my__name: {value: 1}
    finding: {message: m}
"#;
    let got = errors_of(&[src("parts.yaml", parts), src("rules.yaml", bad)]);
    let want = [
        "rules.yaml:8:29: invalid value `here` for `binding name` | each name is bound once per rule",
        "rules.yaml:15:7: invalid value `my__name` for `binding name` | `__` is reserved",
    ];
    assert_has_errors(&got, &want);
}

/// Each `"head | help"` of `want` is an error of `got` starting with `head`
/// whose help contains `help`.
fn assert_has_errors(got: &[String], want: &[&str]) {
    for w in want {
        let (head, help) = w.split_once(" | ").unwrap();
        assert!(
            got.iter().any(|g| g.starts_with(head) && g.contains(help)),
            "missing `{w}` in:\n{}",
            got.join("\n")
        );
    }
}

fn errors_of(files: &[SourceFile]) -> Vec<String> {
    let (_, errors) = load_rules(files);
    render(&errors)
}

fn render(errors: &[LoadError]) -> Vec<String> {
    errors
        .iter()
        .map(|e| format!("{e} | {}", e.help().unwrap_or_default()))
        .collect()
}

#[test]
fn part_errors_name_file_line_column_and_what_to_write() {
    let parts = r#"parts:
  - id: pod-node
    let:
      node: {join: k8s/v1/Node, on: $.metadata.name, equals: $.spec.nodeName, one: true}
  - id: orphan
    condition: {path: $.x, equals: 1}
  - id: loop-a
    public: true
    uses: [loop-b]
    let: {a: {value: 1}}
  - id: loop-b
    public: true
    uses: [loop-a]
    let: {b: {value: 2}}
  - id: needs-input
    public: true
    inputs:
      wanted: {description: the zone to look for}
    let: {w: {value: $wanted}}
  - id: broken
    public: true
    let:
      bad: {value: $nowhere.x}
"#;
    let rule = r#"rules:
  - id: r1
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    uses: [pod-nod]
    finding: {message: m}
  - id: r2
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod, where: {use: pod-node}}
    finding: {message: m}
  - id: r3
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    uses: [needs-input]
    finding: {message: m}
  - id: r4
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    uses: [{part: needs-input, with: {wantd: a}}]
    finding: {message: m}
  - id: r5
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    uses: [broken]
    finding: {message: m}
  - id: r6
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    each: {as: node, path: "$.spec.containers[*]"}
    uses: [pod-node]
    finding: {message: m}
"#;
    let got = errors_of(&[src("parts.yaml", parts), src("rules.yaml", rule)]);
    let want = [
        "parts.yaml:13:12: parts use each other in a cycle: `loop-a` -> `loop-b` -> `loop-a` | a part may build on other parts",
        "rules.yaml:6:12: unknown part `pod-nod` | did you mean `pod-node`?",
        "rules.yaml:11:46: part `pod-node` is a bindings part, not a condition part | list it under the rule's `uses:` (`uses: [pod-node]`)",
        "rules.yaml:17:12: part `needs-input` needs `wanted`, which is not bound here | bind `wanted` before it",
        "rules.yaml:23:39: part `needs-input` has no input `wantd` | did you mean `wanted`?",
        "parts.yaml:23:20: `$nowhere` is not defined at this point of the rule | use `$.` for the subject",
        "rules.yaml:36:12: part `pod-node` binds `node`, which this rule already binds | rename the rule's `node`",
        "parts.yaml:5:5: part `orphan` is not used by any rule | write it where a condition goes: `{use: orphan}`; mark it `public: true`",
    ];
    assert_has_errors(&got, &want);
    // a missing input is reported once, not again at every use inside the part
    assert!(
        !got.iter().any(|g| g.contains("`$wanted` is not defined")),
        "{}",
        got.join("\n")
    );
}

#[test]
fn packs_see_their_own_parts_and_the_public_parts_of_packs_they_declare() {
    let base = r#"parts:
  - id: shared
    public: true
    let: {one: {value: 1}}
  - id: private
    let: {two: {value: 2}}
rules:
  - id: base-rule
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    uses: [private]
    finding: {message: "{{ two }}"}
"#;
    let team = r#"rules:
  - id: team-rule
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    uses: [base/shared, shared]
    finding: {message: "{{ one }}"}
  - id: team-private
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    uses: [base/private]
    finding: {message: "{{ two }}"}
"#;
    let files = [src("base/parts.yaml", base), src("team/rule.yaml", team)];
    let scopes = |uses: &[&str]| PackScopes {
        pack_of: BTreeMap::from([
            (PathBuf::from("base/parts.yaml"), "base".to_string()),
            (PathBuf::from("team/rule.yaml"), "team".to_string()),
        ]),
        uses: BTreeMap::from([(
            "team".to_string(),
            uses.iter().map(|s| s.to_string()).collect(),
        )]),
        ..PackScopes::default()
    };
    let (_, errors) = load_rule_sources(&files, &scopes(&["base"]), &[]);
    let got = render(&errors);
    assert!(got.len() >= 2, "{}", got.join("\n"));
    assert!(
        got[0].starts_with("team/rule.yaml:6:25: unknown part `shared`"),
        "{}",
        got[0]
    );
    assert!(got[0].contains("did you mean `base/shared`?"), "{}", got[0]);
    assert!(
        got[1].starts_with("team/rule.yaml:12:12: part `base/private` is private to pack `base`"),
        "{}",
        got[1]
    );

    let (_, errors) = load_rule_sources(&files, &scopes(&[]), &[]);
    let got = render(&errors);
    assert!(
        got.iter().any(|g| g.starts_with("team/rule.yaml:6:12: pack `team` uses part `base/shared` but does not declare pack `base`")
            && g.contains("add `uses: [base]` to the pack's `pack.yaml`")),
        "{}",
        got.join("\n")
    );

    // a pack whose rules are not loaded lends its parts as a library
    let team_only = [src(
        "team/rule.yaml",
        &team
            .replace(", shared]", "]")
            .replace("base/private", "base/shared")
            .replace("{{ two }}", "{{ one }}"),
    )];
    let (set, errors) = load_rule_sources(
        &team_only,
        &scopes(&["base"]),
        &[("base".to_string(), src("base/parts.yaml", base))],
    );
    assert!(errors.is_empty(), "{:#?}", render(&errors));
    assert_eq!(set.rules.len(), 2);
}
