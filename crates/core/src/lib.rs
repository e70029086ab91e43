//! rulerun's rule engine.
//!
//! Rules (YAML, see `docs/rule-language.md`) select facts — Kubernetes objects and
//! AWS API documents, in the JSON shapes `kubectl` and the AWS CLI print — match
//! them, join them through indexes, compute derived values with registered
//! functions, and emit [`Finding`]s with rendered messages and shell-safe fix
//! commands.
//!
//! This crate does no network I/O and knows nothing of terminals, output formats
//! or exit codes: it reads files it is pointed at and returns values and errors.

pub mod catalog;
pub mod coverage;
pub mod decode;
pub mod docs;
pub mod engine;
pub mod error;
pub mod expr;
pub mod facts;
pub mod finding;
pub mod func;
pub mod join;
pub mod json;
pub mod load;
pub mod parts;
pub mod projection;
pub mod read;
pub mod rule;
pub mod schema;
pub mod template;
pub mod testing;
pub mod warning;
pub mod yaml;

pub use engine::{Demand, Plan, check, check_planned};
pub use error::{LoadError, LoadErrorKind};
pub use facts::FactStore;
pub use finding::{
    ArgvRange, Finding, FixPlaceholder, FixStep, Inconclusive, PlaceholderWhere, Report, Severity,
    Subject, TextRange,
};
pub use join::JoinId;
pub use load::{SourceFile, load_rule_sources, load_rules};
pub use parts::{PackScopes, PartInfo, PartKind, read_pack_tree};
pub use projection::{Projection, parse_fact_text_projected};
pub use rule::{Rule, RuleSet};
pub use warning::Warning;
