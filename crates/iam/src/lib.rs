//! IAM policy evaluation.
