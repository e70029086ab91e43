//! `rulerun rules list`: the loaded rules and where each came from.

use std::io::Write;

use serde_json::json;

use super::{CmdResult, load};
use crate::args::{Format, RuleSourceArgs};
use crate::config::Ctx;
use crate::loading::{self, ConfigChoice};
use crate::{Terminal, escape, exit};

pub fn cmd_rules_list(
    src: &RuleSourceArgs,
    format: Format,
    ctx: &Ctx,
    choice: &ConfigChoice,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CmdResult {
    let Some(loaded) = load(src, ctx, choice, term, err)? else {
        return Ok(exit::USAGE);
    };
    let rules = &loaded.rules;
    let origin = |id: &str| loaded.origins.get(id).cloned();
    match format {
        Format::Json => {
            let mut list: Vec<_> = rules
                .rules
                .iter()
                .map(|r| {
                    let o = origin(&r.id);
                    json!({"id": r.id, "title": r.title, "severity": r.severity, "labels": r.labels, "subject": r.subject_kind, "kinds": r.kinds, "source": r.source.to_string(),
                        "pack": o.as_ref().map(|o| o.pack.clone()), "origin": o.as_ref().map(|o| o.origin.as_str()),
                        "enabled": true, "overrides": o.map(|o| o.overrides).unwrap_or_default(), "params": r.param_values})
                })
                .collect();
            for d in &loaded.disabled {
                list.push(json!({"id": d.id, "title": d.title, "severity": d.severity, "source": d.source,
                    "pack": d.origin.pack, "origin": d.origin.origin.as_str(), "enabled": false, "overrides": d.origin.overrides}));
            }
            serde_json::to_writer_pretty(&mut *out, &list).map_err(std::io::Error::other)?;
            writeln!(out)?;
        }
        Format::Text => {
            let width = rules
                .rules
                .iter()
                .map(|r| escape::line(&r.id).len())
                .chain(loaded.disabled.iter().map(|d| escape::line(&d.id).len()))
                .max()
                .unwrap_or(0);
            let pack_of = |o: Option<&loading::RuleOrigin>| match o {
                Some(o) if o.origin == crate::packs::Origin::CommandLine => "--rules".to_string(),
                Some(o) => format!("{} ({})", escape::line(&o.pack), o.origin.as_str()),
                None => String::new(),
            };
            let pack_width = rules
                .rules
                .iter()
                .map(|r| pack_of(loaded.origins.get(&r.id)).len())
                .chain(
                    loaded
                        .disabled
                        .iter()
                        .map(|d| pack_of(Some(&d.origin)).len()),
                )
                .max()
                .unwrap_or(0);
            let line = |id: &str,
                        sev: &str,
                        title: &str,
                        source: &str,
                        o: Option<&loading::RuleOrigin>|
             -> String {
                let mut text = format!(
                    "{:<width$}  {sev:<8}  {:<pack_width$}  {}  ({})",
                    escape::line(id),
                    pack_of(o),
                    escape::line(title),
                    escape::line(source)
                );
                if let Some(o) = o
                    && !o.overrides.is_empty()
                {
                    text.push_str(&format!(
                        "  [overridden: {}]",
                        escape::line(&o.overrides.join(", "))
                    ));
                }
                text
            };
            for r in &rules.rules {
                let o = origin(&r.id);
                writeln!(
                    out,
                    "{}",
                    line(
                        &r.id,
                        r.severity.as_str(),
                        &r.title,
                        &r.source.to_string(),
                        o.as_ref()
                    )
                )?;
            }
            for d in &loaded.disabled {
                writeln!(
                    out,
                    "{}",
                    line(&d.id, "off", &d.title, &d.source, Some(&d.origin))
                )?;
            }
        }
    }
    Ok(exit::OK)
}
