//! `rulerun` commands end to end: exit codes, output formats, errors.

use std::fs;

use serde_json::Value;

use crate::support::{repo, rulerun};

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn quick_start_prints_the_finding_and_its_fix_and_exits_1() {
    let run = rulerun(&[
        "check".to_string(),
        "--facts".into(),
        repo("examples/ui-private-403"),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("k8s/v1/Pod default/ui-private-7655bf59b9-jprrj"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("critical ecr-repository-policy-denies-pull"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("$ aws ecr set-repository-policy --registry-id=1234567890 --region=us-west-2 --repository-name=retail-sample-app-ui '--policy-text={"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("$ kubectl rollout restart --namespace=default -- deployment/ui-private"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("1 superseded by more precise findings"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains('\x1b'),
        "no colour when not on a terminal"
    );
}

#[test]
fn json_output_follows_the_documented_shape() {
    let run = rulerun(&[
        "check".to_string(),
        "--facts".into(),
        repo("examples/ui-private-403"),
        "-o".into(),
        "json".into(),
    ]);
    assert_eq!(run.code, 1);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "the generic finding is superseded");
    let f = &findings[0];
    assert_eq!(f["rule"], "ecr-repository-policy-denies-pull");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["subject"]["kind"], "k8s/v1/Pod");
    assert_eq!(f["subject"]["namespace"], "default");
    assert_eq!(f["subject"]["name"], "ui-private-7655bf59b9-jprrj");
    assert_eq!(f["evidence"]["denyingStatement"]["Sid"], "new policy");
    let set_policy = &f["fix"][0];
    assert_eq!(set_policy["argv"][2], "set-repository-policy");
    let policy_text = set_policy["argv"][6].as_str().unwrap();
    let policy: Value =
        serde_json::from_str(policy_text.strip_prefix("--policy-text=").unwrap()).unwrap();
    assert_eq!(policy["Statement"][0]["Effect"], "Deny");
    let restart = &f["fix"][1];
    assert_eq!(restart["argv"][0], "kubectl");
    assert_eq!(
        restart["command"],
        "kubectl rollout restart --namespace=default -- deployment/ui-private"
    );
    assert_eq!(doc["summary"]["findings"], 1);
    assert_eq!(doc["summary"]["superseded"], 1);
    assert_eq!(doc["summary"]["maxSeverity"], "critical");
    assert!(doc["errors"].as_array().unwrap().is_empty());
}

#[test]
fn fail_on_sets_the_threshold() {
    let facts = repo("examples/ui-private-403");
    let generic = repo("rules/kubernetes");
    let run = rulerun(&[
        "check",
        "--facts",
        &facts,
        "--no-builtin",
        "--rules",
        &generic,
        "--fail-on",
        "critical",
    ]);
    assert_eq!(run.code, 0, "a high finding is below critical");
    let run = rulerun(&[
        "check",
        "--facts",
        &facts,
        "--no-builtin",
        "--rules",
        &generic,
        "--fail-on",
        "high",
    ]);
    assert_eq!(run.code, 1);
    let run = rulerun(&["check", "--facts", &facts, "--fail-on", "critical"]);
    assert_eq!(run.code, 1);
    let run = rulerun(&["check", "--facts", &facts, "--fail-on", "never"]);
    assert_eq!(run.code, 0);
    let run = rulerun(&["check", "--facts", &facts, "--fail-on", "urgent"]);
    assert_eq!(run.code, 2);
}

#[test]
fn bad_rule_files_report_every_error_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.yaml",
        "rules:\n  - id: a\n    title: A\n    severity: hgh\n    subject: {kind: k8s/v1/Pod}\n    finding: {message: m}\n",
    );
    write(dir.path(), "b.yaml", "rules:\n  - id: b\n    titel: B\n");
    write(dir.path(), "c.yaml", "rules: [\n");
    let run = rulerun(&[
        "check".to_string(),
        "--facts".into(),
        repo("examples/ui-private-403"),
        "--rules".into(),
        dir.path().display().to_string(),
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    let a = dir.path().join("a.yaml").display().to_string();
    let b = dir.path().join("b.yaml").display().to_string();
    let c = dir.path().join("c.yaml").display().to_string();
    assert!(
        run.stderr.contains(&format!(
            "{a}:4:15: error: invalid value `hgh` for `severity`"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("help: did you mean `high`?"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("{b}:3:5: error: unknown key `titel` in a rule")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&format!("{c}:")), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was run"), "{}", run.stderr);
}

#[test]
fn missing_facts_is_a_usage_error_with_advice() {
    let run = rulerun(&["check"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--facts"), "{}", run.stderr);
    let run = rulerun(&["check", "--facts", "/nonexistent/snapshot.json"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("/nonexistent/snapshot.json"),
        "{}",
        run.stderr
    );
    let run = rulerun(&["frobnicate"]);
    assert_eq!(run.code, 2);
}

#[test]
fn empty_fact_files_are_not_a_healthy_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("facts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.json"), "").unwrap();
    std::fs::write(dir.join("b.yaml"), "").unwrap();
    for path in [dir.join("a.json"), dir.clone()] {
        let run = rulerun(&["check", "--facts", path.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("error: no facts: `") && run.stderr.contains("holds no documents"),
            "{}",
            run.stderr
        );
    }
    // a snapshot that lists a kind with no documents says something: nothing of it exists
    std::fs::write(
        dir.join("a.json"),
        r#"{"apiVersion": "rulerun.dev/v1", "kind": "Snapshot", "facts": {"k8s/v1/Pod": []}}"#,
    )
    .unwrap();
    let run = rulerun(&["check", "--facts", dir.join("a.json").to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn request_timeouts_out_of_range_are_usage_errors_not_panics() {
    // u64::MAX seconds overflowed an Instant in a runtime worker; 0 never waits
    for (value, what) in [
        ("18446744073709551615", "1..=3600"),
        ("0", "1..=3600"),
        ("-5", "unexpected argument"),
    ] {
        for cmd in ["check", "collect"] {
            let mut args = vec![cmd, "--request-timeout", value];
            if cmd == "collect" {
                args.extend(["-o", "/dev/null"]);
            }
            let run = rulerun(&args);
            assert_eq!(run.code, 2, "{cmd} {value}: {}{}", run.stdout, run.stderr);
            assert!(run.stderr.contains(what), "{cmd} {value}: {}", run.stderr);
        }
    }
}

#[test]
fn explain_prints_rule_docs_and_suggests_ids() {
    let run = rulerun(&["explain", "pod-image-pull-failing"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.starts_with("# `pod-image-pull-failing`"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("## Why it matters"));
    let run = rulerun(&["explain", "pod-image-pull-failng"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("did you mean `pod-image-pull-failing`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn explain_prints_a_parts_documentation_by_either_name() {
    let run = rulerun(&["explain", "eks-image-pull/node-identity"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let page = &run.stdout;
    assert!(
        page.starts_with("# Part `eks-image-pull/node-identity`\n"),
        "{page}"
    );
    for want in [
        "**A bindings part** of pack `eks-image-pull`, public: packs that declare `uses: [eks-image-pull]` in `pack.yaml` may use it.",
        "The IAM role the kubelet pulls with",
        "list it under the rule's `uses:` (`uses: [eks-image-pull/node-identity]`)",
        "## Inputs\n\nNames it reads from the rule's scope (or from `with:`, or its default).",
        "| `identity_needed` | `true` | false (or null) to read nothing from AWS",
        "## Builds on\n\n`node-kind`",
        "## Binds\n\n`fargate`, ",
        "`role`",
        "`principal`",
        "`identity_gap`",
        "## Used by\n\n",
        "`ecr-repository-policy-denies-pull`",
        "Defined in `rules/eks-image-pull/parts/node-identity.yaml:",
    ] {
        assert!(page.contains(want), "missing {want:?} in:\n{page}");
    }
    // the bare name finds the one part called so
    let bare = rulerun(&["explain", "node-identity"]);
    assert_eq!(bare.code, 0, "{}", bare.stderr);
    assert_eq!(&bare.stdout, page);
    // a part without inputs says so
    let run = rulerun(&["explain", "eks-image-pull/node-kind"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("## Inputs\n\nNone: it reads the subject.\n"),
        "{}",
        run.stdout
    );
    // inputs, the parts it builds on, a fix part's use
    let run = rulerun(&["explain", "kubernetes/point-at-image"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for want in [
        "**A fix part** of pack `kubernetes`",
        "write it as a step of `finding.fix`: `- use: kubernetes/point-at-image`",
        "| `new_image` | - | the image reference to use instead, or empty |",
        "## Builds on\n\n`workload-owner`: a rule that uses it lists them under its `uses:`.",
    ] {
        assert!(
            run.stdout.contains(want),
            "missing {want:?} in:\n{}",
            run.stdout
        );
    }
    let run = rulerun(&["explain", "kubernetes/waiting-on-image-pull"]);
    assert!(
        run.stdout
            .contains("where a condition goes: `{use: kubernetes/waiting-on-image-pull}`"),
        "{}",
        run.stdout
    );
    // a misspelt part name gets a suggestion
    let run = rulerun(&["explain", "node-identty"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("error: no rule or part is called `node-identty`")
            && run.stderr.contains("did you mean `node-identity`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn explain_lists_the_parts_a_rule_is_built_from() {
    let run = rulerun(&["explain", "ecr-repository-policy-denies-pull"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (_, parts) = run
        .stdout
        .split_once("\n## Parts\n")
        .unwrap_or_else(|| panic!("no parts section:\n{}", run.stdout));
    for want in [
        "| `eks-image-pull/node-identity` | bindings | The IAM role the kubelet pulls with",
        "| `eks-image-pull/ecr-pull-decision` | bindings |",
        "| `kubernetes/waiting-on-image-pull` | condition |",
        "| `kubernetes/restart-owner` | fix |",
        "| `eks-image-pull/perimeter-route` | fix |",
    ] {
        assert!(parts.contains(want), "missing {want:?} in:\n{parts}");
    }
    // a rule without parts has no such section
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "r.yaml",
        "rules:\n  - id: pending-pod\n    title: Pending\n    severity: low\n    subject: {kind: k8s/v1/Pod}\n    finding: {message: pending}\n",
    );
    let run = rulerun(&["explain", "pending-pod", "--rules", &rules]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("## Parts"), "{}", run.stdout);
}

#[test]
fn explain_asks_which_pack_when_two_have_a_part_of_that_name() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "team/pack.yaml",
        "name: team\nversion: 1.0.0\nrules: []\nparts: [parts.yaml]\n",
    );
    write(
        dir.path(),
        "team/parts.yaml",
        "parts:\n  - id: workload-owner\n    public: true\n    description: Ours.\n    let:\n      owner: {value: \"$.metadata.ownerReferences[0]\"}\n",
    );
    let config = write(
        dir.path(),
        "rulerun.yaml",
        "packs:\n  - builtin: kubernetes\n  - path: team\n",
    );
    let run = rulerun(&["--config", &config, "explain", "workload-owner"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("several packs have a part called `workload-owner`")
            && run
                .stderr
                .contains("name one of `kubernetes/workload-owner`, `team/workload-owner`"),
        "{}",
        run.stderr
    );
    let run = rulerun(&["--config", &config, "explain", "team/workload-owner"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("**A bindings part** of pack `team`")
            && run.stdout.contains("## Used by\n\nNo loaded rule."),
        "{}",
        run.stdout
    );
}

#[test]
fn rules_list_names_sources() {
    let run = rulerun(&["rules", "list", "-o", "json"]);
    assert_eq!(run.code, 0);
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    let r = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "pod-image-pull-failing")
        .unwrap();
    assert!(
        r["source"]
            .as_str()
            .unwrap()
            .starts_with("<builtin>/kubernetes/pod-image-pull-failing/rule.yaml:")
    );
    let run = rulerun(&["rules", "list"]);
    assert!(run.stdout.contains("pod-image-pull-failing"));
}

#[test]
fn query_prints_nodelists_and_rejects_bad_paths() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "pods.json",
        r#"{"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]}"#,
    );
    let run = rulerun(&["query", "$.items[*].metadata.name", "--input", &f]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        serde_json::json!(["a", "b"])
    );
    let run = rulerun(&[
        "query",
        "$.items[?@.metadata.name == 'b'].metadata",
        "--input",
        &f,
    ]);
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        serde_json::json!([{"name": "b"}])
    );
    let run = rulerun(&["query", "$.items[", "--input", &f]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid JSONPath `$.items[`"),
        "{}",
        run.stderr
    );
    let run = rulerun(&["query", "items", "--input", &f]);
    assert_eq!(run.code, 2);
}

#[test]
fn validate_and_test_commands_report_results() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "r/rule.yaml",
        "rules:\n  - id: pending-pod\n    title: Pending\n    severity: low\n    subject: {kind: k8s/v1/Pod, where: {path: $.status.phase, equals: Pending}}\n    finding: {message: \"{{ subject.metadata.name }} is pending\"}\n",
    );
    write(
        dir.path(),
        "r/tests.yaml",
        "tests:\n  - name: fires\n    facts: {k8s/v1/Pod: [{metadata: {name: p}, status: {phase: Pending}}]}\n    expect: [{subject: p, message: is pending}]\n  - name: wrong on purpose\n    facts: {k8s/v1/Pod: [{metadata: {name: q}, status: {phase: Running}}]}\n    expect: [{subject: q}]\n  - name: quiet\n    facts: {k8s/v1/Pod: []}\n    expect: []\n",
    );
    let path = dir.path().display().to_string();
    let run = rulerun(&["validate", &path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("1 rule(s) and 3 test case(s) are valid")
    );
    let run = rulerun(&["test", &path]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("test wrong on purpose ... FAILED"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\ntest result: FAILED. 2 passed; 1 failed\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn control_characters_from_facts_are_escaped_in_text_output() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rule.yaml",
        "rules:\n  - id: echo-name\n    title: t\n    severity: info\n    subject: {kind: k8s/v1/Pod}\n    finding: {message: \"{{ subject.metadata.name }}\"}\n",
    );
    let facts = write(
        dir.path(),
        "facts.json",
        r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "evil\u001b[2J\rname"}}"#,
    );
    let run = rulerun(&[
        "check",
        "--no-builtin",
        "--rules",
        &rules,
        "--facts",
        &facts,
    ]);
    assert_eq!(run.code, 1);
    assert!(!run.stdout.contains('\x1b'), "{:?}", run.stdout);
    assert!(
        run.stdout.contains("evil\\u{1b}[2J\\rname"),
        "{}",
        run.stdout
    );
}

#[test]
fn colour_is_used_only_when_asked() {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = rulerun::run(
        [
            "rulerun".to_string(),
            "check".into(),
            "--facts".into(),
            repo("examples/ui-private-403"),
        ],
        rulerun::Terminal {
            color: true,
            progress: false,
        },
        &mut out,
        &mut err,
    );
    assert_eq!(code, 1);
    assert!(String::from_utf8(out).unwrap().contains("\x1b["));
}

#[test]
fn iam_eval_and_fix_on_the_seed_policy() {
    let input = repo("examples/iam/ui-private-403.json");
    let run = rulerun(&["iam", "eval", &input]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ev: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(ev["decision"], "ExplicitlyDenied");
    assert_eq!(
        ev["explanation"]["decidingStatements"][0]["sid"],
        "new policy"
    );
    assert!(
        ev["explanation"]["awsMessage"]
            .as_str()
            .unwrap()
            .ends_with("with an explicit deny in a resource-based policy")
    );

    let run = rulerun(&[
        "iam",
        "fix",
        &input,
        "--required",
        "ecr:BatchGetImage,ecr:GetDownloadUrlForLayer",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let fix: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(fix["proven"], true);
    let stmt = &fix["policy"]["Statement"][0];
    assert_eq!(stmt["Effect"], "Deny", "never flipped to Allow");
    let denied: Vec<&str> = stmt["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(denied.len(), 12);
    for still in [
        "ecr:PutImage",
        "ecr:DeleteRepository",
        "ecr:SetRepositoryPolicy",
        "ecr:BatchCheckLayerAvailability",
    ] {
        assert!(denied.contains(&still), "{still} must stay denied");
    }
    for pulled in ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"] {
        assert!(!denied.contains(&pulled));
    }
    for p in fix["proof"].as_array().unwrap() {
        if p["required"] == true {
            assert_eq!(p["after"], "Allowed");
        } else {
            assert_ne!(p["after"], "Allowed", "{p}");
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.json", "{\"request\": {\"principal\": 1}}");
    let run = rulerun(&["iam", "eval", &bad]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bad.json:1:"), "{}", run.stderr);
}

#[test]
fn explain_of_a_rule_in_ones_own_file_points_at_rules() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.yaml");
    std::fs::write(
        &file,
        "rules:\n  - id: team-rule\n    title: T\n    severity: low\n    subject: {kind: k8s/v1/Pod}\n    finding: {message: m}\n",
    )
    .unwrap();
    // Not loaded: the hint says how to load it, not only `rules list`.
    let run = rulerun(&["explain", "team-rule"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "help: a rule or part in a file of your own loads with `--rules PATH`: `rulerun explain team-rule --rules PATH`"
        ),
        "{}",
        run.stderr
    );
    // Loaded with --rules, it is explained.
    let run = rulerun(&["explain", "team-rule", "--rules", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("# `team-rule`"), "{}", run.stdout);
    let run = rulerun(&["explain", "q", "--rules", file.to_str().unwrap()]);
    assert!(
        run.stderr.contains("`rulerun rules list --rules PATH`"),
        "{}",
        run.stderr
    );
}
