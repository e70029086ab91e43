//! Functions over structured data: decoding a document held in a string, and
//! combining objects.

use serde_json::{Map, Value};

use super::FuncError;

pub(super) const PARSE_YAML_DOCS: &str = "\
`parse_yaml(text)` decodes a YAML document (JSON is YAML) held in a string, such as an
EKS add-on's `configurationValues`, an annotation or a ConfigMap key, into a value rules
can select in. `null`, an empty or blank string decode to `null`. It is parsed as rule
files are (YAML 1.2 booleans, duplicate keys refused, serde-saphyr's budget against
YAML bombs); a text that is not YAML, or is over the budget, is an evaluation error for
the candidate, naming the line and column.

```yaml
let:
  values: {call: parse_yaml, args: [$addon.configurationValues]}
  replicas: {value: $values.replicaCount}
```
";

pub(super) const MERGE_DOCS: &str = "\
`merge(a, b, ...)` returns one object with the members of every object argument, a
later argument's member replacing an earlier one of the same name, and a later member
whose value is `null` removing it: JSON merge patch (RFC 7386, as `kubectl patch
--type=merge` applies it), one level deep. `null` arguments are skipped (no object at
all gives `{}`); any other value is an error. Rules use it to print a whole
document with one part changed, e.g. an add-on's configuration values with a new
`nodeSelector`:

```yaml
let:
  values: {call: merge, args: [$current_values, {nodeSelector: $new_selector}]}
```
";

/// `parse_yaml(text)`.
pub(super) fn parse_yaml(args: &[Value]) -> Result<Value, FuncError> {
    let text = match args.first() {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => return Ok(Value::Null),
        Some(other) => {
            return Err(FuncError::new(format!(
                "parse_yaml: the text must be a string, not `{other}`"
            )));
        }
    };
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    crate::yaml::parse(text)
        .map(|node| node.to_json())
        .map_err(|e| FuncError::new(format!("parse_yaml: not YAML at {}: {}", e.pos, e.message)))
}

/// `merge(a, b, ...)`.
pub(super) fn merge(args: &[Value]) -> Result<Value, FuncError> {
    let mut out = Map::new();
    for (i, a) in args.iter().enumerate() {
        match a {
            Value::Object(m) => {
                for (k, v) in m {
                    if v.is_null() {
                        out.remove(k);
                    } else {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Null => {}
            other => {
                return Err(FuncError::new(format!(
                    "merge: argument {} must be an object or null, not `{other}`",
                    i + 1
                )));
            }
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_and_json_texts_decode() {
        assert_eq!(
            parse_yaml(&[json!(
                "{\"nodeSelector\": {\"pool\": \"system\"}, \"replicaCount\": 2}"
            )])
            .unwrap(),
            json!({"nodeSelector": {"pool": "system"}, "replicaCount": 2})
        );
        assert_eq!(
            parse_yaml(&[json!("nodeSelector:\n  pool: system\non: yes\n")]).unwrap(),
            json!({"nodeSelector": {"pool": "system"}, "on": "yes"})
        );
        assert_eq!(parse_yaml(&[json!("  ")]).unwrap(), Value::Null);
        assert_eq!(parse_yaml(&[Value::Null]).unwrap(), Value::Null);
        let err = parse_yaml(&[json!("a: [1,")]).unwrap_err();
        assert!(err.0.starts_with("parse_yaml: not YAML at "), "{err}");
        assert!(parse_yaml(&[json!("a: 1\na: 2\n")]).is_err());
        assert!(parse_yaml(&[json!(3)]).is_err());
        // a YAML bomb is refused by the budget, not expanded
        let bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
        assert!(parse_yaml(&[json!(bomb)]).is_err());
    }

    #[test]
    fn objects_merge_shallowly_later_wins() {
        assert_eq!(
            merge(&[
                json!({"nodeSelector": {"a": "1"}, "replicaCount": 2}),
                Value::Null,
                json!({"nodeSelector": {"b": "2"}})
            ])
            .unwrap(),
            json!({"nodeSelector": {"b": "2"}, "replicaCount": 2})
        );
        assert_eq!(merge(&[Value::Null]).unwrap(), json!({}));
        // a null member removes the member
        assert_eq!(
            merge(&[json!({"a": "1", "b": "2"}), json!({"a": null, "c": "3"})]).unwrap(),
            json!({"b": "2", "c": "3"})
        );
        assert!(merge(&[json!([1])]).is_err());
    }
}
