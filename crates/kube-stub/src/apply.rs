//! Server-side apply: field ownership per manager (`metadata.managedFields`,
//! `FieldsV1`), conflicts, and merging an applied configuration into an object.
//!
//! As the real server does it for custom resources without list-type markers:
//! maps merge key by key, every other value (lists included) is atomic and
//! owned as a whole. A manager owns the leaves of the configuration it applied
//! last; applying again without a field it owned removes that field unless
//! another manager owns it too. Setting a field another manager owns to a
//! different value is a conflict unless forced, which takes the field over.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// A field: the member names from the object's root to a leaf.
pub(crate) type Path = Vec<String>;

/// Metadata members the server sets or that identify the object: never owned.
const UNOWNED_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// The fields `config` sets: its leaves, without `apiVersion`, `kind` and the
/// metadata the server owns.
pub(crate) fn fields_of(config: &Value) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    if let Value::Object(map) = config {
        for (k, v) in map {
            match k.as_str() {
                "apiVersion" | "kind" => {}
                "metadata" => {
                    if let Value::Object(meta) = v {
                        for (mk, mv) in meta {
                            if !UNOWNED_METADATA.contains(&mk.as_str()) {
                                leaves(mv, vec!["metadata".into(), mk.clone()], &mut out);
                            }
                        }
                    }
                }
                _ => leaves(v, vec![k.clone()], &mut out),
            }
        }
    }
    out
}

fn leaves(v: &Value, path: Path, out: &mut BTreeSet<Path>) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, child) in map {
                let mut p = path.clone();
                p.push(k.clone());
                leaves(child, p, out);
            }
        }
        _ => {
            out.insert(path);
        }
    }
}

/// `FieldsV1` of a set of fields: `{"f:metadata": {"f:labels": {"f:app": {}}}}`.
pub(crate) fn to_fields_v1(fields: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for path in fields {
        let mut node = &mut root;
        for name in path {
            let entry = node
                .entry(format!("f:{name}"))
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let Value::Object(next) = entry else {
                return Value::Object(root);
            };
            node = next;
        }
    }
    Value::Object(root)
}

/// The fields of a `FieldsV1` document: the `f:` members leading to a node
/// with no `f:` member of its own (list entries, `k:`/`v:`/`i:`, are owned
/// with their list).
pub(crate) fn from_fields_v1(v: &Value) -> BTreeSet<Path> {
    fn walk(v: &Value, path: &mut Path, out: &mut BTreeSet<Path>) {
        let children: Vec<(&str, &Value)> = v
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, c)| k.strip_prefix("f:").map(|n| (n, c)))
            .collect();
        if children.is_empty() {
            if !path.is_empty() {
                out.insert(path.clone());
            }
            return;
        }
        for (name, child) in children {
            path.push(name.to_string());
            walk(child, path, out);
            path.pop();
        }
    }
    let mut out = BTreeSet::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

/// One `managedFields` entry.
#[derive(Debug, Clone)]
pub(crate) struct Manager {
    pub name: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub fields: BTreeSet<Path>,
}

impl Manager {
    fn to_json(&self) -> Value {
        json!({
            "manager": self.name,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(&self.fields),
        })
    }
}

/// The managers of `obj`'s `metadata.managedFields`.
pub(crate) fn managers(obj: &Value) -> Vec<Manager> {
    let text = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| Manager {
            name: text(e, "manager"),
            operation: text(e, "operation"),
            api_version: text(e, "apiVersion"),
            time: text(e, "time"),
            fields: e.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
        })
        .collect()
}

fn get<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

/// Whether one path is a prefix of the other (the same field or one inside the other).
fn overlaps(a: &[String], b: &[String]) -> bool {
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// A field another manager owns and the configuration sets differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conflict {
    pub manager: String,
    /// `.metadata.labels.app`.
    pub field: String,
}

/// The result of an apply.
#[derive(Debug)]
pub(crate) struct Applied {
    /// The object after the apply (not yet given server-set metadata).
    pub object: Value,
    /// Whether anything but `managedFields` times changed.
    pub changed: bool,
    /// Whether anything outside `metadata` changed (the generation moves).
    pub spec_changed: bool,
}

/// Applies `config` as `manager` to `current` (an object, or a skeleton with
/// `apiVersion`, `kind` and `metadata` when creating). `now` is the time
/// recorded for the manager.
pub(crate) fn apply(
    current: &Value,
    config: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Applied, Vec<Conflict>> {
    let wanted = fields_of(config);
    let mut managers = managers(current);
    let mut conflicts = Vec::new();
    for m in managers.iter().filter(|m| m.name != manager) {
        for owned in &m.fields {
            for p in wanted.iter().filter(|p| overlaps(p, owned)) {
                if get(current, owned) != get(config, owned) || get(current, p) != get(config, p) {
                    conflicts.push(Conflict {
                        manager: m.name.clone(),
                        field: format!(".{}", owned.join(".")),
                    });
                    break;
                }
            }
        }
    }
    conflicts.dedup();
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    // Forced: the other managers lose the fields they had that are set differently.
    for m in managers.iter_mut().filter(|m| m.name != manager) {
        m.fields.retain(|owned| {
            !wanted.iter().any(|p| {
                overlaps(p, owned)
                    && (get(current, owned) != get(config, owned)
                        || get(current, p) != get(config, p))
            })
        });
    }
    let previous: BTreeSet<Path> = managers
        .iter()
        .find(|m| m.name == manager)
        .map(|m| m.fields.clone())
        .unwrap_or_default();
    let others: BTreeSet<&Path> = managers
        .iter()
        .filter(|m| m.name != manager)
        .flat_map(|m| m.fields.iter())
        .collect();
    let mut object = current.clone();
    for gone in previous.difference(&wanted) {
        if !others.iter().any(|o| overlaps(o, gone)) {
            remove(&mut object, gone);
        }
    }
    merge(&mut object, config);
    let before = without_managed_fields(current);
    let after = without_managed_fields(&object);
    let mut mine_changed = previous != wanted;
    managers.retain(|m| !m.fields.is_empty() || m.name == manager);
    match managers.iter_mut().find(|m| m.name == manager) {
        Some(m) => {
            if m.operation != "Apply" {
                mine_changed = true;
            }
            m.fields = wanted;
            m.operation = "Apply".into();
            m.api_version = text(config, "apiVersion");
            if before != after || mine_changed {
                m.time = now.to_string();
            }
        }
        None => managers.push(Manager {
            name: manager.to_string(),
            operation: "Apply".into(),
            api_version: text(config, "apiVersion"),
            time: now.to_string(),
            fields: wanted,
        }),
    }
    managers.retain(|m| !m.fields.is_empty());
    let changed =
        before != after || mine_changed || managers.len() != self::managers(current).len();
    let spec_changed = {
        let strip = |v: &Value| {
            let mut v = v.clone();
            if let Some(m) = v.as_object_mut() {
                m.remove("metadata");
            }
            v
        };
        strip(current) != strip(&object)
    };
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(
            "managedFields".into(),
            Value::Array(managers.iter().map(Manager::to_json).collect()),
        );
    }
    Ok(Applied {
        object,
        changed,
        spec_changed,
    })
}

fn text(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

fn without_managed_fields(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    v
}

/// Removes the field at `path`, and maps it leaves empty on the way up.
fn remove(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    if let Some(Value::Object(map)) = parents.iter().try_fold(&mut *v, |v, k| v.get_mut(k)) {
        map.remove(last);
    }
    if !parents.is_empty() {
        let empty = get(v, parents).is_some_and(|p| p.as_object().is_some_and(Map::is_empty));
        if empty {
            remove(v, parents);
        }
    }
}

/// Merges `config` into `object`: maps key by key, other values replaced;
/// server-owned metadata of `config` is ignored.
fn merge(object: &mut Value, config: &Value) {
    fn deep(into: &mut Value, from: &Value) {
        match (into, from) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    match a.get_mut(k) {
                        Some(existing) if existing.is_object() && v.is_object() => {
                            deep(existing, v)
                        }
                        _ => {
                            a.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            (into, from) => *into = from.clone(),
        }
    }
    let Value::Object(cfg) = config else {
        return;
    };
    for (k, v) in cfg {
        if k == "metadata" {
            let Value::Object(meta) = v else { continue };
            for (mk, mv) in meta {
                if UNOWNED_METADATA.contains(&mk.as_str()) {
                    continue;
                }
                let target = &mut object["metadata"];
                match target.get_mut(mk) {
                    Some(existing) if existing.is_object() && mv.is_object() => deep(existing, mv),
                    _ => target[mk] = mv.clone(),
                }
            }
        } else if k != "apiVersion" && k != "kind" {
            match object.get_mut(k) {
                Some(existing) if existing.is_object() && v.is_object() => deep(existing, v),
                _ => object[k] = v.clone(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-01-01T00:00:00Z";

    fn skeleton() -> Value {
        json!({"apiVersion": "openreports.io/v1alpha1", "kind": "Report", "metadata": {"name": "r", "namespace": "a"}})
    }

    #[test]
    fn fields_v1_round_trips() {
        let cfg = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "r", "labels": {"a": "1", "b": "2"}}, "results": [1, 2], "summary": {"fail": 1}});
        let f = fields_of(&cfg);
        assert_eq!(
            to_fields_v1(&f),
            json!({"f:metadata": {"f:labels": {"f:a": {}, "f:b": {}}}, "f:results": {}, "f:summary": {"f:fail": {}}})
        );
        assert_eq!(from_fields_v1(&to_fields_v1(&f)), f);
    }

    #[test]
    fn a_second_apply_drops_what_the_manager_no_longer_sets() {
        let cfg1 = json!({"apiVersion": "openreports.io/v1alpha1", "kind": "Report", "metadata": {"name": "r", "labels": {"x": "1", "y": "2"}}, "results": [1, 2]});
        let a = apply(&skeleton(), &cfg1, "rulerun", false, NOW).unwrap();
        assert!(a.changed && a.spec_changed);
        let cfg2 = json!({"apiVersion": "openreports.io/v1alpha1", "kind": "Report", "metadata": {"name": "r", "labels": {"x": "1"}}, "results": [1]});
        let b = apply(&a.object, &cfg2, "rulerun", false, NOW).unwrap();
        assert_eq!(b.object["results"], json!([1]));
        assert_eq!(b.object["metadata"]["labels"], json!({"x": "1"}));
        let again = apply(&b.object, &cfg2, "rulerun", false, "later").unwrap();
        assert!(!again.changed && !again.spec_changed);
        assert_eq!(again.object["metadata"]["managedFields"][0]["time"], NOW);
    }

    #[test]
    fn another_managers_field_conflicts_unless_forced() {
        let cfg = json!({"apiVersion": "openreports.io/v1alpha1", "kind": "Report", "metadata": {"name": "r"}, "source": "kyverno", "summary": {"fail": 1}});
        let theirs = apply(&skeleton(), &cfg, "kyverno", false, NOW)
            .unwrap()
            .object;
        let mine = json!({"apiVersion": "openreports.io/v1alpha1", "kind": "Report", "metadata": {"name": "r"}, "source": "rulerun", "summary": {"fail": 1}});
        let err = apply(&theirs, &mine, "rulerun", false, NOW).unwrap_err();
        assert_eq!(
            err,
            vec![Conflict {
                manager: "kyverno".into(),
                field: ".source".into()
            }]
        );
        let forced = apply(&theirs, &mine, "rulerun", true, NOW).unwrap().object;
        assert_eq!(forced["source"], "rulerun");
        let ms = managers(&forced);
        let kyverno = ms.iter().find(|m| m.name == "kyverno").unwrap();
        // The equal value stays shared; the conflicting one moved.
        assert_eq!(
            kyverno.fields,
            BTreeSet::from([vec!["summary".to_string(), "fail".to_string()]])
        );
    }
}
