//! The function registry: the derived values rules compute (`let: x: {call: ...}`)
//! and templates call (`{{ image_ref(x).repository }}`).
//!
//! Every function is one [`Function`] entry in [`FUNCTIONS`], with its docs beside
//! it; `docs/functions.md` is generated from this table (and checked fresh by a
//! test), and each entry has tests in the module that implements it.

pub mod arn;
mod data;
mod iam;
pub mod image_ref;
mod labels;
mod net;
mod text;

use serde_json::Value;

/// A function failed (bad argument, unparsable input).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FuncError(pub String);

impl FuncError {
    /// Creates an error from anything displayable.
    pub fn new(msg: impl std::fmt::Display) -> Self {
        FuncError(msg.to_string())
    }
}

/// A registered function.
#[derive(Debug)]
pub struct Function {
    /// The name rules use.
    pub name: &'static str,
    /// How to call it, e.g. `image_ref(image: string) -> object`.
    pub signature: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Longer documentation (Markdown).
    pub docs: &'static str,
    /// Fewest arguments.
    pub min_args: usize,
    /// Most arguments.
    pub max_args: usize,
    /// The implementation.
    pub call: fn(&[Value]) -> Result<Value, FuncError>,
    /// For a function with a regex argument: that argument, which a rule must write
    /// as a literal string in a `call:` binding, is compiled when the rule loads and
    /// the binding calls this instead of `call` (templates call `call`, which refuses).
    pub compiled: Option<CompiledCall>,
}

/// How a function with a regex argument is called with its pattern compiled at load.
#[derive(Debug)]
pub struct CompiledCall {
    /// The index of the pattern argument.
    pub pattern_arg: usize,
    /// Argument names the pattern's named groups may not take (they are keys of the result).
    pub reserved_groups: &'static [&'static str],
    /// The implementation, given every argument and the compiled pattern.
    pub call: fn(&[Value], &regex::Regex) -> Result<Value, FuncError>,
}

impl Function {
    /// "1" or "1 to 3", for messages.
    pub fn arity(&self) -> String {
        if self.min_args == self.max_args {
            self.min_args.to_string()
        } else {
            format!("{} to {}", self.min_args, self.max_args)
        }
    }
}

/// Every function, in documentation order.
pub static FUNCTIONS: &[Function] = &[
    Function {
        name: "image_ref",
        signature: "image_ref(image: string) -> object",
        summary: "Parses a container image reference as the container runtime does.",
        docs: image_ref::DOCS,
        min_args: 1,
        max_args: 1,
        call: call_image_ref,
        compiled: None,
    },
    Function {
        name: "arn",
        signature: "arn(arn: string) -> object",
        summary: "Parses an Amazon Resource Name.",
        docs: arn::DOCS,
        min_args: 1,
        max_args: 1,
        call: call_arn,
        compiled: None,
    },
    Function {
        name: "closest",
        signature: "closest(word: string, candidates: array, n?: number, max_distance?: number) -> array",
        summary: "The candidates most similar to a word, closest first (\"did you mean\").",
        docs: text::CLOSEST_DOCS,
        min_args: 2,
        max_args: 4,
        call: text::closest,
        compiled: None,
    },
    Function {
        name: "coalesce",
        signature: "coalesce(a, b, ...) -> any",
        summary: "The first argument that is neither null nor empty.",
        docs: text::COALESCE_DOCS,
        min_args: 1,
        max_args: 16,
        call: text::coalesce,
        compiled: None,
    },
    Function {
        name: "inconclusive",
        signature: "inconclusive(reason: string) -> never",
        summary: "Reports the rule as inconclusive for the subject, with the reason, and stops evaluating it.",
        docs: text::INCONCLUSIVE_DOCS,
        min_args: 1,
        max_args: 1,
        call: text::inconclusive,
        compiled: None,
    },
    Function {
        name: "concat",
        signature: "concat(a: array, b: array, ...) -> array",
        summary: "Joins arrays into one.",
        docs: text::CONCAT_DOCS,
        min_args: 1,
        max_args: 16,
        call: text::concat,
        compiled: None,
    },
    Function {
        name: "selector_select",
        signature: "selector_select(selector: object, objects: array) -> array",
        summary: "The Kubernetes objects a label selector selects.",
        docs: labels::SELECT_DOCS,
        min_args: 2,
        max_args: 2,
        call: labels::select,
        compiled: None,
    },
    Function {
        name: "selector_nearest",
        signature: "selector_nearest(selector: object, objects: array, n?: number) -> array",
        summary: "The objects whose labels come nearest to a label selector, with the requirements each misses.",
        docs: labels::NEAREST_DOCS,
        min_args: 2,
        max_args: 3,
        call: labels::nearest,
        compiled: None,
    },
    Function {
        name: "selector_missing_keys",
        signature: "selector_missing_keys(selector: object, objects: array) -> array",
        summary: "The label keys a selector requires that no object carries.",
        docs: labels::MISSING_KEYS_DOCS,
        min_args: 2,
        max_args: 2,
        call: labels::missing_keys,
        compiled: None,
    },
    Function {
        name: "selector_text",
        signature: "selector_text(selector: object) -> string",
        summary: "A label selector as kubectl prints it (`app=web,tier in (a,b)`).",
        docs: labels::TEXT_DOCS,
        min_args: 1,
        max_args: 1,
        call: labels::text,
        compiled: None,
    },
    Function {
        name: "without",
        signature: "without(a: array, b: array) -> array",
        summary: "The elements of one array that are not in another, each once (a set difference).",
        docs: text::WITHOUT_DOCS,
        min_args: 2,
        max_args: 2,
        call: text::without,
        compiled: None,
    },
    Function {
        name: "parse_yaml",
        signature: "parse_yaml(text: string) -> any",
        summary: "Decodes a YAML (or JSON) document held in a string.",
        docs: data::PARSE_YAML_DOCS,
        min_args: 1,
        max_args: 1,
        call: data::parse_yaml,
        compiled: None,
    },
    Function {
        name: "merge",
        signature: "merge(a: object, b: object, ...) -> object",
        summary: "Objects merged as a JSON merge patch one level deep: later members replace earlier ones, null removes.",
        docs: data::MERGE_DOCS,
        min_args: 1,
        max_args: 16,
        call: data::merge,
        compiled: None,
    },
    Function {
        name: "cidrs_containing",
        signature: "cidrs_containing(blocks: array, address: string) -> array",
        summary: "The CIDR blocks of a list that contain an IPv4 or IPv6 address.",
        docs: net::CIDRS_CONTAINING_DOCS,
        min_args: 2,
        max_args: 2,
        call: net::cidrs_containing,
        compiled: None,
    },
    Function {
        name: "regex_captures",
        signature: "regex_captures(text: string | array, pattern: string) -> object | array | null",
        summary: "The named groups of a regex's first match in a text (or in each text of a list); the pattern is compiled when the rule loads.",
        docs: text::REGEX_CAPTURES_DOCS,
        min_args: 2,
        max_args: 2,
        call: text::regex_captures_uncompiled,
        compiled: Some(CompiledCall {
            pattern_arg: 1,
            reserved_groups: text::REGEX_CAPTURES_RESERVED,
            call: text::regex_captures,
        }),
    },
    Function {
        name: "iam_identity_policies",
        signature: "iam_identity_policies(attached: array, versions: array, inline: array) -> object",
        summary: "Assembles a role's identity policies from IAM facts, falling back to shipped managed policies.",
        docs: iam::IDENTITY_DOCS,
        min_args: 3,
        max_args: 3,
        call: iam::identity_policies,
        compiled: None,
    },
    Function {
        name: "iam_evaluate",
        signature: "iam_evaluate(input: object) -> object",
        summary: "Decides an IAM request against identity, resource and boundary policies, with an explanation.",
        docs: iam::EVALUATE_DOCS,
        min_args: 1,
        max_args: 1,
        call: iam::evaluate,
        compiled: None,
    },
    Function {
        name: "iam_fix",
        signature: "iam_fix(input: object, required_actions: array) -> object",
        summary: "A least-privilege rewrite of the resource policy that lets the principal perform exactly the required actions, with proof.",
        docs: iam::FIX_DOCS,
        min_args: 2,
        max_args: 2,
        call: iam::fix,
        compiled: None,
    },
    Function {
        name: "iam_managed_policy",
        signature: "iam_managed_policy(name_or_arn: string) -> object | null",
        summary: "The document of an AWS managed policy rulerun ships, or null.",
        docs: iam::MANAGED_DOCS,
        min_args: 1,
        max_args: 1,
        call: iam::managed_policy,
        compiled: None,
    },
];

/// The function with this name.
pub fn lookup(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

fn string_arg<'a>(args: &'a [Value], i: usize, fname: &str) -> Result<&'a str, FuncError> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(FuncError(format!(
            "{fname}: argument {} must be a string, found {}",
            i + 1,
            type_name(other)
        ))),
        None => Err(FuncError(format!("{fname}: missing argument {}", i + 1))),
    }
}

/// A JSON type name for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn call_image_ref(args: &[Value]) -> Result<Value, FuncError> {
    let s = string_arg(args, 0, "image_ref")?;
    let parsed = image_ref::parse(s).map_err(FuncError::new)?;
    serde_json::to_value(parsed).map_err(FuncError::new)
}

fn call_arn(args: &[Value]) -> Result<Value, FuncError> {
    let s = string_arg(args, 0, "arn")?;
    let parsed = arn::parse(s).map_err(FuncError::new)?;
    serde_json::to_value(parsed).map_err(FuncError::new)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn registry_names_are_unique_and_documented() {
        let mut names: Vec<_> = FUNCTIONS.iter().map(|f| f.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), FUNCTIONS.len());
        for f in FUNCTIONS {
            assert!(!f.docs.trim().is_empty(), "{} has no docs", f.name);
            assert!(f.signature.starts_with(f.name));
            assert!(f.min_args <= f.max_args);
        }
    }

    #[test]
    fn image_ref_entry_parses_ecr_images() {
        let v = (lookup("image_ref").unwrap().call)(&[json!(
            "1234567890.dkr.ecr.us-west-2.amazonaws.com/retail-sample-app-ui:1.2.1"
        )])
        .unwrap();
        assert_eq!(v["ecr"]["account"], "1234567890");
        assert_eq!(v["ecr"]["region"], "us-west-2");
        assert_eq!(v["repository"], "retail-sample-app-ui");
        assert_eq!(v["tag"], "1.2.1");
        assert!((lookup("image_ref").unwrap().call)(&[json!(3)]).is_err());
        assert!((lookup("image_ref").unwrap().call)(&[json!("Foo:bar")]).is_err());
    }

    #[test]
    fn arn_entry_parses_role_paths() {
        let v =
            (lookup("arn").unwrap().call)(&[json!("arn:aws:iam::123456789012:role/eks/NodeRole")])
                .unwrap();
        assert_eq!(v["resourceType"], "role");
        assert_eq!(v["resourceName"], "NodeRole");
        assert_eq!(v["path"], "/eks/");
        assert!((lookup("arn").unwrap().call)(&[json!("not-an-arn")]).is_err());
    }
}
