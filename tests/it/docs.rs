//! Generated docs are fresh; examples in docs load and behave as shown.
//!
//! Conventions of the Markdown under `docs/` that these tests read (fenced blocks
//! at column 0, tagged by their first line):
//!
//! - ```` ```yaml ```` starting `# example: NAME`: a complete rule file (rules, or
//!   parts and the rules that use them); it must load without errors, as a loose
//!   file that may use the public parts of the built-in packs (`PACK/NAME`). Any
//!   other `yaml` block holding a top-level `rules:` or `parts:` key is an error
//!   (every rule and part example is tested).
//! - ```` ```yaml ```` starting `# facts: NAME` and ```` ```text ```` starting
//!   `# message: NAME`: a worked example. The rules of example `NAME` run over the
//!   facts and must produce exactly one finding, whose message is the block's
//!   second line.
//! - ```` ```yaml ```` starting `# tests: NAME`: a rule test file for example `NAME`;
//!   it must load and pass.
//! - ```` ```yaml ```` starting `# snapshot: NAME` (docs/snapshot-format.md): a fact
//!   file; it must load.
//! - `<!-- matchers:start -->` ... `<!-- matchers:end -->` in rule-language.md: the
//!   generated matcher table.
//! - The first ```` ```json ```` block of findings-json.md: the exact output of
//!   `rulerun check --facts examples/ui-private-403 -o json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rulerun_core::facts::parse_fact_text;
use rulerun_core::testing::{load_tests, run_test};
use rulerun_core::{FactStore, PackScopes, RuleSet, SourceFile, check, load_rule_sources};

use crate::support::{blocks, repo, root, rulerun};

fn read_doc(rel: &str) -> Option<String> {
    std::fs::read_to_string(root().join(rel)).ok()
}

/// The docs whose rule examples are tested.
const RULE_DOCS: &[&str] = &["docs/rule-language.md", "docs/writing-rules.md"];

/// The part files of the built-in packs (`parts:` of `rules/*/pack.yaml`), as
/// the CLI offers them to every pack: `(pack, file)`.
fn builtin_part_files() -> Vec<(String, SourceFile)> {
    let mut out = Vec::new();
    let mut packs: Vec<PathBuf> = std::fs::read_dir(root().join("rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("pack.yaml").is_file())
        .collect();
    packs.sort();
    for dir in packs {
        let manifest =
            rulerun_core::yaml::parse(&std::fs::read_to_string(dir.join("pack.yaml")).unwrap())
                .unwrap()
                .to_json();
        let name = manifest["name"].as_str().unwrap().to_string();
        for rel in manifest["parts"].as_array().into_iter().flatten() {
            let path = dir.join(rel.as_str().unwrap());
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((name.clone(), SourceFile { path, text }));
        }
    }
    out
}

/// Every `# example:` rule file of the rule docs, by name, loaded together with
/// nothing else but the built-in packs' parts.
fn examples() -> BTreeMap<String, (String, RuleSet)> {
    let library = builtin_part_files();
    assert!(!library.is_empty(), "the built-in packs list no part files");
    let mut found = BTreeMap::new();
    for doc in RULE_DOCS {
        let Some(text) = read_doc(doc) else { continue };
        for b in blocks(&text) {
            if b.lang != "yaml" {
                continue;
            }
            let Some(name) = b.tag("example") else {
                assert!(
                    !b.body
                        .iter()
                        .any(|l| l.starts_with("rules:") || l.starts_with("parts:")),
                    "{doc}:{}: a YAML block with `rules:` or `parts:` must start with `# example: NAME` so it is tested",
                    b.line
                );
                continue;
            };
            let where_ = format!("{doc}:{}", b.line);
            let file = SourceFile {
                path: PathBuf::from(format!("{doc}#{name}")),
                text: b.text(),
            };
            let (set, errors) = load_rule_sources(&[file], &PackScopes::default(), &library);
            let rendered: Vec<String> = errors
                .iter()
                .map(|e| match e.help() {
                    Some(h) => format!("{e}\n  help: {h}"),
                    None => e.to_string(),
                })
                .collect();
            assert!(
                errors.is_empty(),
                "example `{name}` ({where_}) does not load:\n{}",
                rendered.join("\n")
            );
            assert!(
                !set.rules.is_empty(),
                "example `{name}` ({where_}) defines no rule"
            );
            let previous = found.insert(name.clone(), (where_.clone(), set));
            assert!(
                previous.is_none(),
                "example name `{name}` is used twice ({where_})"
            );
        }
    }
    found
}

#[test]
fn rule_examples_in_docs_load() {
    let found = examples();
    assert!(
        found.len() >= 5,
        "expected the rule docs to hold examples, found {}",
        found.len()
    );
}

#[test]
fn worked_examples_produce_the_documented_message() {
    let examples = examples();
    let mut facts: BTreeMap<String, (String, FactStore)> = BTreeMap::new();
    let mut messages: BTreeMap<String, (String, String)> = BTreeMap::new();
    for doc in RULE_DOCS {
        let Some(text) = read_doc(doc) else { continue };
        for b in blocks(&text) {
            let where_ = format!("{doc}:{}", b.line);
            if let (true, Some(name)) = (b.lang == "yaml", b.tag("facts")) {
                let docs = parse_fact_text(Path::new(&where_), &b.text())
                    .unwrap_or_else(|e| panic!("facts `{name}` ({where_}) do not parse: {e}"));
                let mut store = FactStore::new();
                for d in docs {
                    store
                        .add_document(d)
                        .unwrap_or_else(|e| panic!("facts `{name}` ({where_}): {e}"));
                }
                assert!(
                    facts.insert(name.clone(), (where_, store)).is_none(),
                    "facts `{name}` given twice"
                );
            } else if let (true, Some(name)) = (b.lang == "text", b.tag("message")) {
                assert_eq!(
                    b.body.len(),
                    2,
                    "{where_}: a `# message:` block holds the tag line and one message line"
                );
                let prev = messages.insert(name.clone(), (where_, b.body[1].clone()));
                assert!(prev.is_none(), "message `{name}` given twice");
            }
        }
    }
    assert!(
        facts.len() >= 2,
        "expected at least two worked examples, found {}",
        facts.len()
    );
    assert_eq!(
        facts.keys().collect::<Vec<_>>(),
        messages.keys().collect::<Vec<_>>(),
        "every `# facts:` block needs a `# message:` block of the same name"
    );
    for (name, (where_, store)) in &facts {
        let (_, rules) = examples
            .get(name)
            .unwrap_or_else(|| panic!("facts `{name}` ({where_}) name no `# example:` rule"));
        let report = check(rules, store);
        assert!(
            report.errors.is_empty(),
            "worked example `{name}`: evaluation errors {:#?}",
            report.errors
        );
        let got: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
        let (mwhere, want) = &messages[name];
        assert_eq!(
            got,
            vec![want.as_str()],
            "worked example `{name}`: the message documented at {mwhere} differs"
        );
    }
}

#[test]
fn rule_test_examples_in_docs_pass() {
    let examples = examples();
    let mut n = 0;
    for doc in RULE_DOCS {
        let Some(text) = read_doc(doc) else { continue };
        for b in blocks(&text) {
            let Some(name) = b.tag("tests").filter(|_| b.lang == "yaml") else {
                continue;
            };
            let where_ = format!("{doc}:{}", b.line);
            let (_, rules) = examples
                .get(&name)
                .unwrap_or_else(|| panic!("tests `{name}` ({where_}) name no `# example:` rule"));
            let ids: Vec<String> = rules.rules.iter().map(|r| r.id.clone()).collect();
            let file = SourceFile {
                path: PathBuf::from(format!("{doc}#{name}/tests.yaml")),
                text: b.text(),
            };
            let no_files = |p: &Path| -> Result<String, String> {
                Err(format!(
                    "doc examples use inline facts, not files (`{}`)",
                    p.display()
                ))
            };
            let (cases, errors) = load_tests(&file, &ids, &ids, &no_files);
            assert!(
                errors.is_empty(),
                "tests `{name}` ({where_}) do not load: {errors:#?}"
            );
            assert!(!cases.is_empty(), "tests `{name}` ({where_}) hold no case");
            for case in &cases {
                let outcome = run_test(rules, case);
                assert!(
                    outcome.passed(),
                    "tests `{name}` ({where_}), case `{}`: {:#?}",
                    outcome.name,
                    outcome.failures
                );
                n += 1;
            }
        }
    }
    assert!(n > 0, "the rule docs hold no `# tests:` example");
}

#[test]
fn matcher_table_is_generated() {
    let text = read_doc("docs/rule-language.md").expect("docs/rule-language.md");
    let start = "<!-- matchers:start -->";
    let end = "<!-- matchers:end -->";
    let a = text.find(start).expect("matchers:start marker") + start.len();
    let b = text.find(end).expect("matchers:end marker");
    assert!(a <= b, "markers out of order");
    if text[a..b].trim() == rulerun_core::docs::matchers_markdown().trim() {
        return;
    }
    // Stale: the page with the table regenerated (`UPDATE_EXPECT=1` writes it).
    let fresh = format!(
        "{}\n{}\n{}",
        &text[..a],
        rulerun_core::docs::matchers_markdown().trim(),
        &text[b..]
    );
    expect_test::expect_file![crate::support::root().join("docs/rule-language.md")]
        .assert_eq(&fresh);
}

#[test]
fn snapshot_examples_load() {
    let text = read_doc("docs/snapshot-format.md").expect("docs/snapshot-format.md");
    let mut n = 0;
    for b in blocks(&text) {
        let Some(name) = b.tag("snapshot").filter(|_| b.lang == "yaml") else {
            continue;
        };
        let where_ = format!("docs/snapshot-format.md:{}", b.line);
        let docs = parse_fact_text(Path::new(&where_), &b.text())
            .unwrap_or_else(|e| panic!("snapshot `{name}` ({where_}) does not parse: {e}"));
        let mut store = FactStore::new();
        for d in docs {
            store
                .add_document(d)
                .unwrap_or_else(|e| panic!("snapshot `{name}` ({where_}): {e}"));
        }
        assert!(
            !store.is_empty(),
            "snapshot `{name}` ({where_}) holds no fact"
        );
        n += 1;
    }
    assert!(n >= 2, "docs/snapshot-format.md holds {n} tested examples");
}

#[test]
fn findings_json_example_is_real_output() {
    let text = read_doc("docs/findings-json.md").expect("docs/findings-json.md");
    let block = blocks(&text)
        .into_iter()
        .find(|b| b.lang == "json")
        .expect("a ```json block in docs/findings-json.md");
    let documented: serde_json::Value = serde_json::from_str(&block.text())
        .unwrap_or_else(|e| panic!("docs/findings-json.md:{}: {e}", block.line));
    let run = rulerun(&[
        "check",
        "--facts",
        &repo("examples/ui-private-403"),
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 1, "findings exit 1: {}", run.stderr);
    let actual: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    // Never blessed into the docs: a rule that fails to evaluate on the bundled example.
    assert_eq!(
        actual["errors"],
        serde_json::json!([]),
        "a built-in rule fails on examples/ui-private-403"
    );
    // Compared as JSON values; when stale, the page with the output of `rulerun
    // check --facts examples/ui-private-403 -o json` pasted in (`UPDATE_EXPECT=1`
    // writes it).
    if documented != actual {
        let start = text.find("```json\n").unwrap() + "```json\n".len();
        let end = start + text[start..].find("\n```").unwrap();
        let fresh = format!(
            "{}{}{}",
            &text[..start],
            run.stdout.trim_end(),
            &text[end..]
        );
        eprintln!("docs/findings-json.md:{}: the example is stale", block.line);
        expect_test::expect_file![crate::support::root().join("docs/findings-json.md")]
            .assert_eq(&fresh);
    }
}

/// The entries of `dir` that one segment of a documented path names: the name
/// itself, every alternative of `{a,b}`, or any entry for a placeholder
/// `<name>`.
fn documented_entries(dir: &Path, segment: &str) -> Vec<PathBuf> {
    if segment.starts_with('<') && segment.ends_with('>') {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        return entries;
    }
    if let Some(alternatives) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        return alternatives.split(',').map(|a| dir.join(a)).collect();
    }
    vec![dir.join(segment)]
}

/// Whether a documented path exists: every alternative of a `{a,b}` segment,
/// below at least one entry for each `<placeholder>` segment.
fn documented_path_exists(dir: &Path, segments: &[&str]) -> bool {
    let Some((first, rest)) = segments.split_first() else {
        return dir.exists();
    };
    let entries = documented_entries(dir, first);
    if first.starts_with('<') {
        entries
            .iter()
            .any(|e| e.is_dir() && documented_path_exists(e, rest))
    } else {
        !entries.is_empty() && entries.iter().all(|e| documented_path_exists(e, rest))
    }
}

/// The `/`-separated segments of a documented path; a `/` inside `{...}` is
/// part of its segment.
fn path_segments(path: &str) -> Vec<&str> {
    let mut segments = Vec::new();
    let (mut start, mut depth) = (0, 0usize);
    for (i, c) in path.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '/' if depth == 0 => {
                segments.push(&path[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    segments.push(&path[start..]);
    segments.retain(|s| !s.is_empty());
    segments
}

/// Every repository path docs/ARCHITECTURE.md names in backticks (`crates/…`,
/// `docs/…`, `rules/…`, with `<placeholder>` and `{a,b}` segments) exists, so a
/// move or rename that forgets the architecture document fails here.
#[test]
fn every_path_the_architecture_doc_names_exists() {
    let text = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    let mut named = Vec::new();
    for (i, span) in text.split('`').enumerate() {
        // Odd pieces are inside backticks.
        if i % 2 == 1
            && ["crates/", "docs/", "rules/"]
                .iter()
                .any(|p| span.starts_with(p))
            && !span.contains(char::is_whitespace)
        {
            named.push(span.to_string());
        }
    }
    assert!(
        named.len() >= 15,
        "the architecture doc names its crates and files: {named:?}"
    );
    let missing: Vec<&String> = named
        .iter()
        .filter(|p| !documented_path_exists(&root(), &path_segments(p)))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md names paths that do not exist: {missing:?}"
    );
    // The checker itself: a wrong name, a placeholder with no match below and a
    // missing alternative are caught.
    for wrong in [
        "crates/cli/src/commands_pack.rs",
        "rules/<pack>/<rule-id>/nothing.yaml",
        "rules/<pack>/{pack.yaml,missing.yaml}",
    ] {
        assert!(
            !documented_path_exists(&root(), &path_segments(wrong)),
            "{wrong}"
        );
    }
}
