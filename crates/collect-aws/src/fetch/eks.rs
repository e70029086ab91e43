//! Amazon EKS reads: managed node groups and Fargate profiles.

use aws_sdk_eks::Client;

use super::{Ctx, Outcome, doc};
use crate::error::{Call, FetchError};
use crate::normalize::eks as norm;

/// `aws/eks/Nodegroup`.
pub const NODEGROUP: &str = "aws/eks/Nodegroup";

/// `aws/eks/FargateProfile`.
pub const FARGATE_PROFILE: &str = "aws/eks/FargateProfile";

/// One node group of `cluster` (`DescribeNodegroup`). A node group the cluster does
/// not have most likely means the cluster name is wrong, so that is an error.
pub async fn nodegroup(
    client: &Client,
    ctx: &Ctx,
    cluster: &str,
    region: Option<&str>,
    name: &str,
) -> Outcome {
    let resource = format!("{cluster}/{name}");
    let call = Call::new("eks.DescribeNodegroup")
        .region(region)
        .resource(resource);
    let req = client
        .describe_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name);
    match ctx.call(&call, req.send()).await {
        Ok(out) => Ok(out
            .nodegroup
            .iter()
            .map(|n| doc(NODEGROUP, norm::nodegroup(n)))
            .collect()),
        Err(f) if f.is("ResourceNotFoundException") => Err(FetchError::Other {
            operation: "eks.DescribeNodegroup".into(),
            message: format!(
                "cluster `{cluster}` has no node group `{name}`{}: {}",
                region.map(|r| format!(" in region `{r}`")).unwrap_or_default(),
                f.message
            ),
            help: Some(
                "check `--cluster-name` and `--region`: they must name the EKS cluster the nodes belong to"
                    .into(),
            ),
        }),
        Err(f) => Err(ctx.error(&call, f)),
    }
}

/// One Fargate profile of `cluster` (`DescribeFargateProfile`); nothing when the
/// cluster has no profile of that name (it may have been deleted since the pod
/// was scheduled). A cluster that does not exist means the cluster name is wrong,
/// so that is an error, as for node groups.
pub async fn fargate_profile(
    client: &Client,
    ctx: &Ctx,
    cluster: &str,
    region: Option<&str>,
    name: &str,
) -> Outcome {
    let resource = format!("{cluster}/{name}");
    let call = Call::new("eks.DescribeFargateProfile")
        .region(region)
        .resource(resource);
    let req = client
        .describe_fargate_profile()
        .cluster_name(cluster)
        .fargate_profile_name(name);
    match ctx.call(&call, req.send()).await {
        Ok(out) => Ok(out
            .fargate_profile
            .iter()
            .map(|p| doc(FARGATE_PROFILE, norm::fargate_profile(p)))
            .collect()),
        // EKS answers `ResourceNotFoundException` for both; only its message
        // ("No cluster found for name: ...") tells a missing cluster apart.
        Err(f) if f.is("ResourceNotFoundException") && is_cluster_not_found(&f.message) => {
            Err(FetchError::Other {
                operation: "eks.DescribeFargateProfile".into(),
                message: format!(
                    "Fargate profile `{name}` cannot be read: there is no EKS cluster `{cluster}`{}: {}",
                    region.map(|r| format!(" in region `{r}`")).unwrap_or_default(),
                    f.message
                ),
                help: Some(
                    "check `--cluster-name` and `--region`: they must name the EKS cluster the pods run in"
                        .into(),
                ),
            })
        }
        Err(f) if f.is("ResourceNotFoundException") => Ok(Vec::new()),
        Err(f) => Err(ctx.error(&call, f)),
    }
}

/// Whether an EKS `ResourceNotFoundException` message is about the cluster.
fn is_cluster_not_found(message: &str) -> bool {
    message.to_ascii_lowercase().contains("no cluster found")
}

#[cfg(test)]
mod tests {
    use super::is_cluster_not_found;

    #[test]
    fn a_missing_cluster_is_told_from_a_missing_profile() {
        assert!(is_cluster_not_found("No cluster found for name: prod."));
        assert!(!is_cluster_not_found(
            "No Fargate Profile found with name: fp."
        ));
    }
}
