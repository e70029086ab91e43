//! Facts: the documents rules read, grouped by kind, and the snapshot format.
//!
//! A fact kind is named after the API the document comes from: `k8s/v1/Pod`,
//! `k8s/apps/v1/ReplicaSet`, `aws/ecr/RepositoryPolicy`, ... Each document keeps the
//! shape `kubectl get -o json` or `aws ... --output json` prints, so rule authors
//! write paths from what they already know.
//!
//! Accepted inputs (JSON or YAML, see `docs/snapshot-format.md`):
//! * a snapshot: `{"apiVersion": "rulerun.dev/v1", "kind": "Snapshot", "facts": {KIND: [DOC, ...]}}`;
//! * a Kubernetes `List` or typed list (`PodList`, ...) as `kubectl get -o json`
//!   prints it; items without `kind`/`apiVersion` take them from the list;
//! * a single Kubernetes object.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{LoadError, LoadErrorKind};
use crate::yaml::Pos;

/// The `apiVersion` of snapshot files.
pub const SNAPSHOT_API_VERSION: &str = "rulerun.dev/v1";
/// The `kind` of snapshot files.
pub const SNAPSHOT_KIND: &str = "Snapshot";
/// The largest fact file rulerun reads.
pub const MAX_FILE_BYTES: u64 = 2 << 30;

/// Fact documents by kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FactStore {
    kinds: BTreeMap<String, Vec<Value>>,
}

/// Whether `kind` is a well-formed fact kind name: at least two `/`-separated
/// non-empty segments, no white space (`k8s/v1/Pod`, `aws/ecr/RepositoryPolicy`).
pub fn is_kind_name(kind: &str) -> bool {
    kind.split('/').count() >= 2
        && kind.split('/').all(|s| !s.is_empty())
        && !kind.contains(char::is_whitespace)
}

/// The fact kind of a Kubernetes object: `k8s/<apiVersion>/<kind>`.
pub fn k8s_kind(api_version: &str, kind: &str) -> String {
    format!("k8s/{api_version}/{kind}")
}

impl FactStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one document under `kind`.
    pub fn add(&mut self, kind: &str, doc: Value) {
        self.kinds.entry(kind.to_string()).or_default().push(doc);
    }

    /// Records that `kind` was collected, even if no document exists.
    pub fn touch(&mut self, kind: &str) {
        self.kinds.entry(kind.to_string()).or_default();
    }

    /// The documents of `kind` (empty if none).
    pub fn of_kind(&self, kind: &str) -> &[Value] {
        self.kinds.get(kind).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The kinds present, with their documents.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Value])> {
        self.kinds.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// How many documents in all.
    pub fn len(&self) -> usize {
        self.kinds.values().map(Vec::len).sum()
    }

    /// Whether there are no documents.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves every document of `other` into this store.
    pub fn merge(&mut self, other: FactStore) {
        for (k, mut docs) in other.kinds {
            self.kinds.entry(k).or_default().append(&mut docs);
        }
    }

    /// Adds a parsed document: a snapshot, a Kubernetes list, or one object.
    /// Returns how many facts it added.
    pub fn add_document(&mut self, doc: Value) -> Result<usize, String> {
        let Value::Object(mut obj) = doc else {
            return Err(format!(
                "expected a JSON object (a snapshot, a Kubernetes List or object), found {}",
                crate::func::type_name(&doc)
            ));
        };
        let api_version = obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .map(str::to_string);
        let kind = obj.get("kind").and_then(Value::as_str).map(str::to_string);
        match (api_version.as_deref(), kind.as_deref()) {
            (Some(SNAPSHOT_API_VERSION), Some(SNAPSHOT_KIND)) => {
                let facts = match obj.remove("facts") {
                    Some(Value::Object(f)) => f,
                    Some(other) => {
                        return Err(format!(
                            "snapshot `facts` must be an object of kind to list, found {}",
                            crate::func::type_name(&other)
                        ));
                    }
                    None => Map::new(),
                };
                self.add_facts_map(facts)
            }
            (Some(av), Some(k)) if k == "List" || (k.ends_with("List") && obj.contains_key("items")) => {
                let item_kind = k.strip_suffix("List").unwrap_or("");
                let items = match obj.remove("items") {
                    Some(Value::Array(items)) => items,
                    Some(Value::Null) | None => Vec::new(),
                    Some(_) => return Err("list `items` must be an array".into()),
                };
                let mut n = 0;
                for (i, item) in items.into_iter().enumerate() {
                    let Value::Object(mut o) = item else {
                        return Err(format!("list item {i} is not an object"));
                    };
                    let iav = o
                        .get("apiVersion")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| av.to_string());
                    let ik = match o.get("kind").and_then(Value::as_str) {
                        Some(k) => k.to_string(),
                        None if !item_kind.is_empty() => item_kind.to_string(),
                        None => return Err(format!("list item {i} has no `kind`")),
                    };
                    // Restore what `kubectl get -o json` shows, as the API server
                    // omits both in list items.
                    o.insert("apiVersion".into(), Value::String(iav.clone()));
                    o.insert("kind".into(), Value::String(ik.clone()));
                    self.add(&k8s_kind(&iav, &ik), Value::Object(o));
                    n += 1;
                }
                Ok(n)
            }
            (Some(av), Some(k)) => {
                let fk = k8s_kind(av, k);
                self.add(&fk, Value::Object(obj));
                Ok(1)
            }
            _ => Err(
                "a fact file is a rulerun snapshot (`apiVersion: rulerun.dev/v1`, `kind: Snapshot`), a Kubernetes List, or a Kubernetes object with `apiVersion` and `kind`"
                    .into(),
            ),
        }
    }

    /// Adds a `facts` mapping (kind to list of documents), as in snapshots and rule tests.
    pub fn add_facts_map(&mut self, facts: Map<String, Value>) -> Result<usize, String> {
        let mut n = 0;
        for (kind, docs) in facts {
            if !is_kind_name(&kind) {
                return Err(format!(
                    "`{kind}` is not a fact kind: kinds look like `k8s/v1/Pod` or `aws/ecr/RepositoryPolicy`"
                ));
            }
            match docs {
                Value::Array(items) => {
                    self.touch(&kind);
                    for (i, d) in items.into_iter().enumerate() {
                        if !d.is_object() {
                            return Err(format!(
                                "fact {i} of `{kind}` must be an object, found {}",
                                crate::func::type_name(&d)
                            ));
                        }
                        self.add(&kind, d);
                        n += 1;
                    }
                }
                other => {
                    return Err(format!(
                        "facts of `{kind}` must be a list, found {}",
                        crate::func::type_name(&other)
                    ));
                }
            }
        }
        Ok(n)
    }

    /// The store as a snapshot document.
    pub fn to_snapshot(&self, metadata: Value) -> Value {
        let mut facts = Map::new();
        for (k, v) in &self.kinds {
            facts.insert(k.clone(), Value::Array(v.clone()));
        }
        serde_json::json!({
            "apiVersion": SNAPSHOT_API_VERSION,
            "kind": SNAPSHOT_KIND,
            "metadata": metadata,
            "facts": facts,
        })
    }

    /// Loads a fact file, or every `.json`/`.yaml`/`.yml` file below a folder
    /// (sorted by path, hidden files skipped).
    pub fn load_path(path: &Path) -> Result<FactStore, Vec<LoadError>> {
        Self::load_path_with(path, parse_fact_text)
    }

    /// [`FactStore::load_path`] with `parse` turning each file's text into
    /// documents.
    pub(crate) fn load_path_with(
        path: &Path,
        parse: impl Fn(&Path, &str) -> Result<Vec<Value>, LoadError>,
    ) -> Result<FactStore, Vec<LoadError>> {
        let mut files = Vec::new();
        if path.is_dir() {
            collect_files(path, &mut files).map_err(|e| {
                vec![LoadError::new(
                    path,
                    Pos::default(),
                    LoadErrorKind::Io(e.to_string()),
                )]
            })?;
            if files.is_empty() {
                return Err(vec![LoadError::new(
                    path,
                    Pos::default(),
                    LoadErrorKind::Other {
                        message: "the folder holds no .json, .yaml or .yml files".into(),
                        help: Some("point --facts at a snapshot file or a folder of them".into()),
                    },
                )]);
            }
        } else {
            files.push(path.to_path_buf());
        }
        let mut store = FactStore::new();
        let mut errors = Vec::new();
        for f in files {
            match read_fact_text(&f).and_then(|text| parse(&f, &text)) {
                Ok(docs) => {
                    for doc in docs {
                        if let Err(msg) = store.add_document(doc) {
                            errors.push(LoadError::new(
                                &f,
                                Pos::default(),
                                LoadErrorKind::Fact(msg),
                            ));
                        }
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(store)
        } else {
            Err(errors)
        }
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        let ft = e.file_type()?;
        if ft.is_dir() {
            collect_files(&p, out)?;
        } else if ft.is_file() && is_data_file(&p) {
            out.push(p);
        }
    }
    Ok(())
}

fn is_data_file(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("json" | "yaml" | "yml")
    )
}

/// Reads a JSON or YAML file (by content: JSON when it starts with `{` or `[`) into
/// documents; a YAML file may hold several documents separated by `---`.
pub fn read_fact_file(path: &Path) -> Result<Vec<Value>, LoadError> {
    let text = read_fact_text(path)?;
    parse_fact_text(path, &text)
}

/// Reads a fact file's text, refusing files larger than [`MAX_FILE_BYTES`].
fn read_fact_text(path: &Path) -> Result<String, LoadError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| LoadError::new(path, Pos::default(), LoadErrorKind::Io(e.to_string())))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(LoadError::new(
            path,
            Pos::default(),
            LoadErrorKind::Other {
                message: format!("file is larger than {} GiB", MAX_FILE_BYTES >> 30),
                help: None,
            },
        ));
    }
    std::fs::read_to_string(path)
        .map_err(|e| LoadError::new(path, Pos::default(), LoadErrorKind::Io(e.to_string())))
}

/// Parses fact text (JSON or YAML) into documents.
pub fn parse_fact_text(path: &Path, text: &str) -> Result<Vec<Value>, LoadError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Array(docs)) => Ok(docs),
            Ok(v) => Ok(vec![v]),
            Err(e) => Err(LoadError::new(
                path,
                Pos {
                    line: u32::try_from(e.line()).unwrap_or(u32::MAX),
                    column: u32::try_from(e.column()).unwrap_or(u32::MAX),
                },
                LoadErrorKind::Syntax {
                    format: "JSON",
                    message: strip_json_position(&e.to_string()),
                },
            )),
        }
    } else {
        serde_saphyr::from_multiple_with_options::<Value>(text, crate::yaml::options()).map_err(
            |e| {
                let pos = e
                    .location()
                    .map(|l| Pos {
                        line: u32::try_from(l.line()).unwrap_or(u32::MAX),
                        column: u32::try_from(l.column()).unwrap_or(u32::MAX),
                    })
                    .unwrap_or_default();
                LoadError::new(
                    path,
                    pos,
                    LoadErrorKind::Syntax {
                        format: "YAML",
                        message: e
                            .without_snippet()
                            .to_string()
                            .lines()
                            .next()
                            .unwrap_or("")
                            .to_string(),
                    },
                )
            },
        )
    }
}

pub(crate) fn strip_json_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn kubectl_lists_restore_kind_and_api_version() {
        let mut s = FactStore::new();
        let n = s
            .add_document(json!({"apiVersion": "apps/v1", "kind": "ReplicaSetList", "items": [{"metadata": {"name": "a"}}]}))
            .unwrap();
        assert_eq!(n, 1);
        let rs = &s.of_kind("k8s/apps/v1/ReplicaSet")[0];
        assert_eq!(rs["kind"], "ReplicaSet");
        assert_eq!(rs["apiVersion"], "apps/v1");
        s.add_document(json!({"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {}}]}))
            .unwrap();
        assert_eq!(s.of_kind("k8s/v1/Pod").len(), 1);
    }

    #[test]
    fn snapshots_hold_many_kinds() {
        let mut s = FactStore::new();
        s.add_document(
            json!({"apiVersion": "rulerun.dev/v1", "kind": "Snapshot", "facts": {
                "k8s/v1/Pod": [{"metadata": {"name": "p"}}],
                "aws/ecr/RepositoryPolicy": [{"repositoryName": "r", "policyText": "{}"}]
            }}),
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert!(
            s.add_document(
                json!({"apiVersion": "rulerun.dev/v1", "kind": "Snapshot", "facts": {"Pod": []}})
            )
            .is_err()
        );
        assert!(s.add_document(json!([1])).is_err());
        assert!(
            s.add_facts_map(json!({"k8s/v1/Pod": [1]}).as_object().unwrap().clone())
                .is_err()
        );
        assert!(
            s.add_facts_map(json!({"k8s//Pod": []}).as_object().unwrap().clone())
                .is_err()
        );
        assert!(s.add_document(json!({"hello": 1})).is_err());
        let round = s.to_snapshot(json!({}));
        let mut t = FactStore::new();
        t.add_document(round).unwrap();
        assert_eq!(t, s);
    }

    #[test]
    fn yaml_and_json_text_parse_with_positions() {
        let docs = parse_fact_text(
            Path::new("x.yaml"),
            "apiVersion: v1\nkind: Pod\n---\napiVersion: v1\nkind: Node\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        let e = parse_fact_text(Path::new("x.json"), "{\n  \"a\": ,\n}").unwrap_err();
        assert_eq!(e.pos.line, 2);
    }
}
