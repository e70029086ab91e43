//! A template, compiled in the plain and the shell environment and rendered with a small context.
//! The body is `rulerun_fuzz_targets::template`; it must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rulerun_fuzz_targets::template(data);
});
