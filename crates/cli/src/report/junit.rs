//! JUnit XML as CI systems read it: one `testsuite` per loaded rule, one
//! `testcase` per subject the rule checked, a `failure` per subject with
//! findings, `skipped` for what was inconclusive, `error` for evaluation
//! errors. Written with quick-xml, which escapes text and attributes.

use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use rulerun_core::finding::CheckedSubject;
use rulerun_core::{Finding, Rule, Subject};

use super::{Request, policy_name, qualified, rule_file};

/// One testcase: a subject and what the rule said about it.
struct Case<'a> {
    /// `None`: the rule as a whole (it could not run).
    subject: Option<Subject>,
    findings: Vec<&'a Finding>,
    skipped: Vec<&'a str>,
    errors: Vec<&'a str>,
}

impl Case<'_> {
    fn new(subject: Option<Subject>) -> Self {
        Case {
            subject,
            findings: Vec::new(),
            skipped: Vec::new(),
            errors: Vec::new(),
        }
    }
}

#[derive(Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn add(&mut self, c: &Case<'_>) {
        self.tests += 1;
        if !c.findings.is_empty() {
            self.failures += 1;
        } else if !c.errors.is_empty() {
            self.errors += 1;
        } else if !c.skipped.is_empty() {
            self.skipped += 1;
        }
    }
}

fn cases<'a>(req: &Request<'a>, rule: &Rule, cluster: Option<&str>) -> Vec<Case<'a>> {
    let report = req.report;
    let mut cases: Vec<Case<'a>> = report
        .checked
        .iter()
        .filter(|c| c.rule == rule.id && c.cluster.as_deref() == cluster)
        .flat_map(|c| c.subjects.iter())
        .map(|s: &CheckedSubject| Case::new(Some(s.subject.clone())))
        .collect();
    fn case<'a, 'b>(cases: &'b mut Vec<Case<'a>>, s: Option<&Subject>) -> &'b mut Case<'a> {
        let at = match cases.iter().position(|c| c.subject.as_ref() == s) {
            Some(i) => i,
            None => {
                cases.push(Case::new(s.cloned()));
                cases.len() - 1
            }
        };
        &mut cases[at]
    }
    for f in report
        .findings
        .iter()
        .filter(|f| f.rule == rule.id && f.cluster.as_deref() == cluster)
    {
        case(&mut cases, Some(&f.subject)).findings.push(f);
    }
    for i in report
        .inconclusive
        .iter()
        .filter(|i| i.rule == rule.id && i.cluster.as_deref() == cluster)
    {
        case(&mut cases, i.subject.as_ref()).skipped.push(&i.reason);
    }
    for e in report
        .errors
        .iter()
        .filter(|e| e.rule == rule.id && e.cluster.as_deref() == cluster)
    {
        case(&mut cases, e.subject.as_ref()).errors.push(&e.message);
    }
    cases
}

/// Writes the JUnit document: a suite per rule, or in a fleet run per cluster
/// and rule (`CLUSTER/pack/rule`, its testcases `CLUSTER/...`).
pub fn write(req: &Request<'_>, out: &mut dyn Write) -> io::Result<()> {
    let clusters: Vec<Option<&str>> = if req.clusters.is_empty() {
        vec![None]
    } else {
        req.clusters.iter().map(|c| Some(c.name.as_str())).collect()
    };
    let suites: Vec<(Option<&str>, &Rule, Vec<Case<'_>>)> = clusters
        .iter()
        .flat_map(|c| {
            req.rules
                .rules
                .iter()
                .map(move |r| (*c, r, cases(req, r, *c)))
        })
        .collect();
    let mut total = Counts::default();
    for (_, _, cs) in &suites {
        cs.iter().for_each(|c| total.add(c));
    }
    let mut w = Writer::new_with_indent(&mut *out, b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut root = BytesStart::new("testsuites");
    root.push_attribute(("name", "rulerun"));
    counts(&mut root, &total);
    w.write_event(Event::Start(root))?;
    for (cluster, rule, cs) in &suites {
        let mut c = Counts::default();
        cs.iter().for_each(|x| c.add(x));
        let name = match cluster {
            Some(cl) => format!("{cl}/{}", policy_name(req, &rule.id)),
            None => policy_name(req, &rule.id),
        };
        let mut suite = BytesStart::new("testsuite");
        suite.push_attribute(("name", xml_text(&name).as_str()));
        counts(&mut suite, &c);
        w.write_event(Event::Start(suite))?;
        w.write_event(Event::Start(BytesStart::new("properties")))?;
        let file = rule_file(req, rule);
        if let Some(cl) = cluster {
            let mut p = BytesStart::new("property");
            p.push_attribute(("name", "cluster"));
            p.push_attribute(("value", xml_line(cl).as_str()));
            w.write_event(Event::Empty(p))?;
        }
        for (k, v) in [
            ("rule", rule.id.clone()),
            ("title", rule.title.clone()),
            ("severity", rule.severity.to_string()),
            (
                "file",
                format!("{}:{}", file.to_string_lossy(), rule.source.pos.line),
            ),
        ] {
            let mut p = BytesStart::new("property");
            p.push_attribute(("name", k));
            p.push_attribute(("value", xml_line(&v).as_str()));
            w.write_event(Event::Empty(p))?;
        }
        w.write_event(Event::End(BytesEnd::new("properties")))?;
        for case in cs {
            testcase(&mut w, &name, *cluster, case)?;
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    writeln!(out)
}

fn counts(e: &mut BytesStart<'_>, c: &Counts) {
    e.push_attribute(("tests", c.tests.to_string().as_str()));
    e.push_attribute(("failures", c.failures.to_string().as_str()));
    e.push_attribute(("errors", c.errors.to_string().as_str()));
    e.push_attribute(("skipped", c.skipped.to_string().as_str()));
}

fn testcase<W: Write>(
    w: &mut Writer<W>,
    classname: &str,
    cluster: Option<&str>,
    case: &Case<'_>,
) -> io::Result<()> {
    let mut tc = BytesStart::new("testcase");
    let name = match &case.subject {
        Some(s) => qualified(s),
        None => "(all subjects)".to_string(),
    };
    let name = match cluster {
        Some(c) => format!("{c}/{name}"),
        None => name,
    };
    tc.push_attribute(("name", xml_line(&name).as_str()));
    tc.push_attribute(("classname", xml_line(classname).as_str()));
    if case.findings.is_empty() && case.errors.is_empty() && case.skipped.is_empty() {
        w.write_event(Event::Empty(tc))?;
        return Ok(());
    }
    w.write_event(Event::Start(tc))?;
    if let Some(first) = case.findings.first() {
        let message = if case.findings.len() == 1 {
            first.message.clone()
        } else {
            format!("{} findings: {}", case.findings.len(), first.message)
        };
        let mut text = String::new();
        for (i, f) in case.findings.iter().enumerate() {
            if i > 0 {
                text.push_str("\n\n");
            }
            text.push_str(&format!("[{}] {}\n{}\n", f.severity, f.title, f.message));
            if !f.fix.is_empty() {
                text.push_str("\nfix:\n");
                for step in &f.fix {
                    text.push_str(&format!("# {}\n{}\n", step.description, step.command));
                }
            }
        }
        let mut e = BytesStart::new("failure");
        e.push_attribute(("message", xml_line(&message).as_str()));
        e.push_attribute(("type", first.severity.as_str()));
        element(w, e, &text)?;
    } else if let Some(first) = case.errors.first() {
        let mut e = BytesStart::new("error");
        e.push_attribute(("message", xml_line(first).as_str()));
        e.push_attribute(("type", "evaluation error"));
        element(w, e, &case.errors.join("\n"))?;
    } else if let Some(first) = case.skipped.first() {
        let mut e = BytesStart::new("skipped");
        e.push_attribute(("message", xml_line(first).as_str()));
        w.write_event(Event::Empty(e))?;
    }
    // What else was said about the subject (an inconclusive rule or an error
    // beside a finding) goes to system-out.
    let mut rest: Vec<String> = Vec::new();
    if !case.findings.is_empty() {
        rest.extend(case.errors.iter().map(|e| format!("evaluation error: {e}")));
    }
    if !case.findings.is_empty() || !case.errors.is_empty() {
        rest.extend(case.skipped.iter().map(|s| format!("inconclusive: {s}")));
    } else {
        rest.extend(
            case.skipped
                .iter()
                .skip(1)
                .map(|s| format!("inconclusive: {s}")),
        );
    }
    if !rest.is_empty() {
        element(w, BytesStart::new("system-out"), &rest.join("\n"))?;
    }
    w.write_event(Event::End(BytesEnd::new("testcase")))?;
    Ok(())
}

fn element<W: Write>(w: &mut Writer<W>, start: BytesStart<'_>, text: &str) -> io::Result<()> {
    let end = start.to_end().into_owned();
    w.write_event(Event::Start(start))?;
    w.write_event(Event::Text(BytesText::new(&xml_text(text))))?;
    w.write_event(Event::End(end))?;
    Ok(())
}

/// `text` with the characters XML 1.0 cannot carry at all (controls other
/// than tab, newline and carriage return; U+FFFE, U+FFFF) shown as `\u{..}`.
/// quick-xml escapes markup; this only keeps the document well-formed.
fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let ok =
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && !matches!(c, '\u{fffe}' | '\u{ffff}'));
        if ok {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    out
}

/// An attribute value on one line: parsers turn raw line breaks in
/// attributes into spaces, so they are shown as escapes (as the text output
/// does), with every other control.
fn xml_line(text: &str) -> String {
    xml_text(&crate::escape::line(text))
}
