//! Kubernetes label selectors: which objects a selector selects, which come
//! nearest when none does, and the selector as `kubectl` prints it.
//!
//! One selector model covers the forms Kubernetes uses: a `LabelSelector`
//! (`matchLabels`, `matchExpressions` with `In`, `NotIn`, `Exists`,
//! `DoesNotExist`), a `NodeSelectorTerm` (`matchExpressions` also with `Gt`, `Lt`),
//! and plain maps such as a Service's `spec.selector` or a pod's `nodeSelector`,
//! which rules pass as `{matchLabels: MAP}`.

use serde_json::{Map, Value};

use super::{FuncError, type_name};

/// Objects one call may compare (a namespace's pods, a cluster's nodes).
const MAX_OBJECTS: usize = 100_000;

pub(super) const SELECT_DOCS: &str = "\
`selector_select(selector, objects)` returns the objects (Kubernetes objects, their
labels read from `metadata.labels`) that the label selector selects, in their order.
`selector` is a `LabelSelector` or `NodeSelectorTerm`: `matchLabels` (every key
must have exactly that value) and `matchExpressions` (every requirement must hold:
`In`, `NotIn`, `Exists`, `DoesNotExist`, and `Gt`, `Lt`, which compare the label's
value as an integer). A plain map of labels, such as a Service's `spec.selector` or
a pod's `spec.nodeSelector`, is passed as `{matchLabels: MAP}`. As in Kubernetes an
empty selector (`{}`) selects every object and a `null` one selects none; `NotIn`
and `DoesNotExist` hold for an object without the key. Any other operator, or a
requirement that is not of its operator's form (`In` without values, `Gt` with two),
makes the call fail. `matchFields` (node affinity's field selectors) is not read:
the call fails on it rather than ignore it.

```yaml
let:
  pods: {join: k8s/v1/Pod, on: $.metadata.namespace, equals: $.metadata.namespace}
  selected: {call: selector_select, args: [{matchLabels: $.spec.selector}, $pods]}
```
";

pub(super) const NEAREST_DOCS: &str = "\
`selector_nearest(selector, objects, n)` ranks the objects by how many requirements
of the selector (as for `selector_select`) their labels miss, fewest first (ties
keep the objects' order), and returns up to `n` (default 3) of them, each as
`{\"name\", \"namespace\", \"labels\", \"unmet\": [...]}`; `unmet` lists the
requirements the object misses, each `{\"key\", \"operator\", \"values\",
\"found\", \"text\"}`: `found` is the object's value for the key (`null` when it has
none) and `text` the requirement as `kubectl` writes it (`app=web`, `tier in
(a,b)`, `!gpu`). Rules use it to show what comes closest when a selector selects
nothing, e.g. the pods of a Service's namespace whose labels nearly match:

```yaml
let:
  nearest: {call: selector_nearest, args: [{matchLabels: $.spec.selector}, $pods, 3]}
```

Objects that match come first, with an empty `unmet`.
";

pub(super) const MISSING_KEYS_DOCS: &str = "\
`selector_missing_keys(selector, objects)` returns the label keys the selector
(as for `selector_select`) requires to be present (`matchLabels` keys and the keys
of `In`, `Exists`, `Gt` and `Lt` requirements) that no object carries at all, in
the selector's order. Rules use it to name what no node has, e.g. the
`nodeSelector` keys of a pod that no node is labelled with:

```yaml
let:
  absent: {call: selector_missing_keys, args: [{matchLabels: $.spec.nodeSelector}, $nodes]}
```
";

pub(super) const TEXT_DOCS: &str = "\
`selector_text(selector)` writes the selector (as for `selector_select`) the way
`kubectl` prints selectors: requirements joined by `,`, `matchLabels` first, each
as `key=value`, `key in (a,b)`, `key notin (a,b)`, `key`, `!key`, `key>3` or
`key<3`; `<none>` for an empty selector and a null one.
";

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq)]
struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Equals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Equals | Op::In => "In",
            Op::NotIn => "NotIn",
            Op::Exists => "Exists",
            Op::DoesNotExist => "DoesNotExist",
            Op::Gt => "Gt",
            Op::Lt => "Lt",
        }
    }

    /// Whether an object must carry the key for the requirement to hold.
    fn needs_key(self) -> bool {
        !matches!(self, Op::NotIn | Op::DoesNotExist)
    }
}

impl Requirement {
    fn holds(&self, labels: &Map<String, Value>) -> bool {
        let found = labels.get(&self.key).map(label_text);
        match (self.op, found) {
            (Op::Equals | Op::In, Some(v)) => self.values.contains(&v),
            (Op::NotIn, Some(v)) => !self.values.contains(&v),
            (Op::NotIn | Op::DoesNotExist, None) | (Op::Exists, Some(_)) => true,
            (Op::Gt | Op::Lt, Some(v)) => match (v.parse::<i64>(), self.bound()) {
                (Ok(have), Some(bound)) => {
                    if self.op == Op::Gt {
                        have > bound
                    } else {
                        have < bound
                    }
                }
                _ => false,
            },
            _ => false,
        }
    }

    fn bound(&self) -> Option<i64> {
        self.values.first().and_then(|v| v.parse().ok())
    }

    fn text(&self) -> String {
        match self.op {
            Op::Equals => format!("{}={}", self.key, self.values.join(",")),
            Op::In => format!("{} in ({})", self.key, self.values.join(",")),
            Op::NotIn => format!("{} notin ({})", self.key, self.values.join(",")),
            Op::Exists => self.key.clone(),
            Op::DoesNotExist => format!("!{}", self.key),
            Op::Gt => format!("{}>{}", self.key, self.values.join(",")),
            Op::Lt => format!("{}<{}", self.key, self.values.join(",")),
        }
    }
}

/// A label value as text (labels are strings; a number or boolean in a
/// hand-written snapshot compares as its JSON text).
fn label_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A parsed selector; `None` selects nothing (a null selector).
fn parse(fname: &str, selector: Option<&Value>) -> Result<Option<Vec<Requirement>>, FuncError> {
    let obj = match selector {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(other) => {
            return Err(FuncError(format!(
                "{fname}: the selector must be an object (`matchLabels`, `matchExpressions`), found {}",
                type_name(other)
            )));
        }
    };
    let mut out = Vec::new();
    // `matchLabels` first, whatever order the object keeps its keys in
    let fields = ["matchLabels", "matchExpressions"]
        .into_iter()
        .filter_map(|f| obj.get_key_value(f))
        .chain(
            obj.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "matchLabels" | "matchExpressions")),
        );
    for (field, value) in fields {
        match field.as_str() {
            "matchLabels" => match value {
                Value::Null => {}
                Value::Object(m) => {
                    for (k, v) in m {
                        out.push(Requirement {
                            key: k.clone(),
                            op: Op::Equals,
                            values: vec![label_text(v)],
                        });
                    }
                }
                other => {
                    return Err(FuncError(format!(
                        "{fname}: `matchLabels` must be an object, found {}",
                        type_name(other)
                    )));
                }
            },
            "matchExpressions" => match value {
                Value::Null => {}
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        out.push(expression(fname, i, item)?);
                    }
                }
                other => {
                    return Err(FuncError(format!(
                        "{fname}: `matchExpressions` must be an array, found {}",
                        type_name(other)
                    )));
                }
            },
            "matchFields" => {
                return Err(FuncError(format!(
                    "{fname}: `matchFields` selects by object field, not label, and is not supported"
                )));
            }
            other => {
                return Err(FuncError(format!(
                    "{fname}: unknown selector field `{other}` (expected `matchLabels` or `matchExpressions`; pass a plain map of labels as `{{matchLabels: MAP}}`)"
                )));
            }
        }
    }
    Ok(Some(out))
}

fn expression(fname: &str, i: usize, item: &Value) -> Result<Requirement, FuncError> {
    let Value::Object(e) = item else {
        return Err(FuncError(format!(
            "{fname}: `matchExpressions[{i}]` must be an object, found {}",
            type_name(item)
        )));
    };
    let key = match e.get("key") {
        Some(Value::String(k)) if !k.is_empty() => k.clone(),
        _ => {
            return Err(FuncError(format!(
                "{fname}: `matchExpressions[{i}]` has no `key`"
            )));
        }
    };
    let op = match e.get("operator").and_then(Value::as_str) {
        Some("In") => Op::In,
        Some("NotIn") => Op::NotIn,
        Some("Exists") => Op::Exists,
        Some("DoesNotExist") => Op::DoesNotExist,
        Some("Gt") => Op::Gt,
        Some("Lt") => Op::Lt,
        Some(other) => {
            return Err(FuncError(format!(
                "{fname}: `matchExpressions[{i}]` has unknown operator `{other}` (expected In, NotIn, Exists, DoesNotExist, Gt or Lt)"
            )));
        }
        None => {
            return Err(FuncError(format!(
                "{fname}: `matchExpressions[{i}]` has no `operator`"
            )));
        }
    };
    let values: Vec<String> = match e.get("values") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(vs)) => vs.iter().map(label_text).collect(),
        Some(other) => {
            return Err(FuncError(format!(
                "{fname}: `matchExpressions[{i}].values` must be an array, found {}",
                type_name(other)
            )));
        }
    };
    let well_formed = match op {
        Op::In | Op::NotIn => !values.is_empty(),
        Op::Exists | Op::DoesNotExist => values.is_empty(),
        Op::Gt | Op::Lt => values.len() == 1 && values[0].parse::<i64>().is_ok(),
        Op::Equals => true,
    };
    if !well_formed {
        let want = match op {
            Op::In | Op::NotIn => "at least one value",
            Op::Exists | Op::DoesNotExist => "no values",
            _ => "exactly one integer value",
        };
        return Err(FuncError(format!(
            "{fname}: `matchExpressions[{i}]` (`{key}` {}) needs {want}",
            op.name()
        )));
    }
    Ok(Requirement { key, op, values })
}

fn objects<'a>(fname: &str, v: Option<&'a Value>) -> Result<&'a [Value], FuncError> {
    match v {
        Some(Value::Array(items)) if items.len() <= MAX_OBJECTS => Ok(items),
        Some(Value::Array(items)) => Err(FuncError(format!(
            "{fname}: {} objects exceed the limit of {MAX_OBJECTS}",
            items.len()
        ))),
        Some(Value::Null) | None => Ok(&[]),
        Some(other) => Err(FuncError(format!(
            "{fname}: argument 2 must be an array of objects, found {}",
            type_name(other)
        ))),
    }
}

static NO_LABELS: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

fn labels_of(object: &Value) -> &Map<String, Value> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .unwrap_or(&NO_LABELS)
}

pub(super) fn select(args: &[Value]) -> Result<Value, FuncError> {
    let Some(reqs) = parse("selector_select", args.first())? else {
        return Ok(Value::Array(Vec::new()));
    };
    let objs = objects("selector_select", args.get(1))?;
    Ok(Value::Array(
        objs.iter()
            .filter(|o| reqs.iter().all(|r| r.holds(labels_of(o))))
            .cloned()
            .collect(),
    ))
}

pub(super) fn nearest(args: &[Value]) -> Result<Value, FuncError> {
    let reqs = parse("selector_nearest", args.first())?.unwrap_or_default();
    let objs = objects("selector_nearest", args.get(1))?;
    let n = match args.get(2) {
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                FuncError("selector_nearest: argument 3 must be a non-negative integer".into())
            })?,
        None => 3,
    };
    let mut ranked: Vec<(usize, usize, Value)> = objs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let labels = labels_of(o);
            let unmet: Vec<Value> = reqs
                .iter()
                .filter(|r| !r.holds(labels))
                .map(|r| {
                    serde_json::json!({
                        "key": r.key,
                        "operator": r.op.name(),
                        "values": r.values,
                        "found": labels.get(&r.key).map(label_text),
                        "text": r.text(),
                    })
                })
                .collect();
            let entry = serde_json::json!({
                "name": o.pointer("/metadata/name").cloned().unwrap_or(Value::Null),
                "namespace": o.pointer("/metadata/namespace").cloned().unwrap_or(Value::Null),
                "labels": Value::Object(labels.clone()),
                "unmet": unmet,
            });
            (unmet.len(), i, entry)
        })
        .collect();
    ranked.sort_by_key(|(misses, i, _)| (*misses, *i));
    Ok(Value::Array(
        ranked.into_iter().take(n).map(|(_, _, e)| e).collect(),
    ))
}

pub(super) fn missing_keys(args: &[Value]) -> Result<Value, FuncError> {
    let reqs = parse("selector_missing_keys", args.first())?.unwrap_or_default();
    let objs = objects("selector_missing_keys", args.get(1))?;
    let mut out: Vec<Value> = Vec::new();
    for r in reqs.iter().filter(|r| r.op.needs_key()) {
        let key = Value::String(r.key.clone());
        if !out.contains(&key) && !objs.iter().any(|o| labels_of(o).contains_key(&r.key)) {
            out.push(key);
        }
    }
    Ok(Value::Array(out))
}

pub(super) fn text(args: &[Value]) -> Result<Value, FuncError> {
    let reqs = parse("selector_text", args.first())?.unwrap_or_default();
    if reqs.is_empty() {
        return Ok(Value::String("<none>".into()));
    }
    Ok(Value::String(
        reqs.iter()
            .map(Requirement::text)
            .collect::<Vec<_>>()
            .join(","),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn pod(name: &str, labels: Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "shop", "labels": labels}})
    }

    fn names(v: &Value) -> Vec<&str> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| {
                o.pointer("/metadata/name")
                    .or_else(|| o.get("name"))
                    .and_then(Value::as_str)
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn match_labels_select_exact_values() {
        let pods = json!([
            pod("a", json!({"app": "web", "tier": "fe"})),
            pod("b", json!({"app": "web"})),
            pod("c", json!({"app": "webapp", "tier": "fe"})),
            json!({"metadata": {"name": "d"}}),
        ]);
        let sel = json!({"matchLabels": {"app": "web", "tier": "fe"}});
        assert_eq!(names(&select(&[sel, pods.clone()]).unwrap()), ["a"]);
        // empty selects all, null selects none
        assert_eq!(
            names(&select(&[json!({}), pods.clone()]).unwrap()),
            ["a", "b", "c", "d"]
        );
        assert_eq!(
            names(&select(&[json!({"matchLabels": null}), pods.clone()]).unwrap()),
            ["a", "b", "c", "d"]
        );
        assert_eq!(select(&[json!(null), pods]).unwrap(), json!([]));
    }

    #[test]
    fn match_expressions_follow_kubernetes() {
        let nodes = json!([
            pod("n1", json!({"zone": "a", "cpu": "4"})),
            pod("n2", json!({"zone": "b", "gpu": "true", "cpu": "16"})),
            pod("n3", json!({})),
        ]);
        let sel = |e: Value| json!({"matchExpressions": [e]});
        let run = |e: Value| names(&select(&[sel(e), nodes.clone()]).unwrap()).join(" ");
        assert_eq!(
            run(json!({"key": "zone", "operator": "In", "values": ["a", "c"]})),
            "n1"
        );
        assert_eq!(
            run(json!({"key": "zone", "operator": "NotIn", "values": ["a"]})),
            "n2 n3"
        );
        assert_eq!(run(json!({"key": "gpu", "operator": "Exists"})), "n2");
        assert_eq!(
            run(json!({"key": "gpu", "operator": "DoesNotExist"})),
            "n1 n3"
        );
        assert_eq!(
            run(json!({"key": "cpu", "operator": "Gt", "values": ["8"]})),
            "n2"
        );
        assert_eq!(
            run(json!({"key": "cpu", "operator": "Lt", "values": ["8"]})),
            "n1"
        );
    }

    #[test]
    fn malformed_selectors_fail_with_the_reason() {
        let err = |s: Value| select(&[s, json!([])]).unwrap_err().0;
        assert!(err(json!("app=web")).contains("must be an object"));
        assert!(err(json!({"app": "web"})).contains("unknown selector field `app`"));
        assert!(
            err(json!({"matchExpressions": [{"key": "a", "operator": "Near"}]}))
                .contains("unknown operator `Near`")
        );
        assert!(
            err(json!({"matchExpressions": [{"key": "a", "operator": "In"}]}))
                .contains("needs at least one value")
        );
        assert!(
            err(json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["x"]}]}))
                .contains("exactly one integer value")
        );
        assert!(err(json!({"matchFields": []})).contains("not supported"));
        assert!(
            select(&[json!({}), json!("pods")])
                .unwrap_err()
                .0
                .contains("argument 2 must be an array")
        );
    }

    #[test]
    fn nearest_ranks_by_unmet_requirements() {
        let pods = json!([
            pod("far", json!({"run": "x"})),
            pod("near", json!({"app": "webapp", "tier": "fe"})),
            pod("nearer", json!({"app": "web", "tier": "be"})),
        ]);
        let sel = json!({"matchLabels": {"app": "web", "tier": "fe"}});
        let got = nearest(&[sel.clone(), pods.clone(), json!(2)]).unwrap();
        assert_eq!(names(&got), ["near", "nearer"]);
        assert_eq!(
            got[0]["unmet"],
            json!([{"key": "app", "operator": "In", "values": ["web"], "found": "webapp", "text": "app=web"}])
        );
        assert_eq!(got[0]["labels"], json!({"app": "webapp", "tier": "fe"}));
        assert_eq!(got[0]["namespace"], "shop");
        assert_eq!(nearest(&[sel, pods]).unwrap().as_array().unwrap().len(), 3);
        assert!(nearest(&[json!({}), json!([]), json!(-1)]).is_err());
    }

    #[test]
    fn missing_keys_are_those_no_object_carries() {
        let nodes = json!([
            pod("n1", json!({"role": "system"})),
            pod("n2", json!({"zone": "b"}))
        ]);
        let sel = json!({"matchLabels": {"role": "infra", "dedicated": "coredns"},
                         "matchExpressions": [{"key": "spot", "operator": "DoesNotExist"},
                                              {"key": "zone", "operator": "In", "values": ["a"]},
                                              {"key": "arch", "operator": "Exists"}]});
        assert_eq!(
            missing_keys(&[sel, nodes]).unwrap(),
            json!(["dedicated", "arch"])
        );
    }

    #[test]
    fn text_is_what_kubectl_prints() {
        let sel = json!({"matchLabels": {"app": "web"},
                         "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]},
                                              {"key": "x", "operator": "NotIn", "values": ["1"]},
                                              {"key": "gpu", "operator": "Exists"},
                                              {"key": "spot", "operator": "DoesNotExist"},
                                              {"key": "cpu", "operator": "Gt", "values": ["3"]}]});
        assert_eq!(
            text(&[sel]).unwrap(),
            json!("app=web,tier in (a,b),x notin (1),gpu,!spot,cpu>3")
        );
        assert_eq!(text(&[json!({})]).unwrap(), json!("<none>"));
        assert_eq!(text(&[json!(null)]).unwrap(), json!("<none>"));
    }
}
