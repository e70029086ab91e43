//! Explanations: which statements decided, how each element matched, what
//! grant is missing, and the message AWS itself would return.

use serde::Serialize;

use crate::condition::{BaseOperator, ConditionOutcome, KeyState, Outcome};
use crate::policy::Effect;
use crate::principal::PrincipalMatch;

/// The kind of policy a statement comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicyType {
    /// Identity-based policy (managed or inline) of the principal.
    Identity,
    /// Resource-based policy (ECR repository or registry policy).
    Resource,
    /// Permissions boundary of the principal.
    PermissionsBoundary,
    /// AWS Organizations service control policy.
    ServiceControl,
    /// Session policy.
    Session,
    /// VPC endpoint policy.
    VpcEndpoint,
}

impl PolicyType {
    /// The phrase AWS uses in authorization error messages.
    pub fn aws_phrase(self) -> &'static str {
        match self {
            PolicyType::Identity => "identity-based policy",
            PolicyType::Resource => "resource-based policy",
            PolicyType::PermissionsBoundary => "permissions boundary",
            PolicyType::ServiceControl => "service control policy",
            PolicyType::Session => "session policy",
            PolicyType::VpcEndpoint => "VPC endpoint policy",
        }
    }

    /// Short label used in summaries.
    pub fn label(self) -> &'static str {
        match self {
            PolicyType::Identity => "identity policy",
            PolicyType::Resource => "resource policy",
            PolicyType::PermissionsBoundary => "permissions boundary",
            PolicyType::ServiceControl => "service control policy",
            PolicyType::Session => "session policy",
            PolicyType::VpcEndpoint => "vpc endpoint policy",
        }
    }
}

/// The final decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Decision {
    /// Some policy grants the request and none denies it.
    Allowed,
    /// No applicable grant (and no applicable explicit deny).
    ImplicitlyDenied,
    /// An applicable statement denies the request.
    ExplicitlyDenied,
    /// The outcome depends on context keys whose values are unknown.
    Unknown,
}

impl Decision {
    /// Whether the request is allowed.
    pub fn is_allowed(self) -> bool {
        self == Decision::Allowed
    }
}

/// How the `Action`/`NotAction` element matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionMatch {
    /// `Action` or `NotAction`.
    pub element: String,
    /// The pattern that matched (for `NotAction`, the list that did not).
    pub pattern: String,
    /// The concrete action it expanded to.
    pub action: String,
}

/// How the `Resource`/`NotResource` element matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceMatch {
    /// `Resource`, `NotResource`, or `(omitted)` (the attached resource).
    pub element: String,
    /// The pattern that matched, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The request's resource.
    pub resource: String,
    /// The outcome of this element.
    pub outcome: Outcome,
}

/// One statement relevant to the requested action, and how it fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatementDetail {
    /// Where the statement comes from.
    pub policy_type: PolicyType,
    /// The policy's name.
    pub policy_name: String,
    /// The policy's ARN, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_arn: Option<String>,
    /// The statement's `Sid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The statement's index.
    pub index: usize,
    /// `Allow` or `Deny`.
    pub effect: Effect,
    /// Whether the statement applies to the request.
    pub outcome: Outcome,
    /// The first element that did not match, when it does not apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_element: Option<String>,
    /// Principal match (resource and VPC endpoint policies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<PrincipalMatch>,
    /// Action match.
    pub action: ActionMatch,
    /// Resource match.
    pub resource: ResourceMatch,
    /// Each condition's key, values and outcome.
    pub conditions: Vec<ConditionOutcome>,
    /// The statement as written in the policy.
    pub statement: serde_json::Map<String, serde_json::Value>,
}

impl StatementDetail {
    /// `statement `Sid` (index N) of resource policy `name``.
    pub fn describe(&self) -> String {
        let st = match &self.sid {
            Some(s) if !s.is_empty() => format!("statement `{s}` (index {})", self.index),
            _ => format!("statement index {}", self.index),
        };
        format!(
            "{st} of {} `{}`",
            self.policy_type.label(),
            self.policy_name
        )
    }
}

/// The grant that would be needed for an implicitly denied request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingGrant {
    /// Policy types of which at least one more must allow.
    pub policy_types: Vec<PolicyType>,
    /// Human-readable description.
    pub description: String,
}

/// The explanation of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// One-line summary.
    pub summary: String,
    /// The principal as given.
    pub principal: String,
    /// The action evaluated.
    pub action: String,
    /// The resource evaluated.
    pub resource: String,
    /// The principal's account.
    pub principal_account: String,
    /// The resource's account.
    pub resource_account: String,
    /// Whether principal and resource are in different accounts.
    pub cross_account: bool,
    /// The statements that decided (denies for a deny, grants for an
    /// allow, unknown ones for an unknown decision).
    pub deciding_statements: Vec<StatementDetail>,
    /// Every statement whose action matched, with its outcome.
    pub statements: Vec<StatementDetail>,
    /// For implicit denies: the grant that is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_grant: Option<MissingGrant>,
    /// For denials: the message AWS would give.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_message: Option<String>,
    /// Context keys the decision depends on (lower-cased).
    pub unknown_keys: Vec<String>,
    /// For unknown decisions: what would make it go either way.
    pub unknown_because: Vec<String>,
    /// For explicit denies: the conditions of the deciding `Deny`
    /// statements on request-context keys of a data perimeter (network
    /// origin, organization, account, principal tags). Empty otherwise.
    pub perimeter: Vec<PerimeterCondition>,
    /// True when every deciding `Deny` has conditions and all of them are
    /// perimeter conditions: the deny is a data perimeter, and would not
    /// apply if the request carried what [`PerimeterCondition::needs`] says.
    pub perimeter_only: bool,
}

/// One data-perimeter condition of a deciding `Deny`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PerimeterCondition {
    /// The statement: its `Sid`, else `#INDEX`.
    pub statement: String,
    /// The kind of policy the statement is in.
    pub policy_type: PolicyType,
    /// The policy's name.
    pub policy_name: String,
    /// The condition key as written in the policy.
    pub key: String,
    /// The operator, canonically named (e.g. `StringNotEqualsIfExists`).
    pub operator: String,
    /// The values listed in the policy.
    pub values: Vec<String>,
    /// The request's value: a string, an array for several values, or
    /// `null` when the request does not carry the key.
    pub request_value: serde_json::Value,
    /// What the request would need for this condition not to deny, e.g.
    /// "the request must come through VPC endpoint `vpce-0abc`".
    pub needs: String,
}

/// Condition keys of data perimeters: where the request comes from and
/// whose principal makes it (lower-cased; `aws:PrincipalTag/` is a prefix).
const PERIMETER_KEYS: &[&str] = &[
    "aws:sourcevpce",
    "aws:sourcevpc",
    "aws:sourceip",
    "aws:vpcsourceip",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
];

/// Whether `key` is a data-perimeter condition key.
pub fn is_perimeter_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    PERIMETER_KEYS.contains(&k.as_str()) || k.starts_with("aws:principaltag/")
}

/// The perimeter conditions of the deciding `Deny` statements of an
/// explicit deny, and whether the deny is only a perimeter.
pub(crate) fn perimeter(deciding: &[StatementDetail]) -> (Vec<PerimeterCondition>, bool) {
    let denies: Vec<&StatementDetail> = deciding
        .iter()
        .filter(|d| d.effect == Effect::Deny)
        .collect();
    let mut out = Vec::new();
    for d in &denies {
        let statement = match &d.sid {
            Some(s) if !s.is_empty() => s.clone(),
            _ => format!("#{}", d.index),
        };
        for c in d.conditions.iter().filter(|c| is_perimeter_key(&c.key)) {
            let request_value = match (c.key_state, c.request_values.as_slice()) {
                (KeyState::Present, [one]) => serde_json::Value::String(one.clone()),
                (KeyState::Present, many) => serde_json::Value::Array(
                    many.iter()
                        .cloned()
                        .map(serde_json::Value::String)
                        .collect(),
                ),
                _ => serde_json::Value::Null,
            };
            out.push(PerimeterCondition {
                statement: statement.clone(),
                policy_type: d.policy_type,
                policy_name: d.policy_name.clone(),
                key: c.key.clone(),
                operator: c.operator.clone(),
                values: c.policy_values.clone(),
                request_value,
                needs: perimeter_needs(c),
            });
        }
    }
    let only = !denies.is_empty()
        && denies.iter().all(|d| {
            !d.conditions.is_empty() && d.conditions.iter().all(|c| is_perimeter_key(&c.key))
        });
    (out, only)
}

/// One line on what the request needs for a perimeter condition of a
/// `Deny` not to hold.
fn perimeter_needs(c: &ConditionOutcome) -> String {
    let key_l = c.key.to_ascii_lowercase();
    let tag;
    let (subject, verb, noun) = match key_l.as_str() {
        "aws:sourcevpce" => ("the request", "come through", "VPC endpoint"),
        "aws:sourcevpc" => ("the request", "come from", "VPC"),
        "aws:sourceip" => ("the request", "come from", "a public IP address in"),
        "aws:vpcsourceip" => ("the request", "come from", "a VPC IP address in"),
        "aws:principalorgid" => ("the principal", "belong to", "organization"),
        "aws:principalorgpaths" => ("the principal's account", "be under", "organization path"),
        "aws:principalaccount" => ("the principal", "belong to", "account"),
        _ => {
            let name = c.key.split_once('/').map(|(_, t)| t).unwrap_or(&c.key);
            tag = format!("tag `{name}` with value");
            ("the principal", "carry", tag.as_str())
        }
    };
    let quoted = |v: &[String]| {
        v.iter()
            .map(|x| format!("`{x}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let operator = crate::condition::Operator::parse(&c.operator);
    if operator.is_some_and(|o| o.base == BaseOperator::Null) {
        // Null true: the deny holds when the key is absent
        let absent_denies = c
            .policy_values
            .iter()
            .any(|v| v.eq_ignore_ascii_case("true"));
        let not = if absent_denies { "" } else { " not" };
        return format!("the request must{not} carry `{}`", c.key);
    }
    let negated = operator.is_some_and(|o| o.base.is_negated());
    match (negated, c.policy_values.as_slice()) {
        (true, [_]) => format!("{subject} must {verb} {noun} {}", quoted(&c.policy_values)),
        (true, _) => format!(
            "{subject} must {verb} {noun} one of {}",
            quoted(&c.policy_values)
        ),
        (false, [_]) => format!(
            "{subject} must not {verb} {noun} {}",
            quoted(&c.policy_values)
        ),
        (false, _) => format!(
            "{subject} must not {verb} {noun} any of {}",
            quoted(&c.policy_values)
        ),
    }
}

/// The message AWS gives for an explicit deny.
pub(crate) fn explicit_deny_message(
    principal: &str,
    action: &str,
    resource: &str,
    pt: PolicyType,
) -> String {
    let article = if pt == PolicyType::Identity {
        "an"
    } else {
        "a"
    };
    format!(
        "User: {principal} is not authorized to perform: {action} on resource: {resource} with an explicit deny in {article} {}",
        pt.aws_phrase()
    )
}

/// The message AWS gives for an implicit deny.
pub(crate) fn implicit_deny_message(
    principal: &str,
    action: &str,
    resource: &str,
    pt: PolicyType,
) -> String {
    format!(
        "User: {principal} is not authorized to perform: {action} on resource: {resource} because no {} allows the {action} action",
        pt.aws_phrase()
    )
}

fn list(values: &[String]) -> String {
    match values {
        [one] => one.clone(),
        many => format!("one of [{}]", many.join(", ")),
    }
}

/// Describes what an unknown condition needs, e.g. "denied unless the
/// request goes through vpce-1a2b3c4d (StringNotEquals aws:SourceVpce)".
pub(crate) fn unknown_hint(
    stmt: &StatementDetail,
    cond: &ConditionOutcome,
    base: BaseOperator,
) -> String {
    let key_l = cond.key.to_lowercase();
    let values = list(&cond.policy_values);
    let what = match key_l.as_str() {
        "aws:sourcevpce" => format!("the request goes through {values}"),
        "aws:sourcevpc" => format!("the request comes from {values}"),
        "aws:sourceip" => format!("the source ip is in {values}"),
        _ => format!("`{}` is {values}", cond.key),
    };
    let how = format!("({} {})", cond.operator, cond.key);
    match (stmt.effect, base.is_negated()) {
        (Effect::Deny, true) => format!("denied by {} unless {what} {how}", stmt.describe()),
        (Effect::Deny, false) => format!("denied by {} if {what} {how}", stmt.describe()),
        (Effect::Allow, false) => format!("allowed by {} only if {what} {how}", stmt.describe()),
        (Effect::Allow, true) => format!("allowed by {} only unless {what} {how}", stmt.describe()),
    }
}
