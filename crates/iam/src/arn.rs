//! Amazon Resource Names: the one ARN type of rulerun ([`Arn`]), its parser
//! ([`parse`], [`parse_relaxed`]), and IAM's wildcard matching of resource
//! ARNs ([`ArnPattern`], [`Arn::matches`]).
//!
//! Everything that reads an ARN goes through here: the evaluator (principals,
//! the resource's account, `Resource` and `Arn*` condition matching), the
//! collectors (names and accounts of IAM roles, instance profiles and policies,
//! the caller's account in an access-denied message, the EKS cluster of a
//! kubeconfig context) and the `arn` rule function of `rulerun-core`.
//!
//! Written here rather than taken from a crate: the one on crates.io
//! (`aws-arn` 0.3) validates with regexes (pulling `regex` and `lazy_static`
//! into this dependency-light crate), does not split IAM paths or STS sessions,
//! does not know IAM's per-field wildcard matching, and has its own error
//! texts; the parser below is small, fuzzed by its tests, and its messages are
//! part of the `arn` function's documented behaviour.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::glob::{self, Tok};

/// Partitions accepted in the second field.
pub const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// IAM resource types whose ARNs carry a path between the type and the name.
pub const IAM_PATH_TYPES: &[&str] = &[
    "role",
    "user",
    "group",
    "instance-profile",
    "policy",
    "server-certificate",
    "mfa",
];

/// A parsed, validated ARN: `arn:<partition>:<service>:<region>:<account>:<resource>`.
///
/// Built by [`parse`] (what AWS accepts: a 12-digit account) or
/// [`parse_relaxed`] (also the 1- to 12-digit accounts of fixtures and
/// documentation examples, as the evaluator accepts them in principals); read
/// through its accessors. Serializes (camelCase) as the `arn` rule function
/// returns it. [`Display`](fmt::Display) gives back the parsed text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Arn {
    original: String,
    partition: String,
    service: String,
    region: String,
    account: String,
    resource: String,
    resource_type: Option<String>,
    resource_name: String,
    path: Option<String>,
    session: Option<String>,
}

/// Why an ARN was rejected. Displays as ``invalid ARN `<input>`: <reason>``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ARN `{input}`: {kind}")]
pub struct ArnError {
    /// The rejected input.
    pub input: String,
    /// What is wrong with it.
    pub kind: ArnErrorKind,
}

/// The reason an ARN was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArnErrorKind {
    /// The input is empty.
    #[error("ARN is empty")]
    Empty,
    /// The input has leading or trailing whitespace.
    #[error("ARN has leading or trailing whitespace")]
    Whitespace,
    /// The input does not start with `arn:`.
    #[error("ARNs start with `arn:`")]
    Prefix,
    /// Fewer than six `:`-separated fields.
    #[error("expected 6 fields separated by `:`, found {found}")]
    TooFewFields {
        /// How many fields there are.
        found: usize,
    },
    /// The partition is not a known one.
    #[error("unknown partition `{partition}`")]
    Partition {
        /// The partition as written.
        partition: String,
    },
    /// The service is empty or has characters other than `a-z`, `0-9`, `-`.
    #[error("invalid service `{service}`")]
    Service {
        /// The service as written.
        service: String,
    },
    /// The region has characters other than `a-z`, `0-9`, `-`.
    #[error("invalid region `{region}`")]
    Region {
        /// The region as written.
        region: String,
    },
    /// The account is not 12 digits, `aws` or empty.
    #[error("account `{account}` must be 12 digits")]
    Account {
        /// The account as written.
        account: String,
    },
    /// Nothing after the account.
    #[error("resource is empty")]
    EmptyResource,
    /// A resource type is followed by its separator and then nothing.
    #[error("resource name after `{resource_type}` is empty")]
    EmptyName {
        /// The resource type.
        resource_type: String,
    },
    /// An STS `assumed-role` ARN without `/<session>`.
    #[error("`assumed-role` needs a role name and a session name")]
    MissingSession,
}

impl ArnError {
    fn new(input: &str, kind: ArnErrorKind) -> Self {
        Self {
            input: input.to_owned(),
            kind,
        }
    }

    /// Advice on how to fix the ARN, when there is any to give.
    #[must_use]
    pub fn help(&self) -> Option<String> {
        use ArnErrorKind as K;
        let text = match &self.kind {
            K::Empty | K::Prefix | K::TooFewFields { .. } => {
                "ARNs look like `arn:aws:iam::123456789012:role/Name`: \
                 `arn:partition:service:region:account:resource`"
                    .to_owned()
            }
            K::Whitespace => format!("use `{}`", self.input.trim()),
            K::Partition { .. } => format!("the partition is one of {}", PARTITIONS.join(", ")),
            K::Service { .. } => {
                "the service is a lowercase namespace such as `iam`, `sts`, `ecr` or `eks`"
                    .to_owned()
            }
            K::Region { .. } => {
                "the region is lowercase, as in `us-west-2`, or empty for IAM and STS".to_owned()
            }
            K::Account { account } => {
                let digits = account.bytes().filter(u8::is_ascii_digit).count();
                if account.bytes().all(|b| b.is_ascii_digit()) && digits < 12 {
                    format!(
                        "AWS account IDs have exactly 12 digits; `{account}` has {digits}: \
                         a leading zero may have been lost (`{account:0>12}`)"
                    )
                } else {
                    "AWS account IDs have exactly 12 digits; AWS managed policies use `aws`"
                        .to_owned()
                }
            }
            K::EmptyResource => "add the resource after the account, as in `role/Name`".to_owned(),
            K::EmptyName { resource_type } => {
                format!("add the name after `{resource_type}`, as in `{resource_type}/Name`")
            }
            K::MissingSession => {
                "assumed-role ARNs look like `arn:aws:sts::123456789012:assumed-role/Role/session`"
                    .to_owned()
            }
        };
        Some(text)
    }
}

/// The six `:`-separated fields of ARN-shaped text,
/// `[arn, partition, service, region, account, resource]`, unvalidated: the
/// resource (the sixth field) keeps any further `:`. `None` when there are
/// fewer than six fields. [`parse`] validates on top of this split; the
/// evaluator uses it alone where IAM compares text that need not be a valid
/// ARN (a request's resource, a pattern).
#[must_use]
pub fn fields(s: &str) -> Option<[&str; 6]> {
    let mut it = s.splitn(6, ':');
    Some([
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    ])
}

/// Which accounts a parse accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Accounts {
    /// 12 digits, `aws` or empty: what AWS writes.
    Strict,
    /// 1 to 12 digits, `aws` or empty.
    Relaxed,
}

/// Parses `s` as an ARN, as AWS writes them: the account is 12 digits, `aws`
/// (AWS managed policies) or empty (S3 buckets and the like).
///
/// # Errors
///
/// Returns an [`ArnError`] when `s` is not a well-formed ARN.
pub fn parse(s: &str) -> Result<Arn, ArnError> {
    parse_with(s, Accounts::Strict)
}

/// Parses `s` as [`parse`] does, but also accepts accounts of 1 to 12 digits
/// (`1234567890`), as fixtures, documentation examples and the evaluator's
/// principals ([`crate::principal::is_account_id`]) use them.
///
/// # Errors
///
/// Returns an [`ArnError`] when `s` is not a well-formed ARN.
pub fn parse_relaxed(s: &str) -> Result<Arn, ArnError> {
    parse_with(s, Accounts::Relaxed)
}

fn parse_with(s: &str, accounts: Accounts) -> Result<Arn, ArnError> {
    let fail = |kind| Err(ArnError::new(s, kind));
    if s.is_empty() {
        return fail(ArnErrorKind::Empty);
    }
    if s.trim() != s {
        return fail(ArnErrorKind::Whitespace);
    }
    let Some([prefix, partition, service, region, account, resource]) = fields(s) else {
        if !s.starts_with("arn:") && s != "arn" {
            return fail(ArnErrorKind::Prefix);
        }
        return fail(ArnErrorKind::TooFewFields {
            found: s.split(':').count(),
        });
    };
    if prefix != "arn" {
        return fail(ArnErrorKind::Prefix);
    }
    if !PARTITIONS.contains(&partition) {
        return fail(ArnErrorKind::Partition {
            partition: partition.to_owned(),
        });
    }
    let lower_word = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    if service.is_empty() || !service.bytes().all(lower_word) {
        return fail(ArnErrorKind::Service {
            service: service.to_owned(),
        });
    }
    if !region.bytes().all(lower_word) {
        return fail(ArnErrorKind::Region {
            region: region.to_owned(),
        });
    }
    let account_ok = account.is_empty()
        || account == "aws"
        || (account.bytes().all(|b| b.is_ascii_digit())
            && match accounts {
                Accounts::Strict => account.len() == 12,
                Accounts::Relaxed => (1..=12).contains(&account.len()),
            });
    if !account_ok {
        return fail(ArnErrorKind::Account {
            account: account.to_owned(),
        });
    }
    if resource.is_empty() {
        return fail(ArnErrorKind::EmptyResource);
    }
    let parts =
        split_resource(service, account, resource).map_err(|kind| ArnError::new(s, kind))?;
    Ok(Arn {
        original: s.to_owned(),
        partition: partition.to_owned(),
        service: service.to_owned(),
        region: region.to_owned(),
        account: account.to_owned(),
        resource: resource.to_owned(),
        resource_type: parts.resource_type.map(str::to_owned),
        resource_name: parts.name.to_owned(),
        path: parts.path,
        session: parts.session.map(str::to_owned),
    })
}

struct ResourceParts<'a> {
    resource_type: Option<&'a str>,
    name: &'a str,
    path: Option<String>,
    session: Option<&'a str>,
}

/// Splits the resource per service (IAM paths, STS sessions).
fn split_resource<'a>(
    service: &str,
    account: &str,
    resource: &'a str,
) -> Result<ResourceParts<'a>, ArnErrorKind> {
    let plain = ResourceParts {
        resource_type: None,
        name: resource,
        path: None,
        session: None,
    };
    // S3 bucket and object ARNs: `arn:aws:s3:::bucket/key`.
    if service == "s3" && account.is_empty() {
        return Ok(plain);
    }
    let Some(sep) = resource.find(['/', ':']) else {
        return Ok(plain);
    };
    if sep == 0 {
        return Ok(plain);
    }
    let (resource_type, rest) = (&resource[..sep], &resource[sep + 1..]);
    let empty_name = || ArnErrorKind::EmptyName {
        resource_type: resource_type.to_owned(),
    };
    if rest.is_empty() {
        return Err(empty_name());
    }
    let separator_is_slash = resource.as_bytes().get(sep) == Some(&b'/');
    if service == "iam" && separator_is_slash && IAM_PATH_TYPES.contains(&resource_type) {
        let (path, name) = match rest.rfind('/') {
            Some(i) => (format!("/{}", &rest[..=i]), &rest[i + 1..]),
            None => ("/".to_owned(), rest),
        };
        if name.is_empty() {
            return Err(empty_name());
        }
        return Ok(ResourceParts {
            resource_type: Some(resource_type),
            name,
            path: Some(path),
            session: None,
        });
    }
    if service == "sts" && resource_type == "assumed-role" {
        let Some((role, session)) = rest.split_once('/') else {
            return Err(ArnErrorKind::MissingSession);
        };
        if role.is_empty() || session.is_empty() {
            return Err(ArnErrorKind::MissingSession);
        }
        return Ok(ResourceParts {
            resource_type: Some(resource_type),
            name: role,
            path: None,
            session: Some(session),
        });
    }
    Ok(ResourceParts {
        resource_type: Some(resource_type),
        name: rest,
        path: None,
        session: None,
    })
}

impl Arn {
    /// The text parsed, unchanged.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// Partition, one of [`PARTITIONS`].
    #[must_use]
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// Service namespace (`iam`, `sts`, `ecr`, `eks`, …).
    #[must_use]
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Region; empty for global resources (IAM, STS, S3 buckets).
    #[must_use]
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Account: 12 digits (1 to 12 from [`parse_relaxed`]), `aws` (AWS managed
    /// IAM policies) or empty.
    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Everything after the account, unchanged (may hold `/` and `:`).
    #[must_use]
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Text before the first `/` or `:` of the resource (`role`,
    /// `assumed-role`, `repository`); `None` when the resource has neither, and
    /// for S3 bucket and object ARNs.
    #[must_use]
    pub fn resource_type(&self) -> Option<&str> {
        self.resource_type.as_deref()
    }

    /// The resource's name: the last segment for IAM types with a path, the
    /// role name for STS `assumed-role`, otherwise everything after the type
    /// and its separator (may contain `/` and `:`), or the whole resource
    /// when there is no type.
    #[must_use]
    pub fn resource_name(&self) -> &str {
        &self.resource_name
    }

    /// IAM path, starting and ending with `/` (`/` when none is written), for
    /// the types in [`IAM_PATH_TYPES`]; `None` for everything else.
    #[must_use]
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// Session name of an STS `assumed-role` ARN.
    #[must_use]
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// Whether `pattern` (a `Resource` or `Arn*` condition value, with IAM's
    /// `*` and `?`) matches this ARN, field by field as IAM does.
    #[must_use]
    pub fn matches(&self, pattern: &str) -> bool {
        ArnPattern::new(pattern).matches(&self.original)
    }

    /// Whether this is an STS assumed-role (session) ARN.
    #[must_use]
    pub fn is_assumed_role(&self) -> bool {
        self.service == "sts" && self.resource_type.as_deref() == Some("assumed-role")
    }

    /// Whether this is an IAM role ARN.
    #[must_use]
    pub fn is_iam_role(&self) -> bool {
        self.service == "iam" && self.resource_type.as_deref() == Some("role")
    }

    /// Whether this is an account root principal, `arn:…:iam::<account>:root`.
    #[must_use]
    pub fn is_account_root(&self) -> bool {
        self.service == "iam" && self.resource == "root"
    }

    /// The role name of an IAM role ARN or an STS assumed-role ARN, for
    /// comparing the two (a session ARN does not carry the role's path).
    #[must_use]
    pub fn role_name(&self) -> Option<&str> {
        (self.is_iam_role() || self.is_assumed_role()).then_some(self.resource_name.as_str())
    }
}

/// The IAM role ARN behind an STS assumed-role ARN:
/// `arn:aws:sts::123456789012:assumed-role/Name/session` gives
/// `arn:aws:iam::123456789012:role/Name`.
///
/// The result has no path, because a session ARN does not carry one: a role
/// created with a path (for example IAM Identity Center roles under
/// `/aws-reserved/sso.amazonaws.com/`, or service roles under `/service-role/`)
/// has the real ARN `arn:aws:iam::123456789012:role/<path>Name`, which differs
/// from the returned string. Compare role names ([`Arn::role_name`]) and
/// accounts when the path may matter.
///
/// An IAM role ARN is returned unchanged; anything else gives `None`.
#[must_use]
pub fn role_arn_from_session(arn: &Arn) -> Option<String> {
    if arn.is_iam_role() {
        return Some(arn.to_string());
    }
    if !arn.is_assumed_role() {
        return None;
    }
    Some(format!(
        "arn:{}:iam::{}:role/{}",
        arn.partition, arn.account, arn.resource_name
    ))
}

impl FromStr for Arn {
    type Err = ArnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl fmt::Display for Arn {
    /// Writes `arn:<partition>:<service>:<region>:<account>:<resource>`,
    /// which equals the parsed input.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

/// A resource ARN pattern as IAM matches it (`Resource`, `NotResource`, the
/// `ArnLike` family of conditions): `*` is any run of characters and `?` one
/// character, each field of `arn:partition:service:region:account:resource`
/// matched on its own, so a wildcard never spans one of the first five `:`
/// (the resource, the sixth field, may itself hold `:` and `/` and is matched
/// as one piece: `log-group:x:*` matches `log-group:x:log-stream:y`).
/// Matching is case-sensitive, and a lone `*` matches everything. Text that is
/// not ARN-shaped (fewer than six fields), on either side, is matched whole,
/// and only against text of the same shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnPattern {
    toks: Vec<Tok>,
}

impl ArnPattern {
    /// Compiles `pattern`.
    #[must_use]
    pub fn new(pattern: &str) -> Self {
        ArnPattern {
            toks: glob::compile(pattern),
        }
    }

    /// Whether the pattern matches `arn` (any text: a request's resource need
    /// not be a valid ARN).
    #[must_use]
    pub fn matches(&self, arn: &str) -> bool {
        match_toks(&self.toks, arn)
    }
}

/// Splits compiled tokens into at most six ARN fields at literal colons.
fn split_toks(toks: &[Tok]) -> Vec<&[Tok]> {
    let mut out = Vec::with_capacity(6);
    let mut start = 0usize;
    for (i, t) in toks.iter().enumerate() {
        if out.len() == 5 {
            break;
        }
        if *t == Tok::Lit(':') {
            out.push(toks.get(start..i).unwrap_or(&[]));
            start = i + 1;
        }
    }
    out.push(toks.get(start..).unwrap_or(&[]));
    out
}

/// Per-field match of compiled tokens (whose policy variables the evaluator
/// has already substituted) against `arn`.
pub(crate) fn match_toks(toks: &[Tok], arn: &str) -> bool {
    if toks == [Tok::Star] {
        return true;
    }
    let pattern = split_toks(toks);
    let Some(text) = fields(arn) else {
        // Not an ARN shape: a whole-text match, of text of that shape only.
        let text: Vec<char> = arn.chars().collect();
        return pattern.len() < 6
            && pattern.len() == arn.split(':').count()
            && glob::match_toks(toks, &text, false);
    };
    pattern.len() == 6
        && pattern.iter().zip(text).all(|(p, a)| {
            let a: Vec<char> = a.chars().collect();
            glob::match_toks(p, &a, false)
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Arn {
        match parse(s) {
            Ok(a) => a,
            Err(e) => unreachable!("`{s}` should parse: {e}"),
        }
    }

    fn err(s: &str) -> ArnError {
        match parse(s) {
            Ok(a) => unreachable!("`{s}` should fail, got {a:?}"),
            Err(e) => e,
        }
    }

    /// (type, name, path, session)
    fn split(a: &Arn) -> (Option<&str>, &str, Option<&str>, Option<&str>) {
        (a.resource_type(), a.resource_name(), a.path(), a.session())
    }

    // ----- IAM -----

    #[test]
    fn iam_role_without_path() {
        let a = ok("arn:aws:iam::123456789012:role/NodeRole");
        assert_eq!(a.as_str(), "arn:aws:iam::123456789012:role/NodeRole");
        assert_eq!(a.partition(), "aws");
        assert_eq!(a.service(), "iam");
        assert_eq!(a.region(), "");
        assert_eq!(a.account(), "123456789012");
        assert_eq!(a.resource(), "role/NodeRole");
        assert_eq!(split(&a), (Some("role"), "NodeRole", Some("/"), None));
    }

    #[test]
    fn iam_role_with_path() {
        let a = ok("arn:aws:iam::123456789012:role/path/to/Name");
        assert_eq!(a.resource(), "role/path/to/Name");
        assert_eq!(split(&a), (Some("role"), "Name", Some("/path/to/"), None));
    }

    #[test]
    fn iam_service_linked_role() {
        let a = ok(
            "arn:aws:iam::123456789012:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS",
        );
        assert_eq!(
            split(&a),
            (
                Some("role"),
                "AWSServiceRoleForAmazonEKS",
                Some("/aws-service-role/eks.amazonaws.com/"),
                None
            )
        );
    }

    #[test]
    fn iam_user_group_instance_profile_mfa() {
        let a = ok("arn:aws:iam::123456789012:user/division/dev/alice");
        assert_eq!(
            split(&a),
            (Some("user"), "alice", Some("/division/dev/"), None)
        );
        let a = ok("arn:aws:iam::123456789012:user/bob@example.com");
        assert_eq!(
            split(&a),
            (Some("user"), "bob@example.com", Some("/"), None)
        );
        let a = ok("arn:aws:iam::123456789012:group/admins");
        assert_eq!(split(&a), (Some("group"), "admins", Some("/"), None));
        let a = ok("arn:aws:iam::123456789012:instance-profile/eks/eks-node-profile");
        assert_eq!(
            split(&a),
            (
                Some("instance-profile"),
                "eks-node-profile",
                Some("/eks/"),
                None
            )
        );
        let a = ok("arn:aws:iam::123456789012:mfa/alice");
        assert_eq!(split(&a), (Some("mfa"), "alice", Some("/"), None));
    }

    #[test]
    fn iam_customer_policy() {
        let a = ok("arn:aws:iam::123456789012:policy/teams/EcrPull");
        assert_eq!(
            split(&a),
            (Some("policy"), "EcrPull", Some("/teams/"), None)
        );
    }

    #[test]
    fn iam_aws_managed_policies() {
        let a = ok("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly");
        assert_eq!(a.account(), "aws");
        assert_eq!(
            split(&a),
            (
                Some("policy"),
                "AmazonEC2ContainerRegistryReadOnly",
                Some("/"),
                None
            )
        );
        let a = ok("arn:aws:iam::aws:policy/service-role/X");
        assert_eq!(
            split(&a),
            (Some("policy"), "X", Some("/service-role/"), None)
        );
        let a = ok("arn:aws-us-gov:iam::aws:policy/AmazonEKSClusterPolicy");
        assert_eq!(a.partition(), "aws-us-gov");
        assert_eq!(a.account(), "aws");
    }

    #[test]
    fn iam_account_root() {
        let a = ok("arn:aws:iam::123456789012:root");
        assert_eq!(a.resource(), "root");
        assert_eq!(split(&a), (None, "root", None, None));
        assert!(a.is_account_root());
        assert!(!ok("arn:aws:iam::123456789012:role/root").is_account_root());
    }

    #[test]
    fn iam_types_without_path_keep_the_remainder() {
        let a = ok(
            "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
        );
        assert_eq!(
            split(&a),
            (
                Some("oidc-provider"),
                "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
                None,
                None
            )
        );
        let a = ok("arn:aws:iam::123456789012:saml-provider/Okta");
        assert_eq!(split(&a), (Some("saml-provider"), "Okta", None, None));
    }

    // ----- STS -----

    #[test]
    fn sts_assumed_role() {
        let a = ok("arn:aws:sts::123456789012:assumed-role/RoleName/session");
        assert_eq!(a.service(), "sts");
        assert_eq!(a.resource(), "assumed-role/RoleName/session");
        assert_eq!(
            split(&a),
            (Some("assumed-role"), "RoleName", None, Some("session"))
        );
        assert!(a.is_assumed_role());
        assert_eq!(a.role_name(), Some("RoleName"));
    }

    #[test]
    fn sts_assumed_role_session_names() {
        let a = ok("arn:aws:sts::123456789012:assumed-role/eks-node/i-0123456789abcdef0");
        assert_eq!(a.session(), Some("i-0123456789abcdef0"));
        let a = ok(
            "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123abcd/alice@example.com",
        );
        assert_eq!(a.resource_name(), "AWSReservedSSO_Admin_0123abcd");
        assert_eq!(a.session(), Some("alice@example.com"));
        let a = ok("arn:aws:sts::123456789012:assumed-role/R/botocore-session-1700000000");
        assert_eq!(a.session(), Some("botocore-session-1700000000"));
    }

    #[test]
    fn sts_assumed_role_needs_a_session() {
        for bad in [
            "arn:aws:sts::123456789012:assumed-role/RoleOnly",
            "arn:aws:sts::123456789012:assumed-role/Role/",
            "arn:aws:sts::123456789012:assumed-role//session",
        ] {
            assert_eq!(err(bad).kind, ArnErrorKind::MissingSession, "{bad}");
        }
        assert_eq!(
            err("arn:aws:sts::123456789012:assumed-role/").kind,
            ArnErrorKind::EmptyName {
                resource_type: "assumed-role".into()
            }
        );
    }

    #[test]
    fn sts_federated_user() {
        let a = ok("arn:aws:sts::123456789012:federated-user/bob");
        assert_eq!(split(&a), (Some("federated-user"), "bob", None, None));
    }

    // ----- other services -----

    #[test]
    fn ecr_repository_keeps_full_name() {
        let a = ok("arn:aws:ecr:us-west-2:123456789012:repository/team/app");
        assert_eq!(a.region(), "us-west-2");
        assert_eq!(split(&a), (Some("repository"), "team/app", None, None));
        let a = ok("arn:aws:ecr:us-west-2:123456789012:repository/retail-sample-app-ui");
        assert_eq!(a.resource_name(), "retail-sample-app-ui");
    }

    #[test]
    fn eks_cluster_and_nodegroup() {
        let a = ok("arn:aws:eks:us-west-2:123456789012:cluster/name");
        assert_eq!(split(&a), (Some("cluster"), "name", None, None));
        let a = ok(
            "arn:aws:eks:us-west-2:123456789012:nodegroup/prod/ng-1/0ac6d1b2-8f2f-4c1c-9e6a-000000000000",
        );
        assert_eq!(
            split(&a),
            (
                Some("nodegroup"),
                "prod/ng-1/0ac6d1b2-8f2f-4c1c-9e6a-000000000000",
                None,
                None
            )
        );
    }

    #[test]
    fn s3_buckets_and_objects_have_no_type() {
        let a = ok("arn:aws:s3:::my-bucket");
        assert_eq!(a.account(), "");
        assert_eq!(split(&a), (None, "my-bucket", None, None));
        let a = ok("arn:aws:s3:::my-bucket/path/to/key.txt");
        assert_eq!(split(&a), (None, "my-bucket/path/to/key.txt", None, None));
        let a = ok("arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap");
        assert_eq!(split(&a), (Some("accesspoint"), "my-ap", None, None));
    }

    #[test]
    fn colon_separated_and_plain_resources() {
        let a = ok("arn:aws:lambda:us-west-2:123456789012:function:my-func:PROD");
        assert_eq!(split(&a), (Some("function"), "my-func:PROD", None, None));
        let a = ok("arn:aws:logs:us-west-2:123456789012:log-group:/aws/eks/prod/cluster:*");
        assert_eq!(
            split(&a),
            (Some("log-group"), "/aws/eks/prod/cluster:*", None, None)
        );
        let a = ok("arn:aws:sns:us-east-1:123456789012:alerts");
        assert_eq!(split(&a), (None, "alerts", None, None));
        let a = ok("arn:aws:ec2:us-east-1::image/ami-0abcdef1234567890");
        assert_eq!(a.account(), "");
        assert_eq!(a.resource_type(), Some("image"));
        let a = ok("arn:aws:secretsmanager:us-east-1:123456789012:secret:db/pass-AbCdEf");
        assert_eq!(split(&a), (Some("secret"), "db/pass-AbCdEf", None, None));
    }

    #[test]
    fn iam_colon_separator_has_no_path() {
        let a = ok("arn:aws:iam::123456789012:role:Weird");
        assert_eq!(split(&a), (Some("role"), "Weird", None, None));
    }

    // ----- partitions and accounts -----

    #[test]
    fn all_partitions() {
        for p in PARTITIONS {
            let a = ok(&format!("arn:{p}:iam::123456789012:role/R"));
            assert_eq!(a.partition(), *p);
        }
        let a = ok("arn:aws-cn:ecr:cn-north-1:123456789012:repository/app");
        assert_eq!(a.partition(), "aws-cn");
        let a = ok("arn:aws-us-gov:eks:us-gov-west-1:123456789012:cluster/c");
        assert_eq!(a.region(), "us-gov-west-1");
    }

    #[test]
    fn unknown_partition() {
        for bad in [
            "arn:aws-foo:iam::123456789012:role/R",
            "arn::iam::123456789012:role/R",
            "arn:AWS:iam::123456789012:role/R",
        ] {
            assert!(
                matches!(err(bad).kind, ArnErrorKind::Partition { .. }),
                "{bad}"
            );
        }
        let e = err("arn:aws-foo:iam::123456789012:role/R");
        assert_eq!(
            e.to_string(),
            "invalid ARN `arn:aws-foo:iam::123456789012:role/R`: unknown partition `aws-foo`"
        );
        assert!(e.help().unwrap().contains("aws-us-gov"));
    }

    #[test]
    fn bad_accounts() {
        let e = err("arn:aws:iam::1234567890:role/R");
        assert_eq!(
            e.to_string(),
            "invalid ARN `arn:aws:iam::1234567890:role/R`: account `1234567890` must be 12 digits"
        );
        assert!(
            e.help().unwrap().contains("`001234567890`"),
            "{:?}",
            e.help()
        );
        for bad in [
            "arn:aws:iam::1234567890123:role/R",
            "arn:aws:iam::12345678901a:role/R",
            "arn:aws:iam::AWS:policy/P",
            "arn:aws:iam::amazon:policy/P",
        ] {
            assert!(
                matches!(err(bad).kind, ArnErrorKind::Account { .. }),
                "{bad}"
            );
        }
    }

    // ----- malformed -----

    #[test]
    fn malformed() {
        assert_eq!(err("").kind, ArnErrorKind::Empty);
        assert_eq!(err("arn").kind, ArnErrorKind::TooFewFields { found: 1 });
        assert_eq!(err("arn:aws").kind, ArnErrorKind::TooFewFields { found: 2 });
        assert_eq!(
            err("arn:aws:iam::123456789012").kind,
            ArnErrorKind::TooFewFields { found: 5 }
        );
        for bad in [
            "ARN:aws:iam::123456789012:role/R",
            "role/R",
            "not-an-arn",
            "xarn:aws:iam::123456789012:role/R",
            "::::::",
        ] {
            assert_eq!(err(bad).kind, ArnErrorKind::Prefix, "{bad}");
        }
        assert_eq!(
            err("arn:aws:iam::123456789012:").kind,
            ArnErrorKind::EmptyResource
        );
        for bad in [
            " arn:aws:iam::123456789012:role/R",
            "arn:aws:iam::123456789012:role/R\n",
        ] {
            assert_eq!(err(bad).kind, ArnErrorKind::Whitespace, "{bad:?}");
        }
        assert!(matches!(
            err("arn:aws:IAM::123456789012:role/R").kind,
            ArnErrorKind::Service { .. }
        ));
        assert!(matches!(
            err("arn:aws:::123456789012:role/R").kind,
            ArnErrorKind::Service { .. }
        ));
        assert!(matches!(
            err("arn:aws:ecr:US-WEST-2:123456789012:repository/x").kind,
            ArnErrorKind::Region { .. }
        ));
    }

    #[test]
    fn empty_names() {
        for (bad, ty) in [
            ("arn:aws:iam::123456789012:role/", "role"),
            ("arn:aws:iam::123456789012:role/path/", "role"),
            (
                "arn:aws:ecr:us-west-2:123456789012:repository/",
                "repository",
            ),
            (
                "arn:aws:lambda:us-west-2:123456789012:function:",
                "function",
            ),
        ] {
            assert_eq!(
                err(bad).kind,
                ArnErrorKind::EmptyName {
                    resource_type: ty.into()
                },
                "{bad}"
            );
        }
    }

    #[test]
    fn every_error_has_help_and_backticked_input() {
        for input in [
            "",
            " arn:aws:iam::123456789012:root",
            "nope",
            "arn:aws",
            "arn:x:iam::123456789012:root",
            "arn:aws:I:::root",
            "arn:aws:iam:R::root",
            "arn:aws:iam::1:root",
            "arn:aws:iam::123456789012:",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:sts::123456789012:assumed-role/R",
        ] {
            let e = err(input);
            let msg = e.to_string();
            let prefix = format!("invalid ARN `{input}`: ");
            assert!(msg.starts_with(&prefix), "{msg}");
            let reason = msg.trim_start_matches(&prefix);
            assert!(
                reason.starts_with("ARN") || !reason.starts_with(char::is_uppercase),
                "{msg}"
            );
            assert!(e.help().is_some_and(|h| !h.is_empty()), "{msg}");
        }
    }

    // ----- helpers -----

    #[test]
    fn role_arn_from_assumed_role_session() {
        let a = ok("arn:aws:sts::123456789012:assumed-role/eks-node-role/i-0abc");
        assert_eq!(
            role_arn_from_session(&a).as_deref(),
            Some("arn:aws:iam::123456789012:role/eks-node-role")
        );
        let a = ok("arn:aws-cn:sts::123456789012:assumed-role/R/s");
        assert_eq!(
            role_arn_from_session(&a).as_deref(),
            Some("arn:aws-cn:iam::123456789012:role/R")
        );
        // the result of a session ARN parses as an IAM role ARN
        let role = ok(&role_arn_from_session(&a).unwrap());
        assert!(role.is_iam_role());
        assert_eq!(role.role_name(), a.role_name());
    }

    #[test]
    fn role_arn_from_role_and_others() {
        let a = ok("arn:aws:iam::123456789012:role/path/Name");
        assert_eq!(
            role_arn_from_session(&a).as_deref(),
            Some("arn:aws:iam::123456789012:role/path/Name")
        );
        assert_eq!(a.role_name(), Some("Name"));
        for other in [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:root",
            "arn:aws:sts::123456789012:federated-user/bob",
            "arn:aws:ecr:us-west-2:123456789012:repository/app",
        ] {
            let a = ok(other);
            assert_eq!(role_arn_from_session(&a), None, "{other}");
            assert_eq!(a.role_name(), None, "{other}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "arn:aws:iam::123456789012:role/path/to/Name",
            "arn:aws:sts::123456789012:assumed-role/R/s",
            "arn:aws:s3:::bucket/key",
            "arn:aws:iam::aws:policy/service-role/X",
        ] {
            let a: Arn = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
            assert_eq!(ok(&a.to_string()), a);
        }
    }

    #[test]
    fn serializes_camel_case() {
        let v = serde_json::to_value(ok("arn:aws:sts::123456789012:assumed-role/R/s")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "original": "arn:aws:sts::123456789012:assumed-role/R/s",
                "partition": "aws",
                "service": "sts",
                "region": "",
                "account": "123456789012",
                "resource": "assumed-role/R/s",
                "resourceType": "assumed-role",
                "resourceName": "R",
                "path": null,
                "session": "s",
            })
        );
    }

    // ----- robustness -----

    /// Random cases for the robustness tests: proptest's runner with a fixed
    /// number of cases (a failure prints the smallest input it shrank to).
    fn cases<S: proptest::strategy::Strategy>(strategy: S, check: impl Fn(S::Value)) {
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 20_000,
            // A fixed seed: a failure in CI is the same failure on a laptop.
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x9E37_79B9_7F4A_7C15),
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        });
        runner
            .run(&strategy, |v| {
                check(v);
                Ok(())
            })
            .unwrap();
    }

    fn check_invariants(input: &str) {
        match parse(input) {
            Ok(a) => {
                assert_eq!(a.to_string(), input);
                assert!(a.resource().ends_with(&a.resource_name()) || a.session().is_some());
                if let Some(path) = &a.path() {
                    assert!(path.starts_with('/') && path.ends_with('/'), "{input:?}");
                }
                if let Some(role) = role_arn_from_session(&a) {
                    assert!(parse(&role).unwrap().is_iam_role());
                }
            }
            Err(e) => {
                assert!(e.to_string().starts_with("invalid ARN `"));
                assert!(e.help().is_some());
            }
        }
    }

    #[test]
    fn fuzz_structured_strings_never_panic() {
        const PIECES: &[&str] = &[
            "arn:",
            "arn:",
            "aws:",
            "aws-cn:",
            "iam:",
            "sts:",
            "ecr:",
            "s3:",
            ":",
            ":",
            "/",
            "/",
            "123456789012:",
            "aws:",
            "us-west-2:",
            "role",
            "assumed-role",
            "policy",
            "root",
            "Name",
            "x",
            "é",
            " ",
            "\u{0}",
        ];
        cases(proptest::collection::vec(0..PIECES.len(), 0..12), |picks| {
            check_invariants(&picks.iter().map(|&i| PIECES[i]).collect::<String>())
        });
    }

    #[test]
    fn fuzz_random_bytes_never_panic() {
        let bytes = proptest::collection::vec(proptest::num::u8::ANY, 0..48);
        cases((bytes, proptest::bool::ANY), |(mut bytes, prefixed)| {
            if prefixed {
                bytes.splice(0..0, b"arn:aws:iam::123456789012:".iter().copied());
            }
            check_invariants(&String::from_utf8_lossy(&bytes));
        });
    }

    // ----- the six fields, relaxed accounts, Display -----

    #[test]
    fn partitions_and_resources_with_colons_and_slashes() {
        let a = ok("arn:aws-cn:iam::123456789012:role/path/name");
        assert_eq!(
            (
                a.partition(),
                a.service(),
                a.region(),
                a.account(),
                a.resource()
            ),
            ("aws-cn", "iam", "", "123456789012", "role/path/name")
        );
        assert_eq!(split(&a), (Some("role"), "name", Some("/path/"), None));
        let a = ok("arn:aws-us-gov:logs:us-gov-west-1:123456789012:log-group:x:*");
        assert_eq!(a.partition(), "aws-us-gov");
        assert_eq!(a.region(), "us-gov-west-1");
        assert_eq!(a.resource(), "log-group:x:*");
        assert_eq!(split(&a), (Some("log-group"), "x:*", None, None));
        assert_eq!(
            a.to_string(),
            "arn:aws-us-gov:logs:us-gov-west-1:123456789012:log-group:x:*"
        );
        // empty region and account
        let a = ok("arn:aws:s3:::my-bucket/a:b/c");
        assert_eq!(
            (a.region(), a.account(), a.resource()),
            ("", "", "my-bucket/a:b/c")
        );
    }

    #[test]
    fn fields_split_six_and_keep_the_resource_whole() {
        assert_eq!(
            fields("arn:aws:logs:us-east-1:1:log-group:x:log-stream:y"),
            Some([
                "arn",
                "aws",
                "logs",
                "us-east-1",
                "1",
                "log-group:x:log-stream:y"
            ])
        );
        assert_eq!(
            fields("arn:aws:s3:::"),
            Some(["arn", "aws", "s3", "", "", ""])
        );
        assert_eq!(fields("arn:aws:s3::"), None);
        assert_eq!(fields(""), None);
    }

    #[test]
    fn relaxed_accepts_short_accounts_only() {
        assert!(matches!(
            parse("arn:aws:iam::1234567890:role/R"),
            Err(ArnError {
                kind: ArnErrorKind::Account { .. },
                ..
            })
        ));
        let a = parse_relaxed("arn:aws:iam::1234567890:role/R").unwrap();
        assert_eq!((a.account(), a.resource_name()), ("1234567890", "R"));
        assert_eq!(
            parse_relaxed("arn:aws:iam::aws:policy/P")
                .unwrap()
                .account(),
            "aws"
        );
        for bad in [
            "arn:aws:iam::1234567890123:role/R",
            "arn:aws:iam::12a:role/R",
            "arn:aws:iam::*:role/R",
            "arn:aws:iam::1:role/",
            "arn:nope:iam::1:role/R",
            "arn:aws:IAM::1:role/R",
            "arn:aws:iam::1:",
            "arn:aws:iam::1",
            "role/R",
        ] {
            assert!(parse_relaxed(bad).is_err(), "{bad}");
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn invalid_inputs_have_typed_errors() {
        use ArnErrorKind as K;
        let kind = |s: &str| err(s).kind;
        assert_eq!(kind(""), K::Empty);
        assert_eq!(kind(" arn:aws:iam::123456789012:root"), K::Whitespace);
        assert_eq!(kind("urn:aws:iam::123456789012:root"), K::Prefix);
        assert_eq!(kind("arn"), K::TooFewFields { found: 1 });
        assert_eq!(
            kind("arn:aws:iam:123456789012:root"),
            K::TooFewFields { found: 5 }
        );
        assert_eq!(kind("arn:aws:iam::123456789012:"), K::EmptyResource);
        assert!(matches!(
            kind("arn:aws-xx:iam::123456789012:root"),
            K::Partition { .. }
        ));
        assert!(matches!(
            kind("arn:aws::us-east-1:123456789012:x"),
            K::Service { .. }
        ));
        assert!(matches!(
            kind("arn:aws:ecr:US-EAST-1:123456789012:x"),
            K::Region { .. }
        ));
    }

    // ----- wildcard matching, per field as IAM does -----

    #[test]
    fn patterns_match_per_field() {
        let arn = ok("arn:aws:ecr:us-east-1:111122223333:repository/team/app");
        for (pattern, expected) in [
            ("*", true),
            ("arn:aws:ecr:*:*:repository/*", true),
            ("arn:aws:ecr:us-east-1:111122223333:repository/team/*", true),
            (
                "arn:aws:ecr:us-east-?:111122223333:repository/team/app",
                true,
            ),
            ("arn:aws:ecr:*:111122223333:*", true),
            // a wildcard does not span the `:` between fields
            ("arn:aws:ecr:us-*:repository/team/app", false),
            ("arn:aws:*:repository/team/app", false),
            // case-sensitive
            ("arn:aws:ecr:*:*:Repository/*", false),
            ("arn:aws-cn:ecr:*:*:repository/*", false),
            ("arn:aws:ecr:*:*:repository/team", false),
        ] {
            assert_eq!(arn.matches(pattern), expected, "{pattern}");
            assert_eq!(
                crate::glob::arn_matches(pattern, arn.as_str()),
                expected,
                "{pattern}"
            );
        }
        // the resource field holds `:` and is matched as one piece
        let stream = "arn:aws:logs:us-east-1:111122223333:log-group:x:log-stream:y";
        assert!(ArnPattern::new("arn:aws:logs:*:*:log-group:x:*").matches(stream));
        assert!(!ArnPattern::new("arn:aws:logs:*:*:log-group:y:*").matches(stream));
        // empty region and account match only empty or `*`
        assert!(ArnPattern::new("arn:aws:s3:::bucket/*").matches("arn:aws:s3:::bucket/k"));
        assert!(ArnPattern::new("arn:aws:s3:*:*:bucket/*").matches("arn:aws:s3:::bucket/k"));
        assert!(!ArnPattern::new("arn:aws:s3:?::bucket/*").matches("arn:aws:s3:::bucket/k"));
        // text that is no ARN is matched whole, against text of its shape
        assert!(ArnPattern::new("not-an-arn*").matches("not-an-arn-at-all"));
        assert!(!ArnPattern::new("a:*").matches("a:b:c"));
        assert!(!ArnPattern::new("arn:aws:s3:::*").matches("bucket"));
    }

    proptest::proptest! {
        #[test]
        fn parsed_arns_round_trip_and_match_themselves(
            partition in proptest::sample::select(PARTITIONS),
            service in "[a-z][a-z0-9-]{0,8}",
            region in "([a-z]{2}-[a-z]+-[0-9])?",
            account in "([0-9]{12}|aws)?",
            resource in "[A-Za-z0-9_+=,.@/:-]{0,20}[A-Za-z0-9]",
        ) {
            let text = format!("arn:{partition}:{service}:{region}:{account}:{resource}");
            let a = match parse(&text) {
                Ok(a) => Some(a),
                // a type followed by nothing (`assumed-role/x` without a session)
                Err(ArnError {
                    kind: ArnErrorKind::EmptyName { .. } | ArnErrorKind::MissingSession,
                    ..
                }) => None,
                Err(e) => panic!("{text}: {e}"),
            };
            if let Some(a) = a {
                proptest::prop_assert_eq!(a.to_string(), text.clone());
                proptest::prop_assert_eq!(
                    [a.partition(), a.service(), a.region(), a.account(), a.resource()],
                    [partition, service.as_str(), region.as_str(), account.as_str(), resource.as_str()]
                );
                proptest::prop_assert!(a.matches(&text));
                proptest::prop_assert!(a.matches("*"));
                let wild = format!("arn:{partition}:{service}:*:*:*");
                proptest::prop_assert!(a.matches(&wild));
                let other = format!("arn:{partition}:{service}x:*:*:*");
                proptest::prop_assert!(!a.matches(&other));
            }
        }

        #[test]
        fn a_star_in_a_field_never_spans_into_the_next(
            region in "[a-z]{2}-[a-z]+-[0-9]",
            account in "[0-9]{12}",
        ) {
            let text = format!("arn:aws:ecr:{region}:{account}:repository/app");
            // a pattern with five fields plus the resource shifted left by one
            let shifted = "arn:aws:ecr:*:repository/app";
            proptest::prop_assert!(!ArnPattern::new(shifted).matches(&text));
            let region_only = format!("arn:aws:ecr:{region}*:repository/app");
            proptest::prop_assert!(!ArnPattern::new(&region_only).matches(&text));
        }
    }
}
