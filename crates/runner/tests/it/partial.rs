//! What cannot be collected makes inconclusive only the subjects that need it: an
//! AWS kind joined on paths no fetch operation is keyed by, or made a rule's
//! subject, no longer blocks every rule that reads the kind.

use std::sync::Arc;
use std::time::Duration;

use rulerun_kube_stub::Stub;

use crate::live::{live_with, rules, scenario_objects};

/// A rule that joins ECR repositories by URI (no fetch answers that) for pods on
/// one node only, one that joins them by name (answered), and one that makes
/// them its subject (never listed whole).
const AWS_RULES: &str = r#"
rules:
  - id: by-uri
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    let:
      repo:
        join: aws/ecr/Repository
        on: $.repositoryUri
        equals: "$.status.containerStatuses[*].image"
        one: true
        if: {path: $.spec.nodeName, equals: elsewhere}
    when: {path: $repo, exists: true}
    finding: {message: by uri}
  - id: by-name
    title: t
    severity: low
    subject: {kind: k8s/v1/Pod}
    let:
      repo:
        join: aws/ecr/Repository
        on: [$.registryId, $.region, $.repositoryName]
        equals: [$.metadata.name, $.metadata.name, $.metadata.name]
        one: true
        if: {path: $.spec.nodeName, equals: elsewhere}
    when: {path: $repo, exists: true}
    finding: {message: by name}
  - id: every-repository
    title: t
    severity: low
    subject: {kind: aws/ecr/Repository}
    finding: {message: repository}
"#;

async fn aws() -> Arc<rulerun_collect_aws::AwsCollector> {
    // An endpoint that refuses connections: what is fetched fails.
    let config = rulerun_collect_aws::load_config(&rulerun_collect_aws::ConfigOptions {
        region: Some("us-west-2".into()),
        endpoint_url: Some("http://127.0.0.1:9".into()),
        ..rulerun_collect_aws::ConfigOptions::default()
    })
    .await
    .unwrap();
    Arc::new(rulerun_collect_aws::AwsCollector::new(
        config,
        rulerun_collect_aws::AwsOptions {
            call_timeout: Duration::from_secs(1),
            max_attempts: 1,
            ..rulerun_collect_aws::AwsOptions::default()
        },
    ))
}

#[tokio::test]
async fn an_unanswerable_join_or_an_aws_subject_blocks_only_what_needs_it() {
    let mut objects = scenario_objects();
    // A second pod, on the node the AWS joins are made for.
    let mut other = objects.iter().find(|o| o["kind"] == "Pod").unwrap().clone();
    other["metadata"]["name"] = "other".into();
    other["metadata"]["uid"] = "other-pod".into();
    other["spec"]["nodeName"] = "elsewhere".into();
    objects.push(other);
    let server = Stub::new().objects(objects).start().await.unwrap();
    let set = rules(&[("aws.yaml", AWS_RULES)]);
    let out = live_with(&server, &set, None, Ok(aws().await)).await;
    let got: Vec<(&str, Option<&str>)> = out
        .report
        .inconclusive
        .iter()
        .map(|i| (i.rule.as_str(), i.subject.as_ref().map(|s| s.name.as_str())))
        .collect();
    // `by-uri` only for the pod that reaches its join; `by-name` fetched its keys
    // (and the endpoint refused them: inconclusive for that pod only); the rule
    // whose subject is an AWS kind is inconclusive as a whole.
    assert_eq!(
        got,
        [
            ("by-name", Some("other")),
            ("by-uri", Some("other")),
            ("every-repository", None),
        ],
        "{:#?}",
        out.report.inconclusive
    );
    let by_uri = &out.report.inconclusive[1];
    assert_eq!(
        by_uri.reason,
        "`aws/ecr/Repository` could not be collected: rulerun fetches it by [$.registryId, $.region, $.repositoryName] or [$.registryId, $.region] or [$.registryId, $.repositoryName] only; a rule joins it on [$.repositoryUri]",
    );
    assert!(
        out.report.inconclusive[2]
            .reason
            .contains("never listed whole"),
        "{:#?}",
        out.report.inconclusive[2]
    );
    // The Kubernetes rule decides for both pods.
    let generic: Vec<&str> = out
        .report
        .findings
        .iter()
        .filter(|f| f.rule == "pod-image-pull-failing")
        .map(|f| f.subject.name.as_str())
        .collect();
    assert_eq!(generic, ["other", "ui-private-7655bf59b9-jprrj"]);
    // Only the answerable join was fetched, once, for the one pod.
    let calls: usize = out.aws_calls.values().sum();
    assert_eq!(calls, 1, "{:?}", out.aws_calls);
}
