//! Named rule parts: bindings, conditions and fix steps defined once per pack and
//! used by its rules (and by the rules of packs that declare `uses:` on it).
//!
//! A part file is a YAML file with a top-level `parts:` list (it may hold `rules:`
//! too). Each part is exactly one of:
//!
//! - a **bindings** part (`let:`): a join chain and the values it computes; a rule
//!   lists it under `uses:` and its bindings are spliced into the rule's scope,
//!   before the rule's own `let`;
//! - a **condition** part (`condition:`): used wherever a condition goes, as
//!   `{use: NAME}`;
//! - a **fix** part (`fix:`): a list of fix steps, used in `finding.fix` as
//!   `- use: NAME`.
//!
//! Parts are expanded at load time into ordinary bindings, conditions and steps,
//! so the engine, field projection and the live planner see through them exactly
//! as through inline ones. Errors inside a part are reported at the part's own
//! `file:line:column`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::decode::Decoder;
use crate::error::closest;
use crate::rule::Source;
use crate::yaml::{Node, NodeKind, Pos};

/// Keys of a part.
pub const PART_KEYS: &[&str] = &[
    "id",
    "description",
    "inputs",
    "uses",
    "public",
    "let",
    "condition",
    "fix",
];
/// Keys of a part input.
pub const INPUT_KEYS: &[&str] = &["description", "default"];
/// Keys of an entry of a rule's `uses:` written as a mapping.
pub const USE_KEYS: &[&str] = &["part", "with", "as"];

/// What a part holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PartKind {
    /// `let:` bindings, used from a rule's `uses:`.
    Bindings,
    /// A condition, used as `{use: NAME}`.
    Condition,
    /// Fix steps, used in `finding.fix` as `- use: NAME`.
    Fix,
}

impl PartKind {
    /// The key the part's body is written under.
    pub fn key(self) -> &'static str {
        match self {
            PartKind::Bindings => "let",
            PartKind::Condition => "condition",
            PartKind::Fix => "fix",
        }
    }

    /// How a rule uses a part of this kind.
    pub fn how_to_use(self, name: &str) -> String {
        match self {
            PartKind::Bindings => format!("list it under the rule's `uses:` (`uses: [{name}]`)"),
            PartKind::Condition => format!("write it where a condition goes: `{{use: {name}}}`"),
            PartKind::Fix => format!("write it as a step of `finding.fix`: `- use: {name}`"),
        }
    }
}

/// An input of a part: a name the part reads from the scope it is used in.
#[derive(Clone, Debug)]
pub struct PartInput {
    /// The name.
    pub name: String,
    /// What it must hold.
    pub description: String,
    /// The value expression used when the scope does not bind the name and the
    /// rule passes nothing (bindings parts only).
    pub default: Option<Node>,
    /// Where it is declared.
    pub pos: Pos,
}

/// A part as defined.
#[derive(Clone, Debug)]
pub struct PartDef {
    /// The part's name, unique in its pack.
    pub id: String,
    /// The pack it belongs to (empty: loose rule files).
    pub pack: String,
    /// Where it is defined.
    pub source: Source,
    /// One paragraph.
    pub description: String,
    /// Bindings, condition or fix steps.
    pub kind: PartKind,
    /// Offered to packs that vendor this one (and exempt from the unused check).
    pub public: bool,
    /// Names it reads from the scope it is used in.
    pub inputs: Vec<PartInput>,
    /// Bindings parts it builds on (expanded before it), as written.
    pub uses: Vec<(String, Pos)>,
    /// The `let` mapping, the condition, or the list of fix steps.
    pub body: Node,
    /// Read only to be used: defined by a pack whose rules are not loaded.
    pub library: bool,
}

impl PartDef {
    /// The names a bindings part binds (its `let` keys), in order.
    pub fn provides(&self) -> Vec<String> {
        match (&self.kind, &self.body.kind) {
            (PartKind::Bindings, NodeKind::Map(entries)) => {
                entries.iter().map(|(k, _)| k.key_string()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// `pack/id`, or `id` for loose files.
    pub fn qualified(&self) -> String {
        if self.pack.is_empty() {
            self.id.clone()
        } else {
            format!("{}/{}", self.pack, self.id)
        }
    }
}

/// What `rulerun explain` and the generated docs show of a part.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartInfo {
    /// The name.
    pub id: String,
    /// Its pack.
    pub pack: String,
    /// `bindings`, `condition` or `fix`.
    pub kind: PartKind,
    /// One paragraph.
    pub description: String,
    /// Offered to other packs.
    pub public: bool,
    /// Its inputs: name, description and default (as written).
    pub inputs: Vec<PartInputInfo>,
    /// The parts it builds on.
    pub uses: Vec<String>,
    /// The names it binds (bindings parts).
    pub provides: Vec<String>,
    /// Where it is defined.
    pub source: Source,
    /// The loaded rules that use it, directly or through another part.
    pub used_by: Vec<String>,
}

/// An input, for [`PartInfo`].
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartInputInfo {
    /// The name.
    pub name: String,
    /// What it must hold.
    pub description: String,
    /// The default value expression, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
}

/// Every part definition of a load, with the packs' `uses:` declarations.
#[derive(Debug, Default)]
pub(crate) struct Library {
    pub parts: Vec<PartDef>,
    index: BTreeMap<(String, String), usize>,
    /// pack -> packs whose public parts it may use.
    uses: BTreeMap<String, Vec<String>>,
}

/// Why a part reference does not resolve: message and help.
pub(crate) struct Unresolved {
    pub message: String,
    pub help: Option<String>,
}

impl Library {
    pub fn new(uses: BTreeMap<String, Vec<String>>) -> Self {
        Library {
            parts: Vec::new(),
            index: BTreeMap::new(),
            uses,
        }
    }

    /// Adds a definition; a second one of the same name in a pack is an error.
    pub fn define(&mut self, part: PartDef, d: &mut Decoder) {
        let key = (part.pack.clone(), part.id.clone());
        if let Some(&first) = self.index.get(&key) {
            let first = self.parts.get(first).map(|p| p.source.to_string());
            d.other(
                part.source.pos,
                format!(
                    "part `{}` is defined twice{}",
                    part.id,
                    first.map(|f| format!(", first at {f}")).unwrap_or_default()
                ),
                Some("part names are unique in a pack: rename one".into()),
            );
            return;
        }
        self.index.insert(key, self.parts.len());
        self.parts.push(part);
    }

    /// Resolves `name` as written in pack `from`: `NAME` is a part of that pack,
    /// `PACK/NAME` a public part of a pack it declares in `uses:` (loose rule
    /// files, pack `""`, may name any pack).
    pub fn resolve(&self, from: &str, name: &str) -> Result<usize, Unresolved> {
        let (pack, id) = match name.split_once('/') {
            Some((p, i)) => (p, i),
            None => (from, name),
        };
        if let Some(&i) = self.index.get(&(pack.to_string(), id.to_string())) {
            let part = self.parts.get(i);
            let foreign = pack != from;
            if foreign && !from.is_empty() {
                let declared = self
                    .uses
                    .get(from)
                    .is_some_and(|u| u.iter().any(|p| p == pack));
                if !declared {
                    return Err(Unresolved {
                        message: format!(
                            "pack `{from}` uses part `{name}` but does not declare pack `{pack}`"
                        ),
                        help: Some(format!("add `uses: [{pack}]` to the pack's `pack.yaml`")),
                    });
                }
            }
            if foreign && part.is_some_and(|p| !p.public) {
                return Err(Unresolved {
                    message: format!("part `{name}` is private to pack `{pack}`"),
                    help: Some(format!(
                        "only parts marked `public: true` may be used outside their pack; ask the owners of `{pack}` to mark it, or copy it into your pack"
                    )),
                });
            }
            return Ok(i);
        }
        let candidates: Vec<String> = self
            .parts
            .iter()
            .filter(|p| p.pack == pack || (p.pack != from && p.public))
            .map(|p| {
                if p.pack == from {
                    p.id.clone()
                } else {
                    p.qualified()
                }
            })
            .collect();
        // the same name in another pack, else the closest spelling
        let suggestion = candidates
            .iter()
            .find(|c| c.rsplit('/').next() == Some(name))
            .cloned()
            .or_else(|| closest(name, candidates.iter().map(String::as_str)));
        Err(Unresolved {
            message: format!("unknown part `{name}`"),
            help: Some(match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None if candidates.is_empty() => {
                    "no parts are defined here; parts are defined under `parts:` in a part file listed in `pack.yaml`".into()
                }
                None => format!(
                    "parts here: {}",
                    candidates
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        })
    }

    /// Reports every cycle of `uses:` among parts, once, at the `uses:` entry
    /// that closes it.
    pub fn cycles(&self) -> Vec<(usize, Pos, String)> {
        let mut out = Vec::new();
        let mut state = vec![0u8; self.parts.len()]; // 0 new, 1 on stack, 2 done
        let mut stack: Vec<usize> = Vec::new();
        for start in 0..self.parts.len() {
            self.visit(start, &mut state, &mut stack, &mut out);
        }
        out
    }

    fn visit(
        &self,
        i: usize,
        state: &mut [u8],
        stack: &mut Vec<usize>,
        out: &mut Vec<(usize, Pos, String)>,
    ) {
        if state.get(i).copied() != Some(0) {
            return;
        }
        if let Some(s) = state.get_mut(i) {
            *s = 1;
        }
        stack.push(i);
        let Some(part) = self.parts.get(i) else {
            return;
        };
        for (name, pos) in &part.uses {
            let Ok(j) = self.resolve(&part.pack, name) else {
                continue; // reported where the part is expanded
            };
            match state.get(j).copied() {
                Some(1) => {
                    let from = stack.iter().position(|&s| s == j).unwrap_or(0);
                    let mut path: Vec<String> = stack
                        .get(from..)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|&s| self.parts.get(s).map(|p| format!("`{}`", p.id)))
                        .collect();
                    if let Some(p) = self.parts.get(j) {
                        path.push(format!("`{}`", p.id));
                    }
                    out.push((i, *pos, path.join(" -> ")));
                }
                Some(0) => self.visit(j, state, stack, out),
                _ => {}
            }
        }
        stack.pop();
        if let Some(s) = state.get_mut(i) {
            *s = 2;
        }
    }

    pub fn info(&self, used_by: &BTreeMap<usize, BTreeSet<String>>) -> Vec<PartInfo> {
        self.parts
            .iter()
            .enumerate()
            .map(|(i, p)| PartInfo {
                id: p.id.clone(),
                pack: p.pack.clone(),
                kind: p.kind,
                description: p.description.clone(),
                public: p.public,
                inputs: p
                    .inputs
                    .iter()
                    .map(|x| PartInputInfo {
                        name: x.name.clone(),
                        description: x.description.clone(),
                        default: x.default.as_ref().map(Node::to_json),
                    })
                    .collect(),
                uses: p.uses.iter().map(|(n, _)| n.clone()).collect(),
                provides: p.provides(),
                source: p.source.clone(),
                used_by: used_by
                    .get(&i)
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default(),
            })
            .collect()
    }
}

/// Decodes the `parts:` list of a file of pack `pack`.
pub(crate) fn decode_parts(
    d: &mut Decoder,
    node: &Node,
    pack: &str,
    library: bool,
    out: &mut Library,
) {
    for item in d.seq(node, "parts", "a list of parts").to_vec() {
        if let Some(p) = decode_part(d, &item, pack, library) {
            out.define(p, d);
        }
    }
}

fn is_part_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_lowercase())
}

fn is_ident(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn decode_part(d: &mut Decoder, node: &Node, pack: &str, library: bool) -> Option<PartDef> {
    let before = d.errors.len();
    let f = d.fields(node, "a part", PART_KEYS)?;
    let id = d.required(&f, "id", "a part").and_then(|n| {
        let id = d.string(n, "id")?;
        if !is_part_name(&id) {
            d.invalid(
                n,
                "id",
                &id,
                "part names are lowercase words joined by `-`, e.g. `node-identity`",
            );
            return None;
        }
        Some(id)
    });
    let description = f
        .get("description")
        .and_then(|n| d.string(n, "description"))
        .unwrap_or_default();
    let public = f.get("public").and_then(|n| d.bool(n, "public")) == Some(true);
    let bodies: Vec<(PartKind, &Node)> = [PartKind::Bindings, PartKind::Condition, PartKind::Fix]
        .into_iter()
        .filter_map(|k| f.get(k.key()).map(|n| (k, n)))
        .collect();
    let (kind, body) = match bodies.as_slice() {
        [(k, b)] => (*k, (*b).clone()),
        _ => {
            d.other(
                node.pos,
                format!(
                    "part{} needs exactly one of `let`, `condition` or `fix`",
                    id.as_ref().map(|i| format!(" `{i}`")).unwrap_or_default()
                ),
                Some("a bindings part has `let: {NAME: BINDING}`, a condition part `condition: {...}`, a fix part `fix: [STEP, ...]`".into()),
            );
            return None;
        }
    };
    match (kind, &body.kind) {
        (PartKind::Bindings, NodeKind::Map(_)) | (PartKind::Fix, NodeKind::Seq(_)) => {}
        (PartKind::Bindings, _) => d.wrong_type(&body, "let", "a mapping of names to bindings"),
        (PartKind::Fix, _) => d.wrong_type(&body, "fix", "a list of steps"),
        (PartKind::Condition, _) => {}
    }
    let mut inputs = Vec::new();
    if let Some(n) = f.get("inputs") {
        match &n.kind {
            NodeKind::Map(entries) => {
                for (k, v) in entries {
                    let name = k.key_string();
                    if !is_ident(&name) {
                        d.invalid(
                            k,
                            "input name",
                            &name,
                            "inputs are the names the part reads: identifiers such as `container`",
                        );
                        continue;
                    }
                    let (description, default) = match &v.kind {
                        NodeKind::Null => (String::new(), None),
                        _ => match d.fields(v, &format!("input `{name}`"), INPUT_KEYS) {
                            Some(fi) => (
                                fi.get("description")
                                    .and_then(|n| d.string(n, "description"))
                                    .unwrap_or_default(),
                                fi.get("default").cloned(),
                            ),
                            None => continue,
                        },
                    };
                    if default.is_some() && kind != PartKind::Bindings {
                        d.other(
                            k.pos,
                            format!("input `{name}` has a default, but only bindings parts can bind one"),
                            Some("condition and fix parts read their inputs from the rule's scope: drop `default`".into()),
                        );
                    }
                    inputs.push(PartInput {
                        name,
                        description,
                        default,
                        pos: k.pos,
                    });
                }
            }
            _ => d.wrong_type(
                n,
                "inputs",
                "a mapping of names to `{description, default}`",
            ),
        }
    }
    let mut uses = Vec::new();
    if let Some(n) = f.get("uses") {
        for item in d.seq(n, "uses", "a list of part names").to_vec() {
            if let Some(s) = d.string(&item, "uses") {
                uses.push((s, item.pos));
            }
        }
    }
    if d.errors.len() != before {
        return None;
    }
    Some(PartDef {
        id: id?,
        pack: pack.to_string(),
        source: Source {
            file: d.file.clone(),
            pos: node.pos,
        },
        description,
        kind,
        public,
        inputs,
        uses,
        body,
        library,
    })
}

/// A file's pack and the packs' `uses:` declarations, for [`crate::load::load_rule_sources`].
#[derive(Clone, Debug, Default)]
pub struct PackScopes {
    /// The pack of each file (by path as given); files not listed are loose
    /// rule files, which may use the public parts of any pack.
    pub pack_of: BTreeMap<PathBuf, String>,
    /// Each pack's `uses:`: the packs whose public parts it may use.
    pub uses: BTreeMap<String, Vec<String>>,
    /// Fact kinds the packs declare (`kinds:`), besides the built-in catalog.
    pub kinds: crate::catalog::TeamKinds,
}

/// The files below `dir` that rule loading reads, sorted: hidden entries and
/// `fixtures` folders are skipped (fixtures are read only when a test names them).
///
/// Symbolic links are followed, to files and to folders, as `--facts` folders
/// follow them (a linked folder of rules was skipped without a word). A link
/// that leads nowhere, or a link or folder that leads back into a folder being
/// walked, is an error naming it; a folder reached twice is walked once.
pub fn rule_tree_files(dir: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
    struct Walk {
        out: Vec<PathBuf>,
        seen: std::collections::HashSet<PathBuf>,
        ancestors: Vec<PathBuf>,
    }
    fn walk(w: &mut Walk, dir: &std::path::Path, real: PathBuf) -> std::io::Result<()> {
        if !w.seen.insert(real.clone()) {
            return Ok(());
        }
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.path());
        w.ancestors.push(real);
        for e in entries {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || name == "fixtures" {
                continue;
            }
            if !e.file_type()?.is_symlink() {
                if e.file_type()?.is_dir() {
                    let real = std::fs::canonicalize(&p)?;
                    walk(w, &p, real)?;
                } else {
                    w.out.push(p);
                }
                continue;
            }
            let target = std::fs::metadata(&p)
                .and_then(|m| Ok((m, std::fs::canonicalize(&p)?)))
                .map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!(
                            "`{}`: symbolic link that cannot be followed: {e}",
                            p.display()
                        ),
                    )
                })?;
            let (meta, real) = target;
            if !meta.is_dir() {
                w.out.push(p);
            } else if w.ancestors.iter().any(|a| a.starts_with(&real)) {
                return Err(std::io::Error::other(format!(
                    "`{}`: symbolic link leads back to `{}`, a folder that holds it: a loop",
                    p.display(),
                    real.display()
                )));
            } else {
                walk(w, &p, real)?;
            }
        }
        w.ancestors.pop();
        Ok(())
    }
    let mut w = Walk {
        out: Vec::new(),
        seen: std::collections::HashSet::new(),
        ancestors: Vec::new(),
    };
    let real = std::fs::canonicalize(dir)?;
    walk(&mut w, dir, real)?;
    Ok(w.out)
}

/// Reads a folder of packs laid out as the built-in ones are (`ROOT/PACK/pack.yaml`
/// beside the pack's rule and part files): every YAML file below `root` that is not
/// a manifest, a rule test or a fixture, with each file's pack (the first folder
/// below `root`) and each pack's `uses:`. For tests, benchmarks and tools that load
/// packs from disk; the CLI checks manifests fully.
pub fn read_pack_tree(
    root: &std::path::Path,
) -> std::io::Result<(Vec<crate::load::SourceFile>, PackScopes)> {
    let paths = rule_tree_files(root)?;
    let mut files = Vec::new();
    let mut scopes = PackScopes::default();
    for p in paths {
        let Ok(rel) = p.strip_prefix(root) else {
            continue;
        };
        let Some(pack) = rel
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().to_string())
        else {
            continue;
        };
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name == "pack.yaml" {
            let text = crate::read::read_text(&p, crate::read::Limit::CONFIG)?;
            let uses = crate::yaml::parse(&text)
                .ok()
                .and_then(|root| match root.kind {
                    NodeKind::Map(entries) => entries
                        .into_iter()
                        .find(|(k, _)| k.as_str() == Some("uses"))
                        .map(|(_, v)| v),
                    _ => None,
                })
                .map(|v| match v.kind {
                    NodeKind::Seq(items) => items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_string))
                        .collect(),
                    _ => Vec::new(),
                })
                .unwrap_or_default();
            scopes.uses.insert(pack, uses);
            continue;
        }
        let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
        if !yaml || crate::testing::is_test_file(&p) || rel.components().count() < 2 {
            continue;
        }
        scopes.pack_of.insert(p.clone(), pack);
        files.push(crate::load::SourceFile {
            text: crate::read::read_text(&p, crate::read::Limit::RULES)?,
            path: p,
        });
    }
    Ok((files, scopes))
}
