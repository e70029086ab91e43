//! `rulerun check -o sarif|junit|openreports|policyreport` and `--output-file`
//! (docs/reports.md): every SARIF document validated against the OASIS schema,
//! every OpenReports object against its CRD's `openAPIV3Schema` (and checked for
//! fields an API server would prune), JUnit parsed back with quick-xml and
//! checked field by field; on the reference snapshot, a clean cluster and an
//! inconclusive run (`--no-aws` against the stand-in API server). The schemas
//! are copies under `tests/data/conformance/`: a missing file fails the tests.

use std::collections::BTreeMap;

use quick_xml::events::Event;
use serde_json::{Value, json};

use crate::support::{Run, repo, rulerun};
use rulerun_kube_stub::{Stub, StubServer};

const POD: &str = "ui-private-7655bf59b9-jprrj";
const POD_UID: &str = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e03";

pub(crate) fn data(rel: &str) -> String {
    let path = crate::support::root()
        .join("tests/data/conformance")
        .join(rel);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("conformance file `{}` is missing: {e}", path.display()))
}

// ---------------------------------------------------------------------------
// Validators

struct Schema {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Schema {
    fn compile(url: &str, schema: Value) -> Self {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.add_resource(url, schema).unwrap();
        let index = compiler
            .compile(url, &mut schemas)
            .unwrap_or_else(|e| panic!("schema `{url}` does not compile: {e:#}"));
        Schema { schemas, index }
    }

    fn validate(&self, doc: &Value) {
        if let Err(e) = self.schemas.validate(doc, self.index) {
            panic!("not valid: {e:#}\n{doc:#}");
        }
    }
}

fn sarif_schema() -> Schema {
    let schema: Value = serde_json::from_str(&data("sarif/sarif-schema-2.1.0.json")).unwrap();
    let url = schema["id"].as_str().unwrap().to_string();
    Schema::compile(&url, schema)
}

/// The `openAPIV3Schema` of the CRD in `file`, version v1alpha1.
fn crd_schema(file: &str) -> Value {
    let crd = rulerun_core::yaml::parse(&data(file)).unwrap().to_json();
    let version = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "v1alpha1")
        .unwrap();
    version["schema"]["openAPIV3Schema"].clone()
}

pub(crate) struct Crds {
    report: (Schema, Value),
    cluster: (Schema, Value),
}

pub(crate) fn openreports_schemas() -> Crds {
    let r = crd_schema("openreports/openreports.io_reports.yaml");
    let c = crd_schema("openreports/openreports.io_clusterreports.yaml");
    Crds {
        report: (Schema::compile("file:///report.json", r.clone()), r),
        cluster: (Schema::compile("file:///clusterreport.json", c.clone()), c),
    }
}

/// Members the API server would prune: not in `properties` of a structural
/// schema that does not allow more.
fn pruned(doc: &Value, schema: &Value, at: &str, out: &mut Vec<String>) {
    match doc {
        Value::Object(m) => {
            if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true)) {
                return;
            }
            let props = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties");
            for (k, v) in m {
                match (props.and_then(|p| p.get(k)), extra) {
                    (Some(s), _) => pruned(v, s, &format!("{at}.{k}"), out),
                    (None, Some(s)) if s.is_object() => pruned(v, s, &format!("{at}.{k}"), out),
                    (None, _) if props.is_none() && at == ".metadata" => {}
                    (None, _) => out.push(format!("{at}.{k}")),
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    pruned(v, s, &format!("{at}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

/// Validates every object of an `-o openreports` List against its CRD.
fn validate_openreports(list: &Value, crds: &Crds) {
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["kind"], "List");
    for item in list["items"].as_array().unwrap() {
        validate_openreport(item, crds);
    }
}

/// Validates one OpenReports object against its CRD (the schema, and nothing
/// the API server would prune).
pub(crate) fn validate_openreport(item: &Value, crds: &Crds) {
    {
        assert_eq!(item["apiVersion"], "openreports.io/v1alpha1", "{item:#}");
        let (schema, raw) = match item["kind"].as_str().unwrap() {
            "Report" => &crds.report,
            "ClusterReport" => &crds.cluster,
            other => panic!("unexpected kind {other}"),
        };
        schema.validate(item);
        let mut extra = Vec::new();
        pruned(item, raw, "", &mut extra);
        assert!(
            extra.is_empty(),
            "fields the API server would prune: {extra:?}\n{item:#}"
        );
    }
}

// ---------------------------------------------------------------------------
// JUnit, parsed back

#[derive(Debug, Default, Clone)]
struct Case {
    name: String,
    classname: String,
    /// (element, attributes, text) of failure/skipped/error/system-out.
    children: Vec<(String, BTreeMap<String, String>, String)>,
}

#[derive(Debug, Default)]
struct Suite {
    attrs: BTreeMap<String, String>,
    properties: BTreeMap<String, String>,
    cases: Vec<Case>,
}

#[derive(Debug, Default)]
struct Junit {
    attrs: BTreeMap<String, String>,
    suites: Vec<Suite>,
}

fn attrs(e: &quick_xml::events::BytesStart<'_>) -> BTreeMap<String, String> {
    e.attributes()
        .map(|a| {
            let a = a.unwrap();
            (
                String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                a.unescape_value().unwrap().into_owned(),
            )
        })
        .collect()
}

fn parse_junit(xml: &str) -> Junit {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut doc = Junit::default();
    let mut child: Option<(String, BTreeMap<String, String>, String)> = None;
    let mut seen_decl = false;
    loop {
        let ev = reader.read_event().unwrap_or_else(|e| panic!("{e}\n{xml}"));
        let (start, empty) = match &ev {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
            let a = attrs(&e);
            match name.as_str() {
                "testsuites" => doc.attrs = a,
                "testsuite" => doc.suites.push(Suite {
                    attrs: a,
                    ..Suite::default()
                }),
                "properties" => {}
                "property" => {
                    doc.suites
                        .last_mut()
                        .unwrap()
                        .properties
                        .insert(a["name"].clone(), a["value"].clone());
                }
                "testcase" => doc.suites.last_mut().unwrap().cases.push(Case {
                    name: a["name"].clone(),
                    classname: a["classname"].clone(),
                    children: Vec::new(),
                }),
                "failure" | "skipped" | "error" | "system-out" => {
                    let c = (name, a, String::new());
                    if empty {
                        let case = doc.suites.last_mut().unwrap().cases.last_mut().unwrap();
                        case.children.push(c);
                    } else {
                        child = Some(c);
                    }
                }
                other => panic!("unexpected element <{other}>"),
            }
            continue;
        }
        match ev {
            Event::Decl(_) => seen_decl = true,
            Event::Text(t) => {
                if let Some(c) = child.as_mut() {
                    c.2.push_str(&t.decode().unwrap());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(c) = child.as_mut() {
                    let name = r.decode().unwrap();
                    let s = match name.as_ref() {
                        "lt" => "<".to_string(),
                        "gt" => ">".to_string(),
                        "amp" => "&".to_string(),
                        "apos" => "'".to_string(),
                        "quot" => "\"".to_string(),
                        other => panic!("unexpected entity {other}"),
                    };
                    c.2.push_str(&s);
                }
            }
            Event::End(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                if let Some(c) = child.take_if(|c| c.0 == name) {
                    let case = doc.suites.last_mut().unwrap().cases.last_mut().unwrap();
                    case.children.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(seen_decl, "no XML declaration");
    doc
}

fn count(a: &BTreeMap<String, String>, k: &str) -> usize {
    a[k].parse().unwrap()
}

/// The totals of `testsuites` and of each `testsuite` agree with the cases.
fn check_counts(j: &Junit) {
    let mut total = [0usize; 4];
    for s in &j.suites {
        let mut c = [s.cases.len(), 0, 0, 0];
        for case in &s.cases {
            let first = case.children.first().map(|c| c.0.as_str());
            match first {
                Some("failure") => c[1] += 1,
                Some("error") => c[2] += 1,
                Some("skipped") => c[3] += 1,
                _ => {}
            }
        }
        for (i, k) in ["tests", "failures", "errors", "skipped"]
            .iter()
            .enumerate()
        {
            assert_eq!(count(&s.attrs, k), c[i], "{k} of {:?}", s.attrs);
            total[i] += c[i];
        }
    }
    for (i, k) in ["tests", "failures", "errors", "skipped"]
        .iter()
        .enumerate()
    {
        assert_eq!(count(&j.attrs, k), total[i], "{k} of testsuites");
    }
}

// ---------------------------------------------------------------------------
// Runs

/// `--config` with the packs of the image-pull scenario only.
fn image_pull_config() -> String {
    repo("tests/data/rulerun-image-pull.yaml")
}

fn check_snapshot(format: &str) -> Run {
    let run = rulerun(&[
        "check",
        "--config",
        &image_pull_config(),
        "--facts",
        &repo("examples/ui-private-403"),
        "-o",
        format,
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    run
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", run.stdout, run.stderr))
}

async fn check_live(server: &StubServer, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let kc = server
        .write_kubeconfig(dir.path(), "stub")
        .unwrap()
        .display()
        .to_string();
    let config = image_pull_config();
    let mut args: Vec<String> = [
        "check",
        "-A",
        "--no-aws",
        "--config",
        &config,
        "--kubeconfig",
        &kc,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    tokio::task::spawn_blocking(move || rulerun(&args))
        .await
        .unwrap()
}

async fn healthy() -> StubServer {
    Stub::new()
        .objects(rulerun_kube_stub::synth::cluster(3, 0))
        .start()
        .await
        .unwrap()
}

async fn reference_without_aws() -> StubServer {
    let text = std::fs::read_to_string(repo("examples/ui-private-403/cluster.json")).unwrap();
    let objects = rulerun_kube_stub::parse_fixtures(serde_json::from_str(&text).unwrap()).unwrap();
    Stub::new().objects(objects).start().await.unwrap()
}

fn builtin_rule_ids() -> Vec<String> {
    let run = rulerun(&[
        "rules",
        "list",
        "--config",
        &image_pull_config(),
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    json_of(&run)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------------------
// SARIF

#[test]
fn sarif_of_the_reference_snapshot_is_valid_and_maps_every_field() {
    let schema = sarif_schema();
    let doc = json_of(&check_snapshot("sarif"));
    schema.validate(&doc);
    let findings = json_of(&check_snapshot("json"));
    assert_eq!(doc["version"], "2.1.0");
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "rulerun");
    assert!(driver["version"].as_str().unwrap().contains('.'));
    assert!(
        driver["informationUri"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    // One descriptor per loaded rule, in load order.
    let rules = driver["rules"].as_array().unwrap();
    let ids: Vec<String> = rules
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, builtin_rule_ids());
    let denies = rules
        .iter()
        .find(|r| r["id"] == "ecr-repository-policy-denies-pull")
        .unwrap();
    assert_eq!(
        denies["shortDescription"]["text"],
        "An ECR repository policy explicitly denies the node role the image pull"
    );
    assert_eq!(denies["defaultConfiguration"]["level"], "error");
    assert_eq!(denies["properties"]["security-severity"], "9.5");
    let explain = rulerun(&["explain", "ecr-repository-policy-denies-pull"]);
    assert!(
        explain
            .stdout
            .starts_with(denies["help"]["markdown"].as_str().unwrap().trim_end()),
        "help is the rule's docs as `rulerun explain` shows them"
    );
    assert!(
        denies["help"]["text"]
            .as_str()
            .unwrap()
            .contains("ImagePullBackOff")
    );

    // One result per finding.
    let results = run["results"].as_array().unwrap();
    let fs = findings["findings"].as_array().unwrap();
    assert_eq!(results.len(), fs.len());
    for (r, f) in results.iter().zip(fs) {
        assert_eq!(r["ruleId"], f["rule"]);
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], f["rule"]);
        let level = match f["severity"].as_str().unwrap() {
            "critical" | "high" => "error",
            "medium" => "warning",
            _ => "note",
        };
        assert_eq!(r["level"], level);
        assert_eq!(r["message"]["text"], f["message"]);
        assert_eq!(r["properties"]["fix"], f["fix"]);
        assert_eq!(r["properties"]["evidence"], f["evidence"]);
        let loc = &r["locations"][0];
        let logical = &loc["logicalLocations"][0];
        assert_eq!(logical["name"], POD);
        assert_eq!(logical["kind"], "k8s/v1/Pod");
        assert_eq!(logical["properties"]["namespace"], "default");
        assert_eq!(
            logical["fullyQualifiedName"],
            format!("default/k8s/v1/Pod/{POD}")
        );
        let physical = &loc["physicalLocation"];
        let uri = physical["artifactLocation"]["uri"].as_str().unwrap();
        assert_eq!(
            uri,
            format!(
                "rules/eks-image-pull/{}/rule.yaml",
                f["rule"].as_str().unwrap()
            )
        );
        // The region is the rule's `- id:` line in that file.
        let text = std::fs::read_to_string(repo(uri)).unwrap();
        let line = physical["region"]["startLine"].as_u64().unwrap() as usize;
        assert!(
            text.lines()
                .nth(line - 1)
                .unwrap()
                .contains(f["rule"].as_str().unwrap())
        );
        let fp = r["partialFingerprints"]["rulerunSubject/v1"]
            .as_str()
            .unwrap();
        assert!(
            fp.starts_with(f["rule"].as_str().unwrap()) && fp.contains(POD),
            "{fp}"
        );
        assert!(!fp.contains(f["message"].as_str().unwrap()));
    }
    assert_eq!(results[0]["ruleId"], "ecr-repository-policy-denies-pull");
    assert_eq!(
        run["invocations"][0]["toolExecutionNotifications"],
        json!([])
    );
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn sarif_fingerprints_are_stable_when_messages_change() {
    // The same run twice gives the same fingerprints; they are built from
    // rule id and subject only (see the test above), so a message edit keeps them.
    let a = json_of(&check_snapshot("sarif"));
    let b = json_of(&check_snapshot("sarif"));
    let fps = |d: &Value| -> Vec<Value> {
        d["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"].clone())
            .collect()
    };
    assert_eq!(fps(&a), fps(&b));
}

#[tokio::test(flavor = "multi_thread")]
async fn sarif_of_clean_and_inconclusive_runs_is_valid() {
    let schema = sarif_schema();
    let server = healthy().await;
    let run = check_live(&server, &["-o", "sarif"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc = json_of(&run);
    schema.validate(&doc);
    assert_eq!(doc["runs"][0]["results"], json!([]));
    assert_eq!(
        doc["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        8
    );

    let server = reference_without_aws().await;
    let run = check_live(&server, &["-o", "sarif", "--fail-on", "critical"]).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let doc = json_of(&run);
    schema.validate(&doc);
    let notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 7, "one per AWS-backed rule: {notes:#?}");
    for n in notes {
        assert_eq!(n["level"], "warning");
        assert!(
            n["message"]["text"].as_str().unwrap().contains("--no-aws"),
            "{n:#}"
        );
        let id = n["associatedRule"]["id"].as_str().unwrap();
        let index = n["associatedRule"]["index"].as_u64().unwrap() as usize;
        assert_eq!(doc["runs"][0]["tool"]["driver"]["rules"][index]["id"], id);
        assert_eq!(
            n["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            format!("default/k8s/v1/Pod/{POD}")
        );
    }
    // The Kubernetes rule still reports the pod.
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "pod-image-pull-failing");
}

// ---------------------------------------------------------------------------
// JUnit

#[test]
fn junit_of_the_reference_snapshot_lists_every_rule_and_subject() {
    let run = check_snapshot("junit");
    let j = parse_junit(&run.stdout);
    check_counts(&j);
    assert_eq!(j.attrs["name"], "rulerun");
    let ids = builtin_rule_ids();
    assert_eq!(j.suites.len(), ids.len());
    let findings = json_of(&check_snapshot("json"));
    for (suite, id) in j.suites.iter().zip(&ids) {
        assert_eq!(suite.properties["rule"], *id);
        assert!(
            suite.attrs["name"].ends_with(&format!("/{id}")),
            "{:?}",
            suite.attrs
        );
        // The only pod in phase Pending/Running, checked by every rule.
        assert_eq!(suite.cases.len(), 1, "{suite:?}");
        let case = &suite.cases[0];
        assert_eq!(case.name, format!("default/k8s/v1/Pod/{POD}"));
        assert_eq!(case.classname, suite.attrs["name"]);
        let f = findings["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == id.as_str());
        match f {
            Some(f) => {
                assert_eq!(case.children.len(), 1);
                let (el, a, text) = &case.children[0];
                assert_eq!(el, "failure");
                assert_eq!(a["message"], f["message"].as_str().unwrap());
                assert_eq!(a["type"], f["severity"].as_str().unwrap());
                assert!(text.contains(f["message"].as_str().unwrap()));
                for step in f["fix"].as_array().unwrap() {
                    assert!(text.contains(step["command"].as_str().unwrap()), "{text}");
                    assert!(text.contains(step["description"].as_str().unwrap()));
                }
                assert_eq!(
                    suite.properties["severity"],
                    f["severity"].as_str().unwrap()
                );
            }
            None => assert!(case.children.is_empty(), "{case:?}"),
        }
    }
    assert_eq!(j.attrs["failures"], "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn junit_of_a_clean_run_lists_what_was_checked() {
    let server = healthy().await;
    let run = check_live(&server, &["-o", "junit"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let j = parse_junit(&run.stdout);
    check_counts(&j);
    assert_eq!(j.suites.len(), 8);
    assert_eq!(j.attrs["failures"], "0");
    for s in &j.suites {
        assert_eq!(s.cases.len(), 3, "every running pod, for every rule: {s:?}");
        for c in &s.cases {
            assert!(c.name.contains("/k8s/v1/Pod/"), "{c:?}");
            assert!(c.children.is_empty(), "{c:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn junit_of_an_inconclusive_run_skips_with_the_reason() {
    let server = reference_without_aws().await;
    let run = check_live(&server, &["-o", "junit", "--fail-on", "critical"]).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let j = parse_junit(&run.stdout);
    check_counts(&j);
    assert_eq!(j.attrs["skipped"], "7");
    assert_eq!(j.attrs["failures"], "1");
    for s in &j.suites {
        let case = s.cases.iter().find(|c| c.name.ends_with(POD)).unwrap();
        let (el, a, _) = &case.children[0];
        if s.properties["rule"] == "pod-image-pull-failing" {
            assert_eq!(el, "failure");
        } else {
            assert_eq!(el, "skipped", "{case:?}");
            assert!(a["message"].contains("--no-aws"), "{a:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// OpenReports and PolicyReport

#[test]
fn openreports_of_the_reference_snapshot_are_valid_reports() {
    let crds = openreports_schemas();
    let list = json_of(&check_snapshot("openreports"));
    validate_openreports(&list, &crds);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list:#}");
    let report = &items[0];
    assert_eq!(report["kind"], "Report");
    assert_eq!(report["metadata"]["namespace"], "default");
    assert_eq!(report["metadata"]["name"], "rulerun");
    assert_eq!(
        report["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "rulerun"
    );
    assert_eq!(report["source"], "rulerun");
    let findings = json_of(&check_snapshot("json"));
    let f = &findings["findings"][0];
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(
        r["policy"],
        "eks-image-pull/ecr-repository-policy-denies-pull"
    );
    assert_eq!(r["rule"], "ecr-repository-policy-denies-pull");
    assert_eq!(r["result"], "fail");
    assert_eq!(r["severity"], "critical");
    assert_eq!(r["source"], "rulerun");
    assert_eq!(r["message"], f["message"]);
    assert_eq!(
        r["resources"],
        json!([{"apiVersion": "v1", "kind": "Pod", "namespace": "default", "name": POD, "uid": POD_UID}])
    );
    let props = r["properties"].as_object().unwrap();
    assert!(props.values().all(Value::is_string));
    assert_eq!(props["fix.1.command"], f["fix"][0]["command"]);
    assert_eq!(props["fix.1.description"], f["fix"][0]["description"]);
    assert_eq!(props["evidence.awsMessage"], f["evidence"]["awsMessage"]);
    assert!(r["timestamp"]["seconds"].as_i64().unwrap() > 1_600_000_000);
    assert!(r["timestamp"]["nanos"].is_i64());
    assert_eq!(
        report["summary"],
        json!({"pass": 7, "fail": 1, "warn": 0, "error": 0, "skip": 0}),
        "the 7 other rules passed on the pod (the superseded finding's rule among them)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn openreports_of_clean_and_inconclusive_runs_are_valid() {
    let crds = openreports_schemas();
    let server = healthy().await;
    let run = check_live(&server, &["-o", "openreports"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let list = json_of(&run);
    validate_openreports(&list, &crds);
    assert_eq!(list["items"], json!([]), "a clean cluster has no report");

    let server = reference_without_aws().await;
    let run = check_live(&server, &["-o", "openreports", "--fail-on", "critical"]).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let list = json_of(&run);
    validate_openreports(&list, &crds);
    let report = &list["items"][0];
    let results = report["results"].as_array().unwrap();
    let skips: Vec<&Value> = results.iter().filter(|r| r["result"] == "skip").collect();
    assert_eq!(skips.len(), 7);
    for s in skips {
        assert!(s["message"].as_str().unwrap().contains("--no-aws"), "{s:#}");
        assert_eq!(s["resources"][0]["uid"], POD_UID);
    }
    assert_eq!(report["summary"]["skip"], 7);
    assert_eq!(report["summary"]["fail"], 1);
}

#[test]
fn policyreport_is_the_same_results_in_the_older_api() {
    let crds = openreports_schemas();
    let open = json_of(&check_snapshot("openreports"));
    let list = json_of(&check_snapshot("policyreport"));
    let item = &list["items"][0];
    assert_eq!(item["apiVersion"], "wgpolicyk8s.io/v1alpha2");
    assert_eq!(item["kind"], "PolicyReport");
    assert!(
        item.get("source").is_none(),
        "v1alpha2 has `source` per result only"
    );
    let strip = |v: &Value| {
        let mut v = v.clone();
        for r in v["results"].as_array_mut().unwrap() {
            r["timestamp"] = json!(null);
        }
        v
    };
    assert_eq!(strip(item)["results"], strip(&open["items"][0])["results"]);
    assert_eq!(item["summary"], open["items"][0]["summary"]);
    // wgpolicyk8s.io v1alpha2 has the results and summary of OpenReports
    // (OpenReports forked from it): checked against the OpenReports schema.
    let mut as_open = item.clone();
    as_open["apiVersion"] = json!("openreports.io/v1alpha1");
    as_open["kind"] = json!("Report");
    validate_openreports(
        &json!({"apiVersion": "v1", "kind": "List", "items": [as_open]}),
        &crds,
    );
}

// ---------------------------------------------------------------------------
// --output-file

#[test]
fn output_file_gets_the_report_and_the_terminal_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.sarif");
    let run = rulerun(&[
        "check",
        "--facts",
        &repo("examples/ui-private-403"),
        "-o",
        "sarif",
        "--output-file",
        &file.display().to_string(),
    ]);
    assert_eq!(run.code, 1, "exit codes unchanged: {}", run.stderr);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    sarif_schema().validate(&doc);
    let text = rulerun(&["check", "--facts", &repo("examples/ui-private-403")]);
    assert_eq!(
        run.stdout, text.stdout,
        "standard output is the text report"
    );

    // An unwritable file: exit 2, said on standard error.
    let bad = dir.path().join("no/such/folder/out.xml");
    let run = rulerun(&[
        "check",
        "--facts",
        &repo("examples/ui-private-403"),
        "-o",
        "junit",
        "--output-file",
        &bad.display().to_string(),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot write the report"),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------
// Hostile text

#[test]
fn text_from_facts_cannot_break_the_xml_or_the_schemas() {
    // The denying statement's Sid (in the finding's message) holds markup, a
    // control character XML 1.0 cannot carry, a terminal escape and quotes.
    let dir = tempfile::tempdir().unwrap();
    for f in ["cluster.json", "aws.json"] {
        let text = std::fs::read_to_string(repo(&format!("examples/ui-private-403/{f}"))).unwrap();
        let text = text.replace(
            r#"\"Sid\": \"new policy\""#,
            r#"\"Sid\": \"new <policy> & \\u0001\\u001b]8;;x\\u0007 \\\"q\\\"\""#,
        );
        std::fs::write(dir.path().join(f), text).unwrap();
    }
    let facts = dir.path().display().to_string();
    let sid = "new <policy> & \u{1}\u{1b}]8;;x\u{7} \"q\"";
    let run = rulerun(&["check", "--facts", &facts, "-o", "junit"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let j = parse_junit(&run.stdout);
    check_counts(&j);
    let suite = j
        .suites
        .iter()
        .find(|s| s.properties["rule"] == "ecr-repository-policy-denies-pull")
        .unwrap();
    let (el, a, text) = &suite.cases[0].children[0];
    assert_eq!(el, "failure");
    let shown = r#"new <policy> & \u{1}\u{1b}]8;;x\u{7} "q""#;
    assert!(a["message"].contains(shown), "{}", a["message"]);
    assert!(text.contains(shown), "{text}");

    let run = rulerun(&["check", "--facts", &facts, "-o", "sarif"]);
    let doc = json_of(&run);
    sarif_schema().validate(&doc);
    assert!(
        doc["runs"][0]["results"][0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains(sid),
        "JSON stays raw"
    );

    let run = rulerun(&["check", "--facts", &facts, "-o", "openreports"]);
    let list = json_of(&run);
    validate_openreports(&list, &openreports_schemas());
    assert!(
        list["items"][0]["results"][0]["message"]
            .as_str()
            .unwrap()
            .contains(sid)
    );
}

// ---------------------------------------------------------------------------
// Rules given with --rules

#[test]
fn a_rule_from_the_command_line_points_at_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("my rules");
    std::fs::create_dir(&folder).unwrap();
    let file = folder.join("team.yaml");
    std::fs::write(
        &file,
        "rules:\n  - id: team-pod-not-succeeded\n    title: A pod has not succeeded\n    severity: low\n    subject: {kind: k8s/v1/Pod, where: {path: $.status.phase, in: [Pending, Running]}}\n    finding:\n      message: \"pod {{ subject.metadata.name }} is {{ subject.status.phase }}\"\n",
    )
    .unwrap();
    let args = |format: &str| {
        rulerun(&[
            "check",
            "--facts",
            &repo("examples/ui-private-403"),
            "--rules",
            &file.display().to_string(),
            "-o",
            format,
        ])
    };
    let doc = json_of(&args("sarif"));
    sarif_schema().validate(&doc);
    let run = &doc["runs"][0];
    let r = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "team-pod-not-succeeded")
        .unwrap();
    assert_eq!(r["level"], "note");
    let physical = &r["locations"][0]["physicalLocation"];
    let uri = physical["artifactLocation"]["uri"].as_str().unwrap();
    assert!(
        uri.starts_with("file:///") && uri.ends_with("/my%20rules/team.yaml"),
        "{uri}"
    );
    assert_eq!(physical["region"]["startLine"], 2);
    let d = &run["tool"]["driver"]["rules"][r["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(d["properties"]["security-severity"], "3.0");
    assert_eq!(d["defaultConfiguration"]["level"], "note");

    let list = json_of(&args("openreports"));
    validate_openreports(&list, &openreports_schemas());
    let result = list["items"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "team-pod-not-succeeded")
        .unwrap();
    assert_eq!(
        result["policy"], "team-pod-not-succeeded",
        "no pack: the id alone"
    );
    assert_eq!(result["severity"], "low");
    assert!(result.get("category").is_none());

    let j = parse_junit(&args("junit").stdout);
    check_counts(&j);
    let suite = j
        .suites
        .iter()
        .find(|s| s.attrs["name"] == "team-pod-not-succeeded")
        .unwrap();
    assert_eq!(suite.cases[0].children[0].0, "failure");
}

// ---------------------------------------------------------------------------
// Fleets: the same failing pod in two clusters, and a clean cluster

/// `check --all-contexts` over clusters `a` and `b` (the reference scenario
/// without AWS, the same pod in both) and `ok` (healthy), in `format`.
async fn check_fleet(format: &str) -> Run {
    let (a, b, ok) = (
        reference_without_aws().await,
        reference_without_aws().await,
        healthy().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let kc = crate::fleet::fleet_kubeconfig(
        dir.path(),
        &[("a", a.url()), ("b", b.url()), ("ok", ok.url())],
    );
    let config = image_pull_config();
    let args: Vec<String> = [
        "check",
        "-A",
        "--no-aws",
        "--config",
        &config,
        "--kubeconfig",
        &kc.display().to_string(),
        "--all-contexts",
        "--fail-on",
        "critical",
        "-o",
        format,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let run = tokio::task::spawn_blocking(move || rulerun(&args))
        .await
        .unwrap();
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn sarif_of_a_fleet_tells_the_clusters_apart() {
    let doc = json_of(&check_fleet("sarif").await);
    sarif_schema().validate(&doc);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{results:#?}");
    let mut prints = Vec::new();
    for (r, cluster) in results.iter().zip(["a", "b"]) {
        assert_eq!(r["ruleId"], "pod-image-pull-failing");
        assert_eq!(r["properties"]["cluster"], cluster);
        let logical = &r["locations"][0]["logicalLocations"][0];
        assert_eq!(
            logical["fullyQualifiedName"],
            format!("{cluster}/default/k8s/v1/Pod/{POD}")
        );
        assert_eq!(logical["properties"]["cluster"], cluster);
        let print = r["partialFingerprints"]["rulerunSubject/v1"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            print,
            format!("pod-image-pull-failing:{cluster}/default/k8s/v1/Pod/{POD}")
        );
        prints.push(print);
    }
    assert_ne!(prints[0], prints[1]);
    let notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 14, "7 AWS-backed rules in a and b: {notes:#?}");
    for n in notes {
        let cluster = n["properties"]["cluster"].as_str().unwrap();
        assert!(cluster == "a" || cluster == "b", "{n:#}");
        assert!(
            n["message"]["text"]
                .as_str()
                .unwrap()
                .starts_with(&format!("cluster `{cluster}`: inconclusive: ")),
            "{n:#}"
        );
        assert_eq!(
            n["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            format!("{cluster}/default/k8s/v1/Pod/{POD}")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn junit_of_a_fleet_has_a_suite_per_cluster_and_rule() {
    let run = check_fleet("junit").await;
    let j = parse_junit(&run.stdout);
    check_counts(&j);
    assert_eq!(j.suites.len(), 3 * 8);
    assert_eq!(j.attrs["failures"], "2");
    assert_eq!(j.attrs["skipped"], "14");
    for (i, cluster) in ["a", "b", "ok"].iter().enumerate() {
        for s in &j.suites[i * 8..(i + 1) * 8] {
            assert_eq!(s.properties["cluster"], *cluster);
            let name = &s.attrs["name"];
            assert!(
                name.starts_with(&format!("{cluster}/"))
                    && name.ends_with(&format!("/{}", s.properties["rule"])),
                "{name}"
            );
            for c in &s.cases {
                assert!(c.name.starts_with(&format!("{cluster}/")), "{c:?}");
                assert_eq!(&c.classname, name);
            }
            if *cluster == "ok" {
                assert_eq!(s.cases.len(), 3, "{s:?}");
                assert!(s.cases.iter().all(|c| c.children.is_empty()), "{s:?}");
            } else {
                let case = &s.cases[0];
                assert_eq!(case.name, format!("{cluster}/default/k8s/v1/Pod/{POD}"));
                let el = &case.children[0].0;
                if s.properties["rule"] == "pod-image-pull-failing" {
                    assert_eq!(el, "failure");
                } else {
                    assert_eq!(el, "skipped", "{case:?}");
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn openreports_of_a_fleet_are_annotated_with_their_cluster() {
    let crds = openreports_schemas();
    let list = json_of(&check_fleet("openreports").await);
    validate_openreports(&list, &crds);
    let items = list["items"].as_array().unwrap();
    let clusters: Vec<&str> = items
        .iter()
        .map(|i| {
            i["metadata"]["annotations"]["rulerun.dev/cluster"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(clusters, ["a", "b"], "the healthy cluster has no report");
    for r in items {
        assert_eq!(r["summary"]["fail"], 1);
        assert_eq!(r["summary"]["skip"], 7);
        assert_eq!(r["results"][0]["resources"][0]["uid"], POD_UID);
    }
}
