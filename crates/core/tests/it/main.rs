//! The core crate's integration tests, one binary:
//!
//! - `engine`: rules loaded from YAML text evaluated over facts (joins, each, errors).
//! - `filters_with_bindings`: `$name.x` inside filters: evaluation, load errors, projection.
//! - `partial`: live runs with facts missing: only the candidates that need them
//!   are inconclusive.
//! - `parts`: named parts, their expansion, pack scoping and load errors.
//! - `placeholders`: values the user supplies in fix commands.
//! - `projection`: checks over projected facts report exactly as over whole facts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod engine;
mod filters_with_bindings;
mod partial;
mod parts;
mod placeholders;
mod projection;
mod support;
