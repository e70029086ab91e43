//! Amazon EFS documents, PascalCase as `aws efs ... --output json` prints them, with
//! the `Region` rulerun adds.

use aws_sdk_efs::types::MountTargetDescription;
use serde_json::Value;

use super::Obj;

/// An `aws/efs/MountTarget` document: one item of `describe-mount-targets`
/// `.MountTargets[]`, plus `SecurityGroups` (the group ids
/// `describe-mount-target-security-groups` returns for it; `null` when they could
/// not be read because the mount target is not available) and `Region`.
pub fn mount_target(
    m: &MountTargetDescription,
    security_groups: Option<&Vec<String>>,
    region: &str,
) -> Value {
    Obj::new()
        .s("OwnerId", m.owner_id.as_ref())
        .s("MountTargetId", Some(&m.mount_target_id))
        .s("FileSystemId", Some(&m.file_system_id))
        .s("SubnetId", Some(&m.subnet_id))
        .s("LifeCycleState", Some(m.life_cycle_state.as_str()))
        .s("IpAddress", m.ip_address.as_ref())
        .s("Ipv6Address", m.ipv6_address.as_ref())
        .s("NetworkInterfaceId", m.network_interface_id.as_ref())
        .s("AvailabilityZoneId", m.availability_zone_id.as_ref())
        .s("AvailabilityZoneName", m.availability_zone_name.as_ref())
        .s("VpcId", m.vpc_id.as_ref())
        .strs("SecurityGroups", security_groups)
        .s("Region", Some(region))
        .done()
}
