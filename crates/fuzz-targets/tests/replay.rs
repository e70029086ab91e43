//! Replays every fuzz corpus (`fuzz/corpus/TARGET/`) and every regression
//! libfuzzer left in `fuzz/artifacts/TARGET/` through its target's body: a
//! panic (a crash or a broken property) fails the test and names the file. A
//! corpus folder that is missing or empty fails too, as does a folder no target
//! reads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use rulerun_fuzz_targets::{TARGETS, body, corpus_files, repo, run_caught};

fn replay(dir: &Path, body: rulerun_fuzz_targets::Body) -> (usize, Vec<String>) {
    let files = corpus_files(dir).unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    // A stack overflow or an abort ends the process without a report: with
    // RULERUN_FUZZ_VERBOSE set (and --nocapture), each file is named first.
    let verbose = std::env::var_os("RULERUN_FUZZ_VERBOSE").is_some();
    for file in &files {
        if verbose {
            eprint!("{} ", file.display());
        }
        let data = std::fs::read(file).unwrap();
        let start = std::time::Instant::now();
        if let Err(message) = run_caught(body, &data) {
            failures.push(format!("{}: {message}", file.display()));
        }
        if verbose {
            eprintln!("{:?}", start.elapsed());
        }
    }
    (files.len(), failures)
}

#[test]
fn every_corpus_replays_without_a_crash() {
    let mut failures = Vec::new();
    for (name, body) in TARGETS {
        let (n, mut f) = replay(&repo().join("fuzz/corpus").join(name), *body);
        println!("{name}: {n} corpus files");
        failures.append(&mut f);
        let artifacts = repo().join("fuzz/artifacts").join(name);
        if artifacts.is_dir() && corpus_files(&artifacts).is_ok() {
            let (n, mut f) = replay(&artifacts, *body);
            println!("{name}: {n} artifacts");
            failures.append(&mut f);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_corpus_folder_has_a_target_and_a_fuzz_target_file() {
    for entry in std::fs::read_dir(repo().join("fuzz/corpus")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            body(&name).is_some(),
            "fuzz/corpus/{name} has no target in TARGETS"
        );
    }
    for (name, _) in TARGETS {
        let file = repo().join("fuzz/fuzz_targets").join(format!("{name}.rs"));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            text.contains(&format!("rulerun_fuzz_targets::{name}(")),
            "{} does not call its body",
            file.display()
        );
        let manifest = std::fs::read_to_string(repo().join("fuzz/Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] `{name}`"
        );
    }
}

#[test]
fn a_missing_or_empty_corpus_folder_is_an_error() {
    let tmp = std::env::temp_dir().join(format!("rulerun-fuzz-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let missing = corpus_files(&tmp).unwrap_err();
    assert!(missing.contains("rulerun-fuzz-replay"), "{missing}");
    std::fs::create_dir_all(tmp.join("sub")).unwrap();
    let empty = corpus_files(&tmp).unwrap_err();
    assert!(empty.contains("holds no corpus file"), "{empty}");
    std::fs::write(tmp.join("one"), "x").unwrap();
    assert_eq!(corpus_files(&tmp).unwrap().len(), 1);
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn a_panicking_body_is_reported_not_swallowed() {
    fn boom(data: &[u8]) {
        assert!(data.is_empty(), "boom on {} bytes", data.len());
    }
    assert_eq!(run_caught(boom, b""), Ok(()));
    assert_eq!(run_caught(boom, b"ab"), Err("boom on 2 bytes".into()));
}

#[test]
fn the_bodies_have_the_built_in_rules_to_work_with() {
    // Without them the rule-file and fact-file bodies would check nothing.
    assert!(rulerun_fuzz_targets::builtin_rule_count() >= 8);
}
