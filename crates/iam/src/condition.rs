//! Condition operators and their evaluation.
//!
//! Semantics (from the IAM User Guide, "Condition operators" and
//! "Multivalued context keys"):
//!
//! * every operator block and every key in it must hold (AND);
//! * the values listed for one key are alternatives (OR) for positive
//!   operators; for negated operators (`StringNotEquals`, `ArnNotLike`, ...)
//!   the request value must match *none* of them (so in effect AND);
//! * key names are case-insensitive;
//! * a key missing from the request makes a positive operator false, a
//!   negated one true, any `...IfExists` operator true, `ForAllValues:` true
//!   and `ForAnyValue:` false; `Null` tests presence;
//! * a key whose value is *unknown* makes the condition unknown.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::Value;

use crate::arn::match_toks as arn_match_toks;
use crate::context::{Context, Lookup, Subst, substitute, toks_to_string};
use crate::error::{IamError, StatementRef};
use crate::glob::{Tok, match_toks};
use crate::tri::Tri;

/// The operator without `IfExists` and set qualifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
pub enum BaseOperator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

use BaseOperator as B;

const ALL_OPERATORS: &[BaseOperator] = &[
    B::StringEquals,
    B::StringNotEquals,
    B::StringEqualsIgnoreCase,
    B::StringNotEqualsIgnoreCase,
    B::StringLike,
    B::StringNotLike,
    B::NumericEquals,
    B::NumericNotEquals,
    B::NumericLessThan,
    B::NumericLessThanEquals,
    B::NumericGreaterThan,
    B::NumericGreaterThanEquals,
    B::DateEquals,
    B::DateNotEquals,
    B::DateLessThan,
    B::DateLessThanEquals,
    B::DateGreaterThan,
    B::DateGreaterThanEquals,
    B::Bool,
    B::BinaryEquals,
    B::IpAddress,
    B::NotIpAddress,
    B::ArnEquals,
    B::ArnLike,
    B::ArnNotEquals,
    B::ArnNotLike,
    B::Null,
];

impl BaseOperator {
    /// The operator's name as written in policies.
    pub fn name(self) -> &'static str {
        match self {
            B::StringEquals => "StringEquals",
            B::StringNotEquals => "StringNotEquals",
            B::StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            B::StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            B::StringLike => "StringLike",
            B::StringNotLike => "StringNotLike",
            B::NumericEquals => "NumericEquals",
            B::NumericNotEquals => "NumericNotEquals",
            B::NumericLessThan => "NumericLessThan",
            B::NumericLessThanEquals => "NumericLessThanEquals",
            B::NumericGreaterThan => "NumericGreaterThan",
            B::NumericGreaterThanEquals => "NumericGreaterThanEquals",
            B::DateEquals => "DateEquals",
            B::DateNotEquals => "DateNotEquals",
            B::DateLessThan => "DateLessThan",
            B::DateLessThanEquals => "DateLessThanEquals",
            B::DateGreaterThan => "DateGreaterThan",
            B::DateGreaterThanEquals => "DateGreaterThanEquals",
            B::Bool => "Bool",
            B::BinaryEquals => "BinaryEquals",
            B::IpAddress => "IpAddress",
            B::NotIpAddress => "NotIpAddress",
            B::ArnEquals => "ArnEquals",
            B::ArnLike => "ArnLike",
            B::ArnNotEquals => "ArnNotEquals",
            B::ArnNotLike => "ArnNotLike",
            B::Null => "Null",
        }
    }

    /// Whether the operator is a negation ("matches none of").
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            B::StringNotEquals
                | B::StringNotEqualsIgnoreCase
                | B::StringNotLike
                | B::NumericNotEquals
                | B::DateNotEquals
                | B::NotIpAddress
                | B::ArnNotEquals
                | B::ArnNotLike
        )
    }

    /// The positive counterpart of a negated operator (itself otherwise).
    pub fn positive(self) -> BaseOperator {
        match self {
            B::StringNotEquals => B::StringEquals,
            B::StringNotEqualsIgnoreCase => B::StringEqualsIgnoreCase,
            B::StringNotLike => B::StringLike,
            B::NumericNotEquals => B::NumericEquals,
            B::DateNotEquals => B::DateEquals,
            B::NotIpAddress => B::IpAddress,
            B::ArnNotEquals => B::ArnEquals,
            B::ArnNotLike => B::ArnLike,
            other => other,
        }
    }

    fn from_name(name: &str) -> Option<BaseOperator> {
        ALL_OPERATORS
            .iter()
            .copied()
            .find(|op| op.name().eq_ignore_ascii_case(name))
    }
}

/// `ForAnyValue:` / `ForAllValues:` qualifiers for multivalued keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SetQualifier {
    /// `ForAnyValue:`: at least one request value must satisfy the operator.
    ForAnyValue,
    /// `ForAllValues:`: every request value must satisfy the operator
    /// (true when the key is missing or empty).
    ForAllValues,
}

/// A full condition operator such as `ForAllValues:StringLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    /// Set qualifier, if any.
    pub set: Option<SetQualifier>,
    /// The base operator.
    pub base: BaseOperator,
    /// `...IfExists` suffix.
    pub if_exists: bool,
}

impl Operator {
    /// Parses an operator name (operator names match case-insensitively).
    pub fn parse(name: &str) -> Option<Operator> {
        let (set, rest) = if let Some(r) = strip_prefix_ci(name, "ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), r)
        } else if let Some(r) = strip_prefix_ci(name, "ForAllValues:") {
            (Some(SetQualifier::ForAllValues), r)
        } else {
            (None, name)
        };
        if let Some(base) = BaseOperator::from_name(rest) {
            return Some(Operator {
                set,
                base,
                if_exists: false,
            });
        }
        let stem = strip_suffix_ci(rest, "IfExists")?;
        let base = BaseOperator::from_name(stem)?;
        if base == B::Null {
            return None;
        }
        Some(Operator {
            set,
            base,
            if_exists: true,
        })
    }

    /// The canonical name, e.g. `ForAnyValue:StringLikeIfExists`.
    pub fn name(&self) -> String {
        let prefix = match self.set {
            Some(SetQualifier::ForAnyValue) => "ForAnyValue:",
            Some(SetQualifier::ForAllValues) => "ForAllValues:",
            None => "",
        };
        let suffix = if self.if_exists { "IfExists" } else { "" };
        format!("{prefix}{}{suffix}", self.base.name())
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix)
        .then(|| s.get(..cut))
        .flatten()
}

/// One operator applied to one key with its policy values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator.
    pub operator: Operator,
    /// The condition key as written (`aws:SourceVpce`).
    pub key: String,
    /// Policy values as strings (booleans and numbers converted).
    pub values: Vec<String>,
}

/// Parses a `Condition` block into one entry per operator and key.
pub(crate) fn parse_block(
    v: &Value,
    policy: &str,
    sref: &StatementRef,
) -> Result<Vec<Condition>, IamError> {
    let block = v
        .as_object()
        .ok_or_else(|| IamError::stmt(policy, sref, "Condition", "must be an object"))?;
    let mut out = Vec::new();
    for (op_name, keys) in block {
        let element = format!("Condition.{op_name}");
        let operator = Operator::parse(op_name).ok_or_else(|| {
            IamError::stmt(
                policy,
                sref,
                &element,
                format!("unknown condition operator `{op_name}`"),
            )
        })?;
        let keys = keys.as_object().ok_or_else(|| {
            IamError::stmt(policy, sref, &element, "must map condition keys to values")
        })?;
        if keys.is_empty() {
            return Err(IamError::stmt(
                policy,
                sref,
                &element,
                "has no condition keys",
            ));
        }
        for (key, vals) in keys {
            let element = format!("Condition.{op_name}.{key}");
            let scalar = |x: &Value| match x {
                Value::String(s) => Ok(s.clone()),
                Value::Bool(b) => Ok(b.to_string()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(IamError::stmt(
                    policy,
                    sref,
                    &element,
                    "values must be strings, booleans or numbers",
                )),
            };
            let values = match vals {
                Value::Array(items) => items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?,
                other => vec![scalar(other)?],
            };
            out.push(Condition {
                operator,
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

/// Outcome of one element or condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// It holds.
    True,
    /// It does not hold.
    False,
    /// It depends on context keys whose values are unknown.
    Unknown,
}

impl Outcome {
    pub(crate) fn of(t: &Tri) -> Outcome {
        match t {
            Tri::True => Outcome::True,
            Tri::False => Outcome::False,
            Tri::Unknown(_) => Outcome::Unknown,
        }
    }
}

/// How the request's value for a key was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyState {
    /// The key is in the request context.
    Present,
    /// The key is not in the request context.
    Missing,
    /// The key's value is unknown.
    Unknown,
}

/// Explanation of one condition's evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionOutcome {
    /// Operator as canonically named.
    pub operator: String,
    /// Condition key as written in the policy.
    pub key: String,
    /// Values listed in the policy (variables not substituted).
    pub policy_values: Vec<String>,
    /// Whether the request has the key.
    pub key_state: KeyState,
    /// The request's values (empty unless present).
    pub request_values: Vec<String>,
    /// The result.
    pub outcome: Outcome,
}

/// A policy value after variable substitution.
enum PolVal {
    Toks(Vec<Tok>),
    Missing,
}

/// Evaluates one condition against the context.
pub(crate) fn evaluate(
    cond: &Condition,
    ctx: &Context,
    variables: bool,
) -> (Tri, ConditionOutcome) {
    let op = cond.operator;
    let lookup = ctx.get(&cond.key);
    let (key_state, request_values) = match lookup {
        Lookup::Missing => (KeyState::Missing, Vec::new()),
        Lookup::Unknown => (KeyState::Unknown, Vec::new()),
        Lookup::Values(v) => (KeyState::Present, v.to_vec()),
    };
    let result = eval_inner(cond, op, lookup, ctx, variables);
    let detail = ConditionOutcome {
        operator: op.name(),
        key: cond.key.clone(),
        policy_values: cond.values.clone(),
        key_state,
        request_values,
        outcome: Outcome::of(&result),
    };
    (result, detail)
}

fn eval_inner(
    cond: &Condition,
    op: Operator,
    lookup: Lookup<'_>,
    ctx: &Context,
    variables: bool,
) -> Tri {
    let key = cond.key.to_lowercase();
    let values = match lookup {
        Lookup::Unknown => return Tri::Unknown([key].into()),
        Lookup::Values(v) if !(op.base == B::Null && v.is_empty()) => v,
        _ => {
            // missing (an empty list counts as missing for Null)
            if op.base == B::Null {
                return Tri::from_bool(cond.values.iter().any(|v| v.eq_ignore_ascii_case("true")));
            }
            if op.if_exists {
                return Tri::True;
            }
            return Tri::from_bool(match op.set {
                Some(SetQualifier::ForAllValues) => true,
                Some(SetQualifier::ForAnyValue) => false,
                None => op.base.is_negated(),
            });
        }
    };
    if op.base == B::Null {
        return Tri::from_bool(cond.values.iter().any(|v| v.eq_ignore_ascii_case("false")));
    }
    // Substitute policy variables in the policy values.
    let mut pol = Vec::with_capacity(cond.values.len());
    let mut unknown = Tri::False;
    for v in &cond.values {
        match substitute(v, ctx, variables) {
            Subst::Toks(t) => pol.push(PolVal::Toks(t)),
            Subst::Missing(_) => pol.push(PolVal::Missing),
            Subst::Unknown(k) => unknown = unknown.or(Tri::unknown(&k)),
        }
    }
    if let Tri::Unknown(k) = unknown {
        return Tri::Unknown(k);
    }
    let positive = op.base.positive();
    let negated = op.base.is_negated();
    // does one request value match one of the policy values (positive form)?
    let pol_match = |req: &String| {
        pol.iter().any(|p| match p {
            PolVal::Toks(t) => value_matches(positive, req, t),
            PolVal::Missing => false,
        })
    };
    // does one request value satisfy the (possibly negated) operator?
    let satisfies = |req: &String| pol_match(req) != negated;
    let result = match op.set {
        Some(SetQualifier::ForAllValues) => values.iter().all(satisfies),
        Some(SetQualifier::ForAnyValue) => values.iter().any(satisfies),
        // a single-valued operator on (possibly) several values: positive
        // operators need one match, negated ones need no match at all.
        None => values.iter().any(pol_match) != negated,
    };
    Tri::from_bool(result)
}

/// Whether a request value matches one policy value under a positive operator.
fn value_matches(op: BaseOperator, req: &str, pol: &[Tok]) -> bool {
    let pol_text = || toks_to_string(pol);
    match op {
        B::StringEquals | B::BinaryEquals => req == pol_text(),
        B::StringEqualsIgnoreCase => req.to_lowercase() == pol_text().to_lowercase(),
        B::StringLike => {
            let text: Vec<char> = req.chars().collect();
            match_toks(pol, &text, false)
        }
        B::NumericEquals
        | B::NumericLessThan
        | B::NumericLessThanEquals
        | B::NumericGreaterThan
        | B::NumericGreaterThanEquals => match (parse_number(req), parse_number(&pol_text())) {
            (Some(r), Some(p)) => compare(op, r, p),
            _ => false,
        },
        B::DateEquals
        | B::DateLessThan
        | B::DateLessThanEquals
        | B::DateGreaterThan
        | B::DateGreaterThanEquals => match (parse_date(req), parse_date(&pol_text())) {
            (Some(r), Some(p)) => compare(op, r, p),
            _ => false,
        },
        B::Bool => {
            let r = req.trim();
            let p = pol_text();
            (r.eq_ignore_ascii_case("true") || r.eq_ignore_ascii_case("false"))
                && r.eq_ignore_ascii_case(p.trim())
        }
        B::IpAddress => ip_in_cidr(req, &pol_text()),
        B::ArnEquals | B::ArnLike => arn_match_toks(pol, req),
        // negated and Null operators never reach here
        _ => false,
    }
}

fn compare(op: BaseOperator, r: f64, p: f64) -> bool {
    match op {
        B::NumericEquals | B::DateEquals => r == p,
        B::NumericLessThan | B::DateLessThan => r < p,
        B::NumericLessThanEquals | B::DateLessThanEquals => r <= p,
        B::NumericGreaterThan | B::DateGreaterThan => r > p,
        B::NumericGreaterThanEquals | B::DateGreaterThanEquals => r >= p,
        _ => false,
    }
}

fn parse_number(s: &str) -> Option<f64> {
    let n: f64 = s.trim().parse().ok()?;
    n.is_finite().then_some(n)
}

/// Parses an ISO 8601 date (`2020-01-01`, `2020-01-01T00:00:00Z`, with
/// optional fraction and `+hh:mm` offset) or epoch seconds into epoch seconds.
pub(crate) fn parse_date(s: &str) -> Option<f64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.len() <= 12 {
        return s.parse::<f64>().ok();
    }
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let year = num(0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) as f64 * 86_400.0;
    if s.len() == 10 {
        return Some(secs);
    }
    if !matches!(b.get(10), Some(b'T') | Some(b't') | Some(b' ')) {
        return None;
    }
    let hour = num(11, 2)?;
    if b.get(13) != Some(&b':') {
        return None;
    }
    let minute = num(14, 2)?;
    let (second, mut pos) = if b.get(16) == Some(&b':') {
        (num(17, 2)?, 19)
    } else {
        (0, 16)
    };
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    secs += (hour * 3600 + minute * 60 + second) as f64;
    if b.get(pos) == Some(&b'.') {
        let start = pos + 1;
        let mut end = start;
        while b.get(end).is_some_and(|c| c.is_ascii_digit()) {
            end += 1;
        }
        let frac: f64 = format!("0.{}", s.get(start..end)?).parse().ok()?;
        secs += frac;
        pos = end;
    }
    match b.get(pos) {
        None => Some(secs),
        Some(b'Z') | Some(b'z') if pos + 1 == b.len() => Some(secs),
        Some(sign @ (b'+' | b'-')) => {
            let oh = num(pos + 1, 2)?;
            let (om, end) = if b.get(pos + 3) == Some(&b':') {
                (num(pos + 4, 2)?, pos + 6)
            } else {
                (num(pos + 3, 2)?, pos + 5)
            };
            if end != b.len() {
                return None;
            }
            let off = (oh * 3600 + om * 60) as f64;
            Some(if *sign == b'+' {
                secs - off
            } else {
                secs + off
            })
        }
        _ => None,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Whether `ip` lies in `cidr` (a CIDR block or a single address).
pub(crate) fn ip_in_cidr(ip: &str, cidr: &str) -> bool {
    let Ok(ip) = ip.trim().parse::<IpAddr>() else {
        return false;
    };
    let (net, len) = match cidr.trim().split_once('/') {
        Some((n, l)) => match l.parse::<u32>() {
            Ok(l) => (n, Some(l)),
            Err(_) => return false,
        },
        None => (cidr.trim(), None),
    };
    let Ok(net) = net.parse::<IpAddr>() else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let len = len.unwrap_or(32);
            if len > 32 {
                return false;
            }
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            (u32::from(a) & mask) == (u32::from(n) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let len = len.unwrap_or(128);
            if len > 128 {
                return false;
            }
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            (u128::from(a) & mask) == (u128::from(n) & mask)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::context::CtxEntry;

    fn cond(op: &str, key: &str, values: &[&str]) -> Condition {
        Condition {
            operator: Operator::parse(op).unwrap(),
            key: key.into(),
            values: values.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn ctx(pairs: &[(&str, &[&str])]) -> Context {
        let mut c = Context::default();
        for (k, v) in pairs {
            c.insert(
                k,
                CtxEntry::Values(v.iter().map(|s| s.to_string()).collect()),
            );
        }
        c
    }

    fn ev(c: &Condition, ctx: &Context) -> Tri {
        evaluate(c, ctx, true).0
    }

    #[test]
    fn operator_names() {
        let op = Operator::parse("ForAllValues:StringLikeIfExists").unwrap();
        assert_eq!(op.set, Some(SetQualifier::ForAllValues));
        assert_eq!(op.base, B::StringLike);
        assert!(op.if_exists);
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("StringFoo").is_none());
        assert_eq!(
            Operator::parse("stringequals").unwrap().base,
            B::StringEquals
        );
    }

    #[test]
    fn missing_keys() {
        let empty = Context::default();
        assert_eq!(ev(&cond("StringEquals", "k", &["a"]), &empty), Tri::False);
        assert_eq!(ev(&cond("StringNotEquals", "k", &["a"]), &empty), Tri::True);
        assert_eq!(
            ev(&cond("StringEqualsIfExists", "k", &["a"]), &empty),
            Tri::True
        );
        assert_eq!(
            ev(&cond("ForAllValues:StringEquals", "k", &["a"]), &empty),
            Tri::True
        );
        assert_eq!(
            ev(&cond("ForAnyValue:StringEquals", "k", &["a"]), &empty),
            Tri::False
        );
        assert_eq!(ev(&cond("Null", "k", &["true"]), &empty), Tri::True);
        assert_eq!(ev(&cond("Null", "k", &["false"]), &empty), Tri::False);
    }

    #[test]
    fn negated_is_and() {
        let c = ctx(&[("K", &["b"])]);
        assert_eq!(
            ev(&cond("StringNotEquals", "k", &["a", "b"]), &c),
            Tri::False
        );
        assert_eq!(
            ev(&cond("StringNotEquals", "k", &["a", "c"]), &c),
            Tri::True
        );
        assert_eq!(ev(&cond("StringEquals", "k", &["a", "b"]), &c), Tri::True);
    }

    #[test]
    fn sets() {
        let c = ctx(&[("tags", &["a", "b"])]);
        assert_eq!(
            ev(
                &cond("ForAllValues:StringEquals", "tags", &["a", "b", "c"]),
                &c
            ),
            Tri::True
        );
        assert_eq!(
            ev(&cond("ForAllValues:StringEquals", "tags", &["a"]), &c),
            Tri::False
        );
        assert_eq!(
            ev(&cond("ForAnyValue:StringEquals", "tags", &["b"]), &c),
            Tri::True
        );
        assert_eq!(
            ev(&cond("ForAnyValue:StringNotEquals", "tags", &["a"]), &c),
            Tri::True
        );
        assert_eq!(
            ev(&cond("ForAllValues:StringNotEquals", "tags", &["a"]), &c),
            Tri::False
        );
    }

    #[test]
    fn typed_operators() {
        let c = ctx(&[
            ("n", &["10"]),
            ("d", &["2020-06-01T12:00:00Z"]),
            ("ip", &["203.0.113.7"]),
            ("b", &["true"]),
            ("arn", &["arn:aws:iam::111122223333:role/x/Admin"]),
        ]);
        assert_eq!(ev(&cond("NumericLessThan", "n", &["11"]), &c), Tri::True);
        assert_eq!(
            ev(&cond("NumericGreaterThanEquals", "n", &["10.0"]), &c),
            Tri::True
        );
        assert_eq!(ev(&cond("NumericEquals", "n", &["abc"]), &c), Tri::False);
        assert_eq!(
            ev(&cond("DateGreaterThan", "d", &["2020-01-01"]), &c),
            Tri::True
        );
        assert_eq!(
            ev(
                &cond("DateLessThan", "d", &["2020-06-01T13:00:00+02:00"]),
                &c
            ),
            Tri::False
        );
        assert_eq!(
            ev(&cond("IpAddress", "ip", &["203.0.113.0/24"]), &c),
            Tri::True
        );
        assert_eq!(
            ev(&cond("NotIpAddress", "ip", &["203.0.113.0/24"]), &c),
            Tri::False
        );
        assert_eq!(ev(&cond("Bool", "b", &["TRUE"]), &c), Tri::True);
        assert_eq!(
            ev(&cond("ArnLike", "arn", &["arn:aws:iam::*:role/*"]), &c),
            Tri::True
        );
        assert_eq!(
            ev(
                &cond(
                    "ArnNotEquals",
                    "arn",
                    &["arn:aws:iam::111122223333:role/x/Admin"]
                ),
                &c
            ),
            Tri::False
        );
    }

    #[test]
    fn unknown_keys() {
        let mut c = Context::default();
        c.insert("aws:SourceVpce", CtxEntry::Unknown);
        let t = ev(&cond("StringNotEquals", "aws:sourcevpce", &["vpce-1"]), &c);
        assert_eq!(t, Tri::unknown("aws:sourcevpce"));
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0.0));
        assert_eq!(parse_date("1970-01-02T00:00:00Z"), Some(86_400.0));
        assert_eq!(parse_date("1970-01-01T01:00:00+01:00"), Some(0.0));
        assert_eq!(parse_date("86400"), Some(86_400.0));
        assert_eq!(parse_date("2020-13-01"), None);
        assert_eq!(parse_date("2020-01-01T"), None);
        assert!(parse_date("２０２０-01-01").is_none());
    }

    #[test]
    fn cidrs() {
        assert!(ip_in_cidr("10.1.2.3", "10.0.0.0/8"));
        assert!(ip_in_cidr("10.1.2.3", "0.0.0.0/0"));
        assert!(!ip_in_cidr("11.1.2.3", "10.0.0.0/8"));
        assert!(ip_in_cidr("2001:db8::1", "2001:db8::/32"));
        assert!(!ip_in_cidr("2001:db8::1", "10.0.0.0/8"));
        assert!(!ip_in_cidr("10.0.0.1", "10.0.0.0/99"));
    }
}
