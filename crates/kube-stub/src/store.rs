//! The fixture objects, grouped by resource and kept in etcd key order.

use std::collections::BTreeMap;
use std::io;

use serde_json::{Value, json};

use crate::resources::{Crds, RESOURCES, by_kind};

/// One stored object.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The object as given (with `kind` and `apiVersion`), normalized.
    pub obj: Value,
    /// The JSON of the object as a list item: without `kind` and `apiVersion`.
    pub item: Vec<u8>,
}

/// Objects by resource index, each list sorted by key (`namespace/name` or `name`).
#[derive(Debug, Default)]
pub(crate) struct Store {
    by_resource: BTreeMap<usize, BTreeMap<String, Entry>>,
    /// The resourceVersion lists report: above every object's.
    pub resource_version: u64,
    /// The custom resources the stored CRDs define.
    crds: Crds,
}

impl Entry {
    /// An entry for `obj`, with its list-item form.
    fn new(obj: Value) -> Self {
        let mut item = obj.clone();
        if let Some(m) = item.as_object_mut() {
            m.remove("kind");
            m.remove("apiVersion");
        }
        let item = serde_json::to_vec(&item).unwrap_or_default();
        Entry { obj, item }
    }
}

/// The key the real server stores an object under, below its resource prefix.
pub(crate) fn key(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// A stable uid-shaped string derived from `seed` (FNV-1a, twice).
pub(crate) fn uid_for(seed: &str) -> String {
    let fnv = |salt: u64| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
        for b in seed.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    };
    let a = fnv(0);
    let b = fnv(0x9e37_79b9_7f4a_7c15);
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Whether the stub serves objects of `api_version` and `kind` (a custom resource
/// only when its CustomResourceDefinition is among the objects).
pub fn is_served(api_version: &str, kind: &str) -> bool {
    by_kind(api_version, kind).is_some()
}

impl Store {
    /// Indexes `objects`: each needs `apiVersion`, `kind` and `metadata.name`, of a
    /// served kind. Namespaced objects without a namespace go to `default`; missing
    /// `metadata.uid` and `metadata.resourceVersion` are filled in. A later object
    /// with the same key replaces an earlier one.
    pub fn new(objects: Vec<Value>) -> io::Result<Self> {
        let mut store = Store {
            by_resource: BTreeMap::new(),
            resource_version: 1000,
            // CRDs first: a custom resource is stored only when its CRD is.
            crds: Crds::from_objects(&objects),
        };
        for (i, mut obj) in objects.into_iter().enumerate() {
            let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let (api_version, kind) = (text("apiVersion"), text("kind"));
            if api_version.is_empty() || kind.is_empty() {
                return Err(invalid(format!(
                    "object {i} has no `apiVersion` and `kind`"
                )));
            }
            let Some(ri) = by_kind(&api_version, &kind) else {
                return Err(invalid(format!(
                    "object {i}: {api_version} {kind} is not a kind the stub serves"
                )));
            };
            let resource = &RESOURCES[ri];
            if !store.crds.serves(resource) {
                return Err(invalid(format!(
                    "object {i}: {api_version} {kind} needs the CustomResourceDefinition `{}` among the objects",
                    resource.qualified()
                )));
            }
            let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
                return Err(invalid(format!("object {i} ({kind}) has no `metadata`")));
            };
            let Some(name) = meta.get("name").and_then(Value::as_str).map(str::to_string) else {
                return Err(invalid(format!(
                    "object {i} ({kind}) has no `metadata.name`"
                )));
            };
            let namespace = if resource.namespaced {
                let ns = meta
                    .get("namespace")
                    .and_then(Value::as_str)
                    .filter(|ns| !ns.is_empty())
                    .unwrap_or("default")
                    .to_string();
                meta.insert("namespace".into(), json!(ns));
                Some(ns)
            } else {
                None
            };
            if !meta.contains_key("uid") {
                let seed = format!(
                    "{}/{}",
                    resource.qualified(),
                    key(namespace.as_deref(), &name)
                );
                meta.insert("uid".into(), json!(uid_for(&seed)));
            }
            match meta.get("resourceVersion").and_then(Value::as_str) {
                Some(rv) => {
                    if let Ok(n) = rv.parse::<u64>() {
                        store.resource_version = store.resource_version.max(n);
                    }
                }
                None => {
                    store.resource_version += 1;
                    meta.insert(
                        "resourceVersion".into(),
                        json!(store.resource_version.to_string()),
                    );
                }
            }
            store
                .by_resource
                .entry(ri)
                .or_default()
                .insert(key(namespace.as_deref(), &name), Entry::new(obj));
        }
        store.resource_version += 1;
        Ok(store)
    }

    /// The objects of resource `ri` in key order, from key `from` (inclusive) on, and
    /// in `namespace` if given.
    pub fn range<'a>(
        &'a self,
        ri: usize,
        namespace: Option<&'a str>,
        from: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a str, &'a Entry)> + 'a {
        use std::ops::Bound;
        let lower = match from {
            Some(a) => Bound::Included(a.to_string()),
            None => Bound::Unbounded,
        };
        self.by_resource
            .get(&ri)
            .into_iter()
            .flat_map(move |m| m.range((lower.clone(), Bound::Unbounded)))
            .filter(move |(_, e)| {
                namespace.is_none_or(|ns| {
                    e.obj.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns)
                })
            })
            .map(|(k, v)| (k.as_str(), v))
    }

    /// The object of resource `ri` at `key`.
    pub fn get(&self, ri: usize, key: &str) -> Option<&Value> {
        self.by_resource
            .get(&ri)
            .and_then(|m| m.get(key))
            .map(|e| &e.obj)
    }

    /// The custom resources the stored CRDs define (CRDs are fixtures: writes to
    /// them are not served, so this never changes).
    pub fn crds(&self) -> &Crds {
        &self.crds
    }

    /// A new resourceVersion, above every one given out.
    pub fn next_resource_version(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    /// Stores `obj` as the object of resource `ri` at `key`, replacing any.
    pub fn put(&mut self, ri: usize, key: String, obj: Value) {
        self.by_resource
            .entry(ri)
            .or_default()
            .insert(key, Entry::new(obj));
    }

    /// Removes and returns the object of resource `ri` at `key`.
    pub fn remove(&mut self, ri: usize, key: &str) -> Option<Value> {
        self.by_resource.get_mut(&ri)?.remove(key).map(|e| e.obj)
    }

    /// How many objects there are in all.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_resource.values().map(BTreeMap::len).sum()
    }
}
