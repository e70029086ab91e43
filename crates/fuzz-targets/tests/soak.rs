//! A short soak on the stable toolchain: corpus files mutated (bit flips,
//! interesting bytes, deletions, splices with other files of the same corpus,
//! repeated chunks, dictionary tokens) and run through their target's body
//! until a deadline. Ignored by default; `scripts/test` runs it:
//!
//! ```text
//! cargo test -p rulerun-fuzz-targets --test soak -- --ignored --nocapture
//! ```
//!
//! `RULERUN_SOAK_SECONDS` sets the deadline (default 30), `RULERUN_SOAK_SEED`
//! the seed (default: from the clock; always printed). The same seed produces
//! the same inputs in the same order, so a failure reproduces with its seed; the
//! failing input is also written to a file whose path is printed. The deadline
//! only ends the loop: nothing asserts on time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use rulerun_fuzz_targets::{TARGETS, corpus_files, repo, run_caught};

/// SplitMix64: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Inputs never grow past this (the hostile seeds are already there to test
/// size; the soak looks for panics, not for the limits).
const MAX_LEN: usize = 64 * 1024;

const INTERESTING: &[u8] = b"\0\xff\n\r\t \"'\\{}[]:,-*&!|>$.?@#%";

const TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "..",
    "[?",
    "[*]",
    "..*",
    "$..",
    "@.",
    "&a ",
    "*a",
    "<<: ",
    "---\n",
    "- ",
    ": ",
    "1e999",
    "-0",
    "18446744073709551616",
    "\u{202e}",
    "\u{200b}",
    "\u{feff}",
    "null",
    "true",
    "[]",
    "{}",
    "\"\"",
    "regex:",
    "match(",
    "search(",
    "length(",
    "~",
    "|",
    "loop",
    "range(",
    "* 2",
    "+ ",
    "recursive",
    "\"Statement\"",
    "\"Condition\"",
    "\"Principal\"",
    "\"*\"",
    "${aws:username}",
    "path:",
    "sha256:",
    "apiVersion",
    "kind",
    "items",
    "facts",
    "k8s/v1/Pod",
    "--",
    "\\u0000",
    "\\ud800",
];

fn mutate(rng: &mut Rng, input: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = v.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                v.drain(start..end);
            }
            3 => {
                let other = &others[rng.below(others.len())];
                if !other.is_empty() {
                    let start = rng.below(other.len());
                    let end = (start + 1 + rng.below(256)).min(other.len());
                    let at = rng.below(len + 1);
                    v.splice(at..at, other[start..end].iter().copied());
                }
            }
            4 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(16)).min(len);
                let chunk = v[start..end].to_vec();
                for _ in 0..rng.below(64) {
                    v.splice(end..end, chunk.iter().copied());
                }
            }
            5 => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                let at = rng.below(len + 1);
                v.splice(at..at, token.iter().copied());
            }
            6 => v.truncate(rng.below(len + 1)),
            _ => {
                let at = rng.below(len + 1);
                let b = (rng.next() & 0xff) as u8;
                v.insert(at, b);
            }
        }
    }
    v.truncate(MAX_LEN);
    v
}

#[test]
#[ignore = "a timed soak: scripts/test runs it with --ignored"]
fn soak() {
    let seconds: u64 = std::env::var("RULERUN_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let seed: u64 = std::env::var("RULERUN_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("soak: seed {seed} for {seconds} s (RULERUN_SOAK_SEED={seed} replays it)");
    let corpora: Vec<Vec<Vec<u8>>> = TARGETS
        .iter()
        .map(|(name, _)| {
            corpus_files(&repo().join("fuzz/corpus").join(name))
                .unwrap_or_else(|e| panic!("{e}"))
                .iter()
                .map(|p| std::fs::read(p).unwrap())
                .collect()
        })
        .collect();
    let mut rng = Rng(seed);
    let mut runs = vec![0u64; TARGETS.len()];
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut iteration: u64 = 0;
    // At least one input per target, then until the deadline.
    while iteration < TARGETS.len() as u64 || Instant::now() < deadline {
        let t = (iteration % TARGETS.len() as u64) as usize;
        let (name, body) = TARGETS[t];
        let corpus = &corpora[t];
        let pick = rng.below(corpus.len());
        let input = mutate(&mut rng, &corpus[pick], corpus);
        if let Err(message) = run_caught(body, &input) {
            let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("soak-{name}-{seed}-{iteration}"));
            std::fs::write(&out, &input).unwrap();
            panic!(
                "target `{name}` failed on iteration {iteration} of seed {seed}: {message}\n\
                 input written to {} (replay: RULERUN_SOAK_SEED={seed}, or add the file to fuzz/corpus/{name}/)",
                out.display()
            );
        }
        runs[t] += 1;
        iteration += 1;
    }
    let counts: Vec<String> = TARGETS
        .iter()
        .zip(&runs)
        .map(|((name, _), n)| format!("{name} {n}"))
        .collect();
    println!(
        "soak: {iteration} inputs without a failure ({})",
        counts.join(", ")
    );
}
