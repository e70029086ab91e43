//! An IAM policy or evaluation input: parsed, evaluated, fixed (deterministically).
//! The body is `rulerun_fuzz_targets::iam_policy`; it must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rulerun_fuzz_targets::iam_policy(data);
});
