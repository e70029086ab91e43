//! Placeholders of fix steps: `placeholders: {TAG: "the tag to push"}` declares
//! the values the user supplies, and `{{ placeholder("TAG") }}` in the step's
//! `argv` or `command` writes one. A placeholder used and not declared, declared
//! and not used by the command, or used outside a fix step is a load error, and
//! so is a placeholder written by hand (`<TAG>` in the rule's own text): a
//! command never silently holds a guess.

use crate::decode::Fields;
use crate::error::LoadErrorKind;
use crate::rule::{ArgvPart, FixCommand, PlaceholderSpec};
use crate::template::{Mode, TemplateId, is_placeholder_name};
use crate::yaml::{Node, NodeKind};

use super::{Names, RuleDecoder};

/// Where a template may write placeholders (`what` as the loader names it).
const PLACEHOLDER_CONTEXTS: &[&str] = &["description", "argv", "command"];

/// The first `<NAME>` (a placeholder's form) in `text`, by byte offset.
fn literal_placeholder(text: &str) -> Option<(usize, &str)> {
    let mut from = 0;
    while let Some(i) = text[from..].find('<') {
        let start = from + i;
        let rest = &text[start + 1..];
        if let Some(end) = rest.find('>')
            && is_placeholder_name(&rest[..end])
        {
            return Some((start, &text[start..start + end + 2]));
        }
        from = start + 1;
    }
    None
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

impl RuleDecoder<'_> {
    /// A compiled template, unless it writes placeholders where none may stand
    /// (messages, evidence, bindings).
    pub(super) fn placeholders_allowed(
        &mut self,
        node: &Node,
        id: TemplateId,
        what: &str,
    ) -> Option<TemplateId> {
        let uses = self.templates.placeholders(id);
        let Some(first) = uses.first() else {
            return Some(id);
        };
        if PLACEHOLDER_CONTEXTS.contains(&what) {
            return Some(id);
        }
        let (line, col) = line_col(self.templates.source_of(id), first.offset);
        let message = format!(
            "placeholder `{}` in a {what} (template line {line}, column {col}): placeholders stand only in fix steps",
            first.name
        );
        self.d.other(
            node.pos,
            message,
            Some("a placeholder marks a value the user must supply in a fix command: write it in the step's `argv` or `command`".into()),
        );
        None
    }

    /// The step's declared placeholders, checked against the ones its templates
    /// write; `None` after an error.
    pub(super) fn fix_placeholders(
        &mut self,
        f: &Fields<'_>,
        names: &Names,
        description: Option<TemplateId>,
        command: &FixCommand,
    ) -> Option<Vec<PlaceholderSpec>> {
        let mut ok = true;
        // The templates of the command, with the node each came from.
        let mut templates: Vec<(&Node, TemplateId)> = Vec::new();
        match (command, f.get("argv"), f.get("command")) {
            (FixCommand::Argv(parts), Some(a), _) => {
                if let NodeKind::Seq(items) = &a.kind {
                    for (part, item) in parts.iter().zip(items) {
                        if let ArgvPart::Template(t) = part {
                            templates.push((item, *t));
                        }
                    }
                }
            }
            (FixCommand::Shell(t), _, Some(c)) => templates.push((c, *t)),
            _ => {}
        }
        // A `<NAME>` written by hand would be a redirection, or a guess left in.
        for (node, t) in &templates {
            let source = self.templates.source_of(*t);
            if let Some((at, text)) = literal_placeholder(source) {
                let (line, col) = line_col(source, at);
                let name = &text[1..text.len() - 1];
                self.d.other(
                    node.pos,
                    format!("`{text}` is written by hand in a fix command (template line {line}, column {col})"),
                    Some(format!(
                        "a value the user supplies is a placeholder: write `{{{{ placeholder(\"{name}\") }}}}` and declare it in the step: `placeholders: {{{name}: what to put there}}`"
                    )),
                );
                ok = false;
            }
        }
        let mut declared: Vec<(String, &Node)> = Vec::new();
        let mut specs = Vec::new();
        if let Some(p) = f.get("placeholders") {
            match &p.kind {
                NodeKind::Map(entries) => {
                    for (k, v) in entries {
                        let name = k.key_string();
                        if !is_placeholder_name(&name) {
                            self.d.other(
                                k.pos,
                                format!("invalid placeholder name `{name}`"),
                                Some(format!(
                                    "names are `[A-Z][A-Z0-9_]*`, at most {} characters, e.g. `TAG` or `ROLE_ARN`, so that `<NAME>` is plain in a command",
                                    crate::template::MAX_PLACEHOLDER_NAME
                                )),
                            );
                            ok = false;
                            continue;
                        }
                        match self.template(v, names, Mode::Plain, "placeholder description") {
                            Some(description) => specs.push(PlaceholderSpec {
                                name: name.clone(),
                                description,
                            }),
                            None => ok = false,
                        }
                        declared.push((name, k));
                    }
                }
                _ => {
                    self.d.wrong_type(
                        p,
                        "placeholders",
                        "a mapping of placeholder names to what the user puts there",
                    );
                    ok = false;
                }
            }
        }
        // Every placeholder written is declared.
        let mut used_by_command: Vec<String> = Vec::new();
        let description_node = f.get("description");
        let mut written: Vec<(&Node, TemplateId, bool)> =
            templates.iter().map(|(n, t)| (*n, *t, true)).collect();
        if let (Some(d), Some(n)) = (description, description_node) {
            written.push((n, d, false));
        }
        for (node, t, in_command) in written {
            let uses = self.templates.placeholders(t).to_vec();
            for u in uses {
                if in_command {
                    used_by_command.push(u.name.clone());
                }
                if declared.iter().any(|(n, _)| *n == u.name) {
                    continue;
                }
                let (line, col) = line_col(self.templates.source_of(t), u.offset);
                self.err(
                    node.pos,
                    LoadErrorKind::Other {
                        message: format!(
                            "placeholder `{}` is not declared (template line {line}, column {col})",
                            u.name
                        ),
                        help: Some(format!(
                            "declare it in the fix step: `placeholders: {{{}: what the user puts there}}`",
                            u.name
                        )),
                    },
                );
                ok = false;
            }
        }
        // Every placeholder declared is in the command.
        for (name, key) in &declared {
            if !used_by_command.contains(name) {
                self.err(
                    key.pos,
                    LoadErrorKind::Other {
                        message: format!(
                            "placeholder `{name}` is declared but the step's command does not use it"
                        ),
                        help: Some(format!(
                            "write `{{{{ placeholder(\"{name}\") }}}}` where the value goes in `argv` or `command`, or remove the declaration"
                        )),
                    },
                );
                ok = false;
            }
        }
        ok.then_some(specs)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hand_written_placeholders_are_found() {
        assert_eq!(literal_placeholder("a <TAG> b"), Some((2, "<TAG>")));
        assert_eq!(
            literal_placeholder("x < y > z <ROLE_ARN>"),
            Some((10, "<ROLE_ARN>"))
        );
        assert_eq!(literal_placeholder("a <tag> <1A> b"), None);
        assert_eq!(literal_placeholder("2>/dev/null"), None);
    }
}
