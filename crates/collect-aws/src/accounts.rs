//! Which credentials read which account.
//!
//! A fact belongs to an account: an ECR repository to its registry id, an IAM role
//! or policy to the account in its ARN, everything else (EKS, EC2, IAM by role
//! name) to the cluster's own account. The cluster's account is read with the
//! default credential chain; another account with the role mapped to it
//! (`aws.accounts` in `rulerun.yaml`, [`AccountRole`]) or made from the
//! `--assume-role` template ([`RoleTemplate`]), through STS `AssumeRole` with the
//! session name `rulerun`. The assumed credentials are cached for the run and
//! refreshed before they expire ([`RunCache`]). An account with neither is not read:
//! its facts fail with [`crate::FetchError::NoCredentials`], naming the settings
//! that would unlock it; a role that cannot be assumed fails every fact of its
//! account with [`crate::FetchError::AssumeRole`].

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, future};

/// The session name of every assumed role (CloudTrail shows it).
pub const SESSION_NAME: &str = "rulerun";

/// How long before their expiry assumed credentials are renewed.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// The role that reads one account (`aws.accounts."ID"` in `rulerun.yaml`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRole {
    /// The role to assume.
    pub role_arn: String,
    /// The external id the role's trust policy requires, if any.
    pub external_id: Option<String>,
    /// The region of that account's calls without a region of their own (and of
    /// STS), instead of the cluster's.
    pub region: Option<String>,
    /// Where the role was given, for messages: e.g. `` `aws.accounts."210987654321".roleArn` in `rulerun.yaml` ``.
    pub configured_by: String,
}

/// `--assume-role`: a role ARN with `{account}` where the account id goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleTemplate(String);

/// Why an `--assume-role` template is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// No `{account}`.
    #[error("the role template `{0}` has no `{{account}}` placeholder")]
    NoPlaceholder(String),
    /// A placeholder other than `{account}`, or an unbalanced brace.
    #[error("the role template `{template}` has `{found}`; `{{account}}` is the only placeholder")]
    Unknown { template: String, found: String },
    /// Not an IAM role ARN once filled in.
    #[error(
        "the role template `{0}` is not an IAM role ARN (`arn:PARTITION:iam::{{account}}:role/NAME`)"
    )]
    NotARole(String),
}

impl RoleTemplate {
    /// Parses a template: `{account}` at least once, no other `{...}`, and an IAM
    /// role ARN once filled in.
    pub fn parse(text: &str) -> Result<RoleTemplate, TemplateError> {
        let mut rest = text;
        let mut seen = false;
        while let Some(i) = rest.find(['{', '}']) {
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("{account}") {
                seen = true;
                rest = after;
                continue;
            }
            let end = tail.find('}').map(|j| j + 1).unwrap_or(tail.len());
            let found = tail[..end.max(1)].to_string();
            return Err(TemplateError::Unknown {
                template: text.to_string(),
                found,
            });
        }
        if !seen {
            return Err(TemplateError::NoPlaceholder(text.to_string()));
        }
        let template = RoleTemplate(text.to_string());
        if !is_role_arn(&template.fill("123456789012")) {
            return Err(TemplateError::NotARole(text.to_string()));
        }
        Ok(template)
    }

    /// The role ARN for `account`.
    pub fn fill(&self, account: &str) -> String {
        self.0.replace("{account}", account)
    }

    /// The template as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `s` is an IAM role ARN: `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
pub fn is_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", p, "iam", "", a, r]
        if !p.is_empty() && is_account_id(a) && r.strip_prefix("role/").is_some_and(|n| !n.is_empty()))
}

/// Whether `s` is an AWS account id (12 digits).
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// How accounts other than the cluster's are read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accounts {
    /// The cluster's own account, read with the default chain, when known (from
    /// the EKS cluster ARN of the kubeconfig context); else the default
    /// credentials' account, asked of STS (`GetCallerIdentity`) the first time a
    /// fact of a named account is read.
    pub home: Option<String>,
    /// `aws.accounts`: the role for each account (the cluster's own included,
    /// when mapped).
    pub roles: BTreeMap<String, AccountRole>,
    /// `--assume-role`, for every other account without a mapping.
    pub template: Option<RoleTemplate>,
}

/// How one account is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// With the default chain.
    Default,
    /// Through this role.
    Role(AccountRole),
    /// Not at all: no mapping and no template.
    None,
}

impl Accounts {
    /// Whether any other account can be read with a role.
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty() && self.template.is_none()
    }

    /// How `account` is read, given the cluster's account `home` (`None` when it
    /// cannot be learnt).
    pub fn access(&self, account: &str, home: Option<&str>) -> Access {
        if let Some(role) = self.roles.get(account) {
            return Access::Role(role.clone());
        }
        if home == Some(account) {
            return Access::Default;
        }
        match &self.template {
            Some(t) => Access::Role(AccountRole {
                role_arn: t.fill(account),
                external_id: None,
                region: None,
                configured_by: format!("`--assume-role {}`", t.as_str()),
            }),
            // Nothing is configured and the home account is unknown: as before
            // accounts were mapped, the default credentials read everything.
            None if home.is_none() && self.roles.is_empty() => Access::Default,
            None => Access::None,
        }
    }
}

/// The help of an account that has no credentials.
pub fn unlock_help(account: &str) -> String {
    format!(
        "map the account to a role rulerun may assume: `aws.accounts.\"{account}\".roleArn` in `rulerun.yaml`, or `--assume-role 'arn:aws:iam::{{account}}:role/NAME'` for every account"
    )
}

/// Credentials from `inner` (an `AssumeRole` provider), kept for the run and
/// renewed [`REFRESH_BEFORE`] they expire, so one `AssumeRole` serves every
/// client of the account, the first call included.
#[derive(Debug)]
pub struct RunCache<P> {
    inner: P,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

impl<P: ProvideCredentials> RunCache<P> {
    /// A cache in front of `inner`.
    pub fn new(inner: P) -> Self {
        RunCache {
            inner,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    async fn get(&self) -> provider::Result {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && fresh(c.expiry(), SystemTime::now())
        {
            return Ok(c.clone());
        }
        let c = self.inner.provide_credentials().await?;
        *cached = Some(c.clone());
        Ok(c)
    }
}

/// Whether credentials expiring at `expiry` are still good at `now`.
fn fresh(expiry: Option<SystemTime>, now: SystemTime) -> bool {
    match expiry {
        None => true,
        Some(e) => e
            .duration_since(now)
            .is_ok_and(|left| left > REFRESH_BEFORE),
    }
}

impl<P: ProvideCredentials> ProvideCredentials for RunCache<P> {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.get())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn templates_have_the_account_placeholder_only() {
        let t = RoleTemplate::parse("arn:aws:iam::{account}:role/rulerun-read").unwrap();
        assert_eq!(
            t.fill("210987654321"),
            "arn:aws:iam::210987654321:role/rulerun-read"
        );
        assert!(matches!(
            RoleTemplate::parse("arn:aws:iam::{acount}:role/x"),
            Err(TemplateError::Unknown { found, .. }) if found == "{acount}"
        ));
        assert!(matches!(
            RoleTemplate::parse("arn:aws:iam::{account}:role/{region}"),
            Err(TemplateError::Unknown { found, .. }) if found == "{region}"
        ));
        assert!(matches!(
            RoleTemplate::parse("arn:aws:iam::{account}:role/x}"),
            Err(TemplateError::Unknown { found, .. }) if found == "}"
        ));
        assert!(matches!(
            RoleTemplate::parse("arn:aws:iam::{account:role/x"),
            Err(TemplateError::Unknown { .. })
        ));
        assert_eq!(
            RoleTemplate::parse("arn:aws:iam::210987654321:role/x"),
            Err(TemplateError::NoPlaceholder(
                "arn:aws:iam::210987654321:role/x".into()
            ))
        );
        assert!(matches!(
            RoleTemplate::parse("arn:aws:iam::{account}:user/x"),
            Err(TemplateError::NotARole(_))
        ));
        assert!(RoleTemplate::parse("arn:aws-cn:iam::{account}:role/path/x").is_ok());
    }

    #[test]
    fn an_account_is_read_by_its_mapping_else_the_template_else_not() {
        let role = AccountRole {
            role_arn: "arn:aws:iam::210987654321:role/reader".into(),
            external_id: Some("x".into()),
            region: None,
            configured_by: "rulerun.yaml".into(),
        };
        let mut a = Accounts::default();
        // Nothing configured, the home account unknown: everything as before.
        assert_eq!(a.access("210987654321", None), Access::Default);
        a.home = Some("111122223333".into());
        assert_eq!(a.access("111122223333", a.home.as_deref()), Access::Default);
        assert_eq!(a.access("210987654321", a.home.as_deref()), Access::None);
        a.roles.insert("210987654321".into(), role.clone());
        assert_eq!(
            a.access("210987654321", a.home.as_deref()),
            Access::Role(role.clone())
        );
        assert_eq!(a.access("444455556666", a.home.as_deref()), Access::None);
        a.template = Some(RoleTemplate::parse("arn:aws:iam::{account}:role/r").unwrap());
        match a.access("444455556666", a.home.as_deref()) {
            Access::Role(r) => {
                assert_eq!(r.role_arn, "arn:aws:iam::444455556666:role/r");
                assert!(r.configured_by.contains("--assume-role"));
            }
            other => panic!("{other:?}"),
        }
        // The template never replaces the default chain for the home account.
        assert_eq!(a.access("111122223333", a.home.as_deref()), Access::Default);
    }

    #[derive(Debug, Default)]
    struct Counting(AtomicUsize, Option<SystemTime>);
    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.0.fetch_add(1, Ordering::SeqCst);
            future::ProvideCredentials::ready(Ok(Credentials::new(
                "AK", "SK", None, self.1, "test",
            )))
        }
    }

    #[tokio::test]
    async fn assumed_credentials_are_kept_and_renewed_before_expiry() {
        let hour = SystemTime::now() + Duration::from_secs(3600);
        let c = RunCache::new(Counting(AtomicUsize::new(0), Some(hour)));
        for _ in 0..3 {
            c.provide_credentials().await.unwrap();
        }
        assert_eq!(c.inner.0.load(Ordering::SeqCst), 1);
        // Credentials that expire within the margin are renewed on each use.
        let soon = SystemTime::now() + Duration::from_secs(60);
        let c = RunCache::new(Counting(AtomicUsize::new(0), Some(soon)));
        c.provide_credentials().await.unwrap();
        c.provide_credentials().await.unwrap();
        assert_eq!(c.inner.0.load(Ordering::SeqCst), 2);
        let now = SystemTime::now();
        assert!(fresh(None, now));
        assert!(!fresh(Some(now - Duration::from_secs(1)), now));
    }
}
