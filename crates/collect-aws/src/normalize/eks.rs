//! Amazon EKS documents, camelCase as `aws eks ... --output json` prints them.

use aws_sdk_eks::types::{Addon, FargateProfile, Nodegroup, PodIdentityAssociation};
use serde_json::Value;

use super::Obj;

/// One health issue of a node group, Fargate profile or add-on (`{code, message,
/// resourceIds}`; their issue types differ only in the codes).
fn issue(
    code: Option<&str>,
    message: Option<&String>,
    resource_ids: Option<&Vec<String>>,
) -> Value {
    Obj::new()
        .s("code", code)
        .s("message", message)
        .strs("resourceIds", resource_ids)
        .done()
}

/// An `aws/eks/Nodegroup` document: `describe-nodegroup` `.nodegroup`.
pub fn nodegroup(n: &Nodegroup) -> Value {
    Obj::new()
        .s("nodegroupName", n.nodegroup_name.as_ref())
        .s("nodegroupArn", n.nodegroup_arn.as_ref())
        .s("clusterName", n.cluster_name.as_ref())
        .s("version", n.version.as_ref())
        .s("releaseVersion", n.release_version.as_ref())
        .t("createdAt", n.created_at.as_ref())
        .t("modifiedAt", n.modified_at.as_ref())
        .s("status", n.status.as_ref().map(|s| s.as_str()))
        .s("capacityType", n.capacity_type.as_ref().map(|s| s.as_str()))
        .obj("scalingConfig", n.scaling_config.as_ref(), |c| {
            Obj::new()
                .i("minSize", c.min_size)
                .i("maxSize", c.max_size)
                .i("desiredSize", c.desired_size)
                .done()
        })
        .strs("instanceTypes", n.instance_types.as_ref())
        .strs("subnets", n.subnets.as_ref())
        .obj("remoteAccess", n.remote_access.as_ref(), |r| {
            Obj::new()
                .s("ec2SshKey", r.ec2_ssh_key.as_ref())
                .strs("sourceSecurityGroups", r.source_security_groups.as_ref())
                .done()
        })
        .s("amiType", n.ami_type.as_ref().map(|s| s.as_str()))
        .s("nodeRole", n.node_role.as_ref())
        .map("labels", n.labels.as_ref())
        .list("taints", n.taints.as_ref(), |t| {
            Obj::new()
                .s("key", t.key.as_ref())
                .s("value", t.value.as_ref())
                .s("effect", t.effect.as_ref().map(|e| e.as_str()))
                .done()
        })
        .obj("resources", n.resources.as_ref(), |r| {
            Obj::new()
                .list("autoScalingGroups", r.auto_scaling_groups.as_ref(), |g| {
                    Obj::new().s("name", g.name.as_ref()).done()
                })
                .s(
                    "remoteAccessSecurityGroup",
                    r.remote_access_security_group.as_ref(),
                )
                .done()
        })
        .i("diskSize", n.disk_size)
        .obj("health", n.health.as_ref(), |h| {
            Obj::new()
                .list("issues", h.issues.as_ref(), |i| {
                    issue(
                        i.code.as_ref().map(|c| c.as_str()),
                        i.message.as_ref(),
                        i.resource_ids.as_ref(),
                    )
                })
                .done()
        })
        .obj("updateConfig", n.update_config.as_ref(), |u| {
            Obj::new()
                .i("maxUnavailable", u.max_unavailable)
                .i("maxUnavailablePercentage", u.max_unavailable_percentage)
                .s(
                    "updateStrategy",
                    u.update_strategy.as_ref().map(|s| s.as_str()),
                )
                .done()
        })
        .obj("nodeRepairConfig", n.node_repair_config.as_ref(), |r| {
            Obj::new().b("enabled", r.enabled).done()
        })
        .obj("launchTemplate", n.launch_template.as_ref(), |l| {
            Obj::new()
                .s("name", l.name.as_ref())
                .s("version", l.version.as_ref())
                .s("id", l.id.as_ref())
                .done()
        })
        .map("tags", n.tags.as_ref())
        .done()
}

/// An `aws/eks/FargateProfile` document: `describe-fargate-profile`
/// `.fargateProfile`. Pods on Fargate pull images with its `podExecutionRoleArn`.
pub fn fargate_profile(p: &FargateProfile) -> Value {
    Obj::new()
        .s("fargateProfileName", p.fargate_profile_name.as_ref())
        .s("fargateProfileArn", p.fargate_profile_arn.as_ref())
        .s("clusterName", p.cluster_name.as_ref())
        .t("createdAt", p.created_at.as_ref())
        .s("podExecutionRoleArn", p.pod_execution_role_arn.as_ref())
        .strs("subnets", p.subnets.as_ref())
        .list("selectors", p.selectors.as_ref(), |s| {
            Obj::new()
                .s("namespace", s.namespace.as_ref())
                .map("labels", s.labels.as_ref())
                .done()
        })
        .s("status", p.status.as_ref().map(|s| s.as_str()))
        .map("tags", p.tags.as_ref())
        .obj("health", p.health.as_ref(), |h| {
            Obj::new()
                .list("issues", h.issues.as_ref(), |i| {
                    issue(
                        i.code.as_ref().map(|c| c.as_str()),
                        i.message.as_ref(),
                        i.resource_ids.as_ref(),
                    )
                })
                .done()
        })
        .done()
}

/// An `aws/eks/PodIdentityAssociation` document:
/// `describe-pod-identity-association` `.association`.
pub fn pod_identity_association(a: &PodIdentityAssociation) -> Value {
    Obj::new()
        .s("clusterName", a.cluster_name.as_ref())
        .s("namespace", a.namespace.as_ref())
        .s("serviceAccount", a.service_account.as_ref())
        .s("roleArn", a.role_arn.as_ref())
        .s("associationArn", a.association_arn.as_ref())
        .s("associationId", a.association_id.as_ref())
        .map("tags", a.tags.as_ref())
        .t("createdAt", a.created_at.as_ref())
        .t("modifiedAt", a.modified_at.as_ref())
        .s("ownerArn", a.owner_arn.as_ref())
        .b("disableSessionTags", a.disable_session_tags)
        .s("targetRoleArn", a.target_role_arn.as_ref())
        .s("externalId", a.external_id.as_ref())
        .s("policy", a.policy.as_ref())
        .done()
}

/// An `aws/eks/Addon` document: `describe-addon` `.addon` (`configurationValues`
/// stays the string EKS returns, JSON or YAML).
pub fn addon(a: &Addon) -> Value {
    Obj::new()
        .s("addonName", a.addon_name.as_ref())
        .s("clusterName", a.cluster_name.as_ref())
        .s("status", a.status.as_ref().map(|s| s.as_str()))
        .s("addonVersion", a.addon_version.as_ref())
        .obj("health", a.health.as_ref(), |h| {
            Obj::new()
                .list("issues", h.issues.as_ref(), |i| {
                    issue(
                        i.code.as_ref().map(|c| c.as_str()),
                        i.message.as_ref(),
                        i.resource_ids.as_ref(),
                    )
                })
                .done()
        })
        .s("addonArn", a.addon_arn.as_ref())
        .t("createdAt", a.created_at.as_ref())
        .t("modifiedAt", a.modified_at.as_ref())
        .s("serviceAccountRoleArn", a.service_account_role_arn.as_ref())
        .map("tags", a.tags.as_ref())
        .s("publisher", a.publisher.as_ref())
        .s("owner", a.owner.as_ref())
        .s("configurationValues", a.configuration_values.as_ref())
        .strs(
            "podIdentityAssociations",
            a.pod_identity_associations.as_ref(),
        )
        .done()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eks::types::{
        AmiTypes, AutoScalingGroup, FargateProfileHealth, FargateProfileIssue,
        FargateProfileIssueCode, FargateProfileSelector, FargateProfileStatus, NodegroupResources,
        NodegroupScalingConfig, NodegroupStatus, Taint, TaintEffect,
    };
    use aws_smithy_types::DateTime;
    use serde_json::json;

    #[test]
    fn nodegroups_keep_the_cli_shape() {
        let n = Nodegroup::builder()
            .nodegroup_name("ng-1")
            .cluster_name("prod")
            .created_at(DateTime::from_secs(1_700_000_000))
            .status(NodegroupStatus::Active)
            .scaling_config(
                NodegroupScalingConfig::builder()
                    .min_size(1)
                    .max_size(3)
                    .desired_size(2)
                    .build(),
            )
            .subnets("subnet-1")
            .ami_type(AmiTypes::Al2023X8664Standard)
            .node_role("arn:aws:iam::111122223333:role/node")
            .labels("team", "a")
            .taints(
                Taint::builder()
                    .key("k")
                    .value("v")
                    .effect(TaintEffect::NoSchedule)
                    .build(),
            )
            .resources(
                NodegroupResources::builder()
                    .auto_scaling_groups(AutoScalingGroup::builder().name("asg").build())
                    .build(),
            )
            .build();
        assert_eq!(
            nodegroup(&n),
            json!({
                "nodegroupName": "ng-1",
                "clusterName": "prod",
                "createdAt": "2023-11-14T22:13:20+00:00",
                "status": "ACTIVE",
                "scalingConfig": {"minSize": 1, "maxSize": 3, "desiredSize": 2},
                "subnets": ["subnet-1"],
                "amiType": "AL2023_x86_64_STANDARD",
                "nodeRole": "arn:aws:iam::111122223333:role/node",
                "labels": {"team": "a"},
                "taints": [{"key": "k", "value": "v", "effect": "NO_SCHEDULE"}],
                "resources": {"autoScalingGroups": [{"name": "asg"}]}
            })
        );
    }

    #[test]
    fn fargate_profiles_keep_the_cli_shape() {
        let p = FargateProfile::builder()
            .fargate_profile_name("fp-default")
            .fargate_profile_arn(
                "arn:aws:eks:us-west-2:111122223333:fargateprofile/prod/fp-default/0a1b",
            )
            .cluster_name("prod")
            .created_at(DateTime::from_secs_and_nanos(1_700_000_000, 250_000_000))
            .pod_execution_role_arn("arn:aws:iam::111122223333:role/fargate-pods")
            .subnets("subnet-1")
            .subnets("subnet-2")
            .selectors(
                FargateProfileSelector::builder()
                    .namespace("default")
                    .build(),
            )
            .selectors(
                FargateProfileSelector::builder()
                    .namespace("apps")
                    .labels("fargate", "yes")
                    .build(),
            )
            .status(FargateProfileStatus::Active)
            .tags("team", "a")
            .health(
                FargateProfileHealth::builder()
                    .issues(
                        FargateProfileIssue::builder()
                            .code(FargateProfileIssueCode::PodExecutionRoleAlreadyInUse)
                            .message("in use")
                            .resource_ids("r-1")
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert_eq!(
            fargate_profile(&p),
            json!({
                "fargateProfileName": "fp-default",
                "fargateProfileArn": "arn:aws:eks:us-west-2:111122223333:fargateprofile/prod/fp-default/0a1b",
                "clusterName": "prod",
                "createdAt": "2023-11-14T22:13:20.250000+00:00",
                "podExecutionRoleArn": "arn:aws:iam::111122223333:role/fargate-pods",
                "subnets": ["subnet-1", "subnet-2"],
                "selectors": [
                    {"namespace": "default"},
                    {"namespace": "apps", "labels": {"fargate": "yes"}}
                ],
                "status": "ACTIVE",
                "tags": {"team": "a"},
                "health": {"issues": [{
                    "code": "PodExecutionRoleAlreadyInUse",
                    "message": "in use",
                    "resourceIds": ["r-1"]
                }]}
            })
        );
        // Absent members are left out, as the CLI does.
        let bare = FargateProfile::builder().fargate_profile_name("fp").build();
        assert_eq!(fargate_profile(&bare), json!({"fargateProfileName": "fp"}));
    }
}
