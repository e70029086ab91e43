//! Amazon EKS documents, camelCase as `aws eks ... --output json` prints them.

use aws_sdk_eks::types::Nodegroup;
use serde_json::Value;

use super::Obj;

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
                    Obj::new()
                        .s("code", i.code.as_ref().map(|c| c.as_str()))
                        .s("message", i.message.as_ref())
                        .strs("resourceIds", i.resource_ids.as_ref())
                        .done()
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eks::types::{
        AmiTypes, AutoScalingGroup, NodegroupResources, NodegroupScalingConfig, NodegroupStatus,
        Taint, TaintEffect,
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
}
