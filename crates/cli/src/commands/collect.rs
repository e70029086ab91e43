//! `rulerun collect`: the facts a check would read, written as a snapshot.

use std::io::Write;

use serde_json::json;

use super::{CmdResult, load};
use crate::args::CollectArgs;
use crate::config::Ctx;
use crate::loading::ConfigChoice;
use crate::{Terminal, escape, exit};

pub fn cmd_collect(
    a: &CollectArgs,
    ctx: &Ctx,
    choice: &ConfigChoice,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    if a.cluster.contexts.len() > 1 {
        writeln!(
            err,
            "error: `collect` reads one cluster, and `--context` was given {} times",
            a.cluster.contexts.len()
        )?;
        writeln!(
            err,
            "  help: collect each context into its own snapshot: `rulerun collect --context NAME -o FILE`"
        )?;
        return Ok(exit::USAGE);
    }
    let Some(loaded) = load(&a.rules, ctx, choice, term, err)? else {
        return Ok(exit::USAGE);
    };
    let rules = loaded.rules;
    let mut cluster = a.cluster.clone();
    cluster.kubeconfig = cluster.kubeconfig.map(|k| ctx.resolve(&k));
    cluster.aws_accounts = loaded
        .project
        .config
        .as_ref()
        .map(|c| c.aws_accounts.clone())
        .unwrap_or_default();
    let run = match crate::live::run(&rules, &cluster, term, false) {
        Ok(run) => run,
        Err(e) => {
            crate::live::print_error(&e, err)?;
            return Ok(exit::USAGE);
        }
    };
    let snapshot = run.facts.to_snapshot(json!({
        "collectedBy": format!("rulerun {}", env!("CARGO_PKG_VERSION")),
        "namespace": a.cluster.namespace,
        "context": a.cluster.context(),
        "rules": rules.rules.len(),
        "rounds": run.rounds,
        "kubernetesRequests": run.k8s_requests,
    }));
    let text = serde_json::to_string_pretty(&snapshot).map_err(std::io::Error::other)?;
    if a.output.as_os_str() == "-" {
        writeln!(out, "{text}")?;
    } else {
        std::fs::write(ctx.resolve(&a.output), format!("{text}\n")).map_err(|e| {
            std::io::Error::other(format!("cannot write `{}`: {e}", escape::path(&a.output)))
        })?;
        writeln!(
            err,
            "wrote {} facts to {}",
            run.facts.len(),
            escape::path(&a.output)
        )?;
    }
    for i in &run.report.inconclusive {
        writeln!(
            err,
            "warning: rule `{}` could not decide: {}",
            escape::line(&i.rule),
            escape::line(&i.reason)
        )?;
    }
    Ok(if run.report.inconclusive.is_empty() {
        exit::OK
    } else {
        exit::INCONCLUSIVE
    })
}
