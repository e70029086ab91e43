//! AWS IAM documents, PascalCase as `aws iam ... --output json` prints them, policy
//! documents decoded to JSON objects as the CLI does.

use aws_sdk_iam::types::{AttachedPolicy, InstanceProfile, PolicyVersion, Role, Tag};
use serde_json::{Value, json};

use super::{Obj, decode_policy_document};

fn tag(t: &Tag) -> Value {
    json!({"Key": t.key, "Value": t.value})
}

/// An `aws/iam/Role` document: `get-role` `.Role`.
pub fn role(r: &Role) -> Value {
    Obj::new()
        .s("Path", Some(&r.path))
        .s("RoleName", Some(&r.role_name))
        .s("RoleId", Some(&r.role_id))
        .s("Arn", Some(&r.arn))
        .t("CreateDate", Some(&r.create_date))
        .v(
            "AssumeRolePolicyDocument",
            r.assume_role_policy_document
                .as_deref()
                .map(decode_policy_document),
        )
        .s("Description", r.description.as_ref())
        .i("MaxSessionDuration", r.max_session_duration)
        .obj(
            "PermissionsBoundary",
            r.permissions_boundary.as_ref(),
            |b| {
                Obj::new()
                    .s(
                        "PermissionsBoundaryType",
                        b.permissions_boundary_type.as_ref().map(|t| t.as_str()),
                    )
                    .s(
                        "PermissionsBoundaryArn",
                        b.permissions_boundary_arn.as_ref(),
                    )
                    .done()
            },
        )
        .list("Tags", r.tags.as_ref(), tag)
        .obj("RoleLastUsed", r.role_last_used.as_ref(), |u| {
            Obj::new()
                .t("LastUsedDate", u.last_used_date.as_ref())
                .s("Region", u.region.as_ref())
                .done()
        })
        .done()
}

/// An `aws/iam/InstanceProfile` document: `get-instance-profile` `.InstanceProfile`.
pub fn instance_profile(p: &InstanceProfile) -> Value {
    Obj::new()
        .s("Path", Some(&p.path))
        .s("InstanceProfileName", Some(&p.instance_profile_name))
        .s("InstanceProfileId", Some(&p.instance_profile_id))
        .s("Arn", Some(&p.arn))
        .t("CreateDate", Some(&p.create_date))
        .list("Roles", Some(&p.roles), role)
        .list("Tags", p.tags.as_ref(), tag)
        .done()
}

/// An `aws/iam/AttachedRolePolicies` document: `list-attached-role-policies` output
/// over every page, plus `RoleName`.
pub fn attached_role_policies(role_name: &str, policies: &[AttachedPolicy]) -> Value {
    let items: Vec<Value> = policies
        .iter()
        .map(|p| {
            Obj::new()
                .s("PolicyName", p.policy_name.as_ref())
                .s("PolicyArn", p.policy_arn.as_ref())
                .done()
        })
        .collect();
    json!({"AttachedPolicies": items, "RoleName": role_name})
}

/// An `aws/iam/RolePolicy` document: `get-role-policy` output, the document decoded.
pub fn role_policy(role_name: &str, policy_name: &str, policy_document: &str) -> Value {
    json!({
        "RoleName": role_name,
        "PolicyName": policy_name,
        "PolicyDocument": decode_policy_document(policy_document),
    })
}

/// An `aws/iam/PolicyVersion` document: `get-policy-version` `.PolicyVersion`, the
/// document decoded, plus `PolicyArn` and `PolicyName`.
pub fn policy_version(v: &PolicyVersion, policy_arn: &str, policy_name: &str) -> Value {
    Obj::new()
        .v(
            "Document",
            v.document.as_deref().map(decode_policy_document),
        )
        .s("VersionId", v.version_id.as_ref())
        .b("IsDefaultVersion", Some(v.is_default_version))
        .t("CreateDate", v.create_date.as_ref())
        .s("PolicyArn", Some(policy_arn))
        .s("PolicyName", Some(policy_name))
        .done()
}

/// The name in an IAM ARN (`arn:aws:iam::123456789012:role/path/name` -> `name`),
/// when the ARN has the resource type `kind` (`role`, `instance-profile`, ...).
pub fn name_from_arn<'a>(arn: &'a str, kind: &str) -> Option<&'a str> {
    let parsed = rulerun_iam::arn::parse_relaxed(arn).ok()?;
    if parsed.service() != "iam" || parsed.resource_type() != Some(kind) || parsed.path().is_none()
    {
        return None;
    }
    // The name of an IAM type with a path is the last segment: a suffix of `arn`.
    arn.get(arn.len() - parsed.resource_name().len()..)
}

/// The account id in an ARN (`arn:aws:iam::123456789012:role/x` -> `123456789012`).
pub fn account_from_arn(arn: &str) -> Option<&str> {
    rulerun_iam::arn::parse_relaxed(arn).ok()?;
    let [.., account, _] = rulerun_iam::arn::fields(arn)?;
    (!account.is_empty()).then_some(account)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use aws_sdk_iam::types::{AttachedPermissionsBoundary, PermissionsBoundaryAttachmentType};
    use aws_smithy_types::DateTime;

    const ENCODED_TRUST: &str = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ec2.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";

    fn node_role() -> Role {
        Role::builder()
            .path("/eks/")
            .role_name("node")
            .role_id("AROA1")
            .arn("arn:aws:iam::111122223333:role/eks/node")
            .create_date(DateTime::from_secs(1_700_000_000))
            .assume_role_policy_document(ENCODED_TRUST)
            .max_session_duration(3600)
            .permissions_boundary(
                AttachedPermissionsBoundary::builder()
                    .permissions_boundary_type(PermissionsBoundaryAttachmentType::Policy)
                    .permissions_boundary_arn("arn:aws:iam::111122223333:policy/boundary")
                    .build(),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn roles_decode_their_trust_policy() {
        assert_eq!(
            role(&node_role()),
            json!({
                "Path": "/eks/",
                "RoleName": "node",
                "RoleId": "AROA1",
                "Arn": "arn:aws:iam::111122223333:role/eks/node",
                "CreateDate": "2023-11-14T22:13:20+00:00",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]},
                "MaxSessionDuration": 3600,
                "PermissionsBoundary": {
                    "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                    "PermissionsBoundaryArn": "arn:aws:iam::111122223333:policy/boundary"
                }
            })
        );
    }

    #[test]
    fn instance_profiles_policies_and_versions() {
        let p = InstanceProfile::builder()
            .path("/")
            .instance_profile_name("node-profile")
            .instance_profile_id("AIPA1")
            .arn("arn:aws:iam::111122223333:instance-profile/node-profile")
            .create_date(DateTime::from_secs(0))
            .roles(node_role())
            .build()
            .unwrap();
        let doc = instance_profile(&p);
        assert_eq!(doc["InstanceProfileName"], "node-profile");
        assert_eq!(doc["Roles"][0]["RoleName"], "node");
        assert_eq!(
            doc["Roles"][0]["AssumeRolePolicyDocument"]["Version"],
            "2012-10-17"
        );

        let attached = [AttachedPolicy::builder()
            .policy_name("AmazonEC2ContainerRegistryReadOnly")
            .policy_arn("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly")
            .build()];
        assert_eq!(
            attached_role_policies("node", &attached),
            json!({"RoleName": "node", "AttachedPolicies": [{
                "PolicyName": "AmazonEC2ContainerRegistryReadOnly",
                "PolicyArn": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"}]})
        );
        assert_eq!(
            role_policy("node", "inline", "%7B%7D"),
            json!({"RoleName": "node", "PolicyName": "inline", "PolicyDocument": {}})
        );
        let v = PolicyVersion::builder()
            .document(ENCODED_TRUST)
            .version_id("v3")
            .is_default_version(true)
            .create_date(DateTime::from_secs(1_700_000_000))
            .build();
        assert_eq!(
            policy_version(&v, "arn:aws:iam::aws:policy/P", "P"),
            json!({
                "Document": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]},
                "VersionId": "v3",
                "IsDefaultVersion": true,
                "CreateDate": "2023-11-14T22:13:20+00:00",
                "PolicyArn": "arn:aws:iam::aws:policy/P",
                "PolicyName": "P"
            })
        );
    }

    #[test]
    fn names_come_from_arns() {
        assert_eq!(
            name_from_arn("arn:aws:iam::111122223333:role/eks/node", "role"),
            Some("node")
        );
        assert_eq!(
            name_from_arn(
                "arn:aws-cn:iam::111122223333:instance-profile/p",
                "instance-profile"
            ),
            Some("p")
        );
        assert_eq!(
            name_from_arn("arn:aws:iam::111122223333:user/u", "role"),
            None
        );
        assert_eq!(name_from_arn("node", "role"), None);
        assert_eq!(name_from_arn("arn:aws:iam::1:role/", "role"), None);
        assert_eq!(
            account_from_arn("arn:aws:iam::111122223333:role/x"),
            Some("111122223333")
        );
        assert_eq!(account_from_arn("arn:aws:iam::aws:policy/x"), Some("aws"));
    }
}
