//! Text helpers.

use serde_json::Value;

use super::{FuncError, type_name};

pub(super) const CLOSEST_DOCS: &str = "\
`closest(word, candidates, n)` returns up to `n` (default 5) strings of `candidates`
ordered by edit distance to `word`, closest first; ties keep the candidates' order.
Non-string candidates are skipped. Rules use it for \"did you mean\" lists, e.g. the
existing tags of an ECR repository closest to a tag that does not exist:

```yaml
let:
  nearby: {call: closest, args: [$image.tag, $images.imageDetails[*].imageTags[*], 5]}
```
";

pub(super) fn closest(args: &[Value]) -> Result<Value, FuncError> {
    let word = match args.first() {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Null) | None => "",
        Some(other) => {
            return Err(FuncError(format!(
                "closest: argument 1 must be a string, found {}",
                type_name(other)
            )));
        }
    };
    let candidates: Vec<&str> = match args.get(1) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Null) | None => Vec::new(),
        Some(other) => {
            return Err(FuncError(format!(
                "closest: argument 2 must be an array, found {}",
                type_name(other)
            )));
        }
    };
    let n = match args.get(2) {
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                FuncError("closest: argument 3 must be a non-negative integer".into())
            })?,
        None => 5,
    };
    let mut scored: Vec<(usize, usize, &str)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (crate::error::edit_distance(word, c), i, *c))
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.2 == b.2);
    Ok(Value::Array(
        scored
            .into_iter()
            .take(n)
            .map(|(_, _, c)| Value::String(c.to_string()))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn closest_orders_by_distance() {
        let v = closest(&[
            json!("1.2.1"),
            json!(["latest", "1.2.0", "1.2.10", "2.0.0"]),
            json!(2),
        ])
        .unwrap();
        assert_eq!(v, json!(["1.2.0", "1.2.10"]));
        assert_eq!(closest(&[json!("x"), json!(null)]).unwrap(), json!([]));
        assert!(closest(&[json!(1), json!([])]).is_err());
        assert!(closest(&[json!("a"), json!(["a"]), json!(-1)]).is_err());
    }
}
