//! Network address functions.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use super::FuncError;

pub(super) const CIDRS_CONTAINING_DOCS: &str = "\
`cidrs_containing(blocks, address)` returns the CIDR blocks of `blocks` (an array of
strings, or one string) that contain the IPv4 or IPv6 `address`, each once, in
`blocks`' order. A bare address in `blocks` is a block of that one address
(`10.0.3.7` is `10.0.3.7/32`); host bits after the prefix are ignored
(`10.0.3.7/16` is `10.0.0.0/16`). Elements that are not blocks, and every element when
`address` is not an address (or `null`), contain nothing: the result is then an empty
list, never an error, so a rule reads facts as they come. Rules use it where JSONPath
cannot compare addresses, with the `in()` filter function, e.g. the security group
rules that admit a node by its private address:

```yaml
let:
  blocks: {value: \"$groups[*].IpPermissions[*].IpRanges[*].CidrIp\"}
  node_blocks: {call: cidrs_containing, args: [$blocks, $instance.PrivateIpAddress]}
  admitting: {value: \"$groups[?@.IpPermissions[?@.IpRanges[?in(@.CidrIp, $node_blocks)]]].GroupId\"}
```
";

/// A CIDR block, or a bare address as a block of one.
fn block(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// `cidrs_containing(blocks, address)`.
pub(super) fn cidrs_containing(args: &[Value]) -> Result<Value, FuncError> {
    let blocks: &[Value] = match args.first() {
        Some(Value::Array(a)) => a,
        Some(v @ Value::String(_)) => std::slice::from_ref(v),
        Some(Value::Null) | None => &[],
        Some(other) => {
            return Err(FuncError::new(format!(
                "cidrs_containing: the blocks must be an array of strings, not `{other}`"
            )));
        }
    };
    let address = match args.get(1) {
        Some(Value::String(s)) => s.trim().parse::<IpAddr>().ok(),
        _ => None,
    };
    let mut out: Vec<Value> = Vec::new();
    if let Some(address) = address {
        for b in blocks {
            if let Value::String(text) = b
                && block(text).is_some_and(|net| net.contains(&address))
                && !out.contains(b)
            {
                out.push(b.clone());
            }
        }
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn call(blocks: Value, address: Value) -> Value {
        cidrs_containing(&[blocks, address]).unwrap()
    }

    #[test]
    fn blocks_that_contain_an_address() {
        let blocks = json!([
            "10.0.0.0/16",
            "10.1.0.0/16",
            "0.0.0.0/0",
            "10.0.3.7",
            "10.0.3.7/16",
            "10.0.0.0/16",
            "2600:1f18::/36",
            "not a block",
            7,
            "10.0.3.7/33",
            " 10.0.3.0/24 "
        ]);
        assert_eq!(
            call(blocks.clone(), json!("10.0.3.7")),
            json!([
                "10.0.0.0/16",
                "0.0.0.0/0",
                "10.0.3.7",
                "10.0.3.7/16",
                " 10.0.3.0/24 "
            ])
        );
        assert_eq!(
            call(blocks.clone(), json!("2600:1f18:1:2::9")),
            json!(["2600:1f18::/36"])
        );
        assert_eq!(
            call(blocks.clone(), json!("10.9.9.9")),
            json!(["0.0.0.0/0"])
        );
        // Not an address: nothing contains it.
        assert_eq!(call(blocks.clone(), json!("node-1")), json!([]));
        assert_eq!(call(blocks, Value::Null), json!([]));
        // One block as a string, and no blocks.
        assert_eq!(
            call(json!("10.0.0.0/8"), json!("10.2.3.4")),
            json!(["10.0.0.0/8"])
        );
        assert_eq!(call(Value::Null, json!("10.2.3.4")), json!([]));
        assert!(cidrs_containing(&[json!({"a": 1}), json!("10.0.0.1")]).is_err());
    }
}
