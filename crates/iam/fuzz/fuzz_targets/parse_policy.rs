//! Fuzzes the policy parser (and, on documents that parse, evaluation and
//! the fix) with arbitrary bytes. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let first = rulerun_iam::fuzz_parse(data);
    // results are deterministic
    assert_eq!(first, rulerun_iam::fuzz_parse(data));
});
