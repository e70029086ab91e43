//! The JSONPath crate's integration tests, one binary:
//!
//! - `cts`: the RFC 9535 compliance suite (a copy in `tests/data/conformance/`).
//! - `differential`: direct filter evaluation against `jsonpath-rust`'s.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cts;
mod differential;
