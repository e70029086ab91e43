//! Data shipped with the crate: the ECR action list (for expanding
//! wildcards such as `ecr:*` or `ecr:Batch*`) and the AWS managed policies
//! that the built-in diagnoses meet (image pulls, the VPC CNI). Live runs
//! should prefer the documents IAM returns; these are the fallback when a
//! snapshot lacks them.

use std::sync::OnceLock;

use serde_json::Value;

const ECR_ACTIONS_JSON: &str = include_str!("../data/ecr_actions.json");

/// Managed policies shipped: (name, document text).
const MANAGED: &[(&str, &str)] = &[
    (
        "AmazonEC2ContainerRegistryReadOnly",
        include_str!("../data/managed_policies/AmazonEC2ContainerRegistryReadOnly.json"),
    ),
    (
        "AmazonEC2ContainerRegistryPullOnly",
        include_str!("../data/managed_policies/AmazonEC2ContainerRegistryPullOnly.json"),
    ),
    (
        "AmazonEC2ContainerRegistryPowerUser",
        include_str!("../data/managed_policies/AmazonEC2ContainerRegistryPowerUser.json"),
    ),
    (
        "AmazonEKS_CNI_Policy",
        include_str!("../data/managed_policies/AmazonEKS_CNI_Policy.json"),
    ),
    (
        "AmazonEKSWorkerNodePolicy",
        include_str!("../data/managed_policies/AmazonEKSWorkerNodePolicy.json"),
    ),
];

/// Actions an image pull needs on the repository (checked against the
/// repository policy). `ecr:GetAuthorizationToken` is also needed but is a
/// registry-level action on `*` that repository policies do not govern.
pub const PULL_ACTIONS: &[&str] = &[
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
];

/// Write and admin actions that a fix must never newly allow.
pub const SENTINEL_ACTIONS: &[&str] = &[
    "ecr:PutImage",
    "ecr:DeleteRepository",
    "ecr:SetRepositoryPolicy",
    "ecr:BatchDeleteImage",
    "ecr:InitiateLayerUpload",
    "ecr:DeleteRepositoryPolicy",
];

/// Every ECR (private registry) IAM action, as `ecr:Name`.
pub fn ecr_actions() -> &'static [&'static str] {
    static ACTIONS: OnceLock<Vec<&'static str>> = OnceLock::new();
    ACTIONS.get_or_init(|| serde_json::from_str(ECR_ACTIONS_JSON).unwrap_or_default())
}

/// Names of the shipped managed policies.
pub fn managed_policy_names() -> impl Iterator<Item = &'static str> {
    MANAGED.iter().map(|(n, _)| *n)
}

/// A shipped AWS managed policy document, by name
/// (`AmazonEC2ContainerRegistryReadOnly`) or ARN
/// (`arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly`, any
/// partition).
pub fn managed_policy(name_or_arn: &str) -> Option<Value> {
    let arn;
    let name = if name_or_arn.starts_with("arn:") {
        arn = crate::arn::parse(name_or_arn).ok()?;
        if (arn.service(), arn.account(), arn.resource_type()) != ("iam", "aws", Some("policy")) {
            return None;
        }
        arn.resource_name()
    } else {
        name_or_arn
    };
    MANAGED
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, text)| serde_json::from_str(text).ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::policy::Policy;

    #[test]
    fn actions_load() {
        let a = ecr_actions();
        assert!(a.len() >= 50);
        assert!(a.contains(&"ecr:BatchGetImage"));
        for s in SENTINEL_ACTIONS.iter().chain(PULL_ACTIONS) {
            assert!(a.contains(s), "{s}");
        }
    }

    #[test]
    fn managed_policies_parse() {
        for n in managed_policy_names() {
            let v = managed_policy(n).unwrap();
            Policy::from_value(&v, n).unwrap();
            assert!(managed_policy(&format!("arn:aws:iam::aws:policy/{n}")).is_some());
        }
        assert!(
            managed_policy("arn:aws:iam::123456789012:policy/AmazonEKSWorkerNodePolicy").is_none()
        );
        assert!(managed_policy("Nope").is_none());
    }
}
