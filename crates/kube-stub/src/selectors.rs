//! Label and field selectors, parsed and matched as the real API server does.

use serde_json::Value;

use crate::resources::Resource;

/// One label selector requirement.
#[derive(Debug, Clone, PartialEq)]
enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
    Gt(String, i64),
    Lt(String, i64),
}

/// A parsed `labelSelector`: every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LabelSelector {
    reqs: Vec<LabelReq>,
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')
}

fn is_value_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Splits at commas outside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn value(v: &str, term: &str) -> Result<String, String> {
    let v = v.trim();
    if v.len() > 63 || !v.chars().all(is_value_char) {
        return Err(format!(
            "unable to parse requirement: values[0][{term}]: Invalid value: \"{v}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'"
        ));
    }
    Ok(v.to_string())
}

fn set(rest: &str, term: &str) -> Result<Vec<String>, String> {
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            format!("unable to parse requirement: found '{rest}', expected: '(' in {term}")
        })?;
    inner.split(',').map(|v| value(v, term)).collect()
}

fn integer(v: &str, term: &str) -> Result<i64, String> {
    v.trim().parse().map_err(|_| {
        format!(
            "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer in {term}"
        )
    })
}

impl LabelSelector {
    /// Parses a selector such as `app=web,tier in (a,b),!legacy`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(Self { reqs });
        }
        for term in split_top_level(s) {
            let t = term.trim();
            if let Some(key) = t.strip_prefix('!') {
                reqs.push(LabelReq::DoesNotExist(Self::key(key.trim(), t)?));
                continue;
            }
            let end = t.find(|c: char| !is_key_char(c)).unwrap_or(t.len());
            let key = Self::key(&t[..end], t)?;
            let rest = &t[end..];
            let trimmed = rest.trim_start();
            let req = if rest.is_empty() {
                LabelReq::Exists(key)
            } else if let Some(v) = trimmed.strip_prefix("!=") {
                LabelReq::NotEq(key, value(v, t)?)
            } else if let Some(v) = trimmed.strip_prefix("==") {
                LabelReq::Eq(key, value(v, t)?)
            } else if let Some(v) = trimmed.strip_prefix('=') {
                LabelReq::Eq(key, value(v, t)?)
            } else if let Some(v) = trimmed.strip_prefix('>') {
                LabelReq::Gt(key, integer(v, t)?)
            } else if let Some(v) = trimmed.strip_prefix('<') {
                LabelReq::Lt(key, integer(v, t)?)
            } else if let Some(v) = trimmed.strip_prefix("notin")
                && v.starts_with([' ', '('])
            {
                LabelReq::NotIn(key, set(v, t)?)
            } else if let Some(v) = trimmed.strip_prefix("in")
                && v.starts_with([' ', '('])
            {
                LabelReq::In(key, set(v, t)?)
            } else {
                return Err(format!(
                    "unable to parse requirement: found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    trimmed
                ));
            };
            reqs.push(req);
        }
        Ok(Self { reqs })
    }

    fn key(k: &str, term: &str) -> Result<String, String> {
        if k.is_empty() || k.len() > 316 || !k.chars().all(is_key_char) {
            return Err(format!(
                "unable to parse requirement: key: Invalid value: \"{k}\": name part must consist of alphanumeric characters, '-', '_' or '.' (in '{term}')"
            ));
        }
        Ok(k.to_string())
    }

    /// Whether there are no requirements.
    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Whether `obj`'s `metadata.labels` satisfy every requirement.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.reqs.iter().all(|r| match r {
            LabelReq::Eq(k, v) => get(k) == Some(v.as_str()),
            LabelReq::NotEq(k, v) => get(k) != Some(v.as_str()),
            LabelReq::In(k, vs) => get(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            LabelReq::NotIn(k, vs) => !get(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            LabelReq::Exists(k) => get(k).is_some(),
            LabelReq::DoesNotExist(k) => get(k).is_none(),
            LabelReq::Gt(k, n) => get(k)
                .and_then(|l| l.parse::<i64>().ok())
                .is_some_and(|l| l > *n),
            LabelReq::Lt(k, n) => get(k)
                .and_then(|l| l.parse::<i64>().ok())
                .is_some_and(|l| l < *n),
        })
    }
}

/// One field selector requirement: field label, whether it must equal, and the value.
#[derive(Debug, Clone, PartialEq)]
struct FieldReq {
    field: String,
    equal: bool,
    value: String,
}

/// A parsed `fieldSelector` checked against one resource's supported field labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldSelector {
    reqs: Vec<FieldReq>,
}

/// Splits at commas not escaped by a backslash.
fn split_unescaped(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ',' => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The byte offset of the first unescaped `=` or `!=` and the operator's length and
/// whether it means equality.
fn find_op(term: &str) -> Option<(usize, usize, bool)> {
    let bytes = term.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'!' if bytes.get(i + 1) == Some(&b'=') => return Some((i, 2, false)),
            b'=' if bytes.get(i + 1) == Some(&b'=') => return Some((i, 2, true)),
            b'=' => return Some((i, 1, true)),
            _ => i += 1,
        }
    }
    None
}

impl FieldSelector {
    /// Parses `a=b,c!=d` and checks every field against `resource`.
    pub fn parse(s: &str, resource: &Resource) -> Result<Self, String> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(Self { reqs });
        }
        for term in split_unescaped(s) {
            let Some((at, len, equal)) = find_op(&term) else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{term}'"
                ));
            };
            let field = term[..at].trim().to_string();
            let value = unescape(&term[at + len..]);
            if field_label(resource, &field).is_none() {
                return Err(format!("field label not supported: {field}"));
            }
            reqs.push(FieldReq {
                field,
                equal,
                value,
            });
        }
        Ok(Self { reqs })
    }

    /// Whether there are no requirements.
    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Whether `obj` satisfies every requirement.
    pub fn matches(&self, resource: &Resource, obj: &Value) -> bool {
        self.reqs.iter().all(|r| {
            let actual = field_value(resource, obj, &r.field).unwrap_or_default();
            (actual == r.value) == r.equal
        })
    }
}

/// The JSON path and default of a supported field label.
fn field_label(resource: &Resource, label: &str) -> Option<(&'static str, &'static str)> {
    match label {
        "metadata.name" => Some(("metadata.name", "")),
        "metadata.namespace" => Some(("metadata.namespace", "")),
        _ => resource
            .fields
            .iter()
            .find(|f| f.label == label)
            .map(|f| (f.path, f.default)),
    }
}

/// The string a field label has on `obj`, as the server compares it.
fn field_value(resource: &Resource, obj: &Value, label: &str) -> Option<String> {
    let (path, default) = field_label(resource, label)?;
    let mut cur = Some(obj);
    for part in path.split('.') {
        cur = cur.and_then(|v| v.get(part));
    }
    Some(match cur {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => default.to_string(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;
    use crate::resources::{RESOURCES, by_plural};

    fn pod(labels: Value) -> Value {
        json!({"metadata": {"name": "p", "namespace": "ns", "labels": labels}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}})
    }

    #[test]
    fn label_selectors() {
        let p = pod(json!({"app": "web", "tier": "front", "rank": "5"}));
        let ok = |s: &str| LabelSelector::parse(s).unwrap().matches(&p);
        assert!(ok(""));
        assert!(ok("app=web"));
        assert!(ok("app==web"));
        assert!(!ok("app!=web"));
        assert!(ok("missing!=x"));
        assert!(ok("app in (web, api)"));
        assert!(!ok("app notin (web,api)"));
        assert!(ok("missing notin (web)"));
        assert!(ok("app,tier"));
        assert!(!ok("!app"));
        assert!(ok("!missing"));
        assert!(ok("app=web,tier in (front),!missing"));
        assert!(!ok("app=web,tier=back"));
        assert!(ok("rank>4"));
        assert!(!ok("rank<4"));
        assert!(LabelSelector::parse("app=we b").is_err());
        assert!(LabelSelector::parse("app in web").is_err());
        assert!(LabelSelector::parse("=x").is_err());
        assert!(LabelSelector::parse("a,,b").is_err());
    }

    #[test]
    fn field_selectors() {
        let pods = &RESOURCES[by_plural(&Default::default(), "", "v1", "pods").unwrap()];
        let p = pod(json!({}));
        let ok = |s: &str| FieldSelector::parse(s, pods).unwrap().matches(pods, &p);
        assert!(ok("metadata.name=p"));
        assert!(ok("metadata.namespace==ns,spec.nodeName=n1"));
        assert!(!ok("status.phase!=Running"));
        assert!(ok("spec.hostNetwork=false"));
        assert!(ok("status.podIP="));
        let err = FieldSelector::parse("spec.foo=x", pods).unwrap_err();
        assert_eq!(err, "field label not supported: spec.foo");
        assert!(FieldSelector::parse("nonsense", pods).is_err());
        let events = &RESOURCES[by_plural(&Default::default(), "", "v1", "events").unwrap()];
        let e = json!({"metadata": {"name": "e"}, "involvedObject": {"uid": "u,1"}, "source": {"component": "kubelet"}});
        let sel = FieldSelector::parse(r"involvedObject.uid=u\,1,source=kubelet", events).unwrap();
        assert!(sel.matches(events, &e));
    }
}
