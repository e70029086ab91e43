//! AWS IAM reads: roles, instance profiles, attached and inline role policies, and
//! managed policy versions.

use aws_sdk_iam::Client;

use super::{Ctx, Docs, Outcome, doc};
use crate::error::{Call, FetchError};
use crate::normalize::iam::{self as norm, account_from_arn, name_from_arn};

/// `aws/iam/Role`.
pub const ROLE: &str = "aws/iam/Role";
/// `aws/iam/InstanceProfile`.
pub const INSTANCE_PROFILE: &str = "aws/iam/InstanceProfile";
/// `aws/iam/AttachedRolePolicies`.
pub const ATTACHED_ROLE_POLICIES: &str = "aws/iam/AttachedRolePolicies";
/// `aws/iam/RolePolicy`.
pub const ROLE_POLICY: &str = "aws/iam/RolePolicy";
/// `aws/iam/PolicyVersion`.
pub const POLICY_VERSION: &str = "aws/iam/PolicyVersion";

const NO_SUCH_ENTITY: &str = "NoSuchEntity";

fn bad_arn(operation: &str, arn: &str, kind: &str) -> FetchError {
    FetchError::Other {
        operation: operation.into(),
        message: format!("`{arn}` is not an IAM {kind} ARN"),
        help: Some(format!(
            "an IAM {kind} ARN looks like `arn:aws:iam::111122223333:{kind}/name`"
        )),
    }
}

/// IAM reads by name only work in the caller's account: a name read there under an
/// ARN of another account is some other entity.
fn other_account(operation: &str, arn: &str, got: &str) -> Option<FetchError> {
    let (want, have) = (account_from_arn(arn)?, account_from_arn(got)?);
    (want != have).then(|| FetchError::Other {
        operation: operation.into(),
        message: format!(
            "`{arn}` belongs to account `{want}`, and IAM reads only the account rulerun runs in (`{have}`)"
        ),
        help: Some(format!(
            "run rulerun with credentials of account `{want}` (e.g. `--profile` of a role there)"
        )),
    })
}

/// A role by ARN (`GetRole` by the name in the ARN); nothing when it does not exist.
pub async fn role(client: &Client, ctx: &Ctx, arn: &str) -> Outcome {
    let Some(name) = name_from_arn(arn, "role") else {
        return Err(bad_arn("iam.GetRole", arn, "role"));
    };
    let call = Call::new("iam.GetRole")
        .account(account_from_arn(arn))
        .resource(arn);
    match ctx
        .call(&call, client.get_role().role_name(name).send())
        .await
    {
        Ok(out) => match out.role {
            Some(r) => match other_account("iam.GetRole", arn, &r.arn) {
                Some(e) => Err(e),
                None => Ok(vec![doc(ROLE, norm::role(&r))]),
            },
            None => Ok(Vec::new()),
        },
        Err(f) if f.is(NO_SUCH_ENTITY) => Ok(Vec::new()),
        Err(f) => Err(ctx.error(&call, f)),
    }
}

/// An instance profile by ARN (`GetInstanceProfile`); nothing when it does not exist.
pub async fn instance_profile(client: &Client, ctx: &Ctx, arn: &str) -> Outcome {
    let Some(name) = name_from_arn(arn, "instance-profile") else {
        return Err(bad_arn("iam.GetInstanceProfile", arn, "instance-profile"));
    };
    let call = Call::new("iam.GetInstanceProfile")
        .account(account_from_arn(arn))
        .resource(arn);
    let req = client.get_instance_profile().instance_profile_name(name);
    match ctx.call(&call, req.send()).await {
        Ok(out) => match out.instance_profile {
            Some(p) => match other_account("iam.GetInstanceProfile", arn, &p.arn) {
                Some(e) => Err(e),
                None => Ok(vec![doc(INSTANCE_PROFILE, norm::instance_profile(&p))]),
            },
            None => Ok(Vec::new()),
        },
        Err(f) if f.is(NO_SUCH_ENTITY) => Ok(Vec::new()),
        Err(f) => Err(ctx.error(&call, f)),
    }
}

/// The managed policies attached to a role, every page
/// (`ListAttachedRolePolicies`); nothing when the role does not exist.
pub async fn attached_role_policies(client: &Client, ctx: &Ctx, role_name: &str) -> Outcome {
    let call = Call::new("iam.ListAttachedRolePolicies").resource(role_name);
    let mut all = Vec::new();
    let mut marker = None;
    loop {
        let req = client
            .list_attached_role_policies()
            .role_name(role_name)
            .set_marker(marker.take());
        match ctx.call(&call, req.send()).await {
            Ok(out) => {
                all.extend(out.attached_policies.unwrap_or_default());
                match out.marker {
                    Some(m) if out.is_truncated && !m.is_empty() => marker = Some(m),
                    _ => break,
                }
            }
            Err(f) if f.is(NO_SUCH_ENTITY) => return Ok(Vec::new()),
            Err(f) => return Err(ctx.error(&call, f)),
        }
    }
    Ok(vec![doc(
        ATTACHED_ROLE_POLICIES,
        norm::attached_role_policies(role_name, &all),
    )])
}

/// Every inline policy of a role (`ListRolePolicies`, every page, then
/// `GetRolePolicy` each); nothing when the role does not exist.
pub async fn role_policies(client: &Client, ctx: &Ctx, role_name: &str) -> Outcome {
    let call = Call::new("iam.ListRolePolicies").resource(role_name);
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let req = client
            .list_role_policies()
            .role_name(role_name)
            .set_marker(marker.take());
        match ctx.call(&call, req.send()).await {
            Ok(out) => {
                names.extend(out.policy_names);
                match out.marker {
                    Some(m) if out.is_truncated && !m.is_empty() => marker = Some(m),
                    _ => break,
                }
            }
            Err(f) if f.is(NO_SUCH_ENTITY) => return Ok(Vec::new()),
            Err(f) => return Err(ctx.error(&call, f)),
        }
    }
    let mut docs: Docs = Vec::new();
    for name in names {
        let call = Call::new("iam.GetRolePolicy").resource(format!("{role_name}/{name}"));
        let req = client
            .get_role_policy()
            .role_name(role_name)
            .policy_name(&name);
        match ctx.call(&call, req.send()).await {
            Ok(out) => docs.push(doc(
                ROLE_POLICY,
                norm::role_policy(&out.role_name, &out.policy_name, &out.policy_document),
            )),
            // Deleted between the list and the read.
            Err(f) if f.is(NO_SUCH_ENTITY) => {}
            Err(f) => return Err(ctx.error(&call, f)),
        }
    }
    Ok(docs)
}

/// The default version of a managed policy (`GetPolicy` for its default version id
/// and name, then `GetPolicyVersion`); nothing when the policy does not exist.
pub async fn policy_version(client: &Client, ctx: &Ctx, arn: &str) -> Outcome {
    let account = account_from_arn(arn).filter(|a| *a != "aws");
    let call = Call::new("iam.GetPolicy").account(account).resource(arn);
    let policy = match ctx
        .call(&call, client.get_policy().policy_arn(arn).send())
        .await
    {
        Ok(out) => out.policy,
        Err(f) if f.is(NO_SUCH_ENTITY) => return Ok(Vec::new()),
        Err(f) => return Err(ctx.error(&call, f)),
    };
    let Some(policy) = policy else {
        return Ok(Vec::new());
    };
    let Some(version_id) = policy.default_version_id.as_deref() else {
        return Err(FetchError::Other {
            operation: "iam.GetPolicy".into(),
            message: format!("policy `{arn}` has no default version"),
            help: None,
        });
    };
    let name = policy.policy_name.as_deref().unwrap_or_default();
    let call = Call::new("iam.GetPolicyVersion")
        .account(account)
        .resource(arn);
    let req = client
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version_id);
    match ctx.call(&call, req.send()).await {
        Ok(out) => Ok(out
            .policy_version
            .iter()
            .map(|v| doc(POLICY_VERSION, norm::policy_version(v, arn, name)))
            .collect()),
        Err(f) if f.is(NO_SUCH_ENTITY) => Ok(Vec::new()),
        Err(f) => Err(ctx.error(&call, f)),
    }
}
