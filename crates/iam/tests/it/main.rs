//! Integration tests of `rulerun-iam` (one binary; see the submodules).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod corpus;
mod fixes;
mod golden;
mod props;
mod scenario;
