//! `rulerun check`: the rules over a snapshot (`--facts`) or a live cluster.

use std::io::Write;
use std::path::{Path, PathBuf};

use rulerun_core::{FactStore, LoadError, check};

use super::{CmdResult, load};
use crate::args::{CheckArgs, FailOn, ReportTarget};
use crate::config::Ctx;
use crate::loading::ConfigChoice;
use crate::{Terminal, escape, exit, render};

pub fn cmd_check(
    a: &CheckArgs,
    ctx: &Ctx,
    choice: &ConfigChoice,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    if a.report_to_cluster.is_some()
        && !a.facts.is_empty()
        && a.cluster.contexts.is_empty()
        && a.cluster.kubeconfig.is_none()
    {
        writeln!(
            err,
            "error: `--report-to-cluster` writes to a cluster, and `--facts` names none"
        )?;
        writeln!(
            err,
            "  help: name the cluster to write the reports to with `--context` (or `--kubeconfig`), or leave out `--facts` to check that cluster live"
        )?;
        return Ok(exit::USAGE);
    }
    let Some(loaded) = load(&a.rules, ctx, choice, term, err)? else {
        return Ok(exit::USAGE);
    };
    if render::warnings(&loaded.rules.warnings, a.deny_warnings, term, err)? {
        return Ok(exit::USAGE);
    }
    let config = loaded.project.config.as_ref();
    let output = a
        .output
        .or(config.and_then(|c| c.output))
        .unwrap_or(crate::args::CheckFormat::Text);
    let fail_on = a
        .fail_on
        .or(config.and_then(|c| c.fail_on))
        .unwrap_or(FailOn::Info);
    let rules = loaded.rules;
    let mut cluster = a.cluster.clone();
    cluster.kubeconfig = cluster.kubeconfig.map(|k| ctx.resolve(&k));
    cluster.aws_accounts = config.map(|c| c.aws_accounts.clone()).unwrap_or_default();
    cluster.aws_regions = config.and_then(|c| c.aws_regions.clone());
    let fleet = Fleet {
        output,
        fail_on,
        rules: &rules,
        origins: &loaded.origins,
        cluster: &cluster,
    };
    if a.all_contexts || a.cluster.contexts.len() > 1 {
        return check_fleet(a, &fleet, ctx, term, out, err);
    }
    let mut session = None;
    let report = if a.facts.is_empty() {
        let quiet = output != crate::args::CheckFormat::Text && a.output_file.is_none();
        match crate::live::run_in_session(&rules, &cluster, term, quiet) {
            Ok((s, run)) => {
                session = Some(s);
                run.report
            }
            Err(e) => {
                crate::live::print_error(&e, err)?;
                return Ok(exit::USAGE);
            }
        }
    } else {
        // Only the fields the loaded rules can read are kept (docs/ARCHITECTURE.md);
        // reports that name subjects by uid keep whole documents.
        let projection = crate::report::projection(output, &rules);
        // One load for every `--facts`: a file reached twice is read once.
        let resolved: Vec<PathBuf> = a.facts.iter().map(|p| ctx.resolve(p)).collect();
        let paths: Vec<&Path> = resolved.iter().map(PathBuf::as_path).collect();
        let (groups, mut errors) = match FactStore::load_clusters_projected(&paths, &projection) {
            Ok(groups) => (groups, Vec::new()),
            Err(errors) => (Vec::new(), errors),
        };
        if !errors.is_empty() {
            for e in &mut errors {
                e.file = ctx.shown(&e.file);
            }
            render::load_errors(&errors, term, err)?;
            return Ok(exit::USAGE);
        }
        // Empty files must not read as a healthy cluster. A snapshot that lists a
        // kind with no documents does say something (nothing of that kind exists).
        if groups.iter().all(|g| g.facts.iter().next().is_none()) {
            let shown: Vec<String> = a
                .facts
                .iter()
                .map(|p| format!("`{}`", escape::path(p)))
                .collect();
            let e = LoadError::new(
                a.facts.first().map(PathBuf::as_path).unwrap_or(Path::new("--facts")),
                rulerun_core::yaml::Pos::default(),
                rulerun_core::LoadErrorKind::Other {
                    message: format!(
                        "no facts: {} {} no documents",
                        shown.join(", "),
                        if shown.len() == 1 { "holds" } else { "hold" }
                    ),
                    help: Some("point --facts at a snapshot from `rulerun collect`, or at `kubectl get -o json` output".into()),
                },
            );
            render::load_errors(&[e], term, err)?;
            return Ok(exit::USAGE);
        }
        if groups.len() > 1 {
            return check_snapshots(a, &fleet, groups, ctx, term, out, err);
        }
        let facts = groups
            .into_iter()
            .next()
            .map(|g| g.facts)
            .unwrap_or_default();
        check(&rules, &facts)
    };
    let request = crate::report::Request {
        format: output,
        file: a.output_file.as_deref(),
        report: &report,
        rules: &rules,
        origins: &loaded.origins,
        ctx,
        clusters: &[],
    };
    if !crate::report::write(&request, term, out, err)? {
        return Ok(exit::USAGE);
    }
    if let Some(target) = a.report_to_cluster {
        // With `--facts`, the cluster is connected to only now, to write.
        let session = match session {
            Some(s) => s,
            None => match crate::live::Session::connect(&cluster) {
                Ok(s) => s,
                Err(e) => {
                    crate::live::print_error(&e, err)?;
                    return Ok(exit::USAGE);
                }
            },
        };
        if !report_to_cluster(
            &session,
            &request,
            target,
            cluster.namespace.as_deref(),
            err,
        )? {
            return Ok(exit::USAGE);
        }
    }
    Ok(exit_code(&report, fail_on))
}

/// The exit code of a report: findings at or above `--fail-on`, then
/// evaluation errors, then inconclusive rules.
fn exit_code(report: &rulerun_core::Report, fail_on: FailOn) -> i32 {
    if let Some(threshold) = fail_on.threshold()
        && report.findings.iter().any(|f| f.severity >= threshold)
    {
        return exit::FINDINGS;
    }
    if !report.errors.is_empty() {
        return exit::USAGE;
    }
    if !report.inconclusive.is_empty() {
        return exit::INCONCLUSIVE;
    }
    exit::OK
}

/// What a fleet run shares between its clusters.
struct Fleet<'a> {
    output: crate::args::CheckFormat,
    fail_on: FailOn,
    rules: &'a rulerun_core::RuleSet,
    origins: &'a std::collections::BTreeMap<String, crate::loading::RuleOrigin>,
    /// The flags, `aws.accounts` and the resolved `--kubeconfig`.
    cluster: &'a crate::args::ClusterArgs,
}

/// `check --context A --context B` or `--all-contexts` (docs/fleets.md): each
/// cluster checked as one context is, `--max-concurrent-clusters` at a time;
/// every entry carries its cluster, a cluster that cannot be used is reported
/// with its rules inconclusive, and the exit code covers the whole fleet.
fn check_fleet(
    a: &CheckArgs,
    fleet: &Fleet<'_>,
    ctx: &Ctx,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    if !a.facts.is_empty() {
        writeln!(
            err,
            "error: `--facts` checks one snapshot, and {} names several clusters",
            if a.all_contexts {
                "`--all-contexts`"
            } else {
                "`--context` given more than once"
            }
        )?;
        writeln!(
            err,
            "  help: leave out `--facts` to check the clusters live, or name one `--context`"
        )?;
        return Ok(exit::USAGE);
    }
    if let Err(e) = crate::live::check_ca_bundle(fleet.cluster) {
        crate::live::print_error(&e, err)?;
        return Ok(exit::USAGE);
    }
    let contexts = match crate::live::fleet_contexts(fleet.cluster, a.all_contexts) {
        Ok(contexts) => contexts,
        Err(e) => {
            crate::live::print_error(&e, err)?;
            return Ok(exit::USAGE);
        }
    };
    let members = crate::live::run_fleet(
        fleet.rules,
        fleet.cluster,
        &contexts,
        usize::from(a.max_concurrent_clusters),
        term,
    );
    let mut sessions = Vec::new();
    let mut clusters = Vec::new();
    for m in members {
        let (report, server, error, session) = match m.outcome {
            Ok((session, run)) => {
                let server = session.server().to_string();
                (run.report, Some(server), None, Some(session))
            }
            Err(e) => {
                let message = if e.help.is_empty() {
                    e.message
                } else {
                    format!("{} ({})", e.message, e.help)
                };
                let report = rulerun_core::Report {
                    inconclusive: fleet
                        .rules
                        .rules
                        .iter()
                        .map(|r| rulerun_core::finding::Inconclusive {
                            rule: r.id.clone(),
                            subject: None,
                            reason: format!("the cluster could not be checked: {message}"),
                            cluster: None,
                        })
                        .collect(),
                    ..rulerun_core::Report::default()
                };
                (report, None, Some(message), None)
            }
        };
        let mut report = report;
        report.tag_cluster(&m.context);
        sessions.push(session);
        clusters.push(crate::report::ClusterReport {
            name: m.context,
            server,
            report,
            error,
        });
    }
    write_fleet(a, fleet, &clusters, &sessions, ctx, term, out, err)
}

/// `check --facts DIR` over the snapshots of several clusters (`rulerun collect
/// --all-contexts -o DIR`): each cluster's facts checked on their own and
/// reported as a fleet run reports them. Documents that name no cluster beside
/// documents that do are an error: whose facts they are is not known.
fn check_snapshots(
    a: &CheckArgs,
    fleet: &Fleet<'_>,
    groups: Vec<rulerun_core::facts::ClusterFacts>,
    ctx: &Ctx,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    if let Some(g) = groups.iter().find(|g| g.cluster.is_none()) {
        let named: Vec<String> = groups
            .iter()
            .filter_map(|g| g.cluster.as_deref())
            .map(|c| format!("`{}`", escape::line(c)))
            .collect();
        writeln!(
            err,
            "error: `{}` holds facts of no named cluster, beside snapshots of the clusters {}",
            escape::path(&ctx.shown(&g.first_file)),
            named.join(", ")
        )?;
        writeln!(
            err,
            "  help: check it on its own (`--facts FILE`), or give it its cluster in `metadata.cluster` as `rulerun collect --all-contexts` writes it"
        )?;
        return Ok(exit::USAGE);
    }
    if a.report_to_cluster.is_some() {
        writeln!(
            err,
            "error: `--report-to-cluster` writes to one cluster, and the snapshots are of {} clusters",
            groups.len()
        )?;
        writeln!(
            err,
            "  help: check the clusters live with `--all-contexts --report-to-cluster`, or one cluster's snapshot with `--context`"
        )?;
        return Ok(exit::USAGE);
    }
    let clusters: Vec<crate::report::ClusterReport> = groups
        .into_iter()
        .map(|g| {
            let name = g.cluster.unwrap_or_default();
            let mut report = check(fleet.rules, &g.facts);
            report.tag_cluster(&name);
            crate::report::ClusterReport {
                name,
                server: g.server,
                report,
                error: None,
            }
        })
        .collect();
    let sessions: Vec<Option<crate::live::Session>> = clusters.iter().map(|_| None).collect();
    write_fleet(a, fleet, &clusters, &sessions, ctx, term, out, err)
}

/// Prints (or writes) a fleet's report, writes each cluster's reports into it
/// when asked, and returns the fleet's exit code.
#[allow(clippy::too_many_arguments)]
fn write_fleet(
    a: &CheckArgs,
    fleet: &Fleet<'_>,
    clusters: &[crate::report::ClusterReport],
    sessions: &[Option<crate::live::Session>],
    ctx: &Ctx,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let report = crate::report::fleet_report(clusters);
    let request = crate::report::Request {
        format: fleet.output,
        file: a.output_file.as_deref(),
        report: &report,
        rules: fleet.rules,
        origins: fleet.origins,
        ctx,
        clusters,
    };
    if !crate::report::write(&request, term, out, err)? {
        return Ok(exit::USAGE);
    }
    if let Some(target) = a.report_to_cluster {
        let mut failed = false;
        for (c, session) in clusters.iter().zip(sessions) {
            writeln!(err, "cluster `{}`:", escape::line(&c.name))?;
            let Some(session) = session else {
                // Already reported, with its rules inconclusive (exit 3).
                writeln!(
                    err,
                    "  no reports written: the cluster could not be checked"
                )?;
                continue;
            };
            if !report_to_cluster(
                session,
                &request.for_cluster(c),
                target,
                fleet.cluster.namespace.as_deref(),
                err,
            )? {
                failed = true;
            }
        }
        if failed {
            return Ok(exit::USAGE);
        }
    }
    Ok(exit_code(&report, fleet.fail_on))
}

/// Writes the reports into the cluster and says what it did on `err`; false
/// when it failed (said why).
fn report_to_cluster(
    session: &crate::live::Session,
    request: &crate::report::Request<'_>,
    target: ReportTarget,
    namespace: Option<&str>,
    err: &mut dyn Write,
) -> std::io::Result<bool> {
    use rulerun_collect_k8s::publish;
    let (api, kinds) = match target {
        ReportTarget::Openreports => (crate::report::ReportApi::OpenReports, publish::OPENREPORTS),
        ReportTarget::Policyreport => (
            crate::report::ReportApi::PolicyReport,
            publish::POLICYREPORT,
        ),
    };
    let objects = crate::report::cluster_objects(request, api);
    match session.publish(kinds, &objects, namespace) {
        Ok(actions) => {
            writeln!(
                err,
                "reports in the cluster ({}, field manager `{}`):",
                kinds.namespaced.group,
                publish::FIELD_MANAGER
            )?;
            for a in &actions {
                let at = match &a.namespace {
                    Some(ns) => format!("{}/{}", escape::line(ns), escape::line(&a.name)),
                    None => escape::line(&a.name).into_owned(),
                };
                writeln!(err, "  {:<9} {} {at}", a.verb.as_str(), a.kind)?;
            }
            if let Some(ns) = namespace {
                writeln!(
                    err,
                    "  (only namespace `{}` was checked: other namespaces' reports and the cluster report are left as they are)",
                    escape::line(ns)
                )?;
            }
            Ok(true)
        }
        Err(e) => {
            writeln!(err, "error: {}", escape::line(&e.to_string()))?;
            if let Some(help) = e.help() {
                writeln!(err, "  help: {}", escape::line(&help))?;
            }
            Ok(false)
        }
    }
}
