//! Placeholders in fix steps: declared values the user supplies, printed bare
//! as `<NAME>`, listed with where they stand; every misuse a load error.

use rulerun_core::{check, load_rules};
use serde_json::json;

use crate::support::{facts, src};

fn rule(fix: &str) -> String {
    format!(
        "rules:\n  - id: r\n    title: R\n    severity: low\n    subject: {{kind: k8s/v1/Pod}}\n    finding:\n      message: m\n      fix:\n{fix}"
    )
}

fn pods() -> rulerun_core::FactStore {
    facts(json!({"k8s/v1/Pod": [{"metadata": {"name": "web <TAG> '$(id)'", "namespace": "shop"}}]}))
}

#[test]
fn argv_placeholders_print_bare_and_are_listed_with_where_they_stand() {
    let text = rule(
        r#"        - description: "point {{ subject.metadata.name }} at {{ placeholder('TAG') }}"
          placeholders:
            TAG: "the tag of {{ subject.metadata.namespace }}/app to deploy"
          argv: [kubectl, set, image, "--namespace={{ subject.metadata.namespace }}", --,
                 "pod/{{ subject.metadata.name }}", "app=repo:{{ placeholder('TAG') }}", "{{ placeholder('TAG') }}"]
"#,
    );
    let (set, errors) = load_rules(&[src("r.yaml", &text)]);
    assert!(errors.is_empty(), "{errors:?}");
    let report = check(&set, &pods());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let step = &report.findings[0].fix[0];
    // A value holding `<TAG>` is quoted; the placeholder is not.
    assert_eq!(
        step.command,
        "kubectl set image --namespace=shop -- 'pod/web <TAG> '\\''$(id)'\\''' app=repo:<TAG> <TAG>"
    );
    assert_eq!(step.description, "point web <TAG> '$(id)' at <TAG>");
    let argv = step.argv.as_ref().unwrap();
    assert_eq!(argv[6], "app=repo:<TAG>");
    let json = serde_json::to_value(step).unwrap();
    assert_eq!(
        json["placeholders"],
        json!([{
            "name": "TAG",
            "description": "the tag of shop/app to deploy",
            "where": {
                "command": [{"start": 77, "end": 82}, {"start": 83, "end": 88}],
                "argv": [{"index": 6, "start": 9, "end": 14}, {"index": 7, "start": 0, "end": 5}]
            }
        }])
    );
    assert_eq!(&step.command[77..82], "<TAG>");
    assert_eq!(
        step.command_with(|_| Some("1.2.0".into())),
        "kubectl set image --namespace=shop -- 'pod/web <TAG> '\\''$(id)'\\''' app=repo:1.2.0 1.2.0"
    );
}

#[test]
fn command_placeholders_print_bare_and_stand_only_where_a_value_may() {
    let text = rule(
        r#"        - description: attach the role
          placeholders: {ROLE_ARN: the ARN of the role to attach}
          command: aws iam attach-role-policy --role-name={{ subject.metadata.name }} --policy-arn={{ placeholder("ROLE_ARN") }} --output text
"#,
    );
    let (set, errors) = load_rules(&[src("r.yaml", &text)]);
    assert!(errors.is_empty(), "{errors:?}");
    let report = check(&set, &pods());
    let step = &report.findings[0].fix[0];
    assert_eq!(
        step.command,
        "aws iam attach-role-policy --role-name='web <TAG> '\\''$(id)'\\''' --policy-arn=<ROLE_ARN> --output text"
    );
    let r = &step.placeholders[0].at.command[0];
    assert_eq!(&step.command[r.start..r.end], "<ROLE_ARN>");
    assert!(step.placeholders[0].at.argv.is_empty());
    // Where a value may not stand, a placeholder may not either.
    for bad in [
        r#"command: "{{ placeholder('X') }} get pods""#,
        r#"command: "echo '{{ placeholder('X') }}'""#,
        r#"command: "echo > {{ placeholder('X') }}""#,
    ] {
        let text = rule(&format!(
            "        - description: d\n          placeholders: {{X: x}}\n          {bad}\n"
        ));
        let (_, errors) = load_rules(&[src("r.yaml", &text)]);
        assert_eq!(errors.len(), 1, "{bad}: {errors:?}");
    }
}

#[test]
fn misused_placeholders_are_load_errors_at_their_position() {
    let cases = [
        (
            "        - description: d\n          argv: [echo, \"{{ placeholder('TAG') }}\"]\n",
            "r.yaml:10:24: placeholder `TAG` is not declared (template line 1, column 1)",
        ),
        (
            "        - description: d\n          placeholders: {TAG: t, ROLE: r}\n          argv: [echo, \"{{ placeholder('TAG') }}\"]\n",
            "r.yaml:10:34: placeholder `ROLE` is declared but the step's command does not use it",
        ),
        (
            "        - description: \"{{ placeholder('TAG') }}\"\n          placeholders: {TAG: t}\n          argv: [echo]\n",
            "r.yaml:10:26: placeholder `TAG` is declared but the step's command does not use it",
        ),
        (
            "        - description: d\n          placeholders: {tag: t}\n          argv: [echo, \"{{ placeholder('tag') }}\"]\n",
            "invalid placeholder name `tag`",
        ),
        (
            "        - description: d\n          argv: [echo, \"{{ placeholder('TAG') | lower }}\"]\n",
            "a placeholder is written alone",
        ),
        (
            "        - description: d\n          argv: [echo, \"{{ 'x' ~ placeholder('TAG') }}\"]\n",
            "a placeholder is written alone",
        ),
        (
            "        - description: d\n          argv: [echo, \"{% if true %}{{ placeholder('TAG') }}{% endif %}\"]\n",
            "a placeholder is written alone",
        ),
        (
            "        - description: d\n          argv: [aws, ecr, put-image, --image-tag=<TAG>]\n",
            "r.yaml:10:39: `<TAG>` is written by hand in a fix command (template line 1, column 13)",
        ),
        (
            "        - description: d\n          command: echo --tag=<NEW_TAG>\n",
            "`<NEW_TAG>` is written by hand",
        ),
    ];
    for (fix, want) in cases {
        let (set, errors) = load_rules(&[src("r.yaml", &rule(fix))]);
        assert!(set.rules.is_empty(), "{fix}");
        let all: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(all.iter().any(|e| e.contains(want)), "{fix}: {all:#?}");
    }
    // Outside a fix step, a placeholder has no meaning.
    let text = "rules:\n  - id: r\n    title: R\n    severity: low\n    subject: {kind: k8s/v1/Pod}\n    finding:\n      message: \"set {{ placeholder('TAG') }}\"\n";
    let (_, errors) = load_rules(&[src("r.yaml", text)]);
    assert!(
        errors[0]
            .to_string()
            .contains("placeholder `TAG` in a message (template line 1, column 5): placeholders stand only in fix steps"),
        "{errors:?}"
    );
    // A binding cannot take the function's name.
    let text = "rules:\n  - id: r\n    title: R\n    severity: low\n    subject: {kind: k8s/v1/Pod}\n    let:\n      placeholder: {value: 1}\n    finding:\n      message: m\n";
    let (_, errors) = load_rules(&[src("r.yaml", text)]);
    assert_eq!(errors.len(), 1, "{errors:?}");
}

#[test]
fn a_value_cannot_pose_as_a_placeholder() {
    let text = rule(
        "        - description: d\n          argv: [echo, \"{{ subject.metadata.name }}\", $.metadata.name]\n",
    );
    let (set, errors) = load_rules(&[src("r.yaml", &text)]);
    assert!(errors.is_empty(), "{errors:?}");
    let store = facts(json!({"k8s/v1/Pod": [{"metadata": {"name": "\u{FDD0}TAG\u{FDD1}"}}]}));
    let report = check(&set, &store);
    let step = &report.findings[0].fix[0];
    assert!(step.placeholders.is_empty());
    assert!(!step.command.contains("<TAG>"), "{}", step.command);
    assert_eq!(
        step.command,
        "echo '\u{FFFD}TAG\u{FFFD}' '\u{FFFD}TAG\u{FFFD}'"
    );
}

// Template errors name the expression and its place in the rule file; the
// documented guard works when a parent is missing.

#[test]
fn undefined_values_name_the_expression_and_its_file_position() {
    let text = "rules:\n  - id: r\n    title: R\n    severity: low\n    subject: {kind: k8s/v1/Pod}\n    finding:\n      message: >-\n        pod {{ subject.metadata.name }}\n        has {{ subject.metadata.labels.app }}\n";
    let (set, errors) = load_rules(&[src("rule.yaml", text)]);
    assert!(errors.is_empty(), "{errors:?}");
    let report = check(
        &set,
        &facts(json!({"k8s/v1/Pod": [{"metadata": {"name": "web"}}]})),
    );
    assert_eq!(report.errors.len(), 1, "{report:?}");
    assert_eq!(
        report.errors[0].message,
        "message: `subject.metadata.labels` is undefined at `rule.yaml:9:16`"
    );
    // in a command, quoted
    let text = "rules:\n  - id: r\n    title: R\n    severity: low\n    subject: {kind: k8s/v1/Pod}\n    finding:\n      message: m\n      fix:\n        - description: d\n          command: \"kubectl get pod/{{ subject.metadata.name }} --namespace={{ subject.metadata.ns }}\"\n";
    let (set, errors) = load_rules(&[src("rule.yaml", text)]);
    assert!(errors.is_empty(), "{errors:?}");
    let report = check(
        &set,
        &facts(json!({"k8s/v1/Pod": [{"metadata": {"name": "web"}}]})),
    );
    assert_eq!(
        report.errors[0].message,
        "fix step 1 command: `subject.metadata.ns` is undefined at `rule.yaml:10:80`"
    );
}

#[test]
fn default_and_defined_guard_a_missing_parent() {
    let text = r#"rules:
  - id: r
    title: R
    severity: low
    subject: {kind: k8s/v1/Pod}
    finding:
      message: >-
        {{ subject.metadata.labels.app | default("x") }}
        {{ subject.metadata.labels['app.kubernetes.io/name'] | d('y') }}
        {{ subject.status.containerStatuses[0].name | default('z') }}
        {% if subject.metadata.labels.app is defined %}defined{% else %}undefined{% endif %}
        {{ subject.metadata.name | default('n') }}
        {{ subject.metadata.annotations.a | default('a') | upper }}
"#;
    let (set, errors) = load_rules(&[src("rule.yaml", text)]);
    assert!(errors.is_empty(), "{errors:?}");
    let report = check(
        &set,
        &facts(json!({"k8s/v1/Pod": [
            {"metadata": {"name": "web"}},
            {"metadata": {"name": "api", "labels": {"app": "shop", "app.kubernetes.io/name": "api"}, "annotations": {"a": "b"}},
             "status": {"containerStatuses": [{"name": "c"}]}}
        ]})),
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let mut messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    messages.sort();
    assert_eq!(
        messages,
        ["shop api c defined api B", "x y z undefined web A"]
    );
    // Printing a missing value is still an error.
    let text = "rules:\n  - id: r\n    title: R\n    severity: low\n    subject: {kind: k8s/v1/Pod}\n    finding:\n      message: \"{{ subject.metadata.labels.app }}\"\n";
    let (set, _) = load_rules(&[src("rule.yaml", text)]);
    let report = check(
        &set,
        &facts(json!({"k8s/v1/Pod": [{"metadata": {"name": "web", "labels": {}}}]})),
    );
    assert_eq!(
        report.errors[0].message,
        "message: `subject.metadata.labels.app` is undefined at `rule.yaml:7:20`"
    );
}
