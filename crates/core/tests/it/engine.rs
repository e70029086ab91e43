//! Rules loaded from YAML text, evaluated over facts.

use std::path::PathBuf;
use std::process::Command;

use rulerun_core::{LoadErrorKind, check, load_rules};
use serde_json::json;

use crate::support::{facts, src};

#[test]
fn malformed_rule_file_reports_every_error_with_positions() {
    let text = r#"rules:
  - id: broken
    title: Broken
    severty: high
    subject:
      kind: k8s/v1/Pod
      where: {path: "$.status[", equals: x}
    when:
      - {path: $.metadata.name, regex: "(unclosed"}
    finding:
      message: "{{ subjct.metadata.name }}"
"#;
    let bad_indent = "rules:\n  - id: x\n   title: y\n";
    let (set, errors) = load_rules(&[src("broken.yaml", text), src("indent.yaml", bad_indent)]);
    assert!(set.rules.is_empty());
    let rendered: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let find = |needle: &str| {
        rendered
            .iter()
            .find(|r| r.contains(needle))
            .unwrap_or_else(|| panic!("no error containing {needle:?} in {rendered:#?}"))
    };
    assert!(find("unknown key `severty`").starts_with("broken.yaml:4:5:"));
    assert!(find("missing key `severity`").starts_with("broken.yaml:2:5:"));
    assert!(find("invalid JSONPath `$.status[`").starts_with("broken.yaml:7:"));
    assert!(find("invalid regex `(unclosed`").starts_with("broken.yaml:9:"));
    assert!(find("undefined variable `subjct`").starts_with("broken.yaml:11:16:"));
    assert!(find("invalid YAML").starts_with("indent.yaml:3:"));
    let typo = errors
        .iter()
        .find(|e| matches!(*e.kind, LoadErrorKind::UnknownKey { .. }))
        .unwrap();
    assert_eq!(typo.help().as_deref(), Some("did you mean `severity`?"));
    let undefined = errors
        .iter()
        .find(|e| matches!(*e.kind, LoadErrorKind::UndefinedVariable { .. }))
        .unwrap();
    assert_eq!(undefined.help().as_deref(), Some("did you mean `subject`?"));
}

#[test]
fn duplicate_ids_name_the_first_definition() {
    let r = "rules:\n  - id: a\n    title: A\n    severity: low\n    subject: {kind: k8s/v1/Pod}\n    finding: {message: m}\n";
    let (set, errors) = load_rules(&[src("one.yaml", r), src("two.yaml", r)]);
    assert_eq!(set.rules.len(), 1);
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        "two.yaml:2:5: duplicate rule id `a`, first defined at one.yaml:2:5"
    );
}

const JOIN_RULE: &str = r#"
rules:
  - id: pod-on-unready-node
    title: Pod on a node that is not ready
    severity: medium
    subject: {kind: k8s/v1/Pod}
    let:
      node:
        join: k8s/v1/Node
        on: $.metadata.name
        equals: $.spec.nodeName
        one: true
      warnings:
        join: k8s/v1/Event
        on: [$.involvedObject.namespace, $.involvedObject.name]
        equals: [$.metadata.namespace, $.metadata.name]
        where: {path: $.type, equals: Warning}
    when:
      - {path: $node.metadata.name, exists: true}
      - path: "$node.status.conditions[?@.type == 'Ready'].status"
        notEquals: "True"
    finding:
      message: "{{ subject.metadata.name }} runs on {{ node.metadata.name }} ({{ warnings | length }} warnings)"
      evidence:
        warnings: "$warnings[*].reason"
        nodeName: $node.metadata.name
"#;

#[test]
fn joins_use_single_and_composite_keys_with_filters() {
    let (set, errors) = load_rules(&[src("join.yaml", JOIN_RULE)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let f = facts(json!({
        "k8s/v1/Pod": [
            {"metadata": {"name": "a", "namespace": "ns"}, "spec": {"nodeName": "n1"}},
            {"metadata": {"name": "b", "namespace": "ns"}, "spec": {"nodeName": "n2"}},
            {"metadata": {"name": "c", "namespace": "ns"}, "spec": {"nodeName": "missing"}}
        ],
        "k8s/v1/Node": [
            {"metadata": {"name": "n1"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}},
            {"metadata": {"name": "n2"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
        ],
        "k8s/v1/Event": [
            {"involvedObject": {"namespace": "ns", "name": "a"}, "type": "Warning", "reason": "NodeNotReady"},
            {"involvedObject": {"namespace": "ns", "name": "a"}, "type": "Normal", "reason": "Scheduled"},
            {"involvedObject": {"namespace": "other", "name": "a"}, "type": "Warning", "reason": "Elsewhere"}
        ]
    }));
    let report = check(&set, &f);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    // `c` has no node: `one: true` binds null, and the `exists` guard skips it.
    let names: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.subject.name.as_str())
        .collect();
    assert_eq!(names, vec!["a"], "{:#?}", report.findings);
    let a = &report.findings[0];
    assert_eq!(a.message, "a runs on n1 (1 warnings)");
    assert_eq!(a.evidence["warnings"], json!(["NodeNotReady"]));
    assert_eq!(a.evidence["nodeName"], json!("n1"));
}

#[test]
fn runtime_template_failures_are_reported_not_fatal() {
    let rule = r#"
rules:
  - id: needs-label
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    finding:
      message: "{{ subject.metadata.labels.app }}"
"#;
    let (set, errors) = load_rules(&[src("r.yaml", rule)]);
    assert!(errors.is_empty());
    let f = facts(json!({"k8s/v1/Pod": [
        {"metadata": {"name": "ok", "labels": {"app": "web"}}},
        {"metadata": {"name": "nolabel"}}
    ]}));
    let report = check(&set, &f);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].message, "web");
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].subject.as_ref().unwrap().name, "nolabel");
}

/// Hostile values in facts reach fix commands; run each command through bash (fix
/// commands are for bash and zsh: values with control characters are written
/// `$'...'`) and show the value arrives as one intact argument, byte for byte, and
/// nothing executes.
#[test]
fn fix_commands_are_injection_proof_in_bash() {
    let rule = r#"
rules:
  - id: hostile
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    finding:
      message: m
      fix:
        - description: argv form
          argv: [printf, "%s\\0", "{{ subject.metadata.name }}", "x-{{ subject.metadata.labels.sid }}"]
        - description: whole-string form
          command: "printf '%s\\0' {{ subject.metadata.name }} x-{{ subject.metadata.labels.sid | trim }} {{ subject.metadata.labels.sid[1:] }}"
"#;
    let (set, errors) = load_rules(&[src("r.yaml", rule)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let dir = tempfile_dir();
    let marker = dir.join("pwned");
    let m = marker.display().to_string();
    let hostile = [
        format!("a'; touch {m}; echo '"),
        format!("$(touch {m})"),
        format!("`touch {m}`"),
        format!("line1\ntouch {m}\n"),
        format!("\"; touch {m}; \""),
        format!("\\'; touch {m} #"),
        format!("x\n$ touch {m}\r\u{1b}[2K"),
        format!("a\u{202e}b\u{200b}c'$(touch {m})"),
        format!("'\\''$'\\n'`touch {m}`"),
    ];
    for value in &hostile {
        let f =
            facts(json!({"k8s/v1/Pod": [{"metadata": {"name": value, "labels": {"sid": value}}}]}));
        let report = check(&set, &f);
        assert!(report.errors.is_empty(), "{:#?}", report.errors);
        let fix = &report.findings[0].fix;
        let argv = fix[0].argv.as_ref().unwrap();
        assert_eq!(argv[2], *value);
        for step in fix {
            assert!(
                !step
                    .command
                    .contains(['\n', '\r', '\u{1b}', '\u{202e}', '\u{200b}']),
                "one visible line: {:?}",
                step.command
            );
            let out = Command::new("bash")
                .env("LC_ALL", "C")
                .arg("-c")
                .arg(&step.command)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                step.command,
                String::from_utf8_lossy(&out.stderr)
            );
            let args: Vec<String> = String::from_utf8(out.stdout)
                .unwrap()
                .split('\0')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            assert_eq!(args[0], *value, "command: {}", step.command);
            if step.argv.is_some() {
                assert_eq!(args[1], format!("x-{value}"), "command: {}", step.command);
            } else {
                assert_eq!(
                    args[1],
                    format!("x-{}", value.trim()),
                    "command: {}",
                    step.command
                );
                assert_eq!(args[2], value[1..], "command: {}", step.command);
            }
            assert!(
                !marker.exists(),
                "command executed injected code: {}",
                step.command
            );
        }
    }
}

/// A value that starts with `-` where a command reads options (a pod named
/// `--all` in a snapshot) never becomes part of a command: the finding is an
/// evaluation error naming the step and the value. Where the rule puts values in
/// operand positions (`pod/NAME`, `--flag=VALUE`, after `--`), it is an argument.
#[test]
fn values_read_as_options_are_evaluation_errors() {
    let rule = r#"
rules:
  - id: bare-operand
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    finding:
      message: m
      fix:
        - description: delete
          argv: [kubectl, delete, pod, "{{ subject.metadata.name }}", --namespace, "{{ subject.metadata.namespace }}"]
  - id: bare-command
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    finding:
      message: m
      fix:
        - description: delete
          command: kubectl delete pod {{ subject.metadata.name }}
  - id: spliced
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    finding:
      message: m
      fix:
        - description: delete
          argv: [kubectl, delete, pods, "$.metadata.labels[*]"]
  - id: operand-positions
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    finding:
      message: m
      fix:
        - description: delete
          argv: [kubectl, delete, "pod/{{ subject.metadata.name }}", "--namespace={{ subject.metadata.namespace }}"]
        - description: after --
          argv: [kubectl, set, image, "--namespace={{ subject.metadata.namespace }}", --, "{{ subject.metadata.name }}", "$.metadata.labels[*]"]
        - description: command after --
          command: kubectl delete --namespace={{ subject.metadata.namespace }} -- pod x{{ subject.metadata.name }} {{ subject.metadata.name }}
"#;
    let (set, errors) = load_rules(&[src("r.yaml", rule)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let f = facts(json!({"k8s/v1/Pod": [
        {"metadata": {"name": "--all", "namespace": "-n", "labels": {"a": "-x"}}}
    ]}));
    let report = check(&set, &f);
    let fired: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(fired, ["operand-positions"], "{:#?}", report.errors);
    let commands: Vec<&str> = report.findings[0]
        .fix
        .iter()
        .map(|s| s.command.as_str())
        .collect();
    assert_eq!(
        commands,
        [
            "kubectl delete pod/--all --namespace=-n",
            "kubectl set image --namespace=-n -- --all -x",
            "kubectl delete --namespace=-n -- pod x--all --all",
        ]
    );
    let errors: Vec<(&str, &str)> = report
        .errors
        .iter()
        .map(|e| (e.rule.as_str(), e.message.as_str()))
        .collect();
    let help = "starts with `-` and would be read as an option; write `--flag={{ ... }}`, `TYPE/{{ ... }}`, or put it after `--`";
    assert_eq!(
        errors,
        [
            (
                "bare-operand",
                format!("fix step 1 argv[3]: the value `--all` {help}").as_str()
            ),
            (
                "bare-command",
                format!("fix step 1 command: the value `--all` {help}").as_str()
            ),
            (
                "spliced",
                format!("fix step 1 argv[3]: the value `-x` {help}").as_str()
            ),
        ]
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.fix.iter().all(|s| !s.command.contains(" --all --"))),
        "{:#?}",
        report.findings
    );
}

/// The AWS CLI reads a parameter value that starts with `file://`, `fileb://`,
/// `http://` or `https://` from that file or URL (`--role-name=file://...` sends a
/// local file's content, and AWS's error echoes it): from a fact, such a value is
/// an evaluation error, in an argv element, a spliced path and a `command`.
#[test]
fn aws_cli_parameter_files_from_values_are_evaluation_errors() {
    let rule = r#"
rules:
  - id: argv
    title: t
    severity: low
    subject: {kind: aws/iam/Role}
    finding:
      subject: {name: $.RoleName}
      message: m
      fix:
        - {description: d, argv: [aws, iam, get-role, "--role-name={{ subject.RoleName }}"]}
  - id: spliced
    title: t
    severity: low
    subject: {kind: aws/iam/Role}
    finding:
      subject: {name: $.RoleName}
      message: m
      fix:
        - {description: d, argv: [aws, ec2, describe-vpcs, --vpc-ids, $.RoleName]}
  - id: command
    title: t
    severity: low
    subject: {kind: aws/iam/Role}
    finding:
      subject: {name: $.RoleName}
      message: m
      fix:
        - {description: d, command: "aws iam get-role --role-name={{ subject.RoleName }}"}
  - id: literal
    title: t
    severity: low
    subject: {kind: aws/iam/Role}
    finding:
      subject: {name: $.RoleName}
      message: m
      fix:
        - {description: d, argv: [aws, iam, create-policy, --policy-document, "file://policy.json"]}
"#;
    let (set, errors) = load_rules(&[src("r.yaml", rule)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let f = facts(json!({"aws/iam/Role": [{"RoleName": "file:///home/u/.aws/credentials"}]}));
    let report = check(&set, &f);
    let fired: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(fired, ["literal"], "the rule's own file:// stays");
    let errors: Vec<String> = report
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.rule, e.message))
        .collect();
    let why = "the value `file:///home/u/.aws/credentials` would make the AWS CLI read a local file or URL as the parameter";
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors[0].starts_with(&format!("argv: fix step 1 argv[3]: {why}")),
        "{errors:#?}"
    );
    assert!(
        errors[1].starts_with(&format!("spliced: fix step 1 argv[4]: {why}")),
        "{errors:#?}"
    );
    assert!(
        errors[2].starts_with(&format!("command: fix step 1 command: {why}")),
        "{errors:#?}"
    );
}

/// A NUL byte cannot be part of a command: in an argv element, a spliced path
/// element and a `command` value it is an evaluation error.
#[test]
fn nul_bytes_in_fix_commands_are_evaluation_errors() {
    let rule = r#"
rules:
  - id: argv
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    finding:
      message: m
      fix: [{description: d, argv: [kubectl, get, "pod/{{ subject.metadata.name }}"]}]
  - id: spliced
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    finding:
      message: m
      fix: [{description: d, argv: [kubectl, get, pods, --, $.metadata.name]}]
  - id: command
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    finding:
      message: m
      fix: [{description: d, command: "kubectl get pod/{{ subject.metadata.name }}"}]
"#;
    let (set, errors) = load_rules(&[src("r.yaml", rule)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let f = facts(json!({"k8s/v1/Pod": [{"metadata": {"name": "web\u{0}; rm -rf /"}}]}));
    let report = check(&set, &f);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    let errors: Vec<String> = report
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.rule, e.message))
        .collect();
    let nul =
        "the value `web\\u{0}; rm -rf /` contains a NUL byte, which no command argument can hold";
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_eq!(
        errors[0],
        format!(
            "argv: fix step 1 argv[2]: {}",
            nul.replace("`web", "`pod/web")
        )
    );
    assert_eq!(errors[1], format!("spliced: fix step 1 argv[4]: {nul}"));
    assert!(
        errors[2].starts_with("command: fix step 1 command: template failed: ")
            && errors[2].contains(nul),
        "{errors:#?}"
    );
}

/// Every context where a quoted value could still run, or would not be one
/// argument, is refused when the rule loads, at the `command`'s file:line:column,
/// naming the interpolation and its place in the template.
#[test]
fn unsafe_command_templates_are_refused_at_load_with_positions() {
    let cases = [
        ("echo $(( {{ subject.metadata.name }} ))", "arithmetic"),
        (
            "cat <<EOF\n{{ subject.metadata.name }}\nEOF",
            "follows `<<`",
        ),
        ("echo \\{{ subject.metadata.name }}", "follows a backslash"),
        ("echo ok # {{ subject.metadata.name }}", "in a comment"),
        ("echo \"{{ subject.metadata.name }}\"", "inside quotes"),
        (
            "echo $(echo {{ subject.metadata.name }})",
            "command substitution",
        ),
        ("echo `echo {{ subject.metadata.name }}`", "backtick"),
        (
            "echo ${X:-{{ subject.metadata.name }}}",
            "parameter expansion",
        ),
        (
            "eval kubectl get pod {{ subject.metadata.name }}",
            "runs `eval`",
        ),
        ("sh -c {{ subject.metadata.name }}", "runs `sh`"),
        ("bash -c {{ subject.metadata.name }}", "runs `bash`"),
        (
            "xargs kubectl get {{ subject.metadata.name }}",
            "runs `xargs`",
        ),
        (
            "env kubectl get pod {{ subject.metadata.name }}",
            "runs `env`",
        ),
        ("{{ subject.metadata.name }} get pods", "the command word"),
        ("echo > {{ subject.metadata.name }}", "redirection"),
        (
            "PATH={{ subject.metadata.name }} kubectl get pods",
            "variable assignment",
        ),
        (
            "echo {% if true %}{{ subject.metadata.name }}{% endif %}",
            "statements are not allowed",
        ),
    ];
    let mut text = String::from("rules:\n");
    for (i, (command, _)) in cases.iter().enumerate() {
        let quoted = serde_json::to_string(command).unwrap();
        text.push_str(&format!(
            "  - id: r{i}\n    title: t\n    severity: low\n    subject: {{kind: k8s/v1/Pod}}\n    finding:\n      message: m\n      fix:\n        - description: d\n          command: {quoted}\n"
        ));
    }
    let (set, errors) = load_rules(&[src("cmd.yaml", &text)]);
    assert!(set.rules.is_empty(), "every rule is refused");
    assert_eq!(errors.len(), cases.len(), "{errors:#?}");
    for (i, (command, reason)) in cases.iter().enumerate() {
        let line = 2 + 9 * i + 8;
        let e = errors[i].to_string();
        assert!(
            e.starts_with(&format!("cmd.yaml:{line}:20: ")),
            "{command}: {e}"
        );
        assert!(e.contains(reason), "{command}: {e}");
        assert!(e.contains("template line"), "{command}: {e}");
        assert!(
            errors[i].help().is_some_and(|h| h.contains("argv")),
            "{command}: {:?}",
            errors[i].help()
        );
    }
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("rulerun-inject-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn each_iterates_elements_with_their_own_filter() {
    let rule = r#"
rules:
  - id: each-container
    title: t
    severity: info
    subject: {kind: k8s/v1/Pod}
    each:
      as: c
      path: "$.spec.containers[*]"
      where: {path: $c.image, regex: ":latest$"}
    let:
      parsed: {call: image_ref, args: [$c.image]}
    finding:
      message: "{{ c.name }} uses {{ parsed.repository }}:{{ parsed.tag }}"
"#;
    let (set, errors) = load_rules(&[src("r.yaml", rule)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let f = facts(
        json!({"k8s/v1/Pod": [{"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a", "image": "nginx:latest"}, {"name": "b", "image": "redis:7"}, {"name": "c", "image": "quay.io/x/y:latest"}
        ]}}]}),
    );
    let report = check(&set, &f);
    let msgs: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        msgs,
        vec!["a uses library/nginx:latest", "c uses x/y:latest"]
    );
}

#[test]
fn matchers_compare_paths_and_null_bindings_have_no_nodes() {
    let rule = r#"
rules:
  - id: image-differs-from-spec
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    each: {as: status, path: "$.status.containerStatuses[*]"}
    let:
      spec:
        value: "$.spec.containers[?@.name == 'app'].image"
      node:
        join: k8s/v1/Node
        on: $.metadata.name
        equals: $.spec.nodeName
        one: true
    when:
      - {path: $status.image, notEquals: "$spec[*]"}
      - {path: $node, exists: false}
      - {path: $.metadata.annotations.note, equals: "$$literal"}
    finding: {message: "{{ status.image }}"}
"#;
    let (set, errors) = load_rules(&[src("r.yaml", rule)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let f = facts(json!({"k8s/v1/Pod": [
        {"metadata": {"name": "a", "annotations": {"note": "$literal"}}, "spec": {"nodeName": "gone", "containers": [{"name": "app", "image": "x:1"}]},
         "status": {"containerStatuses": [{"name": "app", "image": "x:2"}]}},
        {"metadata": {"name": "b", "annotations": {"note": "$literal"}}, "spec": {"nodeName": "gone", "containers": [{"name": "app", "image": "x:1"}]},
         "status": {"containerStatuses": [{"name": "app", "image": "x:1"}]}}
    ]}));
    let report = check(&set, &f);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let names: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.subject.name.as_str())
        .collect();
    assert_eq!(names, vec!["a"]);
}

#[test]
fn bad_values_are_rejected_at_load() {
    let rule = r#"
rules:
  - id: bad-values
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    let:
      arn: {value: 1}
    when: {path: $.a, count: -1}
    finding:
      message: m
      fix:
        - description: d
          command: "echo \"{{ subject.metadata.name }}\""
"#;
    let (_, errors) = load_rules(&[src("r.yaml", rule)]);
    let text: Vec<String> = errors
        .iter()
        .map(|e| format!("{e} / {:?}", e.help()))
        .collect();
    assert_eq!(errors.len(), 3, "{text:#?}");
    assert!(
        text[0].contains("r.yaml:8:7: invalid value `arn` for `binding name`")
            && text[0].contains("is a function"),
        "{text:#?}"
    );
    assert!(
        text[1].contains("`count` must be a non-negative integer"),
        "{text:#?}"
    );
    assert!(text[2].contains("inside quotes"), "{text:#?}");
}

#[test]
fn parameters_have_defaults_and_typed_overrides() {
    let rule = r#"
rules:
  - id: unapproved-registry
    title: t
    severity: medium
    params:
      approved:
        description: Registries pods may pull from.
        default: [docker.io]
    subject: {kind: k8s/v1/Pod}
    each: {as: c, path: "$.spec.containers[*]"}
    let:
      image: {call: image_ref, args: [$c.image]}
    when: {path: $image.registry, notIn: []}
    finding: {message: "{{ image.registry }} not in {{ params.approved | join(', ') }}"}
"#;
    // `notIn: []` is always true; the real check is in the template-free path below.
    let rule = rule.replace(
        "when: {path: $image.registry, notIn: []}",
        "when: {path: $image.registry, notEquals: \"$params.approved[*]\"}",
    );
    let (mut set, errors) = load_rules(&[src("r.yaml", &rule)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let f = facts(
        json!({"k8s/v1/Pod": [{"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a", "image": "nginx"}, {"name": "b", "image": "quay.io/x/y:1"}
        ]}}]}),
    );
    let msgs = |set: &rulerun_core::RuleSet| -> Vec<String> {
        check(set, &f)
            .findings
            .into_iter()
            .map(|f| f.message)
            .collect()
    };
    assert_eq!(msgs(&set), vec!["quay.io not in docker.io"]);
    set.set_param(
        "unapproved-registry",
        "approved",
        json!(["docker.io", "quay.io"]),
    )
    .unwrap();
    assert!(msgs(&set).is_empty());
    let err = set
        .set_param("unapproved-registry", "approved", json!("quay.io"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "parameter `approved` of rule `unapproved-registry` takes an array, found a string"
    );
    assert!(
        set.set_param("unapproved-registry", "aproved", json!([]))
            .is_err()
    );
    assert!(set.set_param("nope", "approved", json!([])).is_err());
    set.set_severity("unapproved-registry", rulerun_core::Severity::Critical)
        .unwrap();
    assert_eq!(
        set.get("unapproved-registry").unwrap().severity,
        rulerun_core::Severity::Critical
    );
}

/// A join is identified by its kind and its paths in canonical spelling: a
/// rule that writes `$['metadata']['name']` reads the index, and demands the
/// keys, of the join the collector declares as `$.metadata.name`; two rules
/// spelling it differently share one index.
#[test]
fn joins_spelled_differently_are_one_join() {
    use rulerun_core::{JoinId, Plan, check_planned};
    let bracketed = JOIN_RULE.replace(
        "on: $.metadata.name\n",
        "on: \"$['metadata'][\\\"name\\\"]\"\n",
    );
    assert_ne!(bracketed, JOIN_RULE);
    let (set, errors) = load_rules(&[src("join.yaml", &bracketed)]);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        set.joins_of("k8s/v1/Node"),
        [JoinId::new("k8s/v1/Node", &["$.metadata.name"])]
    );
    let pods = json!([{"metadata": {"name": "a", "namespace": "ns"}, "spec": {"nodeName": "n1"}}]);
    let mut f = facts(json!({"k8s/v1/Pod": pods}));
    let mut plan = Plan::default();
    plan.keyed_kind("k8s/v1/Node", &["$.metadata.name"]);
    let (_, demands) = check_planned(&set, &f, &plan);
    assert_eq!(demands.len(), 1, "{demands:?}");
    assert_eq!(demands[0].join.on(), ["$.metadata.name"]);
    f.add("k8s/v1/Node", json!({"metadata": {"name": "n1"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}));
    plan.keyed
        .get_mut(&JoinId::new("k8s/v1/Node", &["$['metadata']['name']"]))
        .unwrap()
        .fetched
        .insert(vec!["n1".into()]);
    let (report, demands) = check_planned(&set, &f, &plan);
    assert!(demands.is_empty());
    assert_eq!(report.findings.len(), 1, "{report:?}");
}

#[test]
fn planned_checks_demand_keys_then_decide() {
    use rulerun_core::engine::KeyState;
    use rulerun_core::{Plan, check_planned};
    let (set, errors) = load_rules(&[src("join.yaml", JOIN_RULE)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let pods = json!([
        {"metadata": {"name": "a", "namespace": "ns"}, "spec": {"nodeName": "n1"}},
        {"metadata": {"name": "b", "namespace": "ns"}, "spec": {"nodeName": "n2"}}
    ]);
    let mut f = facts(json!({"k8s/v1/Pod": pods}));
    let mut plan = Plan::default();
    plan.keyed_kind("k8s/v1/Node", &["$.metadata.name"]);

    // Round 1: nodes are keyed and none is fetched: both pods demand theirs.
    let (report, demands) = check_planned(&set, &f, &plan);
    assert!(
        report.findings.is_empty() && report.errors.is_empty() && report.inconclusive.is_empty()
    );
    assert_eq!(demands.len(), 1);
    assert_eq!(demands[0].join.kind(), "k8s/v1/Node");
    assert_eq!(demands[0].join.on(), ["$.metadata.name"]);
    let keys: Vec<Vec<String>> = demands[0].keys.iter().cloned().collect();
    assert_eq!(keys, vec![vec!["n1".to_string()], vec!["n2".to_string()]]);
    assert_eq!(demands[0].namespaces.iter().collect::<Vec<_>>(), vec!["ns"]);

    // Round 2: n1 fetched (not ready), n2's fetch was forbidden.
    f.add("k8s/v1/Node", json!({"metadata": {"name": "n1"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}));
    let state: &mut KeyState = plan
        .keyed
        .get_mut(&rulerun_core::JoinId::new(
            "k8s/v1/Node",
            &["$.metadata.name"],
        ))
        .unwrap();
    state.fetched.insert(vec!["n1".into()]);
    state
        .failed
        .insert(vec!["n2".into()], "forbidden: cannot get `nodes`".into());
    let (report, demands) = check_planned(&set, &f, &plan);
    assert!(demands.is_empty());
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].subject.name, "a");
    assert_eq!(report.inconclusive.len(), 1);
    assert_eq!(report.inconclusive[0].subject.as_ref().unwrap().name, "b");
    assert!(report.inconclusive[0].reason.contains("forbidden"));

    // A kind that could not be collected at all makes inconclusive the subjects
    // that reach a join on it (`a`), not the rule as a whole: `b` stays
    // inconclusive for its node, and no demand is made for events.
    plan.unavailable.insert(
        "k8s/v1/Event".into(),
        "forbidden: cannot list `events` at cluster scope".into(),
    );
    let (report, demands) = check_planned(&set, &f, &plan);
    assert!(report.findings.is_empty());
    assert!(demands.is_empty());
    let got: Vec<(&str, &str)> = report
        .inconclusive
        .iter()
        .map(|i| (i.subject.as_ref().unwrap().name.as_str(), i.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "a",
                "`k8s/v1/Event` could not be collected: forbidden: cannot list `events` at cluster scope"
            ),
            ("b", "forbidden: cannot get `nodes`"),
        ]
    );
}

#[test]
fn fix_steps_can_be_conditional_and_splice_lists_into_argv() {
    let rule = r#"
rules:
  - id: missing-endpoints
    title: t
    severity: low
    subject: {kind: aws/ec2/Vpc}
    let:
      missing: {value: "$.missing"}
    finding:
      subject: {name: $.VpcId}
      message: m
      fix:
        - description: create the ecr.api endpoint
          if: {path: "$missing[*]", equals: ecr.api}
          argv: [aws, ec2, create-vpc-endpoint, --vpc-id, "{{ subject.VpcId }}", --subnet-ids, "$.subnets", --literal, "$$.not-a-path"]
        - description: never shown
          if: {path: "$missing[*]", equals: nothing}
          argv: [echo]
"#;
    let (set, errors) = load_rules(&[src("r.yaml", rule)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let f = facts(json!({"aws/ec2/Vpc": [
        {"VpcId": "vpc-1", "missing": ["ecr.api"], "subnets": ["subnet-a", "subnet-b"]},
        {"VpcId": "vpc-2", "missing": [], "subnets": []}
    ]}));
    let report = check(&set, &f);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let by_name = |n: &str| {
        report
            .findings
            .iter()
            .find(|f| f.subject.name == n)
            .unwrap()
    };
    let one = &by_name("vpc-1").fix;
    assert_eq!(one.len(), 1);
    assert_eq!(
        one[0].argv.as_ref().unwrap(),
        &vec![
            "aws",
            "ec2",
            "create-vpc-endpoint",
            "--vpc-id",
            "vpc-1",
            "--subnet-ids",
            "subnet-a",
            "subnet-b",
            "--literal",
            "$.not-a-path"
        ]
    );
    assert_eq!(
        one[0].command,
        "aws ec2 create-vpc-endpoint --vpc-id vpc-1 --subnet-ids subnet-a subnet-b --literal '$.not-a-path'"
    );
    assert!(by_name("vpc-2").fix.is_empty());
}

#[test]
fn supersedes_replaces_the_finding_about_the_same_element_only() {
    let rules = r#"rules:
  - id: generic
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    each: {as: c, path: "$.status.containerStatuses[*]"}
    finding: {message: "generic {{ c.name }}"}
  - id: precise
    title: t
    severity: high
    supersedes: [generic, whole]
    subject: {kind: k8s/v1/Pod}
    each: {as: c, path: "$.status.containerStatuses[*]", where: {path: $c.image, startsWith: "ecr/"}}
    finding: {message: "precise {{ c.name }}"}
  - id: whole
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    finding: {message: "whole pod"}
"#;
    let (set, errors) = load_rules(&[src("r.yaml", rules)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let pod = json!({"k8s/v1/Pod": [{"metadata": {"name": "p", "namespace": "d"},
        "status": {"containerStatuses": [{"name": "a", "image": "ecr/a"}, {"name": "b", "image": "hub/b"}]}}]});
    let report = check(&set, &facts(pod));
    let mut got: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    got.sort();
    // `generic a` and `whole pod` are replaced; `generic b` is about another container
    assert_eq!(got, ["generic b", "precise a"]);
    assert_eq!(report.superseded, 2);
}

/// "Compile once" (docs/ARCHITECTURE.md): a rule's literal patterns, in `regex:`
/// matchers and in `match()`/`search()` of its paths, are compiled when it
/// loads; checking compiles none, however many subjects it evaluates.
#[test]
fn literal_patterns_of_rules_compile_at_load_never_while_checking() {
    let rule = r#"
rules:
  - id: latest-web-image
    title: t
    severity: info
    subject:
      kind: k8s/v1/Pod
      where: {path: "$.metadata[?match(@, 'web-[0-9]+')]", exists: true}
    each:
      as: c
      path: "$.spec.containers[?search(@.name, '^app')]"
      where: {path: $c.image, regex: ":latest$"}
    finding:
      message: "{{ c.name }}"
"#;
    let before = rulerun_jsonpath::regex_compilations();
    let (set, errors) = load_rules(&[src("r.yaml", rule)]);
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(
        rulerun_jsonpath::regex_compilations() - before >= 3,
        "the three patterns compile at load"
    );
    let pods: Vec<_> = (0..200)
        .map(|i| {
            json!({"metadata": {"name": format!("web-{i}")}, "spec": {"containers": [
                {"name": "app", "image": "nginx:latest"}, {"name": "sidecar", "image": "envoy:latest"}
            ]}})
        })
        .collect();
    let f = facts(json!({ "k8s/v1/Pod": pods }));
    let loaded = rulerun_jsonpath::regex_compilations();
    let report = check(&set, &f);
    assert_eq!(report.findings.len(), 200, "{:#?}", report.errors);
    assert_eq!(
        rulerun_jsonpath::regex_compilations(),
        loaded,
        "no pattern compiled while checking"
    );
}

/// `regex_captures` compiles its literal pattern at load (none while checking),
/// returns named groups, and refuses a pattern that is not a literal, an invalid
/// one, a reserved group name and a call from a template, each at load or as an
/// evaluation error naming why.
#[test]
fn regex_captures_compiles_its_pattern_at_load() {
    let rule = r#"
rules:
  - id: denied-action
    title: t
    severity: info
    subject: {kind: k8s/v1/Event}
    let:
      denied:
        call: regex_captures
        args: [$.message, "not authorized to perform: (?P<action>[\\w-]+:[\\w*]+)(?: on resource: (?P<resource>\\S+))?"]
    when: {path: $denied.action, exists: true}
    finding:
      message: "{{ denied.action }} on {{ denied.resource or '*' }}"
"#;
    let before = rulerun_jsonpath::regex_compilations();
    let (set, errors) = load_rules(&[src("r.yaml", rule)]);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        rulerun_jsonpath::regex_compilations() - before,
        1,
        "the pattern compiles once, at load"
    );
    let events: Vec<_> = (0..200)
        .map(|i| {
            let message = if i % 2 == 0 {
                format!("User: x is not authorized to perform: ec2:DescribeSubnets{i} because no")
            } else {
                format!("User: x is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/{i} because")
            };
            json!({"metadata": {"name": format!("e{i}"), "namespace": "d"}, "message": message})
        })
        .chain([json!({"metadata": {"name": "other", "namespace": "d"}, "message": "Scaled up"})])
        .collect();
    let f = facts(json!({ "k8s/v1/Event": events }));
    let loaded = rulerun_jsonpath::regex_compilations();
    let report = check(&set, &f);
    assert_eq!(report.findings.len(), 200, "{:#?}", report.errors);
    assert_eq!(report.findings[0].message, "ec2:DescribeSubnets0 on *");
    assert_eq!(
        report.findings[1].message,
        "s3:GetObject on arn:aws:s3:::b/1"
    );
    assert_eq!(
        rulerun_jsonpath::regex_compilations(),
        loaded,
        "no pattern compiled while checking"
    );

    let bad = |args: &str| {
        let rule = format!(
            "rules:\n  - id: r\n    title: t\n    severity: info\n    subject: {{kind: k8s/v1/Event}}\n    let:\n      d: {{call: regex_captures, args: {args}}}\n    finding:\n      message: m\n"
        );
        let (_, errors) = load_rules(&[src("r.yaml", &rule)]);
        assert_eq!(errors.len(), 1, "{args}: {errors:#?}");
        let e = &errors[0];
        (format!("{}:{}", e.pos.line, e.pos.column), e.to_string())
    };
    let (at, msg) = bad("[$.message, $.reason]");
    assert_eq!(at, "7:51", "{msg}");
    assert!(msg.contains("argument 2 must be a literal string"), "{msg}");
    let (_, msg) = bad(r#"[$.message, "(unclosed"]"#);
    assert!(msg.contains("invalid regex `(unclosed`"), "{msg}");
    let (_, msg) = bad(r#"[$.message, "(?P<input>x)"]"#);
    assert!(msg.contains("a group may not be named `input`"), "{msg}");

    let templated = r#"
rules:
  - id: r
    title: t
    severity: info
    subject: {kind: k8s/v1/Event}
    finding:
      message: "{{ regex_captures(subject.message, 'x') }}"
"#;
    let (set, errors) = load_rules(&[src("r.yaml", templated)]);
    assert!(errors.is_empty(), "{errors:#?}");
    let report = check(&set, &f);
    assert!(report.findings.is_empty());
    assert!(
        report.errors[0]
            .message
            .contains("compiled when the rule loads"),
        "{:#?}",
        report.errors
    );
}
