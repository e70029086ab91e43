//! The JSON input of an evaluation (`rulerun iam eval`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::data;
use crate::error::IamError;
use crate::policy::Policy;

/// Everything an evaluation needs: the request and the policies that apply.
///
/// ```json
/// {"request": {...}, "identityPolicies": [...], "resourcePolicy": {...},
///  "permissionBoundaryPolicies": [...], "serviceControlPolicies": [...],
///  "sessionPolicies": [...], "vpcEndpointPolicies": [...],
///  "requiredActions": [...]}
/// ```
///
/// Unknown fields are rejected (a misspelt policy list must not silently
/// evaluate as absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvalInput {
    /// The request to evaluate.
    pub request: Request,
    /// Identity-based policies (managed and inline) of the principal.
    #[serde(default)]
    pub identity_policies: Vec<PolicyEntry>,
    /// The resource-based policy (repository or registry policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<PolicyEntry>,
    /// The permissions boundary (usually one policy); empty means none.
    #[serde(default, alias = "permissionsBoundaryPolicies")]
    pub permission_boundary_policies: Vec<PolicyEntry>,
    /// Service control policies that apply to the principal's account;
    /// empty means none (all treated as one level, see crate docs).
    #[serde(default)]
    pub service_control_policies: Vec<PolicyEntry>,
    /// Session policies passed when the session was created; empty means none.
    #[serde(default)]
    pub session_policies: Vec<PolicyEntry>,
    /// Policies of the VPC endpoint the request goes through; empty means
    /// the request does not go through an endpoint (or its policy is unknown).
    #[serde(default)]
    pub vpc_endpoint_policies: Vec<PolicyEntry>,
    /// Actions that must be allowed (used by `fix_resource_policy` when its
    /// argument is empty; ignored by `evaluate`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_actions: Vec<String>,
}

/// The request: who does what on which resource, with which context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Request {
    /// Principal ARN: role, assumed-role session, user, root, or a service.
    pub principal: String,
    /// Unique id of the principal (`AROA...` or `AROA...:session`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// Tags of the principal (feed `aws:PrincipalTag/KEY`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub principal_tags: BTreeMap<String, String>,
    /// The action, e.g. `ecr:BatchGetImage`.
    pub action: String,
    /// The resource ARN (or `*` for actions without a resource).
    pub resource: String,
    /// Account owning the resource; defaults to the account in the resource
    /// ARN, else the principal's account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_account: Option<String>,
    /// Context keys and values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, ContextValue>,
    /// Context keys whose values are unknown (same as `{"unknown": true}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_keys: Vec<String>,
}

/// A context value: string, array, boolean, number, `null` (the key is
/// absent), or `{"unknown": true}` (the value cannot be determined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    /// `null`: the key is not in the request.
    Absent,
    /// `{"unknown": true}`.
    Unknown,
    /// The values (one for a single-valued key), as strings.
    Values(Vec<String>),
}

impl ContextValue {
    /// Converts a JSON value.
    pub fn from_json(v: &Value) -> Result<ContextValue, String> {
        let scalar = |x: &Value| match x {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err("array items must be strings, booleans or numbers".to_string()),
        };
        match v {
            Value::Null => Ok(ContextValue::Absent),
            Value::Array(items) => Ok(ContextValue::Values(
                items.iter().map(scalar).collect::<Result<_, _>>()?,
            )),
            Value::Object(m) => match m.get("unknown") {
                Some(Value::Bool(true)) if m.len() == 1 => Ok(ContextValue::Unknown),
                _ => Err("an object value must be {\"unknown\": true}".into()),
            },
            other => Ok(ContextValue::Values(vec![scalar(other)?])),
        }
    }

    /// Converts to JSON.
    pub fn to_json(&self) -> Value {
        match self {
            ContextValue::Absent => Value::Null,
            ContextValue::Unknown => serde_json::json!({"unknown": true}),
            ContextValue::Values(v) if v.len() == 1 => {
                v.first().cloned().map(Value::String).unwrap_or(Value::Null)
            }
            ContextValue::Values(v) => Value::Array(v.iter().cloned().map(Value::String).collect()),
        }
    }
}

impl<'de> Deserialize<'de> for ContextValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        ContextValue::from_json(&v).map_err(serde::de::Error::custom)
    }
}

impl Serialize for ContextValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// A policy in the input: either a bare policy document, or
/// `{"name": ..., "arn"?: ..., "document"?: ...}` where the document may be
/// a JSON object or a JSON *string* (as ECR returns `policyText`). Without a
/// document, a shipped AWS managed policy is looked up by name or ARN.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyEntry {
    /// Display name (policy name, or e.g. the repository for a resource policy).
    pub name: Option<String>,
    /// Policy ARN, if known.
    pub arn: Option<String>,
    /// The document (object or string), if given.
    pub document: Option<Value>,
}

impl PolicyEntry {
    /// A bare document.
    pub fn document(doc: Value) -> PolicyEntry {
        PolicyEntry {
            name: None,
            arn: None,
            document: Some(doc),
        }
    }

    /// A named document.
    pub fn named(name: &str, doc: Value) -> PolicyEntry {
        PolicyEntry {
            name: Some(name.to_string()),
            arn: None,
            document: Some(doc),
        }
    }

    /// The name shown in explanations: name, else ARN, else `fallback`.
    pub fn display_name(&self, fallback: &str) -> String {
        self.name
            .clone()
            .or_else(|| self.arn.clone())
            .unwrap_or_else(|| fallback.to_string())
    }

    /// The document as JSON: parses a string document, or falls back to the
    /// shipped managed policy of that name or ARN.
    pub fn document_value(&self, fallback_name: &str) -> Result<Value, IamError> {
        let name = self.display_name(fallback_name);
        match &self.document {
            Some(Value::String(text)) => {
                serde_json::from_str(text).map_err(|e| IamError::InvalidJson {
                    policy: name,
                    reason: e.to_string(),
                })
            }
            Some(v) => Ok(v.clone()),
            None => self
                .arn
                .as_deref()
                .and_then(data::managed_policy)
                .or_else(|| self.name.as_deref().and_then(data::managed_policy))
                .ok_or_else(|| IamError::InvalidInput {
                    reason: format!(
                        "policy `{name}` has no document and is not a shipped aws managed policy"
                    ),
                }),
        }
    }

    /// Parses the policy.
    pub fn parse(&self, fallback_name: &str) -> Result<Policy, IamError> {
        let name = self.display_name(fallback_name);
        Policy::from_value(&self.document_value(fallback_name)?, &name)
    }
}

impl<'de> Deserialize<'de> for PolicyEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let wrapper_keys = ["name", "arn", "document"];
        match &v {
            Value::Object(m)
                if !m.is_empty()
                    && m.keys().all(|k| wrapper_keys.contains(&k.as_str()))
                    && !m.contains_key("Statement") =>
            {
                let text = |k: &str| -> Result<Option<String>, D::Error> {
                    match m.get(k) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) => Ok(Some(s.clone())),
                        Some(_) => Err(serde::de::Error::custom(format!(
                            "policy entry field `{k}` must be a string"
                        ))),
                    }
                };
                Ok(PolicyEntry {
                    name: text("name")?,
                    arn: text("arn")?,
                    document: m.get("document").filter(|d| !d.is_null()).cloned(),
                })
            }
            Value::Object(_) | Value::String(_) => Ok(PolicyEntry::document(v)),
            _ => Err(serde::de::Error::custom(
                "a policy must be a document object, a json string, or {\"name\", \"document\"}",
            )),
        }
    }
}

impl Serialize for PolicyEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = Map::new();
        if let Some(n) = &self.name {
            m.insert("name".into(), Value::String(n.clone()));
        }
        if let Some(a) = &self.arn {
            m.insert("arn".into(), Value::String(a.clone()));
        }
        if let Some(d) = &self.document {
            m.insert("document".into(), d.clone());
        }
        Value::Object(m).serialize(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn entries_in_all_shapes() {
        let bare: PolicyEntry =
            serde_json::from_str(r#"{"Version":"2012-10-17","Statement":[]}"#).unwrap();
        assert!(bare.name.is_none());
        let named: PolicyEntry = serde_json::from_str(
            r#"{"name":"repo","document":"{\"Statement\":{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"*\"}}"}"#,
        )
        .unwrap();
        assert_eq!(named.parse("x").unwrap().statements.len(), 1);
        let managed: PolicyEntry =
            serde_json::from_str(r#"{"name":"AmazonEC2ContainerRegistryReadOnly"}"#).unwrap();
        assert!(managed.parse("x").is_ok());
        let missing: PolicyEntry = serde_json::from_str(r#"{"name":"Nope"}"#).unwrap();
        assert!(missing.parse("x").is_err());
    }

    #[test]
    fn context_values() {
        let r: Request = serde_json::from_str(
            r#"{"principal":"p","action":"a","resource":"r","context":{"a":"x","b":["y","z"],"c":true,"d":3,"e":null,"f":{"unknown":true}}}"#,
        )
        .unwrap();
        assert_eq!(r.context["c"], ContextValue::Values(vec!["true".into()]));
        assert_eq!(r.context["d"], ContextValue::Values(vec!["3".into()]));
        assert_eq!(r.context["e"], ContextValue::Absent);
        assert_eq!(r.context["f"], ContextValue::Unknown);
        assert!(
            serde_json::from_str::<Request>(
                r#"{"principal":"p","action":"a","resource":"r","context":{"a":{"x":1}}}"#
            )
            .is_err()
        );
    }
}
