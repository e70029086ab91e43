//! Replays the committed fuzz corpus (`fuzz/corpus/parse_policy/`) through
//! the fuzz entry point: no panics, deterministic results, and a few known
//! outcomes.

use std::path::PathBuf;

use rulerun_iam::fuzz_parse;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse_policy");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_replays_deterministically() {
    let files = corpus();
    assert!(files.len() >= 12, "corpus has {} files", files.len());
    for (name, bytes) in &files {
        let first = fuzz_parse(bytes);
        let second = fuzz_parse(bytes);
        assert_eq!(first, second, "{name} is not deterministic");
        assert!(!first.is_empty(), "{name}");
    }
}

#[test]
fn corpus_known_outcomes() {
    let files = corpus();
    let get = |n: &str| {
        let (_, b) = files
            .iter()
            .find(|(name, _)| name == n)
            .unwrap_or_else(|| panic!("missing {n}"));
        fuzz_parse(b)
    };
    let s = get("scenario_deny_node_role.json");
    assert!(s.contains("as resource: ExplicitlyDenied"), "{s}");
    assert!(s.contains("fix: proven=true"), "{s}");
    // Principal is not allowed in an identity policy
    assert!(s.contains("as identity error:"), "{s}");
    assert!(get("malformed_truncated.json").contains("is not valid json"));
    assert!(get("deep_nesting.json").contains("is not valid json"));
    assert!(get("empty.json").contains("is not valid json"));
    assert_eq!(get("not_utf8.bin"), "not utf-8");
    let w = get("wrong_types.json");
    assert!(w.contains("element `Version`"), "{w}");
    let u = get("unknown_operator_and_element.json");
    assert!(
        u.contains("unknown condition operator `StringEqualsIfExistsIfExists`"),
        "{u}"
    );
    let v = get("statement_object_no_version.json");
    assert!(v.contains("as resource: Unknown"), "{v}");
    let e = get("eval_input_unknown_keys.json");
    assert!(e.contains("input: Unknown"), "{e}");
}

#[test]
fn arbitrary_prefixes_of_corpus_files_never_panic() {
    // cheap stand-in for fuzzing in CI: every prefix of every corpus file
    for (_, bytes) in corpus() {
        for end in (0..=bytes.len()).step_by(7) {
            let _ = fuzz_parse(bytes.get(..end).unwrap_or(&[]));
        }
    }
}

#[test]
fn print_corpus_digests() {
    if std::env::var_os("RULERUN_IAM_PRINT").is_some() {
        for (name, bytes) in corpus() {
            println!("== {name}\n{}", fuzz_parse(&bytes));
        }
    }
}
