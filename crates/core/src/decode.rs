//! Hand-walking YAML files into typed values: every problem is collected as a
//! [`LoadError`] at its `file:line:column`, unknown keys with "did you mean", so a
//! file reports all its errors at once. Rule files ([`crate::load`]) and the files
//! the CLI owns (`pack.yaml`, `rulerun.yaml`, `rulerun.lock`) are walked with it.

use std::path::{Path, PathBuf};

use crate::error::{LoadError, LoadErrorKind, closest};
use crate::yaml::{self, Node, NodeKind, Pos};

/// Collects the errors of one file.
pub struct Decoder {
    pub file: PathBuf,
    pub errors: Vec<LoadError>,
}

/// A mapping's entries, checked against the allowed keys.
pub struct Fields<'n> {
    pub pos: Pos,
    pub entries: Vec<(&'n str, &'n Node)>,
}

impl<'n> Fields<'n> {
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }
}

impl Decoder {
    pub fn new(file: &Path) -> Self {
        Decoder {
            file: file.to_path_buf(),
            errors: Vec::new(),
        }
    }

    pub fn err(&mut self, pos: Pos, kind: LoadErrorKind) {
        self.errors.push(LoadError::new(&self.file, pos, kind));
    }

    pub fn other(&mut self, pos: Pos, message: String, help: Option<String>) {
        self.err(pos, LoadErrorKind::Other { message, help });
    }

    /// Parses the text; a syntax error is recorded.
    pub fn parse(&mut self, text: &str) -> Option<Node> {
        match yaml::parse(text) {
            Ok(n) => Some(n),
            Err(e) => {
                self.err(
                    e.pos,
                    LoadErrorKind::Syntax {
                        format: "YAML",
                        message: e.message,
                    },
                );
                None
            }
        }
    }

    pub fn fields<'n>(
        &mut self,
        node: &'n Node,
        context: &str,
        allowed: &'static [&'static str],
    ) -> Option<Fields<'n>> {
        let NodeKind::Map(entries) = &node.kind else {
            self.wrong_type(node, context, "a mapping");
            return None;
        };
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let key = k.as_str().unwrap_or("");
            if allowed.contains(&key) {
                out.push((key, v));
            } else {
                let shown = k.key_string();
                self.err(
                    k.pos,
                    LoadErrorKind::UnknownKey {
                        suggestion: closest(&shown, allowed.iter().copied()),
                        key: shown,
                        context: context.to_string(),
                        expected: allowed.to_vec(),
                    },
                );
            }
        }
        Some(Fields {
            pos: node.pos,
            entries: out,
        })
    }

    pub fn required<'n>(
        &mut self,
        fields: &Fields<'n>,
        key: &'static str,
        context: &str,
    ) -> Option<&'n Node> {
        let v = fields.get(key);
        if v.is_none() {
            self.err(
                fields.pos,
                LoadErrorKind::MissingKey {
                    key,
                    context: context.to_string(),
                },
            );
        }
        v
    }

    pub fn wrong_type(&mut self, node: &Node, what: &str, expected: &'static str) {
        self.err(
            node.pos,
            LoadErrorKind::WrongType {
                what: what.to_string(),
                expected,
                found: node.kind.describe(),
            },
        );
    }

    pub fn invalid(&mut self, node: &Node, what: &str, value: &str, help: impl Into<String>) {
        self.err(
            node.pos,
            LoadErrorKind::InvalidValue {
                what: what.to_string(),
                value: value.to_string(),
                help: help.into(),
            },
        );
    }

    /// A string scalar (numbers and booleans are taken as their text).
    pub fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.kind {
            NodeKind::Str(s) => Some(s.clone()),
            NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_) => Some(node.key_string()),
            _ => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    /// A list of string scalars.
    pub fn string_list(&mut self, node: &Node, what: &str) -> Vec<String> {
        match &node.kind {
            NodeKind::Seq(items) => items.iter().filter_map(|i| self.string(i, what)).collect(),
            _ => {
                self.wrong_type(node, what, "a list of strings");
                Vec::new()
            }
        }
    }

    pub fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.kind {
            NodeKind::Bool(b) => Some(b),
            _ => {
                self.wrong_type(node, what, "`true` or `false`");
                None
            }
        }
    }

    pub fn seq<'n>(&mut self, node: &'n Node, what: &str, expected: &'static str) -> &'n [Node] {
        match &node.kind {
            NodeKind::Seq(items) => items,
            _ => {
                self.wrong_type(node, what, expected);
                &[]
            }
        }
    }

    /// `version: 1`, when present.
    pub fn format_version(&mut self, fields: &Fields<'_>, what: &str) {
        if let Some(v) = fields.get("version")
            && !matches!(v.kind, NodeKind::Int(1))
        {
            self.invalid(
                v,
                "version",
                &v.key_string(),
                format!("this rulerun reads {what} format version `1`"),
            );
        }
    }
}
