//! Error type of the crate.

use std::fmt;

use serde::Serialize;

/// Identifies a statement inside a policy: its `Sid` when it has one, and
/// always its zero-based index in the `Statement` array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatementRef {
    /// The statement's `Sid`, if any.
    pub sid: Option<String>,
    /// Zero-based position in the `Statement` array (0 for a single object).
    pub index: usize,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sid {
            Some(sid) if !sid.is_empty() => write!(f, "`{sid}` (index {})", self.index),
            _ => write!(f, "index {}", self.index),
        }
    }
}

/// Everything that can go wrong in this crate. No function of the crate
/// panics; invalid input always ends up here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IamError {
    /// The policy text is not JSON.
    #[error("policy `{policy}` is not valid json: {reason}")]
    InvalidJson {
        /// Name of the policy (from the input, or `policy`).
        policy: String,
        /// The JSON parser's message.
        reason: String,
    },
    /// The policy document as a whole is malformed (top-level elements).
    #[error("policy `{policy}`, element `{element}`: {reason}")]
    InvalidPolicy {
        /// Name of the policy.
        policy: String,
        /// Top-level element at fault (`Version`, `Statement`, ...).
        element: String,
        /// What is wrong.
        reason: String,
    },
    /// One statement of the policy is malformed.
    #[error("policy `{policy}`, statement {statement}, element `{element}`: {reason}")]
    InvalidStatement {
        /// Name of the policy.
        policy: String,
        /// The statement at fault.
        statement: StatementRef,
        /// Element of the statement at fault (`Action`, `Condition`, ...).
        element: String,
        /// What is wrong.
        reason: String,
    },
    /// The request part of the input is malformed.
    #[error("invalid request field `{field}`: {reason}")]
    InvalidRequest {
        /// The field at fault (`principal`, `resource`, `context.aws:SourceIp`, ...).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The evaluation input (outside the request) is malformed.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
}

impl IamError {
    pub(crate) fn stmt(
        policy: &str,
        statement: &StatementRef,
        element: &str,
        reason: impl Into<String>,
    ) -> Self {
        IamError::InvalidStatement {
            policy: policy.to_string(),
            statement: statement.clone(),
            element: element.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn request(field: impl Into<String>, reason: impl Into<String>) -> Self {
        IamError::InvalidRequest {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
