//! Engine benchmark (not a timed test): `cargo bench -p rulerun-core --bench check`.
//!
//! Generates a deterministic snapshot of 10,000 pods, 50,000 events, 100 nodes,
//! ReplicaSets, Deployments and 1,000 ECR repository policies, in the shapes
//! `kubectl get -o json` and `aws ecr get-repository-policy` print; loads 20 rules
//! that join pod→events, pod→node and pod→ReplicaSet→Deployment; and measures, in
//! one process:
//!
//! * `T_parse`: `serde_json::from_str::<Value>` of the snapshot text;
//! * `T_check`: what a user's run costs once the file is read — parse the text
//!   with field projection (`parse_fact_text_projected` with the rules'
//!   `RuleSet::projection`, computed once at rule load and reported apart), so
//!   documents hold only the members rules can read, `FactStore::add_document`,
//!   and `check`. This is what `rulerun check --facts` does;
//! * the same check path over whole documents (`parse_fact_text`), as a
//!   secondary row, to show what projection buys;
//!
//! printing `T_check / T_parse` (target ≤ 2.0) and the peak heap during the check
//! path against the snapshot's size (target ≤ 3×), for both. Times are the best
//! of several runs; nothing here asserts on time, only on correctness (every
//! rule loads, every rule finds something, no evaluation errors, and the report
//! over projected documents equals the report over whole documents).
//!
//! Heap is counted by a global allocator wrapping the system one
//! ([`peak_alloc`]): the workspace forbids `unsafe_code`, so the bench cannot
//! implement `GlobalAlloc` itself. The counter adds two relaxed atomic operations
//! per allocation to every measured path alike.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use peak_alloc::PeakAlloc;
use rulerun_core::facts::parse_fact_text;
use rulerun_core::{
    FactStore, Projection, Report, RuleSet, SourceFile, check, load_rules,
    parse_fact_text_projected,
};
use serde_json::{Value, json};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

const PODS: usize = 10_000;
const EVENTS: usize = 50_000;
const NODES: usize = 100;
const DEPLOYMENTS: usize = 1_000;
const REPOSITORIES: usize = 1_000;
/// Best-of runs for the compact (primary) and pretty-printed (secondary) files.
const RUNS: usize = 5;
const RUNS_PRETTY: usize = 3;

const RATIO_TARGET: f64 = 2.0;
const MEMORY_TARGET: f64 = 3.0;

// ---------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------

/// Twenty rules, one file each.
const RULES: &[(&str, &str)] = &[
    (
        "pod-image-pull-failing.yaml",
        r##"
rules:
  - id: pod-image-pull-failing
    title: A container cannot pull its image
    severity: high
    labels: [kubernetes, images]
    subject:
      kind: k8s/v1/Pod
      where: {path: $.status.phase, equals: Pending}
    each:
      as: container
      path: "$.status.containerStatuses[*]"
      where:
        path: $container.state.waiting.reason
        in: [ImagePullBackOff, ErrImagePull]
    let:
      failures:
        join: k8s/v1/Event
        on: $.involvedObject.uid
        equals: $.metadata.uid
        where:
          all:
            - {path: $.reason, equals: Failed}
            - {path: $.message, startsWith: Failed to pull image}
      replicaset:
        join: k8s/apps/v1/ReplicaSet
        on: $.metadata.uid
        equals: "$.metadata.ownerReferences[?@.kind == 'ReplicaSet'].uid"
        one: true
      deployment:
        join: k8s/apps/v1/Deployment
        on: $.metadata.uid
        equals: "$replicaset.metadata.ownerReferences[?@.kind == 'Deployment'].uid"
        one: true
    finding:
      message: >-
        container `{{ container.name }}` cannot pull `{{ container.image }}` ({{ container.state.waiting.reason }})
        {%- if failures %}: {{ (failures | last).message }}{% endif %}
      evidence:
        image: $container.image
        reason: $container.state.waiting.reason
        kubeletMessages: "$failures[*].message"
        node: $.spec.nodeName
      fix:
        - description: >-
            after fixing the cause the kubelet names, restart
            {% if deployment %}deployment {{ deployment.metadata.name }}{% else %}the pod{% endif %}
          argv:
            - kubectl
            - "{% if deployment %}rollout{% else %}delete{% endif %}"
            - "{% if deployment %}restart{% else %}pod{% endif %}"
            - "{% if deployment %}deployment/{{ deployment.metadata.name }}{% else %}{{ subject.metadata.name }}{% endif %}"
            - --namespace
            - "{{ subject.metadata.namespace }}"
"##,
    ),
    (
        "pod-crash-looping.yaml",
        r##"
rules:
  - id: pod-crash-looping
    title: A container is crash-looping
    severity: high
    subject:
      kind: k8s/v1/Pod
      where: {path: $.status.phase, in: [Running, Pending]}
    each:
      as: container
      path: "$.status.containerStatuses[*]"
      where: {path: $container.state.waiting.reason, equals: CrashLoopBackOff}
    let:
      backoffs:
        join: k8s/v1/Event
        on: $.involvedObject.uid
        equals: $.metadata.uid
        where: {path: $.reason, equals: BackOff}
      node:
        join: k8s/v1/Node
        on: $.metadata.name
        equals: $.spec.nodeName
        one: true
    finding:
      message: >-
        container `{{ container.name }}` restarted {{ container.restartCount }} times
        (last exit code {{ container.lastState.terminated.exitCode }}, {{ container.lastState.terminated.reason }})
        on {{ node.metadata.name if node else subject.spec.nodeName }}; {{ backoffs | length }} back-off event(s)
      evidence:
        restarts: $container.restartCount
        exitCode: $container.lastState.terminated.exitCode
      fix:
        - description: read the log of the previous run of {{ container.name }}
          argv: [kubectl, logs, "{{ subject.metadata.name }}", --container, "{{ container.name }}", --previous, --namespace, "{{ subject.metadata.namespace }}"]
"##,
    ),
    (
        "container-oom-killed.yaml",
        r##"
rules:
  - id: container-oom-killed
    title: A container was killed for exceeding its memory limit
    severity: medium
    subject: {kind: k8s/v1/Pod}
    each:
      as: status
      path: "$.status.containerStatuses[*]"
      where: {path: $status.lastState.terminated.reason, equals: OOMKilled}
    let:
      limit:
        value: "{% for c in subject.spec.containers %}{% if c.name == status.name %}{{ c.resources.limits.memory }}{% endif %}{% endfor %}"
    finding:
      message: "`{{ status.name }}` was OOM-killed ({{ status.restartCount }} restarts) with a memory limit of {{ limit }}"
      evidence:
        limit: $limit
        exitCode: $status.lastState.terminated.exitCode
"##,
    ),
    (
        "pod-on-unready-node.yaml",
        r##"
rules:
  - id: pod-on-unready-node
    title: A running pod is on a node that is not Ready
    severity: medium
    subject:
      kind: k8s/v1/Pod
      where: {path: $.status.phase, equals: Running}
    let:
      node:
        join: k8s/v1/Node
        on: $.metadata.name
        equals: $.spec.nodeName
        one: true
    when:
      - {path: $node.metadata.name, exists: true}
      - path: "$node.status.conditions[?@.type == 'Ready'].status"
        notEquals: "True"
    finding:
      message: "{{ subject.metadata.name }} runs on {{ node.metadata.name }}, which is not Ready"
      evidence:
        node: $node.metadata.name
        readyReason: "$node.status.conditions[?@.type == 'Ready'].reason"
"##,
    ),
    (
        "pod-on-node-under-pressure.yaml",
        r##"
rules:
  - id: pod-on-node-under-pressure
    title: A pod is on a node under memory or disk pressure
    severity: low
    subject: {kind: k8s/v1/Pod}
    let:
      node:
        join: k8s/v1/Node
        on: $.metadata.name
        equals: $.spec.nodeName
        one: true
    when:
      path: "$node.status.conditions[?@.type == 'MemoryPressure' || @.type == 'DiskPressure'].status"
      equals: "True"
    finding:
      message: "{{ subject.metadata.name }} is on {{ node.metadata.name }} ({{ node.metadata.labels['node.kubernetes.io/instance-type'] }}) under pressure"
      evidence:
        pressure: "$node.status.conditions[?@.status == 'True' && @.type != 'Ready'].type"
"##,
    ),
    (
        "pod-repeated-warnings.yaml",
        r##"
rules:
  - id: pod-repeated-warnings
    title: A pod has three or more warning events
    severity: low
    subject: {kind: k8s/v1/Pod}
    let:
      warnings:
        join: k8s/v1/Event
        on: [$.involvedObject.namespace, $.involvedObject.name]
        equals: [$.metadata.namespace, $.metadata.name]
        where: {path: $.type, equals: Warning}
    when: {path: $warnings, count: {gte: 3}}
    finding:
      message: "{{ subject.metadata.name }} has {{ warnings | length }} warning events, the last: {{ (warnings | last).reason }}"
      evidence:
        reasons: "$warnings[*].reason"
"##,
    ),
    (
        "deployment-pod-not-ready.yaml",
        r##"
rules:
  - id: deployment-pod-not-ready
    title: A deployment's pod is not ready
    severity: medium
    subject:
      kind: k8s/v1/Pod
      where: {path: "$.status.conditions[?@.type == 'Ready'].status", equals: "False"}
    let:
      replicaset:
        join: k8s/apps/v1/ReplicaSet
        on: $.metadata.uid
        equals: "$.metadata.ownerReferences[?@.kind == 'ReplicaSet'].uid"
        one: true
      deployment:
        join: k8s/apps/v1/Deployment
        on: $.metadata.uid
        equals: "$replicaset.metadata.ownerReferences[?@.kind == 'Deployment'].uid"
        one: true
    when:
      - {path: $deployment.metadata.name, exists: true}
      - {path: $deployment.status.unavailableReplicas, gt: 0}
    finding:
      message: >-
        deployment {{ deployment.metadata.name }} has {{ deployment.status.unavailableReplicas }} of
        {{ deployment.spec.replicas }} replicas unavailable; {{ subject.metadata.name }} is not ready
      evidence:
        replicaset: $replicaset.metadata.name
        deployment: $deployment.metadata.name
      fix:
        - description: see the rollout of {{ deployment.metadata.name }}
          argv: [kubectl, rollout, status, "deployment/{{ deployment.metadata.name }}", --namespace, "{{ subject.metadata.namespace }}"]
"##,
    ),
    (
        "pod-without-controller.yaml",
        r##"
rules:
  - id: pod-without-controller
    title: A pod has no controller and will not be recreated
    severity: info
    subject:
      kind: k8s/v1/Pod
      where:
        - {path: "$.metadata.ownerReferences[?@.controller == true]", absent: true}
        - {path: $.metadata.namespace, notIn: [kube-system]}
    finding:
      message: "{{ subject.metadata.name }} in {{ subject.metadata.namespace }} is not managed by a controller"
"##,
    ),
    (
        "image-uses-latest-tag.yaml",
        r##"
rules:
  - id: image-uses-latest-tag
    title: A container image uses the latest tag
    severity: low
    subject: {kind: k8s/v1/Pod}
    each:
      as: c
      path: "$.spec.containers[*]"
      where: {path: $c.image, regex: ':latest$'}
    let:
      parsed: {call: image_ref, args: [$c.image]}
    finding:
      message: "{{ c.name }} runs {{ parsed.name }}:{{ parsed.reference }}; pin a version or digest"
      evidence:
        image: $c.image
        registry: $parsed.registry
"##,
    ),
    (
        "ecr-image-denied-by-repository-policy.yaml",
        r##"
rules:
  - id: ecr-image-denied-by-repository-policy
    title: A pod's ECR image is in a repository whose policy has a Deny statement
    severity: medium
    subject: {kind: k8s/v1/Pod}
    each:
      as: c
      path: "$.spec.containers[*]"
      where: {path: $c.image, regex: '^\d{12}\.dkr\.ecr\.'}
    let:
      img: {call: image_ref, args: [$c.image]}
      policy:
        join: aws/ecr/RepositoryPolicy
        on: [$.registryId, $.repositoryName]
        equals: [$img.ecr.account, $img.ecr.repository]
        one: true
    when: {path: $policy.policyText, regex: '"Effect"\s*:\s*"Deny"'}
    finding:
      message: "{{ c.name }} pulls from {{ img.ecr.repositoryArn }}, whose repository policy denies some principals"
      evidence:
        repository: $img.ecr.repository
        registry: $policy.registryId
      fix:
        - description: read the repository policy
          argv: [aws, ecr, get-repository-policy, --registry-id, "{{ img.ecr.account }}", --repository-name, "{{ img.ecr.repository }}", --region, "{{ img.ecr.region }}"]
"##,
    ),
    (
        "ecr-repository-policy-denies.yaml",
        r##"
rules:
  - id: ecr-repository-policy-denies
    title: An ECR repository policy has a Deny statement
    severity: info
    subject:
      kind: aws/ecr/RepositoryPolicy
      where: {path: $.policyText, regex: '"Effect"\s*:\s*"Deny"'}
    finding:
      subject: {kind: aws/ecr/Repository, namespace: $.registryId, name: $.repositoryName}
      message: "repository {{ subject.repositoryName }} in {{ subject.registryId }} denies some principals"
      fix:
        - description: review the policy of {{ subject.repositoryName }}
          argv: [aws, ecr, get-repository-policy, --registry-id, "{{ subject.registryId }}", --repository-name, "{{ subject.repositoryName }}"]
"##,
    ),
    (
        "ecr-repository-public.yaml",
        r##"
rules:
  - id: ecr-repository-public
    title: An ECR repository policy lets anyone pull
    severity: high
    subject:
      kind: aws/ecr/RepositoryPolicy
      where:
        all:
          - {path: $.policyText, regex: '"Effect"\s*:\s*"Allow",\s*"Principal"\s*:\s*"\*"'}
          - not: {path: $.policyText, contains: "aws:PrincipalOrgID"}
    finding:
      subject: {kind: aws/ecr/Repository, namespace: $.registryId, name: $.repositoryName}
      message: "anyone can pull from {{ subject.repositoryName }}"
"##,
    ),
    (
        "ecr-repository-allows-all-actions.yaml",
        r##"
rules:
  - id: ecr-repository-allows-all-actions
    title: An ECR repository policy allows every ECR action
    severity: medium
    subject:
      kind: aws/ecr/RepositoryPolicy
      where: {path: $.policyText, regex: '"Action"\s*:\s*"ecr:\*",\s*"Effect"\s*:\s*"Allow"'}
    finding:
      subject: {kind: aws/ecr/Repository, namespace: $.registryId, name: $.repositoryName}
      message: "{{ subject.repositoryName }} allows ecr:* to another principal"
"##,
    ),
    (
        "pod-readiness-probe-failing.yaml",
        r##"
rules:
  - id: pod-readiness-probe-failing
    title: A running pod fails its readiness probe
    severity: medium
    subject:
      kind: k8s/v1/Pod
      where:
        - {path: $.status.phase, equals: Running}
        - {path: "$.status.conditions[?@.type == 'Ready'].status", equals: "False"}
    let:
      probes:
        join: k8s/v1/Event
        on: $.involvedObject.uid
        equals: $.metadata.uid
        where:
          all:
            - {path: $.reason, equals: Unhealthy}
            - {path: $.message, regex: '^(Readiness|Liveness) probe failed'}
    when: {path: $probes, count: {gte: 1}}
    finding:
      message: "{{ subject.metadata.name }}: {{ (probes | first).message }} ({{ probes | length }} event(s))"
"##,
    ),
    (
        "pod-unschedulable.yaml",
        r##"
rules:
  - id: pod-unschedulable
    title: A pod cannot be scheduled
    severity: high
    subject:
      kind: k8s/v1/Pod
      where:
        - {path: $.status.phase, equals: Pending}
        - {path: "$.status.conditions[?@.type == 'PodScheduled'].status", equals: "False"}
    let:
      scheduling:
        join: k8s/v1/Event
        on: $.involvedObject.uid
        equals: $.metadata.uid
        where: {path: $.reason, equals: FailedScheduling}
      replicaset:
        join: k8s/apps/v1/ReplicaSet
        on: $.metadata.uid
        equals: "$.metadata.ownerReferences[?@.kind == 'ReplicaSet'].uid"
        one: true
      deployment:
        join: k8s/apps/v1/Deployment
        on: $.metadata.uid
        equals: "$replicaset.metadata.ownerReferences[?@.kind == 'Deployment'].uid"
        one: true
    finding:
      message: >-
        {{ subject.metadata.name }}{% if deployment %} (deployment {{ deployment.metadata.name }}){% endif %}
        is unschedulable: {{ (scheduling | last).message if scheduling else 'no scheduler event' }}
"##,
    ),
    (
        "container-without-memory-limit.yaml",
        r##"
rules:
  - id: container-without-memory-limit
    title: A container has no memory limit
    severity: low
    subject:
      kind: k8s/v1/Pod
      where: {path: $.metadata.namespace, notIn: [kube-system]}
    each:
      as: c
      path: "$.spec.containers[*]"
      where: {path: $c.resources.limits.memory, exists: false}
    finding:
      message: "{{ c.name }} in {{ subject.metadata.name }} has no memory limit"
"##,
    ),
    (
        "container-restarting-often.yaml",
        r##"
rules:
  - id: container-restarting-often
    title: A running container has restarted five times or more
    severity: low
    subject:
      kind: k8s/v1/Pod
      where: {path: "$.status.containerStatuses[*].started", equals: true, quantifier: all}
    each:
      as: c
      path: "$.status.containerStatuses[*]"
      where:
        - {path: $c.restartCount, gte: 5}
        - {path: $c.state.running, exists: true}
    finding:
      message: "{{ c.name }} restarted {{ c.restartCount }} times, last for {{ c.lastState.terminated.reason | default('an unknown reason') }}"
"##,
    ),
    (
        "docker-hub-image-pull-failing.yaml",
        r##"
rules:
  - id: docker-hub-image-pull-failing
    title: A Docker Hub image cannot be pulled
    severity: medium
    subject: {kind: k8s/v1/Pod}
    each:
      as: container
      path: "$.status.containerStatuses[*]"
      where: {path: $container.state.waiting.reason, in: [ImagePullBackOff, ErrImagePull]}
    let:
      img: {call: image_ref, args: [$container.image]}
    when: {path: $img.dockerHub, equals: true}
    finding:
      message: "{{ container.name }} cannot pull {{ image_ref(container.image).repository }} from Docker Hub ({{ img.reference }})"
      evidence:
        canonical: $img.canonical
"##,
    ),
    (
        "deployment-unavailable-replicas.yaml",
        r##"
rules:
  - id: deployment-unavailable-replicas
    title: A deployment has unavailable replicas
    severity: medium
    subject:
      kind: k8s/apps/v1/Deployment
      where: {path: $.status.unavailableReplicas, gt: 0}
    let:
      replicasets:
        join: k8s/apps/v1/ReplicaSet
        on: "$.metadata.ownerReferences[*].uid"
        equals: $.metadata.uid
    when: {path: $replicasets, count: {gte: 1}}
    finding:
      message: >-
        {{ subject.metadata.name }}: {{ subject.status.unavailableReplicas }} of {{ subject.spec.replicas }}
        replicas unavailable across {{ replicasets | length }} replica set(s)
      evidence:
        replicasets: "$replicasets[*].metadata.name"
"##,
    ),
    (
        "pod-evicted.yaml",
        r##"
rules:
  - id: pod-evicted
    title: A pod was evicted
    severity: low
    subject:
      kind: k8s/v1/Pod
      where:
        - {path: $.status.phase, equals: Failed}
        - {path: $.status.reason, equals: Evicted}
    let:
      node:
        join: k8s/v1/Node
        on: $.metadata.name
        equals: $.spec.nodeName
        one: true
    finding:
      message: "evicted from {{ node.metadata.name if node else 'a deleted node' }}: {{ subject.status.message }}"
      fix:
        - description: delete the evicted pod
          argv: [kubectl, delete, pod, "{{ subject.metadata.name }}", --namespace, "{{ subject.metadata.namespace }}"]
"##,
    ),
];

// ---------------------------------------------------------------------------
// Snapshot generator
// ---------------------------------------------------------------------------

/// splitmix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn range(&mut self, lo: usize, hi_inclusive: usize) -> usize {
        lo + self.below(hi_inclusive - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            let _ = write!(s, "{:016x}", self.next());
        }
        s.truncate(n);
        s
    }
    fn alnum(&mut self, n: usize) -> String {
        const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..n).map(|_| *self.pick(CHARS) as char).collect()
    }
    fn uid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }
}

/// A timestamp `secs` seconds after 2024-05-01T00:00:00Z (within May).
fn ts(secs: usize) -> String {
    let secs = secs % (30 * 86_400);
    format!(
        "2024-05-{:02}T{:02}:{:02}:{:02}Z",
        1 + secs / 86_400,
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

const NAMESPACES: &[&str] = &[
    "payments",
    "checkout",
    "catalog",
    "search",
    "identity",
    "notifications",
    "orders",
    "inventory",
    "shipping",
    "pricing",
    "recommendations",
    "analytics",
    "reporting",
    "billing",
    "frontend",
    "gateway",
    "media",
    "messaging",
    "observability",
    "platform",
];
const TEAMS: &[&str] = &[
    "payments", "checkout", "catalog", "search", "identity", "platform", "data", "ml", "web",
    "mobile", "infra", "growth", "risk", "support", "ops", "core", "edge", "ads", "maps", "media",
];
const WORDS: &[&str] = &[
    "api",
    "worker",
    "gateway",
    "ledger",
    "indexer",
    "router",
    "cache",
    "scheduler",
    "sync",
    "exporter",
    "ingest",
    "renderer",
    "resolver",
    "notifier",
    "auth",
    "profile",
    "cart",
    "quote",
    "tax",
    "fraud",
    "feed",
    "image",
    "video",
    "email",
    "sms",
    "webhook",
    "audit",
    "report",
    "batch",
    "stream",
];
const DOCKER_HUB: &[&str] = &[
    "nginx:1.25.3",
    "redis:7.2.4",
    "bitnami/postgresql:15.5.0",
    "memcached:1.6.22",
    "rabbitmq:3.12-management",
    "grafana/grafana:10.2.3",
    "busybox:1.36",
    "python:3.12-slim",
    "node:20-alpine",
    "envoyproxy/envoy:v1.28.0",
];
const OTHER_REGISTRY: &[&str] = &[
    "quay.io/prometheus/node-exporter:v1.7.0",
    "registry.k8s.io/ingress-nginx/controller:v1.9.5",
    "gcr.io/distroless/static:nonroot",
    "ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector-contrib:0.91.0",
];
const SIDECARS: &[&str] = &[
    "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0",
    "envoyproxy/envoy:v1.28.0",
    "public.ecr.aws/datadog/agent:7.50.3",
];
const ACCOUNTS: &[&str] = &["123456789012", "210987654321"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Health {
    Healthy,
    ImagePull,
    CrashLoop,
    OomKilled,
    NotReady,
    Unschedulable,
    Evicted,
}

struct Container {
    name: String,
    image: String,
    mem_limit: Option<&'static str>,
}

struct Deploy {
    namespace: &'static str,
    name: String,
    uid: String,
    hash: String,
    rs_uid: String,
    old_rs: Option<(String, String)>,
    containers: Vec<Container>,
    replicas: usize,
    unavailable: usize,
    created: usize,
}

struct NodeInfo {
    name: String,
    uid: String,
    ip: String,
}

struct Snapshot {
    doc: Value,
    counts: Vec<(&'static str, usize)>,
}

fn repo_name(i: usize) -> String {
    let team = TEAMS[i % TEAMS.len()];
    let k = i / TEAMS.len();
    format!(
        "{team}/{}-{}",
        WORDS[k % WORDS.len()],
        WORDS[(k / WORDS.len() + 7) % WORDS.len()]
    )
}

fn repo_account(i: usize) -> &'static str {
    if i % 10 < 7 { ACCOUNTS[0] } else { ACCOUNTS[1] }
}

fn ecr_policy(i: usize) -> Value {
    let account = repo_account(i);
    // Keys in sorted order, so that the policy text (which the rules match with
    // regexes) is the same whether serde_json keeps insertion order or sorts.
    let mut statements = vec![json!({
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
        "Effect": "Allow",
        "Principal": {"AWS": [
            format!("arn:aws:iam::{account}:role/eks-node-group-role"),
            format!("arn:aws:iam::{account}:role/ci-deployer"),
        ]},
        "Sid": "AllowPullFromNodes",
    })];
    if i % 50 == 7 {
        statements.push(json!({
            "Action": "ecr:*",
            "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
            "Effect": "Deny",
            "Principal": "*",
            "Sid": "DenyOutsideOrganization",
        }));
    }
    if i % 100 == 3 {
        statements.push(json!({
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Effect": "Allow",
            "Principal": "*",
            "Sid": "PublicPull",
        }));
    }
    if i % 100 == 42 {
        statements.push(json!({
            "Action": "ecr:*",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::555555555555:root"},
            "Sid": "PartnerFullAccess",
        }));
    }
    let policy = json!({"Statement": statements, "Version": "2012-10-17"});
    json!({
        "registryId": account,
        "repositoryName": repo_name(i),
        // As the AWS CLI prints it: the policy document as a pretty-printed string.
        "policyText": serde_json::to_string_pretty(&policy).unwrap(),
    })
}

fn image_for(rng: &mut Rng) -> String {
    let roll = rng.below(1000);
    if roll < 15 {
        return format!("{}:latest", rng.pick(&["nginx", "redis", "busybox"]));
    }
    if roll < 520 {
        let repo = rng.below(REPOSITORIES);
        let tag = if rng.chance(0.5) {
            format!(
                "v{}.{}.{}",
                rng.range(1, 4),
                rng.range(0, 30),
                rng.range(0, 12)
            )
        } else {
            format!("sha-{}", rng.hex(7))
        };
        return format!(
            "{}.dkr.ecr.us-west-2.amazonaws.com/{}:{tag}",
            repo_account(repo),
            repo_name(repo)
        );
    }
    if roll < 900 {
        return rng.pick(DOCKER_HUB).to_string();
    }
    rng.pick(OTHER_REGISTRY).to_string()
}

fn container_spec(c: &Container, sa_volume: &str, rng: &mut Rng) -> Value {
    let mut limits = serde_json::Map::new();
    limits.insert("cpu".into(), json!("500m"));
    if let Some(m) = c.mem_limit {
        limits.insert("memory".into(), json!(m));
    }
    let port = 8080 + rng.below(3) as u64;
    json!({
        "name": c.name,
        "image": c.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": port, "name": "http", "protocol": "TCP"}],
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
        ],
        "resources": {"limits": limits, "requests": {"cpu": "250m", "memory": "256Mi"}},
        "readinessProbe": {
            "httpGet": {"path": "/healthz", "port": port, "scheme": "HTTP"},
            "failureThreshold": 3, "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1,
        },
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [{
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            "name": sa_volume,
            "readOnly": true,
        }],
    })
}

fn pod_template(d: &Deploy, rng: &mut Rng) -> Value {
    let app = &d.name;
    let containers: Vec<Value> = d
        .containers
        .iter()
        .map(|c| {
            let mut v = container_spec(c, "unused", rng);
            if let Some(o) = v.as_object_mut() {
                o.remove("volumeMounts");
            }
            v
        })
        .collect();
    json!({
        "metadata": {"creationTimestamp": null, "labels": {"app": app, "pod-template-hash": d.hash}},
        "spec": {
            "containers": containers,
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "terminationGracePeriodSeconds": 30,
        },
    })
}

fn event(
    rng: &mut Rng,
    pod: (&str, &str, &str),
    container: Option<&str>,
    (kind, reason, message): (&str, &str, String),
    host: Option<&str>,
    at: usize,
) -> Value {
    let (namespace, name, uid) = pod;
    let mut involved = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "name": name,
        "namespace": namespace,
        "resourceVersion": format!("{}", 10_000_000 + rng.below(90_000_000)),
        "uid": uid,
    });
    if let (Some(c), Some(o)) = (container, involved.as_object_mut()) {
        o.insert(
            "fieldPath".into(),
            Value::String(format!("spec.containers{{{c}}}")),
        );
    }
    let component = if reason == "Scheduled" || reason == "FailedScheduling" {
        "default-scheduler"
    } else {
        "kubelet"
    };
    let count = if kind == "Warning" {
        rng.range(1, 40)
    } else {
        1
    };
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": format!("{name}.{}", rng.hex(16)),
            "namespace": namespace,
            "uid": rng.uid(),
            "resourceVersion": format!("{}", 10_000_000 + rng.below(90_000_000)),
            "creationTimestamp": ts(at),
        },
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": match host {
            Some(h) => json!({"component": component, "host": h}),
            None => json!({"component": component}),
        },
        "firstTimestamp": ts(at),
        "lastTimestamp": ts(at + count * 30),
        "count": count,
        "type": kind,
        "eventTime": null,
        "reportingComponent": component,
        "reportingInstance": host.unwrap_or(""),
    })
}

fn node_doc(n: &NodeInfo, i: usize, rng: &mut Rng) -> Value {
    let not_ready = matches!(i, 7 | 42 | 77);
    let memory_pressure = i == 13;
    let disk_pressure = i == 58;
    let cond = |t: &str, status: bool, reason: &str, message: &str| {
        json!({
            "type": t,
            "status": if status { "True" } else { "False" },
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": ts(2_500_000 + i),
            "lastTransitionTime": ts(100_000 + i * 60),
        })
    };
    let instance = ["m5.xlarge", "m5.2xlarge", "c6i.2xlarge", "r6i.xlarge"][i % 4];
    let zone = ["us-west-2a", "us-west-2b", "us-west-2c"][i % 3];
    let images: Vec<Value> = (0..10)
        .map(|k| {
            let name = if k < 5 {
                DOCKER_HUB[(i + k) % DOCKER_HUB.len()].to_string()
            } else {
                format!(
                    "{}.dkr.ecr.us-west-2.amazonaws.com/{}:v1.{k}.0",
                    ACCOUNTS[0],
                    repo_name((i * 10 + k) % REPOSITORIES)
                )
            };
            json!({"names": [format!("{name}@sha256:{}", rng.hex(64)), name], "sizeBytes": 10_000_000 + rng.below(400_000_000)})
        })
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": n.name,
            "uid": n.uid,
            "resourceVersion": format!("{}", 50_000_000 + rng.below(1_000_000)),
            "creationTimestamp": ts(100_000 + i * 60),
            "labels": {
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "eks.amazonaws.com/nodegroup": format!("ng-{}", i % 5),
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": n.name,
                "kubernetes.io/os": "linux",
                "node.kubernetes.io/instance-type": instance,
                "topology.kubernetes.io/region": "us-west-2",
                "topology.kubernetes.io/zone": zone,
            },
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": n.ip,
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {"providerID": format!("aws:///{zone}/i-0{}", rng.hex(16))},
        "status": {
            "addresses": [
                {"address": n.ip, "type": "InternalIP"},
                {"address": n.name, "type": "Hostname"},
                {"address": n.name, "type": "InternalDNS"},
            ],
            "allocatable": {"cpu": "3920m", "ephemeral-storage": "95551679124", "memory": "15146Mi", "pods": "58"},
            "capacity": {"cpu": "4", "ephemeral-storage": "104845292Ki", "memory": "16029Mi", "pods": "58"},
            "conditions": [
                cond("MemoryPressure", memory_pressure,
                    if memory_pressure { "KubeletHasInsufficientMemory" } else { "KubeletHasSufficientMemory" },
                    if memory_pressure { "kubelet has insufficient memory available" } else { "kubelet has sufficient memory available" }),
                cond("DiskPressure", disk_pressure,
                    if disk_pressure { "KubeletHasDiskPressure" } else { "KubeletHasNoDiskPressure" },
                    if disk_pressure { "kubelet has disk pressure" } else { "kubelet has no disk pressure" }),
                cond("PIDPressure", false, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                if not_ready {
                    json!({"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
                        "message": "Kubelet stopped posting node status.",
                        "lastHeartbeatTime": ts(2_400_000 + i), "lastTransitionTime": ts(2_400_100 + i)})
                } else {
                    cond("Ready", true, "KubeletReady", "kubelet is posting ready status")
                },
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": images,
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": rng.uid(),
                "containerRuntimeVersion": "containerd://1.7.11",
                "kernelVersion": "5.10.205-195.807.amzn2.x86_64",
                "kubeProxyVersion": "v1.28.5-eks-5e0fdde",
                "kubeletVersion": "v1.28.5-eks-5e0fdde",
                "machineID": rng.hex(32),
                "operatingSystem": "linux",
                "osImage": "Amazon Linux 2",
                "systemUUID": rng.uid(),
            },
        },
    })
}

/// An event to emit for a pod: the container it concerns, and (type, reason,
/// message).
type PodEvent<'a> = (Option<&'a str>, (&'a str, &'a str, String));

struct PodPlan<'a> {
    namespace: &'a str,
    name: String,
    uid: String,
    labels: Value,
    owner: Option<Value>,
    containers: Vec<&'a Container>,
    node: Option<&'a NodeInfo>,
    health: Health,
    created: usize,
}

/// Builds one pod document and its events.
fn pod_doc(p: &PodPlan<'_>, rng: &mut Rng, events: &mut Vec<Value>, normal_budget: usize) -> Value {
    let sa_volume = format!("kube-api-access-{}", rng.alnum(5));
    let containers: Vec<Value> = p
        .containers
        .iter()
        .map(|c| container_spec(c, &sa_volume, rng))
        .collect();
    let t0 = p.created;
    let host = p.node.map(|n| n.name.as_str());
    let key = (p.namespace, p.name.as_str(), p.uid.as_str());
    let h = p.health;
    let scheduled = h != Health::Unschedulable;
    let ready = matches!(h, Health::Healthy | Health::OomKilled);
    let phase = match h {
        Health::ImagePull | Health::Unschedulable => "Pending",
        Health::Evicted => "Failed",
        _ => "Running",
    };
    let cond = |t: &str, ok: bool, reason: Option<&str>| {
        let mut c = json!({"lastProbeTime": null, "lastTransitionTime": ts(t0 + 5), "status": if ok { "True" } else { "False" }, "type": t});
        if let (Some(r), Some(o)) = (reason, c.as_object_mut()) {
            o.insert("reason".into(), json!(r));
        }
        c
    };
    let mut conditions = Vec::new();
    if scheduled {
        conditions.push(cond("Initialized", true, None));
        conditions.push(cond(
            "Ready",
            ready,
            (!ready).then_some("ContainersNotReady"),
        ));
        conditions.push(cond(
            "ContainersReady",
            ready,
            (!ready).then_some("ContainersNotReady"),
        ));
        conditions.push(cond("PodScheduled", true, None));
    } else {
        let mut c = cond("PodScheduled", false, Some("Unschedulable"));
        if let Some(o) = c.as_object_mut() {
            o.insert("message".into(), json!("0/100 nodes are available: 3 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 97 Insufficient memory. preemption: 0/100 nodes are available: 3 Preemption is not helpful for scheduling, 97 No preemption victims found for incoming pod."));
        }
        conditions.push(c);
    }

    let mut statuses = Vec::new();
    let mut warn: Vec<PodEvent<'_>> = Vec::new();
    if scheduled {
        for (k, c) in p.containers.iter().enumerate() {
            let first = k == 0;
            let digest = rng.hex(64);
            let container_id = format!("containerd://{}", rng.hex(64));
            let running = json!({"running": {"startedAt": ts(t0 + 30)}});
            let mut s = json!({
                "containerID": container_id,
                "image": c.image,
                "imageID": format!("{}@sha256:{digest}", c.image.split(':').next().unwrap_or("")),
                "lastState": {},
                "name": c.name,
                "ready": ready,
                "restartCount": 0,
                "started": true,
                "state": running,
            });
            let o = s.as_object_mut().unwrap();
            match h {
                Health::ImagePull if first => {
                    let reason = if rng.chance(0.7) {
                        "ImagePullBackOff"
                    } else {
                        "ErrImagePull"
                    };
                    o.insert(
                        "state".into(),
                        json!({"waiting": {"reason": reason, "message": format!("Back-off pulling image \"{}\"", c.image)}}),
                    );
                    o.insert("started".into(), json!(false));
                    o.insert("imageID".into(), json!(""));
                    o.remove("containerID");
                    let why = if c.image.contains(".dkr.ecr.") {
                        format!(
                            "failed to pull and unpack image \"{}\": failed to resolve reference \"{}\": pulling from host {} failed with status code [manifests {}]: 403 Forbidden",
                            c.image,
                            c.image,
                            c.image.split('/').next().unwrap_or(""),
                            c.image.rsplit(':').next().unwrap_or("")
                        )
                    } else {
                        format!(
                            "failed to pull and unpack image \"docker.io/{}\": failed to resolve reference: docker.io/{}: not found",
                            c.image, c.image
                        )
                    };
                    warn.push((
                        Some(c.name.as_str()),
                        (
                            "Warning",
                            "Failed",
                            format!(
                                "Failed to pull image \"{}\": rpc error: code = NotFound desc = {why}",
                                c.image
                            ),
                        ),
                    ));
                    warn.push((
                        Some(c.name.as_str()),
                        ("Warning", "Failed", "Error: ErrImagePull".to_string()),
                    ));
                    warn.push((
                        Some(c.name.as_str()),
                        (
                            "Normal",
                            "BackOff",
                            format!("Back-off pulling image \"{}\"", c.image),
                        ),
                    ));
                    warn.push((
                        Some(c.name.as_str()),
                        ("Warning", "Failed", "Error: ImagePullBackOff".to_string()),
                    ));
                }
                Health::CrashLoop if first => {
                    let restarts = rng.range(6, 60);
                    o.insert("restartCount".into(), json!(restarts));
                    o.insert("started".into(), json!(false));
                    o.insert(
                        "state".into(),
                        json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off 5m0s restarting failed container={} pod={}", c.name, p.name)}}),
                    );
                    o.insert(
                        "lastState".into(),
                        json!({"terminated": {"containerID": format!("containerd://{}", rng.hex(64)), "exitCode": 1, "reason": "Error", "startedAt": ts(t0 + 600), "finishedAt": ts(t0 + 602)}}),
                    );
                    warn.push((
                        Some(c.name.as_str()),
                        (
                            "Warning",
                            "BackOff",
                            format!(
                                "Back-off restarting failed container {} in pod {}_{}({})",
                                c.name, p.name, p.namespace, p.uid
                            ),
                        ),
                    ));
                }
                Health::OomKilled if first => {
                    o.insert("restartCount".into(), json!(rng.range(1, 12)));
                    o.insert(
                        "lastState".into(),
                        json!({"terminated": {"containerID": format!("containerd://{}", rng.hex(64)), "exitCode": 137, "reason": "OOMKilled", "startedAt": ts(t0 + 300), "finishedAt": ts(t0 + 900)}}),
                    );
                }
                Health::NotReady if first => {
                    warn.push((
                        Some(c.name.as_str()),
                        (
                            "Warning",
                            "Unhealthy",
                            "Readiness probe failed: HTTP probe failed with statuscode: 503"
                                .to_string(),
                        ),
                    ));
                }
                Health::Evicted => {
                    o.insert("ready".into(), json!(false));
                    o.insert("started".into(), json!(false));
                    o.insert(
                        "state".into(),
                        json!({"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown", "message": "The container could not be located when the pod was terminated", "startedAt": ts(t0 + 30), "finishedAt": ts(t0 + 5000)}}),
                    );
                }
                _ => {
                    if h == Health::Healthy && rng.chance(0.05) {
                        o.insert("restartCount".into(), json!(rng.range(1, 3)));
                    }
                }
            }
            statuses.push(s);
        }
    }
    match h {
        Health::Unschedulable => warn.push((None, ("Warning", "FailedScheduling", "0/100 nodes are available: 3 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 97 Insufficient memory. preemption: 0/100 nodes are available: 3 Preemption is not helpful for scheduling, 97 No preemption victims found for incoming pod.".to_string()))),
        Health::Evicted => {
            warn.push((None, ("Warning", "Evicted", "The node was low on resource: memory. Threshold quantity: 100Mi, available: 91Mi.".to_string())));
            warn.push((p.containers.first().map(|c| c.name.as_str()), ("Normal", "Killing", "Stopping container".to_string())));
        }
        _ => {}
    }

    // Normal lifecycle events, up to the pod's budget.
    if scheduled {
        let mut normal: Vec<PodEvent<'_>> = vec![(
            None,
            (
                "Normal",
                "Scheduled",
                format!(
                    "Successfully assigned {}/{} to {}",
                    p.namespace,
                    p.name,
                    host.unwrap_or("")
                ),
            ),
        )];
        for c in &p.containers {
            let n = Some(c.name.as_str());
            normal.push((
                n,
                (
                    "Normal",
                    "Pulling",
                    format!("Pulling image \"{}\"", c.image),
                ),
            ));
            if h == Health::ImagePull && std::ptr::eq(*c, p.containers[0]) {
                continue;
            }
            normal.push((
                n,
                (
                    "Normal",
                    "Pulled",
                    format!(
                        "Successfully pulled image \"{}\" in 2.{:03}s (2.{:03}s including waiting)",
                        c.image,
                        rng.below(1000),
                        rng.below(1000)
                    ),
                ),
            ));
            normal.push((
                n,
                ("Normal", "Created", format!("Created container {}", c.name)),
            ));
            normal.push((
                n,
                ("Normal", "Started", format!("Started container {}", c.name)),
            ));
        }
        normal.truncate(normal_budget.max(1));
        for (k, (c, e)) in normal.into_iter().enumerate() {
            events.push(event(rng, key, c, e, host, t0 + k * 3));
        }
    }
    for (k, (c, e)) in warn.into_iter().enumerate() {
        events.push(event(rng, key, c, e, host, t0 + 600 + k * 60));
    }

    let mut metadata = json!({
        "name": p.name,
        "namespace": p.namespace,
        "uid": p.uid,
        "resourceVersion": format!("{}", 10_000_000 + rng.below(90_000_000)),
        "creationTimestamp": ts(t0),
        "generateName": p.name.rsplit_once('-').map(|(a, _)| format!("{a}-")).unwrap_or_default(),
        "labels": p.labels,
    });
    if let (Some(owner), Some(o)) = (&p.owner, metadata.as_object_mut()) {
        o.insert("ownerReferences".into(), json!([owner]));
    }
    let mut spec = json!({
        "containers": containers,
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": true,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "serviceAccount": "default",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
        "tolerations": [
            {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
            {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300},
        ],
        "volumes": [{
            "name": sa_volume,
            "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}},
            ]},
        }],
    });
    if let (Some(n), Some(o)) = (p.node, spec.as_object_mut()) {
        o.insert("nodeName".into(), json!(n.name));
    }
    let pod_ip = format!("10.0.{}.{}", rng.range(64, 127), rng.range(1, 254));
    let mut status = json!({
        "conditions": conditions,
        "phase": phase,
        "qosClass": "Burstable",
    });
    let so = status.as_object_mut().unwrap();
    if scheduled {
        so.insert("containerStatuses".into(), json!(statuses));
        so.insert("hostIP".into(), json!(p.node.map(|n| n.ip.as_str())));
        so.insert("podIP".into(), json!(pod_ip));
        so.insert("podIPs".into(), json!([{"ip": pod_ip}]));
        so.insert("startTime".into(), json!(ts(t0 + 1)));
    }
    if h == Health::Evicted {
        so.insert("reason".into(), json!("Evicted"));
        so.insert("message".into(), json!(format!("The node was low on resource: memory. Threshold quantity: 100Mi, available: 91Mi. Container {} was using 1210Mi, request is 256Mi, has larger consumption of memory.", p.containers.first().map_or("", |c| c.name.as_str()))));
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status})
}

fn generate() -> Snapshot {
    let mut rng = Rng(0x5eed_2024_0501_0001);

    let nodes: Vec<NodeInfo> = (0..NODES)
        .map(|i| {
            let ip = format!("10.0.{}.{}", i / 50 + 1, (i * 5) % 250 + 2);
            NodeInfo {
                name: format!("ip-{}.us-west-2.compute.internal", ip.replace('.', "-")),
                uid: rng.uid(),
                ip,
            }
        })
        .collect();

    let mut deploys: Vec<Deploy> = (0..DEPLOYMENTS)
        .map(|i| {
            let namespace = NAMESPACES[i % NAMESPACES.len()];
            let name = format!(
                "{}-{}-{}",
                WORDS[i % WORDS.len()],
                WORDS[(i / WORDS.len() + 3) % WORDS.len()],
                i
            );
            let n_containers = match rng.below(10) {
                0 => 3,
                1..=3 => 2,
                _ => 1,
            };
            let containers = (0..n_containers)
                .map(|k| {
                    let (cname, image) = if k == 0 {
                        ("app".to_string(), image_for(&mut rng))
                    } else {
                        (
                            ["log-router", "proxy", "agent"][k % 3].to_string(),
                            rng.pick(SIDECARS).to_string(),
                        )
                    };
                    Container {
                        name: cname,
                        image,
                        mem_limit: if rng.chance(0.02) {
                            None
                        } else {
                            Some(*rng.pick(&["128Mi", "256Mi", "512Mi", "1Gi", "2Gi"]))
                        },
                    }
                })
                .collect();
            Deploy {
                namespace,
                name,
                uid: rng.uid(),
                hash: rng.alnum(10),
                rs_uid: rng.uid(),
                old_rs: rng.chance(0.3).then(|| (rng.alnum(10), rng.uid())),
                containers,
                replicas: 0,
                unavailable: 0,
                created: rng.below(1_000_000),
            }
        })
        .collect();

    // Assign pods: two DaemonSet pods per node, 100 standalone pods, the rest to
    // deployments' current ReplicaSets.
    let daemon_pods = 2 * NODES;
    let standalone = 100;
    let rs_pods = PODS - daemon_pods - standalone;
    let mut owner_of: Vec<usize> = (0..rs_pods).map(|_| rng.below(DEPLOYMENTS)).collect();
    owner_of.sort_unstable();

    let mut pods = Vec::with_capacity(PODS);
    let mut events = Vec::with_capacity(EVENTS + 1000);
    let daemon_containers = [
        Container {
            name: "aws-node".into(),
            image: "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.16.0-eksbuild.1"
                .into(),
            mem_limit: Some("256Mi"),
        },
        Container {
            name: "kube-proxy".into(),
            image: "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/kube-proxy:v1.28.2-minimal-eksbuild.2".into(),
            mem_limit: Some("128Mi"),
        },
    ];
    let ds_uids = [rng.uid(), rng.uid()];
    let mut health_counts = [0usize; 7];
    for (i, node) in nodes.iter().enumerate() {
        for (k, c) in daemon_containers.iter().enumerate() {
            let ds = ["aws-node", "kube-proxy"][k];
            let plan = PodPlan {
                namespace: "kube-system",
                name: format!("{ds}-{}", rng.alnum(5)),
                uid: rng.uid(),
                labels: json!({"k8s-app": ds, "controller-revision-hash": rng.hex(10), "pod-template-generation": "1"}),
                owner: Some(
                    json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "name": ds, "uid": ds_uids[k], "controller": true, "blockOwnerDeletion": true}),
                ),
                containers: vec![c],
                node: Some(node),
                health: Health::Healthy,
                created: 100_000 + i * 60,
            };
            let budget = rng.range(2, 6);
            pods.push(pod_doc(&plan, &mut rng, &mut events, budget));
            health_counts[0] += 1;
        }
    }
    for i in 0..standalone {
        let c = Container {
            name: "main".into(),
            image: if i % 3 == 0 {
                "busybox:1.36".into()
            } else {
                image_for(&mut rng)
            },
            mem_limit: Some("128Mi"),
        };
        let plan = PodPlan {
            namespace: NAMESPACES[i % NAMESPACES.len()],
            name: format!("debug-{}", rng.alnum(8)),
            uid: rng.uid(),
            labels: json!({"run": "debug"}),
            owner: None,
            containers: vec![&c],
            node: Some(&nodes[rng.below(NODES)]),
            health: Health::Healthy,
            created: 2_000_000 + i * 97,
        };
        let budget = rng.range(2, 6);
        pods.push(pod_doc(&plan, &mut rng, &mut events, budget));
        health_counts[0] += 1;
    }
    for &d in &owner_of {
        let roll = rng.below(10_000);
        let health = match roll {
            0..70 => Health::ImagePull,
            70..150 => Health::CrashLoop,
            150..200 => Health::OomKilled,
            200..240 => Health::NotReady,
            240..270 => Health::Unschedulable,
            270..290 => Health::Evicted,
            _ => Health::Healthy,
        };
        health_counts[health as usize] += 1;
        let dep = &mut deploys[d];
        dep.replicas += 1;
        if !matches!(
            health,
            Health::Healthy | Health::OomKilled | Health::Evicted
        ) {
            dep.unavailable += 1;
        }
        let dep = &deploys[d];
        let rs_name = format!("{}-{}", dep.name, dep.hash);
        let plan = PodPlan {
            namespace: dep.namespace,
            name: format!("{rs_name}-{}", rng.alnum(5)),
            uid: rng.uid(),
            labels: json!({"app": dep.name, "pod-template-hash": dep.hash, "app.kubernetes.io/part-of": dep.namespace}),
            owner: Some(
                json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "uid": dep.rs_uid, "controller": true, "blockOwnerDeletion": true}),
            ),
            containers: dep.containers.iter().collect(),
            node: (health != Health::Unschedulable).then(|| &nodes[rng.below(NODES)]),
            health,
            created: dep.created + rng.below(500_000),
        };
        let budget = rng.range(3, 6);
        pods.push(pod_doc(&plan, &mut rng, &mut events, budget));
    }
    assert_eq!(pods.len(), PODS);
    assert!(
        events.len() <= EVENTS,
        "{} events before filling",
        events.len()
    );

    // Fill to exactly EVENTS with later events: probe failures and restarts on
    // random pods, and node events.
    while events.len() < EVENTS {
        if rng.chance(0.15) {
            let n = &nodes[rng.below(NODES)];
            let at = 2_000_000 + rng.below(500_000);
            let (reason, message) = *rng.pick(&[
                ("NodeNotReady", "Node {} status is now: NodeNotReady"),
                ("NodeReady", "Node {} status is now: NodeReady"),
                (
                    "RegisteredNode",
                    "Node {} event: Registered Node {} in Controller",
                ),
            ]);
            let mut e = event(
                &mut rng,
                ("", &n.name, &n.uid),
                None,
                ("Normal", reason, message.replace("{}", &n.name)),
                Some(&n.name),
                at,
            );
            if let Some(inv) = e.get_mut("involvedObject").and_then(Value::as_object_mut) {
                inv.insert("kind".into(), json!("Node"));
                inv.remove("namespace");
            }
            if let Some(meta) = e.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("namespace".into(), json!("default"));
            }
            events.push(e);
        } else {
            let pod = &pods[rng.below(PODS)];
            let meta = &pod["metadata"];
            let key = (
                meta["namespace"].as_str().unwrap_or(""),
                meta["name"].as_str().unwrap_or(""),
                meta["uid"].as_str().unwrap_or(""),
            );
            let host = pod["spec"]["nodeName"].as_str();
            let cname = pod["spec"]["containers"][0]["name"].as_str();
            let e = match rng.below(4) {
                0 => (
                    "Warning",
                    "Unhealthy",
                    "Readiness probe failed: Get \"http://10.0.80.12:8080/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)".to_string(),
                ),
                1 => ("Normal", "Killing", "Stopping container app".to_string()),
                2 => ("Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.".to_string()),
                _ => ("Normal", "Pulled", "Container image already present on machine".to_string()),
            };
            let at = 2_000_000 + rng.below(500_000);
            let e = event(&mut rng, key, cname, e, host, at);
            events.push(e);
        }
    }

    // Deployments and their ReplicaSets, now that replica counts are known.
    let mut replicasets = Vec::new();
    let mut deployments = Vec::new();
    for d in &deploys {
        let template = pod_template(d, &mut rng);
        let available = d.replicas - d.unavailable.min(d.replicas);
        let rs_doc = |name: String, uid: &str, hash: &str, replicas: usize, revision: usize| {
            json!({
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": name,
                    "namespace": d.namespace,
                    "uid": uid,
                    "generation": 1 + revision,
                    "creationTimestamp": ts(d.created + revision * 1000),
                    "labels": {"app": d.name, "pod-template-hash": hash},
                    "annotations": {
                        "deployment.kubernetes.io/desired-replicas": d.replicas.to_string(),
                        "deployment.kubernetes.io/max-replicas": (d.replicas + 1).to_string(),
                        "deployment.kubernetes.io/revision": revision.to_string(),
                    },
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": d.name, "uid": d.uid, "controller": true, "blockOwnerDeletion": true}],
                },
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": {"app": d.name, "pod-template-hash": hash}},
                    "template": template,
                },
                "status": if replicas > 0 {
                    json!({"replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": available, "availableReplicas": available, "observedGeneration": 1 + revision})
                } else {
                    json!({"replicas": 0, "observedGeneration": 1 + revision})
                },
            })
        };
        if let Some((hash, uid)) = &d.old_rs {
            replicasets.push(rs_doc(format!("{}-{hash}", d.name), uid, hash, 0, 1));
        }
        let revision = if d.old_rs.is_some() { 2 } else { 1 };
        replicasets.push(rs_doc(
            format!("{}-{}", d.name, d.hash),
            &d.rs_uid,
            &d.hash,
            d.replicas,
            revision,
        ));
        let mut status = json!({
            "observedGeneration": revision,
            "replicas": d.replicas,
            "updatedReplicas": d.replicas,
            "readyReplicas": available,
            "availableReplicas": available,
            "conditions": [
                {"type": "Available", "status": if d.unavailable == 0 { "True" } else { "False" },
                 "reason": if d.unavailable == 0 { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
                 "message": if d.unavailable == 0 { "Deployment has minimum availability." } else { "Deployment does not have minimum availability." },
                 "lastUpdateTime": ts(d.created + 2000), "lastTransitionTime": ts(d.created + 2000)},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "message": format!("ReplicaSet \"{}-{}\" has successfully progressed.", d.name, d.hash),
                 "lastUpdateTime": ts(d.created + 2000), "lastTransitionTime": ts(d.created)},
            ],
        });
        if d.unavailable > 0 {
            status["unavailableReplicas"] = json!(d.unavailable);
        }
        deployments.push(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": d.name,
                "namespace": d.namespace,
                "uid": d.uid,
                "generation": revision,
                "creationTimestamp": ts(d.created),
                "labels": {"app": d.name},
                "annotations": {"deployment.kubernetes.io/revision": revision.to_string()},
            },
            "spec": {
                "replicas": d.replicas,
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
                "selector": {"matchLabels": {"app": d.name}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "template": template,
            },
            "status": status,
        }));
    }
    let node_docs: Vec<Value> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| node_doc(n, i, &mut rng))
        .collect();
    let policies: Vec<Value> = (0..REPOSITORIES).map(ecr_policy).collect();

    let counts = vec![
        ("k8s/v1/Pod", pods.len()),
        ("k8s/v1/Event", events.len()),
        ("k8s/v1/Node", node_docs.len()),
        ("k8s/apps/v1/ReplicaSet", replicasets.len()),
        ("k8s/apps/v1/Deployment", deployments.len()),
        ("aws/ecr/RepositoryPolicy", policies.len()),
        ("  pods failing (pull/crash/OOM)", {
            health_counts[Health::ImagePull as usize]
                + health_counts[Health::CrashLoop as usize]
                + health_counts[Health::OomKilled as usize]
        }),
    ];
    let doc = json!({
        "apiVersion": "rulerun.dev/v1",
        "kind": "Snapshot",
        "metadata": {"generator": "rulerun-core benches/check.rs", "seed": "0x5eed202405010001"},
        "facts": {
            "k8s/v1/Pod": pods,
            "k8s/v1/Event": events,
            "k8s/v1/Node": node_docs,
            "k8s/apps/v1/ReplicaSet": replicasets,
            "k8s/apps/v1/Deployment": deployments,
            "aws/ecr/RepositoryPolicy": policies,
        },
    });
    Snapshot { doc, counts }
}

// ---------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------

/// Peak heap above the level at the start of `f`, in bytes, with `f`'s result.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let out = f();
    (out, HEAP.peak_usage().saturating_sub(base))
}

/// The check path a user runs once the file is read: parse, add, check.
struct CheckRun {
    total: Duration,
    parse: Duration,
    add: Duration,
    check: Duration,
    peak: usize,
    report: Report,
}

/// `projection`: `None` parses whole documents.
fn check_path(
    path: &Path,
    text: &str,
    rules: &RuleSet,
    projection: Option<&Projection>,
) -> CheckRun {
    let ((parse, add, check_time, total, report, facts), peak) = peak_during(|| {
        let t0 = Instant::now();
        let docs = match projection {
            Some(p) => parse_fact_text_projected(path, text, p).unwrap(),
            None => parse_fact_text(path, text).unwrap(),
        };
        let t1 = Instant::now();
        let mut facts = FactStore::new();
        for doc in docs {
            facts.add_document(doc).unwrap();
        }
        let t2 = Instant::now();
        let report = check(rules, &facts);
        let t3 = Instant::now();
        (t1 - t0, t2 - t1, t3 - t2, t3 - t0, report, facts)
    });
    // Dropping the facts is outside the timed section, as dropping the Value is
    // outside the parse's.
    drop(std::hint::black_box(facts));
    CheckRun {
        total,
        parse,
        add,
        check: check_time,
        peak,
        report,
    }
}

fn parse_only(text: &str) -> (Duration, usize) {
    let ((elapsed, value), peak) = peak_during(|| {
        let t0 = Instant::now();
        let value: Value = serde_json::from_str(text).unwrap();
        (t0.elapsed(), value)
    });
    drop(std::hint::black_box(value));
    (elapsed, peak)
}

struct Figures {
    size: usize,
    parse: Duration,
    parse_peak: usize,
    /// The check path with field projection (primary).
    run: CheckRun,
    /// The check path over whole documents (secondary).
    whole: CheckRun,
}

/// Best of `runs` for the check path: the run with the best total, with the
/// best of each phase (they may come from different runs).
fn best_of(runs: Vec<CheckRun>) -> CheckRun {
    let best_parse = runs.iter().map(|r| r.parse).min().unwrap();
    let best_add = runs.iter().map(|r| r.add).min().unwrap();
    let best_check = runs.iter().map(|r| r.check).min().unwrap();
    let mut run = runs.into_iter().min_by_key(|r| r.total).unwrap();
    run.parse = best_parse;
    run.add = best_add;
    run.check = best_check;
    run
}

/// Best of `runs` for every path, alternating them so drift on a shared machine
/// hits all alike.
fn measure(
    path: &Path,
    text: &str,
    rules: &RuleSet,
    projection: &Projection,
    runs: usize,
) -> Figures {
    let _warm = parse_only(text);
    let mut parse = Duration::MAX;
    let mut parse_peak = 0;
    let mut projected = Vec::new();
    let mut whole = Vec::new();
    for _ in 0..runs {
        let (t, peak) = parse_only(text);
        parse = parse.min(t);
        parse_peak = parse_peak.max(peak);
        projected.push(check_path(path, text, rules, Some(projection)));
        whole.push(check_path(path, text, rules, None));
    }
    Figures {
        size: text.len(),
        parse,
        parse_peak,
        run: best_of(projected),
        whole: best_of(whole),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(n: usize) -> f64 {
    n as f64 / (1024.0 * 1024.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "meets" } else { "MISSES" }
}

/// User+system CPU time of this process in clock ticks (1/100 s on Linux), 0
/// where `/proc` is unavailable.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted after the `(comm)` field.
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// `RULERUN_BENCH_PROFILE=N`: only the check, `N` times over one fact store (for
/// `perf record` or `valgrind --tool=callgrind`), then, when `N` > 1, each rule
/// alone.
fn profile(path: &Path, text: &str, rules: &RuleSet, n: usize) {
    let projection = rules.projection();
    let mut facts = FactStore::new();
    for doc in parse_fact_text_projected(path, text, &projection).unwrap() {
        facts.add_document(doc).unwrap();
    }
    let t = Instant::now();
    let cpu = cpu_ticks();
    for _ in 0..n {
        std::hint::black_box(check(rules, &facts));
    }
    println!(
        "check x{n}: {:.1} ms each (wall), {:.1} ms each (CPU)",
        ms(t.elapsed()) / n as f64,
        (cpu_ticks() - cpu) as f64 * 10.0 / n as f64
    );
    if n < 2 {
        return;
    }
    for rule in &rules.rules {
        let t = Instant::now();
        let report = rulerun_core::engine::check_selected(rules, &facts, |r| r.id == rule.id);
        println!(
            "  {:<40} {:>7.1} ms {:>5} findings",
            rule.id,
            ms(t.elapsed()),
            report.findings.len()
        );
    }
}

/// The 20 rules, loaded (best-of load time); asserts they all load.
fn load_bench_rules() -> (RuleSet, Duration) {
    // Rules (loading is reported, not part of the check time).
    let sources: Vec<SourceFile> = RULES
        .iter()
        .map(|(name, text)| SourceFile {
            path: PathBuf::from(name),
            text: (*text).to_string(),
        })
        .collect();
    let mut load_time = Duration::MAX;
    let mut rules = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        let (set, errors) = load_rules(&sources);
        load_time = load_time.min(t.elapsed());
        assert!(errors.is_empty(), "rules failed to load: {errors:#?}");
        rules = Some(set);
    }
    let rules = rules.unwrap();
    assert_eq!(rules.rules.len(), RULES.len(), "every rule loads");
    assert_eq!(RULES.len(), 20);

    (rules, load_time)
}

fn main() {
    let dir = std::env::temp_dir();
    let compact_path: PathBuf = dir.join("rulerun-bench-snapshot.json");
    let pretty_path: PathBuf = dir.join("rulerun-bench-snapshot-pretty.json");

    let profile_runs = std::env::var("RULERUN_BENCH_PROFILE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = profile_runs
        && let Ok(text) = std::fs::read_to_string(&compact_path)
    {
        // Reuse the snapshot of an earlier run.
        let (rules, _) = load_bench_rules();
        profile(&compact_path, &text, &rules, n);
        return;
    }

    // Generate and write both forms, then let go of everything.
    let t = Instant::now();
    let snapshot = generate();
    let generated = t.elapsed();
    let compact = serde_json::to_string(&snapshot.doc).unwrap();
    let pretty = serde_json::to_string_pretty(&snapshot.doc).unwrap();
    std::fs::write(&compact_path, &compact).unwrap();
    std::fs::write(&pretty_path, &pretty).unwrap();
    let counts = snapshot.counts;
    drop(snapshot.doc);
    drop((compact, pretty));

    println!(
        "rulerun engine benchmark (release, {} run(s) best-of)",
        RUNS
    );
    println!();
    println!("snapshot (generated in {:.0} ms):", ms(generated));
    for (kind, n) in &counts {
        println!("  {kind:<34} {n:>7}");
    }

    let (rules, load_time) = load_bench_rules();
    let mut projection_time = Duration::MAX;
    let mut projection = Projection::all();
    for _ in 0..RUNS {
        let t = Instant::now();
        projection = rules.projection();
        projection_time = projection_time.min(t.elapsed());
    }

    // Reading the files is not measured.
    let compact = std::fs::read_to_string(&compact_path).unwrap();
    if let Some(n) = profile_runs {
        profile(&compact_path, &compact, &rules, n);
        return;
    }
    let c = measure(&compact_path, &compact, &rules, &projection, RUNS);
    drop(compact);
    let pretty = std::fs::read_to_string(&pretty_path).unwrap();
    let p = measure(&pretty_path, &pretty, &rules, &projection, RUNS_PRETTY);
    drop(pretty);

    // Correctness invariants (never timing).
    let report = &c.run.report;
    assert!(
        report.errors.is_empty(),
        "evaluation errors: {:#?}",
        &report.errors[..report.errors.len().min(5)]
    );
    assert_eq!(report.rules_evaluated, RULES.len());
    assert_eq!(
        report.facts,
        counts.iter().take(6).map(|(_, n)| n).sum::<usize>()
    );
    assert!(!report.findings.is_empty());
    let mut per_rule: Vec<(&str, usize)> = rules
        .rules
        .iter()
        .map(|r| {
            let n = report.findings.iter().filter(|f| f.rule == r.id).count();
            (r.id.as_str(), n)
        })
        .collect();
    for (id, n) in &per_rule {
        assert!(*n > 0, "rule {id} found nothing");
    }
    // Projection is semantics-preserving: the same report as whole documents.
    assert_eq!(
        report, &c.whole.report,
        "projected and whole documents give the same report"
    );
    assert_eq!(
        &p.run.report, &p.whole.report,
        "projected and whole documents give the same report (pretty)"
    );
    assert_eq!(
        &p.run.report, report,
        "pretty and compact snapshots give the same report"
    );
    per_rule.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));

    println!();
    println!(
        "rules: {} loaded in {:.1} ms, projection computed in {:.2} ms (neither in the check time); {} findings, 0 errors:",
        rules.rules.len(),
        ms(load_time),
        ms(projection_time),
        report.findings.len()
    );
    for (id, n) in &per_rule {
        println!("  {id:<40} {n:>5}");
    }

    println!();
    println!("{:<44} {:>14} {:>14}", "", "compact JSON", "pretty JSON");
    let row = |label: &str, a: String, b: String| println!("{label:<44} {a:>14} {b:>14}");
    row(
        "snapshot file size",
        format!("{:.1} MiB", mib(c.size)),
        format!("{:.1} MiB", mib(p.size)),
    );
    row(
        "T_parse  serde_json::from_str::<Value>",
        format!("{:.1} ms", ms(c.parse)),
        format!("{:.1} ms", ms(p.parse)),
    );
    let phases = |label: &str, pick: &dyn Fn(&Figures) -> &CheckRun| {
        row(
            label,
            format!("{:.1} ms", ms(pick(&c).total)),
            format!("{:.1} ms", ms(pick(&p).total)),
        );
        row(
            "  of which parsing",
            format!("{:.1} ms", ms(pick(&c).parse)),
            format!("{:.1} ms", ms(pick(&p).parse)),
        );
        row(
            "  of which FactStore::add_document",
            format!("{:.1} ms", ms(pick(&c).add)),
            format!("{:.1} ms", ms(pick(&p).add)),
        );
        row(
            "  of which check (20 rules)",
            format!("{:.1} ms", ms(pick(&c).check)),
            format!("{:.1} ms", ms(pick(&p).check)),
        );
    };
    phases("T_check  projected parse+add+check", &|f| &f.run);
    phases("T_check' whole-document parse+add+check", &|f| &f.whole);
    let ratio = |r: &CheckRun, f: &Figures| r.total.as_secs_f64() / f.parse.as_secs_f64();
    row(
        "ratio T_check / T_parse (target <= 2.0)",
        format!("{:.2}", ratio(&c.run, &c)),
        format!("{:.2}", ratio(&p.run, &p)),
    );
    row(
        "  whole documents: T_check' / T_parse",
        format!("{:.2}", ratio(&c.whole, &c)),
        format!("{:.2}", ratio(&p.whole, &p)),
    );
    row(
        "peak heap, serde_json parse alone",
        format!("{:.1} MiB", mib(c.parse_peak)),
        format!("{:.1} MiB", mib(p.parse_peak)),
    );
    row(
        "peak heap, projected check path",
        format!("{:.1} MiB", mib(c.run.peak)),
        format!("{:.1} MiB", mib(p.run.peak)),
    );
    row(
        "peak heap, whole-document check path",
        format!("{:.1} MiB", mib(c.whole.peak)),
        format!("{:.1} MiB", mib(p.whole.peak)),
    );
    let mem = |r: &CheckRun, f: &Figures| r.peak as f64 / f.size as f64;
    let parse_mem = |f: &Figures| f.parse_peak as f64 / f.size as f64;
    row(
        "  parse alone / file size",
        format!("{:.2}x", parse_mem(&c)),
        format!("{:.2}x", parse_mem(&p)),
    );
    row(
        "  projected check path / file size (<= 3x)",
        format!("{:.2}x", mem(&c.run, &c)),
        format!("{:.2}x", mem(&p.run, &p)),
    );
    row(
        "  whole-document check path / file size",
        format!("{:.2}x", mem(&c.whole, &c)),
        format!("{:.2}x", mem(&p.whole, &p)),
    );
    println!();
    println!(
        "projected:      ratio = {:.2} ({} <= {RATIO_TARGET:.1}); memory = {:.2}x the file ({} <= {MEMORY_TARGET:.0}x)  [compact JSON, {} bytes]",
        ratio(&c.run, &c),
        verdict(ratio(&c.run, &c) <= RATIO_TARGET),
        mem(&c.run, &c),
        verdict(mem(&c.run, &c) <= MEMORY_TARGET),
        c.size
    );
    println!(
        "whole documents: ratio = {:.2} ({} <= {RATIO_TARGET:.1}); memory = {:.2}x the file ({} <= {MEMORY_TARGET:.0}x)",
        ratio(&c.whole, &c),
        verdict(ratio(&c.whole, &c) <= RATIO_TARGET),
        mem(&c.whole, &c),
        verdict(mem(&c.whole, &c) <= MEMORY_TARGET),
    );
    println!(
        "snapshot files: {} and {} (left in place)",
        compact_path.display(),
        pretty_path.display()
    );
}
