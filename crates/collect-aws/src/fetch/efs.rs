//! Amazon EFS reads: a file system's mount targets with their security groups.

use aws_sdk_efs::Client;
use aws_sdk_efs::types::LifeCycleState;

use super::{Ctx, Docs, Outcome, doc};
use crate::error::Call;
use crate::normalize::efs as norm;

/// `aws/efs/MountTarget`.
pub const MOUNT_TARGET: &str = "aws/efs/MountTarget";

/// Every mount target of a file system (`DescribeMountTargets`, every page), each
/// with its security groups (`DescribeMountTargetSecurityGroups`, one call per
/// available mount target, concurrently); nothing when the file system does not
/// exist.
pub async fn mount_targets(client: &Client, ctx: &Ctx, region: &str, file_system: &str) -> Outcome {
    let call = Call::new("efs.DescribeMountTargets")
        .region(Some(region))
        .resource(file_system);
    let mut targets = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let req = client
            .describe_mount_targets()
            .file_system_id(file_system)
            .set_marker(marker.take());
        match ctx.call(&call, req.send()).await {
            Ok(out) => {
                targets.extend(out.mount_targets.unwrap_or_default());
                match out.next_marker {
                    Some(m) if !m.is_empty() => marker = Some(m),
                    _ => break,
                }
            }
            Err(f) if f.is("FileSystemNotFound") => return Ok(Vec::new()),
            Err(f) => return Err(ctx.error(&call, f)),
        }
    }
    // A mount target that is being created or deleted has no groups to read.
    let groups = futures_util::future::join_all(targets.iter().map(|t| async move {
        if t.life_cycle_state != LifeCycleState::Available {
            return Ok(None);
        }
        let call = Call::new("efs.DescribeMountTargetSecurityGroups")
            .region(Some(region))
            .resource(&t.mount_target_id);
        let req = client
            .describe_mount_target_security_groups()
            .mount_target_id(&t.mount_target_id);
        match ctx.call(&call, req.send()).await {
            Ok(out) => Ok(Some(out.security_groups)),
            Err(f) if f.is("MountTargetNotFound") || f.is("IncorrectMountTargetState") => Ok(None),
            Err(f) => Err(ctx.error(&call, f)),
        }
    }))
    .await;
    let mut docs: Docs = Vec::with_capacity(targets.len());
    for (t, g) in targets.iter().zip(groups) {
        docs.push(doc(
            MOUNT_TARGET,
            norm::mount_target(t, g?.as_ref(), region),
        ));
    }
    Ok(docs)
}
