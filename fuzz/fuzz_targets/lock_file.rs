//! `rulerun.lock` text, parsed, written back and parsed again (the same lock).
//! The body is `rulerun_fuzz_targets::lock_file`; it must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rulerun_fuzz_targets::lock_file(data);
});
