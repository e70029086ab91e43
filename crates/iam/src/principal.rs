//! The requesting principal and `Principal`/`NotPrincipal` matching.
//!
//! * `"*"` (or `{"AWS": "*"}`) matches everyone.
//! * An account (`"123456789012"` or `arn:aws:iam::123456789012:root`)
//!   matches every principal of that account, but in an `Allow` it only
//!   *delegates* to the account: the principal still needs an identity-based
//!   grant. Its `Deny` applies to every principal of the account.
//! * A role ARN (with its path) matches the role and all its assumed-role
//!   sessions; an assumed-role session ARN matches that session only.
//! * Unique ids (`AROA...`, `AIDA...`) match the principal with that id.
//! * Principal values never contain wildcards other than a lone `*`.

use serde::Serialize;

use crate::arn::ArnErrorKind;
use crate::error::IamError;
use crate::policy::{PrincipalClause, PrincipalEntry, PrincipalKind, PrincipalSet};

/// What the request's principal is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerKind {
    /// An IAM role or one of its sessions.
    Role {
        /// Role name.
        name: String,
        /// Role path (`/` when none); `None` when only the session ARN is
        /// known (it does not carry the path).
        path: Option<String>,
        /// Session name, when the principal is a session ARN.
        session: Option<String>,
    },
    /// An IAM user.
    User {
        /// User name.
        name: String,
        /// User path.
        path: String,
    },
    /// The account root user.
    Root,
    /// A service principal such as `ec2.amazonaws.com`.
    Service(String),
}

/// The principal that makes the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The principal as given.
    pub arn: String,
    /// ARN partition (`aws`, `aws-cn`, `aws-us-gov`, ...).
    pub partition: String,
    /// Account id (empty for service principals).
    pub account: String,
    /// What kind of principal it is.
    pub kind: CallerKind,
    /// Unique id (`AROA...` or `AROA...:session`), if given.
    pub principal_id: Option<String>,
}

impl Caller {
    /// Parses a principal: a role ARN (`arn:aws:iam::ACCT:role/path/Name`,
    /// taken to be one of its sessions), a session ARN
    /// (`arn:aws:sts::ACCT:assumed-role/Name/session`), a user ARN, an
    /// account root ARN or bare account id, or a service principal.
    pub fn parse(principal: &str, principal_id: Option<&str>) -> Result<Caller, IamError> {
        let bad = |reason: &str| IamError::request("principal", format!("`{principal}`: {reason}"));
        let principal_id = principal_id.map(str::to_string);
        if is_account_id(principal) {
            return Ok(Caller {
                arn: format!("arn:aws:iam::{principal}:root"),
                partition: "aws".into(),
                account: principal.into(),
                kind: CallerKind::Root,
                principal_id,
            });
        }
        if !principal.starts_with("arn:") {
            if principal.ends_with(".amazonaws.com") || principal.ends_with(".amazonaws.com.cn") {
                return Ok(Caller {
                    arn: principal.into(),
                    partition: "aws".into(),
                    account: String::new(),
                    kind: CallerKind::Service(principal.into()),
                    principal_id,
                });
            }
            return Err(bad(
                "expected an iam or sts arn, an account id or a service principal",
            ));
        }
        let arn = crate::arn::parse_relaxed(principal).map_err(|e| match e.kind {
            ArnErrorKind::Account { .. } => bad("the arn has no account id"),
            ArnErrorKind::EmptyName { resource_type } if resource_type == "role" => {
                bad("the role arn has no role name")
            }
            ArnErrorKind::EmptyName { resource_type } if resource_type == "user" => {
                bad("the user arn has no user name")
            }
            ArnErrorKind::MissingSession => bad("expected assumed-role/NAME/SESSION"),
            kind => bad(&format!("not an arn: {kind}")),
        })?;
        if !is_account_id(arn.account()) {
            return Err(bad("the arn has no account id"));
        }
        let kind = match (arn.service(), arn.resource_type(), arn.path()) {
            ("iam", None, _) if arn.is_account_root() => CallerKind::Root,
            ("iam", Some("role"), Some(path)) => CallerKind::Role {
                name: arn.resource_name().into(),
                path: Some(path.into()),
                session: None,
            },
            ("iam", Some("user"), Some(path)) => CallerKind::User {
                name: arn.resource_name().into(),
                path: path.into(),
            },
            ("sts", Some("assumed-role"), _) => CallerKind::Role {
                name: arn.resource_name().into(),
                path: None,
                session: arn.session().map(str::to_string),
            },
            _ => {
                return Err(bad(
                    "unsupported principal arn (expected a role, session, user or root)",
                ));
            }
        };
        Ok(Caller {
            arn: principal.into(),
            partition: arn.partition().into(),
            account: arn.account().into(),
            kind,
            principal_id,
        })
    }

    /// A role session's ARN has no role path (`assumed-role/NAME/SESSION`); the
    /// request context's `aws:PrincipalArn`, when given as the same role's ARN,
    /// supplies it, so `aws:PrincipalArn` and a fix's new `Principal` name the
    /// role as IAM knows it.
    pub fn learn_role_path(&mut self, given: Option<&crate::input::ContextValue>) {
        let Some(crate::input::ContextValue::Values(values)) = given else {
            return;
        };
        let [arn] = values.as_slice() else {
            return;
        };
        let Ok(role) = Caller::parse(arn, None) else {
            return;
        };
        if let (
            CallerKind::Role {
                name, path: mine, ..
            },
            CallerKind::Role {
                name: theirs,
                path: Some(p),
                session: None,
                ..
            },
        ) = (&mut self.kind, role.kind)
            && mine.is_none()
            && *name == theirs
            && self.account == role.account
            && self.partition == role.partition
        {
            *mine = Some(p);
        }
    }

    /// The role's IAM ARN (for sessions, with the path if known, else `/`).
    pub fn role_arn(&self) -> Option<String> {
        match &self.kind {
            CallerKind::Role { name, path, .. } => Some(format!(
                "arn:{}:iam::{}:role{}{}",
                self.partition,
                self.account,
                path.as_deref().unwrap_or("/"),
                name
            )),
            _ => None,
        }
    }

    /// The value of `aws:PrincipalArn`: the role ARN for roles and sessions,
    /// the user ARN for users, the root ARN for the root user.
    pub fn principal_arn(&self) -> String {
        self.role_arn().unwrap_or_else(|| self.arn.clone())
    }

    /// The value of `aws:PrincipalType`.
    pub fn principal_type(&self) -> &'static str {
        match &self.kind {
            CallerKind::Role { .. } => "AssumedRole",
            CallerKind::User { .. } => "User",
            CallerKind::Root => "Account",
            CallerKind::Service(_) => "Service",
        }
    }

    /// Whether the principal is an AWS account principal (not a service).
    pub fn is_service(&self) -> bool {
        matches!(self.kind, CallerKind::Service(_))
    }
}

/// Whether `s` looks like an account id: all digits, at most 12 (AWS uses
/// exactly 12; shorter ids such as `1234567890` are accepted because
/// fixtures and documentation examples use them).
pub fn is_account_id(s: &str) -> bool {
    (1..=12).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// How a principal entry matched the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PrincipalMatchKind {
    /// `*`: everyone.
    Wildcard,
    /// The caller's account (delegation for Allow, everyone in it for Deny).
    Account,
    /// The caller's role ARN (matches all its sessions).
    Role,
    /// The caller's exact assumed-role session ARN.
    RoleSession,
    /// The caller's IAM user ARN.
    User,
    /// The caller's unique id.
    UniqueId,
    /// The caller's service principal.
    Service,
    /// A federated or canonical-user principal equal to the caller.
    Exact,
    /// `NotPrincipal`: the caller is not (fully) listed.
    NotPrincipal,
}

/// Explanation of a `Principal`/`NotPrincipal` match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrincipalMatch {
    /// `Principal` or `NotPrincipal`.
    pub element: String,
    /// How it matched.
    pub kind: PrincipalMatchKind,
    /// The entry that matched (for `NotPrincipal`: the identity levels of
    /// the caller that the list does not name).
    pub pattern: String,
}

fn same_name(a: &str, b: &str) -> bool {
    // IAM user and role names are unique case-insensitively.
    a.eq_ignore_ascii_case(b)
}

/// How one `AWS` principal value matches the caller, if it does.
pub fn match_aws_value(value: &str, caller: &Caller) -> Option<PrincipalMatchKind> {
    if value == "*" {
        return Some(PrincipalMatchKind::Wildcard);
    }
    if caller.is_service() {
        return None;
    }
    if is_account_id(value) {
        return (value == caller.account).then_some(PrincipalMatchKind::Account);
    }
    if !value.starts_with("arn:") {
        // unique id such as AROAEXAMPLEID
        let id = caller.principal_id.as_deref()?;
        let base = id.split(':').next().unwrap_or(id);
        return (!value.is_empty() && base == value).then_some(PrincipalMatchKind::UniqueId);
    }
    let arn = crate::arn::parse_relaxed(value).ok()?;
    if arn.partition() != caller.partition || arn.account() != caller.account {
        return None;
    }
    match (arn.service(), arn.resource_type(), arn.path(), &caller.kind) {
        ("iam", None, _, _) if arn.is_account_root() => Some(PrincipalMatchKind::Account),
        ("iam", Some("role"), Some(p_path), CallerKind::Role { name, path, .. }) => {
            let path_ok = path.as_deref().is_none_or(|p| p == p_path);
            (same_name(arn.resource_name(), name) && path_ok).then_some(PrincipalMatchKind::Role)
        }
        (
            "sts",
            Some("assumed-role"),
            _,
            CallerKind::Role {
                name,
                session: Some(session),
                ..
            },
        ) => (same_name(arn.resource_name(), name) && arn.session() == Some(session.as_str()))
            .then_some(PrincipalMatchKind::RoleSession),
        ("iam", Some("user"), Some(p_path), CallerKind::User { name, path }) => {
            (same_name(arn.resource_name(), name) && p_path == path)
                .then_some(PrincipalMatchKind::User)
        }
        _ => None,
    }
}

/// How one principal entry matches the caller, if it does.
pub fn match_entry(entry: &PrincipalEntry, caller: &Caller) -> Option<PrincipalMatchKind> {
    match entry.kind {
        PrincipalKind::Aws => match_aws_value(&entry.value, caller),
        PrincipalKind::Service => match &caller.kind {
            _ if entry.value == "*" => Some(PrincipalMatchKind::Wildcard),
            CallerKind::Service(s) if s.eq_ignore_ascii_case(&entry.value) => {
                Some(PrincipalMatchKind::Service)
            }
            _ => None,
        },
        PrincipalKind::Federated | PrincipalKind::CanonicalUser => {
            (entry.value == caller.arn).then_some(PrincipalMatchKind::Exact)
        }
    }
}

/// The best (most specific) match of a set of principals against the caller.
fn best_match(set: &PrincipalSet, caller: &Caller) -> Option<(PrincipalMatchKind, String)> {
    let entries = match set {
        PrincipalSet::Any => return Some((PrincipalMatchKind::Wildcard, "*".into())),
        PrincipalSet::Entries(e) => e,
    };
    // the entry that grants the most wins: a session/user ARN or `*` grant
    // is not limited by a permissions boundary, a role grant is, an
    // account grant only delegates (see `eval`); among equals, the most
    // specific entry explains best.
    let rank = |k: PrincipalMatchKind| match k {
        PrincipalMatchKind::RoleSession | PrincipalMatchKind::User => 0,
        PrincipalMatchKind::Wildcard => 1,
        PrincipalMatchKind::Role | PrincipalMatchKind::UniqueId => 2,
        PrincipalMatchKind::Service | PrincipalMatchKind::Exact => 2,
        PrincipalMatchKind::Account => 3,
        PrincipalMatchKind::NotPrincipal => 4,
    };
    entries
        .iter()
        .filter_map(|e| match_entry(e, caller).map(|k| (k, e.value.clone())))
        .min_by_key(|(k, _)| rank(*k))
}

/// Matches a `Principal`/`NotPrincipal` clause against the caller.
///
/// `NotPrincipal` excludes the caller only when every identity level of the
/// caller is listed: the account, the role (for roles and sessions), the
/// session (for sessions) or the user (IAM User Guide, "NotPrincipal with
/// Deny"). Otherwise the statement applies.
pub fn match_clause(clause: &PrincipalClause, caller: &Caller) -> Option<PrincipalMatch> {
    if !clause.negated {
        return best_match(&clause.set, caller).map(|(kind, pattern)| PrincipalMatch {
            element: "Principal".into(),
            kind,
            pattern,
        });
    }
    let kinds: Vec<PrincipalMatchKind> = match &clause.set {
        PrincipalSet::Any => return None,
        PrincipalSet::Entries(e) => e.iter().filter_map(|e| match_entry(e, caller)).collect(),
    };
    let has = |wanted: &[PrincipalMatchKind]| {
        kinds
            .iter()
            .any(|k| *k == PrincipalMatchKind::Wildcard || wanted.contains(k))
    };
    // identity levels of the caller and the entry kinds that list each
    let levels: Vec<(&str, &[PrincipalMatchKind])> = match &caller.kind {
        CallerKind::Service(_) => vec![("service", &[PrincipalMatchKind::Service])],
        CallerKind::Root => vec![("account", &[PrincipalMatchKind::Account])],
        CallerKind::Role { session, .. } => {
            let mut l: Vec<(&str, &[PrincipalMatchKind])> = vec![
                ("account", &[PrincipalMatchKind::Account]),
                (
                    "role",
                    &[PrincipalMatchKind::Role, PrincipalMatchKind::UniqueId],
                ),
            ];
            if session.is_some() {
                l.push(("session", &[PrincipalMatchKind::RoleSession]));
            }
            l
        }
        CallerKind::User { .. } => vec![
            ("account", &[PrincipalMatchKind::Account]),
            (
                "user",
                &[PrincipalMatchKind::User, PrincipalMatchKind::UniqueId],
            ),
        ],
    };
    let unlisted: Vec<&str> = levels
        .into_iter()
        .filter(|(_, kinds)| !has(kinds))
        .map(|(name, _)| name)
        .collect();
    (!unlisted.is_empty()).then(|| PrincipalMatch {
        element: "NotPrincipal".into(),
        kind: PrincipalMatchKind::NotPrincipal,
        pattern: format!("unlisted: {}", unlisted.join(", ")),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/EksNode/i-0abc";

    #[test]
    fn parses_principals() {
        let c = Caller::parse(SESSION, None).unwrap();
        assert_eq!(c.account, "111122223333");
        assert_eq!(
            c.role_arn().unwrap(),
            "arn:aws:iam::111122223333:role/EksNode"
        );
        let r = Caller::parse("arn:aws:iam::111122223333:role/eks/nodes/EksNode", None).unwrap();
        assert_eq!(
            r.role_arn().unwrap(),
            "arn:aws:iam::111122223333:role/eks/nodes/EksNode"
        );
        assert!(Caller::parse("nonsense", None).is_err());
        assert!(Caller::parse("arn:aws:iam::12a:role/x", None).is_err());
        assert!(Caller::parse("arn:aws:sts::111122223333:assumed-role/x", None).is_err());
    }

    #[test]
    fn a_session_learns_its_role_path_from_the_principal_arn_key() {
        use crate::input::ContextValue;
        let path_of = |given: &str| {
            let mut c = Caller::parse(SESSION, None).unwrap();
            c.learn_role_path(Some(&ContextValue::Values(vec![given.into()])));
            c.principal_arn()
        };
        assert_eq!(
            path_of("arn:aws:iam::111122223333:role/eks/nodes/EksNode"),
            "arn:aws:iam::111122223333:role/eks/nodes/EksNode"
        );
        // another role, another account, or a session: the path stays unknown (`/`)
        for other in [
            "arn:aws:iam::111122223333:role/eks/Other",
            "arn:aws:iam::444455556666:role/eks/EksNode",
            "arn:aws:sts::111122223333:assumed-role/EksNode/x",
        ] {
            assert_eq!(path_of(other), "arn:aws:iam::111122223333:role/EksNode");
        }
    }

    #[test]
    fn role_arn_with_path_matches_session() {
        let c = Caller::parse(SESSION, Some("AROAEXAMPLE:i-0abc")).unwrap();
        let m = |v: &str| match_aws_value(v, &c);
        assert_eq!(
            m("arn:aws:iam::111122223333:role/some/path/EksNode"),
            Some(PrincipalMatchKind::Role)
        );
        assert_eq!(m(SESSION), Some(PrincipalMatchKind::RoleSession));
        assert_eq!(
            m("arn:aws:sts::111122223333:assumed-role/EksNode/other"),
            None
        );
        assert_eq!(m("111122223333"), Some(PrincipalMatchKind::Account));
        assert_eq!(
            m("arn:aws:iam::111122223333:root"),
            Some(PrincipalMatchKind::Account)
        );
        assert_eq!(m("444455556666"), None);
        assert_eq!(m("AROAEXAMPLE"), Some(PrincipalMatchKind::UniqueId));
        assert_eq!(m("*"), Some(PrincipalMatchKind::Wildcard));
        let with_path = Caller::parse("arn:aws:iam::111122223333:role/a/EksNode", None).unwrap();
        assert_eq!(
            match_aws_value("arn:aws:iam::111122223333:role/b/EksNode", &with_path),
            None
        );
    }
}
