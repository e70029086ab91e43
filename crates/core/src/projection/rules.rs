//! Analysis of rules: what each path, binding, join, condition and fix argument of a
//! loaded rule reads, per fact kind, into the projection tree.

use super::*;

/// What a scope slot holds, in terms of fact documents.
#[derive(Clone, Debug)]
pub(crate) enum Origin {
    /// Nothing read from facts (parameters, computed values whose sources are
    /// kept whole).
    Computed,
    /// The value at `prefix` in documents of `kind` (a document, or part of one).
    At { kind: String, prefix: Vec<Access> },
    /// An array of whole documents of `kind` (a join without `one: true`).
    Docs(String),
}

#[derive(Default)]
pub(crate) struct Analysis {
    pub(crate) kinds: BTreeMap<String, Node>,
}

impl Analysis {
    pub(crate) fn kind(&mut self, kind: &str) -> &mut Node {
        self.kinds.entry(kind.to_string()).or_default()
    }

    /// Records a read of `path` (steps after the slot) from a slot of `origin`.
    pub(crate) fn read(&mut self, origin: &Origin, path: &[Access], reads_root: bool, usage: Use) {
        match origin {
            Origin::Computed => {}
            Origin::At { kind, prefix } => {
                let node = self.kind(kind);
                if reads_root {
                    node.insert(prefix, Use::Whole);
                    return;
                }
                let mut full = prefix.clone();
                full.extend_from_slice(path);
                node.insert(&full, usage);
            }
            Origin::Docs(kind) => {
                let node = self.kind(kind);
                if reads_root {
                    node.insert(&[], Use::Whole);
                    return;
                }
                match path.split_first() {
                    // The array itself: its length is the number of documents.
                    None if usage != Use::Whole => {}
                    Some((Access::Any, rest)) => node.insert(rest, usage),
                    _ => node.insert(&[], Use::Whole),
                }
            }
        }
    }

    pub(crate) fn path(&mut self, origins: &[Origin], p: &ScopedPath, usage: Use) {
        let (steps, root) = p.path.accesses();
        let origin = origins.get(p.slot).cloned().unwrap_or(Origin::Computed);
        self.read(&origin, &steps, root, usage);
        self.binding_reads(origins, &p.path);
    }

    /// What a path's filters read of other slots (`$name.x` inside a filter):
    /// compared, so whole.
    pub(crate) fn binding_reads(&mut self, origins: &[Origin], path: &JsonPath) {
        for (slot, steps) in path.binding_reads() {
            let origin = origins.get(*slot).cloned().unwrap_or(Origin::Computed);
            self.read(&origin, steps, false, Use::Whole);
        }
    }

    pub(crate) fn cond(&mut self, origins: &[Origin], c: &Cond) {
        match c {
            Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| self.cond(origins, c)),
            Cond::Not(c) => self.cond(origins, c),
            Cond::Match(m) => {
                let usage = match &m.op {
                    Op::Exists(_) => Use::Presence,
                    Op::Count(_) if m.path.path.is_singular() => Use::Length,
                    Op::Count(_) => Use::Presence,
                    Op::EqualsPath(other) | Op::NotEqualsPath(other) => {
                        self.path(origins, other, Use::Whole);
                        Use::Whole
                    }
                    _ => Use::Whole,
                };
                self.path(origins, &m.path, usage);
            }
        }
    }

    pub(crate) fn value(&mut self, origins: &[Origin], e: &ValueExpr) {
        match e {
            ValueExpr::Literal(_) | ValueExpr::Template(_) => {}
            ValueExpr::Path(p) => self.path(origins, p, Use::Whole),
            ValueExpr::Array(items) => items.iter().for_each(|i| self.value(origins, i)),
            ValueExpr::Object(entries) => entries.iter().for_each(|(_, v)| self.value(origins, v)),
        }
    }

    pub(crate) fn rule(&mut self, set: &RuleSet, rule: &Rule) {
        let subject = Origin::At {
            kind: rule.subject_kind.clone(),
            prefix: Vec::new(),
        };
        // What the engine reads itself: the default finding subject.
        let meta = |n: &str| [Access::Name("metadata".into()), Access::Name(n.into())];
        self.read(&subject, &meta("namespace"), false, Use::Whole);
        self.read(&subject, &meta("name"), false, Use::Whole);
        let mut origins = vec![subject, Origin::Computed];
        if let Some(f) = &rule.filter {
            self.cond(&origins, f);
        }
        if let Some(each) = &rule.each {
            let (steps, root) = each.path.path.accesses();
            self.binding_reads(&origins, &each.path.path);
            let base = origins
                .get(each.path.slot)
                .cloned()
                .unwrap_or(Origin::Computed);
            // The elements must stay (their number and order).
            self.read(&base, &steps, root, Use::Presence);
            let element = match (&base, root) {
                (Origin::At { kind, prefix }, false) => {
                    let mut prefix = prefix.clone();
                    prefix.extend(steps);
                    Origin::At {
                        kind: kind.clone(),
                        prefix,
                    }
                }
                (Origin::Computed, _) => Origin::Computed,
                (Origin::At { kind, prefix }, true) => {
                    let mut prefix = prefix.clone();
                    prefix.push(Access::Whole);
                    Origin::At {
                        kind: kind.clone(),
                        prefix,
                    }
                }
                (Origin::Docs(kind), _) => {
                    self.kind(kind).insert(&[], Use::Whole);
                    Origin::At {
                        kind: kind.clone(),
                        prefix: vec![Access::Whole],
                    }
                }
            };
            origins.push(element);
            if let Some(f) = &each.filter {
                self.cond(&origins, f);
            }
        }
        for b in &rule.bindings {
            while origins.len() < b.slot {
                origins.push(Origin::Computed);
            }
            origins.truncate(b.slot);
            if let Some(g) = &b.guard {
                self.cond(&origins, g);
            }
            let origin = match &b.kind {
                BindingKind::Join(j) => {
                    let joined = Origin::At {
                        kind: j.kind.clone(),
                        prefix: Vec::new(),
                    };
                    for on in &j.on {
                        let (steps, root) = on.accesses();
                        self.read(&joined, &steps, root, Use::Whole);
                    }
                    for eq in &j.equals {
                        self.path(&origins, eq, Use::Whole);
                    }
                    if let Some(f) = &j.filter {
                        origins.push(joined.clone());
                        self.cond(&origins, f);
                        origins.truncate(b.slot);
                    }
                    // Even when no field is read, the kind's documents stay.
                    self.kind(&j.kind);
                    if j.one {
                        joined
                    } else {
                        Origin::Docs(j.kind.clone())
                    }
                }
                BindingKind::Call { args, .. } => {
                    args.iter().for_each(|a| self.value(&origins, a));
                    Origin::Computed
                }
                BindingKind::Value(v) => {
                    self.value(&origins, v);
                    Origin::Computed
                }
            };
            origins.push(origin);
        }
        if let Some(w) = &rule.when {
            self.cond(&origins, w);
        }
        let spec = &rule.finding;
        for e in [
            &spec.subject.kind,
            &spec.subject.namespace,
            &spec.subject.name,
        ]
        .into_iter()
        .flatten()
        {
            self.value(&origins, e);
        }
        for (_, e) in &spec.evidence {
            self.value(&origins, e);
        }
        for step in &spec.fix {
            if let Some(g) = &step.guard {
                self.cond(&origins, g);
            }
            if let FixCommand::Argv(parts) = &step.command {
                for part in parts {
                    if let ArgvPart::Path(p) = part {
                        self.path(&origins, p, Use::Whole);
                    }
                }
            }
        }
        // Templates: every one compiled for the rule.
        let debug = rule.template_vars == Variables::All;
        for index in rule.templates.clone() {
            let Some((source, names)) = set.templates.source(index) else {
                continue;
            };
            let reads = if debug {
                None
            } else {
                template_reads(source, &rule.names)
            };
            let reads = reads.unwrap_or_else(|| {
                // Not analysable: every name the template reads, whole.
                let all: Vec<&String> = if debug {
                    rule.names.iter().collect()
                } else {
                    names.iter().collect()
                };
                all.into_iter()
                    .map(|n| TRead {
                        name: n.clone(),
                        path: Vec::new(),
                        usage: Use::Whole,
                    })
                    .collect()
            });
            for r in reads {
                let Some(slot) = rule.names.iter().position(|n| *n == r.name) else {
                    continue;
                };
                let origin = origins.get(slot).cloned().unwrap_or(Origin::Computed);
                self.read(&origin, &r.path, false, r.usage);
            }
        }
    }
}
