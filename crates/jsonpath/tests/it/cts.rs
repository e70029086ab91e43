//! RFC 9535 JSONPath Compliance Test Suite, run through `rulerun_jsonpath`.
//!
//! The suite is a copy in the repository, `tests/data/conformance/jsonpath-cts.json`
//! (its license and notice beside it), so a bare checkout runs it; when it is
//! missing the tests fail.
//!
//! Run with `cargo test -p rulerun-jsonpath --test it cts -- --nocapture`
//! to see the counts and the failing cases.

use rulerun_jsonpath::JsonPath;

use jsonpath_rust::JsonPath as _;
use serde::Deserialize;
use serde_json::Value;

/// Cases passed at the time of writing (all 703 of the suite, commit 7be7c1f).
/// The suite must never pass fewer: raise this when the count improves.
const MIN_PASSED: usize = 703;

#[derive(Deserialize)]
pub(crate) struct Suite {
    pub(crate) tests: Vec<Case>,
}

#[derive(Deserialize)]
pub(crate) struct Case {
    name: String,
    pub(crate) selector: String,
    #[serde(default)]
    pub(crate) document: Value,
    #[serde(default)]
    result: Option<Vec<Value>>,
    #[serde(default)]
    results: Option<Vec<Vec<Value>>>,
    #[serde(default)]
    pub(crate) invalid_selector: bool,
}

fn suite_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/conformance/jsonpath-cts.json")
}

pub(crate) fn load_suite() -> Suite {
    let path = suite_path();
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).expect("jsonpath-cts.json is a CTS file"),
        Err(e) => panic!(
            "jsonpath CTS: {} is not readable ({e}); it is part of the repository: \
             restore tests/data/conformance/jsonpath-cts.json with `git checkout`",
            path.display()
        ),
    }
}

/// Runs one case; `Err` carries a short description of the failure.
fn run(case: &Case) -> Result<(), String> {
    let parsed = JsonPath::parse(&case.selector);
    if case.invalid_selector {
        return match parsed {
            Err(_) => Ok(()),
            Ok(_) => Err("accepted an invalid selector".to_owned()),
        };
    }
    let path = parsed.map_err(|e| format!("rejected a valid selector: {e}"))?;
    let got: Vec<Value> = path.query(&case.document).into_iter().cloned().collect();
    let first = path.first(&case.document);
    if first != got.first() {
        return Err(format!(
            "first() = {first:?} but query()[0] = {:?}",
            got.first()
        ));
    }
    let accepted: Vec<&Vec<Value>> = match (&case.result, &case.results) {
        (Some(one), _) => vec![one],
        (None, Some(many)) => many.iter().collect(),
        (None, None) => return Err("case has no expected result".to_owned()),
    };
    if accepted.iter().any(|want| **want == got) {
        Ok(())
    } else {
        Err(format!(
            "got {}, want {}",
            Value::from(got),
            serde_json::to_string(&accepted).unwrap_or_default()
        ))
    }
}

#[test]
fn jsonpath_compliance_suite() {
    let suite = load_suite();
    let mut failed = Vec::new();
    for case in &suite.tests {
        if let Err(why) = run(case) {
            failed.push(format!("{} `{}`: {why}", case.name, case.selector));
        }
    }
    let passed = suite.tests.len() - failed.len();
    println!(
        "jsonpath CTS: {passed} passed, {} failed, of {}",
        failed.len(),
        suite.tests.len()
    );
    for f in &failed {
        println!("  FAIL {f}");
    }
    assert!(
        passed >= MIN_PASSED,
        "jsonpath CTS regressed: {passed} passed, the floor is {MIN_PASSED}"
    );
}

/// Simple queries (names, indices, wildcards) derived from a document: every
/// path to depth 2, each step also as a wildcard, plus misses.
fn simple_queries(doc: &Value) -> Vec<String> {
    fn go(node: &Value, prefix: String, depth: usize, out: &mut Vec<String>) {
        out.push(prefix.clone());
        if depth == 0 {
            return;
        }
        let mut steps = vec!["[*]".to_owned(), "['missing']".to_owned(), "[7]".to_owned()];
        let mut children = Vec::new();
        match node {
            Value::Array(a) => {
                let len = i64::try_from(a.len()).unwrap();
                for (i, child) in a.iter().enumerate() {
                    children.push((format!("[{i}]"), child));
                    children.push((format!("[{}]", i64::try_from(i).unwrap() - len), child));
                }
                steps.push(format!("[{}]", -len - 1));
            }
            Value::Object(m) => {
                for (k, child) in m {
                    let quoted = serde_json::to_string(k).unwrap();
                    children.push((format!("[{quoted}]"), child));
                }
            }
            _ => steps.push("[0]".to_owned()),
        }
        for step in steps {
            out.push(format!("{prefix}{step}"));
            out.push(format!("{prefix}{step}[*]"));
        }
        for (step, child) in children {
            go(child, format!("{prefix}{step}"), depth - 1, out);
            out.push(format!("{prefix}[*]{}", &step));
        }
    }
    let mut out = Vec::new();
    go(doc, "$".to_owned(), 2, &mut out);
    out.sort();
    out.dedup();
    out
}

/// The fast accessor and jsonpath-rust agree on simple queries, over the CTS
/// documents and over the simple queries of the suite itself.
#[test]
fn fast_path_agrees_with_jsonpath_rust() {
    let suite = load_suite();
    let mut compared = 0usize;
    let mut check = |query: &str, doc: &Value| {
        let Ok(path) = JsonPath::parse(query) else {
            return;
        };
        if !path.is_simple() {
            return;
        }
        let ours = path.query(doc);
        let theirs = doc
            .query(query)
            .unwrap_or_else(|e| panic!("jsonpath-rust rejects `{query}`: {e}"));
        assert_eq!(ours, theirs, "`{query}` on {doc}");
        assert_eq!(
            path.first(doc),
            theirs.first().copied(),
            "`{query}` on {doc}"
        );
        compared += 1;
    };
    let mut seen = std::collections::HashSet::new();
    for case in suite.tests.iter().filter(|c| !c.invalid_selector) {
        check(&case.selector, &case.document);
        if seen.insert(case.document.to_string()) {
            for query in simple_queries(&case.document) {
                check(&query, &case.document);
            }
        }
    }
    println!("jsonpath fast path: {compared} simple queries agree with jsonpath-rust");
    assert!(compared > 1000, "only {compared} simple queries compared");
}

/// Both evaluators agree on every valid query of the suite, except where
/// jsonpath-rust is known to be wrong (see docs/jsonpath.md).
#[test]
fn general_walker_agrees_with_jsonpath_rust() {
    let suite = load_suite();
    let known_jsonpath_rust_bugs = [
        "basic, descendant segment, multiple selectors",
        "basic, descendant segment, object traversal, multiple selectors",
        "filter, nested",
    ];
    for case in suite.tests.iter().filter(|c| !c.invalid_selector) {
        if known_jsonpath_rust_bugs.contains(&case.name.as_str()) {
            continue;
        }
        let Ok(path) = JsonPath::parse(&case.selector) else {
            continue;
        };
        let theirs = case.document.query(&case.selector).unwrap();
        assert_eq!(path.query(&case.document), theirs, "{}", case.name);
    }
}
