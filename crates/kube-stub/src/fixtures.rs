//! Fixture files: a JSON array of objects, a Kubernetes `List`, or a rulerun snapshot.

use std::io;
use std::path::Path;

use serde_json::{Map, Value};

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Sets `apiVersion`/`kind` on an item that lacks them.
fn with_type(item: Value, api_version: &str, kind: &str) -> Option<Value> {
    let Value::Object(mut o) = item else {
        return None;
    };
    if !o.contains_key("apiVersion") && !api_version.is_empty() {
        o.insert("apiVersion".into(), Value::String(api_version.to_string()));
    }
    if !o.contains_key("kind") && !kind.is_empty() {
        o.insert("kind".into(), Value::String(kind.to_string()));
    }
    Some(Value::Object(o))
}

fn from_facts(facts: Map<String, Value>) -> io::Result<Vec<Value>> {
    let mut out = Vec::new();
    for (fact_kind, docs) in facts {
        // `k8s/v1/Pod`, `k8s/apps/v1/Deployment`; anything else is not Kubernetes.
        let Some(rest) = fact_kind.strip_prefix("k8s/") else {
            continue;
        };
        let Some((api_version, kind)) = rest.rsplit_once('/') else {
            continue;
        };
        let Value::Array(items) = docs else {
            return Err(invalid(format!("facts of `{fact_kind}` must be a list")));
        };
        for (i, item) in items.into_iter().enumerate() {
            out.push(
                with_type(item, api_version, kind)
                    .ok_or_else(|| invalid(format!("{fact_kind} item {i} is not an object")))?,
            );
        }
    }
    Ok(out)
}

/// The objects of a parsed fixture document:
/// * a JSON array of objects (each with `apiVersion` and `kind`);
/// * a Kubernetes `List` or typed list (`PodList`); items without `kind`/`apiVersion`
///   take them from the list;
/// * a rulerun snapshot (`apiVersion: rulerun.dev/v1`, `kind: Snapshot`): the
///   `k8s/...` facts, others skipped;
/// * a single object.
pub fn parse_fixtures(doc: Value) -> io::Result<Vec<Value>> {
    match doc {
        Value::Array(items) => Ok(items),
        Value::Object(mut o) => {
            let api_version = o
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let kind = o
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if api_version == "rulerun.dev/v1" && kind == "Snapshot" {
                return match o.remove("facts") {
                    Some(Value::Object(f)) => from_facts(f),
                    None | Some(Value::Null) => Ok(Vec::new()),
                    Some(_) => Err(invalid("snapshot `facts` must be an object")),
                };
            }
            if kind.ends_with("List") && o.contains_key("items") {
                let item_kind = kind.strip_suffix("List").unwrap_or("");
                let items = match o.remove("items") {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                };
                return items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| {
                        with_type(item, &api_version, item_kind)
                            .ok_or_else(|| invalid(format!("list item {i} is not an object")))
                    })
                    .collect();
            }
            Ok(vec![Value::Object(o)])
        }
        _ => Err(invalid(
            "a fixture file is a JSON array of objects, a Kubernetes List or a rulerun snapshot",
        )),
    }
}

/// Reads and parses a JSON fixture file (see [`parse_fixtures`]).
pub fn load_fixtures(path: &Path) -> io::Result<Vec<Value>> {
    let text = std::fs::read(path)?;
    let doc: Value =
        serde_json::from_slice(&text).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    parse_fixtures(doc)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn formats() {
        let list =
            json!({"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "a"}}]});
        let objs = parse_fixtures(list).unwrap();
        assert_eq!(objs[0]["kind"], "Pod");
        assert_eq!(objs[0]["apiVersion"], "v1");
        let generic = json!({"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}]});
        assert_eq!(parse_fixtures(generic).unwrap()[0]["kind"], "Deployment");
        let snap = json!({"apiVersion": "rulerun.dev/v1", "kind": "Snapshot", "facts": {
            "k8s/apps/v1/ReplicaSet": [{"metadata": {"name": "rs"}}],
            "aws/ecr/RepositoryPolicy": [{"x": 1}],
        }});
        let objs = parse_fixtures(snap).unwrap();
        assert_eq!(objs.len(), 1);
        assert_eq!(objs[0]["apiVersion"], "apps/v1");
        assert_eq!(objs[0]["kind"], "ReplicaSet");
        assert!(parse_fixtures(json!(3)).is_err());
    }
}
