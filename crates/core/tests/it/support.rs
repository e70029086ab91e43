//! Helpers shared by the core crate's tests.

use std::path::PathBuf;

use rulerun_core::{FactStore, SourceFile};

/// A rule file named `name` holding `text`.
pub fn src(name: &str, text: &str) -> SourceFile {
    SourceFile {
        path: PathBuf::from(name),
        text: text.to_string(),
    }
}

/// A fact store from a `{kind: [documents]}` map.
pub fn facts(v: serde_json::Value) -> FactStore {
    let mut s = FactStore::new();
    s.add_facts_map(v.as_object().unwrap().clone()).unwrap();
    s
}
