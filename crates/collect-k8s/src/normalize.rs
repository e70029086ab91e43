//! Pure conversions from API responses to the documents `kubectl get -o json`
//! shows.

use serde_json::{Map, Value};

use crate::declare::Resource;

/// Why an API response cannot be read as what was asked for: a value of the
/// wrong JSON type where the Kubernetes API defines the shape. Never taken as
/// "nothing there": a list whose `items` is a string is not an empty list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// The JSON type of a value, as messages name it.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn wrong(what: &str, v: &Value, expected: &str) -> Malformed {
    Malformed(format!("{what} is {}, expected {expected}", json_type(v)))
}

/// The items of a list response, each with `apiVersion` and `kind` restored
/// (the API server omits both in list items) and cleaned by [`object`].
///
/// The answer must be an object whose `items` is a list of objects. `items:
/// null` is an empty list (Go encodes an empty slice that way); a missing
/// `items`, or one of another type, is malformed.
pub fn list_items(list: Value, res: &Resource) -> Result<Vec<Value>, Malformed> {
    let Value::Object(mut map) = list else {
        return Err(wrong("the answer", &list, "a list object"));
    };
    match map.remove("items") {
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                object(item, res).map_err(|Malformed(m)| Malformed(format!("item {}: {m}", i + 1)))
            })
            .collect(),
        Some(Value::Null) => Ok(Vec::new()),
        Some(other) => Err(wrong("`items`", &other, "a list")),
        None => Err(Malformed("`items` is missing".into())),
    }
}

/// The `metadata.continue` token of a list response, when there are more pages.
/// A list `metadata` that is not an object, or a `continue` that is not a
/// string, is malformed: taking it as "no more pages" would end the list early
/// without a word.
pub fn continue_token(list: &Value) -> Result<Option<String>, Malformed> {
    let meta = match list.get("metadata") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(other) => return Err(wrong("the list's `metadata`", other, "an object")),
    };
    match meta.get("continue") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong("`metadata.continue`", other, "a string")),
    }
}

/// One object as `kubectl` shows it, minus what no rule needs: `managedFields`
/// (large, server bookkeeping) are dropped; a ServiceAccount keeps only its
/// metadata and `imagePullSecrets` names.
///
/// The object must be a JSON object with a `metadata` object; a ServiceAccount's
/// `imagePullSecrets`, when present, a list of objects. An entry without a
/// `name` is dropped (it references no secret).
pub fn object(obj: Value, res: &Resource) -> Result<Value, Malformed> {
    let Value::Object(mut map) = obj else {
        return Err(wrong("the object", &obj, "an object"));
    };
    match map.get_mut("metadata") {
        Some(Value::Object(meta)) => {
            meta.remove("managedFields");
        }
        Some(other) => return Err(wrong("`metadata`", other, "an object")),
        None => return Err(Malformed("`metadata` is missing".into())),
    }
    if res.object_kind == "ServiceAccount" {
        let pull: Vec<Value> = match map.get("imagePullSecrets") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => {
                let mut names = Vec::new();
                for (i, s) in a.iter().enumerate() {
                    let Value::Object(entry) = s else {
                        return Err(wrong(&format!("`imagePullSecrets[{i}]`"), s, "an object"));
                    };
                    if let Some(n) = entry.get("name") {
                        let mut m = Map::new();
                        m.insert("name".into(), n.clone());
                        names.push(Value::Object(m));
                    }
                }
                names
            }
            Some(other) => return Err(wrong("`imagePullSecrets`", other, "a list")),
        };
        let meta = map.remove("metadata").unwrap_or(Value::Null);
        map.clear();
        map.insert("metadata".into(), meta);
        map.insert("imagePullSecrets".into(), Value::Array(pull));
    }
    map.insert("apiVersion".into(), Value::String(res.api_version()));
    map.insert("kind".into(), Value::String(res.object_kind.to_string()));
    Ok(Value::Object(map))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::declare::resource;
    use serde_json::json;

    #[test]
    fn list_items_get_kind_and_lose_managed_fields() {
        let list = json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"continue": "abc"},
            "items": [{"metadata": {"name": "p", "managedFields": [{"manager": "kubectl"}]}, "spec": {}}]});
        assert_eq!(continue_token(&list).unwrap().as_deref(), Some("abc"));
        let items = list_items(list, resource("k8s/v1/Pod").unwrap()).unwrap();
        assert_eq!(
            items,
            vec![json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}})]
        );
        assert_eq!(
            continue_token(&json!({"metadata": {"continue": ""}})),
            Ok(None)
        );
    }

    #[test]
    fn service_accounts_keep_only_pull_secret_names() {
        let sa = json!({"metadata": {"name": "default"}, "secrets": [{"name": "default-token-x"}],
            "imagePullSecrets": [{"name": "ecr-creds"}], "automountServiceAccountToken": true});
        let out = object(sa, resource("k8s/v1/ServiceAccount").unwrap()).unwrap();
        assert_eq!(
            out,
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"},
            "imagePullSecrets": [{"name": "ecr-creds"}]})
        );
    }

    #[test]
    fn malformed_lists_are_errors_never_empty_lists() {
        let pods = resource("k8s/v1/Pod").unwrap();
        let err = |v: Value| list_items(v, pods).unwrap_err().0;
        assert_eq!(
            err(json!({"items": "oops"})),
            "`items` is a string, expected a list"
        );
        assert_eq!(
            err(json!({"items": {"a": 1}})),
            "`items` is an object, expected a list"
        );
        assert_eq!(err(json!({"metadata": {}})), "`items` is missing");
        assert_eq!(
            err(json!("PodList")),
            "the answer is a string, expected a list object"
        );
        assert_eq!(
            err(json!({"items": [{"metadata": {}}, 7]})),
            "item 2: the object is a number, expected an object"
        );
        assert_eq!(
            err(json!({"items": [{"metadata": "p"}]})),
            "item 1: `metadata` is a string, expected an object"
        );
        assert_eq!(
            err(json!({"items": [{"spec": {}}]})),
            "item 1: `metadata` is missing"
        );
        // Go encodes an empty slice as null.
        assert_eq!(list_items(json!({"items": null}), pods), Ok(Vec::new()));
        assert_eq!(
            continue_token(&json!({"metadata": {"continue": 5}}))
                .unwrap_err()
                .0,
            "`metadata.continue` is a number, expected a string"
        );
        assert_eq!(
            continue_token(&json!({"metadata": ["x"]})).unwrap_err().0,
            "the list's `metadata` is a list, expected an object"
        );
        let sas = resource("k8s/v1/ServiceAccount").unwrap();
        assert_eq!(
            object(json!({"metadata": {}, "imagePullSecrets": "x"}), sas)
                .unwrap_err()
                .0,
            "`imagePullSecrets` is a string, expected a list"
        );
        assert_eq!(
            object(json!({"metadata": {}, "imagePullSecrets": ["x"]}), sas)
                .unwrap_err()
                .0,
            "`imagePullSecrets[0]` is a string, expected an object"
        );
    }
}
