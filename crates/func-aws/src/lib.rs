//! The AWS-aware rule functions: `image_ref` (container image references,
//! Amazon ECR registries), `arn` (Amazon Resource Names) and the IAM glue
//! (`iam_evaluate`, `iam_fix`, `iam_identity_policies`, `iam_managed_policy`)
//! over the `rulerun-iam` evaluator. The engine calls them only through its
//! function registry (`rulerun_core::func`), which lists [`FUNCTIONS`].

pub mod arn;
mod iam;
pub mod image_ref;

use rulerun_func::{FuncError, Function, string_arg};
use serde_json::Value;

/// The AWS-aware functions, in documentation order.
pub static FUNCTIONS: &[Function] = &[
    Function {
        name: "image_ref",
        signature: "image_ref(image: string) -> object",
        summary: "Parses a container image reference as the container runtime does.",
        docs: image_ref::DOCS,
        min_args: 1,
        max_args: 1,
        call: call_image_ref,
        compiled: None,
    },
    Function {
        name: "arn",
        signature: "arn(arn: string) -> object",
        summary: "Parses an Amazon Resource Name.",
        docs: arn::DOCS,
        min_args: 1,
        max_args: 1,
        call: call_arn,
        compiled: None,
    },
    Function {
        name: "iam_identity_policies",
        signature: "iam_identity_policies(attached: array, versions: array, inline: array) -> object",
        summary: "Assembles a role's identity policies from IAM facts, falling back to shipped managed policies.",
        docs: iam::IDENTITY_DOCS,
        min_args: 3,
        max_args: 3,
        call: iam::identity_policies,
        compiled: None,
    },
    Function {
        name: "iam_evaluate",
        signature: "iam_evaluate(input: object) -> object",
        summary: "Decides an IAM request against identity, resource and boundary policies, with an explanation.",
        docs: iam::EVALUATE_DOCS,
        min_args: 1,
        max_args: 1,
        call: iam::evaluate,
        compiled: None,
    },
    Function {
        name: "iam_fix",
        signature: "iam_fix(input: object, required_actions: array) -> object",
        summary: "A least-privilege rewrite of the resource policy that lets the principal perform exactly the required actions, with proof.",
        docs: iam::FIX_DOCS,
        min_args: 2,
        max_args: 2,
        call: iam::fix,
        compiled: None,
    },
    Function {
        name: "iam_managed_policy",
        signature: "iam_managed_policy(name_or_arn: string) -> object | null",
        summary: "The document of an AWS managed policy rulerun ships, or null.",
        docs: iam::MANAGED_DOCS,
        min_args: 1,
        max_args: 1,
        call: iam::managed_policy,
        compiled: None,
    },
];

fn call_image_ref(args: &[Value]) -> Result<Value, FuncError> {
    let s = string_arg(args, 0, "image_ref")?;
    let parsed = image_ref::parse(s).map_err(FuncError::new)?;
    serde_json::to_value(parsed).map_err(FuncError::new)
}

fn call_arn(args: &[Value]) -> Result<Value, FuncError> {
    let s = string_arg(args, 0, "arn")?;
    let parsed = arn::parse(s).map_err(FuncError::new)?;
    serde_json::to_value(parsed).map_err(FuncError::new)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn lookup(name: &str) -> Option<&'static Function> {
        FUNCTIONS.iter().find(|f| f.name == name)
    }

    #[test]
    fn image_ref_entry_parses_ecr_images() {
        let v = (lookup("image_ref").unwrap().call)(&[json!(
            "1234567890.dkr.ecr.us-west-2.amazonaws.com/retail-sample-app-ui:1.2.1"
        )])
        .unwrap();
        assert_eq!(v["ecr"]["account"], "1234567890");
        assert_eq!(v["ecr"]["region"], "us-west-2");
        assert_eq!(v["repository"], "retail-sample-app-ui");
        assert_eq!(v["tag"], "1.2.1");
        assert!((lookup("image_ref").unwrap().call)(&[json!(3)]).is_err());
        assert!((lookup("image_ref").unwrap().call)(&[json!("Foo:bar")]).is_err());
    }

    #[test]
    fn arn_entry_parses_role_paths() {
        let v =
            (lookup("arn").unwrap().call)(&[json!("arn:aws:iam::123456789012:role/eks/NodeRole")])
                .unwrap();
        assert_eq!(v["resourceType"], "role");
        assert_eq!(v["resourceName"], "NodeRole");
        assert_eq!(v["path"], "/eks/");
        assert!((lookup("arn").unwrap().call)(&[json!("not-an-arn")]).is_err());
    }
}
