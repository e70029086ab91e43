//! The snapshot examples under `examples/`: each folder named after a built-in rule
//! is that rule's reference case, and `rulerun check --facts examples/RULE` reports
//! exactly that rule's finding on it (and no other rule's).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{repo, root, rulerun};

/// Examples that are not one rule's reference case.
const OTHER_EXAMPLES: &[&str] = &["iam", "ui-private-403"];

#[test]
fn each_rule_example_gets_exactly_its_rule() {
    let run = rulerun(&["rules", "list", "--no-config", "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    let builtin: BTreeSet<String> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["origin"] == "built-in")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if OTHER_EXAMPLES.contains(&name.as_str()) {
            continue;
        }
        assert!(
            builtin.contains(&name),
            "examples/{name} is named after no built-in rule"
        );
        let run = rulerun(&[
            "check",
            "--no-config",
            "--facts",
            &repo(&format!("examples/{name}")),
            "-o",
            "json",
        ]);
        assert_eq!(run.code, 1, "examples/{name}: {}{}", run.stdout, run.stderr);
        let doc: Value = serde_json::from_str(&run.stdout).unwrap();
        let fired: BTreeSet<&str> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert_eq!(
            fired,
            BTreeSet::from([name.as_str()]),
            "examples/{name}: {}",
            run.stdout
        );
        assert_eq!(
            doc["errors"].as_array().map_or(0, Vec::len),
            0,
            "{}",
            run.stdout
        );
        checked.push(name);
    }
    assert!(
        checked.len() >= 2,
        "no rule example was checked: {checked:?}"
    );
}
