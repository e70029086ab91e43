//! A rule file, loaded beside the built-in packs' parts and checked over a fixture snapshot.
//! The body is `rulerun_fuzz_targets::rule_file`; it must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rulerun_fuzz_targets::rule_file(data);
});
