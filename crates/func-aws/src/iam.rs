//! IAM functions: rules ask the `rulerun-iam` evaluator whether a principal may
//! perform an action, why, and how to fix a resource policy with least privilege.

use serde_json::Value;

use rulerun_func::{FuncError, type_name};

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
makes the call fail with a message naming the statement and element.

For an `ExplicitlyDenied` decision, `explanation.perimeter` lists the conditions of
the deciding `Deny` statements on data-perimeter keys (`aws:SourceVpce`,
`aws:SourceVpc`, `aws:SourceIp`, `aws:VpcSourceIp`, `aws:PrincipalOrgID`,
`aws:PrincipalOrgPaths`, `aws:PrincipalAccount`, `aws:PrincipalTag/...`, with any
operator including `...IfExists`); it is `[]` otherwise:

```json
{"statement": "DenyOutsideVpce", "policyType": "resource", "policyName": "app",
 "key": "aws:SourceVpce", "operator": "StringNotEquals", "values": ["vpce-0abc"],
 "requestValue": null,
 "needs": "the request must come through VPC endpoint `vpce-0abc`"}
```

`statement` is the `Sid`, else `#INDEX`; `requestValue` is the request's value (a
string, an array for several) or `null` when the request does not carry the key.
Conditions of one statement are ANDed, so meeting any one `needs` of a statement
lifts that statement's deny. `explanation.perimeterOnly` is `true` when every
deciding `Deny` has conditions and all of them are perimeter conditions: the deny is
a data perimeter doing its job, not a mistake in the policy."#;

pub(super) const FIX_DOCS: &str = r#"`iam_fix(input, required_actions)` rewrites the request's resource policy so
that the principal may perform exactly `required_actions` (concrete actions such as
`ecr:BatchGetImage`), with least privilege: blocking `Deny` statements are narrowed
(wildcards expanded into the explicit action list minus the required ones), never
flipped to `Allow`; perimeter denies are narrowed by principal; an `Allow` for
exactly those actions to exactly that principal is added only where no other grant
exists; statements it does not touch stay exactly as given. It then re-evaluates
every ECR action. The result:
`{"policy", "deletePolicy": bool, "changes": [...], "proof": [{"action", "before",
"after", "required"}], "newlyAllowed": [...], "proven": bool, "unresolved": [...]}`;
`proven` is true only when every required action is `Allowed` and no other action
became allowed. When the fix leaves no statement at all, ECR would reject the empty
policy: `deletePolicy` is then `true` and `policy` is `null` (emit
`aws ecr delete-repository-policy` instead of `set-repository-policy`), and the proof
is computed with no repository policy."#;

pub(super) const MANAGED_DOCS: &str = r#"`iam_managed_policy(name_or_arn)` returns the policy document of an AWS managed
policy rulerun ships (`AmazonEC2ContainerRegistryReadOnly`, `...PullOnly`,
`...PowerUser`, `AmazonEKSWorkerNodePolicy`), by name or ARN, or `null`. Live
collection prefers what IAM returns; snapshots that list attached managed policies
without their documents fall back to these."#;

pub(super) const IDENTITY_DOCS: &str = r#"`iam_identity_policies(attached, versions, inline)` assembles a role's
identity-based policies, as `iam_evaluate` takes them, from IAM facts:

- `attached`: the role's managed policies, `aws iam list-attached-role-policies`
  items (`{"PolicyName", "PolicyArn"}`);
- `versions`: `aws/iam/PolicyVersion` facts (`aws iam get-policy-version`'s
  `PolicyVersion` plus `PolicyArn`), the documents of those policies;
- `inline`: `aws/iam/RolePolicy` facts (`aws iam get-role-policy` output,
  `{"RoleName", "PolicyName", "PolicyDocument"}`).

It returns `{"policies": [{"name", "arn"?, "document"?}...], "missing": [ARN...]}`.
An attached policy whose version document is absent falls back to the AWS managed
policy rulerun ships (no `document`: `iam_evaluate` looks it up); one that is
neither collected nor shipped is listed in `missing`, so a rule can report that it
cannot decide instead of deciding on partial policies."#;

pub(super) fn identity_policies(args: &[Value]) -> Result<Value, FuncError> {
    let list = |i: usize| -> Result<Vec<&Value>, FuncError> {
        match args.get(i) {
            Some(Value::Array(items)) => Ok(items.iter().collect()),
            Some(Value::Null) | None => Ok(Vec::new()),
            Some(other) => Err(FuncError(format!(
                "iam_identity_policies: argument {} must be an array, found {}",
                i + 1,
                type_name(other)
            ))),
        }
    };
    let attached = list(0)?;
    let versions = list(1)?;
    let inline = list(2)?;
    let mut policies = Vec::new();
    let mut missing = Vec::new();
    for a in attached {
        let Some(arn) = a.get("PolicyArn").and_then(Value::as_str) else {
            continue;
        };
        let name = a.get("PolicyName").cloned().unwrap_or(Value::Null);
        let version = versions
            .iter()
            .filter(|v| v.get("PolicyArn").and_then(Value::as_str) == Some(arn))
            .find(|v| {
                v.get("IsDefaultVersion")
                    .and_then(Value::as_bool)
                    .unwrap_or(true)
            });
        match version.and_then(|v| v.get("Document")) {
            Some(doc) => {
                policies.push(serde_json::json!({"name": name, "arn": arn, "document": doc}))
            }
            None if rulerun_iam::data::managed_policy(arn).is_some() => {
                policies.push(serde_json::json!({"name": name, "arn": arn}));
            }
            None => missing.push(Value::String(arn.to_string())),
        }
    }
    for p in inline {
        if let Some(doc) = p.get("PolicyDocument") {
            let name = p.get("PolicyName").cloned().unwrap_or(Value::Null);
            policies.push(serde_json::json!({"name": name, "document": doc}));
        }
    }
    Ok(serde_json::json!({"policies": policies, "missing": missing}))
}

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
    fn evaluate_reports_perimeter_fields() {
        let v = evaluate(&[scenario()]).unwrap();
        assert_eq!(v["explanation"]["perimeter"], json!([]));
        assert_eq!(v["explanation"]["perimeterOnly"], false);
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
    fn fix_that_leaves_no_statement_deletes_the_policy() {
        let mut input = scenario();
        input["resourcePolicy"]["document"] = json!({"Version": "2012-10-17", "Statement": [{"Sid": "NoPull", "Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::1234567890:role/EksNodeGroupRole"}, "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]});
        let v = fix(&[
            input,
            json!(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]),
        ])
        .unwrap();
        assert_eq!(v["proven"], true);
        assert_eq!(v["deletePolicy"], true);
        assert_eq!(v["policy"], Value::Null);
        let narrowed = fix(&[scenario(), json!(["ecr:BatchGetImage"])]).unwrap();
        assert_eq!(narrowed["deletePolicy"], false);
    }

    #[test]
    fn identity_policies_prefer_collected_documents_and_fall_back_to_shipped_ones() {
        let attached = json!([
            {"PolicyName": "Custom", "PolicyArn": "arn:aws:iam::1234567890:policy/Custom"},
            {"PolicyName": "AmazonEC2ContainerRegistryReadOnly", "PolicyArn": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"},
            {"PolicyName": "Unknown", "PolicyArn": "arn:aws:iam::1234567890:policy/Unknown"}
        ]);
        let versions = json!([{"PolicyArn": "arn:aws:iam::1234567890:policy/Custom", "VersionId": "v2", "IsDefaultVersion": true, "Document": {"Statement": []}}]);
        let inline =
            json!([{"RoleName": "r", "PolicyName": "inline", "PolicyDocument": {"Statement": []}}]);
        let v = identity_policies(&[attached, versions, inline]).unwrap();
        assert_eq!(v["policies"].as_array().unwrap().len(), 3);
        assert_eq!(v["policies"][0]["document"], json!({"Statement": []}));
        assert!(v["policies"][1].get("document").is_none());
        assert_eq!(v["policies"][2]["name"], "inline");
        assert_eq!(
            v["missing"],
            json!(["arn:aws:iam::1234567890:policy/Unknown"])
        );
        assert!(identity_policies(&[json!(1)]).is_err());
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
