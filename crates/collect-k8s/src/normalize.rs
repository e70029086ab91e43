//! Pure conversions from API responses to the documents `kubectl get -o json`
//! shows.

use serde_json::{Map, Value};

use crate::declare::Resource;

/// The items of a list response, each with `apiVersion` and `kind` restored
/// (the API server omits both in list items) and cleaned by [`object`].
pub fn list_items(list: Value, res: &Resource) -> Vec<Value> {
    let Value::Object(mut map) = list else {
        return Vec::new();
    };
    match map.remove("items") {
        Some(Value::Array(items)) => items.into_iter().map(|i| object(i, res)).collect(),
        _ => Vec::new(),
    }
}

/// The `metadata.continue` token of a list response, when there are more pages.
pub fn continue_token(list: &Value) -> Option<String> {
    list.pointer("/metadata/continue")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// One object as `kubectl` shows it, minus what no rule needs: `managedFields`
/// (large, server bookkeeping) are dropped; a ServiceAccount keeps only its
/// metadata and `imagePullSecrets` names.
pub fn object(obj: Value, res: &Resource) -> Value {
    let Value::Object(mut map) = obj else {
        return Value::Null;
    };
    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
        meta.remove("managedFields");
    }
    if res.object_kind == "ServiceAccount" {
        let pull: Vec<Value> = map
            .get("imagePullSecrets")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.get("name").cloned())
                    .map(|n| {
                        let mut m = Map::new();
                        m.insert("name".into(), n);
                        Value::Object(m)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let meta = map.remove("metadata").unwrap_or(Value::Null);
        map.clear();
        map.insert("metadata".into(), meta);
        map.insert("imagePullSecrets".into(), Value::Array(pull));
    }
    map.insert("apiVersion".into(), Value::String(res.api_version()));
    map.insert("kind".into(), Value::String(res.object_kind.to_string()));
    Value::Object(map)
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
        assert_eq!(continue_token(&list).as_deref(), Some("abc"));
        let items = list_items(list, resource("k8s/v1/Pod").unwrap());
        assert_eq!(
            items,
            vec![json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}})]
        );
        assert_eq!(continue_token(&json!({"metadata": {"continue": ""}})), None);
    }

    #[test]
    fn service_accounts_keep_only_pull_secret_names() {
        let sa = json!({"metadata": {"name": "default"}, "secrets": [{"name": "default-token-x"}],
            "imagePullSecrets": [{"name": "ecr-creds"}], "automountServiceAccountToken": true});
        let out = object(sa, resource("k8s/v1/ServiceAccount").unwrap());
        assert_eq!(
            out,
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"},
            "imagePullSecrets": [{"name": "ecr-creds"}]})
        );
    }
}
