//! The JSON Schemas of rule files, rule tests, `pack.yaml` and `rulerun.yaml`:
//! the copies in `docs/schema/` are fresh, every built-in file and every rule
//! example of the docs validates, and what the loaders reject for an unknown key
//! the schemas reject too. Run with `UPDATE_EXPECT=1` to rewrite `docs/schema/`.

use std::fs;
use std::path::{Path, PathBuf};

use rulerun_core::SourceFile;
use rulerun_core::testing::{is_test_file, load_tests};
use serde_json::Value;

use crate::support::{root, rulerun};

/// Compiled schemas by name (`rule`, `test`, `pack`, `config`).
struct Validator {
    schemas: boon::Schemas,
    index: Vec<(&'static str, boon::SchemaIndex)>,
}

impl Validator {
    fn new() -> Self {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let mut index = Vec::new();
        for (name, file, _) in rulerun::schemas::SCHEMAS {
            let schema = rulerun::schemas::schema(name).unwrap();
            let url = format!("https://rulerun.dev/schema/{file}");
            compiler.add_resource(&url, schema).unwrap();
            let i = compiler
                .compile(&url, &mut schemas)
                .unwrap_or_else(|e| panic!("schema `{name}` does not compile: {e:#}"));
            index.push((*name, i));
        }
        Validator { schemas, index }
    }

    fn validate(&self, name: &str, doc: &Value) -> Result<(), String> {
        let (_, i) = self.index.iter().find(|(n, _)| *n == name).unwrap();
        self.schemas.validate(doc, *i).map_err(|e| format!("{e}"))
    }
}

fn yaml_to_json(text: &str) -> Value {
    rulerun_core::yaml::parse(text).unwrap().to_json()
}

#[test]
fn schemas_in_docs_are_generated_from_the_code() {
    for (_, file, text) in rulerun::schemas::all() {
        expect_test::expect_file![root().join("docs/schema").join(file)].assert_eq(&text);
    }
}

#[test]
fn cli_prints_each_schema_and_all_of_them() {
    let run = rulerun(&["schema", "rule"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(v["additionalProperties"], false);
    let run = rulerun(&["schema"]);
    let all: Value = serde_json::from_str(&run.stdout).unwrap();
    for name in ["rule", "test", "pack", "config"] {
        assert!(
            all[name]["$defs"].is_object() || all[name]["properties"].is_object(),
            "{name}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("schemas");
    let run = rulerun(&["schema", "--out-dir", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(out.join("rule-file.json").is_file() && out.join("config.json").is_file());
}

/// Every built-in file with its schema name.
fn builtin_files() -> Vec<(PathBuf, &'static str)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, &'static str)>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                if name != "fixtures" {
                    walk(&p, out);
                }
            } else if name == "pack.yaml" {
                out.push((p, "pack"));
            } else if name.ends_with(".yaml") || name.ends_with(".yml") {
                let kind = if is_test_file(&p) { "test" } else { "rule" };
                out.push((p, kind));
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("rules"), &mut out);
    out
}

#[test]
fn every_built_in_rule_test_and_pack_file_validates() {
    let v = Validator::new();
    let files = builtin_files();
    assert!(files.iter().filter(|(_, k)| *k == "rule").count() >= 2);
    assert!(files.iter().filter(|(_, k)| *k == "test").count() >= 2);
    assert!(files.iter().filter(|(_, k)| *k == "pack").count() >= 2);
    let mut failures = Vec::new();
    for (path, kind) in &files {
        let doc = yaml_to_json(&fs::read_to_string(path).unwrap());
        if let Err(e) = v.validate(kind, &doc) {
            failures.push(format!("{} ({kind}): {e}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The fenced ```yaml blocks of a Markdown file whose first line is `# TAG: ...`.
fn tagged_yaml_blocks(markdown: &str, tag: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<&str>)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match open.take() {
            None => {
                if line == "```yaml" {
                    open = Some((i + 2, Vec::new()));
                }
            }
            Some((start, mut body)) => {
                if line.trim_end() == "```" {
                    if body
                        .first()
                        .is_some_and(|l| l.starts_with(&format!("# {tag}:")))
                    {
                        out.push((start, body.join("\n")));
                    }
                } else {
                    body.push(line);
                    open = Some((start, body));
                }
            }
        }
    }
    out
}

#[test]
fn rule_and_test_examples_of_the_docs_validate() {
    let v = Validator::new();
    let mut n = 0;
    for doc in ["docs/rule-language.md", "docs/writing-rules.md"] {
        let text = fs::read_to_string(root().join(doc)).unwrap();
        for (tag, schema) in [("example", "rule"), ("tests", "test")] {
            for (line, body) in tagged_yaml_blocks(&text, tag) {
                if let Err(e) = v.validate(schema, &yaml_to_json(&body)) {
                    panic!("{doc}:{line}: a `# {tag}:` block fails the {schema} schema: {e}");
                }
                n += 1;
            }
        }
    }
    assert!(n >= 5, "only {n} examples validated");
}

const RULE: &str = "rules:\n  - id: pending-pod\n    title: Pending\n    severity: low\n    subject: {kind: k8s/v1/Pod, where: {path: $.status.phase, equals: Pending}}\n    finding: {message: \"{{ subject.metadata.name }} is pending\"}\n";

fn loader_accepts_rule(text: &str) -> bool {
    let (_, errors) = rulerun_core::load_rules(&[SourceFile {
        path: "r.yaml".into(),
        text: text.into(),
    }]);
    errors.is_empty()
}

fn loader_accepts_test(text: &str) -> bool {
    let ids = vec!["pending-pod".to_string()];
    let (_, errors) = load_tests(
        &SourceFile {
            path: "tests.yaml".into(),
            text: text.into(),
        },
        &ids,
        &ids,
        &|_| Err("no files".into()),
    );
    errors.is_empty()
}

#[test]
fn the_loader_and_the_schema_agree_on_rule_files() {
    let v = Validator::new();
    // (file, accepted)
    let cases: Vec<(String, bool)> = vec![
        (RULE.into(), true),
        (format!("version: 1\n{RULE}"), true),
        (RULE.replace("    title:", "    severty: low\n    title:"), false),
        (RULE.replace("rules:", "rulez:"), false),
        (format!("{RULE}extra: 1\n"), false),
        (RULE.replace("equals: Pending", "equals: Pending, exists: true"), false),
        (RULE.replace("equals: Pending", "equal: Pending"), false),
        (RULE.replace("severity: low", "severity: urgent"), false),
        (RULE.replace("pending-pod", "Pending_Pod"), false),
        (RULE.replace("{kind: k8s/v1/Pod, ", "{kind: Pod, "), false),
        (
            RULE.replace(
                "    finding:",
                "    let:\n      n: {value: $.spec.nodeName, call: image_ref}\n    finding:",
            ),
            false,
        ),
        (
            RULE.replace(
                "    finding:",
                "    let:\n      n: {join: k8s/v1/Node, on: $.metadata.name, equals: $.spec.nodeName, one: true}\n    finding:",
            ),
            true,
        ),
        (
            RULE.replace(
                "    finding:",
                "    params:\n      limit: {default: 3, description: how many}\n    finding:",
            ),
            true,
        ),
        (
            RULE.replace(
                "    finding:",
                "    params:\n      limit: {default: 3, descripton: how many}\n    finding:",
            ),
            false,
        ),
        (
            RULE.replace(
                "finding: {message: \"{{ subject.metadata.name }} is pending\"}",
                "finding: {message: m, fix: [{description: d, argv: [kubectl], command: x}]}",
            ),
            false,
        ),
        (
            RULE.replace(
                "finding: {message: \"{{ subject.metadata.name }} is pending\"}",
                "finding: {message: m, fix: [{description: d, argv: [kubectl, get, pods]}]}",
            ),
            true,
        ),
    ];
    for (text, accepted) in &cases {
        assert_eq!(loader_accepts_rule(text), *accepted, "loader on:\n{text}");
        assert_eq!(
            v.validate("rule", &yaml_to_json(text)).is_ok(),
            *accepted,
            "schema on:\n{text}"
        );
    }
}

#[test]
fn the_loader_and_the_schema_agree_on_test_files() {
    let v = Validator::new();
    let good = "tests:\n  - name: fires\n    facts: {k8s/v1/Pod: [{metadata: {name: p}, status: {phase: Pending}}]}\n    expect: [{subject: p, message: {contains: pending, notContains: x}, fix: [{command: kubectl}]}]\n  - name: quiet\n    facts: {k8s/v1/Pod: []}\n    expect: []\n";
    let cases = [
        (good.to_string(), true),
        (good.replace("    expect: []", "    expected: []"), false),
        (good.replace("notContains", "notContain"), false),
        (good.replace("  - name: quiet\n", "  - nam: quiet\n"), false),
        (good.replace("{command: kubectl}", "{cmd: kubectl}"), false),
        (format!("{good}other: 1\n"), false),
        (
            good.replace(
                "    expect: []\n",
                "    expect: []\n    inconclusive: [{rule: pending-pod, subject: p, reason: {contains: role}}]\n",
            ),
            true,
        ),
        (
            good.replace(
                "    expect: []\n",
                "    expect: []\n    inconclusive: [{rule: pending-pod, why: role}]\n",
            ),
            false,
        ),
    ];
    for (text, accepted) in &cases {
        assert_eq!(loader_accepts_test(text), *accepted, "loader on:\n{text}");
        assert_eq!(
            v.validate("test", &yaml_to_json(text)).is_ok(),
            *accepted,
            "schema on:\n{text}"
        );
    }
}

#[test]
fn the_loader_and_the_schema_agree_on_packs_and_configuration() {
    let v = Validator::new();
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("pack");
    fs::create_dir_all(pack.join("pending-pod")).unwrap();
    fs::write(pack.join("pending-pod/rule.yaml"), RULE).unwrap();
    fs::create_dir_all(pack.join("parts")).unwrap();
    fs::write(
        pack.join("parts/shared.yaml"),
        "parts:\n  - id: on-node\n    public: true\n    let:\n      node: {join: k8s/v1/Node, on: $.metadata.name, equals: $.spec.nodeName, one: true}\n",
    )
    .unwrap();
    let manifest = "name: team-rules\nversion: 1.0.0\ndescription: ours\nrulerun: \">=0.1.0\"\nrules:\n  - pending-pod/rule.yaml\nparts:\n  - parts/shared.yaml\n";
    for (text, accepted) in [
        (manifest.to_string(), true),
        (manifest.replace("description:", "descripton:"), false),
        (manifest.replace("name: team-rules\n", ""), false),
        (format!("{manifest}uses: [kubernetes]\n"), true),
        (format!("{manifest}uses: [Kubernetes]\n"), false),
        (format!("{manifest}uses: kubernetes\n"), false),
    ] {
        fs::write(pack.join("pack.yaml"), &text).unwrap();
        let run = rulerun(&["validate", pack.to_str().unwrap()]);
        assert_eq!(
            run.code == 0,
            accepted,
            "loader on:\n{text}\n{}",
            run.stderr
        );
        assert_eq!(
            v.validate("pack", &yaml_to_json(&text)).is_ok(),
            accepted,
            "schema on:\n{text}"
        );
    }
    fs::write(pack.join("pack.yaml"), manifest).unwrap();
    let config = "version: 1\npacks:\n  - builtin: kubernetes\n  - path: pack\nrules:\n  pod-image-pull-failing:\n    severity: low\n  pending-pod:\n    enabled: false\ndefaults:\n  output: json\n  failOn: high\n";
    for (text, accepted) in [
        (config.to_string(), true),
        (config.replace("failOn", "failon"), false),
        (
            config.replace("    enabled: false", "    enable: false"),
            false,
        ),
        (
            config.replace("  - path: pack", "  - path: pack\n    vendor: x"),
            false,
        ),
        // Registries in other accounts.
        (format!("{config}{ACCOUNTS}"), true),
        (
            format!(
                "{config}aws:\n  accounts:\n    \"210987654321\": {{roleArn: arn:aws:iam::210987654321:role/r}}\n"
            ),
            true,
        ),
        (
            format!("{config}{}", ACCOUNTS.replace("roleArn", "rolearn")),
            false,
        ),
        (
            format!(
                "{config}{}",
                ACCOUNTS.replace("\"210987654321\"", "\"21098765432\"")
            ),
            false,
        ),
        (
            format!(
                "{config}{}",
                ACCOUNTS.replace(":role/rulerun-read", ":user/rulerun-read")
            ),
            false,
        ),
        (
            format!(
                "{config}{}",
                ACCOUNTS.replace("externalId: ext-1", "externalId: \"a b\"")
            ),
            false,
        ),
        (
            format!(
                "{config}{}",
                ACCOUNTS.replace("region: eu-west-1", "region: EU")
            ),
            false,
        ),
        (
            format!(
                "{config}{}",
                ACCOUNTS.replace(
                    "      roleArn: arn:aws:iam::210987654321:role/rulerun-read\n",
                    ""
                )
            ),
            false,
        ),
        (format!("{config}aws:\n  acounts: {{}}\n"), false),
    ] {
        let file = dir.path().join("rulerun.yaml");
        fs::write(&file, &text).unwrap();
        let run = rulerun(&["--config", file.to_str().unwrap(), "rules", "list"]);
        assert_eq!(
            run.code == 0,
            accepted,
            "loader on:\n{text}\n{}",
            run.stderr
        );
        assert_eq!(
            v.validate("config", &yaml_to_json(&text)).is_ok(),
            accepted,
            "schema on:\n{text}"
        );
    }
}

const ACCOUNTS: &str = "aws:\n  accounts:\n    \"210987654321\":\n      roleArn: arn:aws:iam::210987654321:role/rulerun-read\n      externalId: ext-1\n      region: eu-west-1\n";

/// The property names of an object schema, sorted.
fn properties(schema: &Value) -> Vec<String> {
    let mut keys: Vec<String> = schema["properties"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

fn sorted(keys: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    keys.sort();
    keys
}

#[test]
fn the_rule_schema_has_the_loaders_keys() {
    use rulerun_core::load::{FILE_KEYS, FIX_KEYS, RULE_KEYS};
    use rulerun_core::parts::{INPUT_KEYS, PART_KEYS, USE_KEYS};
    let s = rulerun::schemas::schema("rule").unwrap();
    let defs = &s["$defs"];
    assert_eq!(properties(&s), sorted(FILE_KEYS), "rule file keys");
    assert_eq!(properties(&defs["RuleDef"]), sorted(RULE_KEYS), "rule keys");
    assert_eq!(properties(&defs["PartDef"]), sorted(PART_KEYS), "part keys");
    assert_eq!(
        properties(&defs["PartUseWith"]),
        sorted(USE_KEYS),
        "keys of a `uses` entry"
    );
    let input = defs["PartInput"]["oneOf"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["type"] == "object"))
        .unwrap();
    assert_eq!(properties(input), sorted(INPUT_KEYS), "part input keys");
    let mut step: Vec<String> = properties(&defs["ArgvStep"]);
    step.extend(properties(&defs["CommandStep"]));
    step.sort();
    step.dedup();
    assert_eq!(step, sorted(FIX_KEYS), "fix step keys");
    assert_eq!(properties(&defs["UseStep"]), vec!["use".to_string()]);
    let pack = rulerun::schemas::schema("pack").unwrap();
    for key in ["parts", "uses"] {
        assert!(
            properties(&pack).contains(&key.to_string()),
            "pack.yaml schema lacks `{key}`"
        );
    }
}

/// A pack-less file of parts and rules (loose files may hold both).
const PARTS: &str = "parts:
  - id: on-node
    description: the pod's node
    let:
      node: {join: k8s/v1/Node, on: $.metadata.name, equals: $.spec.nodeName, one: true}
  - id: waiting
    inputs:
      c: {description: a container status}
    condition: {path: $c.state.waiting.reason, exists: true}
  - id: look
    uses: [on-node]
    fix:
      - {description: look at the node, argv: [kubectl, describe, node, \"{{ node.metadata.name }}\"]}
  - id: spare
    public: true
    inputs:
      c:
    condition: {path: $c.ready, equals: false}
rules:
  - id: waiting-on-node
    title: Waiting
    severity: low
    subject: {kind: k8s/v1/Pod}
    each: {as: c, path: \"$.status.containerStatuses[*]\", where: {use: waiting}}
    uses: [on-node]
    when: {path: $node.metadata.name, exists: true}
    finding:
      message: \"{{ c.name }} waits on {{ node.metadata.name }}\"
      fix:
        - use: look
";

#[test]
fn the_loader_and_the_schema_agree_on_parts() {
    let v = Validator::new();
    let only_parts =
        "parts:\n  - id: lone\n    public: true\n    let:\n      n: {value: $.spec.nodeName}\n";
    let cases: Vec<(String, bool)> = vec![
        (PARTS.into(), true),
        (only_parts.into(), true),
        (
            PARTS.replace(
                "    uses: [on-node]\n    when:",
                "    uses: [{part: on-node}]\n    when:",
            ),
            true,
        ),
        // two bodies, or none
        (
            only_parts.replace(
                "    let:",
                "    condition: {path: $.x, exists: true}\n    let:",
            ),
            false,
        ),
        (
            "parts:\n  - id: lone\n    public: true\n".to_string(),
            false,
        ),
        // unknown keys: of a part, an input, a `uses` entry, a `use` step
        (PARTS.replace("    public: true", "    publc: true"), false),
        (
            PARTS.replace(
                "{description: a container status}",
                "{descripton: a container status}",
            ),
            false,
        ),
        (
            PARTS.replace(
                "    uses: [on-node]\n    when:",
                "    uses: [{part: on-node, width: {}}]\n    when:",
            ),
            false,
        ),
        (
            PARTS.replace(
                "        - use: look",
                "        - use: look\n          description: x",
            ),
            false,
        ),
        (
            PARTS.replace("where: {use: waiting}", "where: {use: waiting, path: $.x}"),
            false,
        ),
        // part names are lowercase words joined by `-`
        (only_parts.replace("id: lone", "id: Lone_Part"), false),
        (PARTS.replace("rules:", "rulez:"), false),
    ];
    for (text, accepted) in &cases {
        assert_eq!(loader_accepts_rule(text), *accepted, "loader on:\n{text}");
        assert_eq!(
            v.validate("rule", &yaml_to_json(text)).is_ok(),
            *accepted,
            "schema on:\n{text}"
        );
    }
}

#[test]
fn the_rule_schema_offers_every_catalog_kind_to_editors() {
    let schema = rulerun::schemas::schema("rule").unwrap();
    let kind = &schema["$defs"]["Kind"];
    let offered: Vec<&str> = kind["anyOf"][0]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("no enum of kinds: {kind}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let catalog: Vec<&str> = rulerun_core::catalog::builtin()
        .kinds()
        .map(|k| k.name.as_str())
        .collect();
    assert_eq!(offered, catalog);
    assert!(offered.contains(&"k8s/apps/v1/Deployment"));
    // A kind a pack declares still validates (the loader decides whether it is
    // declared); a malformed name does not.
    let v = Validator::new();
    let rule = |kind: &str| {
        yaml_to_json(&format!(
            "rules:\n  - id: r\n    title: t\n    severity: low\n    subject: {{kind: {kind}}}\n    finding: {{message: m}}\n"
        ))
    };
    assert!(v.validate("rule", &rule("k8s/apps/v1/Deployment")).is_ok());
    assert!(v.validate("rule", &rule("team/inventory/Service")).is_ok());
    assert!(v.validate("rule", &rule("Deployment")).is_err());
}
