//! The `arn` rule function: parses an Amazon Resource Name into partition,
//! service, region, account and resource, splitting the resource per service
//! (IAM paths, STS sessions).
//!
//! The ARN type and its parser are `rulerun-iam`'s ([`rulerun_iam::arn`], the
//! one ARN type of the workspace), re-exported here; the function registry
//! serializes a parsed [`Arn`] for rules. [`DOCS`] is the rule-author
//! reference: fields, how each kind of resource splits, and an example.

pub use rulerun_iam::arn::{
    Arn, ArnError, ArnErrorKind, IAM_PATH_TYPES, PARTITIONS, parse, role_arn_from_session,
};

/// Rule-author reference for this function (Markdown), shown in
/// `docs/functions.md` under its signature and summary.
pub const DOCS: &str = r#"`arn(arn)` takes an ARN, such as the IAM role in a service account's
`eks.amazonaws.com/role-arn` annotation, the caller identity from STS, or an
ECR repository ARN from an IAM policy, and splits it into its parts:
`arn:<partition>:<service>:<region>:<account>:<resource>`:

```yaml
let:
  role: {call: arn, args: [$roleArn]}
```

and in templates `{{ arn(roleArn).resourceName }}`.

An input that is not a well-formed ARN makes the function fail with a
message such as ``invalid ARN `arn:aws:iam::12345:role/x`: account `12345`
must be 12 digits``.

**Fields.**

| field | type | meaning |
| --- | --- | --- |
| `original` | string | the argument, unchanged |
| `partition` | string | `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, `aws-iso-b`, `aws-iso-e`, `aws-iso-f` or `aws-eusc` |
| `service` | string | service namespace: `iam`, `sts`, `ecr`, `eks`, `s3`, … |
| `region` | string | region; empty for global services such as IAM, STS and S3 buckets |
| `account` | string | 12-digit account ID; `aws` for AWS managed policies; empty for S3 buckets and the like |
| `resource` | string | everything after the account, unchanged |
| `resourceType` | string or null | the part of `resource` before the first `/` or `:` (`role`, `assumed-role`, `repository`, `cluster`); null when there is none (`root`, S3 buckets, SNS topics) |
| `resourceName` | string | the name, see below |
| `path` | string or null | IAM path for the IAM types that have one (`/` when none is written); null otherwise |
| `session` | string or null | role session name of an STS `assumed-role` ARN |

How `resource` splits depends on the service and type:

- IAM `role`, `user`, `group`, `instance-profile`, `policy`,
  `server-certificate` and `mfa` have a path: in
  `arn:aws:iam::123456789012:role/path/to/Name` the name is `Name` (the
  last segment) and the path `/path/to/`;
- STS `assumed-role/<role>/<session>`: the name is the role name and
  `session` the session name; the role's path is not part of this ARN;
- every other type keeps the whole remainder as its name:
  `arn:aws:ecr:us-west-2:123456789012:repository/team/app` has name
  `team/app`, `arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC`
  has name `oidc.eks.us-west-2.amazonaws.com/id/ABC`;
- a resource without `/` or `:` (the account root `root`, an SNS topic)
  and S3 bucket and object ARNs (`arn:aws:s3:::bucket/key`) have no type:
  the name is the whole resource.

**Example.**

`arn("arn:aws:sts::123456789012:assumed-role/eks-node-role/i-0abc")`
returns

```json
{
  "original": "arn:aws:sts::123456789012:assumed-role/eks-node-role/i-0abc",
  "partition": "aws",
  "service": "sts",
  "region": "",
  "account": "123456789012",
  "resource": "assumed-role/eks-node-role/i-0abc",
  "resourceType": "assumed-role",
  "resourceName": "eks-node-role",
  "path": null,
  "session": "i-0abc"
}
```

and `arn("arn:aws:iam::123456789012:role/service/NodeRole")` has
`resourceType` `role`, `resourceName` `NodeRole` and `path` `/service/`.
"#;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Arn {
        match parse(s) {
            Ok(a) => a,
            Err(e) => unreachable!("`{s}` should parse: {e}"),
        }
    }

    fn err(s: &str) -> ArnError {
        match parse(s) {
            Ok(a) => unreachable!("`{s}` should fail, got {a:?}"),
            Err(e) => e,
        }
    }

    /// (type, name, path, session)
    fn split(a: &Arn) -> (Option<&str>, &str, Option<&str>, Option<&str>) {
        (a.resource_type(), a.resource_name(), a.path(), a.session())
    }

    /// The first JSON code block of [`DOCS`], parsed.
    fn docs_json_example() -> serde_json::Value {
        let start = DOCS.find("```json\n").unwrap() + "```json\n".len();
        let len = DOCS[start..].find("```").unwrap();
        serde_json::from_str(&DOCS[start..start + len]).unwrap()
    }

    #[test]
    fn docs_example_is_accurate() {
        let example = docs_json_example();
        let input = example["original"].as_str().unwrap();
        assert!(DOCS.contains(&format!("`arn(\"{input}\")`")));
        assert_eq!(serde_json::to_value(ok(input)).unwrap(), example);
        let a = ok("arn:aws:iam::123456789012:role/service/NodeRole");
        assert_eq!(
            split(&a),
            (Some("role"), "NodeRole", Some("/service/"), None)
        );
        let msg = err("arn:aws:iam::12345:role/x").to_string();
        assert_eq!(
            msg,
            "invalid ARN `arn:aws:iam::12345:role/x`: account `12345` must be 12 digits"
        );
        // the docs wrap the message over two lines
        let flat = DOCS.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(&format!("``{msg}``")));
    }
}
