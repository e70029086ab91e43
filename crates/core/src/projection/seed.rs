//! Parsing with a projection: [`serde::de::DeserializeSeed`]s driven by the tree,
//! which check skipped members without building them.

use super::*;

/// Parses fact text (JSON or YAML) into documents that hold only what
/// `projection` keeps; give them to [`FactStore::add_document`]. JSON is parsed
/// without allocating skipped members; YAML is parsed whole, then projected.
/// Syntax errors are reported as [`crate::facts::parse_fact_text`] reports them.
pub fn parse_fact_text_projected(
    path: &Path,
    text: &str,
    projection: &Projection,
) -> Result<Vec<Value>, LoadError> {
    if projection.all {
        return crate::facts::parse_fact_text(path, text);
    }
    // Only the BOM is cut, so lines and columns are the file's.
    let json = text.trim_start_matches('\u{feff}');
    if crate::facts::is_json(json) {
        let strict = Strict::new();
        let mut de = serde_json::Deserializer::from_str(json);
        let parsed = TopSeed(projection, &strict)
            .deserialize(&mut de)
            .and_then(|docs| de.end().map(|()| docs));
        match parsed {
            Ok(Some(docs)) => Ok(docs),
            // A document whose projection could not be decided while streaming.
            Ok(None) => Ok(crate::facts::parse_fact_text(path, text)?
                .into_iter()
                .map(|d| project_document(projection, d))
                .collect()),
            Err(e) => Err(strict.error(&e).load_error(path)),
        }
    } else {
        Ok(crate::facts::parse_fact_text(path, text)?
            .into_iter()
            .map(|d| project_document(projection, d))
            .collect())
    }
}

/// A parsed document (snapshot, list or object) projected as
/// [`parse_fact_text_projected`] would have parsed it.
pub fn project_document(projection: &Projection, doc: Value) -> Value {
    if projection.all {
        return doc;
    }
    let Value::Object(mut obj) = doc else {
        return doc;
    };
    match classify(&obj) {
        Class::Snapshot => {
            if let Some(Value::Object(facts)) = obj.get_mut("facts") {
                let facts = std::mem::take(facts);
                let facts = facts
                    .into_iter()
                    .map(|(kind, docs)| {
                        let docs = match docs {
                            Value::Array(items) => Value::Array(
                                items
                                    .into_iter()
                                    .map(|d| projection.project(&kind, d))
                                    .collect(),
                            ),
                            other => other,
                        };
                        (kind, docs)
                    })
                    .collect();
                obj.insert("facts".into(), Value::Object(facts));
            }
            Value::Object(obj)
        }
        Class::List { api_version, kind } => {
            if let Some(Value::Array(items)) = obj.remove("items") {
                let items = items
                    .into_iter()
                    .map(|item| project_item(projection, &api_version, &kind, item))
                    .collect();
                obj.insert("items".into(), Value::Array(items));
            }
            Value::Object(obj)
        }
        Class::Object(kind) => projection.project_object(&kind, Value::Object(obj)),
        Class::Other => Value::Object(obj),
    }
}

/// A list item projected by its kind (its own, else the list's), keeping its
/// `apiVersion` and `kind`; left whole when it has no kind (an error later).
pub(crate) fn project_item(
    projection: &Projection,
    list_av: &str,
    list_kind: &str,
    item: Value,
) -> Value {
    let Value::Object(o) = &item else {
        return item;
    };
    let av = o
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or(list_av)
        .to_string();
    let item_kind = list_kind.strip_suffix("List").unwrap_or("");
    let kind = match o.get("kind").and_then(Value::as_str) {
        Some(k) => k.to_string(),
        None if !item_kind.is_empty() => item_kind.to_string(),
        None => return item,
    };
    projection.project_object(&k8s_kind(&av, &kind), item)
}

pub(crate) enum Class {
    Snapshot,
    List { api_version: String, kind: String },
    Object(String),
    Other,
}

/// How [`FactStore::add_document`] reads a document.
pub(crate) fn classify(obj: &Map<String, Value>) -> Class {
    let av = obj.get("apiVersion").and_then(Value::as_str);
    let kind = obj.get("kind").and_then(Value::as_str);
    match (av, kind) {
        (Some(SNAPSHOT_API_VERSION), Some(SNAPSHOT_KIND)) => Class::Snapshot,
        (Some(av), Some(k))
            if k == "List" || (k.ends_with("List") && obj.contains_key("items")) =>
        {
            Class::List {
                api_version: av.to_string(),
                kind: k.to_string(),
            }
        }
        (Some(av), Some(k)) => Class::Object(k8s_kind(av, k)),
        _ => Class::Other,
    }
}

/// The top level of fact text: one document or an array of documents. `None`
/// when a document must be parsed again whole (see [`DocSeed`]).
pub(crate) struct TopSeed<'p>(&'p Projection, &'p Strict);

/// The scalar `visit_*` methods of a visitor: each scalar becomes the `Value`
/// `serde_json` builds for it, turned into the visitor's output by `$wrap`.
/// Each counts against the value budget of the parse (the visitor's `.1`).
macro_rules! visit_scalars {
    ($wrap:expr) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            self.1.count()?;
            Ok(($wrap)(Value::Bool(v)))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            self.1.count()?;
            Ok(($wrap)(Value::from(v)))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.1.count()?;
            Ok(($wrap)(Value::from(v)))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            self.1.count()?;
            Ok(($wrap)(self.1.float(v)?))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            self.1.count()?;
            Ok(($wrap)(Value::String(v.to_string())))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            self.1.count()?;
            Ok(($wrap)(Value::Null))
        }
    };
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Option<Vec<Value>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Option<Vec<Value>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        self.1.count()?;
        let mut docs = Vec::new();
        let mut complete = true;
        while let Some(doc) = seq.next_element_seed(DocSeed(self.0, self.1))? {
            match doc {
                Some(d) => docs.push(d),
                None => complete = false,
            }
        }
        Ok(complete.then_some(docs))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(DocSeed(self.0, self.1).visit_map(map)?.map(|d| vec![d]))
    }
    visit_scalars!(|v| Some(vec![v]));
}

/// One document. A snapshot's `facts` are projected per kind and a list's
/// `items` per item kind as they are read; the rest of the document is read
/// whole, then projected when it is a single object. `None` when `facts` or
/// `items` were projected but the document turns out to be a single object
/// (whose members they are): it is then parsed again whole.
pub(crate) struct DocSeed<'p>(&'p Projection, &'p Strict);

impl<'de> DeserializeSeed<'de> for DocSeed<'_> {
    type Value = Option<Value>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_> {
    type Value = Option<Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.1.count()?;
        let mut obj = Map::new();
        let mut lossy = false;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if obj.contains_key(&*key.0) {
                return Err(self.1.duplicate(&key.0));
            }
            let value = match &*key.0 {
                "facts" => {
                    let (v, projected) = map.next_value_seed(FactsSeed(self.0, self.1))?;
                    lossy |= projected;
                    v
                }
                "items" => {
                    let (v, projected) = map.next_value_seed(ItemsSeed(self.0, self.1))?;
                    lossy |= projected;
                    v
                }
                _ => map.next_value_seed(ValueSeed(self.1))?,
            };
            obj.insert(key.0.into_owned(), value);
        }
        Ok(match classify(&obj) {
            Class::Snapshot | Class::Other => Some(Value::Object(obj)),
            Class::List { api_version, kind } => {
                // Items without a kind of their own take the list's.
                if let Some(Value::Array(items)) = obj.get_mut("items") {
                    for item in items.iter_mut() {
                        let unprojected = item.as_object().is_some_and(|o| {
                            !(o.contains_key("apiVersion") && o.contains_key("kind"))
                        });
                        if unprojected {
                            let whole = std::mem::take(item);
                            *item = project_item(self.0, &api_version, &kind, whole);
                        }
                    }
                }
                Some(Value::Object(obj))
            }
            Class::Object(_) if lossy => None,
            Class::Object(kind) => Some(self.0.project_object(&kind, Value::Object(obj))),
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Ok(Some(ValueSeed(self.1).visit_seq(seq)?))
    }
    visit_scalars!(Some);
}

/// A snapshot's `facts`: each kind's documents projected by the kind's node.
/// The flag is true when something was projected.
pub(crate) struct FactsSeed<'p>(&'p Projection, &'p Strict);

impl<'de> DeserializeSeed<'de> for FactsSeed<'_> {
    type Value = (Value, bool);
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FactsSeed<'_> {
    type Value = (Value, bool);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of fact kinds to documents")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.1.count()?;
        let mut out = Map::new();
        while let Some(kind) = map.next_key::<String>()? {
            if out.contains_key(&kind) {
                return Err(self.1.duplicate(&kind));
            }
            let node = self.0.node(&kind);
            let docs = map.next_value_seed(ArraySeed(node, self.1))?;
            out.insert(kind, docs);
        }
        Ok((Value::Object(out), true))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Ok((ValueSeed(self.1).visit_seq(seq)?, false))
    }
    visit_scalars!(|v| (v, false));
}

/// A list's `items`: each item read whole, then projected by its own kind when
/// it names one (one item at a time is held whole). The flag is true when
/// something was projected.
pub(crate) struct ItemsSeed<'p>(&'p Projection, &'p Strict);

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = (Value, bool);
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = (Value, bool);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        self.1.count()?;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let mut projected = false;
        while let Some(item) = seq.next_element_seed(ValueSeed(self.1))? {
            let own = item.as_object().and_then(|o| {
                let av = o.get("apiVersion")?.as_str()?;
                let k = o.get("kind")?.as_str()?;
                Some(k8s_kind(av, k))
            });
            match own {
                Some(kind) => {
                    projected = true;
                    out.push(self.0.project_object(&kind, item));
                }
                None => out.push(item),
            }
        }
        Ok((Value::Array(out), projected))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok((ValueSeed(self.1).visit_map(map)?, false))
    }
    visit_scalars!(|v| (v, false));
}

/// A kind's documents: an array whose elements `0` projects (anything else is
/// read whole, for the error message).
pub(crate) struct ArraySeed<'n>(&'n Node, &'n Strict);

impl<'de> DeserializeSeed<'de> for ArraySeed<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.0.whole {
            return ValueSeed(self.1).deserialize(d);
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ArraySeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of documents")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.1.count()?;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(NodeSeed(self.0, self.1))? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        ValueSeed(self.1).visit_map(map)
    }
    visit_scalars!(std::convert::identity);
}

/// A value projected by a node while it is parsed.
pub(crate) struct NodeSeed<'n>(&'n Node, &'n Strict);

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.0.whole {
            return ValueSeed(self.1).deserialize(d);
        }
        d.deserialize_any(ValueVisitor(self.0, self.1))
    }
}

/// Builds a [`Value`] as [`ValueSeed`] does, keeping only what the node keeps;
/// the members it does not keep are checked by [`SkipSeed`].
pub(crate) struct ValueVisitor<'n>(&'n Node, &'n Strict);

impl<'de> Visitor<'de> for ValueVisitor<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.1.count()?;
        Ok(Value::String(v))
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.1.count()?;
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        NodeSeed(self.0, self.1).deserialize(d)
    }
    visit_scalars!(std::convert::identity);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.1.count()?;
        let e = self.0.element();
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(NodeSeed(e, self.1))? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.1.count()?;
        let mut out = Map::new();
        // Every member name, kept or skipped, for duplicates.
        let mut keys = KeySet::default();
        let mut first = self.0.nonempty;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            // A clone of a borrowed name is a pointer; escaped names are rare.
            if let Err(dup) = keys.insert(key.0.clone()) {
                return Err(self.1.duplicate(&dup));
            }
            let name = &*key.0;
            match self.0.child(name) {
                Some(c) => {
                    let v = map.next_value_seed(NodeSeed(c, self.1))?;
                    out.insert(name.to_string(), v);
                }
                None if first => {
                    let v = map.next_value_seed(NodeSeed(&EMPTY, self.1))?;
                    out.insert(name.to_string(), v);
                }
                None => map.next_value_seed(SkipSeed(self.1))?,
            }
            first = false;
        }
        Ok(Value::Object(out))
    }
}

impl FactStore {
    /// Like [`FactStore::load_path`], with documents holding only what
    /// `projection` keeps (for `check`; `collect` and `query` keep whole
    /// documents).
    pub fn load_path_projected(
        path: &Path,
        projection: &Projection,
    ) -> Result<FactStore, Vec<LoadError>> {
        Self::load_paths_projected(std::slice::from_ref(&path), projection)
    }

    /// [`FactStore::load_paths`], with documents holding only what
    /// `projection` keeps.
    pub fn load_paths_projected(
        paths: &[&Path],
        projection: &Projection,
    ) -> Result<FactStore, Vec<LoadError>> {
        FactStore::load_paths_with(paths, |file, text| {
            parse_fact_text_projected(file, text, projection)
        })
    }

    /// [`FactStore::load_paths_projected`], kept apart by cluster as
    /// [`crate::facts::ClusterFacts`] describes.
    pub fn load_clusters_projected(
        paths: &[&Path],
        projection: &Projection,
    ) -> Result<Vec<crate::facts::ClusterFacts>, Vec<LoadError>> {
        FactStore::load_clusters_with(paths, |file, text| {
            parse_fact_text_projected(file, text, projection)
        })
    }
}
