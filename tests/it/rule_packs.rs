//! Every rule test under `rules/` passes, run from the files on disk and from the
//! copy embedded in the binary.

use crate::support::{repo, rulerun};

#[test]
fn rule_tests_on_disk_pass() {
    let run = rulerun(&["test".to_string(), repo("rules")]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains(" passed, 0 failed"), "{}", run.stdout);
}

#[test]
fn embedded_rule_tests_pass() {
    let run = rulerun(&["test"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        !run.stdout.contains("running 0 rule test"),
        "{}",
        run.stdout
    );
}

#[test]
fn every_rule_folder_has_a_rule_and_tests() {
    let rules = crate::support::root().join("rules");
    for pack in std::fs::read_dir(&rules).unwrap() {
        let pack = pack.unwrap().path();
        if !pack.is_dir() {
            continue;
        }
        assert!(
            pack.join("pack.yaml").is_file(),
            "{} has no pack.yaml",
            pack.display()
        );
        for rule in std::fs::read_dir(&pack).unwrap() {
            let rule = rule.unwrap().path();
            if !rule.is_dir() || rule.file_name().is_some_and(|n| n == "fixtures") {
                continue;
            }
            let id = rule.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(rule.join("rule.yaml"))
                .unwrap_or_else(|_| panic!("{} has no rule.yaml", rule.display()));
            assert!(
                text.contains(&format!("id: {id}")),
                "{}: the folder is named after the rule id",
                rule.display()
            );
            assert!(
                rule.join("tests.yaml").is_file(),
                "{} has no tests.yaml",
                rule.display()
            );
            let tests = std::fs::read_to_string(rule.join("tests.yaml")).unwrap();
            assert!(
                tests.contains("expect: []"),
                "{}: tests need a must-not-fire case (`expect: []`)",
                rule.display()
            );
        }
    }
}
