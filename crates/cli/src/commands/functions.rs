//! `rulerun functions`: the functions rules can call.

use std::io::Write;

use super::CmdResult;
use crate::exit;

pub fn cmd_functions(out: &mut dyn Write) -> CmdResult {
    for f in rulerun_core::func::all() {
        writeln!(out, "{}\n    {}", f.signature, f.summary)?;
    }
    Ok(exit::OK)
}
