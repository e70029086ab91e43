//! Helpers shared by the integration tests.

use rulerun_iam::{Decision, EvalInput, Evaluation, evaluate};
use serde_json::{Value, json};

/// Builds an input from JSON.
pub fn input(v: Value) -> EvalInput {
    serde_json::from_value(v).expect("valid eval input")
}

/// Evaluates JSON input.
pub fn eval(v: Value) -> Evaluation {
    evaluate(&input(v)).expect("evaluation succeeds")
}

/// Evaluates JSON input and returns only the decision.
pub fn decide(v: Value) -> Decision {
    eval(v).decision
}

/// A request JSON with the given principal, action, resource.
pub fn request(principal: &str, action: &str, resource: &str) -> Value {
    json!({"principal": principal, "action": action, "resource": resource})
}

/// Identity policy allowing `actions` on `*`.
pub fn allow_identity(actions: &[&str]) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
}
