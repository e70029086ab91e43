//! The function registry: the derived values rules compute (`let: x: {call: ...}`)
//! and templates call (`{{ image_ref(x).repository }}`).
//!
//! Every function is one [`Function`] entry, with its docs beside it: the generic
//! ones in [`GENERIC`], the AWS-aware ones (`image_ref`, `arn`, IAM) in
//! `rulerun_func_aws::FUNCTIONS`, outside the engine crate; [`all`] lists both,
//! and [`lookup`] is how the loader and templates find one. `docs/functions.md` is
//! generated from this registry (and checked fresh by a test), and each entry has
//! tests in the module that implements it.

mod data;
mod labels;
mod net;
mod text;

pub use rulerun_func::{CompiledCall, FuncError, Function, type_name};

/// The functions that know nothing of AWS, in documentation order.
pub static GENERIC: &[Function] = &[
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
];

/// Every function rules may call, in documentation order: the AWS-aware ones,
/// then the generic ones.
pub fn all() -> impl Iterator<Item = &'static Function> {
    rulerun_func_aws::FUNCTIONS.iter().chain(GENERIC)
}

/// The function with this name.
pub fn lookup(name: &str) -> Option<&'static Function> {
    all().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn registry_names_are_unique_and_documented() {
        let mut names: Vec<_> = all().map(|f| f.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all().count());
        for f in all() {
            assert!(!f.docs.trim().is_empty(), "{} has no docs", f.name);
            assert!(f.signature.starts_with(f.name));
            assert!(f.min_args <= f.max_args);
        }
    }
}
