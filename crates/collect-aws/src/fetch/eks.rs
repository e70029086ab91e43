//! Amazon EKS reads: managed node groups.

use aws_sdk_eks::Client;

use super::{Ctx, Outcome, doc};
use crate::error::{Call, FetchError};
use crate::normalize::eks as norm;

/// `aws/eks/Nodegroup`.
pub const NODEGROUP: &str = "aws/eks/Nodegroup";

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
