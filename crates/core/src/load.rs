//! Loading rule files: YAML text to [`RuleSet`], with every error of every file
//! collected, each at its `file:line:column`.
//!
//! The rule format (v1) is documented in `docs/rule-language.md`. In short:
//!
//! ```yaml
//! rules:
//!   - id: pod-image-pull-failing
//!     title: A container cannot pull its image
//!     severity: high
//!     subject: {kind: k8s/v1/Pod, where: {path: $.status.phase, equals: Pending}}
//!     each: {as: container, path: "$.status.containerStatuses[*]"}
//!     let:
//!       events: {join: k8s/v1/Event, on: $.involvedObject.uid, equals: $.metadata.uid}
//!     when: {path: $container.state.waiting.reason, in: [ImagePullBackOff, ErrImagePull]}
//!     finding:
//!       message: "{{ container.name }} cannot pull {{ container.image }}"
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use regex::Regex;
use serde_json::Value;

use crate::catalog::{Shape, SlotShape};
use crate::coverage::{NO_SITE, Site, SiteId, SiteKind, Sites};
use crate::decode::Decoder;
use crate::error::{LoadError, LoadErrorKind, closest};
use crate::expr::{Cond, CountOp, Matcher, Op, Quantifier, ScopedPath, ValueExpr};
use crate::finding::Severity;
use crate::func;
use crate::parts::{self, Library, PackScopes, PartKind};
use crate::rule::{
    ArgvPart, Binding, BindingKind, Each, FindingSpec, FixCommand, FixSpec, Join, Param, Rule,
    RuleDocs, RuleSet, Source, SubjectSpec,
};
use crate::template::{Mode, TemplateError, TemplateId, Templates};
use crate::warning::Warning;
use crate::yaml::{Node, NodeKind, Pos};
use rulerun_jsonpath::{JsonPath, PathError};

mod placeholders;

/// Keys of a rule file.
pub const FILE_KEYS: &[&str] = &["version", "rules", "parts"];
/// Keys of a rule.
pub const RULE_KEYS: &[&str] = &[
    "id",
    "title",
    "severity",
    "labels",
    "docs",
    "subject",
    "each",
    "let",
    "when",
    "finding",
    "supersedes",
    "params",
    "uses",
];
/// Keys of a rule parameter.
pub const PARAM_KEYS: &[&str] = &["default", "description"];
/// Keys of `docs`.
pub const DOCS_KEYS: &[&str] = &["summary", "whyItMatters", "howToFix", "references"];
/// Keys of `subject`.
pub const SUBJECT_KEYS: &[&str] = &["kind", "where"];
/// Keys of `each`.
pub const EACH_KEYS: &[&str] = &["as", "path", "where"];
/// Keys of a `let` binding.
pub const BINDING_KEYS: &[&str] = &[
    "join", "on", "equals", "where", "one", "call", "args", "value", "if",
];
/// Keys of `finding`.
pub const FINDING_KEYS: &[&str] = &["subject", "message", "evidence", "fix"];
/// Keys of `finding.subject`.
pub const FINDING_SUBJECT_KEYS: &[&str] = &["kind", "namespace", "name"];
/// Keys of a fix step.
pub const FIX_KEYS: &[&str] = &["description", "argv", "command", "if", "placeholders"];
/// Condition combinators.
pub const COMBINATORS: &[&str] = &["all", "any", "not"];
/// Matcher operators, with their one-line docs (the reference table in
/// `docs/rule-language.md` is generated from this list).
pub const MATCHERS: &[(&str, &str)] = &[
    (
        "equals",
        "a node equals the value (JSON equality; `1` equals `1.0`); a value starting with `$` is another path, and a node of each must be equal (`$$` for a literal `$`)",
    ),
    (
        "notEquals",
        "no node equals the value, or a node of the other path (true when the path finds nothing)",
    ),
    ("in", "a node equals one of the listed values"),
    (
        "notIn",
        "no node equals any of the listed values (true when the path finds nothing)",
    ),
    (
        "regex",
        "a string (or number, as text) node matches the regex, unanchored: write `^...$` to anchor",
    ),
    (
        "contains",
        "a string node contains the substring, or an array node contains the value",
    ),
    ("startsWith", "a string node starts with the prefix"),
    ("endsWith", "a string node ends with the suffix"),
    (
        "exists",
        "`true`: the path finds at least one node; `false`: it finds none",
    ),
    (
        "absent",
        "`true`: the path finds no node (same as `exists: false`)",
    ),
    (
        "gt",
        "a node is a number (or numeric string) greater than the value",
    ),
    ("gte", "... greater than or equal to the value"),
    ("lt", "... less than the value"),
    ("lte", "... less than or equal to the value"),
    (
        "count",
        "the number of nodes (for a singular path to an array or object, its length) is `n`, or `{gte: n}` / `{lte: n}`",
    ),
];
/// Keys of a matcher besides its operator.
pub const MATCHER_KEYS: &[&str] = &["path", "quantifier"];

const RESERVED: &[&str] = &[
    "subject",
    "rule",
    "params",
    "loop",
    "debug",
    "self",
    "range",
    "dict",
    "namespace",
    "placeholder",
];

/// A rule file's text with the name to report it under.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path shown in errors.
    pub path: PathBuf,
    /// The YAML text.
    pub text: String,
}

/// Loads rule files. Returns the rules that loaded and every error found; a rule
/// with any error is left out. Rule ids must be unique across all files. The
/// files form one unnamed pack: their rules may use each other's parts.
pub fn load_rules(files: &[SourceFile]) -> (RuleSet, Vec<LoadError>) {
    load_rule_sources(files, &PackScopes::default(), &[])
}

/// Loads rule and part files of several packs. `scopes` says which pack each file
/// belongs to and which packs' parts each pack may use; `library` holds part
/// files of packs whose rules are not loaded (`(pack, file)`), read only for the
/// parts they offer. Parts defined by `files` and used by no rule are errors
/// unless marked `public: true`.
pub fn load_rule_sources(
    files: &[SourceFile],
    scopes: &PackScopes,
    library: &[(String, SourceFile)],
) -> (RuleSet, Vec<LoadError>) {
    let mut set = RuleSet::default();
    let mut errors = Vec::new();
    // One kind, two shapes: rules written against either would be checked
    // against the first (declaration order decided which).
    for (first, refused) in scopes.kinds.conflicts() {
        let file = |k: &crate::catalog::Kind| match &k.origin {
            crate::catalog::Origin::Team(f) => f.clone(),
            crate::catalog::Origin::Builtin => std::path::PathBuf::from("<builtin>"),
        };
        errors.push(LoadError::new(
            &file(refused),
            Pos::default(),
            LoadErrorKind::Other {
                message: format!(
                    "kind `{}` is declared again with another shape (first in `{}`)",
                    refused.name,
                    file(first).display()
                ),
                help: Some(
                    "declare a kind once, in the pack that owns its facts, and have the other packs `uses:` it; or give both declarations the same shape".into(),
                ),
            },
        ));
    }
    let mut seen: HashMap<String, Source> = HashMap::new();
    let mut lib = Library::new(scopes.uses.clone());
    // First pass: parse every file and collect the parts.
    for (_, file) in library {
        set.templates.add_file(&file.path, &file.text);
    }
    for file in files {
        set.templates.add_file(&file.path, &file.text);
    }
    for (pack, file) in library {
        let mut d = Decoder::new(&file.path);
        if let Some(root) = d.parse(&file.text)
            && let NodeKind::Map(entries) = &root.kind
            && let Some((_, parts_node)) = entries.iter().find(|(k, _)| k.as_str() == Some("parts"))
        {
            parts::decode_parts(&mut d, parts_node, pack, true, &mut lib);
        }
        errors.append(&mut d.errors);
    }
    let mut parsed = Vec::with_capacity(files.len());
    for file in files {
        let mut d = Decoder::new(&file.path);
        let pack = scopes.pack_of.get(&file.path).cloned().unwrap_or_default();
        let root = d.parse(&file.text);
        if let Some(root) = &root
            && let Some(fields) = d.fields(root, "a rule file", FILE_KEYS)
        {
            d.format_version(&fields, "rule");
            match (fields.get("rules"), fields.get("parts")) {
                (None, None) => {
                    d.required(&fields, "rules", "a rule file");
                }
                (_, Some(p)) => parts::decode_parts(&mut d, p, &pack, false, &mut lib),
                _ => {}
            }
        }
        parsed.push((d, root, pack));
    }
    for (part, pos, path) in lib.cycles() {
        if let Some(p) = lib.parts.get(part) {
            errors.push(LoadError::new(
                &p.source.file,
                pos,
                LoadErrorKind::Other {
                    message: format!("parts use each other in a cycle: {path}"),
                    help: Some("a part may build on other parts, but not on itself: move the shared bindings into a part both use".into()),
                },
            ));
        }
    }
    let mut used: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for (d, root, pack) in parsed {
        let mut dec = RuleDecoder {
            d,
            templates: &mut set.templates,
            lib: &lib,
            pack,
            used: &mut used,
            rule_parts: Vec::new(),
            scoped_parts: Vec::new(),
            expanding: Vec::new(),
            current_rule: String::new(),
            part_failed: false,
            sites: Sites::default(),
            site_parts: Vec::new(),
            cond_context: String::new(),
            kinds: crate::catalog::Kinds::new(&scopes.kinds),
            shapes: Vec::new(),
            warnings: Vec::new(),
        };
        let rules = match &root {
            Some(root) => dec.rules(root),
            None => Vec::new(),
        };
        for rule in rules {
            if let Some(first) = seen.get(&rule.id) {
                let path = dec.d.file.clone();
                dec.d.errors.push(LoadError::new(
                    &path,
                    rule.source.pos,
                    LoadErrorKind::DuplicateRuleId {
                        id: rule.id.clone(),
                        first: first.to_string(),
                    },
                ));
                continue;
            }
            seen.insert(rule.id.clone(), rule.source.clone());
            set.rules.push(rule);
        }
        errors.append(&mut dec.d.errors);
        set.warnings.append(&mut dec.warnings);
    }
    set.warnings.sort();
    set.warnings.dedup();
    for (i, p) in lib.parts.iter().enumerate() {
        if !p.library && !p.public && !used.contains_key(&i) {
            errors.push(LoadError::new(
                &p.source.file,
                p.source.pos,
                LoadErrorKind::Other {
                    message: format!("part `{}` is not used by any rule", p.id),
                    help: Some(format!(
                        "{}; mark it `public: true` to offer it to packs that vendor this one, or delete it",
                        p.kind.how_to_use(&p.id)
                    )),
                },
            ));
        }
    }
    set.parts = lib.info(&used);
    (set, errors)
}

/// Parses one JSONPath written in a rule's syntax (`$.x` for the subject, `$name.x`
/// for a binding), returning the binding name (None for the subject) and the path.
pub fn split_scoped_path(text: &str) -> Option<(Option<&str>, String)> {
    let rest = text.strip_prefix('$')?;
    let ident_len = rest
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit()))
        .count();
    if ident_len == 0 {
        return Some((None, text.to_string()));
    }
    let (name, tail) = rest.split_at(ident_len);
    Some((Some(name), format!("${tail}")))
}

/// The state of decoding one rule file: the file's [`Decoder`] and the rule set's
/// template environment.
struct RuleDecoder<'a> {
    d: Decoder,
    templates: &'a mut Templates,
    /// Every part of the load.
    lib: &'a Library,
    /// The pack of the file being decoded.
    pack: String,
    /// Part index -> the rules that use it.
    used: &'a mut BTreeMap<usize, BTreeSet<String>>,
    /// The bindings parts expanded into the current rule, in order.
    rule_parts: Vec<usize>,
    /// The bindings parts expanded inside parts used with `as` (not in the
    /// rule's own scope, so no condition or fix part may rely on them).
    scoped_parts: Vec<usize>,
    /// Parts being expanded (a guard against cycles).
    expanding: Vec<usize>,
    /// The id of the rule being decoded (for `used_by`).
    current_rule: String,
    /// A bindings part of the current rule did not resolve or expand.
    part_failed: bool,
    /// The coverage sites of the current rule.
    sites: Sites,
    /// The parts being expanded, innermost last (`pack/name`), for sites.
    site_parts: Vec<String>,
    /// Where the condition being decoded is (`when`, `subject.where`...), for sites.
    cond_context: String,
    /// The fact kinds this load knows (built-in and the packs' own).
    kinds: crate::catalog::Kinds<'a>,
    /// What each slot of the current rule holds, when known (paths are checked
    /// against it), with the kind for `$` of a kind's documents.
    shapes: Vec<Option<(SlotShape<'a>, Option<String>)>>,
    /// Paths naming fields their values cannot have.
    warnings: Vec<Warning>,
}

/// The names a rule defines so far, in slot order.
#[derive(Clone, Debug)]
struct Names {
    names: Vec<String>,
    /// Which slot `$` means (the subject, or a join's candidate).
    dollar: usize,
    /// While a part used with `as: NAME` expands: `NAME`. The names it binds
    /// are stored as `NAME__local` (see [`scoped_name`]), and its own reads
    /// find them before the rule's names.
    scope: Option<String>,
}

/// The slot name of `local` bound inside a part used with `as: scope`. `__`
/// cannot appear in a binding name, so these never clash with the rule's.
fn scoped_name(scope: &str, local: &str) -> String {
    format!("{scope}__{local}")
}

impl Names {
    fn slot(&self, name: &str) -> Option<usize> {
        if let Some(scope) = &self.scope {
            let scoped = scoped_name(scope, name);
            if let Some(s) = self.names.iter().rposition(|n| *n == scoped) {
                return Some(s);
            }
        }
        self.names.iter().position(|n| n == name)
    }
    /// Whether `name` is bound in the current scope (the rule's, or the part
    /// used with `as`), where binding it again is an error.
    fn bound_here(&self, name: &str) -> bool {
        let full = self.full(name);
        self.names.contains(&full)
    }
    /// The slot name a binding `name` gets in the current scope.
    fn full(&self, name: &str) -> String {
        match &self.scope {
            Some(scope) => scoped_name(scope, name),
            None => name.to_string(),
        }
    }
    /// The names a part used with `as: scope` bound: `(local, slot)`.
    fn in_scope(&self, scope: &str) -> Vec<(String, usize)> {
        let prefix = format!("{scope}__");
        self.names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.strip_prefix(&prefix).map(|l| (l.to_string(), i)))
            .collect()
    }
    fn visible(&self) -> Vec<String> {
        let prefix = self.scope.as_ref().map(|s| format!("{s}__"));
        self.names
            .iter()
            .skip(2)
            .filter_map(
                |n| match prefix.as_deref().and_then(|p| n.strip_prefix(p)) {
                    Some(local) => Some(local.to_string()),
                    None => (!n.contains("__")).then(|| n.clone()),
                },
            )
            .collect()
    }
}

impl RuleDecoder<'_> {
    fn err(&mut self, pos: Pos, kind: LoadErrorKind) {
        // A bindings part that did not expand would make every use of the names
        // it binds one more error: the part's own error says it all.
        let follow_on = matches!(
            kind,
            LoadErrorKind::UnknownBinding { .. } | LoadErrorKind::UndefinedVariable { .. }
        );
        if follow_on && self.part_failed {
            return;
        }
        self.d.err(pos, kind);
    }

    /// The rules of a parsed file (the file's keys were checked when its parts
    /// were read).
    fn rules(&mut self, root: &Node) -> Vec<Rule> {
        let NodeKind::Map(entries) = &root.kind else {
            return Vec::new();
        };
        let Some((_, rules)) = entries.iter().find(|(k, _)| k.as_str() == Some("rules")) else {
            return Vec::new();
        };
        let NodeKind::Seq(items) = &rules.kind else {
            self.d.wrong_type(rules, "rules", "a list of rules");
            return Vec::new();
        };
        items.iter().filter_map(|r| self.rule(r)).collect()
    }

    fn rule(&mut self, node: &Node) -> Option<Rule> {
        let errors_before = self.d.errors.len();
        let templates_before = self.templates.mark();
        self.rule_parts.clear();
        self.scoped_parts.clear();
        self.expanding.clear();
        self.current_rule.clear();
        self.part_failed = false;
        self.sites = Sites::default();
        self.site_parts.clear();
        self.shapes.clear();
        let f = self.d.fields(node, "a rule", RULE_KEYS)?;
        let id = self.d.required(&f, "id", "a rule").and_then(|n| {
            let id = self.d.string(n, "id")?;
            let valid = !id.is_empty()
                && id.len() <= 100
                && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && id.starts_with(|c: char| c.is_ascii_lowercase());
            if !valid {
                self.err(
                    n.pos,
                    LoadErrorKind::InvalidValue {
                        what: "id".into(),
                        value: id.clone(),
                        help: "rule ids are lowercase words joined by `-`, e.g. `pod-image-pull-failing`".into(),
                    },
                );
            }
            self.current_rule = id.clone();
            Some(id)
        });
        let title = self
            .d
            .required(&f, "title", "a rule")
            .and_then(|n| self.d.string(n, "title"));
        let severity = self.d.required(&f, "severity", "a rule").and_then(|n| {
            let s = self.d.string(n, "severity")?;
            match s.parse::<Severity>() {
                Ok(sev) => Some(sev),
                Err(_) => {
                    self.err(
                        n.pos,
                        LoadErrorKind::InvalidValue {
                            what: "severity".into(),
                            help: match closest(&s, Severity::ALL.iter().map(|s| s.as_str())) {
                                Some(c) => format!("did you mean `{c}`?"),
                                None => "one of `info`, `low`, `medium`, `high`, `critical`".into(),
                            },
                            value: s,
                        },
                    );
                    None
                }
            }
        });
        let labels = f
            .get("labels")
            .map(|n| self.d.string_list(n, "labels"))
            .unwrap_or_default();
        let docs = f.get("docs").map(|n| self.docs(n)).unwrap_or_default();
        let params = f.get("params").map(|n| self.params(n)).unwrap_or_default();
        let supersedes = f
            .get("supersedes")
            .map(|n| self.d.string_list(n, "supersedes"))
            .unwrap_or_default();

        // Scope: the subject is slot 0.
        let mut names = Names {
            names: vec!["subject".into(), "params".into()],
            dollar: 0,
            scope: None,
        };
        let mut kinds = BTreeSet::new();
        let (subject_kind, filter) = match self.d.required(&f, "subject", "a rule") {
            Some(n) => self.subject(n, &names),
            None => (None, None),
        };
        if let Some(k) = &subject_kind {
            kinds.insert(k.clone());
        }
        let each = f.get("each").and_then(|n| self.each(n, &mut names));
        let mut bindings = Vec::new();
        if let Some(n) = f.get("uses") {
            self.rule_uses(n, &mut names, &mut kinds, &mut bindings);
        }
        if let Some(n) = f.get("let") {
            match &n.kind {
                NodeKind::Map(entries) => {
                    for (k, v) in entries {
                        if let Some(b) = self.binding(k, v, &mut names, &mut kinds) {
                            bindings.push(b);
                        }
                    }
                }
                _ => self
                    .d
                    .wrong_type(n, "let", "a mapping of names to bindings"),
            }
        }
        let (when, when_site) = self.root_cond(f.get("when"), &names, "when");
        let finding = self
            .d
            .required(&f, "finding", "a rule")
            .and_then(|n| self.finding(n, &names));

        if self.d.errors.len() != errors_before {
            return None;
        }
        Some(Rule {
            id: id?,
            title: title?,
            severity: severity?,
            labels,
            docs,
            supersedes,
            param_values: Value::Object(
                params
                    .iter()
                    .map(|p| (p.name.clone(), p.default.clone()))
                    .collect(),
            ),
            params,
            source: Source {
                file: self.d.file.clone(),
                pos: node.pos,
            },
            subject_kind: subject_kind?,
            kinds,
            names: names.names,
            filter,
            each,
            bindings,
            when,
            finding: finding?,
            parts: {
                let mut parts: Vec<String> = Vec::new();
                for &i in self.rule_parts.iter().chain(&self.scoped_parts) {
                    if let Some(q) = self.lib.parts.get(i).map(|p| p.qualified())
                        && !parts.contains(&q)
                    {
                        parts.push(q);
                    }
                }
                parts
            },
            template_vars: self.templates.variables_since(templates_before),
            templates: templates_before..self.templates.mark(),
            coverage: Sites {
                filter: self.sites.filter,
                when: when_site,
                ..std::mem::take(&mut self.sites)
            },
        })
    }

    /// Records a coverage site of the current rule, in the file being decoded.
    fn site(&mut self, pos: Pos, kind: SiteKind, what: String) -> SiteId {
        let site = Site {
            file: self.d.file.clone(),
            pos,
            kind,
            what,
            part: self.site_parts.last().cloned(),
        };
        self.sites.push(site)
    }

    /// A root condition (`when`, a `where`, an `if`), with the number of its first
    /// coverage site ([`NO_SITE`] when absent).
    fn root_cond(
        &mut self,
        node: Option<&Node>,
        names: &Names,
        context: &str,
    ) -> (Option<Cond>, SiteId) {
        let Some(node) = node else {
            return (None, NO_SITE);
        };
        let saved = std::mem::replace(&mut self.cond_context, context.to_string());
        let first = self.sites.next();
        let c = self.cond(node, names);
        self.cond_context = saved;
        (c, first)
    }

    /// Runs `f` with errors reported in `file` (a part's own file).
    fn in_file<T>(&mut self, file: &std::path::Path, f: impl FnOnce(&mut Self) -> T) -> T {
        let saved = std::mem::replace(&mut self.d.file, file.to_path_buf());
        let out = f(self);
        self.d.file = saved;
        out
    }

    /// Resolves a part named at `node` (a string) in the current pack, checking
    /// its kind.
    fn part_ref(&mut self, node: &Node, pack: &str, kind: PartKind) -> Option<usize> {
        let name = self.d.string(node, "part name")?;
        let idx = match self.lib.resolve(pack, &name) {
            Ok(i) => i,
            Err(e) => {
                self.d.other(node.pos, e.message, e.help);
                return None;
            }
        };
        let part = self.lib.parts.get(idx)?;
        if part.kind != kind {
            self.d.other(
                node.pos,
                format!(
                    "part `{name}` is a {} part, not a {} part",
                    match part.kind {
                        PartKind::Bindings => "bindings",
                        PartKind::Condition => "condition",
                        PartKind::Fix => "fix",
                    },
                    match kind {
                        PartKind::Bindings => "bindings",
                        PartKind::Condition => "condition",
                        PartKind::Fix => "fix",
                    }
                ),
                Some(part.kind.how_to_use(&name)),
            );
            return None;
        }
        self.used
            .entry(idx)
            .or_default()
            .insert(self.current_rule.clone());
        Some(idx)
    }

    /// A rule's `uses:`: bindings parts, expanded in order before `let`.
    fn rule_uses(
        &mut self,
        node: &Node,
        names: &mut Names,
        kinds: &mut BTreeSet<String>,
        bindings: &mut Vec<Binding>,
    ) {
        let items = self.d.seq(
            node,
            "uses",
            "a list of part names or `{part: NAME, with: {...}}`",
        );
        for item in items {
            let (name_node, with, scope) = match &item.kind {
                NodeKind::Map(_) => {
                    let Some(f) = self.d.fields(item, "a `uses` entry", parts::USE_KEYS) else {
                        continue;
                    };
                    let Some(n) = self.d.required(&f, "part", "a `uses` entry") else {
                        continue;
                    };
                    let scope = match f.get("as") {
                        Some(a) => match self.binding_name(a, names) {
                            Some(s) => Some(s),
                            None => {
                                self.part_failed = true;
                                continue;
                            }
                        },
                        None => None,
                    };
                    (n, f.get("with"), scope)
                }
                _ => (item, None, None),
            };
            let pack = self.pack.clone();
            match (self.part_ref(name_node, &pack, PartKind::Bindings), scope) {
                (Some(idx), None) => {
                    self.include_part(idx, with, name_node.pos, names, kinds, bindings)
                }
                (Some(idx), Some(scope)) => {
                    self.include_scoped(idx, &scope, with, name_node.pos, names, kinds, bindings)
                }
                (None, _) => self.part_failed = true,
            }
        }
    }

    /// Expands bindings part `idx` used with `as: scope`: its names (and those
    /// of the parts it builds on, expanded again inside the scope) are its own,
    /// so a part can be used twice with different inputs; then binds `scope` to
    /// an object of them (`$scope.NAME`, `{{ scope.NAME }}`).
    #[allow(clippy::too_many_arguments)]
    fn include_scoped(
        &mut self,
        idx: usize,
        scope: &str,
        with: Option<&Node>,
        at: Pos,
        names: &mut Names,
        kinds: &mut BTreeSet<String>,
        bindings: &mut Vec<Binding>,
    ) {
        let (outer_parts, outer_scope) = (
            std::mem::take(&mut self.rule_parts),
            names.scope.replace(scope.to_string()),
        );
        self.include_part(idx, with, at, names, kinds, bindings);
        let inner_parts = std::mem::replace(&mut self.rule_parts, outer_parts);
        names.scope = outer_scope;
        // Listed for `explain`, but not as expanded in the rule's own scope.
        for p in inner_parts {
            if !self.scoped_parts.contains(&p) {
                self.scoped_parts.push(p);
            }
        }
        let slot = names.names.len();
        self.set_shape(slot, None);
        let mut entries = Vec::new();
        for (local, s) in names.in_scope(scope) {
            let Ok(path) = JsonPath::parse("$") else {
                continue;
            };
            entries.push((
                local.clone(),
                ValueExpr::Path(ScopedPath {
                    slot: s,
                    path,
                    text: format!("${scope}.{local}"),
                }),
            ));
        }
        let site = self.site(at, SiteKind::Binding, format!("part used as `{scope}`"));
        bindings.push(Binding {
            slot,
            kind: BindingKind::Value(ValueExpr::Object(entries)),
            guard: None,
            site,
            guard_site: NO_SITE,
        });
        names.names.push(names.full(scope));
    }

    /// Expands bindings part `idx` (and the parts it builds on, first) into the
    /// rule's bindings. A part already expanded into this rule is not expanded
    /// again.
    fn include_part(
        &mut self,
        idx: usize,
        with: Option<&Node>,
        at: Pos,
        names: &mut Names,
        kinds: &mut BTreeSet<String>,
        bindings: &mut Vec<Binding>,
    ) {
        let lib = self.lib;
        let Some(part) = lib.parts.get(idx) else {
            return;
        };
        if self.rule_parts.contains(&idx) {
            if with.is_some() {
                self.d.other(
                    at,
                    format!("part `{}` is already used by this rule", part.id),
                    Some(
                        "a part is expanded once per rule; pass its inputs where it is first used"
                            .into(),
                    ),
                );
            }
            return;
        }
        if self.expanding.contains(&idx) {
            return; // a cycle, reported once for the whole load
        }
        self.expanding.push(idx);
        self.used
            .entry(idx)
            .or_default()
            .insert(self.current_rule.clone());
        self.site_parts.push(part.qualified());
        // Inputs: from `with`, else the scope, else the default.
        let mut given: Vec<(&Node, &Node)> = Vec::new();
        if let Some(w) = with {
            match &w.kind {
                NodeKind::Map(entries) => {
                    for (k, v) in entries {
                        let key = k.key_string();
                        if part.inputs.iter().any(|i| i.name == key) {
                            given.push((k, v));
                        } else {
                            let expected: Vec<&str> =
                                part.inputs.iter().map(|i| i.name.as_str()).collect();
                            self.d.other(
                                k.pos,
                                format!("part `{}` has no input `{key}`", part.id),
                                Some(match closest(&key, expected.iter().copied()) {
                                    Some(c) => format!("did you mean `{c}`?"),
                                    None if expected.is_empty() => {
                                        "this part takes no inputs: drop `with`".into()
                                    }
                                    None => format!(
                                        "its inputs: {}",
                                        expected
                                            .iter()
                                            .map(|e| format!("`{e}`"))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ),
                                }),
                            );
                        }
                    }
                }
                _ => self
                    .d
                    .wrong_type(w, "with", "a mapping of input names to values"),
            }
        }
        // The inputs given with `with` are bound first, so that the parts it
        // builds on read them (a scoped part's dependency reads the scope's
        // inputs, not the rule's names of the same name).
        for input in &part.inputs {
            let given_here = given.iter().find(|(k, _)| k.key_string() == input.name);
            if let Some((k, v)) = given_here {
                if names.bound_here(&input.name) {
                    self.d.other(
                        k.pos,
                        format!(
                            "`with` binds `{}`, which this rule already binds",
                            input.name
                        ),
                        Some(format!(
                            "drop `{}` from `with` (the part then reads the rule's `{}`), or rename the rule's",
                            input.name, input.name
                        )),
                    );
                    continue;
                }
                let slot = names.names.len();
                // `with` is evaluated where the part is used: in the rule's scope.
                let inner = names.scope.take();
                let e = self.value_expr(v, names);
                names.scope = inner;
                if let Some(e) = e {
                    let site = self.site(v.pos, SiteKind::Input, format!("input `{}`", input.name));
                    bindings.push(Binding {
                        slot,
                        kind: BindingKind::Value(e),
                        guard: None,
                        site,
                        guard_site: NO_SITE,
                    });
                    names.names.push(names.full(&input.name));
                }
            }
        }
        // The parts it builds on, then (named in the part's own file).
        for (dep, pos) in &part.uses {
            let dep_node = Node {
                pos: *pos,
                kind: NodeKind::Str(dep.clone()),
            };
            self.in_file(&part.source.file, |s| {
                if let Some(d) = s.part_ref(&dep_node, &part.pack, PartKind::Bindings) {
                    s.include_part(d, None, *pos, names, kinds, bindings);
                }
            });
        }
        // The other inputs: from the scope, else the default.
        let mut complete = true;
        for input in &part.inputs {
            if given.iter().any(|(k, _)| k.key_string() == input.name)
                || names.slot(&input.name).is_some()
            {
                continue;
            } else if let Some(default) = &input.default {
                let slot = names.names.len();
                let e = self.in_file(&part.source.file, |s| s.value_expr(default, names));
                if let Some(e) = e {
                    let site = self.site(
                        default.pos,
                        SiteKind::Input,
                        format!("input `{}`", input.name),
                    );
                    bindings.push(Binding {
                        slot,
                        kind: BindingKind::Value(e),
                        guard: None,
                        site,
                        guard_site: NO_SITE,
                    });
                    names.names.push(names.full(&input.name));
                }
            } else {
                complete = false;
                self.part_failed = true;
                self.d.other(
                    at,
                    format!(
                        "part `{}` needs `{}`, which is not bound here",
                        part.id, input.name
                    ),
                    Some(format!(
                        "bind `{}` before it (the `each` name, or a part used earlier), or pass `with: {{{}: ...}}`{}",
                        input.name,
                        input.name,
                        if input.description.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", input.description.trim())
                        }
                    )),
                );
            }
        }
        // The bindings, decoded in the part's file (not when an input is
        // missing: every use of it would be one more error).
        if let (true, NodeKind::Map(entries)) = (complete, &part.body.kind) {
            for (k, v) in entries {
                let name = k.key_string();
                if names.bound_here(&name) {
                    self.d.other(
                        at,
                        format!("part `{}` binds `{name}`, which this rule already binds", part.id),
                        Some(format!("rename the rule's `{name}`; a part's names are listed by `rulerun explain {}`", part.id)),
                    );
                    continue;
                }
                let b = self.in_file(&part.source.file, |s| s.binding(k, v, names, kinds));
                if let Some(b) = b {
                    bindings.push(b);
                }
            }
        }
        self.expanding.pop();
        self.site_parts.pop();
        self.rule_parts.push(idx);
    }

    /// Checks that a condition or fix part's inputs and the bindings parts it
    /// builds on are in scope where it is used.
    fn part_requirements(&mut self, idx: usize, at: Pos, names: &Names) -> bool {
        let lib = self.lib;
        let Some(part) = lib.parts.get(idx) else {
            return false;
        };
        let mut ok = true;
        for (dep, pos) in &part.uses {
            let resolved = lib.resolve(&part.pack, dep);
            match resolved {
                Ok(d) if self.rule_parts.contains(&d) => {}
                Ok(_) => {
                    self.d.other(
                        at,
                        format!(
                            "part `{}` builds on part `{dep}`, which this rule does not use",
                            part.id
                        ),
                        Some(format!("add `{dep}` to the rule's `uses:`")),
                    );
                    ok = false;
                }
                Err(e) => {
                    let file = part.source.file.clone();
                    self.in_file(&file, |s| s.d.other(*pos, e.message, e.help));
                    ok = false;
                }
            }
        }
        for input in &part.inputs {
            if names.slot(&input.name).is_none() {
                let provider = lib
                    .parts
                    .iter()
                    .find(|p| p.kind == PartKind::Bindings && p.provides().contains(&input.name));
                self.d.other(
                    at,
                    format!(
                        "part `{}` reads `{}`, which is not bound here",
                        part.id, input.name
                    ),
                    Some(match provider {
                        Some(p) => {
                            format!("part `{}` binds it: add it to the rule's `uses:`", p.id)
                        }
                        None => format!("bind `{}` in the rule's `let:`", input.name),
                    }),
                );
                ok = false;
            }
        }
        ok
    }

    /// `{use: NAME}` where a condition goes.
    fn condition_part(&mut self, node: &Node, names: &Names) -> Option<Cond> {
        let pack = self.pack.clone();
        let idx = self.part_ref(node, &pack, PartKind::Condition)?;
        if self.expanding.contains(&idx) {
            self.d.other(
                node.pos,
                "a condition part uses itself".into(),
                Some("a condition part may use other condition parts, but not itself".into()),
            );
            return None;
        }
        if !self.part_requirements(idx, node.pos, names) {
            return None;
        }
        let lib = self.lib;
        let part = lib.parts.get(idx)?;
        self.expanding.push(idx);
        let pack_saved = std::mem::replace(&mut self.pack, part.pack.clone());
        self.site_parts.push(part.qualified());
        let c = self.in_file(&part.source.file, |s| s.cond(&part.body, names));
        self.site_parts.pop();
        self.pack = pack_saved;
        self.expanding.pop();
        c
    }

    /// `- use: NAME` in `finding.fix`: the part's steps.
    fn fix_part(&mut self, node: &Node, names: &Names, out: &mut Vec<FixSpec>) {
        let pack = self.pack.clone();
        let Some(idx) = self.part_ref(node, &pack, PartKind::Fix) else {
            return;
        };
        if !self.part_requirements(idx, node.pos, names) {
            return;
        }
        let lib = self.lib;
        let Some(part) = lib.parts.get(idx) else {
            return;
        };
        let NodeKind::Seq(steps) = &part.body.kind else {
            return;
        };
        let pack_saved = std::mem::replace(&mut self.pack, part.pack.clone());
        self.site_parts.push(part.qualified());
        self.in_file(&part.source.file, |s| {
            for step in steps {
                if let Some(x) = s.fix_step(step, names, out.len() + 1) {
                    out.push(x);
                }
            }
        });
        self.site_parts.pop();
        self.pack = pack_saved;
    }

    fn params(&mut self, node: &Node) -> Vec<Param> {
        let NodeKind::Map(entries) = &node.kind else {
            self.d.wrong_type(
                node,
                "params",
                "a mapping of parameter names to `{default, description}`",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let name = k.key_string();
            let ident = name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ident {
                self.err(
                    k.pos,
                    LoadErrorKind::InvalidValue {
                        what: "parameter name".into(),
                        value: name,
                        help: "parameter names are identifiers, e.g. `approvedRegistries`".into(),
                    },
                );
                continue;
            }
            let Some(f) = self.d.fields(v, &format!("parameter `{name}`"), PARAM_KEYS) else {
                continue;
            };
            let Some(default) = self
                .d
                .required(&f, "default", &format!("parameter `{name}`"))
            else {
                continue;
            };
            let description = f
                .get("description")
                .and_then(|n| self.d.string(n, "description"))
                .unwrap_or_default();
            out.push(Param {
                name,
                description,
                default: default.to_json(),
            });
        }
        out
    }

    fn docs(&mut self, node: &Node) -> RuleDocs {
        let Some(f) = self.d.fields(node, "docs", DOCS_KEYS) else {
            return RuleDocs::default();
        };
        let mut text = |key: &str| {
            f.get(key)
                .and_then(|n| self.d.string(n, key))
                .unwrap_or_default()
        };
        let summary = text("summary");
        let why_it_matters = text("whyItMatters");
        let how_to_fix = text("howToFix");
        let references = f
            .get("references")
            .map(|n| self.d.string_list(n, "references"))
            .unwrap_or_default();
        RuleDocs {
            summary,
            why_it_matters,
            how_to_fix,
            references,
        }
    }

    fn subject(&mut self, node: &Node, names: &Names) -> (Option<String>, Option<Cond>) {
        let Some(f) = self.d.fields(node, "subject", SUBJECT_KEYS) else {
            return (None, None);
        };
        let kind = self
            .d
            .required(&f, "kind", "subject")
            .and_then(|n| self.kind_name(n));
        if let Some(k) = &kind {
            let shape = self
                .kind_shape(k)
                .map(|s| (SlotShape::One(s), Some(k.clone())));
            self.shapes.clear();
            self.shapes.push(shape);
        }
        let (filter, site) = self.root_cond(f.get("where"), names, "subject.where");
        self.sites.filter = site;
        (kind, filter)
    }

    fn kind_name(&mut self, node: &Node) -> Option<String> {
        let kind = self.d.string(node, "kind")?;
        let valid = crate::facts::is_kind_name(&kind);
        if !valid {
            self.err(
                node.pos,
                LoadErrorKind::InvalidValue {
                    what: "kind".into(),
                    value: kind,
                    help: "fact kinds are named after their API, e.g. `k8s/v1/Pod`, `k8s/apps/v1/ReplicaSet`, `aws/ecr/RepositoryPolicy`".into(),
                },
            );
            return None;
        }
        self.known_kind(node.pos, &kind);
        Some(kind)
    }

    fn each(&mut self, node: &Node, names: &mut Names) -> Option<Each> {
        let f = self.d.fields(node, "each", EACH_KEYS)?;
        let name_node = self.d.required(&f, "as", "each")?;
        let name = self.binding_name(name_node, names)?;
        let path = self
            .d
            .required(&f, "path", "each")
            .and_then(|n| self.path(n, names))?;
        let site = self.site(node.pos, SiteKind::Each, format!("`each` `{name}`"));
        let element = self.each_shape(&path);
        self.set_shape(names.names.len(), element);
        names.names.push(names.full(&name));
        let (filter, filter_site) = self.root_cond(f.get("where"), names, "each.where");
        Some(Each {
            path,
            filter,
            site,
            filter_site,
        })
    }

    fn binding_name(&mut self, node: &Node, names: &Names) -> Option<String> {
        let name = self.d.string(node, "binding name")?;
        let ident = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let is_function = func::lookup(&name).is_some();
        let scoped = name.contains("__");
        if !ident
            || scoped
            || RESERVED.contains(&name.as_str())
            || is_function
            || names.bound_here(&name)
        {
            self.err(
                node.pos,
                LoadErrorKind::InvalidValue {
                    what: "binding name".into(),
                    help: if names.bound_here(&name) {
                        "each name is bound once per rule".into()
                    } else if scoped {
                        "`__` is reserved for the names of parts used with `as`: write one `_`".into()
                    } else if is_function {
                        format!("`{name}` is a function; a binding of that name would hide it in templates")
                    } else if RESERVED.contains(&name.as_str()) {
                        format!(
                            "`{name}` is reserved; reserved names: {}",
                            RESERVED.join(", ")
                        )
                    } else {
                        "names are identifiers: letters, digits and `_`, not starting with a digit"
                            .into()
                    },
                    value: name,
                },
            );
            return None;
        }
        Some(name)
    }

    fn binding(
        &mut self,
        key: &Node,
        node: &Node,
        names: &mut Names,
        kinds: &mut BTreeSet<String>,
    ) -> Option<Binding> {
        let name = self.binding_name(key, names)?;
        let f = self
            .d
            .fields(node, &format!("binding `{name}`"), BINDING_KEYS)?;
        let slot = names.names.len();
        self.set_shape(slot, None);
        // Its site first (its kind known below), then those of its conditions.
        let site = self.site(key.pos, SiteKind::Binding, format!("binding `{name}`"));
        let (guard, guard_site) = self.root_cond(f.get("if"), names, &format!("let.{name}.if"));
        let forms = ["join", "call", "value"]
            .iter()
            .filter(|k| f.get(k).is_some())
            .count();
        if forms != 1 {
            self.err(
                node.pos,
                LoadErrorKind::Other {
                    message: format!("binding `{name}` needs exactly one of `join`, `call` or `value`"),
                    help: Some("e.g. `node: {join: k8s/v1/Node, on: $.metadata.name, equals: $.spec.nodeName, one: true}`".into()),
                },
            );
            return None;
        }
        let kind = if let Some(j) = f.get("join") {
            let kind = self.kind_name(j)?;
            kinds.insert(kind.clone());
            let kind_shape = self.kind_shape(&kind);
            let on_node = self.d.required(&f, "on", &format!("binding `{name}`"))?;
            let eq_node = self
                .d
                .required(&f, "equals", &format!("binding `{name}`"))?;
            let on: Vec<JsonPath> = self
                .one_or_many(on_node)
                .into_iter()
                .filter_map(|n| {
                    let text = self.d.string(n, "on")?;
                    match split_scoped_path(&text) {
                        Some((None, p)) => {
                            let path = self.compile_path(n.pos, &p)?;
                            if let Some(s) = kind_shape {
                                self.check_path(
                                    n.pos,
                                    SlotShape::One(s),
                                    &path,
                                    &text,
                                    &format!("a `{kind}`"),
                                );
                            }
                            Some(path)
                        }
                        _ => {
                            self.err(
                                n.pos,
                                LoadErrorKind::InvalidValue {
                                    what: "on".into(),
                                    value: text,
                                    help: "`on` is a path in the joined fact, starting with `$.`"
                                        .into(),
                                },
                            );
                            None
                        }
                    }
                })
                .collect();
            let equals: Vec<ScopedPath> = self
                .one_or_many(eq_node)
                .into_iter()
                .filter_map(|n| self.path(n, names))
                .collect();
            if on.len() != equals.len() {
                self.err(
                    eq_node.pos,
                    LoadErrorKind::Other {
                        message: format!(
                            "`on` has {} key path(s) but `equals` has {}",
                            on.len(),
                            equals.len()
                        ),
                        help: Some("composite keys list the same number of paths in both".into()),
                    },
                );
                return None;
            }
            let one = match f.get("one") {
                Some(n) => match n.kind {
                    NodeKind::Bool(b) => b,
                    _ => {
                        self.d.wrong_type(n, "one", "`true` or `false`");
                        false
                    }
                },
                None => false,
            };
            // In `where`, `$` is the candidate fact, placed in this binding's slot.
            let mut inner = names.clone();
            inner.names.push(names.full(&name));
            inner.dollar = slot;
            self.set_shape(slot, None);
            if let (Some(s), Some(entry)) = (kind_shape, self.shapes.get_mut(slot)) {
                *entry = Some((SlotShape::One(s), Some(kind.clone())));
            }
            let (filter, filter_site) =
                self.root_cond(f.get("where"), &inner, &format!("let.{name}.where"));
            self.set_shape(
                slot,
                kind_shape.map(|s| {
                    if one {
                        SlotShape::One(s)
                    } else {
                        SlotShape::List(s)
                    }
                }),
            );
            BindingKind::Join(Box::new(Join {
                id: crate::join::JoinId::of(&kind, &on),
                kind,
                on,
                equals,
                filter,
                one,
                filter_site,
            }))
        } else {
            for k in ["on", "equals", "where", "one"] {
                if let Some(n) = f.get(k) {
                    self.err(
                        n.pos,
                        LoadErrorKind::Other {
                            message: format!("`{k}` only applies to `join` bindings"),
                            help: None,
                        },
                    );
                }
            }
            if let Some(c) = f.get("call") {
                let fname = self.d.string(c, "call")?;
                let Some(function) = func::lookup(&fname) else {
                    self.err(
                        c.pos,
                        LoadErrorKind::UnknownFunction {
                            suggestion: closest(&fname, func::all().map(|f| f.name)),
                            name: fname,
                        },
                    );
                    return None;
                };
                let args: Vec<ValueExpr> = match f.get("args") {
                    Some(a) => match &a.kind {
                        NodeKind::Seq(items) => items
                            .iter()
                            .filter_map(|i| self.value_expr(i, names))
                            .collect(),
                        _ => vec![self.value_expr(a, names)?],
                    },
                    None => Vec::new(),
                };
                if args.len() < function.min_args || args.len() > function.max_args {
                    self.err(
                        c.pos,
                        LoadErrorKind::Arity {
                            name: fname,
                            expected: function.arity(),
                            got: args.len(),
                        },
                    );
                    return None;
                }
                let pattern = match &function.compiled {
                    Some(cc) => {
                        let node = match f.get("args").map(|a| &a.kind) {
                            Some(NodeKind::Seq(items)) => items.get(cc.pattern_arg),
                            _ => None,
                        };
                        let pos = node.map_or(c.pos, |n| n.pos);
                        match args.get(cc.pattern_arg) {
                            Some(ValueExpr::Literal(Value::String(p))) => {
                                match rulerun_jsonpath::compile_regex(p) {
                                    Ok(re) => {
                                        if let Some(bad) = re
                                            .capture_names()
                                            .flatten()
                                            .find(|n| cc.reserved_groups.contains(n))
                                        {
                                            self.err(
                                                pos,
                                                LoadErrorKind::Other {
                                                    message: format!(
                                                        "`{fname}`: a group may not be named `{bad}`"
                                                    ),
                                                    help: Some(format!(
                                                        "`{}` are keys of the result; rename the group",
                                                        cc.reserved_groups.join("`, `")
                                                    )),
                                                },
                                            );
                                            return None;
                                        }
                                        Some(re)
                                    }
                                    Err(e) => {
                                        self.err(
                                            pos,
                                            LoadErrorKind::Regex {
                                                message: e.to_string(),
                                                pattern: p.clone(),
                                            },
                                        );
                                        return None;
                                    }
                                }
                            }
                            _ => {
                                self.err(
                                    pos,
                                    LoadErrorKind::Other {
                                        message: format!(
                                            "`{fname}`: argument {} must be a literal string (the pattern is compiled when the rule loads)",
                                            cc.pattern_arg + 1
                                        ),
                                        help: Some("write the regex itself, not a path or template".into()),
                                    },
                                );
                                return None;
                            }
                        }
                    }
                    None => None,
                };
                BindingKind::Call {
                    function,
                    args,
                    pattern,
                }
            } else {
                if let Some(n) = f.get("args") {
                    self.err(
                        n.pos,
                        LoadErrorKind::Other {
                            message: "`args` only applies to `call` bindings".into(),
                            help: None,
                        },
                    );
                }
                let v = f.get("value")?;
                let e = self.value_expr(v, names)?;
                let shape = self.value_shape(&e);
                self.set_shape(slot, shape);
                BindingKind::Value(e)
            }
        };
        if matches!(kind, BindingKind::Join(_)) {
            self.sites.set_kind(site, SiteKind::Join);
        }
        names.names.push(names.full(&name));
        Some(Binding {
            slot,
            kind,
            guard,
            site,
            guard_site,
        })
    }

    fn one_or_many<'n>(&mut self, node: &'n Node) -> Vec<&'n Node> {
        match &node.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            _ => vec![node],
        }
    }

    fn compile_path(&mut self, pos: Pos, text: &str) -> Option<JsonPath> {
        match JsonPath::parse(text) {
            Ok(p) => Some(p),
            // A join's `on` path is evaluated on the joined documents alone,
            // before any subject, to index them.
            Err(PathError::UnknownBinding { name, .. }) => {
                self.err(
                    pos,
                    LoadErrorKind::Other {
                        message: format!(
                            "`${name}` cannot be read here: a join's `on` path reads only the joined fact"
                        ),
                        help: Some(
                            "compare with the binding in `equals:` or in the join's `where:` instead"
                                .into(),
                        ),
                    },
                );
                None
            }
            Err(e) => {
                self.err(pos, LoadErrorKind::Path(e));
                None
            }
        }
    }

    /// A path whose filters may read the rule's names (`$name.x` inside a
    /// filter reads the slot `name`).
    fn compile_scoped(&mut self, pos: Pos, text: &str, names: &Names) -> Option<JsonPath> {
        match JsonPath::parse_bound(text, &|n: &str| names.slot(n)) {
            Ok(p) => Some(p),
            Err(PathError::UnknownBinding { name, .. }) => {
                self.err(
                    pos,
                    LoadErrorKind::UnknownBinding {
                        name,
                        known: names.visible(),
                    },
                );
                None
            }
            Err(e) => {
                self.err(pos, LoadErrorKind::Path(e));
                None
            }
        }
    }

    fn path(&mut self, node: &Node, names: &Names) -> Option<ScopedPath> {
        let text = self.d.string(node, "path")?;
        self.path_text(node.pos, &text, names)
    }

    fn path_text(&mut self, pos: Pos, text: &str, names: &Names) -> Option<ScopedPath> {
        let Some((name, rest)) = split_scoped_path(text) else {
            self.err(
                pos,
                LoadErrorKind::InvalidValue {
                    what: "path".into(),
                    value: text.to_string(),
                    help: "paths start with `$.` (the subject) or `$name.` (a binding), e.g. `$.metadata.name`".into(),
                },
            );
            return None;
        };
        let slot = match name {
            None => names.dollar,
            Some(n) => match names.slot(n) {
                Some(s) => s,
                None => {
                    self.err(
                        pos,
                        LoadErrorKind::UnknownBinding {
                            name: n.to_string(),
                            known: names.visible(),
                        },
                    );
                    return None;
                }
            },
        };
        let path = self.compile_scoped(pos, &rest, names)?;
        if let Some((start, label)) = self.shapes.get(slot).cloned().flatten() {
            let what = match (name, label) {
                (None, Some(kind)) => format!("a `{kind}`"),
                _ => format!("`${}`", name.unwrap_or_default()),
            };
            self.check_path(pos, start, &path, text, &what);
        }
        Some(ScopedPath {
            slot,
            path,
            text: text.to_string(),
        })
    }

    fn cond(&mut self, node: &Node, names: &Names) -> Option<Cond> {
        match &node.kind {
            // A list is shorthand for `all`.
            NodeKind::Seq(items) => {
                let what = format!("condition list (all) in `{}`", self.cond_context);
                self.site(node.pos, SiteKind::Condition, what);
                Some(Cond::All(
                    items.iter().filter_map(|i| self.cond(i, names)).collect(),
                ))
            }
            NodeKind::Map(entries) => {
                let first = entries.first().and_then(|(k, _)| k.as_str()).unwrap_or("");
                if entries.len() == 1 && first == "use" {
                    let (_, v) = entries.first()?;
                    return self.condition_part(v, names);
                }
                if entries.len() == 1 && COMBINATORS.contains(&first) {
                    let (_, v) = entries.first()?;
                    let kind = if first == "not" {
                        SiteKind::Implied
                    } else {
                        SiteKind::Condition
                    };
                    let what = format!("condition `{first}` in `{}`", self.cond_context);
                    self.site(node.pos, kind, what);
                    return match first {
                        "not" => self.cond(v, names).map(|c| Cond::Not(Box::new(c))),
                        combinator => {
                            let NodeKind::Seq(items) = &v.kind else {
                                self.d.wrong_type(v, combinator, "a list of conditions");
                                return None;
                            };
                            let cs = items.iter().filter_map(|i| self.cond(i, names)).collect();
                            Some(if combinator == "all" {
                                Cond::All(cs)
                            } else {
                                Cond::Any(cs)
                            })
                        }
                    };
                }
                let op = entries
                    .iter()
                    .filter_map(|(k, _)| k.as_str())
                    .find(|k| MATCHERS.iter().any(|(m, _)| m == k))
                    .unwrap_or("?");
                let path = entries
                    .iter()
                    .find(|(k, _)| k.as_str() == Some("path"))
                    .and_then(|(_, v)| v.as_str())
                    .unwrap_or("?");
                let what = format!("condition `{path} {op}` in `{}`", self.cond_context);
                self.site(node.pos, SiteKind::Condition, what);
                self.matcher(node, entries, names).map(Cond::Match)
            }
            _ => {
                self.d.wrong_type(
                    node,
                    "condition",
                    "a mapping (`{path: ..., equals: ...}`, `all`, `any` or `not`) or a list",
                );
                None
            }
        }
    }

    fn matcher(&mut self, node: &Node, entries: &[(Node, Node)], names: &Names) -> Option<Matcher> {
        let mut path = None;
        let mut quantifier = Quantifier::Any;
        let mut op: Option<(Pos, &str, &Node)> = None;
        let mut ok = true;
        for (k, v) in entries {
            let key = k.as_str().unwrap_or("");
            match key {
                "path" => path = self.path(v, names),
                "quantifier" => match v.as_str() {
                    Some("any") => quantifier = Quantifier::Any,
                    Some("all") => quantifier = Quantifier::All,
                    _ => {
                        self.err(
                            v.pos,
                            LoadErrorKind::InvalidValue {
                                what: "quantifier".into(),
                                value: v.key_string(),
                                help: "`any` (a node matches; the default) or `all` (every node matches)".into(),
                            },
                        );
                        ok = false;
                    }
                },
                k2 if MATCHERS.iter().any(|(m, _)| *m == k2) => {
                    if let Some((p, prev, _)) = op {
                        self.err(
                            k.pos,
                            LoadErrorKind::Other {
                                message: format!("a matcher takes one operator; `{prev}` (at {p}) and `{k2}` are both given"),
                                help: Some("combine matchers with `all:`, `any:` or `not:`".into()),
                            },
                        );
                        ok = false;
                    }
                    op = Some((k.pos, k2, v));
                }
                _ => {
                    let mut expected: Vec<&'static str> = MATCHER_KEYS.to_vec();
                    expected.extend(COMBINATORS);
                    expected.extend(MATCHERS.iter().map(|(m, _)| *m));
                    let shown = k.key_string();
                    self.err(
                        k.pos,
                        LoadErrorKind::UnknownKey {
                            suggestion: closest(&shown, expected.iter().copied()),
                            key: shown,
                            context: "a condition".into(),
                            expected,
                        },
                    );
                    ok = false;
                }
            }
        }
        let Some((_, opname, value)) = op else {
            self.err(
                node.pos,
                LoadErrorKind::Other {
                    message: "a condition needs an operator".into(),
                    help: Some(format!(
                        "add one of: {}",
                        MATCHERS
                            .iter()
                            .map(|(m, _)| format!("`{m}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                },
            );
            return None;
        };
        if entries.iter().all(|(k, _)| k.as_str() != Some("path")) {
            self.err(
                node.pos,
                LoadErrorKind::MissingKey {
                    key: "path",
                    context: "a condition".into(),
                },
            );
            return None;
        }
        let op = self.op(opname, value, names)?;
        if !ok {
            return None;
        }
        Some(Matcher {
            path: path?,
            op,
            quantifier,
        })
    }

    fn op(&mut self, name: &str, v: &Node, names: &Names) -> Option<Op> {
        let number = |d: &mut Self| match v.kind {
            NodeKind::Int(i) => Some(i as f64),
            NodeKind::Float(f) => Some(f),
            _ => {
                d.d.wrong_type(v, name, "a number");
                None
            }
        };
        let list = |d: &mut Self| match &v.kind {
            NodeKind::Seq(items) => Some(items.iter().map(Node::to_json).collect::<Vec<Value>>()),
            _ => {
                d.d.wrong_type(v, name, "a list of values");
                None
            }
        };
        Some(match name {
            // A string starting with `$` compares with another path; `$$` escapes.
            "equals" | "notEquals" => match v.as_str() {
                Some(s) if s.starts_with("$$") => {
                    let lit = Value::String(s[1..].to_string());
                    if name == "equals" {
                        Op::Equals(lit)
                    } else {
                        Op::NotEquals(lit)
                    }
                }
                Some(s) if s.starts_with('$') => {
                    let other = self.path_text(v.pos, s, names)?;
                    if name == "equals" {
                        Op::EqualsPath(other)
                    } else {
                        Op::NotEqualsPath(other)
                    }
                }
                _ if name == "equals" => Op::Equals(v.to_json()),
                _ => Op::NotEquals(v.to_json()),
            },
            "in" => Op::In(list(self)?),
            "notIn" => Op::NotIn(list(self)?),
            "contains" => Op::Contains(v.to_json()),
            "startsWith" => Op::StartsWith(self.d.string(v, name)?),
            "endsWith" => Op::EndsWith(self.d.string(v, name)?),
            "regex" => {
                let pattern = self.d.string(v, name)?;
                match rulerun_jsonpath::compile_regex(&pattern) {
                    Ok(re) => Op::Regex(Box::new(re)),
                    Err(e) => {
                        self.err(
                            v.pos,
                            LoadErrorKind::Regex {
                                message: e.to_string(),
                                pattern,
                            },
                        );
                        return None;
                    }
                }
            }
            "exists" | "absent" => match v.kind {
                NodeKind::Bool(b) => Op::Exists(if name == "exists" { b } else { !b }),
                _ => {
                    self.d.wrong_type(v, name, "`true` or `false`");
                    return None;
                }
            },
            "gt" => Op::Gt(number(self)?),
            "gte" => Op::Gte(number(self)?),
            "lt" => Op::Lt(number(self)?),
            "lte" => Op::Lte(number(self)?),
            "count" => {
                let as_usize = |n: &Node| match n.kind {
                    NodeKind::Int(i) => usize::try_from(i).ok(),
                    _ => None,
                };
                match &v.kind {
                    NodeKind::Int(_) => match as_usize(v) {
                        Some(n) => Op::Count(CountOp::Eq(n)),
                        None => {
                            self.d.wrong_type(v, "count", "a non-negative integer");
                            return None;
                        }
                    },
                    NodeKind::Map(entries) if entries.len() == 1 => {
                        let (k, n) = entries.first()?;
                        let Some(n) = as_usize(n) else {
                            self.d.wrong_type(n, "count", "a non-negative integer");
                            return None;
                        };
                        match k.as_str() {
                            Some("gte") => Op::Count(CountOp::Gte(n)),
                            Some("lte") => Op::Count(CountOp::Lte(n)),
                            Some("equals") => Op::Count(CountOp::Eq(n)),
                            _ => {
                                self.err(
                                    k.pos,
                                    LoadErrorKind::InvalidValue {
                                        what: "count".into(),
                                        value: k.key_string(),
                                        help: "`count: N`, `count: {gte: N}` or `count: {lte: N}`"
                                            .into(),
                                    },
                                );
                                return None;
                            }
                        }
                    }
                    _ => {
                        self.d
                            .wrong_type(v, "count", "an integer or `{gte: N}` / `{lte: N}`");
                        return None;
                    }
                }
            }
            _ => return None,
        })
    }

    fn template_scope(names: &Names) -> Vec<String> {
        let mut scope: Vec<String> = names.names.clone();
        scope.push("rule".into());
        scope
    }

    fn template(
        &mut self,
        node: &Node,
        names: &Names,
        mode: Mode,
        what: &str,
    ) -> Option<TemplateId> {
        let mut text = self.d.string(node, what)?;
        // Inside a part used with `as`, the part's own names are stored under
        // its scope: the template reads them through a `with` block that binds
        // each local name it reads to its slot's name (on the template's first
        // line, so line numbers stay).
        if let Some(scope) = &names.scope {
            let aliases: Vec<String> = Templates::reads(&text)
                .unwrap_or_default()
                .into_iter()
                .filter(|v| names.bound_here(v))
                .map(|v| format!("{v} = {}", scoped_name(scope, &v)))
                .collect();
            if !aliases.is_empty() {
                text = format!("{{% with {} %}}{text}{{% endwith %}}", aliases.join(", "));
            }
        }
        let scope = Self::template_scope(names);
        match self.templates.compile(&text, mode, &scope) {
            Ok(id) => {
                self.templates.set_origin(id, &self.d.file, node.pos);
                self.placeholders_allowed(node, id, what)
            }
            Err(TemplateError::Undefined(name)) => {
                let known = scope;
                self.err(node.pos, LoadErrorKind::UndefinedVariable { name, known });
                None
            }
            Err(TemplateError::Unsafe(message)) => {
                self.err(
                    node.pos,
                    LoadErrorKind::Other {
                        message,
                        help: Some(
                            "prefer `argv: [...]`: each element becomes exactly one shell word"
                                .into(),
                        ),
                    },
                );
                None
            }
            Err(e) => {
                self.err(
                    node.pos,
                    LoadErrorKind::Template {
                        message: e.to_string(),
                    },
                );
                None
            }
        }
    }

    fn value_expr(&mut self, node: &Node, names: &Names) -> Option<ValueExpr> {
        match &node.kind {
            NodeKind::Str(s) if s.starts_with("$$") => {
                Some(ValueExpr::Literal(Value::String(s[1..].to_string())))
            }
            NodeKind::Str(s) if s.starts_with('$') => {
                self.path_text(node.pos, s, names).map(ValueExpr::Path)
            }
            NodeKind::Str(s) if s.contains("{{") || s.contains("{%") => self
                .template(node, names, Mode::Plain, "value")
                .map(ValueExpr::Template),
            NodeKind::Seq(items) => Some(ValueExpr::Array(
                items
                    .iter()
                    .map(|i| self.value_expr(i, names))
                    .collect::<Option<Vec<_>>>()?,
            )),
            NodeKind::Map(entries) => Some(ValueExpr::Object(
                entries
                    .iter()
                    .map(|(k, v)| Some((k.key_string(), self.value_expr(v, names)?)))
                    .collect::<Option<Vec<_>>>()?,
            )),
            _ => Some(ValueExpr::Literal(node.to_json())),
        }
    }

    fn finding(&mut self, node: &Node, names: &Names) -> Option<FindingSpec> {
        let f = self.d.fields(node, "finding", FINDING_KEYS)?;
        let subject = match f.get("subject") {
            Some(s) => {
                let sf = self.d.fields(s, "finding subject", FINDING_SUBJECT_KEYS)?;
                SubjectSpec {
                    kind: sf.get("kind").and_then(|n| self.value_expr(n, names)),
                    namespace: sf.get("namespace").and_then(|n| self.value_expr(n, names)),
                    name: sf.get("name").and_then(|n| self.value_expr(n, names)),
                }
            }
            None => SubjectSpec::default(),
        };
        let message = self
            .d
            .required(&f, "message", "finding")
            .and_then(|n| self.template(n, names, Mode::Plain, "message"));
        let mut evidence = Vec::new();
        if let Some(e) = f.get("evidence") {
            match &e.kind {
                NodeKind::Map(entries) => {
                    for (k, v) in entries {
                        if let Some(x) = self.value_expr(v, names) {
                            evidence.push((k.key_string(), x));
                        }
                    }
                }
                _ => self
                    .d
                    .wrong_type(e, "evidence", "a mapping of names to values"),
            }
        }
        let mut fix = Vec::new();
        if let Some(x) = f.get("fix") {
            match &x.kind {
                NodeKind::Seq(steps) => {
                    for step in steps {
                        if let NodeKind::Map(e) = &step.kind
                            && let [(k, v)] = e.as_slice()
                            && k.as_str() == Some("use")
                        {
                            self.fix_part(v, names, &mut fix);
                        } else if let Some(s) = self.fix_step(step, names, fix.len() + 1) {
                            fix.push(s);
                        }
                    }
                }
                _ => self.d.wrong_type(x, "fix", "a list of steps"),
            }
        }
        Some(FindingSpec {
            subject,
            message: message?,
            evidence,
            fix,
        })
    }

    fn fix_step(&mut self, node: &Node, names: &Names, n: usize) -> Option<FixSpec> {
        let f = self.d.fields(node, "a fix step", FIX_KEYS)?;
        let site = self.site(node.pos, SiteKind::Fix, format!("fix step {n}"));
        let description = self
            .d
            .required(&f, "description", "a fix step")
            .and_then(|n| self.template(n, names, Mode::Plain, "description"));
        let command = match (f.get("argv"), f.get("command")) {
            (Some(a), None) => match &a.kind {
                NodeKind::Seq(items) if !items.is_empty() => {
                    let parts: Option<Vec<ArgvPart>> = items
                        .iter()
                        .map(|i| match i.as_str() {
                            Some(s) if s.starts_with('$') && !s.starts_with("$$") => {
                                self.path_text(i.pos, s, names).map(ArgvPart::Path)
                            }
                            Some(s) if s.starts_with("$$") => {
                                let lit = Node {
                                    pos: i.pos,
                                    kind: NodeKind::Str(s[1..].to_string()),
                                };
                                self.template(&lit, names, Mode::Plain, "argv")
                                    .map(ArgvPart::Template)
                            }
                            _ => self
                                .template(i, names, Mode::Plain, "argv")
                                .map(ArgvPart::Template),
                        })
                        .collect();
                    FixCommand::Argv(parts?)
                }
                _ => {
                    self.d
                        .wrong_type(a, "argv", "a non-empty list of arguments");
                    return None;
                }
            },
            (None, Some(c)) => {
                FixCommand::Shell(self.template(c, names, Mode::Shell, "command")?)
            }
            _ => {
                self.err(
                    f.pos,
                    LoadErrorKind::Other {
                        message: "a fix step needs exactly one of `argv` or `command`".into(),
                        help: Some("prefer `argv: [kubectl, delete, pod, \"{{ subject.metadata.name }}\"]`: each element becomes one shell word".into()),
                    },
                );
                return None;
            }
        };
        let (guard, guard_site) = self.root_cond(f.get("if"), names, &format!("fix step {n} if"));
        let placeholders = self.fix_placeholders(&f, names, description, &command);
        Some(FixSpec {
            description: description?,
            command,
            guard,
            placeholders: placeholders?,
            site,
            guard_site,
        })
    }
}

impl<'a> RuleDecoder<'a> {
    /// Records what `slot` holds (unknown: `None`).
    fn set_shape(&mut self, slot: usize, shape: Option<SlotShape<'a>>) {
        if self.shapes.len() <= slot {
            self.shapes.resize(slot + 1, None);
        }
        if let Some(entry) = self.shapes.get_mut(slot) {
            *entry = shape.map(|s| (s, None));
        }
    }

    /// The shape of a kind's documents, when the kind is known.
    fn kind_shape(&self, kind: &str) -> Option<&'a Shape> {
        self.kinds.get(kind).map(|k| &k.shape)
    }

    /// An unknown kind is an error, with the kind most likely meant.
    fn known_kind(&mut self, pos: Pos, kind: &str) {
        if self.kinds.get(kind).is_some() {
            return;
        }
        let help = match self.kinds.suggest(kind) {
            Some(k) => format!("did you mean `{k}`? `docs/facts.md` lists the kinds rulerun knows; declare your own under `kinds:` in `pack.yaml`"),
            None => "`docs/facts.md` lists the kinds rulerun knows; declare your own under `kinds:` in `pack.yaml`".into(),
        };
        self.err(
            pos,
            LoadErrorKind::Other {
                message: format!("unknown fact kind `{kind}`"),
                help: Some(help),
            },
        );
    }

    /// What an `each` binds: one node the path finds (an element of the array
    /// a singular path finds).
    fn each_shape(&self, path: &ScopedPath) -> Option<SlotShape<'a>> {
        let (start, _) = self.shapes.get(path.slot).cloned().flatten()?;
        let (to, _) = crate::catalog::follow(self.kinds.builtin, start, &path.path, "");
        match to? {
            SlotShape::List(s) => Some(SlotShape::One(s)),
            SlotShape::One(s) => match self.kinds.builtin.resolve(s) {
                Shape::Array(items) => Some(SlotShape::One(items)),
                _ => None,
            },
        }
    }

    /// What a `value:` binding of a path holds.
    fn value_shape(&self, expr: &ValueExpr) -> Option<SlotShape<'a>> {
        let ValueExpr::Path(path) = expr else {
            return None;
        };
        let (start, _) = self.shapes.get(path.slot).cloned().flatten()?;
        crate::catalog::follow(self.kinds.builtin, start, &path.path, "").0
    }

    /// Warns when `path` names a field a value of `start` cannot have.
    fn check_path(
        &mut self,
        pos: Pos,
        start: SlotShape<'a>,
        path: &JsonPath,
        text: &str,
        what: &str,
    ) {
        if let (_, Some(problem)) = crate::catalog::follow(self.kinds.builtin, start, path, what) {
            self.warnings.push(Warning {
                file: self.d.file.clone(),
                pos,
                message: format!("path `{text}`: {}", problem.message),
                help: Some(problem.help),
            });
        }
    }
}

/// Compiles a regex the way rule files do (for tests and tools).
pub fn compile_regex(pattern: &str) -> Result<Regex, String> {
    rulerun_jsonpath::compile_regex(pattern).map_err(|e| e.to_string())
}
