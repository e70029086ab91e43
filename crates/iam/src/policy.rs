//! Policy model and parsing.
//!
//! Accepts every shape AWS accepts: `Statement` as an object or an array;
//! `Action`/`NotAction`, `Resource`/`NotResource`, each `Principal` entry and
//! condition values as a string or an array; condition values as JSON
//! booleans or numbers too. Element names are case-sensitive, as in AWS.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::condition::{self, Condition};
use crate::error::{IamError, StatementRef};

/// The policy language version, from the `Version` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PolicyVersion {
    /// `2012-10-17`: the current language, with policy variables.
    #[serde(rename = "2012-10-17")]
    V2012_10_17,
    /// `2008-10-17`: the old language, no policy variables.
    #[serde(rename = "2008-10-17")]
    V2008_10_17,
    /// No `Version` element: treated like `2008-10-17`.
    #[serde(rename = "absent")]
    Absent,
}

impl PolicyVersion {
    /// Whether `${...}` policy variables are substituted.
    pub fn supports_variables(self) -> bool {
        self == PolicyVersion::V2012_10_17
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

/// `Action`/`NotAction` or `Resource`/`NotResource`: a list of wildcard
/// patterns, possibly negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternClause {
    /// True for `NotAction`/`NotResource`.
    pub negated: bool,
    /// The patterns as written.
    pub patterns: Vec<String>,
}

/// Kind of a principal entry (the key inside the `Principal` object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PrincipalKind {
    /// `"AWS"`: accounts, users, roles, sessions, unique ids.
    #[serde(rename = "AWS")]
    Aws,
    /// `"Service"`: service principals such as `ec2.amazonaws.com`.
    Service,
    /// `"Federated"`: identity providers.
    Federated,
    /// `"CanonicalUser"`: S3 canonical user ids.
    CanonicalUser,
}

/// One principal value (`{"AWS": "arn:aws:iam::1:role/R"}` gives one entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalEntry {
    /// The key it was listed under.
    pub kind: PrincipalKind,
    /// The value as written.
    pub value: String,
}

/// The principals of a `Principal`/`NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalSet {
    /// `"Principal": "*"`.
    Any,
    /// The listed entries.
    Entries(Vec<PrincipalEntry>),
}

/// A `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalClause {
    /// True for `NotPrincipal`.
    pub negated: bool,
    /// The principals listed.
    pub set: PrincipalSet,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// `Sid`, if present.
    pub sid: Option<String>,
    /// Zero-based index in the policy.
    pub index: usize,
    /// `Effect`.
    pub effect: Effect,
    /// `Principal`/`NotPrincipal`, if present.
    pub principal: Option<PrincipalClause>,
    /// `Action`/`NotAction`.
    pub action: PatternClause,
    /// `Resource`/`NotResource`; `None` when omitted (resource policies:
    /// the resource the policy is attached to).
    pub resource: Option<PatternClause>,
    /// The `Condition` block flattened to one entry per operator and key.
    pub conditions: Vec<Condition>,
    /// The statement exactly as parsed, for rewriting.
    pub raw: Map<String, Value>,
}

impl Statement {
    /// The reference used in errors and explanations.
    pub fn reference(&self) -> StatementRef {
        StatementRef {
            sid: self.sid.clone(),
            index: self.index,
        }
    }
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Language version.
    pub version: PolicyVersion,
    /// `Id`, if present.
    pub id: Option<String>,
    /// The statements in order.
    pub statements: Vec<Statement>,
}

const TOP_LEVEL: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_ELEMENTS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

impl Policy {
    /// Parses policy text (JSON). Errors name the policy as `policy`.
    pub fn parse(text: &str) -> Result<Policy, IamError> {
        Policy::parse_named(text, "policy")
    }

    /// Parses policy text, naming the policy `name` in errors.
    pub fn parse_named(text: &str, name: &str) -> Result<Policy, IamError> {
        let value: Value = serde_json::from_str(text).map_err(|e| IamError::InvalidJson {
            policy: name.to_string(),
            reason: e.to_string(),
        })?;
        Policy::from_value(&value, name)
    }

    /// Builds a policy from a JSON value, naming the policy `name` in errors.
    pub fn from_value(value: &Value, name: &str) -> Result<Policy, IamError> {
        let top_err = |element: &str, reason: &str| IamError::InvalidPolicy {
            policy: name.to_string(),
            element: element.to_string(),
            reason: reason.to_string(),
        };
        let obj = value
            .as_object()
            .ok_or_else(|| top_err("(document)", "a policy must be a json object"))?;
        if let Some(k) = obj.keys().find(|k| !TOP_LEVEL.contains(&k.as_str())) {
            return Err(top_err(k, "unknown top-level element"));
        }
        let version = match obj.get("Version") {
            None => PolicyVersion::Absent,
            Some(Value::String(s)) if s == "2012-10-17" => PolicyVersion::V2012_10_17,
            Some(Value::String(s)) if s == "2008-10-17" => PolicyVersion::V2008_10_17,
            Some(_) => {
                return Err(top_err("Version", "must be `2012-10-17` or `2008-10-17`"));
            }
        };
        let id = match obj.get("Id") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(top_err("Id", "must be a string")),
        };
        let raw_statements: Vec<&Value> = match obj.get("Statement") {
            None => return Err(top_err("Statement", "missing")),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(v @ Value::Object(_)) => vec![v],
            Some(_) => {
                return Err(top_err(
                    "Statement",
                    "must be an object or an array of objects",
                ));
            }
        };
        let statements = raw_statements
            .into_iter()
            .enumerate()
            .map(|(index, v)| parse_statement(v, index, name))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy {
            version,
            id,
            statements,
        })
    }

    /// The policy as a JSON document (statements as parsed, in order).
    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        match self.version {
            PolicyVersion::V2012_10_17 => {
                obj.insert("Version".into(), Value::String("2012-10-17".into()));
            }
            PolicyVersion::V2008_10_17 => {
                obj.insert("Version".into(), Value::String("2008-10-17".into()));
            }
            PolicyVersion::Absent => {}
        }
        if let Some(id) = &self.id {
            obj.insert("Id".into(), Value::String(id.clone()));
        }
        obj.insert(
            "Statement".into(),
            Value::Array(
                self.statements
                    .iter()
                    .map(|s| Value::Object(s.raw.clone()))
                    .collect(),
            ),
        );
        Value::Object(obj)
    }
}

/// Reads a string-or-array-of-strings element.
pub(crate) fn string_list(
    v: &Value,
    policy: &str,
    sref: &StatementRef,
    element: &str,
) -> Result<Vec<String>, IamError> {
    let items: Vec<String> = match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(IamError::stmt(
                    policy,
                    sref,
                    element,
                    "array items must be strings",
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(IamError::stmt(
                policy,
                sref,
                element,
                "must be a string or an array of strings",
            ));
        }
    };
    if items.is_empty() {
        return Err(IamError::stmt(policy, sref, element, "must not be empty"));
    }
    Ok(items)
}

fn parse_statement(v: &Value, index: usize, policy: &str) -> Result<Statement, IamError> {
    let mut sref = StatementRef { sid: None, index };
    let obj = v.as_object().ok_or_else(|| {
        IamError::stmt(
            policy,
            &sref,
            "(statement)",
            "a statement must be a json object",
        )
    })?;
    let sid = match obj.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(IamError::stmt(policy, &sref, "Sid", "must be a string")),
    };
    sref.sid = sid.clone();
    if let Some(k) = obj
        .keys()
        .find(|k| !STATEMENT_ELEMENTS.contains(&k.as_str()))
    {
        return Err(IamError::stmt(policy, &sref, k, "unknown element"));
    }
    let effect = match obj.get("Effect") {
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(_) => {
            return Err(IamError::stmt(
                policy,
                &sref,
                "Effect",
                "must be `Allow` or `Deny`",
            ));
        }
        None => return Err(IamError::stmt(policy, &sref, "Effect", "missing")),
    };
    let principal = match (obj.get("Principal"), obj.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return Err(IamError::stmt(
                policy,
                &sref,
                "NotPrincipal",
                "cannot be combined with `Principal`",
            ));
        }
        (Some(p), None) => Some(parse_principal(p, false, policy, &sref)?),
        (None, Some(p)) => Some(parse_principal(p, true, policy, &sref)?),
        (None, None) => None,
    };
    let action = match (obj.get("Action"), obj.get("NotAction")) {
        (Some(_), Some(_)) => {
            return Err(IamError::stmt(
                policy,
                &sref,
                "NotAction",
                "cannot be combined with `Action`",
            ));
        }
        (Some(a), None) => parse_actions(a, false, policy, &sref)?,
        (None, Some(a)) => parse_actions(a, true, policy, &sref)?,
        (None, None) => {
            return Err(IamError::stmt(
                policy,
                &sref,
                "Action",
                "missing (a statement needs `Action` or `NotAction`)",
            ));
        }
    };
    let resource = match (obj.get("Resource"), obj.get("NotResource")) {
        (Some(_), Some(_)) => {
            return Err(IamError::stmt(
                policy,
                &sref,
                "NotResource",
                "cannot be combined with `Resource`",
            ));
        }
        (Some(r), None) => Some(PatternClause {
            negated: false,
            patterns: string_list(r, policy, &sref, "Resource")?,
        }),
        (None, Some(r)) => Some(PatternClause {
            negated: true,
            patterns: string_list(r, policy, &sref, "NotResource")?,
        }),
        (None, None) => None,
    };
    let conditions = match obj.get("Condition") {
        None => Vec::new(),
        Some(c) => condition::parse_block(c, policy, &sref)?,
    };
    Ok(Statement {
        sid,
        index,
        effect,
        principal,
        action,
        resource,
        conditions,
        raw: obj.clone(),
    })
}

fn parse_actions(
    v: &Value,
    negated: bool,
    policy: &str,
    sref: &StatementRef,
) -> Result<PatternClause, IamError> {
    let element = if negated { "NotAction" } else { "Action" };
    let patterns = string_list(v, policy, sref, element)?;
    for p in &patterns {
        if p != "*" && !p.contains(':') {
            return Err(IamError::stmt(
                policy,
                sref,
                element,
                format!("`{p}` is not `*` or `service:action`"),
            ));
        }
    }
    Ok(PatternClause { negated, patterns })
}

fn parse_principal(
    v: &Value,
    negated: bool,
    policy: &str,
    sref: &StatementRef,
) -> Result<PrincipalClause, IamError> {
    let element = if negated { "NotPrincipal" } else { "Principal" };
    let set = match v {
        Value::String(s) if s == "*" => PrincipalSet::Any,
        Value::Object(map) => {
            if map.is_empty() {
                return Err(IamError::stmt(policy, sref, element, "must not be empty"));
            }
            let mut entries = Vec::new();
            for (k, vals) in map {
                let kind = match k.as_str() {
                    "AWS" => PrincipalKind::Aws,
                    "Service" => PrincipalKind::Service,
                    "Federated" => PrincipalKind::Federated,
                    "CanonicalUser" => PrincipalKind::CanonicalUser,
                    other => {
                        return Err(IamError::stmt(
                            policy,
                            sref,
                            element,
                            format!("unknown principal type `{other}`"),
                        ));
                    }
                };
                let element_key = format!("{element}.{k}");
                for value in string_list(vals, policy, sref, &element_key)? {
                    entries.push(PrincipalEntry { kind, value });
                }
            }
            PrincipalSet::Entries(entries)
        }
        _ => {
            return Err(IamError::stmt(
                policy,
                sref,
                element,
                "must be `*` or an object such as {\"AWS\": ...}",
            ));
        }
    };
    Ok(PrincipalClause { negated, set })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn single_statement_object_and_strings() {
        let p =
            Policy::parse(r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}}"#)
                .unwrap();
        assert_eq!(p.version, PolicyVersion::Absent);
        assert_eq!(p.statements.len(), 1);
        assert_eq!(p.statements[0].action.patterns, vec!["ecr:*"]);
    }

    #[test]
    fn errors_name_statement_and_element() {
        let e = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"Bad","Effect":"Allow","Action":[1],"Resource":"*"}]}"#,
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("`Bad` (index 1)"), "{msg}");
        assert!(msg.contains("`Action`"), "{msg}");
        let e = Policy::parse(r#"{"Statement":[{"Effect":"allow","Action":"*"}]}"#).unwrap_err();
        assert!(e.to_string().contains("index 0"));
        assert!(e.to_string().contains("`Effect`"));
    }

    #[test]
    fn rejects_bad_version_and_both_action_forms() {
        assert!(Policy::parse(r#"{"Version":"2020-01-01","Statement":[]}"#).is_err());
        assert!(
            Policy::parse(r#"{"Statement":[{"Effect":"Deny","Action":"*","NotAction":"s3:*"}]}"#)
                .is_err()
        );
    }
}
