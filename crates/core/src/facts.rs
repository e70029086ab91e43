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

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{LoadError, LoadErrorKind};
use crate::yaml::Pos;

/// The `apiVersion` of snapshot files.
pub const SNAPSHOT_API_VERSION: &str = "rulerun.dev/v1";
/// The `kind` of snapshot files.
pub const SNAPSHOT_KIND: &str = "Snapshot";
/// The most bytes rulerun reads from one fact file ([`crate::read::Limit::FACTS`]),
/// counted as they are read (pipes and devices report no size).
pub const MAX_FILE_BYTES: u64 = 2 << 30;

/// The most "unrecognised fact document" errors reported for one file; the rest
/// are counted in one more error.
pub const MAX_DOCUMENT_ERRORS: usize = 20;

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
    /// (sorted by path, hidden entries skipped, symbolic links followed; see
    /// [`data_files`]).
    pub fn load_path(path: &Path) -> Result<FactStore, Vec<LoadError>> {
        Self::load_paths_with(std::slice::from_ref(&path), parse_fact_text)
    }

    /// [`FactStore::load_path`] for several paths, as `--facts A --facts B` gives
    /// them: a file reached twice (the same path given twice, a file inside a
    /// folder also given, a link to either) is read once, so its facts are not
    /// counted twice.
    pub fn load_paths(paths: &[&Path]) -> Result<FactStore, Vec<LoadError>> {
        Self::load_paths_with(paths, parse_fact_text)
    }

    /// [`FactStore::load_paths`] with `parse` turning each file's text into
    /// documents.
    pub(crate) fn load_paths_with(
        paths: &[&Path],
        parse: impl Fn(&Path, &str) -> Result<Vec<Value>, LoadError>,
    ) -> Result<FactStore, Vec<LoadError>> {
        let mut store = FactStore::new();
        for group in Self::load_clusters_with(paths, parse)? {
            store.merge(group.facts);
        }
        Ok(store)
    }

    /// [`FactStore::load_paths`], the facts kept apart by the cluster each
    /// snapshot names in `metadata.cluster` (as `rulerun collect` of a fleet
    /// writes them); documents that name none form the group without a
    /// cluster. Groups come in the order of their first document.
    pub(crate) fn load_clusters_with(
        paths: &[&Path],
        parse: impl Fn(&Path, &str) -> Result<Vec<Value>, LoadError>,
    ) -> Result<Vec<ClusterFacts>, Vec<LoadError>> {
        let mut errors = Vec::new();
        let mut walk = Walk {
            files: Vec::new(),
            seen_files: HashSet::new(),
            seen_dirs: HashSet::new(),
            ancestors: Vec::new(),
            errors: &mut errors,
        };
        for &path in paths {
            if path.is_dir() {
                let before = walk.files.len();
                let errors_before = walk.errors.len();
                match std::fs::canonicalize(path) {
                    Ok(real) if walk.seen_dirs.contains(&real) => continue,
                    Ok(real) => walk.folder(path, real),
                    Err(e) => walk.error(path, e.to_string(), None),
                }
                if walk.files.len() == before && walk.errors.len() == errors_before {
                    walk.errors.push(LoadError::new(
                        path,
                        Pos::default(),
                        LoadErrorKind::Other {
                            message: "the folder holds no .json, .yaml or .yml files".into(),
                            help: Some(
                                "point --facts at a snapshot file or a folder of them".into(),
                            ),
                        },
                    ));
                }
            } else {
                // A pipe or device (`/dev/stdin`) may have no canonical path; it
                // is read as given.
                let first = std::fs::canonicalize(path).map_or(true, |r| walk.seen_files.insert(r));
                if first {
                    walk.files.push(path.to_path_buf());
                }
            }
        }
        let files = std::mem::take(&mut walk.files);
        let mut groups: Vec<ClusterFacts> = Vec::new();
        for f in files {
            match read_fact_text(&f).and_then(|text| parse(&f, &text)) {
                Ok(docs) => {
                    // A file of ten million `0`s would otherwise make ten million errors.
                    let mut bad = 0usize;
                    for doc in docs {
                        let cluster = snapshot_cluster(&doc);
                        let at = match groups.iter().position(|g| g.cluster == cluster) {
                            Some(at) => at,
                            None => {
                                groups.push(ClusterFacts {
                                    server: snapshot_server(&doc),
                                    cluster,
                                    first_file: f.clone(),
                                    facts: FactStore::new(),
                                });
                                groups.len() - 1
                            }
                        };
                        if let Err(msg) = groups[at].facts.add_document(doc) {
                            bad += 1;
                            if bad <= MAX_DOCUMENT_ERRORS {
                                errors.push(LoadError::new(
                                    &f,
                                    Pos::default(),
                                    LoadErrorKind::Fact(msg),
                                ));
                            }
                        }
                    }
                    if bad > MAX_DOCUMENT_ERRORS {
                        errors.push(LoadError::new(
                            &f,
                            Pos::default(),
                            LoadErrorKind::Other {
                                message: format!(
                                    "{} more documents that are not facts",
                                    bad - MAX_DOCUMENT_ERRORS
                                ),
                                help: None,
                            },
                        ));
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(groups)
        } else {
            Err(errors)
        }
    }
}

/// The facts of one cluster, as snapshots name it ([`snapshot_cluster`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterFacts {
    /// `metadata.cluster` of its snapshots; `None` for documents naming none.
    pub cluster: Option<String>,
    /// `metadata.server` of its first snapshot, the API server it was read from.
    pub server: Option<String>,
    /// The first file that held its documents, for messages.
    pub first_file: PathBuf,
    pub facts: FactStore,
}

/// `metadata.cluster` of a rulerun snapshot: the kubeconfig context it was
/// collected from, written by `rulerun collect` of several clusters.
pub fn snapshot_cluster(doc: &Value) -> Option<String> {
    snapshot_metadata(doc, "cluster")
}

/// `metadata.server` of a rulerun snapshot.
fn snapshot_server(doc: &Value) -> Option<String> {
    snapshot_metadata(doc, "server")
}

fn snapshot_metadata(doc: &Value, field: &str) -> Option<String> {
    (doc.get("apiVersion")?.as_str()? == SNAPSHOT_API_VERSION
        && doc.get("kind")?.as_str()? == SNAPSHOT_KIND)
        .then(|| doc.get("metadata")?.get(field)?.as_str())
        .flatten()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The fact files below the folder `dir`, as `--facts DIR` reads them: every
/// `.json`, `.yaml` and `.yml` file, recursively, sorted by path within each
/// folder; entries whose name starts with `.` are skipped.
///
/// Symbolic links are followed, to files and to folders, wherever they point
/// (inside the folder or not: the user made the link). Each file is read once,
/// under the first path that leads to it, and each folder is walked once. A
/// link that leads nowhere, a link or folder that leads back into a folder being
/// walked (a loop), and a data file that is not a regular file (a FIFO or a
/// device, which could block or never end) are errors in `errors`, each naming
/// the entry.
pub fn data_files(dir: &Path, errors: &mut Vec<LoadError>) -> Vec<PathBuf> {
    let mut walk = Walk {
        files: Vec::new(),
        seen_files: HashSet::new(),
        seen_dirs: HashSet::new(),
        ancestors: Vec::new(),
        errors,
    };
    match std::fs::canonicalize(dir) {
        Ok(real) => walk.folder(dir, real),
        Err(e) => walk.error(dir, e.to_string(), None),
    }
    walk.files
}

struct Walk<'e> {
    files: Vec<PathBuf>,
    seen_files: HashSet<PathBuf>,
    seen_dirs: HashSet<PathBuf>,
    /// The canonical paths of the folders being walked, outermost first.
    ancestors: Vec<PathBuf>,
    errors: &'e mut Vec<LoadError>,
}

impl Walk<'_> {
    fn error(&mut self, path: &Path, message: String, help: Option<&str>) {
        self.errors.push(LoadError::new(
            path,
            Pos::default(),
            LoadErrorKind::Other {
                message,
                help: help.map(str::to_string),
            },
        ));
    }

    /// Walks the folder shown as `dir`, whose canonical path is `real`.
    fn folder(&mut self, dir: &Path, real: PathBuf) {
        if !self.seen_dirs.insert(real.clone()) {
            return;
        }
        let entries = std::fs::read_dir(dir).and_then(|it| it.collect::<Result<Vec<_>, _>>());
        let mut entries = match entries {
            Ok(entries) => entries,
            Err(e) => return self.error(dir, format!("cannot read folder: {e}"), None),
        };
        entries.sort_by_key(|e| e.path());
        self.ancestors.push(real);
        for e in entries {
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            self.entry(&e.path());
        }
        self.ancestors.pop();
    }

    fn entry(&mut self, p: &Path) {
        let link = std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
        // `metadata` follows links, `canonicalize` resolves every link in the path.
        let target = std::fs::metadata(p).and_then(|m| Ok((m, std::fs::canonicalize(p)?)));
        let (meta, real) = match target {
            Ok(t) => t,
            Err(e) if link => {
                let to = std::fs::read_link(p)
                    .map(|t| format!(" to `{}`", t.display()))
                    .unwrap_or_default();
                let message = if e.raw_os_error() == Some(ELOOP) {
                    format!("symbolic link{to} loops back on itself")
                } else {
                    format!("symbolic link{to} leads nowhere: {e}")
                };
                return self.error(
                    p,
                    message,
                    Some("fix or remove the link: every entry of a --facts folder is read"),
                );
            }
            Err(e) => return self.error(p, format!("cannot read: {e}"), None),
        };
        if meta.is_dir() {
            // A folder that is, or holds, one being walked.
            if self.ancestors.iter().any(|a| a.starts_with(&real)) {
                let message = format!(
                    "{} leads back to `{}`, a folder that holds it: a loop",
                    if link { "symbolic link" } else { "folder" },
                    real.display()
                );
                return self.error(p, message, Some("remove the link that makes the loop"));
            }
            self.folder(p, real);
        } else if is_data_file(p) {
            if !meta.is_file() {
                return self.error(
                    p,
                    "not a regular file (a FIFO, socket or device)".into(),
                    Some("in a --facts folder, only files are read; pass a FIFO or a device as --facts PATH itself"),
                );
            }
            if self.seen_files.insert(real) {
                self.files.push(p.to_path_buf());
            }
        }
    }
}

/// `ELOOP`: too many levels of symbolic links (Linux, the BSDs and macOS differ).
#[cfg(target_os = "linux")]
const ELOOP: i32 = 40;
#[cfg(not(target_os = "linux"))]
const ELOOP: i32 = 62;

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

/// Reads a fact file's text: at most [`MAX_FILE_BYTES`] bytes read, whatever
/// size the file reports (`/dev/stdin`, a FIFO, a device, a growing file).
fn read_fact_text(path: &Path) -> Result<String, LoadError> {
    crate::read::read_text(path, crate::read::Limit::FACTS).map_err(|e| e.load_error(path))
}

/// Parses fact text (JSON or YAML) into documents. JSON is read strictly
/// ([`crate::json`]: duplicate members, numbers out of range and nesting deeper
/// than 128 levels are refused), as YAML is.
pub fn parse_fact_text(path: &Path, text: &str) -> Result<Vec<Value>, LoadError> {
    // Only the BOM is cut: the JSON parser skips white space itself, so lines
    // and columns stay those of the file.
    let text = text.trim_start_matches('\u{feff}');
    if is_json(text) {
        match crate::json::from_str(text) {
            Ok(Value::Array(docs)) => Ok(docs),
            Ok(v) => Ok(vec![v]),
            Err(e) => Err(e.load_error(path)),
        }
    } else {
        serde_saphyr::from_multiple_with_options::<Value>(text, crate::yaml::fact_options())
            .map_err(|e| yaml_error(path, &e))
    }
}

/// Whether fact text is JSON: its first character after white space is `{` or `[`
/// (a BOM already cut).
pub(crate) fn is_json(text: &str) -> bool {
    text.trim_start().starts_with(['{', '['])
}

/// A YAML fact file's error, in the words JSON's are given.
fn yaml_error(path: &Path, e: &serde_saphyr::Error) -> LoadError {
    let pos = e
        .location()
        .map(|l| Pos {
            line: u32::try_from(l.line()).unwrap_or(u32::MAX),
            column: u32::try_from(l.column()).unwrap_or(u32::MAX),
        })
        .unwrap_or_default();
    let kind = match e.without_snippet() {
        serde_saphyr::Error::DuplicateMappingKey { key: Some(k), .. } => {
            crate::json::JsonErrorKind::DuplicateKey(crate::json::shown_key(k))
        }
        serde_saphyr::Error::NonFiniteFloat { .. } => crate::json::JsonErrorKind::NumberOutOfRange,
        other => {
            return LoadError::new(
                path,
                pos,
                LoadErrorKind::Syntax {
                    format: "YAML",
                    message: crate::yaml::message(other),
                },
            );
        }
    };
    LoadError::new(
        path,
        pos,
        LoadErrorKind::Other {
            help: kind.help(),
            message: kind.to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn snapshots_are_grouped_by_the_cluster_they_name() {
        let dir = tempfile::tempdir().unwrap();
        let snap = |cluster: &str, pod: &str| {
            json!({"apiVersion": SNAPSHOT_API_VERSION, "kind": SNAPSHOT_KIND,
                   "metadata": {"cluster": cluster, "server": format!("https://{cluster}/")},
                   "facts": {"k8s/v1/Pod": [{"metadata": {"name": pod}}], "k8s/v1/Node": []}})
            .to_string()
        };
        std::fs::write(dir.path().join("a.json"), snap("a", "p1")).unwrap();
        std::fs::write(dir.path().join("b.json"), snap("b", "p2")).unwrap();
        // A second file of cluster a joins its group.
        std::fs::write(dir.path().join("c.json"), snap("a", "p3")).unwrap();
        let groups = FactStore::load_clusters_with(&[dir.path()], parse_fact_text).unwrap();
        let names: Vec<(Option<&str>, Option<&str>, usize)> = groups
            .iter()
            .map(|g| (g.cluster.as_deref(), g.server.as_deref(), g.facts.len()))
            .collect();
        assert_eq!(
            names,
            [
                (Some("a"), Some("https://a/"), 2),
                (Some("b"), Some("https://b/"), 1)
            ]
        );
        // Listed-but-empty kinds stay listed in each group.
        assert!(
            groups[1]
                .facts
                .iter()
                .any(|(k, d)| k == "k8s/v1/Node" && d.is_empty())
        );
        // Merged, as one `--facts` check reads them, nothing is lost.
        assert_eq!(FactStore::load_path(dir.path()).unwrap().len(), 3);
        // A Kubernetes list names no cluster; a snapshot's empty cluster neither.
        std::fs::write(
            dir.path().join("d.json"),
            r#"{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}]}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("e.json"), snap("", "p4")).unwrap();
        let groups = FactStore::load_clusters_with(&[dir.path()], parse_fact_text).unwrap();
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[2].cluster, None);
        assert_eq!(groups[2].facts.len(), 2);
        assert!(groups[2].first_file.ends_with("d.json"));
    }

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
    fn yaml_of_a_large_cluster_is_within_the_fact_budget() {
        // 1,500 pods of about 200 nodes each: over serde-saphyr's default budget
        // of 250,000 nodes, which refused `kubectl get pods -A -o yaml` of a
        // mid-sized cluster.
        let mut text = String::from("apiVersion: v1\nkind: List\nitems:\n");
        for i in 0..1_500 {
            text.push_str(&format!(
                "- apiVersion: v1\n  kind: Pod\n  metadata: {{name: p{i}, namespace: default}}\n  spec:\n    containers:\n"
            ));
            for c in 0..16 {
                text.push_str(&format!(
                    "    - {{name: c{c}, image: busybox, args: [a, b, c], ports: [{{containerPort: {c}}}]}}\n"
                ));
            }
        }
        let docs = parse_fact_text(Path::new("pods.yaml"), &text).unwrap();
        let mut s = FactStore::new();
        s.add_document(docs.into_iter().next().unwrap()).unwrap();
        assert_eq!(s.of_kind("k8s/v1/Pod").len(), 1_500);
        // Nesting keeps serde-saphyr's 64 levels: its parser recurses deeper per
        // level than JSON's, and 120 levels overflowed a 2 MiB thread stack.
        let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        assert!(parse_fact_text(Path::new("d.yaml"), &format!("a: {}", deep(60))).is_ok());
        let err = parse_fact_text(Path::new("d.yaml"), &format!("a: {}", deep(100))).unwrap_err();
        assert!(err.to_string().contains("depth"), "{err}");
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

    /// A fresh folder under the system's temporary folder, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let p =
                std::env::temp_dir().join(format!("rulerun-facts-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Scratch(p)
        }
        fn write(&self, rel: &str, text: &str) -> PathBuf {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            p
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn pod(name: &str) -> String {
        format!(r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "{name}"}}}}"#)
    }

    fn names(store: &FactStore) -> Vec<String> {
        store
            .of_kind("k8s/v1/Pod")
            .iter()
            .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    }

    fn messages(errors: &[LoadError], root: &Path) -> Vec<String> {
        errors
            .iter()
            .map(|e| e.to_string().replace(&root.display().to_string(), "ROOT"))
            .collect()
    }

    #[cfg(unix)]
    #[test]
    fn folders_follow_links_to_files_and_folders_each_read_once() {
        use std::os::unix::fs::symlink;
        let t = Scratch::new("links");
        let outside = Scratch::new("links-outside");
        outside.write("aws.json", &pod("outside"));
        outside.write("more/b.json", &pod("more"));
        t.write("facts/a.json", &pod("a"));
        let facts = t.0.join("facts");
        // A link to a file outside the folder, a link to a folder, and two
        // links to the same file (read once, under the first name).
        symlink(outside.0.join("aws.json"), facts.join("aws.json")).unwrap();
        symlink(outside.0.join("more"), facts.join("linked")).unwrap();
        symlink(facts.join("a.json"), facts.join("z-again.json")).unwrap();
        let store = FactStore::load_path(&facts).unwrap();
        assert_eq!(names(&store), ["a", "outside", "more"]);
    }

    #[test]
    fn a_file_reached_through_several_paths_is_read_once() {
        let t = Scratch::new("several");
        t.write("facts/a.json", &pod("a"));
        t.write("facts/sub/b.json", &pod("b"));
        t.write("c.json", &pod("c"));
        let facts = t.0.join("facts");
        let a = facts.join("a.json");
        let b = facts.join("sub/b.json");
        let c = t.0.join("c.json");
        // The same file twice, a file inside a folder given too (before and
        // after it), a folder inside another, and a plain extra file.
        let store =
            FactStore::load_paths(&[&a, &facts, &a, &c, &b, &facts.join("sub"), &c]).unwrap();
        assert_eq!(names(&store), ["a", "b", "c"]);
        // A folder given twice: read once, and not "a folder of no files".
        let store = FactStore::load_paths(&[&facts, &facts]).unwrap();
        assert_eq!(names(&store), ["a", "b"]);
    }

    #[cfg(unix)]
    #[test]
    fn loops_and_dangling_links_are_errors_naming_the_link() {
        use std::os::unix::fs::symlink;
        let t = Scratch::new("loops");
        t.write("facts/a.json", &pod("a"));
        let facts = t.0.join("facts");
        symlink("..", facts.join("up")).unwrap();
        symlink("missing.json", facts.join("gone.json")).unwrap();
        symlink("self.json", facts.join("self.json")).unwrap();
        let errors = FactStore::load_path(&facts).unwrap_err();
        let root = std::fs::canonicalize(&t.0).unwrap();
        let shown: Vec<String> = messages(&errors, &t.0)
            .into_iter()
            .map(|m| m.replace(&root.display().to_string(), "ROOT"))
            .collect();
        assert_eq!(
            shown,
            [
                "ROOT/facts/gone.json: symbolic link to `missing.json` leads nowhere: No such file or directory (os error 2)",
                "ROOT/facts/self.json: symbolic link to `self.json` loops back on itself",
                "ROOT/facts/up: symbolic link leads back to `ROOT`, a folder that holds it: a loop",
            ]
        );
        assert!(errors.iter().all(|e| e.help().is_some()));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_in_a_folder_is_an_error_and_a_fifo_given_is_read_within_the_limit() {
        let t = Scratch::new("fifo");
        t.write("facts/a.json", &pod("a"));
        let fifo = t.0.join("facts/pipe.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let errors = FactStore::load_path(&t.0.join("facts")).unwrap_err();
        assert_eq!(
            messages(&errors, &t.0),
            ["ROOT/facts/pipe.json: not a regular file (a FIFO, socket or device)"]
        );
        // Given as the path itself, a FIFO is read, and what is read is bounded.
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
                // Until the reader stops reading (a broken pipe).
                while f.write_all(&[b' '; 4096]).is_ok() {}
            })
        };
        let errors = crate::read::with_test_limits(100_000, u64::MAX, || {
            FactStore::load_path(&fifo).unwrap_err()
        });
        writer.join().unwrap();
        assert_eq!(
            messages(&errors, &t.0),
            [
                "ROOT/facts/pipe.json: more than 100000 bytes of facts; rulerun reads at most that much from one file"
            ]
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn devices_are_read_within_the_limit() {
        let errors = crate::read::with_test_limits(1 << 20, u64::MAX, || {
            FactStore::load_path(Path::new("/dev/zero")).unwrap_err()
        });
        assert_eq!(
            errors[0].to_string(),
            "/dev/zero: more than 1 MiB of facts; rulerun reads at most that much from one file"
        );
        assert_eq!(
            errors[0].help().as_deref(),
            Some("split the facts into several files in a folder and pass `--facts FOLDER`")
        );
    }

    #[test]
    fn duplicate_keys_are_refused_in_json_as_in_yaml() {
        let e = parse_fact_text(
            Path::new("p.json"),
            "{\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n \"metadata\": {\"name\": \"a\", \"name\": \"b\"}}",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "p.json:2:33: duplicate key `name`");
        let e = parse_fact_text(
            Path::new("p.yaml"),
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "p.yaml:5:3: duplicate key `name`");
        assert_eq!(
            e.help(),
            crate::json::JsonErrorKind::DuplicateKey(String::new()).help()
        );
        let e = parse_fact_text(Path::new("p.yaml"), "a: .inf\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.yaml:1:4: number out of range: numbers are read as 64-bit floats, at most about 1.8e308 in size"
        );
    }

    #[test]
    fn documents_that_are_not_facts_make_a_bounded_number_of_errors() {
        let t = Scratch::new("not-facts");
        let f = t.write("zeros.json", &format!("[{}0]", "0,".repeat(10_000)));
        let errors = FactStore::load_path(&f).unwrap_err();
        assert_eq!(errors.len(), MAX_DOCUMENT_ERRORS + 1);
        assert_eq!(
            errors[MAX_DOCUMENT_ERRORS].to_string(),
            format!("{}: 9981 more documents that are not facts", f.display())
        );
    }

    #[test]
    fn json_positions_are_the_files_after_blank_lines_and_a_bom() {
        let e = parse_fact_text(Path::new("x.json"), "\u{feff}\n\n{\n  \"a\": ,\n}").unwrap_err();
        assert_eq!(e.pos.line, 4);
    }
}
