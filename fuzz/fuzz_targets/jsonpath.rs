//! A JSONPath, compiled and evaluated on fixed documents (direct and reference evaluation agree).
//! The body is `rulerun_fuzz_targets::jsonpath`; it must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rulerun_fuzz_targets::jsonpath(data);
});
