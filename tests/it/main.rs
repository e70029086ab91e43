//! Cross-crate tests, one binary:
//!
//! - `support`: running the CLI in-process and paths of the repository.
//! - `cli`: `rulerun` commands end to end: exit codes, output formats, errors.
//! - `rule_packs`: every rule test under `rules/` passes, and the packs' layout.
//! - `coverage`: `rulerun test` reports what the cases did not exercise; packs that
//!   require a must-not-fire case per rule.
//! - `docs`: examples in docs load and behave as shown.
//! - `live`: `check` and `collect` against the stand-in Kubernetes API server.
//! - `fleet`: `check --context A --context B` and `--all-contexts` against two stand-in
//!   clusters: each entry with its cluster, text grouped by cluster, an unreachable
//!   cluster reported while the others are checked, the fleet's exit code.
//! - `report_to_cluster`: `check --report-to-cluster` applies, updates and prunes rulerun's
//!   reports in the stand-in cluster; without the CRD it fails after printing the findings.
//! - `generated`: pages generated from rules and code (`docs/rules/`, `docs/functions.md`) are fresh.
//! - `schema`: the JSON Schemas in `docs/schema/` are fresh and agree with the loaders.
//! - `packs`: `rulerun.yaml`, rule packs, vendoring from git and folders, `rulerun.lock`.
//! - `placeholders`: fix commands with placeholders run as pasted (unedited: nothing runs).
//! - `tutorial`: docs/writing-rules.md, replayed command by command.
//! - `e2e`: the reference scenario against the stand-in cluster and moto: diagnosis,
//!   collected shapes, the fix run with the AWS CLI, the check after it, AccessDenied.
//! - `cross_account`: a registry in another account, read through an assumed role (moto with
//!   two accounts): the finding with both sides, each fix run in its account, no role, a denied role.
//! - `matrix`: every image-pull cause on every compute type (managed node group, self-managed,
//!   Karpenter, Fargate) and container kind, against the stand-in cluster and moto.
//! - `examples`: each `examples/RULE` snapshot gets exactly the finding of RULE.
//! - `exclusive`: one cause per failing container, over every rule test's facts with every rule.
//! - `aws_proxy`: an AWS endpoint in front of moto (HTTPS, fault injection, call log).
//! - `hostile_facts`: fact files read honestly: limits on bytes read (pipes, FIFOs, devices),
//!   links in folders, duplicate JSON keys, numbers out of range, deep nesting.
//! - `hostile_engine`: the engine's own work bounded on hostile input: JSONPath node budgets
//!   (`query`, rules, joins), `match()` patterns within the `regex:` limits, template values.
//! - `hostile_text`: text output and file names that hostile facts or files cannot forge
//!   (newlines, controls, bidi and zero-width characters shown escaped; JSON raw).
//! - `hostile_live`: live collection against a misbehaving stand-in API server (endless or
//!   repeated `continue` tokens, oversized bodies, malformed lists) and an unreachable one:
//!   inconclusive with the limit and the flag to raise it, bodies never read past the limit.
//! - `hostile_partial`: with AWS off, only the subjects that needed AWS facts are
//!   inconclusive; a healthy cluster is conclusive.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/aws_cli.rs"]
mod aws_cli;
mod aws_proxy;
mod catalog;
mod cli;
mod coverage;
mod cross_account;
mod docs;
mod e2e;
mod examples;
mod exclusive;
mod fleet;
mod generated;
mod hostile_engine;
mod hostile_facts;
mod hostile_live;
mod hostile_partial;
mod hostile_text;
mod live;
mod matrix;
mod packs;
mod placeholders;
mod report_to_cluster;
mod reports;
mod round_trips;
mod rule_packs;
mod schema;
mod support;
mod tutorial;
