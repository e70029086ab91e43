//! Partial facts in a live run: a kind (or a join) that could not be collected
//! makes inconclusive only the candidates that need it; the rest decide.

use rulerun_core::engine::KeyState;
use rulerun_core::{Plan, Report, RuleSet, check, check_planned, load_rules};
use serde_json::json;

use crate::support::{facts, src};

const NO_AWS: &str = "AWS collection is off (`--no-aws`)";

/// A generic Kubernetes rule, and a precise one that joins an AWS kind (guarded:
/// only ECR images need it) and supersedes it, both per container that waits.
const RULES: &str = r#"rules:
  - id: generic
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod, where: {path: $.status.phase, equals: Pending}}
    each: {as: c, path: "$.status.containerStatuses[*]", where: {path: $c.state.waiting.reason, exists: true}}
    finding: {message: "generic {{ c.name }}"}
  - id: precise
    title: t
    severity: high
    supersedes: [generic]
    subject: {kind: k8s/v1/Pod, where: {path: $.status.phase, equals: Pending}}
    each: {as: c, path: "$.status.containerStatuses[*]", where: {path: $c.state.waiting.reason, exists: true}}
    let:
      node: {join: k8s/v1/Node, on: $.metadata.name, equals: $.spec.nodeName, one: true}
      repo:
        join: aws/ecr/Repository
        on: $.repositoryName
        equals: $c.image
        one: true
        if: {path: $c.image, startsWith: "ecr/"}
    when: {path: $repo.repositoryName, exists: true}
    finding: {message: "precise {{ c.name }} on {{ node.metadata.name }}"}
  - id: absent
    title: t
    severity: medium
    subject: {kind: k8s/v1/Pod, where: {path: $.status.phase, equals: Pending}}
    each: {as: c, path: "$.status.containerStatuses[*]", where: {path: $c.state.waiting.reason, exists: true}}
    let:
      repo:
        join: aws/ecr/Repository
        on: $.repositoryName
        equals: $c.image
        if: {path: $c.image, startsWith: "ecr/"}
    when:
      all:
        - {path: $c.image, startsWith: "ecr/"}
        - any:
            - {path: $repo, count: 0}
            - not: {path: "$repo[*].repositoryName", exists: true}
    finding: {message: "no repository for {{ c.name }}"}
"#;

fn rules(text: &str) -> RuleSet {
    let (set, errors) = load_rules(&[src("r.yaml", text)]);
    assert!(errors.is_empty(), "{errors:#?}");
    set
}

/// Pods: `healthy` (running), `waits` (pending, one ECR container and one
/// Docker Hub container, both waiting), `hub` (pending on a Docker Hub image).
fn cluster() -> serde_json::Value {
    let waiting = |name: &str, image: &str| json!({"name": name, "image": image, "state": {"waiting": {"reason": "ImagePullBackOff"}}});
    json!({
        "k8s/v1/Pod": [
            {"metadata": {"name": "healthy", "namespace": "d"}, "spec": {"nodeName": "n"},
             "status": {"phase": "Running", "containerStatuses": [{"name": "a", "image": "ecr/app", "state": {"running": {}}}]}},
            {"metadata": {"name": "waits", "namespace": "d"}, "spec": {"nodeName": "n"},
             "status": {"phase": "Pending", "containerStatuses": [waiting("ecr", "ecr/app"), waiting("hub", "hub/app")]}},
            {"metadata": {"name": "hub", "namespace": "d"}, "spec": {"nodeName": "n"},
             "status": {"phase": "Pending", "containerStatuses": [waiting("only", "hub/other")]}}
        ],
        "k8s/v1/Node": [{"metadata": {"name": "n"}}]
    })
}

fn no_aws() -> Plan {
    let mut plan = Plan::default();
    plan.unavailable
        .insert("aws/ecr/Repository".into(), NO_AWS.into());
    plan
}

/// (rule, pod name) of each inconclusive entry; `*` for the whole rule.
fn inconclusive(report: &Report) -> Vec<(String, String)> {
    report
        .inconclusive
        .iter()
        .map(|i| {
            (
                i.rule.clone(),
                i.subject.as_ref().map_or("*".into(), |s| s.name.clone()),
            )
        })
        .collect()
}

fn messages(report: &Report) -> Vec<&str> {
    let mut m: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    m.sort();
    m
}

#[test]
fn a_healthy_cluster_is_conclusive_without_the_missing_kind() {
    let set = rules(RULES);
    let f = facts(json!({
        "k8s/v1/Pod": [{"metadata": {"name": "healthy", "namespace": "d"},
            "status": {"phase": "Running", "containerStatuses": [{"name": "a", "image": "ecr/app", "state": {"running": {}}}]}}],
        "k8s/v1/Node": []
    }));
    let (report, demands) = check_planned(&set, &f, &no_aws());
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert!(report.inconclusive.is_empty(), "{:#?}", report.inconclusive);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(demands.is_empty());
    assert_eq!(report.rules_evaluated, 3);
}

#[test]
fn only_candidates_that_reach_a_join_on_a_missing_kind_are_inconclusive() {
    let set = rules(RULES);
    let (report, demands) = check_planned(&set, &facts(cluster()), &no_aws());
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(demands.is_empty(), "{demands:?}");
    // `precise` and `absent` reach the ECR join for `waits`/ecr only: the Docker
    // Hub containers are decided (no finding), the running pod is filtered out.
    assert_eq!(
        inconclusive(&report),
        [
            ("absent".to_string(), "waits".to_string()),
            ("precise".to_string(), "waits".to_string()),
        ]
    );
    for i in &report.inconclusive {
        assert_eq!(
            i.reason,
            format!("`aws/ecr/Repository` could not be collected: {NO_AWS}")
        );
        let s = i.subject.as_ref().unwrap();
        assert_eq!(
            (s.kind.as_str(), s.namespace.as_deref()),
            ("k8s/v1/Pod", Some("d"))
        );
    }
    // Findings that never needed the kind are reported.
    assert_eq!(
        messages(&report),
        ["generic ecr", "generic hub", "generic only"]
    );
}

/// `count: 0`, `not` and `exists: false` over a kind that could not be
/// collected would hold on the empty join and report an absence nobody saw.
#[test]
fn absence_over_a_missing_kind_is_inconclusive_not_a_finding() {
    let set = rules(RULES);
    let (report, _) = check_planned(&set, &facts(cluster()), &no_aws());
    assert!(
        !report.findings.iter().any(|f| f.rule == "absent"),
        "{:#?}",
        report.findings
    );
    assert!(
        report.inconclusive.iter().any(|i| i.rule == "absent"),
        "{:#?}",
        report.inconclusive
    );
    // With the kind collected (and empty), the absence is a finding.
    let mut with = cluster();
    with["aws/ecr/Repository"] = json!([]);
    let report = check(&set, &facts(with));
    let absent: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.rule == "absent")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(absent, ["no repository for ecr"]);
}

/// The generic finding about the container the precise rule could not decide
/// stays reported, marked with that rule; the other containers' are unmarked.
#[test]
fn a_superseded_finding_is_marked_when_the_superseding_rule_cannot_decide() {
    let set = rules(RULES);
    let (report, _) = check_planned(&set, &facts(cluster()), &no_aws());
    let marks: Vec<(&str, &[String])> = {
        let mut m: Vec<(&str, &[String])> = report
            .findings
            .iter()
            .map(|f| (f.message.as_str(), f.may_be_superseded_by.as_slice()))
            .collect();
        m.sort();
        m
    };
    assert_eq!(
        marks,
        [
            ("generic ecr", &["precise".to_string()][..]),
            ("generic hub", &[][..]),
            ("generic only", &[][..]),
        ]
    );
    assert_eq!(report.superseded, 0);
    let json = serde_json::to_value(&report.findings).unwrap();
    let marked: Vec<&serde_json::Value> = json
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.get("mayBeSupersededBy"))
        .collect();
    assert_eq!(marked, [&json!(["precise"])], "omitted when empty");

    // With the facts complete the precise finding replaces the generic one.
    let mut with = cluster();
    with["aws/ecr/Repository"] = json!([{"repositoryName": "ecr/app"}]);
    let report = check(&set, &facts(with));
    assert_eq!(
        messages(&report),
        ["generic hub", "generic only", "precise ecr on n"]
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.may_be_superseded_by.is_empty())
    );
    assert_eq!(report.superseded, 1);
}

/// A rule that cannot enumerate its subjects is inconclusive as a whole, and
/// every finding of the rules it supersedes is marked.
#[test]
fn a_missing_subject_kind_makes_the_rule_inconclusive_as_a_whole() {
    let text = format!(
        "{RULES}  - id: by-node\n    title: t\n    severity: low\n    supersedes: [generic]\n    subject: {{kind: aws/ec2/Instance}}\n    finding: {{message: x}}\n"
    );
    let set = rules(&text);
    let mut plan = no_aws();
    plan.unavailable
        .insert("aws/ec2/Instance".into(), NO_AWS.into());
    let (report, _) = check_planned(&set, &facts(cluster()), &plan);
    let whole: Vec<&rulerun_core::Inconclusive> = report
        .inconclusive
        .iter()
        .filter(|i| i.rule == "by-node")
        .collect();
    assert_eq!(whole.len(), 1);
    assert!(whole[0].subject.is_none());
    assert_eq!(
        whole[0].reason,
        format!("`aws/ec2/Instance` could not be collected: {NO_AWS}")
    );
    assert_eq!(report.rules_evaluated, 3, "the blocked rule did not run");
    for f in report.findings.iter().filter(|f| f.rule == "generic") {
        assert!(
            f.may_be_superseded_by.contains(&"by-node".to_string()),
            "{f:#?}"
        );
    }

    // A kind fetched by key but never listed (an AWS kind in a live run) blocks
    // the rules that have it as subject, not the joins on it.
    let mut plan = Plan::default();
    plan.unlisted
        .insert("aws/ec2/Instance".into(), "never listed whole".into());
    plan.unlisted
        .insert("aws/ecr/Repository".into(), "never listed whole".into());
    plan.keyed_kind("aws/ecr/Repository", &["$.repositoryName"]);
    let (report, demands) = check_planned(&set, &facts(cluster()), &plan);
    assert_eq!(
        inconclusive(&report),
        [("by-node".to_string(), "*".to_string())]
    );
    assert_eq!(demands.len(), 1, "{demands:?}");
    assert_eq!(demands[0].join.kind(), "aws/ecr/Repository");
    let keys: Vec<&Vec<String>> = demands[0].keys.iter().collect();
    assert_eq!(keys, [&vec!["ecr/app".to_string()]]);
}

/// The planner must not fetch what cannot be collected: a join on a kind that is
/// unavailable records no demand even when the kind is also fetched by key.
#[test]
fn no_demand_is_recorded_for_a_missing_kind() {
    let set = rules(RULES);
    let mut plan = no_aws();
    plan.keyed_kind("aws/ecr/Repository", &["$.repositoryName"]);
    plan.keyed_kind("k8s/v1/Node", &["$.metadata.name"]);
    let f = facts(json!({"k8s/v1/Pod": cluster()["k8s/v1/Pod"].clone()}));
    // Round 1: `precise` joins the node first, which is demanded; `absent`
    // reaches the ECR join at once, and is inconclusive without a demand.
    let (report, demands) = check_planned(&set, &f, &plan);
    let kinds: Vec<&str> = demands.iter().map(|d| d.join.kind()).collect();
    assert_eq!(kinds, ["k8s/v1/Node"]);
    assert_eq!(
        inconclusive(&report),
        [("absent".to_string(), "waits".to_string())]
    );
    // Round 2: the node is there; the ECR join is reached and not demanded.
    let mut f = f;
    f.add("k8s/v1/Node", json!({"metadata": {"name": "n"}}));
    let state: &mut KeyState = plan
        .keyed
        .get_mut(&rulerun_core::JoinId::new(
            "k8s/v1/Node",
            &["$.metadata.name"],
        ))
        .unwrap();
    state.fetched.insert(vec!["n".into()]);
    let (report, demands) = check_planned(&set, &f, &plan);
    assert!(demands.is_empty(), "{demands:?}");
    assert_eq!(
        inconclusive(&report),
        [
            ("absent".to_string(), "waits".to_string()),
            ("precise".to_string(), "waits".to_string()),
        ]
    );
}

/// A join no fetch answers (an AWS kind joined on other paths than it is
/// fetched by) makes inconclusive the candidates that reach it, not every rule
/// that reads the kind.
#[test]
fn a_join_no_fetch_answers_blocks_only_its_candidates() {
    let text = format!(
        "{RULES}  - id: by-uri\n    title: t\n    severity: low\n    subject: {{kind: k8s/v1/Pod, where: {{path: $.status.phase, equals: Pending}}}}\n    let:\n      r: {{join: aws/ecr/Repository, on: $.repositoryUri, equals: $.spec.nodeName, one: true, if: {{path: $.metadata.name, equals: hub}}}}\n    when: {{path: $r, exists: true}}\n    finding: {{message: y}}\n"
    );
    let set = rules(&text);
    let mut plan = Plan::default();
    plan.keyed_kind("aws/ecr/Repository", &["$.repositoryName"]);
    plan.unavailable_joins.insert(
        rulerun_core::JoinId::new("aws/ecr/Repository", &["$.repositoryUri"]),
        "rulerun fetches it by [$.repositoryName] only".into(),
    );
    let f = facts(cluster());
    let (report, demands) = check_planned(&set, &f, &plan);
    assert_eq!(
        inconclusive(&report),
        [("by-uri".to_string(), "hub".to_string())]
    );
    assert_eq!(
        report.inconclusive[0].reason,
        "`aws/ecr/Repository` could not be collected: rulerun fetches it by [$.repositoryName] only"
    );
    // The answerable join is demanded as usual.
    let kinds: Vec<(&str, &[String])> = demands
        .iter()
        .map(|d| (d.join.kind(), d.join.on()))
        .collect();
    assert_eq!(
        kinds,
        [("aws/ecr/Repository", &["$.repositoryName".to_string()][..])]
    );
}

/// A rule's own `inconclusive()` call, offline, marks what it supersedes the same
/// way.
#[test]
fn an_inconclusive_call_marks_the_findings_it_supersedes() {
    let text = RULES.replace(
        "      node: {join: k8s/v1/Node, on: $.metadata.name, equals: $.spec.nodeName, one: true}\n",
        "      node: {join: k8s/v1/Node, on: $.metadata.name, equals: $.spec.nodeName, one: true}\n      gap: {call: inconclusive, args: [\"no node\"], if: {path: $node, exists: false}}\n",
    );
    let set = rules(&text);
    let mut f = cluster();
    f["k8s/v1/Node"] = json!([]);
    f["aws/ecr/Repository"] = json!([]);
    let report = check(&set, &facts(f));
    assert_eq!(
        inconclusive(&report),
        [
            ("precise".to_string(), "waits".to_string()),
            ("precise".to_string(), "waits".to_string()),
            ("precise".to_string(), "hub".to_string()),
        ]
    );
    assert!(
        report
            .findings
            .iter()
            .filter(|f| f.rule == "generic")
            .all(|f| f.may_be_superseded_by == ["precise"]),
        "{:#?}",
        report.findings
    );
}

/// A join with no key to look up matches nothing whatever its kind holds, so a
/// missing kind does not make it inconclusive (a Fargate profile looked up by a
/// label that a pod on an EC2 node does not carry).
#[test]
fn a_join_without_keys_does_not_need_its_kind() {
    let set = rules(
        r#"rules:
  - id: fargate
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    let:
      profile:
        join: aws/eks/FargateProfile
        on: $.fargateProfileName
        equals: "$.metadata.labels['eks.amazonaws.com/fargate-profile']"
        one: true
    when: {path: $profile, exists: false}
    finding: {message: "{{ subject.metadata.name }} has no profile"}
"#,
    );
    let f = facts(json!({"k8s/v1/Pod": [
        {"metadata": {"name": "on-ec2", "namespace": "d"}},
        {"metadata": {"name": "on-fargate", "namespace": "d", "labels": {"eks.amazonaws.com/fargate-profile": "fp"}}}
    ]}));
    let mut plan = Plan::default();
    plan.unavailable
        .insert("aws/eks/FargateProfile".into(), NO_AWS.into());
    let (report, demands) = check_planned(&set, &f, &plan);
    assert!(demands.is_empty());
    assert_eq!(messages(&report), ["on-ec2 has no profile"]);
    assert_eq!(
        inconclusive(&report),
        [("fargate".to_string(), "on-fargate".to_string())]
    );
}

/// When the runner stops fetching, the candidates still waiting for keys are
/// inconclusive each, not every rule that reads the kind; the others decide.
#[test]
fn candidates_still_waiting_when_fetching_stops_are_inconclusive_each() {
    let set = rules(RULES);
    let mut plan = Plan::default();
    plan.keyed_kind("aws/ecr/Repository", &["$.repositoryName"]);
    plan.stopped = Some("stopped after 10 rounds of fetching".into());
    let (report, demands) = check_planned(&set, &facts(cluster()), &plan);
    assert!(demands.is_empty(), "{demands:?}");
    assert_eq!(
        inconclusive(&report),
        [
            ("absent".to_string(), "waits".to_string()),
            ("precise".to_string(), "waits".to_string()),
        ]
    );
    assert_eq!(
        report.inconclusive[0].reason,
        "stopped after 10 rounds of fetching with `aws/ecr/Repository` still to read"
    );
    assert_eq!(
        messages(&report),
        ["generic ecr", "generic hub", "generic only"]
    );
}
