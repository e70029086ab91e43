//! Field projection is semantics-preserving: every built-in rule, over every
//! rule-test fixture and example snapshot of the repository, reports exactly the
//! same over projected facts as over whole documents.

use std::path::{Path, PathBuf};

use rulerun_core::engine::check_selected;
use rulerun_core::facts::parse_fact_text;
use rulerun_core::parse_fact_text_projected;
use rulerun_core::testing::{is_test_file, load_tests};
use rulerun_core::{FactStore, Projection, Report, RuleSet, SourceFile, check, load_rules};
use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn ext(p: &Path) -> &str {
    p.extension().and_then(|e| e.to_str()).unwrap_or("")
}

/// Every built-in rule (the `rule.yaml`-style files under `rules/`).
fn builtin_rules() -> (RuleSet, Vec<PathBuf>) {
    let mut files = Vec::new();
    files_under(&repo().join("rules"), &mut files);
    let (rule_files, scopes) = rulerun_core::read_pack_tree(&repo().join("rules")).unwrap();
    assert!(rule_files.len() >= 5, "found the built-in rules");
    let (set, errors) = rulerun_core::load_rule_sources(&rule_files, &scopes, &[]);
    assert!(errors.is_empty(), "{errors:#?}");
    (set, files)
}

fn assert_same(whole: &Report, projected: &Report, what: &str) {
    assert_eq!(
        whole.findings, projected.findings,
        "findings differ: {what}"
    );
    assert_eq!(whole.errors, projected.errors, "errors differ: {what}");
    assert_eq!(
        whole.inconclusive, projected.inconclusive,
        "inconclusive differ: {what}"
    );
    assert_eq!(whole, projected, "reports differ: {what}");
}

fn store(docs: Vec<Value>) -> FactStore {
    let mut s = FactStore::new();
    for d in docs {
        s.add_document(d).unwrap();
    }
    s
}

fn try_store(docs: Vec<Value>) -> Result<FactStore, String> {
    let mut s = FactStore::new();
    for d in docs {
        s.add_document(d)?;
    }
    Ok(s)
}

/// A whole store projected document by document.
fn projected_store(whole: &FactStore, p: &Projection) -> FactStore {
    let mut s = FactStore::new();
    for (kind, docs) in whole.iter() {
        s.touch(kind);
        for d in docs {
            s.add(kind, p.project(kind, d.clone()));
        }
    }
    s
}

#[test]
fn builtin_rules_report_the_same_over_projected_fixtures_and_examples() {
    let (rules, rule_tree) = builtin_rules();
    let projection = rules.projection();
    assert!(!projection.is_all());

    // Fact files: every JSON/YAML file in a `fixtures` folder and under `examples/`.
    let mut fact_files: Vec<PathBuf> = rule_tree
        .into_iter()
        .filter(|p| p.components().any(|c| c.as_os_str() == "fixtures"))
        .collect();
    files_under(&repo().join("examples"), &mut fact_files);
    fact_files.retain(|p| matches!(ext(p), "json" | "yaml" | "yml"));
    assert!(fact_files.len() >= 10, "{fact_files:?}");
    let mut with_findings = 0;
    let mut loaded_files = 0;
    for f in &fact_files {
        let text = std::fs::read_to_string(f).unwrap();
        let whole = try_store(parse_fact_text(f, &text).unwrap());
        let projected = try_store(parse_fact_text_projected(f, &text, &projection).unwrap());
        let (whole, projected) = match (whole, projected) {
            (Ok(w), Ok(p)) => (w, p),
            // Not a fact file (e.g. a policy document): refused alike.
            (Err(a), Err(b)) => {
                assert_eq!(a, b, "{}", f.display());
                continue;
            }
            (a, b) => panic!("{}: {a:?} / {b:?}", f.display()),
        };
        loaded_files += 1;
        assert_eq!(whole.len(), projected.len(), "{}", f.display());
        let a = check(&rules, &whole);
        let b = check(&rules, &projected);
        assert_same(&a, &b, &f.display().to_string());
        with_findings += usize::from(!a.findings.is_empty());
        // The loader entry point gives the same store.
        let loaded = FactStore::load_path_projected(f, &projection).unwrap();
        assert_eq!(loaded, projected, "{}", f.display());
        // And projecting drops something somewhere (otherwise this proves nothing).
        if a.findings.len() > 1 {
            assert_ne!(whole, projected, "{}", f.display());
        }
    }
    assert!(loaded_files >= 10, "fact files loaded: {loaded_files}");
    assert!(
        with_findings >= 5,
        "fixtures with findings: {with_findings}"
    );

    // Rule tests: every case's facts (inline or fixture), with the rules the case
    // runs and with every rule.
    let mut files = Vec::new();
    files_under(&repo().join("rules"), &mut files);
    let all: Vec<String> = rules.rules.iter().map(|r| r.id.clone()).collect();
    let mut cases = 0;
    for t in files.iter().filter(|p| is_test_file(p)) {
        let source = SourceFile {
            path: t.clone(),
            text: std::fs::read_to_string(t).unwrap(),
        };
        let folder = t.parent().unwrap();
        let folder_rules: Vec<String> = rules
            .rules
            .iter()
            .filter(|r| r.source.file.parent() == Some(folder))
            .map(|r| r.id.clone())
            .collect();
        let read = |p: &Path| std::fs::read_to_string(folder.join(p)).map_err(|e| e.to_string());
        let (tests, errors) = load_tests(&source, &folder_rules, &all, &read);
        assert!(errors.is_empty(), "{errors:#?}");
        for case in tests {
            cases += 1;
            let projected = projected_store(&case.facts, &projection);
            let what = format!("{} ({})", case.name, t.display());
            let a = check_selected(&rules, &case.facts, |r| case.rules.contains(&r.id));
            let b = check_selected(&rules, &projected, |r| case.rules.contains(&r.id));
            assert_same(&a, &b, &what);
            assert_same(
                &check(&rules, &case.facts),
                &check(&rules, &projected),
                &what,
            );
        }
    }
    assert!(cases >= 20, "rule test cases: {cases}");
}

const RULES: &str = r#"
rules:
  - id: template-only
    title: A field only a template reads survives projection
    severity: low
    subject: {kind: k8s/v1/Pod, where: {path: $.status.phase, equals: Pending}}
    let:
      node: {join: k8s/v1/Node, on: $.metadata.name, equals: $.spec.nodeName, one: true}
    finding:
      message: >-
        {{ subject.metadata.annotations['team'] }} on {{ node.metadata.labels.zone }}
        {%- for c in subject.spec.containers %} {{ c.resources.limits.memory }}{% endfor %}
  - id: descendant
    title: Descendant paths keep whole subtrees
    severity: low
    subject: {kind: k8s/v1/Pod}
    when: {path: "$.spec..image", regex: ':latest$'}
    finding:
      message: "{{ subject.metadata.name }}"
      evidence:
        images: "$.spec..image"
        deep: "$..limits.memory"
"#;

fn snapshot() -> String {
    json!({
        "apiVersion": "rulerun.dev/v1",
        "kind": "Snapshot",
        "facts": {
            "k8s/v1/Pod": [
                {"metadata": {"name": "a", "namespace": "n", "annotations": {"team": "blue", "note": "x"}, "labels": {"app": "a"}},
                 "spec": {"nodeName": "node-1", "containers": [
                     {"name": "c", "image": "app:latest", "resources": {"limits": {"memory": "1Gi", "cpu": "1"}}, "env": [{"name": "A", "value": "1"}]},
                     {"name": "d", "image": "side:1", "resources": {"limits": {"memory": "2Gi"}}}]},
                 "status": {"phase": "Pending", "hostIP": "10.0.0.1"}}
            ],
            "k8s/v1/Node": [{"metadata": {"name": "node-1", "labels": {"zone": "z1", "os": "linux"}}, "status": {"capacity": {"cpu": "4"}}}],
            "k8s/v1/Secret": [{"metadata": {"name": "s"}, "data": {"k": "v"}}]
        }
    })
    .to_string()
}

#[test]
fn template_only_fields_and_descendants_survive_projection() {
    let (rules, errors) = load_rules(&[SourceFile {
        path: "r.yaml".into(),
        text: RULES.into(),
    }]);
    assert!(errors.is_empty(), "{errors:#?}");
    let projection = rules.projection();
    let text = snapshot();
    let path = Path::new("s.json");
    let whole = store(parse_fact_text(path, &text).unwrap());
    let projected = store(parse_fact_text_projected(path, &text, &projection).unwrap());
    let a = check(&rules, &whole);
    let b = check(&rules, &projected);
    assert_same(&a, &b, "hand-written");
    assert!(a.errors.is_empty(), "{:?}", a.errors);
    let messages: Vec<&str> = a.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages, ["a", "blue on z1 1Gi 2Gi"]);
    assert_eq!(
        a.findings[0].evidence["images"],
        json!(["app:latest", "side:1"])
    );

    let pod = &projected.of_kind("k8s/v1/Pod")[0];
    // Read only by the template: kept.
    assert_eq!(pod["metadata"]["annotations"]["team"], "blue");
    assert_eq!(
        projected.of_kind("k8s/v1/Node")[0]["metadata"]["labels"],
        json!({"zone": "z1"})
    );
    // `$.spec..image` keeps the whole `spec`, `$..limits.memory` the whole pod.
    assert_eq!(pod, &whole.of_kind("k8s/v1/Pod")[0]);
    // No rule reads secrets: they are counted but empty.
    assert_eq!(projected.of_kind("k8s/v1/Secret"), [json!({})]);
    assert_eq!(a.facts, b.facts);

    // Without the descendant rule, the pod is narrowed.
    let mut narrow = rules;
    narrow.retain(|r| r.id == "template-only");
    let p = narrow.projection();
    let projected = store(parse_fact_text_projected(path, &text, &p).unwrap());
    let pod = &projected.of_kind("k8s/v1/Pod")[0];
    assert_eq!(
        pod,
        &json!({"metadata": {"name": "a", "namespace": "n", "annotations": {"team": "blue"}},
                "spec": {"nodeName": "node-1", "containers": [
                    {"resources": {"limits": {"memory": "1Gi"}}},
                    {"resources": {"limits": {"memory": "2Gi"}}}]},
                "status": {"phase": "Pending"}})
    );
    assert_same(
        &check(&narrow, &whole),
        &check(&narrow, &projected),
        "narrow",
    );
}
