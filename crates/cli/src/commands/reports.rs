//! `rulerun reports`: one fleet summary of the reports rulerun wrote into each
//! cluster (`check --report-to-cluster`, the in-cluster CronJob), read back
//! without checking anything again (docs/fleets.md).

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};

use super::CmdResult;
use crate::args::{ClusterArgs, Format, ReportTarget, ReportsArgs};
use crate::config::Ctx;
use crate::{Terminal, escape, exit};

/// What one cluster's reports say, or why they could not be read.
#[derive(Debug, Default)]
struct ClusterSummary {
    name: String,
    server: Option<String>,
    /// Report objects read.
    reports: usize,
    /// Results by their `result` (`fail`, `pass`, `error`, `skip`, `warn`).
    results: BTreeMap<String, usize>,
    /// Failing results by rule: (severity, count).
    failing: BTreeMap<String, (String, usize)>,
    /// The newest result's time (seconds since the epoch).
    newest: Option<i64>,
    error: Option<String>,
}

pub fn cmd_reports(
    a: &ReportsArgs,
    ctx: &Ctx,
    _term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let base = ClusterArgs {
        kubeconfig: a.kubeconfig.as_ref().map(|k| ctx.resolve(k)),
        contexts: a.contexts.clone(),
        request_timeout: a.request_timeout,
        ..ClusterArgs::default()
    };
    // Without `--context` or `--all-contexts`: the current context alone.
    let contexts: Vec<Option<String>> = if a.all_contexts || !a.contexts.is_empty() {
        match crate::live::fleet_contexts(&base, a.all_contexts) {
            Ok(c) => c.into_iter().map(Some).collect(),
            Err(e) => {
                crate::live::print_error(&e, err)?;
                return Ok(exit::USAGE);
            }
        }
    } else {
        vec![None]
    };
    let api = match a.api {
        ReportTarget::Openreports => rulerun_collect_k8s::publish::OPENREPORTS,
        ReportTarget::Policyreport => rulerun_collect_k8s::publish::POLICYREPORT,
    };
    let clusters = read_all(
        &base,
        &contexts,
        api,
        usize::from(a.max_concurrent_clusters),
    );
    match a.output {
        Format::Json => {
            let text = serde_json::to_string_pretty(&to_json(&clusters, api))
                .map_err(std::io::Error::other)?;
            writeln!(out, "{text}")?;
        }
        Format::Text => write_text(&clusters, api, out)?,
    }
    Ok(if clusters.iter().any(|c| c.error.is_some()) {
        exit::INCONCLUSIVE
    } else if clusters
        .iter()
        .any(|c| c.results.get("fail").is_some_and(|n| *n > 0))
    {
        exit::FINDINGS
    } else {
        exit::OK
    })
}

/// Reads every cluster's reports, `max_concurrent` at a time, in the order given.
fn read_all(
    base: &ClusterArgs,
    contexts: &[Option<String>],
    api: rulerun_collect_k8s::publish::ReportApi,
    max_concurrent: usize,
) -> Vec<ClusterSummary> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..max_concurrent.clamp(1, contexts.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || {
                while let Some(context) = contexts.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let mut one = base.clone();
                    one.contexts = context.iter().cloned().collect();
                    let summary = read_one(&one, context.as_deref().unwrap_or_default(), api);
                    if tx.send(summary).is_err() {
                        break;
                    }
                }
            });
        }
    });
    drop(tx);
    let mut done: Vec<ClusterSummary> = rx.into_iter().collect();
    let order = |name: &str| {
        contexts
            .iter()
            .position(|c| c.as_deref().unwrap_or_default() == name)
    };
    done.sort_by_key(|c| order(&c.name));
    done
}

fn read_one(
    cluster: &ClusterArgs,
    name: &str,
    api: rulerun_collect_k8s::publish::ReportApi,
) -> ClusterSummary {
    let mut s = ClusterSummary {
        name: name.to_string(),
        ..ClusterSummary::default()
    };
    let session = match crate::live::Session::connect(cluster) {
        Ok(session) => session,
        Err(e) => {
            s.error = Some(with_help(e.message, Some(e.help)));
            return s;
        }
    };
    s.server = Some(session.server().to_string());
    match session.read_reports(api) {
        Ok(reports) => {
            s.reports = reports.len();
            for r in &reports {
                tally(&mut s, r);
            }
        }
        Err(e) => s.error = Some(with_help(e.to_string(), e.help())),
    }
    s
}

fn with_help(message: String, help: Option<String>) -> String {
    match help.filter(|h| !h.is_empty()) {
        Some(h) => format!("{message} ({h})"),
        None => message,
    }
}

/// Adds one report object's results. Fields are read as OpenReports and
/// wgpolicyk8s.io write them; anything missing or of another type counts as
/// absent, since reports in a cluster may have been edited by anyone.
fn tally(s: &mut ClusterSummary, report: &Value) {
    let Some(results) = report.get("results").and_then(Value::as_array) else {
        return;
    };
    for r in results {
        let result = r.get("result").and_then(Value::as_str).unwrap_or("unknown");
        *s.results.entry(result.to_string()).or_default() += 1;
        if let Some(secs) = r.pointer("/timestamp/seconds").and_then(Value::as_i64) {
            s.newest = Some(s.newest.map_or(secs, |n| n.max(secs)));
        }
        if result == "fail" {
            let rule = r
                .get("rule")
                .or_else(|| r.get("policy"))
                .and_then(Value::as_str)
                .unwrap_or("(unnamed)");
            let severity = r.get("severity").and_then(Value::as_str).unwrap_or("");
            let entry = s
                .failing
                .entry(rule.to_string())
                .or_insert_with(|| (severity.to_string(), 0));
            entry.1 += 1;
        }
    }
}

/// `2026-12-04T03:30:00Z`, or the number when out of range.
fn time(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).map_or_else(|_| secs.to_string(), |t| t.to_string())
}

/// Severities from the most to the least severe, as reports name them.
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

fn severity_rank(s: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|x| *x == s)
        .unwrap_or(SEVERITIES.len())
}

/// Failing results by rule over the fleet: rule → (severity, per cluster count).
fn by_rule(clusters: &[ClusterSummary]) -> Vec<(String, String, BTreeMap<String, usize>)> {
    let mut rules: BTreeMap<String, (String, BTreeMap<String, usize>)> = BTreeMap::new();
    for c in clusters {
        for (rule, (severity, n)) in &c.failing {
            let e = rules
                .entry(rule.clone())
                .or_insert_with(|| (severity.clone(), BTreeMap::new()));
            if severity_rank(severity) < severity_rank(&e.0) {
                e.0 = severity.clone();
            }
            e.1.insert(c.name.clone(), *n);
        }
    }
    let mut rows: Vec<_> = rules
        .into_iter()
        .map(|(rule, (sev, per))| (rule, sev, per))
        .collect();
    rows.sort_by(|a, b| {
        let total = |p: &BTreeMap<String, usize>| p.values().sum::<usize>();
        severity_rank(&a.1)
            .cmp(&severity_rank(&b.1))
            .then(total(&b.2).cmp(&total(&a.2)))
            .then(a.0.cmp(&b.0))
    });
    rows
}

fn to_json(clusters: &[ClusterSummary], api: rulerun_collect_k8s::publish::ReportApi) -> Value {
    let cl: Vec<Value> = clusters
        .iter()
        .map(|c| {
            let mut v = json!({
                "name": c.name,
                "server": c.server,
                "reports": c.reports,
                "results": c.results,
                "lastResult": c.newest.map(time),
            });
            if let Some(e) = &c.error {
                v["error"] = json!(e);
            }
            v
        })
        .collect();
    let rules: Vec<Value> = by_rule(clusters)
        .into_iter()
        .map(|(rule, severity, per)| {
            json!({
                "rule": rule,
                "severity": severity,
                "fail": per.values().sum::<usize>(),
                "clusters": per,
            })
        })
        .collect();
    let mut severities: BTreeMap<String, usize> = BTreeMap::new();
    for c in clusters {
        for (sev, n) in c.failing.values() {
            *severities.entry(sev.clone()).or_default() += n;
        }
    }
    json!({
        "api": api.namespaced.group,
        "clusters": cl,
        "rules": rules,
        "summary": {
            "clusters": clusters.len(),
            "unreadable": clusters.iter().filter(|c| c.error.is_some()).count(),
            "withFailures": clusters.iter().filter(|c| !c.failing.is_empty()).count(),
            "fail": severities.values().sum::<usize>(),
            "bySeverity": severities,
        },
    })
}

fn write_text(
    clusters: &[ClusterSummary],
    api: rulerun_collect_k8s::publish::ReportApi,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let shown = |name: &str| {
        if name.is_empty() {
            "(current context)".to_string()
        } else {
            escape::line(name).into_owned()
        }
    };
    writeln!(
        out,
        "clusters ({} reports labelled rulerun's):",
        api.namespaced.group
    )?;
    for c in clusters {
        let server = c.server.as_deref().map(escape::line).unwrap_or_default();
        match &c.error {
            Some(e) => writeln!(
                out,
                "  {} ({server}): could not be read: {}",
                shown(&c.name),
                escape::line(e)
            )?,
            None if c.reports == 0 => writeln!(
                out,
                "  {} ({server}): no reports (rulerun has not written any here)",
                shown(&c.name)
            )?,
            None => {
                let counts: Vec<String> = c
                    .results
                    .iter()
                    .map(|(k, n)| format!("{n} {}", escape::line(k)))
                    .collect();
                writeln!(
                    out,
                    "  {} ({server}): {} reports, {}{}",
                    shown(&c.name),
                    c.reports,
                    counts.join(", "),
                    c.newest
                        .map(|t| format!("; newest result {}", time(t)))
                        .unwrap_or_default()
                )?;
            }
        }
    }
    let rows = by_rule(clusters);
    if !rows.is_empty() {
        writeln!(out)?;
        writeln!(out, "failing, by rule:")?;
        let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).min(60);
        for (rule, severity, per) in &rows {
            let per_cluster: Vec<String> = per
                .iter()
                .map(|(c, n)| format!("{} {n}", shown(c)))
                .collect();
            writeln!(
                out,
                "  {:<width$}  {:<8}  {:>4}  {}",
                escape::line(rule),
                escape::line(if severity.is_empty() { "-" } else { severity }),
                per.values().sum::<usize>(),
                per_cluster.join(", ")
            )?;
        }
    }
    let failing: usize = rows.iter().map(|r| r.2.values().sum::<usize>()).sum();
    let with = clusters.iter().filter(|c| !c.failing.is_empty()).count();
    let unreadable = clusters.iter().filter(|c| c.error.is_some()).count();
    writeln!(out)?;
    writeln!(
        out,
        "{failing} failing result{} in {with} of {} cluster{}{}",
        if failing == 1 { "" } else { "s" },
        clusters.len(),
        if clusters.len() == 1 { "" } else { "s" },
        if unreadable > 0 {
            format!("; {unreadable} could not be read")
        } else {
            String::new()
        }
    )
}
