//! The real kube client against the stand-in API server (`rulerun-kube-stub`),
//! through a generated kubeconfig.
//!
//! - `fetch`: paging, field selectors, GETs, 403s, what is never requested.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fetch;
