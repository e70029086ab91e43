//! Differential tests of the direct filter evaluation in `rulerun_jsonpath`
//! against the `jsonpath-rust` evaluation it replaces
//! ([`JsonPath::query_fallback`]): on every query of the RFC 9535 compliance
//! suite, and on generated filters over the suite's documents and over random
//! small documents.
//!
//! `jsonpath-rust` departs from RFC 9535 when comparing numbers (within
//! `f64::EPSILON`, through `f64`, and by representation inside arrays and
//! objects: `[1] != [1.0]`); the generated documents avoid those cases (integers
//! are small, floats are not integral), and `rfc_number_semantics` pins the
//! direct evaluation's RFC answers for them.

use std::collections::HashSet;

use proptest::prelude::*;
use rulerun_jsonpath::JsonPath;
use serde_json::{Value, json};

use super::cts::load_suite;

/// Addresses of the nodes, so that equal values at different places differ.
fn addresses(nodes: &[&Value]) -> Vec<*const Value> {
    nodes
        .iter()
        .map(|v| std::ptr::from_ref::<Value>(v))
        .collect()
}

/// Fast and fallback evaluation select the same nodes; returns whether the
/// query parsed and has a directly evaluated filter atom.
fn agree(query: &str, doc: &Value) -> Result<bool, TestCaseError> {
    let Ok(path) = JsonPath::parse(query) else {
        return Ok(false);
    };
    let fast = path.query(doc);
    let slow = path.query_fallback(doc);
    prop_assert_eq!(
        addresses(&fast),
        addresses(&slow),
        "`{}` on {}: direct {:?}, jsonpath-rust {:?}",
        query,
        doc,
        fast,
        slow
    );
    prop_assert_eq!(
        path.first(doc),
        slow.first().copied(),
        "`{}` on {}",
        query,
        doc
    );
    Ok(path.filter_atoms().0 > 0)
}

#[test]
fn compliance_suite_queries_agree() {
    let suite = load_suite();
    let mut direct = 0;
    for case in suite.tests.iter().filter(|c| !c.invalid_selector) {
        if agree(&case.selector, &case.document).unwrap() {
            direct += 1;
        }
    }
    println!("select fast: {direct} CTS queries with directly evaluated filters agree");
    assert!(
        direct > 100,
        "only {direct} CTS queries use the direct path"
    );
}

#[test]
fn typical_filters_are_direct() {
    for (query, direct, slow) in [
        ("$.status.conditions[?@.type == 'Ready'].status", 1, 0),
        (
            "$.metadata.ownerReferences[?@.kind == 'ReplicaSet'].uid",
            1,
            0,
        ),
        (
            "$.c[?@.type == 'MemoryPressure' || @.type == 'DiskPressure']",
            2,
            0,
        ),
        ("$.c[?@.status == 'True' && @.type != 'Ready'].type", 2, 0),
        ("$.o[?@.controller == true]", 1, 0),
        ("$[?!(@.a.b[0] > 1 && 'x' <= @['y z'])]", 2, 0),
        ("$[?@.a && !@.b || $.c[-1] == null]", 3, 0),
        ("$..[?@ >= 1.5]", 1, 0),
        // Functions, non-singular queries and numbers beyond JSON's are
        // evaluated directly too (with the node budget and compiled patterns).
        ("$[?@.a == 1 && match(@.b, 'x.*')]", 2, 0),
        ("$[?@.* || length(@.a) > 1]", 2, 0),
        ("$[?@ == 1e999]", 1, 0),
        ("$.a[1:]", 0, 0),
    ] {
        let p = JsonPath::parse(query).unwrap();
        assert_eq!(p.filter_atoms(), (direct, slow), "{query}");
    }
}

/// RFC 9535 section 2.3.5.2.2, where `jsonpath-rust` answers otherwise.
#[test]
fn rfc_number_semantics() {
    let doc: Value = serde_json::from_str(
        r#"[{"a": [1], "b": [1.0]}, {"a": {"x": 2}, "b": {"x": 2.0}},
            {"a": 9007199254740993, "b": 9007199254740992.0},
            {"a": 18446744073709551615, "b": 18446744073709551616.0},
            {"a": -9223372036854775808, "b": -9223372036854775808.0},
            {"a": 1.0000000000000002, "b": 1}]"#,
    )
    .unwrap();
    let q = |query: &str| -> Vec<usize> {
        let p = JsonPath::parse(query).unwrap();
        let items = doc.as_array().unwrap();
        p.query(&doc)
            .into_iter()
            .map(|v| items.iter().position(|i| std::ptr::eq(i, v)).unwrap())
            .collect()
    };
    assert_eq!(q("$[?@.a == @.b]"), vec![0, 1, 4]);
    assert_eq!(q("$[?@.a > @.b]"), vec![2, 5]);
    assert_eq!(q("$[?@.a < @.b]"), vec![3]);
    assert_eq!(q("$[?@.a >= @.b]"), vec![0, 1, 2, 4, 5]);
    assert_eq!(q("$[?@.a != @.b]"), vec![2, 3, 5]);
    // Nothing equals only Nothing; it is not ordered.
    assert_eq!(q("$[?@.x == @.y]"), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(q("$[?@.x <= @.y]"), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(q("$[?@.x < @.y]"), Vec::<usize>::new());
    assert_eq!(q("$[?@.x == null]"), Vec::<usize>::new());
    // Type mismatches are unequal and unordered.
    let mixed = json!([{"a": "1", "b": 1}, {"a": true, "b": 1}, {"a": null, "b": false}]);
    for op in ["==", "<", "<=", ">", ">="] {
        let p = JsonPath::parse(&format!("$[?@.a {op} @.b]")).unwrap();
        assert!(p.query(&mixed).is_empty(), "{op}");
    }
    let p = JsonPath::parse("$[?@.a != @.b]").unwrap();
    assert_eq!(p.query(&mixed).len(), 3);
    // Strings by code point (UTF-8 byte order), not by UTF-16 unit.
    let strings = json!([{"a": "\u{ff61}", "b": "\u{1f600}"}, {"a": "Z", "b": "a"}]);
    let p = JsonPath::parse("$[?@.a < @.b]").unwrap();
    assert_eq!(p.query(&strings).len(), 2);
}

// ---------------------------------------------------------------------------
// Generated filters

fn name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["a", "b", "c", "type", "x y", "é"])
}

/// A singular query (`@`/`$` and up to three name or index segments).
fn singular() -> impl Strategy<Value = String> {
    let step = prop_oneof![
        name().prop_map(|n| if n.chars().all(|c| c.is_ascii_alphabetic()) {
            format!(".{n}")
        } else {
            format!("['{n}']")
        }),
        name().prop_map(|n| format!("['{n}']")),
        prop::sample::select(vec![0i64, 1, 2, -1, -3, 7]).prop_map(|i| format!("[{i}]")),
    ];
    (
        prop::sample::select(vec!["@", "@", "@", "$"]),
        prop::collection::vec(step, 0..4),
    )
        .prop_map(|(start, steps)| format!("{start}{}", steps.concat()))
}

fn literal() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "0", "1", "-1", "2", "3", "10", "1.5", "-0.5", "1.0", "-0", "1e1", "'a'", "'b'", "''",
        "'A'", "'ab'", "'é'", "\"a\"", "true", "false", "null",
    ])
    .prop_map(str::to_owned)
}

fn comparable() -> impl Strategy<Value = String> {
    prop_oneof![singular(), literal()]
}

/// A test or comparison; a few call functions or test non-singular queries, so
/// that their direct evaluation is compared with `jsonpath-rust`'s too.
fn atom() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (
            comparable(),
            prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]),
            comparable()
        )
            .prop_map(|(l, op, r)| format!("{l} {op} {r}")),
        2 => singular(),
        1 => prop::sample::select(vec![
            "@.*",
            "@..a",
            "@[0:2]",
            "length(@.a) > 1",
            "count(@.*) == 2",
            "match(@.type, 'a.*')",
            "search(@.a, 'b')",
            "value(@..c) == 1",
        ])
        .prop_map(str::to_owned),
    ]
}

fn filter() -> impl Strategy<Value = String> {
    atom().prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|f| format!("!({f})")),
            inner.clone().prop_map(|f| format!("({f})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} && {b}")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("{a} || {b}")),
        ]
    })
}

/// A selector with a filter: at the root, under descendants, or after a
/// wildcard, sometimes followed by a name.
fn query() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["$", "$..", "$.*", "$.a"]),
        filter(),
        prop::sample::select(vec!["", ".a", "[0]"]),
    )
        .prop_map(|(head, f, tail)| format!("{head}[?{f}]{tail}"))
}

/// Small documents whose numbers compare the same by value and by
/// representation (see the module comment).
fn document() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-2i64..11).prop_map(Value::from),
        prop::sample::select(vec![1.5, -0.5, 2.5]).prop_map(Value::from),
        prop::sample::select(vec!["a", "b", "", "A", "ab", "é", "Ready"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(name().prop_map(str::to_owned), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The distinct documents of the compliance suite, loaded once.
fn suite_documents() -> &'static [Value] {
    static DOCS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    DOCS.get_or_init(|| {
        let suite = load_suite();
        let mut seen = HashSet::new();
        suite
            .tests
            .into_iter()
            .filter(|c| !c.invalid_selector && seen.insert(c.document.to_string()))
            .map(|c| c.document)
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn generated_filters_agree_on_random_documents(q in query(), doc in document()) {
        agree(&q, &doc)?;
    }

}

proptest! {
    // Each case runs over the suite's few hundred documents.
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn generated_filters_agree_on_suite_documents(q in query()) {
        for doc in suite_documents() {
            agree(&q, doc)?;
        }
    }
}
