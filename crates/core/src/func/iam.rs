//! IAM functions: rules ask the `rulerun-iam` evaluator whether a principal may
//! perform an action, why, and how to fix a resource policy with least privilege.

use serde_json::Value;

use super::{FuncError, type_name};

pub(super) const EVALUATE_DOCS: &str = r#"`iam_evaluate(input)` decides an IAM request the way AWS does and explains the
decision. `input` is the JSON contract of `rulerun iam eval`:

```yaml
let:
  pull:
    call: iam_evaluate
    args:
      - request:
          principal: $role.Arn
          action: ecr:BatchGetImage
          resource: $repo.repositoryArn
        identityPolicies: "$policies[*]"
        resourcePolicy: {name: $repo.repositoryName, document: $policy.policyText}
when: {path: $pull.decision, equals: ExplicitlyDenied}
```

The result is `{"decision": "Allowed|ImplicitlyDenied|ExplicitlyDenied|Unknown",
"explanation": {...}}`; the explanation names the deciding statements (policy type
and name, `sid`, `index`), how principal, action, resource and each condition
matched, the missing grant, `awsMessage` (the error AWS itself returns) and, for
`Unknown`, the context keys the decision depends on. An invalid policy document
makes the call fail with a message naming the statement and element."#;

pub(super) const FIX_DOCS: &str = r#"`iam_fix(input, required_actions)` rewrites the request's resource policy so
that the principal may perform exactly `required_actions` (concrete actions such as
`ecr:BatchGetImage`), with least privilege: blocking `Deny` statements are narrowed
(wildcards expanded into the explicit action list minus the required ones), never
flipped to `Allow`; perimeter denies are narrowed by principal; an `Allow` for
exactly those actions to exactly that principal is added only where no other grant
exists. It then re-evaluates every ECR action. The result:
`{"policy", "changes": [...], "proof": [{"action", "before", "after", "required"}],
"newlyAllowed": [...], "proven": bool, "unresolved": [...]}`; `proven` is true only
when every required action is `Allowed` and no other action became allowed."#;

pub(super) const MANAGED_DOCS: &str = r#"`iam_managed_policy(name_or_arn)` returns the policy document of an AWS managed
policy rulerun ships (`AmazonEC2ContainerRegistryReadOnly`, `...PullOnly`,
`...PowerUser`, `AmazonEKSWorkerNodePolicy`), by name or ARN, or `null`. Live
collection prefers what IAM returns; snapshots that list attached managed policies
without their documents fall back to these."#;

pub(super) fn evaluate(args: &[Value]) -> Result<Value, FuncError> {
    let input = parse_input(args.first(), "iam_evaluate")?;
    let evaluation = rulerun_iam::evaluate(&input).map_err(FuncError::new)?;
    serde_json::to_value(evaluation).map_err(FuncError::new)
}

pub(super) fn fix(args: &[Value]) -> Result<Value, FuncError> {
    let input = parse_input(args.first(), "iam_fix")?;
    let required: Vec<String> = match args.get(1) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    FuncError(format!(
                        "iam_fix: required actions must be strings, found {}",
                        type_name(v)
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        Some(Value::String(s)) => vec![s.clone()],
        Some(other) => {
            return Err(FuncError(format!(
                "iam_fix: argument 2 must be a list of actions, found {}",
                type_name(other)
            )));
        }
        None => Vec::new(),
    };
    let outcome = rulerun_iam::fix_resource_policy(&input, &required).map_err(FuncError::new)?;
    serde_json::to_value(outcome).map_err(FuncError::new)
}

pub(super) fn managed_policy(args: &[Value]) -> Result<Value, FuncError> {
    match args.first() {
        Some(Value::String(s)) => Ok(rulerun_iam::data::managed_policy(s).unwrap_or(Value::Null)),
        Some(other) => Err(FuncError(format!(
            "iam_managed_policy: argument 1 must be a string, found {}",
            type_name(other)
        ))),
        None => Err(FuncError("iam_managed_policy: missing argument 1".into())),
    }
}

fn parse_input(v: Option<&Value>, fname: &str) -> Result<rulerun_iam::EvalInput, FuncError> {
    let v = v.ok_or_else(|| FuncError(format!("{fname}: missing argument 1")))?;
    serde_json::from_value(v.clone()).map_err(|e| FuncError(format!("{fname}: invalid input: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn scenario() -> Value {
        json!({
            "request": {
                "principal": "arn:aws:sts::1234567890:assumed-role/EksNodeGroupRole/i-0abc",
                "action": "ecr:BatchGetImage",
                "resource": "arn:aws:ecr:us-west-2:1234567890:repository/retail-sample-app-ui"
            },
            "identityPolicies": [{"name": "AmazonEC2ContainerRegistryReadOnly"}],
            "resourcePolicy": {"name": "retail-sample-app-ui", "document": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"new policy\",\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"arn:aws:iam::1234567890:role/EksNodeGroupRole\"},\"Action\":[\"ecr:PutImage\",\"ecr:BatchGetImage\",\"ecr:GetDownloadUrlForLayer\"]}]}"}
        })
    }

    #[test]
    fn evaluate_finds_the_explicit_deny() {
        let v = evaluate(&[scenario()]).unwrap();
        assert_eq!(v["decision"], "ExplicitlyDenied");
        assert_eq!(
            v["explanation"]["decidingStatements"][0]["sid"],
            "new policy"
        );
        assert!(evaluate(&[json!({"request": 1})]).is_err());
    }

    #[test]
    fn fix_narrows_the_deny_and_proves_it() {
        let v = fix(&[
            scenario(),
            json!(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]),
        ])
        .unwrap();
        assert_eq!(v["proven"], true);
        assert_eq!(v["policy"]["Statement"][0]["Effect"], "Deny");
        assert_eq!(
            v["policy"]["Statement"][0]["Action"],
            json!(["ecr:PutImage"])
        );
    }

    #[test]
    fn managed_policies_are_shipped() {
        let v = managed_policy(&[json!("AmazonEC2ContainerRegistryReadOnly")]).unwrap();
        assert!(v["Statement"].is_array());
        assert_eq!(
            managed_policy(&[json!("NoSuchPolicy")]).unwrap(),
            Value::Null
        );
    }
}
