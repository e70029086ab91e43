//! `rulerun iam eval` and `rulerun iam fix`: IAM decisions and least-privilege
//! policy rewrites, offline.

use std::io::Write;
use std::path::PathBuf;

use rulerun_core::read::{self, Limit};

use super::CmdResult;
use crate::args::IamCommand;
use crate::config::Ctx;
use crate::{escape, exit};

fn read_input(path: Option<&PathBuf>) -> std::io::Result<(String, String)> {
    match path {
        Some(p) if p.as_os_str() != "-" => Ok((
            escape::path(p),
            read::read_text(p, Limit::IAM_INPUT).map_err(|e| {
                std::io::Error::other(format!("cannot read `{}`: {e}", escape::path(p)))
            })?,
        )),
        _ => Ok((
            "<stdin>".into(),
            read::read_text_from(std::io::stdin().lock(), Limit::IAM_INPUT)
                .map_err(|e| std::io::Error::other(format!("cannot read standard input: {e}")))?,
        )),
    }
}

pub fn cmd_iam(
    command: IamCommand,
    ctx: &Ctx,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let (path, required) = match &command {
        IamCommand::Eval { input } => (input.clone(), None),
        IamCommand::Fix { input, required } => (input.clone(), Some(required.clone())),
    };
    let path = path.map(|p| {
        if p.as_os_str() == "-" {
            p
        } else {
            ctx.resolve(&p)
        }
    });
    let (name, text) = read_input(path.as_ref())?;
    // serde_json would take the last of duplicate members of a policy or request.
    if let Err(e) = rulerun_core::json::check(&text) {
        // A duplicate key is quoted in the message: escaped like every other value.
        let message = escape::line(&e.kind.to_string()).into_owned();
        writeln!(err, "{name}:{}:{}: error: {message}", e.line, e.column)?;
        if let Some(h) = e.kind.help() {
            writeln!(err, "  help: {h}")?;
        }
        return Ok(exit::USAGE);
    }
    let input: rulerun_iam::EvalInput = match serde_json::from_str(&text) {
        Ok(i) => i,
        Err(e) => {
            writeln!(
                err,
                "{name}:{}:{}: error: invalid input: {}",
                e.line(),
                e.column(),
                escape::line(&e.to_string())
            )?;
            writeln!(
                err,
                "  help: `rulerun iam eval --help` shows the input format"
            )?;
            return Ok(exit::USAGE);
        }
    };
    let (value, code) = match required {
        None => match rulerun_iam::evaluate(&input) {
            Ok(ev) => (serde_json::to_value(ev), exit::OK),
            Err(e) => {
                writeln!(err, "{name}: error: {}", escape::line(&e.to_string()))?;
                return Ok(exit::USAGE);
            }
        },
        Some(required) => match rulerun_iam::fix_resource_policy(&input, &required) {
            Ok(fix) => {
                let code = if fix.proven { exit::OK } else { exit::FINDINGS };
                (serde_json::to_value(fix), code)
            }
            Err(e) => {
                writeln!(err, "{name}: error: {}", escape::line(&e.to_string()))?;
                return Ok(exit::USAGE);
            }
        },
    };
    let value = value.map_err(std::io::Error::other)?;
    serde_json::to_writer_pretty(&mut *out, &value).map_err(std::io::Error::other)?;
    writeln!(out)?;
    Ok(code)
}
