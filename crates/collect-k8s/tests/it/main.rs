//! The real kube client against the stand-in API server (`rulerun-kube-stub`),
//! through a generated kubeconfig.
//!
//! - `deploy`: the kustomize base in `deploy/` parses strictly as Kubernetes objects; its
//!   ClusterRoles are the generated ones; the CronJob is locked down.
//! - `fetch`: paging, field selectors, GETs, 403s, what is never requested.
//! - `hostile`: misbehaving servers (endless or repeated `continue` tokens, huge
//!   bodies, malformed lists) and no server at all (refused, TLS mismatches).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod deploy;
mod fetch;
mod hostile;
