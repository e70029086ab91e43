//! One cause per failing container: with every built-in rule loaded, each rule
//! test's facts give at most one finding per container among the image-pull cause
//! rules and the generic `pod-image-pull-failing`, and a case written for one cause
//! rule still gets exactly that rule's finding (no other cause rule takes it).

use std::collections::BTreeMap;

use rulerun_core::testing::load_tests;
use rulerun_core::{check, load_rule_sources, read_pack_tree};

use crate::support::root;

/// The rules that name why an image cannot be pulled, and the generic symptom.
const PULL_RULES: &[&str] = &[
    "ecr-endpoint-unreachable",
    "ecr-auth-token-unavailable",
    "ecr-repository-policy-denies-pull",
    "ecr-cross-account-pull-not-allowed",
    "node-role-missing-ecr-pull",
    "ecr-repository-not-found",
    "ecr-image-tag-not-found",
    "pod-image-pull-failing",
];

#[test]
fn every_cause_fixture_gets_exactly_one_cause() {
    let rules_dir = root().join("rules");
    let (files, scopes) = read_pack_tree(&rules_dir).unwrap();
    let (rules, errors) = load_rule_sources(&files, &scopes, &[]);
    assert!(errors.is_empty(), "{errors:#?}");
    let ids: Vec<String> = rules.rules.iter().map(|r| r.id.clone()).collect();
    for id in PULL_RULES {
        assert!(ids.iter().any(|i| i == id), "no rule `{id}`");
    }
    let mut cases = 0;
    let mut checked_causes = 0;
    for pack in ["kubernetes", "eks-image-pull", "eks-troubleshooting"] {
        for rule in std::fs::read_dir(rules_dir.join(pack)).unwrap() {
            let tests = rule.unwrap().path().join("tests.yaml");
            let Ok(text) = std::fs::read_to_string(&tests) else {
                continue;
            };
            let folder_rule = tests
                .parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().to_string())
                .unwrap();
            let file = rulerun_core::SourceFile {
                path: tests.clone(),
                text,
            };
            let read = |p: &std::path::Path| std::fs::read_to_string(p).map_err(|e| e.to_string());
            let (loaded, errors) =
                load_tests(&file, std::slice::from_ref(&folder_rule), &ids, &read);
            assert!(errors.is_empty(), "{errors:#?}");
            for case in loaded {
                cases += 1;
                let report = check(&rules, &case.facts);
                // at most one pull finding per (pod, container)
                let mut per_container: BTreeMap<(String, Option<String>), Vec<&str>> =
                    BTreeMap::new();
                for f in &report.findings {
                    if PULL_RULES.contains(&f.rule.as_str()) {
                        per_container
                            .entry((f.subject.to_string(), f.element.clone()))
                            .or_default()
                            .push(&f.rule);
                    }
                }
                for ((subject, element), fired) in &per_container {
                    assert!(
                        fired.len() == 1,
                        "{}: `{}`: {subject} {element:?} has {fired:?}",
                        tests.display(),
                        case.name
                    );
                }
                // a case that expects a cause rule's finding gets that rule's, even with
                // every other rule loaded
                if !PULL_RULES.contains(&folder_rule.as_str())
                    || case.rules != [folder_rule.clone()]
                {
                    continue;
                }
                for exp in &case.expect {
                    let want = exp.rule.clone().unwrap_or_else(|| folder_rule.clone());
                    let Some(subject) = &exp.subject else {
                        continue;
                    };
                    let fired: Vec<&str> = report
                        .findings
                        .iter()
                        .filter(|f| {
                            PULL_RULES.contains(&f.rule.as_str())
                                && (f.subject.to_string().ends_with(&format!(" {subject}"))
                                    || f.subject.to_string() == *subject)
                        })
                        .map(|f| f.rule.as_str())
                        .collect();
                    assert!(
                        fired.contains(&want.as_str()),
                        "{}: `{}`: expected `{want}` for {subject}, all rules give {fired:?}",
                        tests.display(),
                        case.name
                    );
                    checked_causes += 1;
                }
            }
        }
    }
    assert!(cases >= 80, "{cases} cases");
    assert!(
        checked_causes >= 30,
        "{checked_causes} cause expectations checked"
    );
}
