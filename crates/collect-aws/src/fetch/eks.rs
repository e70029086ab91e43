//! Amazon EKS reads: managed node groups, Fargate profiles, Pod Identity
//! associations and add-ons.

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
            Err(missing_cluster(
                "eks.DescribeFargateProfile",
                &format!("Fargate profile `{name}`"),
                cluster,
                region,
                &f.message,
            ))
        }
        Err(f) if f.is("ResourceNotFoundException") => Ok(Vec::new()),
        Err(f) => Err(ctx.error(&call, f)),
    }
}

/// `aws/eks/PodIdentityAssociation`.
pub const POD_IDENTITY_ASSOCIATION: &str = "aws/eks/PodIdentityAssociation";

/// `aws/eks/Addon`.
pub const ADDON: &str = "aws/eks/Addon";

/// The EKS Pod Identity associations of one service account of `cluster`
/// (`ListPodIdentityAssociations` filtered by namespace and service account, every
/// page, then `DescribePodIdentityAssociation` for each, which holds the role);
/// nothing when it has none. A cluster that does not exist is an error.
pub async fn pod_identity_associations(
    client: &Client,
    ctx: &Ctx,
    cluster: &str,
    region: Option<&str>,
    namespace: &str,
    service_account: &str,
) -> Outcome {
    let resource = format!("{cluster}/{namespace}/{service_account}");
    let call = Call::new("eks.ListPodIdentityAssociations")
        .region(region)
        .resource(resource);
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let req = client
            .list_pod_identity_associations()
            .cluster_name(cluster)
            .namespace(namespace)
            .service_account(service_account)
            .set_next_token(token.take());
        match ctx.call(&call, req.send()).await {
            Ok(out) => {
                ids.extend(
                    out.associations
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|a| a.association_id),
                );
                match out.next_token {
                    Some(t) if !t.is_empty() => token = Some(t),
                    _ => break,
                }
            }
            Err(f) if f.is("ResourceNotFoundException") => {
                return Err(missing_cluster(
                    "eks.ListPodIdentityAssociations",
                    &format!("the Pod Identity associations of `{namespace}/{service_account}`"),
                    cluster,
                    region,
                    &f.message,
                ));
            }
            Err(f) => return Err(ctx.error(&call, f)),
        }
    }
    let described = futures_util::future::join_all(ids.iter().map(|id| async move {
        let call = Call::new("eks.DescribePodIdentityAssociation")
            .region(region)
            .resource(format!("{cluster}/{id}"));
        let req = client
            .describe_pod_identity_association()
            .cluster_name(cluster)
            .association_id(id);
        match ctx.call(&call, req.send()).await {
            Ok(out) => Ok(out.association),
            // deleted between the list and the describe
            Err(f) if f.is("ResourceNotFoundException") => Ok(None),
            Err(f) => Err(ctx.error(&call, f)),
        }
    }))
    .await;
    let mut docs = Vec::new();
    for a in described {
        if let Some(a) = a? {
            docs.push(doc(
                POD_IDENTITY_ASSOCIATION,
                norm::pod_identity_association(&a),
            ));
        }
    }
    Ok(docs)
}

/// One add-on of `cluster` (`DescribeAddon`); nothing when the cluster does not
/// have it installed (the pod's component label names a self-managed one). A
/// cluster that does not exist is an error.
pub async fn addon(
    client: &Client,
    ctx: &Ctx,
    cluster: &str,
    region: Option<&str>,
    name: &str,
) -> Outcome {
    let call = Call::new("eks.DescribeAddon")
        .region(region)
        .resource(format!("{cluster}/{name}"));
    let req = client
        .describe_addon()
        .cluster_name(cluster)
        .addon_name(name);
    match ctx.call(&call, req.send()).await {
        Ok(out) => Ok(out
            .addon
            .iter()
            .map(|a| doc(ADDON, norm::addon(a)))
            .collect()),
        Err(f) if f.is("ResourceNotFoundException") && is_cluster_not_found(&f.message) => {
            Err(missing_cluster(
                "eks.DescribeAddon",
                &format!("add-on `{name}`"),
                cluster,
                region,
                &f.message,
            ))
        }
        Err(f) if f.is("ResourceNotFoundException") => Ok(Vec::new()),
        Err(f) => Err(ctx.error(&call, f)),
    }
}

/// The error for `what` of a cluster EKS does not know: the cluster name is wrong.
fn missing_cluster(
    operation: &str,
    what: &str,
    cluster: &str,
    region: Option<&str>,
    message: &str,
) -> FetchError {
    FetchError::Other {
        operation: operation.into(),
        message: format!(
            "{what} cannot be read: there is no EKS cluster `{cluster}`{}: {message}",
            region
                .map(|r| format!(" in region `{r}`"))
                .unwrap_or_default(),
        ),
        help: Some(
            "check `--cluster-name` and `--region`: they must name the EKS cluster the pods run in"
                .into(),
        ),
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
