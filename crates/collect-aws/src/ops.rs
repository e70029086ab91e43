//! The fetch operations the planner can call, with the fact kinds each produces,
//! the key paths each kind is joined by, and the IAM actions each needs (from which
//! the least-privilege policy in `docs/permissions.md` is generated).

use std::collections::BTreeSet;

use serde_json::{Value, json};

/// A fetch operation the planner can call: which fact kinds it produces, by which
/// key paths each kind is joined (positionally matching the key values), and the
/// IAM actions it needs (for the generated least-privilege policy in docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpSpec {
    /// The operation's name, e.g. `ecr.repository`.
    pub name: &'static str,
    /// Each fact kind the operation produces, with the JSONPaths of its documents
    /// that hold the key values, in key order.
    pub kinds: &'static [(&'static str, &'static [&'static str])],
    /// The IAM actions the operation calls.
    pub iam_actions: &'static [&'static str],
    /// What the operation reads, for docs and `--help`.
    pub description: &'static str,
}

impl OpSpec {
    /// How many values a key of this operation has.
    pub fn arity(&self) -> usize {
        self.kinds
            .first()
            .map(|(_, paths)| paths.len())
            .unwrap_or(0)
    }
}

const ECR_REPO_KEY: &[&str] = &["$.registryId", "$.region", "$.repositoryName"];

/// Every fetch operation.
pub static OPS: &[OpSpec] = &[
    OpSpec {
        name: "ecr.repository",
        kinds: &[
            ("aws/ecr/Repository", ECR_REPO_KEY),
            ("aws/ecr/RepositoryNotFound", ECR_REPO_KEY),
        ],
        iam_actions: &["ecr:DescribeRepositories"],
        description: "An ECR repository by registry id, region and name (`describe-repositories`); a `RepositoryNotFound` document when it does not exist.",
    },
    OpSpec {
        name: "ecr.repositories",
        kinds: &[("aws/ecr/Repository", &["$.registryId", "$.region"])],
        iam_actions: &["ecr:DescribeRepositories"],
        description: "The repositories of a registry in one region (`describe-repositories`, up to 1,000), for \"did you mean\" when an image names a repository that does not exist; rules ask for it only then.",
    },
    OpSpec {
        name: "ecr.repository-in-regions",
        kinds: &[("aws/ecr/Repository", &["$.registryId", "$.repositoryName"])],
        iam_actions: &["ecr:DescribeRepositories"],
        description: "A repository of that name in each region the estate uses (`describe-repositories` per region: `aws.regions` of rulerun.yaml, else the regions of the run's clusters and of the registries it read), for an image that names the wrong region; rules ask for it only when the repository is missing, and regions that cannot be read are skipped.",
    },
    OpSpec {
        name: "ecr.image",
        kinds: &[
            (
                "aws/ecr/Image",
                &[
                    "$.registryId",
                    "$.region",
                    "$.repositoryName",
                    "$.imageTags[*]",
                ],
            ),
            (
                "aws/ecr/ImageNotFound",
                &[
                    "$.registryId",
                    "$.region",
                    "$.repositoryName",
                    "$.imageId.imageTag",
                ],
            ),
        ],
        iam_actions: &["ecr:DescribeImages"],
        description: "An ECR image by tag (`describe-images`); an `ImageNotFound` document, with up to 20 tags the repository has, when the tag or the repository does not exist.",
    },
    OpSpec {
        name: "ecr.image-digest",
        kinds: &[
            (
                "aws/ecr/Image",
                &[
                    "$.registryId",
                    "$.region",
                    "$.repositoryName",
                    "$.imageDigest",
                ],
            ),
            (
                "aws/ecr/ImageNotFound",
                &[
                    "$.registryId",
                    "$.region",
                    "$.repositoryName",
                    "$.imageId.imageDigest",
                ],
            ),
        ],
        iam_actions: &["ecr:DescribeImages"],
        description: "An ECR image by digest (`describe-images`); an `ImageNotFound` document when the digest or the repository does not exist.",
    },
    OpSpec {
        name: "ecr.repository-policy",
        kinds: &[
            ("aws/ecr/RepositoryPolicy", ECR_REPO_KEY),
            ("aws/ecr/RepositoryNotFound", ECR_REPO_KEY),
        ],
        iam_actions: &["ecr:GetRepositoryPolicy"],
        description: "An ECR repository's policy (`get-repository-policy`), `policyText: null` when it has none; a `RepositoryNotFound` document when the repository does not exist.",
    },
    OpSpec {
        name: "ecr.registry-policy",
        kinds: &[("aws/ecr/RegistryPolicy", &["$.registryId", "$.region"])],
        iam_actions: &["ecr:GetRegistryPolicy", "ecr:DescribeRegistry"],
        description: "An ECR registry's policy (`get-registry-policy`), `policyText: null` when it has none. Only the registry of the account rulerun runs in can be read; another account's is reported as an error naming the account to run in.",
    },
    OpSpec {
        name: "eks.nodegroup",
        kinds: &[("aws/eks/Nodegroup", &["$.nodegroupName"])],
        iam_actions: &["eks:DescribeNodegroup"],
        description: "An EKS managed node group of the cluster (`describe-nodegroup`); the cluster name comes from `--cluster-name` or the kubeconfig's EKS ARN.",
    },
    OpSpec {
        name: "eks.fargate-profile",
        kinds: &[("aws/eks/FargateProfile", &["$.fargateProfileName"])],
        iam_actions: &["eks:DescribeFargateProfile"],
        description: "An EKS Fargate profile of the cluster (`describe-fargate-profile`), whose pod execution role pulls the images of its pods (which carry the label `eks.amazonaws.com/fargate-profile`); nothing when it does not exist. The cluster name comes from `--cluster-name` or the kubeconfig's EKS ARN.",
    },
    OpSpec {
        name: "eks.pod-identity-associations",
        kinds: &[(
            "aws/eks/PodIdentityAssociation",
            &["$.namespace", "$.serviceAccount"],
        )],
        iam_actions: &[
            "eks:ListPodIdentityAssociations",
            "eks:DescribePodIdentityAssociation",
        ],
        description: "The EKS Pod Identity associations of a service account of the cluster (`list-pod-identity-associations` by namespace and service account, then `describe-pod-identity-association` for the role of each), for rules about the IAM role a workload gets its credentials for.",
    },
    OpSpec {
        name: "eks.addon",
        kinds: &[("aws/eks/Addon", &["$.addonName"])],
        iam_actions: &["eks:DescribeAddon"],
        description: "An EKS add-on of the cluster by name (`describe-addon`), with its configuration values and health; nothing when the cluster does not have it installed.",
    },
    OpSpec {
        name: "ec2.instance",
        kinds: &[("aws/ec2/Instance", &["$.InstanceId"])],
        iam_actions: &["ec2:DescribeInstances"],
        description: "EC2 instances by id, up to 1000 in one `describe-instances` call; nothing for an instance that does not exist.",
    },
    OpSpec {
        name: "iam.instance-profile",
        kinds: &[("aws/iam/InstanceProfile", &["$.Arn"])],
        iam_actions: &["iam:GetInstanceProfile"],
        description: "An IAM instance profile by ARN (`get-instance-profile`); nothing when it does not exist.",
    },
    OpSpec {
        name: "iam.role",
        kinds: &[("aws/iam/Role", &["$.Arn"])],
        iam_actions: &["iam:GetRole"],
        description: "An IAM role by ARN (`get-role`), its trust policy decoded; nothing when it does not exist.",
    },
    OpSpec {
        name: "iam.attached-role-policies",
        kinds: &[("aws/iam/AttachedRolePolicies", &["$.RoleName"])],
        iam_actions: &["iam:ListAttachedRolePolicies"],
        description: "The managed policies attached to a role, every page (`list-attached-role-policies`); nothing when the role does not exist.",
    },
    OpSpec {
        name: "iam.role-policies",
        kinds: &[("aws/iam/RolePolicy", &["$.RoleName"])],
        iam_actions: &["iam:ListRolePolicies", "iam:GetRolePolicy"],
        description: "Every inline policy of a role (`list-role-policies`, then `get-role-policy` each), documents decoded.",
    },
    OpSpec {
        name: "iam.policy-version",
        kinds: &[("aws/iam/PolicyVersion", &["$.PolicyArn"])],
        iam_actions: &["iam:GetPolicy", "iam:GetPolicyVersion"],
        description: "The default version of a managed policy (`get-policy`, then `get-policy-version`), document decoded; nothing when the policy does not exist.",
    },
    OpSpec {
        name: "ec2.subnet",
        kinds: &[("aws/ec2/Subnet", &["$.SubnetId"])],
        iam_actions: &["ec2:DescribeSubnets"],
        description: "A subnet by id (`describe-subnets`); nothing when it does not exist.",
    },
    OpSpec {
        name: "ec2.route-tables",
        kinds: &[("aws/ec2/RouteTable", &["$.Associations[*].SubnetId"])],
        iam_actions: &["ec2:DescribeRouteTables", "ec2:DescribeSubnets"],
        description: "The route table of a subnet (`describe-route-tables` filtered by `association.subnet-id`). A subnet without an explicit association uses its VPC's main route table: that table is returned too, though it joins by `$.VpcId` (with `$.Associations[*].Main` true), not by the subnet id.",
    },
    OpSpec {
        name: "ec2.main-route-table",
        kinds: &[("aws/ec2/RouteTable", &["$.VpcId", "$.Associations[*].Main"])],
        iam_actions: &["ec2:DescribeRouteTables"],
        description: "The main route table of a VPC (`describe-route-tables` with `association.main=true`), which subnets without an explicit association use.",
    },
    OpSpec {
        name: "ec2.vpc-subnets",
        kinds: &[("aws/ec2/Subnet", &["$.VpcId"])],
        iam_actions: &["ec2:DescribeSubnets"],
        description: "Every subnet of a VPC (`describe-subnets` filtered by `vpc-id`, every page), with its tags and free addresses, for rules that choose among a VPC's subnets (load balancer discovery, pod addresses).",
    },
    OpSpec {
        name: "ec2.vpc-route-tables",
        kinds: &[("aws/ec2/RouteTable", &["$.VpcId"])],
        iam_actions: &["ec2:DescribeRouteTables"],
        description: "Every route table of a VPC (`describe-route-tables` filtered by `vpc-id`, every page), main table included, for rules that tell a VPC's public subnets from its private ones.",
    },
    OpSpec {
        name: "ec2.security-group",
        kinds: &[("aws/ec2/SecurityGroup", &["$.GroupId"])],
        iam_actions: &["ec2:DescribeSecurityGroups"],
        description: "A security group by id (`describe-security-groups`), with its inbound and outbound rules, for rules that decide what traffic reaches a resource; nothing when it does not exist.",
    },
    OpSpec {
        name: "efs.mount-targets",
        kinds: &[("aws/efs/MountTarget", &["$.FileSystemId"])],
        iam_actions: &[
            "elasticfilesystem:DescribeMountTargets",
            "elasticfilesystem:DescribeMountTargetSecurityGroups",
        ],
        description: "Every mount target of an EFS file system (`describe-mount-targets`, every page), each with its security group ids (`describe-mount-target-security-groups`), for rules about volumes that do not mount; nothing when the file system does not exist.",
    },
    OpSpec {
        name: "ec2.vpc-endpoints",
        kinds: &[("aws/ec2/VpcEndpoint", &["$.VpcId"])],
        iam_actions: &["ec2:DescribeVpcEndpoints"],
        description: "Every VPC endpoint of a VPC (`describe-vpc-endpoints` filtered by `vpc-id`), policy documents as strings.",
    },
];

/// The operation named `name`.
pub fn op(name: &str) -> Option<&'static OpSpec> {
    OPS.iter().find(|o| o.name == name)
}

/// The least-privilege IAM policy rulerun needs for every operation: the sorted,
/// unique, read-only actions of [`OPS`] on every resource.
pub fn iam_policy_document() -> Value {
    let actions: BTreeSet<&str> = OPS
        .iter()
        .flat_map(|o| o.iam_actions.iter().copied())
        .collect();
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "RulerunReadOnly",
            "Effect": "Allow",
            "Action": actions.into_iter().collect::<Vec<_>>(),
            "Resource": "*",
        }]
    })
}

/// The fetches whose keys a fetch's key or answer already tells, and that
/// rules reading the first usually ask for next: the planner starts them at
/// once instead of a round of evaluation later. With `docs` empty, those the
/// key alone tells (a role's attached and inline policy lists, named by the
/// role ARN), which start together with the fetch itself; with its answer,
/// those the answer links to (the role of a node group, whose name is in its
/// role ARN; the versions of attached policies). Only how AWS resources name
/// each other is written here: the planner starts a follow-up only when a
/// loaded rule joins on what it fetches.
pub fn follow_ups(
    op: &str,
    key: &[String],
    docs: &[(String, serde_json::Value)],
) -> Vec<(&'static str, Vec<String>)> {
    let mut out: Vec<(&'static str, Vec<String>)> = Vec::new();
    let doc_of = |kind: &'static str| docs.iter().filter(move |(k, _)| k == kind).map(|(_, d)| d);
    fn role(out: &mut Vec<(&'static str, Vec<String>)>, arn: &str) {
        if let Some(name) = role_name(arn) {
            out.push(("iam.role", vec![arn.to_string()]));
            out.push(("iam.attached-role-policies", vec![name.clone()]));
            out.push(("iam.role-policies", vec![name]));
        }
    }
    match op {
        "iam.role" => {
            if let Some(arn) = key.first() {
                role(&mut out, arn);
                out.retain(|(o, _)| *o != "iam.role");
            }
            for d in doc_of("aws/iam/Role") {
                if let Some(b) = d
                    .pointer("/PermissionsBoundary/PermissionsBoundaryArn")
                    .and_then(serde_json::Value::as_str)
                {
                    out.push(("iam.policy-version", vec![b.to_string()]));
                }
            }
        }
        "eks.nodegroup" => {
            for arn in doc_of("aws/eks/Nodegroup").filter_map(|d| d["nodeRole"].as_str()) {
                role(&mut out, arn);
            }
        }
        "eks.fargate-profile" => {
            for arn in
                doc_of("aws/eks/FargateProfile").filter_map(|d| d["podExecutionRoleArn"].as_str())
            {
                role(&mut out, arn);
            }
        }
        "ec2.instance" => {
            for d in doc_of("aws/ec2/Instance") {
                if let Some(arn) = d
                    .pointer("/IamInstanceProfile/Arn")
                    .and_then(|v| v.as_str())
                {
                    out.push(("iam.instance-profile", vec![arn.to_string()]));
                }
            }
        }
        "iam.instance-profile" => {
            for d in doc_of("aws/iam/InstanceProfile") {
                for arn in d["Roles"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r["Arn"].as_str())
                {
                    role(&mut out, arn);
                }
            }
        }
        "iam.attached-role-policies" => {
            for d in doc_of("aws/iam/AttachedRolePolicies") {
                for arn in d["AttachedPolicies"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["PolicyArn"].as_str())
                {
                    out.push(("iam.policy-version", vec![arn.to_string()]));
                }
            }
        }
        _ => {}
    }
    out
}

/// The name of the role an IAM role ARN names: the last segment of its path
/// (`arn:aws:iam::111122223333:role/path/Name` → `Name`).
fn role_name(arn: &str) -> Option<String> {
    let arn = rulerun_iam::arn::parse(arn).ok()?;
    (arn.is_iam_role() && !arn.resource_name().is_empty()).then(|| arn.resource_name().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn follow_ups_name_what_the_answer_links_to() {
        let ng = serde_json::json!({"nodeRole": "arn:aws:iam::111122223333:role/eks/NodeRole"});
        let got = follow_ups(
            "eks.nodegroup",
            &["default".to_string()],
            &[("aws/eks/Nodegroup".to_string(), ng)],
        );
        let arn = "arn:aws:iam::111122223333:role/eks/NodeRole".to_string();
        assert_eq!(
            got,
            [
                ("iam.role", vec![arn.clone()]),
                ("iam.attached-role-policies", vec!["NodeRole".to_string()]),
                ("iam.role-policies", vec!["NodeRole".to_string()]),
            ]
        );
        // A role's own fetch starts its policy lists and its boundary's version.
        let role = serde_json::json!({"Arn": arn, "PermissionsBoundary": {"PermissionsBoundaryArn": "arn:aws:iam::111122223333:policy/b"}});
        let got = follow_ups(
            "iam.role",
            std::slice::from_ref(&arn),
            &[("aws/iam/Role".into(), role)],
        );
        let ops: Vec<&str> = got.iter().map(|(o, _)| *o).collect();
        assert_eq!(
            ops,
            [
                "iam.attached-role-policies",
                "iam.role-policies",
                "iam.policy-version"
            ]
        );
        // Every follow-up is an operation, keyed as it expects.
        for (op, key) in &got {
            let spec = OPS.iter().find(|o| o.name == *op).unwrap();
            assert_eq!(spec.arity(), key.len(), "{op}");
        }
        // Not a role ARN: nothing to start.
        let bad = serde_json::json!({"nodeRole": "arn:aws:iam::111122223333:user/x"});
        assert!(follow_ups("eks.nodegroup", &[], &[("aws/eks/Nodegroup".into(), bad)]).is_empty());
        // The key alone tells a role's policy lists, before its answer.
        let got = follow_ups("iam.role", std::slice::from_ref(&arn), &[]);
        let ops: Vec<&str> = got.iter().map(|(o, _)| *o).collect();
        assert_eq!(ops, ["iam.attached-role-policies", "iam.role-policies"]);
    }

    #[test]
    fn ops_are_consistent() {
        let mut names = BTreeSet::new();
        for o in OPS {
            assert!(names.insert(o.name), "duplicate op {}", o.name);
            assert!(!o.kinds.is_empty());
            for (kind, paths) in o.kinds {
                assert_eq!(paths.len(), o.arity(), "{} {kind}", o.name);
                assert!(kind.starts_with("aws/"));
                assert!(paths.iter().all(|p| p.starts_with("$.")));
            }
            for a in o.iam_actions {
                let (svc, action) = a.split_once(':').unwrap_or(("", ""));
                assert!(
                    ["ecr", "eks", "ec2", "elasticfilesystem", "iam"].contains(&svc),
                    "{a}"
                );
                // Read-only: no action that could change anything.
                assert!(
                    ["Describe", "Get", "List"]
                        .iter()
                        .any(|p| action.starts_with(p)),
                    "{a} is not read-only"
                );
            }
        }
        assert!(op("ecr.repository").is_some());
        assert!(op("nope").is_none());
    }

    #[test]
    fn the_policy_is_sorted_and_unique() {
        let doc = iam_policy_document();
        let actions: Vec<&str> = doc["Statement"][0]["Action"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut sorted = actions.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(actions, sorted);
        assert!(actions.contains(&"ecr:GetRepositoryPolicy"));
        assert_eq!(doc["Statement"][0]["Resource"], "*");
    }
}
