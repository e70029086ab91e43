//! Reports for other tools: SARIF 2.1.0 (`sarif`), JUnit XML (`junit`) and
//! Kubernetes policy reports (`openreports`: `openreports.io/v1alpha1`, and the
//! older `wgpolicyk8s.io/v1alpha2`), beside the text and findings JSON of
//! `render`. `write` sends the chosen format to standard output or to
//! `--output-file`. Mappings are documented in docs/reports.md.

mod junit;
mod openreports;
mod sarif;

pub use openreports::{Api as ReportApi, MANAGED_BY};

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rulerun_core::{Projection, Report, Rule, RuleSet, Severity, Subject};

use crate::args::CheckFormat as Format;
use crate::config::Ctx;
use crate::loading::RuleOrigin;
use crate::{Terminal, escape, render};

/// What a report is made from.
pub struct Request<'a> {
    pub format: Format,
    /// `--output-file` as the user wrote it.
    pub file: Option<&'a Path>,
    pub report: &'a Report,
    pub rules: &'a RuleSet,
    pub origins: &'a BTreeMap<String, RuleOrigin>,
    pub ctx: &'a Ctx,
    /// The clusters of a fleet run, each with its own report (`report` is then
    /// [`fleet_report`] of them); empty when one cluster or a snapshot was checked.
    pub clusters: &'a [ClusterReport],
}

impl<'a> Request<'a> {
    /// The same request about one cluster of the fleet alone.
    pub fn for_cluster(&self, c: &'a ClusterReport) -> Request<'a> {
        Request {
            format: self.format,
            file: self.file,
            report: &c.report,
            rules: self.rules,
            origins: self.origins,
            ctx: self.ctx,
            clusters: &[],
        }
    }
}

/// One cluster of a fleet run (docs/fleets.md) and its report, whose entries
/// all carry its name.
pub struct ClusterReport {
    /// The kubeconfig context.
    pub name: String,
    /// The API server URL, when the client could be built.
    pub server: Option<String>,
    pub report: Report,
    /// Why the cluster could not be checked at all (its kubeconfig context
    /// could not be used); its rules are then inconclusive.
    pub error: Option<String>,
}

/// The report of a whole fleet: every cluster's findings, errors and
/// inconclusive entries (each carrying its cluster) in the clusters' order;
/// facts and superseded findings summed, the rules evaluated the most any
/// cluster evaluated.
pub fn fleet_report(clusters: &[ClusterReport]) -> Report {
    let mut all = Report::default();
    for c in clusters {
        let r = &c.report;
        all.findings.extend(r.findings.iter().cloned());
        all.errors.extend(r.errors.iter().cloned());
        all.inconclusive.extend(r.inconclusive.iter().cloned());
        all.checked.extend(r.checked.iter().cloned());
        all.rules_evaluated = all.rules_evaluated.max(r.rules_evaluated);
        all.superseded += r.superseded;
        all.facts += r.facts;
    }
    all
}

/// The projection to load facts with for `format`: policy reports name
/// subjects by uid and JUnit names AWS subjects by ARN, which rules need not
/// read, so those keep whole documents (the report is the same either way).
pub fn projection(format: Format, rules: &RuleSet) -> Projection {
    match format {
        Format::Junit | Format::Openreports | Format::Policyreport => Projection::all(),
        Format::Text | Format::Json | Format::Sarif => rules.projection(),
    }
}

/// Writes the report: in `format` to standard output, or with `--output-file`
/// to that file and the text report to standard output (unless the file gets
/// the text). Returns false, having said why on `err`, when the file could
/// not be written.
pub fn write(
    req: &Request<'_>,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<bool> {
    let Some(file) = req.file else {
        render_to(req, term, out)?;
        return Ok(true);
    };
    let mut buf = Vec::new();
    // A file never gets colour.
    render_to(
        req,
        Terminal {
            color: false,
            progress: term.progress,
        },
        &mut buf,
    )?;
    let path = req.ctx.resolve(file);
    if let Err(e) = std::fs::write(&path, &buf) {
        writeln!(
            err,
            "error: cannot write the report to `{}`: {e}",
            escape::path(file)
        )?;
        return Ok(false);
    }
    if req.format != Format::Text {
        text(req, term, out)?;
    }
    Ok(true)
}

fn render_to(req: &Request<'_>, term: Terminal, out: &mut dyn Write) -> io::Result<()> {
    match req.format {
        Format::Text => text(req, term, out),
        Format::Json => render::report_json(req.report, req.clusters, out),
        Format::Sarif => write_json(&sarif::document(req), out),
        Format::Junit => junit::write(req, out),
        Format::Openreports => write_json(
            &openreports::document(req, openreports::Api::OpenReports),
            out,
        ),
        Format::Policyreport => write_json(
            &openreports::document(req, openreports::Api::PolicyReport),
            out,
        ),
    }
}

/// The text report: grouped by cluster under a heading each in a fleet run.
fn text(req: &Request<'_>, term: Terminal, out: &mut dyn Write) -> io::Result<()> {
    if req.clusters.is_empty() {
        render::report_text(req.report, term, out)
    } else {
        render::fleet_text(req.clusters, req.report, term, out)
    }
}

/// The report objects `--report-to-cluster` writes: a report per namespace with
/// results and always the cluster report.
pub fn cluster_objects(req: &Request<'_>, api: ReportApi) -> Vec<serde_json::Value> {
    openreports::objects(req, api, true)
}

fn write_json(doc: &serde_json::Value, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, doc)?;
    writeln!(out)
}

/// The rule of `id`, if loaded.
fn rule<'a>(req: &Request<'a>, id: &str) -> Option<&'a Rule> {
    req.rules.get(id)
}

/// `pack/rule`, the name policy reports and JUnit give a rule (the id alone
/// for rules given with `--rules`, which belong to no pack).
fn policy_name(req: &Request<'_>, id: &str) -> String {
    match pack(req, id) {
        Some(p) => format!("{p}/{id}"),
        None => id.to_string(),
    }
}

/// The pack of a rule; `None` for rules given with `--rules`.
fn pack(req: &Request<'_>, id: &str) -> Option<String> {
    req.origins
        .get(id)
        .filter(|o| o.origin != crate::packs::Origin::CommandLine)
        .map(|o| o.pack.clone())
}

/// The rule file as a relative path with `/` (built-in rules: their path in
/// the repository, under `rules/`), or an absolute one.
fn rule_file(req: &Request<'_>, rule: &Rule) -> PathBuf {
    let file = &rule.source.file;
    if let Ok(rest) = file.strip_prefix(crate::sources::BUILTIN_PREFIX) {
        return Path::new("rules").join(rest);
    }
    req.ctx.shown(file)
}

/// `namespace/kind/name`, or `kind/name` without a namespace.
fn qualified(s: &Subject) -> String {
    match &s.namespace {
        Some(ns) => format!("{ns}/{}/{}", s.kind, s.name),
        None => format!("{}/{}", s.kind, s.name),
    }
}

/// The `each` element's name (a container's), which tells apart the findings
/// of one rule on one subject.
fn element_name(element: Option<&String>) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(element?).ok()?;
    v.get("name")?.as_str().map(str::to_string)
}

/// The severities a rule without findings would report at.
fn severity_of(req: &Request<'_>, id: &str) -> Option<Severity> {
    rule(req, id).map(|r| r.severity)
}
