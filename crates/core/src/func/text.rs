//! Text helpers.

use serde_json::Value;

use super::{FuncError, type_name};

/// Letter comparisons one `closest()` call may spend (about 0.1 s of work).
const CLOSEST_WORK: usize = 50_000_000;

pub(super) const CLOSEST_DOCS: &str = "\
`closest(word, candidates, n, max_distance)` returns up to `n` (default 5) strings of
`candidates` ordered by edit distance to `word`, closest first; ties keep the
candidates' order. Non-string candidates are skipped. With `max_distance` (an integer)
only candidates at most that many single-letter edits away are returned, so a
suggestion is a likely typo rather than merely the least different name. Rules use it
for \"did you mean\" lists, e.g. the existing tags of an ECR repository closest to a tag
that does not exist:

```yaml
let:
  nearby: {call: closest, args: [$image.tag, $images.imageDetails[*].imageTags[*], 5]}
```
";

pub(super) const COALESCE_DOCS: &str = "\
`coalesce(a, b, ...)` returns its first argument that is neither null nor an empty
string, array or object, or null. Rules use it to take a value from whichever
source has it, e.g. a node's IAM role from its managed node group or, for
self-managed and Karpenter nodes, from its instance profile:

```yaml
let:
  role_arn: {call: coalesce, args: [$nodegroup.nodeRole, \"$profile.Roles[0].Arn\"]}
```
";

pub(super) const INCONCLUSIVE_DOCS: &str = "\
`inconclusive(reason)` stops evaluating the candidate and reports the rule as
inconclusive for its subject, with `reason` (a string) as the reason, instead of
staying silent: guard it with `if:` for the case the rule cannot decide, e.g. a
node whose IAM role cannot be determined:

```yaml
let:
  undecidable: {call: inconclusive, args: [\"{{ identity_gap }}\"], if: {path: $principal, exists: false}}
```

Bindings after it are not computed for that candidate, and it has no finding.
";

pub(super) fn inconclusive(args: &[Value]) -> Result<Value, FuncError> {
    let reason = match args.first() {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(other) if !other.is_null() => other.to_string(),
        _ => "the rule cannot decide (no reason given)".to_string(),
    };
    Err(FuncError(reason))
}

pub(super) const CONCAT_DOCS: &str = "\
`concat(a, b, ...)` joins arrays into one (a non-array argument is added as one
element; nulls are skipped).
";

pub(super) const WITHOUT_DOCS: &str = "\
`without(a, b)` returns the elements of array `a` that are not in array `b` (JSON
equality), each once, in `a`'s order; a non-array argument counts as a list of that one
value, `null` as an empty list. Rules use it for set differences that JSONPath cannot
express, e.g. the Services an Ingress names that do not exist:

```yaml
let:
  existing: {join: k8s/v1/Service, on: [$.metadata.namespace, $.metadata.name],
             equals: [$.metadata.namespace, \"$.spec..service.name\"]}
  missing: {call: without, args: [\"$.spec..service.name\", \"$existing[*].metadata.name\"]}
```
";

pub(super) const REGEX_CAPTURES_DOCS: &str = "\
`regex_captures(text, pattern)` matches `pattern` (Rust `regex` syntax, unanchored)
against `text` and returns the first match as an object: each named group
(`(?P<name>...)`) under its name, `null` when the group took no part in the match,
`match` the whole match and `input` the text. It returns `null` when the text does not
match, and for a `null` text. Given a list of texts it returns the list of results of
the texts that match (non-string elements are skipped), each with its `input`, so a
rule can find the document a result came from (`\"$events[?@.message == $d.input]\"`).
Unnamed groups are not returned; a group may not be named `match` or `input`.

The pattern must be a literal string written in a `call:` binding: it is compiled
when the rule loads, within the limits of `regex:` matchers (an invalid one is a load
error at its `file:line:column`), and never while evaluating. Templates cannot call
this function. Rules use it to read what a message says, e.g. the action and resource
an `AccessDenied` error names:

```yaml
let:
  denied:
    call: regex_captures
    args: [$.message, \"is not authorized to perform: (?P<action>[\\\\w-]+:[\\\\w*]+)(?: on resource: (?P<resource>\\\\S+))?\"]
when: {path: $denied.action, exists: true}
```
";

/// The keys of a `regex_captures` result that are not group names.
pub(super) const REGEX_CAPTURES_RESERVED: &[&str] = &["match", "input"];

/// `regex_captures` called from a template, or without a compiled pattern.
pub(super) fn regex_captures_uncompiled(_args: &[Value]) -> Result<Value, FuncError> {
    Err(FuncError::new(
        "its pattern is compiled when the rule loads: call it in a `call:` binding with the pattern written as a literal string",
    ))
}

fn captures_of(text: &str, re: &regex::Regex) -> Option<Value> {
    let caps = re.captures(text)?;
    let mut out = serde_json::Map::new();
    for name in re.capture_names().flatten() {
        let v = caps
            .name(name)
            .map_or(Value::Null, |m| Value::String(m.as_str().to_string()));
        out.insert(name.to_string(), v);
    }
    let whole = caps.get(0).map_or("", |m| m.as_str());
    out.insert("match".into(), Value::String(whole.to_string()));
    out.insert("input".into(), Value::String(text.to_string()));
    Some(Value::Object(out))
}

/// `regex_captures(text, pattern)` with the pattern compiled at load.
pub(super) fn regex_captures(args: &[Value], re: &regex::Regex) -> Result<Value, FuncError> {
    match args.first() {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(Value::String(s)) => Ok(captures_of(s, re).unwrap_or(Value::Null)),
        Some(Value::Array(items)) => Ok(Value::Array(
            items
                .iter()
                .filter_map(|i| i.as_str().and_then(|s| captures_of(s, re)))
                .collect(),
        )),
        Some(other) => Err(FuncError(format!(
            "the text is {}, expected a string or a list of strings",
            type_name(other)
        ))),
    }
}

fn as_list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
    }
}

pub(super) fn without(args: &[Value]) -> Result<Value, FuncError> {
    let a = as_list(args.first());
    let b = as_list(args.get(1));
    let mut out: Vec<Value> = Vec::new();
    for v in a {
        if !b.contains(&v) && !out.contains(v) {
            out.push(v.clone());
        }
    }
    Ok(Value::Array(out))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

pub(super) fn coalesce(args: &[Value]) -> Result<Value, FuncError> {
    Ok(args
        .iter()
        .find(|v| !is_empty(v))
        .cloned()
        .unwrap_or(Value::Null))
}

pub(super) fn concat(args: &[Value]) -> Result<Value, FuncError> {
    let mut out = Vec::new();
    for a in args {
        match a {
            Value::Array(items) => out.extend(items.iter().cloned()),
            Value::Null => {}
            other => out.push(other.clone()),
        }
    }
    Ok(Value::Array(out))
}

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
    let max_distance = match args.get(3) {
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    FuncError("closest: argument 4 must be a non-negative integer".into())
                })?,
        ),
        None => None,
    };
    // Each comparison is quadratic in the lengths (each capped by
    // `edit_distance`); past a total budget the rest get the distance's upper
    // bound, so a huge candidate list from facts cannot stall the run.
    let mut budget: usize = CLOSEST_WORK;
    let word_len = word.chars().count().min(crate::error::MAX_COMPARED_CHARS);
    let mut scored: Vec<(usize, usize, &str)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let len = c.chars().count();
            let cost = word_len.saturating_mul(len.min(crate::error::MAX_COMPARED_CHARS));
            let d = if *c == word {
                0
            } else if cost <= budget {
                budget -= cost;
                crate::error::edit_distance(word, c)
            } else {
                len.max(word.chars().count())
            };
            (d, i, *c)
        })
        .collect();
    scored.sort();
    if let Some(max) = max_distance {
        scored.retain(|(d, _, _)| *d <= max);
    }
    let mut seen = std::collections::HashSet::new();
    scored.retain(|(_, _, c)| seen.insert(*c));
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
    fn regex_captures_returns_named_groups_of_the_first_match() {
        let re = regex::Regex::new(
            r"perform: (?P<action>[\w-]+:[\w*]+)(?: on resource: (?P<resource>\S+))?",
        )
        .unwrap();
        let v = regex_captures(
            &[json!(
                "User: x is not authorized to perform: ec2:DescribeSubnets because no"
            )],
            &re,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"action": "ec2:DescribeSubnets", "resource": null,
                   "match": "perform: ec2:DescribeSubnets",
                   "input": "User: x is not authorized to perform: ec2:DescribeSubnets because no"})
        );
        let v = regex_captures(
            &[json!(
                "perform: s3:GetObject on resource: arn:aws:s3:::b/k x"
            )],
            &re,
        )
        .unwrap();
        assert_eq!(v["resource"], "arn:aws:s3:::b/k");
        assert_eq!(
            regex_captures(&[json!("nothing here")], &re).unwrap(),
            json!(null)
        );
        assert_eq!(regex_captures(&[json!(null)], &re).unwrap(), json!(null));
        assert!(regex_captures(&[json!(3)], &re).is_err());
    }

    #[test]
    fn regex_captures_over_a_list_keeps_the_matching_texts() {
        let re = regex::Regex::new(r"^(?P<n>[0-9]+)$").unwrap();
        let v = regex_captures(&[json!(["12", "x", 7, null, "3"])], &re).unwrap();
        assert_eq!(
            v,
            json!([{"n": "12", "match": "12", "input": "12"}, {"n": "3", "match": "3", "input": "3"}])
        );
        assert!(regex_captures_uncompiled(&[json!("12"), json!("x")]).is_err());
    }

    #[test]
    fn coalesce_and_concat() {
        assert_eq!(
            coalesce(&[json!(null), json!(""), json!([]), json!("x"), json!("y")]).unwrap(),
            json!("x")
        );
        assert_eq!(coalesce(&[json!(null)]).unwrap(), json!(null));
        assert_eq!(
            concat(&[json!([1, 2]), json!(null), json!(3), json!([4])]).unwrap(),
            json!([1, 2, 3, 4])
        );
    }

    #[test]
    fn without_is_a_set_difference_in_order() {
        assert_eq!(
            without(&[json!(["web", "api", "web", "db"]), json!(["api"])]).unwrap(),
            json!(["web", "db"])
        );
        assert_eq!(without(&[json!("x"), json!(null)]).unwrap(), json!(["x"]));
        assert_eq!(without(&[json!(null), json!(["x"])]).unwrap(), json!([]));
        assert_eq!(
            without(&[json!([1, {"a": 1}]), json!([{"a": 1}])]).unwrap(),
            json!([1])
        );
    }

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
        assert_eq!(
            closest(&[json!("x"), json!(["a", "b", "a"])]).unwrap(),
            json!(["a", "b"])
        );
        assert_eq!(
            closest(&[
                json!("storefrnt"),
                json!(["catalog", "storefront", "store"]),
                json!(5),
                json!(2)
            ])
            .unwrap(),
            json!(["storefront"])
        );
        assert!(closest(&[json!("a"), json!(["b"]), json!(1), json!("x")]).is_err());
        assert!(closest(&[json!(1), json!([])]).is_err());
        assert!(closest(&[json!("a"), json!(["a"]), json!(-1)]).is_err());
    }

    #[test]
    fn closest_bounds_its_work_on_huge_inputs() {
        // 20,000 candidates of 256 letters against a 256-letter word would be
        // 1.3e9 comparisons; past the budget the rest sort by their length.
        let word = "a".repeat(256);
        let mut many: Vec<Value> = (0..20_000).map(|_| json!("b".repeat(256))).collect();
        many.push(json!(format!("{}b", "a".repeat(255))));
        many.push(json!("a".repeat(256)));
        let v = closest(&[json!(word), Value::Array(many), json!(1)]).unwrap();
        // The exact match is found even past the budget (equal words cost nothing).
        assert_eq!(v, json!(["a".repeat(256)]));
    }
}
