//! Filters that read bindings (`$name.x` inside `[?…]`, rulerun's extension to
//! RFC 9535): evaluated per subject and `each` element, load errors for names
//! not in scope, and field projection keeping what they read.

use rulerun_core::{LoadErrorKind, check, load_rules};
use serde_json::json;

use crate::support::{facts, src};

const RULE: &str = r#"
rules:
  - id: pinned-image-differs
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    each: {as: container, path: "$.status.containerStatuses[*]"}
    let:
      spec_image: {value: "$.spec.containers[?@.name == $container.name].image"}
      owner:
        join: k8s/apps/v1/ReplicaSet
        on: $.metadata.uid
        equals: "$.metadata.ownerReferences[?@.kind == 'ReplicaSet'].uid"
        where: {path: "$.spec.template.spec.containers[?@.name == $container.name]", exists: true}
        one: true
    when:
      all:
        - {path: "$.spec.containers[?@.name == $container.name && @.image != $container.image]", exists: true}
    finding:
      message: "{{ container.name }} runs {{ container.image }}, not {{ spec_image[0] }}{% if owner %} (from {{ owner.metadata.name }}){% endif %}"
"#;

#[test]
fn filters_compare_with_the_element_of_each_and_joins() {
    let (set, errors) = load_rules(&[src("r.yaml", RULE)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let f = facts(json!({
        "k8s/v1/Pod": [{
            "metadata": {"name": "p", "namespace": "ns", "ownerReferences": [{"kind": "ReplicaSet", "uid": "rs1"}]},
            "spec": {"containers": [{"name": "app", "image": "app:1"}, {"name": "side", "image": "side:2"}]},
            "status": {"containerStatuses": [
                {"name": "app", "image": "app:1"},
                {"name": "side", "image": "side:3"}
            ]}
        }],
        "k8s/apps/v1/ReplicaSet": [{
            "metadata": {"name": "rs", "uid": "rs1"},
            "spec": {"template": {"spec": {"containers": [{"name": "side"}]}}}
        }]
    }));
    let report = check(&set, &f);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages, ["side runs side:3, not side:2 (from rs)"]);

    // Projection keeps what the filters read of the bindings: the element's
    // name and image, the containers filtered whole.
    let p = set.projection();
    let kept = p.node("k8s/v1/Pod").paths();
    for want in [
        "$.spec.containers",
        "$.status.containerStatuses[*].image",
        "$.status.containerStatuses[*].name",
    ] {
        assert!(kept.iter().any(|k| k == want), "{want} not in {kept:?}");
    }
    let projected = facts(json!({
        "k8s/v1/Pod": [p.project("k8s/v1/Pod", f.of_kind("k8s/v1/Pod")[0].clone())],
        "k8s/apps/v1/ReplicaSet": [p.project("k8s/apps/v1/ReplicaSet", f.of_kind("k8s/apps/v1/ReplicaSet")[0].clone())]
    }));
    assert_eq!(check(&set, &projected).findings, report.findings);
}

#[test]
fn unknown_names_in_filters_are_load_errors() {
    let rule = RULE.replace("@.image != $container.image", "@.image != $contaner.image");
    let (_, errors) = load_rules(&[src("r.yaml", &rule)]);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert_eq!(
        e.to_string(),
        "r.yaml:18:18: `$contaner` is not defined at this point of the rule"
    );
    assert!(matches!(&*e.kind, LoadErrorKind::UnknownBinding { name, .. } if name == "contaner"));
    assert_eq!(
        e.help().unwrap(),
        "did you mean `$container`? use `$.` for the subject or one of: `$container`, `$spec_image`, `$owner`"
    );
    // A name defined later is not in scope yet.
    let rule = RULE.replace(
        "@.name == $container.name].image",
        "@.name == $owner.name].image",
    );
    // (The template that uses `spec_image` then fails too.)
    let (_, errors) = load_rules(&[src("r.yaml", &rule)]);
    assert!(!errors.is_empty());
    assert!(
        errors[0].to_string().contains("`$owner` is not defined"),
        "{}",
        errors[0]
    );
    // A join's `on` path reads only the joined fact.
    let rule = RULE.replace(
        "on: $.metadata.uid",
        "on: \"$.metadata[?@ == $container.name]\"",
    );
    let (_, errors) = load_rules(&[src("r.yaml", &rule)]);
    assert!(!errors.is_empty());
    assert!(
        errors[0]
            .to_string()
            .contains("a join's `on` path reads only the joined fact"),
        "{}",
        errors[0]
    );
}
