//! Every rule test under `rules/` passes, run from the files on disk and from the
//! copy embedded in the binary.

use crate::support::{repo, rulerun};

#[test]
fn rule_tests_on_disk_pass() {
    let run = rulerun(&["test".to_string(), repo("rules")]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("\ntest result: ok. "), "{}", run.stdout);
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
        let manifest = std::fs::read_to_string(pack.join("pack.yaml")).unwrap();
        assert!(
            manifest.starts_with("# yaml-language-server: $schema=../../docs/schema/pack.json\n"),
            "{}/pack.yaml: the first line names its schema",
            pack.display()
        );
        let listed: Vec<String> = rulerun_core::yaml::parse(&manifest).unwrap().to_json()["rules"]
            .as_array()
            .unwrap_or_else(|| {
                panic!(
                    "{}/pack.yaml lists its rule files under `rules:`",
                    pack.display()
                )
            })
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let mut on_disk = Vec::new();
        for rule in std::fs::read_dir(&pack).unwrap() {
            let rule = rule.unwrap().path();
            if !rule.is_dir() || rule.file_name().is_some_and(|n| n == "fixtures") {
                continue;
            }
            if rule.file_name().is_some_and(|n| n == "parts") {
                // part files, listed under `parts:` in pack.yaml
                let parts: Vec<String> =
                    rulerun_core::yaml::parse(&manifest).unwrap().to_json()["parts"]
                        .as_array()
                        .unwrap_or_else(|| {
                            panic!(
                                "{}/pack.yaml lists its part files under `parts:`",
                                pack.display()
                            )
                        })
                        .iter()
                        .map(|v| v.as_str().unwrap().to_string())
                        .collect();
                for f in std::fs::read_dir(&rule).unwrap() {
                    let rel = format!("parts/{}", f.unwrap().file_name().to_string_lossy());
                    assert!(
                        parts.contains(&rel),
                        "{}: `{rel}` is not listed under `parts:`",
                        pack.display()
                    );
                }
                continue;
            }
            let id = rule.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(rule.join("rule.yaml"))
                .unwrap_or_else(|_| panic!("{} has no rule.yaml", rule.display()));
            on_disk.push(format!("{id}/rule.yaml"));
            assert!(
                text.starts_with(
                    "# yaml-language-server: $schema=../../../docs/schema/rule-file.json\n"
                ),
                "{}/rule.yaml: the first line must be `# yaml-language-server: $schema=../../../docs/schema/rule-file.json` (editor support)",
                rule.display()
            );
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
                tests.starts_with(
                    "# yaml-language-server: $schema=../../../docs/schema/rule-test.json\n"
                ),
                "{}/tests.yaml: the first line must be `# yaml-language-server: $schema=../../../docs/schema/rule-test.json` (editor support)",
                rule.display()
            );
            assert!(
                tests.contains("expect: []"),
                "{}: tests need a must-not-fire case (`expect: []`)",
                rule.display()
            );
        }
        on_disk.sort();
        let mut sorted = listed.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            on_disk,
            "{}/pack.yaml: `rules:` lists every rule file of the pack",
            pack.display()
        );
    }
}

#[test]
fn built_in_packs_load_through_their_manifests() {
    let run = rulerun(&["pack", "list", "--no-config"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for pack in ["kubernetes", "eks-image-pull", "eks-troubleshooting"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with(pack) && l.contains("built-in")),
            "{}",
            run.stdout
        );
    }
    let run = rulerun(&["rules", "list", "--no-config", "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let r = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "pod-image-pull-failing")
        .unwrap();
    assert_eq!(r["pack"], "kubernetes");
    assert_eq!(r["origin"], "built-in");
}

#[test]
fn one_pack_is_tested_and_validated_with_the_packs_it_uses() {
    // eks-image-pull uses kubernetes; its cases expect kubernetes's
    // `pod-image-pull-failing` to be superseded, which needs it loaded.
    let run = rulerun(&["test".to_string(), repo("rules/eks-image-pull")]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("test result: ok."), "{}", run.stdout);
    // The used pack's rules are loaded, not tested or reported.
    assert!(
        !run.stdout.contains("coverage `pod-image-pull-failing`"),
        "{}",
        run.stdout
    );
    let run = rulerun(&["validate".to_string(), repo("rules/eks-image-pull")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("7 rule(s) and "), "{}", run.stdout);
    // One rule's folder: the rest of its pack (its parts) and the packs it uses
    // are loaded beside it; only its cases run.
    let folder = repo("rules/eks-image-pull/ecr-repository-policy-denies-pull");
    let run = rulerun(&["test".to_string(), folder.clone()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("coverage `ecr-repository-policy-denies-pull`:"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("coverage `node-role-missing-ecr-pull`"),
        "{}",
        run.stdout
    );
    let run = rulerun(&["validate".to_string(), folder]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("1 rule(s) and "), "{}", run.stdout);
}

#[test]
fn a_used_pack_beside_the_tested_one_is_read_from_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| write_file(tmp.path(), rel, text);
    write(
        "packs/base/pack.yaml",
        "name: base\nversion: 0.1.0\ndescription: d\nrules: [r/rule.yaml]\n",
    );
    write(
        "packs/base/r/rule.yaml",
        "rules:\n  - id: base-pod-pending\n    title: t\n    severity: low\n    subject: {kind: k8s/v1/Pod, where: {path: $.status.phase, equals: Pending}}\n    finding: {message: pending}\n",
    );
    write(
        "packs/team/pack.yaml",
        "name: team\nversion: 0.1.0\ndescription: d\nuses: [base]\nrules: [t/rule.yaml]\n",
    );
    write(
        "packs/team/t/rule.yaml",
        "rules:\n  - id: team-pod-failed\n    title: t\n    severity: low\n    subject: {kind: k8s/v1/Pod, where: {path: $.status.phase, equals: Failed}}\n    finding: {message: failed}\n",
    );
    write(
        "packs/team/t/tests.yaml",
        "tests:\n  - name: the base rule fires beside ours\n    rules: [team-pod-failed, base-pod-pending]\n    facts: {k8s/v1/Pod: [{metadata: {name: p, namespace: default}, status: {phase: Pending}}]}\n    expect:\n      - {rule: base-pod-pending, subject: default/p}\n",
    );
    let team = tmp.path().join("packs/team").display().to_string();
    let run = rulerun(&["test", "--no-config", &team]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("test result: ok. 1 passed"),
        "{}",
        run.stdout
    );
}

/// `rulerun test FOLDER` where the folder holds several packs, one of them named
/// like a built-in pack and changed on disk: the other pack's rules use the parts
/// on disk, not the built-in ones (a part added on disk was "unknown" before).
#[test]
fn packs_inside_a_tested_folder_use_each_others_parts_from_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| write_file(tmp.path(), rel, text);
    write(
        "packs/kubernetes/pack.yaml",
        "name: kubernetes\nversion: 0.1.0\ndescription: d\nparts: [parts.yaml]\nrules: []\n",
    );
    write(
        "packs/kubernetes/parts.yaml",
        "parts:\n  - id: pending-phase\n    public: true\n    description: d\n    let:\n      pending_phase: {value: Pending}\n",
    );
    write(
        "packs/team/pack.yaml",
        "name: team\nversion: 0.1.0\ndescription: d\nuses: [kubernetes]\nrules: [t/rule.yaml]\n",
    );
    write(
        "packs/team/t/rule.yaml",
        "rules:\n  - id: team-pod-pending\n    title: t\n    severity: low\n    subject: {kind: k8s/v1/Pod}\n    uses: [kubernetes/pending-phase]\n    when: {path: $.status.phase, equals: $pending_phase}\n    finding: {message: pending}\n",
    );
    write(
        "packs/team/t/tests.yaml",
        "tests:\n  - name: fires\n    facts: {k8s/v1/Pod: [{metadata: {name: p, namespace: default}, status: {phase: Pending}}]}\n    expect:\n      - {subject: default/p}\n",
    );
    let folder = tmp.path().join("packs").display().to_string();
    for command in ["test", "validate"] {
        let run = rulerun(&[command, "--no-config", &folder]);
        assert_eq!(run.code, 0, "{command}: {}{}", run.stdout, run.stderr);
    }
    let run = rulerun(&["test", "--no-config", &folder]);
    assert!(
        run.stdout.contains("test result: ok. 1 passed"),
        "{}",
        run.stdout
    );
}

/// Writes `text` to `root/rel`, creating the folders on the way.
fn write_file(root: &std::path::Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}
