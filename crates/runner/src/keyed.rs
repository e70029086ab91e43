//! Reading by key: the one trait through which the planner asks a collector
//! which joins it answers and has it read a round's demanded keys.
//!
//! Each collector declares, as data, the joins it can answer by key: the AWS
//! fetch operations their `kinds` (a kind and the paths its key values are read
//! from), the Kubernetes collector its `KEYED` kinds with how their keys are read
//! (`KeyedFetch`). [`KeyedCollector`] turns those declarations into
//! [`JoinId`]s the engine's demands are compared with, and a round's demands into
//! [`Answer`]s: keys of a join fetched (with the documents read) or failed (with
//! the reason a candidate that needs them is inconclusive). The planner records
//! answers without knowing which collector gave them.

use std::collections::HashSet;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use rulerun_collect_aws::{AwsCollector, FetchResult, OPS, OpSpec};
use rulerun_collect_k8s::declare::{self, KEYED, KeyedFetch};
use rulerun_collect_k8s::fetch::{FetchError, K8sFetcher};
use rulerun_core::{Demand, JoinId, Plan};
use rulerun_transport::FetchFailure;
use serde_json::Value;
use tokio::task::JoinSet;

/// A document read, with its fact kind and an identity that is the same however
/// often it is read (so a document read twice is added once).
pub(crate) struct Fact {
    pub kind: String,
    pub id: String,
    pub doc: Value,
}

/// What one read answered for some keys of a join.
pub(crate) struct Answer {
    pub join: JoinId,
    pub keys: Vec<Vec<String>>,
    /// The documents read (possibly none: the thing does not exist), or why
    /// they could not be read.
    pub outcome: Result<Vec<Fact>, String>,
}

/// A collector that reads some kinds by key.
pub(crate) trait KeyedCollector: Sync {
    /// Whether the collector answers `join` by key.
    fn answers(&self, join: &JoinId) -> bool;

    /// Reads the keys of the `demands` whose joins it answers, concurrently.
    /// `plan` says which joins the loaded rules make (what a read may also start).
    fn fetch<'f>(&'f self, demands: &'f [Demand], plan: &'f Plan) -> BoxFuture<'f, Vec<Answer>>;
}

// ---------------------------------------------------------------------------
// AWS

/// The AWS collector's keyed reads: every AWS fact is read by key.
pub(crate) struct AwsKeyed<'a> {
    /// The collector; `None` when AWS collection is off: it then reads nothing
    /// (the planner has marked the AWS kinds unavailable, so no demand for them
    /// is made), though it still says which joins AWS would answer.
    pub aws: Option<&'a AwsCollector>,
}

/// The joins a fetch operation answers: one per kind it produces, on the
/// paths its key values are read from.
pub(crate) fn op_joins(op: &OpSpec) -> impl Iterator<Item = JoinId> + '_ {
    op.kinds
        .iter()
        .map(|(kind, paths)| JoinId::new(kind, paths))
}

/// The fetch operation that answers a join: one keyed by exactly its paths,
/// else one keyed by a prefix of them (it fetches every document of the prefix,
/// a superset the join's index then narrows: endpoints by VPC for a join on VPC
/// and service name).
pub(crate) fn aws_op(join: &JoinId) -> Option<&'static OpSpec> {
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

impl KeyedCollector for AwsKeyed<'_> {
    fn answers(&self, join: &JoinId) -> bool {
        aws_op(join).is_some()
    }

    fn fetch<'f>(&'f self, demands: &'f [Demand], plan: &'f Plan) -> BoxFuture<'f, Vec<Answer>> {
        Box::pin(async move {
            let Some(aws) = self.aws else {
                return Vec::new();
            };
            // The operations a loaded rule joins on: the only follow-ups started.
            let wanted: HashSet<&'static str> = OPS
                .iter()
                .filter(|o| op_joins(o).any(|j| plan.keyed.contains_key(&j)))
                .map(|o| o.name)
                .collect();
            let wanted = &wanted;
            let reads = demands.iter().filter_map(|d| {
                let op = aws_op(&d.join)?;
                let full: Vec<Vec<String>> = d.keys.iter().cloned().collect();
                let arity = op.arity();
                // A fetch by a prefix answers every full key of the join with it.
                let (keys, widened) = if arity < d.join.on().len() {
                    let mut prefixes: Vec<Vec<String>> = full
                        .iter()
                        .map(|k| k.iter().take(arity).cloned().collect())
                        .collect();
                    prefixes.sort();
                    prefixes.dedup();
                    (prefixes, Some((d.join.clone(), full)))
                } else {
                    (full, None)
                };
                Some(async move {
                    let (results, follow) = fetch_following(aws, op, &keys, wanted).await;
                    let mut answers = Vec::new();
                    for (spec, rs) in follow {
                        answers.extend(rs.into_iter().flat_map(|r| op_answers(spec, r, None)));
                    }
                    for r in results {
                        answers.extend(op_answers(op, r, widened.as_ref()));
                    }
                    answers
                })
            });
            futures_util::future::join_all(reads)
                .await
                .into_iter()
                .flatten()
                .collect()
        })
    }
}

/// The answers of one result of `op`: the key for every kind the operation
/// produces (a join on `RepositoryNotFound` is as satisfied as one on
/// `Repository`), and, for a read by a prefix, every full key of the join with
/// that prefix. The documents go with the first answer.
fn op_answers(
    op: &OpSpec,
    r: FetchResult,
    widened: Option<&(JoinId, Vec<Vec<String>>)>,
) -> Vec<Answer> {
    let outcome = r.outcome.map_err(|e| e.inconclusive_reason());
    let empty = || match &outcome {
        Ok(_) => Ok(Vec::new()),
        Err(why) => Err(why.clone()),
    };
    let mut answers: Vec<Answer> = Vec::new();
    if let Some((join, full)) = widened {
        answers.push(Answer {
            join: join.clone(),
            keys: full
                .iter()
                .filter(|k| k.starts_with(&r.key))
                .cloned()
                .collect(),
            outcome: empty(),
        });
    }
    for join in op_joins(op) {
        answers.push(Answer {
            join,
            keys: vec![r.key.clone()],
            outcome: empty(),
        });
    }
    if let (Some(first), Ok(docs)) = (answers.first_mut(), outcome) {
        first.outcome = Ok(docs
            .into_iter()
            .map(|(kind, doc)| Fact {
                id: format!("{kind}|{doc}"),
                kind,
                doc,
            })
            .collect());
    }
    answers
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
) -> (Vec<FetchResult>, Vec<(&'static OpSpec, Vec<FetchResult>)>) {
    let mut started: HashSet<(&'static str, Vec<String>)> =
        keys.iter().map(|k| (op.name, k.clone())).collect();
    let unanswered: Vec<FetchResult> = keys
        .iter()
        .map(|k| FetchResult {
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
) -> Vec<(&'static OpSpec, Vec<FetchResult>)> {
    futures_util::future::join_all(level.into_iter().map(|(spec, keys)| async move {
        let r = aws.fetch(spec.name, &keys).await;
        (spec, r)
    }))
    .await
}

/// The follow-ups of `results` of `op` not started yet, by operation.
fn next_level(
    op: &str,
    results: &[FetchResult],
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

// ---------------------------------------------------------------------------
// Kubernetes

/// The Kubernetes collector's keyed reads: the kinds of `KEYED`, each read the
/// way it declares.
pub(crate) struct K8sKeyed<'a> {
    pub k8s: &'a Arc<K8sFetcher>,
    /// Only this namespace (`-n`); all when `None`.
    pub namespace: Option<&'a str>,
}

impl KeyedCollector for K8sKeyed<'_> {
    fn answers(&self, join: &JoinId) -> bool {
        KEYED.iter().any(|k| JoinId::new(k.kind, k.on) == *join)
    }

    fn fetch<'f>(&'f self, demands: &'f [Demand], _: &'f Plan) -> BoxFuture<'f, Vec<Answer>> {
        Box::pin(async move {
            // Each read is a task of the runtime: large lists parse on its threads.
            let mut set: JoinSet<Answer> = JoinSet::new();
            for d in demands {
                let Some(spec) = KEYED.iter().find(|k| JoinId::new(k.kind, k.on) == d.join) else {
                    continue;
                };
                let Some(res) = declare::resource(spec.kind) else {
                    continue;
                };
                let keys: Vec<Vec<String>> = d.keys.iter().cloned().collect();
                let ns = self.namespace.map(str::to_string);
                let spawn = |set: &mut JoinSet<Answer>, keys: Vec<Vec<String>>, read| {
                    let join = d.join.clone();
                    set.spawn(async move {
                        let outcome: Result<Vec<Value>, FetchError> = read.await;
                        Answer {
                            join,
                            keys,
                            outcome: outcome
                                .map(|docs| docs.into_iter().map(k8s_fact).collect())
                                .map_err(|e| e.inconclusive_reason()),
                        }
                    });
                };
                match spec.fetch {
                    KeyedFetch::FieldSelector { field, max, .. } if keys.len() <= max => {
                        for key in keys {
                            let value = key.first().map(String::as_str).unwrap_or_default();
                            let selector =
                                format!("{field}={}", declare::field_selector_value(value));
                            let (k8s, ns) = (Arc::clone(self.k8s), ns.clone());
                            let read: BoxFuture<'static, _> = Box::pin(async move {
                                k8s.list(res, ns.as_deref(), Some(&selector)).await
                            });
                            spawn(&mut set, vec![key], read);
                        }
                    }
                    KeyedFetch::FieldSelector { max_namespaces, .. } if res.namespaced => {
                        let namespaces: Vec<Option<String>> = match &ns {
                            Some(n) => vec![Some(n.clone())],
                            None if d.namespaces.len() <= max_namespaces
                                && !d.namespaces.is_empty() =>
                            {
                                d.namespaces.iter().cloned().map(Some).collect()
                            }
                            None => vec![None],
                        };
                        // Every list carries all the keys: a key counts as fetched
                        // once a list succeeded, and as failed if any list failed.
                        for n in namespaces {
                            let k8s = Arc::clone(self.k8s);
                            let read: BoxFuture<'static, _> =
                                Box::pin(async move { k8s.list(res, n.as_deref(), None).await });
                            spawn(&mut set, keys.clone(), read);
                        }
                    }
                    // A namespaced kind is got by name only within the one
                    // namespace of the run (a name is unique only there).
                    KeyedFetch::GetByName { max }
                        if keys.len() <= max && (!res.namespaced || ns.is_some()) =>
                    {
                        for key in keys {
                            let name = key.first().cloned().unwrap_or_default();
                            let ns = ns.clone().filter(|_| res.namespaced);
                            let k8s = Arc::clone(self.k8s);
                            let read: BoxFuture<'static, _> = Box::pin(async move {
                                k8s.get(res, ns.as_deref(), &name)
                                    .await
                                    .map(|o| o.into_iter().collect())
                            });
                            spawn(&mut set, vec![key], read);
                        }
                    }
                    _ => {
                        let k8s = Arc::clone(self.k8s);
                        let read: BoxFuture<'static, _> =
                            Box::pin(async move { k8s.list(res, ns.as_deref(), None).await });
                        spawn(&mut set, keys, read);
                    }
                }
            }
            let mut answers = Vec::new();
            while let Some(joined) = set.join_next().await {
                if let Ok(answer) = joined {
                    answers.push(answer);
                }
            }
            answers
        })
    }
}

/// A Kubernetes object as a fact: its kind from its `apiVersion` and `kind`,
/// its identity its uid (else namespace and name).
fn k8s_fact(doc: Value) -> Fact {
    let kind = doc_kind(&doc);
    Fact {
        id: doc_identity(&kind, &doc),
        kind,
        doc,
    }
}

pub(crate) fn doc_kind(doc: &Value) -> String {
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
