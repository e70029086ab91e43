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
    cluster.aws_regions = loaded
        .project
        .config
        .as_ref()
        .and_then(|c| c.aws_regions.clone());
    if a.all_contexts || a.cluster.contexts.len() > 1 {
        return collect_fleet(a, &rules, &cluster, ctx, term, err);
    }
    let run = match crate::live::run(&rules, &cluster, term, false) {
        Ok(run) => run,
        Err(e) => {
            crate::live::print_error(&e, err)?;
            return Ok(exit::USAGE);
        }
    };
    // Nothing read at all (the server unreachable, every list refused): no
    // snapshot, which a check would read as a cluster without problems.
    if run.facts.is_empty()
        && let Some(first) = run.report.inconclusive.first()
    {
        writeln!(
            err,
            "error: nothing could be collected: {}",
            escape::line(&first.reason)
        )?;
        return Ok(exit::INCONCLUSIVE);
    }
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

/// `collect --all-contexts -o DIR` (or several `--context`): each cluster
/// collected as one context is, `--max-concurrent-clusters` at a time and
/// sharing the AWS facts of an account, into `DIR/CONTEXT.json` whose
/// `metadata.cluster` names the context, so that `check --facts DIR` checks
/// each cluster on its own. A cluster that cannot be read is reported and gets
/// no file; the exit code is 3 when any cluster was not read whole.
fn collect_fleet(
    a: &CollectArgs,
    rules: &rulerun_core::RuleSet,
    cluster: &crate::args::ClusterArgs,
    ctx: &Ctx,
    term: Terminal,
    err: &mut dyn Write,
) -> CmdResult {
    if a.output.as_os_str() == "-" {
        writeln!(
            err,
            "error: several clusters are collected into a folder, one snapshot each, and `-o -` is standard output"
        )?;
        writeln!(
            err,
            "  help: name a folder: `rulerun collect --all-contexts -o snapshots/`"
        )?;
        return Ok(exit::USAGE);
    }
    if let Err(e) = crate::live::check_ca_bundle(cluster) {
        crate::live::print_error(&e, err)?;
        return Ok(exit::USAGE);
    }
    let contexts = match crate::live::fleet_contexts(cluster, a.all_contexts) {
        Ok(contexts) => contexts,
        Err(e) => {
            crate::live::print_error(&e, err)?;
            return Ok(exit::USAGE);
        }
    };
    let dir = ctx.resolve(&a.output);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        writeln!(
            err,
            "error: cannot create the folder `{}`: {e}",
            escape::path(&a.output)
        )?;
        return Ok(exit::USAGE);
    }
    let names = snapshot_file_names(&contexts);
    let members = crate::live::run_fleet(
        rules,
        cluster,
        &contexts,
        usize::from(a.max_concurrent_clusters),
        term,
    );
    let mut incomplete = false;
    for (m, file) in members.into_iter().zip(&names) {
        let (session, run) = match m.outcome {
            Ok(ok) => ok,
            Err(e) => {
                incomplete = true;
                writeln!(
                    err,
                    "error: cluster `{}` could not be collected: {}",
                    escape::line(&m.context),
                    escape::line(&e.message)
                )?;
                if !e.help.is_empty() {
                    writeln!(err, "  help: {}", escape::line(&e.help))?;
                }
                continue;
            }
        };
        // Nothing read at all (the server unreachable, every list refused): no
        // file, which `check --facts` would read as a cluster without problems.
        if run.facts.is_empty()
            && let Some(first) = run.report.inconclusive.first()
        {
            incomplete = true;
            writeln!(
                err,
                "error: cluster `{}` could not be collected: {}",
                escape::line(&m.context),
                escape::line(&first.reason)
            )?;
            continue;
        }
        let snapshot = run.facts.to_snapshot(json!({
            "collectedBy": format!("rulerun {}", env!("CARGO_PKG_VERSION")),
            "cluster": m.context,
            "server": session.server(),
            "namespace": a.cluster.namespace,
            "context": m.context,
            "rules": rules.rules.len(),
            "rounds": run.rounds,
            "kubernetesRequests": run.k8s_requests,
        }));
        let text = serde_json::to_string_pretty(&snapshot).map_err(std::io::Error::other)?;
        let shown = a.output.join(file);
        std::fs::write(dir.join(file), format!("{text}\n")).map_err(|e| {
            std::io::Error::other(format!("cannot write `{}`: {e}", escape::path(&shown)))
        })?;
        writeln!(
            err,
            "cluster `{}`: wrote {} facts to {}",
            escape::line(&m.context),
            run.facts.len(),
            escape::path(&shown)
        )?;
        for i in &run.report.inconclusive {
            incomplete = true;
            writeln!(
                err,
                "  warning: rule `{}` could not decide: {}",
                escape::line(&i.rule),
                escape::line(&i.reason)
            )?;
        }
    }
    Ok(if incomplete {
        exit::INCONCLUSIVE
    } else {
        exit::OK
    })
}

/// One file name per context: the name with every character outside
/// `[A-Za-z0-9._-]` as `_` (EKS context names are ARNs, with `:` and `/`), a
/// leading `.` as `_` (hidden files are not read back), and `-2`, `-3`... on
/// names that would clash; then `.json`.
fn snapshot_file_names(contexts: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for c in contexts {
        let mut base: String = c
            .chars()
            .map(|ch| {
                if ch.is_ascii_alphanumeric() || "._-".contains(ch) {
                    ch
                } else {
                    '_'
                }
            })
            .take(200)
            .collect();
        if base.is_empty() || base.starts_with('.') {
            base.insert(0, '_');
        }
        let mut name = format!("{base}.json");
        let mut n = 2;
        while names.iter().any(|x| x.eq_ignore_ascii_case(&name)) {
            name = format!("{base}-{n}.json");
            n += 1;
        }
        names.push(name);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::snapshot_file_names;

    #[test]
    fn file_names_are_safe_distinct_and_not_hidden() {
        let contexts = [
            "arn:aws:eks:us-west-2:123456789012:cluster/prod".to_string(),
            "arn:aws:eks:us-west-2:123456789012:cluster_prod".to_string(),
            "../etc".to_string(),
            String::new(),
            "Prod".to_string(),
            "prod".to_string(),
        ];
        assert_eq!(
            snapshot_file_names(&contexts),
            [
                "arn_aws_eks_us-west-2_123456789012_cluster_prod.json",
                "arn_aws_eks_us-west-2_123456789012_cluster_prod-2.json",
                "_.._etc.json",
                "_.json",
                "Prod.json",
                "prod-2.json",
            ]
        );
    }
}
