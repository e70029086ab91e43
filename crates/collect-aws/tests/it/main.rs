//! Integration tests of the AWS collector.
//!
//! Most run against moto (an AWS API emulator): run them through
//! `scripts/with-moto cargo test -p rulerun-collect-aws`, which starts moto and sets
//! `RULERUN_MOTO_ENDPOINT` and `AWS_ENDPOINT_URL`. Without it they fail (on purpose:
//! a skipped test would hide breakage in CI). Each test seeds its own uniquely named
//! resources, so they run in parallel against one moto.
//!
//! `accounts` reads a second moto account through an assumed role.
//!
//! `faults` runs against small fake HTTP servers instead (timeouts, throttling,
//! access denied as AWS sends them), `eks_standin` against a stand-in for the EKS
//! operations moto lacks (Pod Identity associations, add-ons), and
//! `permissions_doc` checks `docs/permissions.md`; none of them needs moto.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod common;
mod cost;
mod ec2_eks;
mod ecr;
mod eks_standin;
mod fake;
mod faults;
mod iam;
mod permissions_doc;
