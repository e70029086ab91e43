//! The bodies of rulerun's fuzz targets: one function per parser users feed,
//! taking arbitrary bytes. They must never panic, hang or run out of memory;
//! where a cheap property holds (a lock survives being written back, projected
//! facts give the report whole facts give, the direct JSONPath evaluation agrees
//! with the reference one), they assert it, so a violation is a crash too.
//!
//! Three drivers run them:
//!
//! * `fuzz/` (cargo-fuzz, nightly, libfuzzer): one `fuzz_targets/NAME.rs` per
//!   entry of [`TARGETS`], seeded from `fuzz/corpus/NAME/`;
//! * `tests/replay.rs` (`cargo test`): every file of every corpus, and of
//!   `fuzz/artifacts/NAME/` when present, through its body;
//! * `tests/soak.rs` (`scripts/test`, stable): corpus files mutated with a
//!   seeded generator until a deadline.
//!
//! Fixed inputs the bodies evaluate against (the built-in packs, a fixture
//! snapshot, documents for JSONPath) are read once from the repository.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rulerun_core::load::SourceFile;
use rulerun_core::template::{Mode, Templates, to_value};
use rulerun_core::{FactStore, PackScopes, Projection, RuleSet, check, load_rule_sources};
use rulerun_jsonpath::JsonPath;
use serde_json::{Value, json};

/// A fuzz target's body.
pub type Body = fn(&[u8]);

/// Every target: its name (the `fuzz/fuzz_targets/NAME.rs` file and the
/// `fuzz/corpus/NAME/` folder) and its body.
pub const TARGETS: &[(&str, Body)] = &[
    ("rule_file", rule_file),
    ("fact_file", fact_file),
    ("template", template),
    ("jsonpath", jsonpath),
    ("lock_file", lock_file),
    ("iam_policy", iam_policy),
];

/// The packs the built-in rule files belong to, in the order the rule-file
/// body tries them.
const PACKS: &[&str] = &["kubernetes", "eks-image-pull"];

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What the bodies evaluate against, read once.
struct Fixed {
    /// The built-in packs' part files (the rule-file body loads its input beside
    /// them, as a file of one of the packs).
    part_files: Vec<SourceFile>,
    scopes: PackScopes,
    /// Every built-in rule (the fact-file body checks its input with them).
    rules: RuleSet,
    projection: Projection,
    /// A fixture snapshot (the rule-file body checks its rules over it).
    facts: FactStore,
    /// Documents the JSONPath body queries.
    documents: Vec<Value>,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let rules_dir = repo().join("rules");
        // Unreadable packs leave the bodies with less to work with, not broken:
        // the replay test checks that the built-in rules load.
        let (files, scopes) = rulerun_core::read_pack_tree(&rules_dir).unwrap_or_default();
        let (rules, _) = load_rule_sources(&files, &scopes, &[]);
        let part_files = files
            .iter()
            .filter(|f| f.path.parent().and_then(Path::file_name) == Some("parts".as_ref()))
            .cloned()
            .collect();
        let projection = rules.projection();
        let facts =
            FactStore::load_path(&rules_dir.join("eks-image-pull/fixtures/ui-private-403.json"))
                .unwrap_or_default();
        let pod = std::fs::read_to_string(
            rules_dir.join("kubernetes/pod-image-pull-failing/fixtures/ui-private-403.json"),
        )
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
        Fixed {
            part_files,
            scopes,
            rules,
            projection,
            facts,
            documents: vec![pod, bookstore(), nested(30)],
        }
    })
}

/// RFC 9535's example document (section 1.5).
fn bookstore() -> Value {
    json!({"store": {
        "book": [
            {"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95},
            {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99},
            {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99},
            {"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99}
        ],
        "bicycle": {"color": "red", "price": 399},
        "": [null, true, false, -0.0, 1e300, "\u{202e}", {"a": {"a": {"a": []}}}]
    }})
}

/// `depth` levels of objects and arrays, two members each: where descendant
/// segments multiply.
fn nested(depth: usize) -> Value {
    let mut v = json!({"leaf": "x", "n": 0});
    for i in 0..depth {
        v = if i % 2 == 0 {
            json!({"a": v, "b": [i, "s"]})
        } else {
            json!([v, {"k": i}])
        };
    }
    v
}

/// A rule file (YAML), loaded as a file of each built-in pack beside the packs'
/// parts; the rules that load are checked over a fixture snapshot.
pub fn rule_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let f = fixed();
    for pack in PACKS {
        let path = PathBuf::from(format!("fuzz/{pack}/rule.yaml"));
        let mut scopes = f.scopes.clone();
        scopes.pack_of.insert(path.clone(), (*pack).to_string());
        let mut files = f.part_files.clone();
        files.push(SourceFile {
            path,
            text: text.to_string(),
        });
        let (rules, errors) = load_rule_sources(&files, &scopes, &[]);
        for e in &errors {
            let _ = e.to_string();
        }
        if !rules.rules.is_empty() {
            let report = check(&rules, &f.facts);
            let _ = serde_json::to_string(&report);
        }
        // Text that is not YAML reads the same in every pack.
        let unparsed = errors.iter().any(|e| {
            matches!(*e.kind, rulerun_core::LoadErrorKind::Syntax { .. })
                && e.file.starts_with("fuzz")
        });
        if unparsed {
            break;
        }
    }
}

/// A fact file (JSON or YAML; snapshot, List or object), parsed whole and
/// projected for the built-in rules, added to a fact store and checked with
/// every built-in rule. When both parses succeed, both reports are equal
/// (projection preserves semantics).
pub fn fact_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let f = fixed();
    let path = Path::new("fuzz.json");
    let load = |docs: Vec<Value>| {
        let mut store = FactStore::new();
        for doc in docs {
            if let Err(e) = store.add_document(doc) {
                let _ = e.len();
            }
        }
        let _ = store.to_snapshot(Value::Null);
        check(&f.rules, &store)
    };
    let whole = rulerun_core::facts::parse_fact_text(path, text).map(load);
    let projected = rulerun_core::parse_fact_text_projected(path, text, &f.projection).map(load);
    match (whole, projected) {
        (Ok(whole), Ok(projected)) => {
            assert!(
                whole == projected,
                "projected facts gave another report\nwhole: {whole:#?}\nprojected: {projected:#?}"
            );
            let _ = serde_json::to_string(&whole);
        }
        (whole, projected) => {
            for e in [whole.err(), projected.err()].into_iter().flatten() {
                let _ = e.to_string();
            }
        }
    }
}

/// A template (message, evidence or fix text), compiled in the plain and the
/// shell environment with a small scope and rendered with a small context.
pub fn template(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let scope: Vec<String> = ["pod", "container", "items", "name", "n", "role"]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    let ctx = to_value(json!({
        "pod": {"metadata": {"name": "web-1", "namespace": "default", "labels": {"app": "web"}},
                "spec": {"nodeName": "ip-10-0-1-5.ec2.internal"}},
        "container": {"name": "app", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.2",
                      "state": {"waiting": {"reason": "ImagePullBackOff"}}},
        "items": [1, "two", {"three": 3}, [4], null, true],
        "name": "--all; rm -rf / $(id) `id` '\"\n\u{202e}",
        "n": 1_000_000,
        "role": "arn:aws:iam::123456789012:role/eks-node",
    }));
    let mut templates = Templates::new();
    for mode in [Mode::Plain, Mode::Shell] {
        match templates.compile(text, mode, &scope) {
            Ok(id) => {
                let _ = templates.render(id, &ctx);
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}

/// A JSONPath as rules write it (`$...`, or `$name...` for a binding),
/// compiled and evaluated on fixed documents; the direct evaluation must give
/// the nodelist the reference evaluation (`jsonpath-rust`) gives.
pub fn jsonpath(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let query = match rulerun_core::load::split_scoped_path(text) {
        Some((Some(_), rest)) => rest,
        _ => text.to_string(),
    };
    let path = match JsonPath::parse(&query) {
        Ok(p) => p,
        Err(e) => {
            let _ = (e.to_string(), e.offset(), e.help());
            return;
        }
    };
    let _ = (
        path.as_str(),
        path.is_singular(),
        path.is_simple(),
        path.filter_atoms(),
    );
    for doc in &fixed().documents {
        let nodes = path.query(doc);
        let first = path.first(doc);
        assert!(
            std::ptr::eq(
                first.map_or(std::ptr::null(), |v| v as *const Value),
                nodes
                    .first()
                    .map_or(std::ptr::null(), |v| *v as *const Value)
            ),
            "`{query}`: first() is not the first node of query()"
        );
        if path.is_singular() {
            assert!(
                nodes.len() <= 1,
                "`{query}` is singular but gave {} nodes",
                nodes.len()
            );
        }
        let reference = path.query_fallback(doc);
        assert!(
            nodes.len() == reference.len()
                && nodes
                    .iter()
                    .zip(&reference)
                    .all(|(a, b)| std::ptr::eq(*a, *b)),
            "`{query}`: direct evaluation gave {} nodes, the reference {}",
            nodes.len(),
            reference.len()
        );
    }
}

/// `rulerun.lock` text, parsed as `rulerun pack verify` reads it; a lock that
/// parses is written back as `rulerun pack vendor` would, and that text must
/// parse to the same lock.
pub fn lock_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match rulerun::parse_lock_text(text) {
        Ok(written) => match rulerun::parse_lock_text(&written) {
            Ok(again) => assert!(
                again == written,
                "a written lock reads back differently:\n{written}\n---\n{again}"
            ),
            Err(errors) => {
                let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
                assert!(
                    errors.is_empty(),
                    "a written lock does not read back:\n{written}\n---\n{}",
                    errors.join("\n")
                );
            }
        },
        Err(errors) => {
            for e in &errors {
                let _ = e.to_string();
            }
        }
    }
}

/// An IAM policy (or a whole evaluation input), through the IAM crate's own
/// entry point: parse, evaluate as a resource and as an identity policy, fix;
/// the results are deterministic.
pub fn iam_policy(data: &[u8]) {
    let first = rulerun_iam::fuzz_parse(data);
    assert!(
        first == rulerun_iam::fuzz_parse(data),
        "IAM evaluation is not deterministic"
    );
}

/// The body of the target called `name`.
pub fn body(name: &str) -> Option<Body> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// The files of `dir`, sorted; an error when the folder is missing, unreadable
/// or holds no file (a replay of nothing must not pass).
pub fn corpus_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("`{}`: {e}", dir.display()))?;
    let mut files = Vec::new();
    for e in entries {
        let p = e.map_err(|e| format!("`{}`: {e}", dir.display()))?.path();
        if p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(format!("`{}` holds no corpus file", dir.display()));
    }
    Ok(files)
}

/// The stack the bodies run on in the replay and the soak: the size of a
/// main thread's (where rulerun and libfuzzer run them), not the 2 MiB of a
/// test thread (too small for 64 levels of YAML in a debug build).
pub const STACK: usize = 8 << 20;

/// Runs `body` on `data` on a thread with a [`STACK`]-sized stack; a panic
/// becomes its message.
pub fn run_caught(body: Body, data: &[u8]) -> Result<(), String> {
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn_scoped(s, || catch_unwind(AssertUnwindSafe(|| body(data))))
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        match handle.join() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(p)) | Err(p) => Err(panic_message(p.as_ref())),
        }
    })
}

fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".into()
    }
}

/// The loaded built-in rules and any load errors, for the replay test's check
/// that the bodies have rules to work with.
pub fn builtin_rule_count() -> usize {
    fixed().rules.rules.len()
}
