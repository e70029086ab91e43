//! The JSON Schemas rulerun publishes (`rulerun schema`, `docs/schema/`): those
//! of the files the engine loads (rule files, rule tests: `rulerun_core::schema`)
//! and of the files the CLI loads (`pack.yaml`: [`crate::packs::schema`];
//! `rulerun.yaml`: [`crate::config::schema`]).

use serde_json::Value;

use crate::config::schema::ConfigFile;
use crate::packs::schema::PackFile;
use rulerun_core::schema::{RuleFile, TestFile, generate};

/// The schemas: (name, file name under `docs/schema/`, what it covers).
pub const SCHEMAS: &[(&str, &str, &str)] = &[
    ("rule", "rule-file.json", "rule files (`rule.yaml`)"),
    (
        "test",
        "rule-test.json",
        "rule test files (`tests.yaml`, `*.test.yaml`)",
    ),
    ("pack", "pack.json", "rule pack manifests (`pack.yaml`)"),
    (
        "config",
        "config.json",
        "team configuration (`rulerun.yaml`)",
    ),
];

/// The schema called `name` (`rule`, `test`, `pack` or `config`).
pub fn schema(name: &str) -> Option<Value> {
    let (_, file, _) = SCHEMAS.iter().find(|(n, _, _)| *n == name)?;
    Some(match name {
        "rule" => generate::<RuleFile>(file),
        "test" => generate::<TestFile>(file),
        "pack" => generate::<PackFile>(file),
        _ => generate::<ConfigFile>(file),
    })
}

/// Every schema as pretty JSON with a final newline: (name, file, text).
pub fn all() -> Vec<(&'static str, &'static str, String)> {
    SCHEMAS
        .iter()
        .filter_map(|(name, file, _)| {
            let text = serde_json::to_string_pretty(&schema(name)?).ok()?;
            Some((*name, *file, format!("{text}\n")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_is_an_object_with_the_2020_12_dialect() {
        for (name, file, _) in SCHEMAS {
            let s = schema(name).unwrap_or_default();
            assert_eq!(
                s["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{name}"
            );
            assert_eq!(s["$id"], format!("https://rulerun.dev/schema/{file}"));
        }
        assert!(schema("nope").is_none());
    }
}
