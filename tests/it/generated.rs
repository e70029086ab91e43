//! Pages generated from the rules and the code are fresh. Run with
//! `UPDATE_EXPECT=1` to rewrite them after changing a rule or a function.

use std::fs;
use std::path::Path;

use crate::support::root;

/// `path` holds exactly `want` (`UPDATE_EXPECT=1` writes it, and the folder
/// of a new pack's pages).
fn generated(path: &Path, want: &str) {
    if let Some(parent) = path.parent().filter(|p| !p.exists()) {
        fs::create_dir_all(parent).unwrap();
    }
    expect_test::expect_file![path].assert_eq(want);
}

#[test]
fn rule_pages_are_generated_from_the_rule_files() {
    let builtin = {
        let mut found_rules = Vec::new();
        for (rel, text) in embedded_rule_files() {
            found_rules.push(rulerun_core::SourceFile {
                path: format!("<builtin>/{rel}").into(),
                text,
            });
        }
        found_rules
    };
    let (_, scopes) = rulerun_core::read_pack_tree(&root().join("rules")).unwrap();
    // the same packs, under the names the binary shows
    let scopes = rulerun_core::PackScopes {
        pack_of: builtin
            .iter()
            .filter_map(|f| {
                let pack = f.path.components().nth(1)?.as_os_str().to_string_lossy();
                Some((f.path.clone(), pack.to_string()))
            })
            .collect(),
        uses: scopes.uses,
        ..rulerun_core::PackScopes::default()
    };
    let (rules, errors) = rulerun_core::load_rule_sources(&builtin, &scopes, &[]);
    assert!(errors.is_empty(), "{errors:#?}");
    let dir = root().join("docs/rules");
    let mut index = String::from(
        "# Built-in rules\n\n<!-- generated from rules/ by `UPDATE_EXPECT=1 cargo test`; do not edit -->\n\n| rule | severity | title |\n| --- | --- | --- |\n",
    );
    let mut ids: Vec<&rulerun_core::Rule> = rules.rules.iter().collect();
    ids.sort_by(|a, b| a.id.cmp(&b.id));
    for rule in ids {
        index.push_str(&format!(
            "| [`{}`]({}.md) | {} | {} |\n",
            rule.id, rule.id, rule.severity, rule.title
        ));
        let page = format!(
            "<!-- generated from the rule file by `UPDATE_EXPECT=1 cargo test`; do not edit -->\n{}",
            rulerun_core::docs::rule_markdown(rule)
        );
        generated(&dir.join(format!("{}.md", rule.id)), &page);
    }
    generated(&dir.join("README.md"), &index);
    // No page may outlive its rule.
    for entry in fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if name != "README.md" {
            let id = name.trim_end_matches(".md");
            assert!(
                rules.get(id).is_some(),
                "docs/rules/{name} has no rule; delete it"
            );
        }
    }
}

#[test]
fn function_reference_is_generated_from_the_registry() {
    generated(
        &root().join("docs/functions.md"),
        &rulerun_core::docs::functions_markdown(),
    );
}

/// The built-in rule files as the binary embeds them (`rulerun::builtin_files`,
/// the same list `check` loads), without tests, pack manifests and fixtures.
fn embedded_rule_files() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = rulerun::builtin_files()
        .iter()
        .filter(|(rel, _)| {
            let name = rel.rsplit('/').next().unwrap_or(rel);
            !rel.split('/').any(|seg| seg == "fixtures")
                && name.ends_with(".yaml")
                && !name.contains("test")
                && name != "pack.yaml"
        })
        .map(|(rel, text)| (rel.to_string(), text.to_string()))
        .collect();
    out.sort();
    assert!(
        out.iter().any(|(rel, _)| rel.ends_with("/rule.yaml")),
        "no rule files embedded: {out:?}"
    );
    out
}

/// Replaces what stands between `<!-- NAME:start -->` and `<!-- NAME:end -->`.
fn between_markers(text: &str, name: &str, content: &str) -> Option<String> {
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let a = text.find(&start)? + start.len();
    let b = text.find(&end)?;
    (a <= b).then(|| format!("{}\n{}\n{}", &text[..a], content.trim_end(), &text[b..]))
}

#[test]
fn cluster_role_in_the_permissions_page_is_generated_from_the_collector() {
    let path = root().join("docs/permissions.md");
    let text = fs::read_to_string(&path).unwrap();
    let block = format!(
        "```yaml\n{}```",
        rulerun_collect_k8s::declare::cluster_role_yaml()
    );
    let want = between_markers(&text, "k8s-clusterrole", &block)
        .expect("k8s-clusterrole markers in docs/permissions.md");
    generated(&path, &want);
}

#[test]
fn writer_cluster_role_in_the_permissions_page_is_generated_from_the_writer() {
    let path = root().join("docs/permissions.md");
    let text = fs::read_to_string(&path).unwrap();
    let block = format!(
        "```yaml\n{}```",
        rulerun_collect_k8s::publish::cluster_role_yaml()
    );
    let want = between_markers(&text, "k8s-clusterrole-write", &block)
        .expect("k8s-clusterrole-write markers in docs/permissions.md");
    generated(&path, &want);
}
