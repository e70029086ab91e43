//! Live runs against the stand-in Kubernetes API server through the real kube
//! client: what is fetched, how often, and what a 403 does.
//!
//! - `live`: the planner end to end.
//! - `partial`: what cannot be collected makes only the subjects that need it
//!   inconclusive.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod live;
mod partial;
