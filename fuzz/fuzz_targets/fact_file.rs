//! A fact file, parsed whole and projected, checked with every built-in rule (both reports equal).
//! The body is `rulerun_fuzz_targets::fact_file`; it must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rulerun_fuzz_targets::fact_file(data);
});
