//! Live runs: what the loaded rules need, collected once, concurrently.
//!
//! The planner reads the rules, not the cluster: only kinds some rule reads are
//! fetched. A kind that is a rule's subject, or that is joined on paths no keyed
//! fetch answers, is listed (in the namespace given, or cluster-wide). A kind that
//! rules only join on keys a collector can fetch by key (events by
//! `involvedObject.uid`, nodes by name, the AWS facts) is fetched on demand:
//! [`rulerun_core::check_planned`] evaluates the rules over what is there and
//! returns the keys the joins asked for; the planner fetches those, all at once
//! and concurrently, and evaluates again, until no rule asks for more. Each key is
//! fetched at most once per run.
//!
//! How a keyed kind's keys are read is declared by the Kubernetes collector
//! (`rulerun_collect_k8s::declare::KEYED`, a `KeyedFetch` each): events, at most
//! 10 subjects get one field-selected list each (`involvedObject.uid=UID`), more
//! subjects one list per namespace that holds them, or one cluster-wide list when
//! they span more than 10 namespaces; nodes, at most 10 names get one GET each,
//! more get one list.
//!
//! AWS facts are always fetched by key, through the fetch operations of
//! `rulerun-collect-aws` (a repository policy by registry, region and name; a role
//! by ARN; ...), never by listing a whole account: a join on an AWS kind by other
//! paths is recorded as unanswerable (`Plan::unavailable_joins`), and a rule
//! whose subject is an AWS kind as unlisted (`Plan::unlisted`); the joins on
//! that kind by fetchable keys are still fetched.
//!
//! A read that fails (RBAC 403, IAM AccessDenied, timeout) does not end the run:
//! the kind (`Plan::unavailable`) or key is recorded, and only what needed it
//! comes out `inconclusive`, with the permission that is missing: a rule whose
//! subject kind is missing, as a whole; otherwise each subject (and `each`
//! element) that reaches a join on the missing kind or key, while the subjects
//! that never reach it are decided as usual. A healthy cluster checked with AWS
//! off (`--no-aws`) is conclusive: no pod needs an AWS fact. Nothing is demanded,
//! so nothing is fetched, for a kind that is missing.

mod keyed;
mod plan;

pub use plan::{LiveOptions, LiveRun, Progress, run};
