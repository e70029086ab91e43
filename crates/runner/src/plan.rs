use std::collections::HashSet;
use std::sync::Arc;

use rulerun_collect_aws::{AwsCollector, OPS, OpSpec};
use rulerun_collect_k8s::declare::{self, KEYED, KeyedFetch, Resource};
use rulerun_collect_k8s::fetch::{FetchError, K8sFetcher};
use rulerun_core::engine::KeyState;
use rulerun_core::{Demand, FactStore, JoinId, Plan, Report, RuleSet, check_planned};
use rulerun_transport::FetchFailure;
use serde_json::Value;
use tokio::task::JoinSet;

/// Evaluation rounds at least allowed; a run allows as many more as its longest
/// rule has joins (each round resolves at least one more join of every waiting
/// candidate), so a rule built from many parts is never cut short.
const MIN_ROUNDS: usize = 10;

/// What to collect from.
pub struct LiveOptions {
    /// The Kubernetes reader.
    pub k8s: Arc<K8sFetcher>,
    /// Only this namespace (`-n`); all when `None`.
    pub namespace: Option<String>,
    /// The AWS reader; `None` when AWS collection is off, with the reason.
    pub aws: Result<Arc<AwsCollector>, String>,
}

/// What a live run did.
#[derive(Debug)]
pub struct LiveRun {
    /// The facts the check used (for `rulerun collect`).
    pub facts: FactStore,
    /// The final report, with inconclusive rules.
    pub report: Report,
    /// Evaluation rounds.
    pub rounds: usize,
    /// Kubernetes API requests made.
    pub k8s_requests: usize,
    /// AWS API calls made, by `service.Operation`.
    pub aws_calls: std::collections::BTreeMap<String, usize>,
}

/// Progress reports for a progress line.
#[derive(Debug, Clone)]
pub enum Progress {
    /// Listing kinds.
    Listing(Vec<String>),
    /// Fetching keys demanded by rules.
    Fetching {
        /// The round.
        round: usize,
        /// What is fetched, e.g. `12 k8s/v1/Event`.
        what: Vec<String>,
    },
}

enum Fetched {
    Docs(Vec<Value>),
    Failed(String),
}

/// Collects what `rules` need and evaluates them.
pub async fn run(
    rules: &RuleSet,
    opts: &LiveOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> LiveRun {
    let mut plan = Plan::default();
    let mut facts = FactStore::new();
    let (list, keyed) = classify(rules);
    for k in &keyed {
        plan.keyed_kind(k.kind, k.on);
    }
    for kind in rules.kinds() {
        if kind.starts_with("k8s/") {
            if declare::resource(&kind).is_none() {
                plan.unavailable.insert(
                    kind.clone(),
                    "rulerun does not collect this kind from clusters yet".into(),
                );
            }
            continue;
        }
        if let Err(why) = &opts.aws {
            plan.unavailable.insert(kind.clone(), why.clone());
            continue;
        }
        // Every join on an AWS kind must be one a fetch operation answers; one that
        // none answers makes inconclusive only the candidates that reach it.
        let ways = || -> Vec<String> {
            OPS.iter()
                .flat_map(|o| o.kinds.iter())
                .filter(|(k, _)| *k == kind)
                .map(|(_, paths)| format!("[{}]", paths.join(", ")))
                .collect()
        };
        for join in rules.joins_of(&kind) {
            if aws_op(&join).is_some() {
                plan.keyed.entry(join).or_default();
                continue;
            }
            let ways = ways();
            let why = if ways.is_empty() {
                "rulerun does not collect this kind from AWS".to_string()
            } else {
                format!(
                    "rulerun fetches it by {} only; a rule joins it on [{}]",
                    ways.join(" or "),
                    join.on().join(", ")
                )
            };
            plan.unavailable_joins.insert(join, why);
        }
        // A subject would be listed whole, which rulerun never does in an account.
        if rules.rules.iter().any(|r| r.subject_kind == kind) {
            plan.unlisted.insert(
                kind.clone(),
                "AWS facts are fetched by the keys rules join on, never listed whole; it cannot be a rule's subject in a live run".to_string(),
            );
        }
    }

    // Lists, concurrently.
    progress(Progress::Listing(
        list.iter().map(|r| r.kind.to_string()).collect(),
    ));
    let mut set = JoinSet::new();
    for res in list {
        let k8s = Arc::clone(&opts.k8s);
        let ns = opts.namespace.clone();
        set.spawn(async move {
            let out = k8s.list(res, ns.as_deref(), None).await;
            (res, out)
        });
    }
    while let Some(joined) = set.join_next().await {
        let Ok((res, out)) = joined else { continue };
        match out {
            Ok(items) => {
                facts.touch(res.kind);
                for i in items {
                    facts.add(res.kind, i);
                }
            }
            Err(e) => {
                plan.unavailable
                    .insert(res.kind.to_string(), e.inconclusive_reason());
            }
        }
    }

    let mut seen: HashSet<String> = HashSet::new();
    let mut rounds = 0;
    let max_rounds = rules
        .rules
        .iter()
        .map(|r| r.join_count() + 2)
        .max()
        .unwrap_or(0)
        .max(MIN_ROUNDS);
    let report = loop {
        rounds += 1;
        let (report, demands) = check_planned(rules, &facts, &plan);
        if demands.is_empty() {
            break report;
        }
        if rounds >= max_rounds {
            // Never silent: the candidates still waiting for facts cannot decide,
            // and only they; one more evaluation says which.
            plan.stopped = Some(format!("stopped after {rounds} rounds of fetching"));
            let (report, _) = check_planned(rules, &facts, &plan);
            break report;
        }
        progress(Progress::Fetching {
            round: rounds,
            what: demands
                .iter()
                .map(|d| format!("{} {}", d.keys.len(), d.join.kind()))
                .collect(),
        });
        fetch_demands(opts, &demands, &mut plan, &mut facts, &mut seen).await;
    };
    LiveRun {
        facts,
        report,
        rounds,
        k8s_requests: opts.k8s.requests(),
        aws_calls: opts.aws.as_ref().map(|a| a.calls()).unwrap_or_default(),
    }
}

/// The fetch operation that answers a join on `kind` by `on`: one keyed by exactly
/// those paths, else one keyed by a prefix of them (it fetches every document of
/// the prefix, a superset the join's index then narrows: endpoints by VPC for a
/// join on VPC and service name).
fn aws_op(join: &JoinId) -> Option<&'static OpSpec> {
    let keyed_by = |o: &OpSpec, exact: bool| {
        op_joins(o).any(|answered| {
            if exact {
                answered == *join
            } else {
                join.extends(&answered)
            }
        })
    };
    OPS.iter()
        .find(|o| keyed_by(o, true))
        .or_else(|| OPS.iter().find(|o| keyed_by(o, false)))
}

/// The joins a fetch operation answers: one per kind it produces, on the
/// paths its key values are read from.
fn op_joins(op: &OpSpec) -> impl Iterator<Item = JoinId> + '_ {
    op.kinds
        .iter()
        .map(|(kind, paths)| JoinId::new(kind, paths))
}

/// Splits the Kubernetes kinds the rules read into listed and keyed ones.
fn classify(rules: &RuleSet) -> (Vec<&'static Resource>, Vec<&'static declare::Keyed>) {
    let kinds = rules.kinds();
    let mut list = Vec::new();
    let mut keyed = Vec::new();
    for kind in &kinds {
        let Some(res) = declare::resource(kind) else {
            continue;
        };
        let is_subject = rules.rules.iter().any(|r| &r.subject_kind == kind);
        let joins = rules.joins_of(kind);
        let spec = KEYED.iter().find(|k| k.kind == kind);
        let all_keyed = spec.is_some_and(|s| {
            let answered = JoinId::new(s.kind, s.on);
            joins.iter().all(|j| *j == answered)
        });
        match spec {
            Some(s) if !is_subject && all_keyed && !joins.is_empty() => keyed.push(s),
            _ => list.push(res),
        }
    }
    (list, keyed)
}

async fn fetch_demands(
    opts: &LiveOptions,
    demands: &[Demand],
    plan: &mut Plan,
    facts: &mut FactStore,
    seen: &mut HashSet<String>,
) {
    // Every request of the round runs concurrently.
    let mut set: JoinSet<(JoinId, Vec<Vec<String>>, Fetched)> = JoinSet::new();
    /// What a prefix fetch must also mark: the join's key and its full keys.
    type Widened = Option<(JoinId, Vec<Vec<String>>)>;
    type AwsFetch<'f> = std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Vec<(
                        &'static OpSpec,
                        Vec<rulerun_collect_aws::FetchResult>,
                        Widened,
                    )>,
                > + 'f,
        >,
    >;
    // The operations a loaded rule joins on: the only follow-ups started.
    let wanted: HashSet<&'static str> = OPS
        .iter()
        .filter(|o| op_joins(o).any(|j| plan.keyed.contains_key(&j)))
        .map(|o| o.name)
        .collect();
    let wanted = &wanted;
    let mut aws_fetches: Vec<AwsFetch<'_>> = Vec::new();
    for d in demands {
        let join_key = d.join.clone();
        let kind = d.join.kind();
        if !kind.starts_with("k8s/") {
            let (Ok(aws), Some(op)) = (&opts.aws, aws_op(&d.join)) else {
                continue;
            };
            let full: Vec<Vec<String>> = d.keys.iter().cloned().collect();
            let arity = op.arity();
            let (keys, widened) = if arity < d.join.on().len() {
                let mut prefixes: Vec<Vec<String>> = full
                    .iter()
                    .map(|k| k.iter().take(arity).cloned().collect())
                    .collect();
                prefixes.sort();
                prefixes.dedup();
                (prefixes, Some((join_key.clone(), full)))
            } else {
                (full, None)
            };
            aws_fetches.push(Box::pin(async move {
                let (results, follow) = fetch_following(aws, op, &keys, wanted).await;
                let mut done: Vec<_> = follow.into_iter().map(|(s, r)| (s, r, None)).collect();
                done.push((op, results, widened));
                done
            }));
            continue;
        }
        let Some(res) = declare::resource(kind) else {
            continue;
        };
        let keys: Vec<Vec<String>> = d.keys.iter().cloned().collect();
        let k8s = Arc::clone(&opts.k8s);
        let ns = opts.namespace.clone();
        // The collector says how this join's keys are read.
        let fetch = KEYED
            .iter()
            .find(|k| JoinId::new(k.kind, k.on) == d.join)
            .map(|k| k.fetch);
        match fetch {
            Some(KeyedFetch::FieldSelector { field, max, .. }) if keys.len() <= max => {
                for key in keys {
                    let k8s = Arc::clone(&k8s);
                    let ns = ns.clone();
                    let jk = join_key.clone();
                    set.spawn(async move {
                        let value = key.first().map(String::as_str).unwrap_or_default();
                        let selector = format!("{field}={}", declare::field_selector_value(value));
                        let out = k8s.list(res, ns.as_deref(), Some(&selector)).await;
                        (jk, vec![key], into_fetched(out))
                    });
                }
            }
            Some(KeyedFetch::FieldSelector { max_namespaces, .. }) if res.namespaced => {
                let namespaces: Vec<Option<String>> = match &ns {
                    Some(n) => vec![Some(n.clone())],
                    None if d.namespaces.len() <= max_namespaces && !d.namespaces.is_empty() => {
                        d.namespaces.iter().cloned().map(Some).collect()
                    }
                    None => vec![None],
                };
                // Every list carries all the keys: a key counts as fetched once a
                // list succeeded, and as failed if any list failed.
                for n in namespaces {
                    let k8s = Arc::clone(&k8s);
                    let jk = join_key.clone();
                    let carried = keys.clone();
                    set.spawn(async move {
                        let out = k8s.list(res, n.as_deref(), None).await;
                        (jk, carried, into_fetched(out))
                    });
                }
            }
            Some(KeyedFetch::GetByName { max }) if keys.len() <= max => {
                for key in keys {
                    let k8s = Arc::clone(&k8s);
                    let jk = join_key.clone();
                    let ns = ns.clone().filter(|_| res.namespaced);
                    set.spawn(async move {
                        let name = key.first().cloned().unwrap_or_default();
                        let out = k8s
                            .get(res, ns.as_deref(), &name)
                            .await
                            .map(|o| o.into_iter().collect());
                        (jk, vec![key], into_fetched(out))
                    });
                }
            }
            _ => {
                let jk = join_key.clone();
                set.spawn(async move {
                    let out = k8s.list(res, ns.as_deref(), None).await;
                    (jk, keys, into_fetched(out))
                });
            }
        }
    }
    // The Kubernetes reads run on the runtime meanwhile; the AWS operations run
    // together here (each fetches its keys concurrently).
    let fetched = futures_util::future::join_all(aws_fetches).await;
    for (op, results, widened) in fetched.into_iter().flatten() {
        for r in results {
            // A fetch by a prefix answers every full key of the join with that prefix.
            if let Some((join_key, full)) = &widened {
                let state = plan.keyed.entry(join_key.clone()).or_default();
                for k in full.iter().filter(|k| k.starts_with(&r.key)) {
                    match &r.outcome {
                        Ok(_) => {
                            state.fetched.insert(k.clone());
                        }
                        Err(e) => {
                            state.failed.insert(k.clone(), e.inconclusive_reason());
                        }
                    }
                }
            }
            // The operation answers every kind it produces for this key: mark the
            // key for each, so a join on `RepositoryNotFound` is as satisfied as
            // one on `Repository`.
            for join in op_joins(op) {
                let state = plan.keyed.entry(join).or_default();
                match &r.outcome {
                    Ok(_) => {
                        state.fetched.insert(r.key.clone());
                    }
                    Err(e) => {
                        state.failed.insert(r.key.clone(), e.inconclusive_reason());
                    }
                }
            }
            if let Ok(docs) = r.outcome {
                for (kind, doc) in docs {
                    if seen.insert(format!("{kind}|{doc}")) {
                        facts.add(&kind, doc);
                    }
                }
            }
        }
    }
    while let Some(joined) = set.join_next().await {
        let Ok((join_key, keys, fetched)) = joined else {
            continue;
        };
        let state: &mut KeyState = plan.keyed.entry(join_key).or_default();
        match fetched {
            Fetched::Docs(docs) => {
                for doc in docs {
                    let kind = doc_kind(&doc);
                    let id = doc_identity(&kind, &doc);
                    if seen.insert(id) {
                        facts.add(&kind, doc);
                    }
                }
                state.fetched.extend(keys);
            }
            Fetched::Failed(reason) => {
                for k in keys {
                    state.failed.insert(k, reason.clone());
                }
            }
        }
    }
}

/// Levels of follow-ups started from one fetch (node group → role and its
/// policy lists → policy versions is two).
const FOLLOW_UP_DEPTH: usize = 3;

/// Fetches `keys` of `op` and, at once, what a loaded rule joins on and the
/// keys or answers already name ([`rulerun_collect_aws::follow_ups`]): the
/// key-named ones together with `op`, then level by level what the answers
/// name, each level's operations concurrently. Returns `op`'s results and the
/// follow-ups', to be recorded as the round's own.
async fn fetch_following(
    aws: &AwsCollector,
    op: &'static OpSpec,
    keys: &[Vec<String>],
    wanted: &HashSet<&'static str>,
) -> (
    Vec<rulerun_collect_aws::FetchResult>,
    Vec<(&'static OpSpec, Vec<rulerun_collect_aws::FetchResult>)>,
) {
    let mut started: HashSet<(&'static str, Vec<String>)> =
        keys.iter().map(|k| (op.name, k.clone())).collect();
    let unanswered: Vec<rulerun_collect_aws::FetchResult> = keys
        .iter()
        .map(|k| rulerun_collect_aws::FetchResult {
            key: k.clone(),
            outcome: Ok(Vec::new()),
        })
        .collect();
    let companions = next_level(op.name, &unanswered, wanted, &mut started);
    let (results, mut done) =
        futures_util::future::join(aws.fetch(op.name, keys), fetch_level(aws, companions)).await;
    let mut next = next_level(op.name, &results, wanted, &mut started);
    for (spec, r) in &done {
        next.extend(next_level(spec.name, r, wanted, &mut started));
    }
    for _ in 0..FOLLOW_UP_DEPTH {
        if next.is_empty() {
            break;
        }
        let level = fetch_level(aws, next).await;
        next = Vec::new();
        for (spec, r) in &level {
            next.extend(next_level(spec.name, r, wanted, &mut started));
        }
        done.extend(level);
    }
    (results, done)
}

/// Fetches each operation's keys, the operations concurrently.
async fn fetch_level(
    aws: &AwsCollector,
    level: Vec<(&'static OpSpec, Vec<Vec<String>>)>,
) -> Vec<(&'static OpSpec, Vec<rulerun_collect_aws::FetchResult>)> {
    futures_util::future::join_all(level.into_iter().map(|(spec, keys)| async move {
        let r = aws.fetch(spec.name, &keys).await;
        (spec, r)
    }))
    .await
}

/// The follow-ups of `results` of `op` not started yet, by operation.
fn next_level(
    op: &str,
    results: &[rulerun_collect_aws::FetchResult],
    wanted: &HashSet<&'static str>,
    started: &mut HashSet<(&'static str, Vec<String>)>,
) -> Vec<(&'static OpSpec, Vec<Vec<String>>)> {
    let mut by_op: Vec<(&'static OpSpec, Vec<Vec<String>>)> = Vec::new();
    for r in results {
        let Ok(docs) = &r.outcome else { continue };
        for (name, key) in rulerun_collect_aws::follow_ups(op, &r.key, docs) {
            let Some(spec) = OPS.iter().find(|o| o.name == name) else {
                continue;
            };
            if !wanted.contains(name) || !started.insert((name, key.clone())) {
                continue;
            }
            match by_op.iter_mut().find(|(s, _)| s.name == name) {
                Some((_, keys)) => keys.push(key),
                None => by_op.push((spec, vec![key])),
            }
        }
    }
    by_op
}

fn into_fetched(out: Result<Vec<Value>, FetchError>) -> Fetched {
    match out {
        Ok(docs) => Fetched::Docs(docs),
        Err(e) => Fetched::Failed(e.inconclusive_reason()),
    }
}

fn doc_kind(doc: &Value) -> String {
    let av = doc
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("v1");
    let k = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    rulerun_core::facts::k8s_kind(av, k)
}

fn doc_identity(kind: &str, doc: &Value) -> String {
    let uid = doc.pointer("/metadata/uid").and_then(Value::as_str);
    let ns = doc
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    match uid {
        Some(u) => format!("{kind}|{u}"),
        None => format!("{kind}|{ns}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::aws_op;
    use rulerun_collect_aws::OPS;
    use rulerun_collect_k8s::declare::KEYED;
    use rulerun_core::JoinId;
    use rulerun_jsonpath::JsonPath;

    fn op_for(kind: &str, on: &[&str]) -> Option<&'static str> {
        aws_op(&JoinId::new(kind, on)).map(|o| o.name)
    }

    /// The collectors declare the joins they answer in canonical spelling, so
    /// that their messages ("fetches it by [...]") read as rules are compared.
    #[test]
    fn collectors_declare_canonical_paths() {
        let declared = OPS
            .iter()
            .flat_map(|o| o.kinds.iter().flat_map(|(_, paths)| paths.iter()))
            .chain(KEYED.iter().flat_map(|k| k.on.iter()));
        for p in declared {
            let parsed = JsonPath::parse(p).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert_eq!(parsed.canonical(), *p);
        }
    }

    /// A rule may spell a path any way RFC 9535 allows: the join is the same.
    #[test]
    fn joins_are_the_same_however_their_paths_are_spelled() {
        assert_eq!(
            op_for(
                "aws/ecr/Repository",
                &["$['registryId']", "$[\"region\"]", "$[ 'repositoryName' ]"]
            ),
            Some("ecr.repository")
        );
        assert_eq!(
            op_for(
                "aws/ec2/RouteTable",
                &["$['VpcId']", "$.Associations.*.Main"]
            ),
            Some("ec2.main-route-table")
        );
        assert_eq!(
            op_for("aws/ec2/VpcEndpoint", &["$.VpcId", "$['ServiceName']"]),
            Some("ec2.vpc-endpoints")
        );
    }

    #[test]
    fn joins_are_answered_by_their_exact_key_else_by_a_prefix() {
        let repo = ["$.registryId", "$.region", "$.repositoryName"];
        assert_eq!(op_for("aws/ecr/Repository", &repo), Some("ecr.repository"));
        assert_eq!(
            op_for("aws/ecr/Repository", &["$.registryId", "$.region"]),
            Some("ecr.repositories")
        );
        assert_eq!(
            op_for("aws/ecr/Repository", &["$.registryId", "$.repositoryName"]),
            Some("ecr.repository-in-regions")
        );
        // Endpoints are fetched by VPC; a join on VPC and service narrows them.
        assert_eq!(
            op_for("aws/ec2/VpcEndpoint", &["$.VpcId", "$.ServiceName"]),
            Some("ec2.vpc-endpoints")
        );
        assert_eq!(
            op_for("aws/ec2/RouteTable", &["$.VpcId", "$.Associations[*].Main"]),
            Some("ec2.main-route-table")
        );
        // Fargate pods join their profile by the value of their
        // `eks.amazonaws.com/fargate-profile` label.
        assert_eq!(
            op_for("aws/eks/FargateProfile", &["$.fargateProfileName"]),
            Some("eks.fargate-profile")
        );
        assert_eq!(
            op_for("aws/iam/PolicyVersion", &["$.PolicyArn"]),
            Some("iam.policy-version")
        );
        // A key that no operation's key begins: not fetchable.
        assert_eq!(op_for("aws/ec2/VpcEndpoint", &["$.ServiceName"]), None);
        assert_eq!(op_for("aws/ecr/Repository", &["$.region"]), None);
        assert_eq!(op_for("aws/ecr/Nothing", &repo), None);
    }
}
