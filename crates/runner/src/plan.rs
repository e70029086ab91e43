use std::collections::HashSet;
use std::sync::Arc;

use rulerun_collect_aws::{AwsCollector, OPS};
use rulerun_collect_k8s::declare::{self, Resource};
use rulerun_collect_k8s::fetch::K8sFetcher;
use rulerun_core::{Demand, FactStore, JoinId, Plan, Report, RuleSet, check_planned};
use rulerun_transport::FetchFailure;
use tokio::task::JoinSet;

use crate::keyed::{AwsKeyed, K8sKeyed, KeyedCollector};

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

/// Collects what `rules` need and evaluates them.
pub async fn run(
    rules: &RuleSet,
    opts: &LiveOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> LiveRun {
    let mut plan = Plan::default();
    let mut facts = FactStore::new();
    let k8s_keyed = K8sKeyed {
        k8s: &opts.k8s,
        namespace: opts.namespace.as_deref(),
    };
    let aws_keyed = AwsKeyed {
        aws: opts.aws.as_ref().ok().map(|a| a.as_ref()),
    };
    let collectors: [&dyn KeyedCollector; 2] = [&k8s_keyed, &aws_keyed];
    let (list, keyed) = classify(rules, &k8s_keyed);
    for join in keyed {
        plan.keyed.entry(join).or_default();
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
            if aws_keyed.answers(&join) {
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
        fetch_demands(&collectors, &demands, &mut plan, &mut facts, &mut seen).await;
    };
    LiveRun {
        facts,
        report,
        rounds,
        k8s_requests: opts.k8s.requests(),
        aws_calls: opts.aws.as_ref().map(|a| a.calls()).unwrap_or_default(),
    }
}

/// Splits the Kubernetes kinds the rules read into listed ones and keyed
/// joins: a kind no rule has as its subject, whose every join the collector
/// answers by key, is read by key; any other is listed.
fn classify(rules: &RuleSet, k8s: &K8sKeyed<'_>) -> (Vec<&'static Resource>, Vec<JoinId>) {
    let mut list = Vec::new();
    let mut keyed = Vec::new();
    for kind in &rules.kinds() {
        let Some(res) = declare::resource(kind) else {
            continue;
        };
        let is_subject = rules.rules.iter().any(|r| &r.subject_kind == kind);
        let joins = rules.joins_of(kind);
        if !is_subject && !joins.is_empty() && joins.iter().all(|j| k8s.answers(j)) {
            keyed.extend(joins);
        } else {
            list.push(res);
        }
    }
    (list, keyed)
}

/// Has every keyed collector read the round's demands, concurrently, and
/// records their answers: keys fetched (with their documents, each added once)
/// or failed (with the reason).
async fn fetch_demands(
    collectors: &[&dyn KeyedCollector],
    demands: &[Demand],
    plan: &mut Plan,
    facts: &mut FactStore,
    seen: &mut HashSet<String>,
) {
    let plan_now: &Plan = plan;
    let answers =
        futures_util::future::join_all(collectors.iter().map(|c| c.fetch(demands, plan_now))).await;
    for answer in answers.into_iter().flatten() {
        let state = plan.keyed.entry(answer.join).or_default();
        match answer.outcome {
            Ok(found) => {
                state.fetched.extend(answer.keys);
                for fact in found {
                    if seen.insert(fact.id) {
                        facts.add(&fact.kind, fact.doc);
                    }
                }
            }
            Err(why) => {
                for k in answer.keys {
                    state.failed.insert(k, why.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use crate::keyed::aws_op;
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
