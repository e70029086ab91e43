//! The JSON Schema of `pack.yaml`, from mirror types of what [`super`] loads
//! (published by `rulerun schema` and `docs/schema/pack.json`; `tests/it/schema.rs`
//! keeps the two from drifting).

// Mirror types: never built, only described to schemars.
#![allow(dead_code)]

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::Value;

/// A rule pack manifest (`pack.yaml`): the pack's name, version and rule files.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "rulerun pack manifest")]
pub struct PackFile {
    /// The pack's name: lowercase words joined by `-`; also its folder name under
    /// `vendor/rulepacks/` by default.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,63}$"))]
    pub name: String,
    /// The pack's version (semantic versioning, e.g. `1.2.0`).
    pub version: String,
    /// What the pack is for.
    pub description: Option<String>,
    /// The rulerun versions the pack works with, as a semver requirement, e.g. `">=0.1.0"`.
    pub rulerun: Option<String>,
    /// The rule files of the pack, relative to `pack.yaml` (e.g. `my-rule/rule.yaml`);
    /// every rule file in the folder must be listed (here or under `parts`).
    pub rules: Vec<String>,
    /// The part files of the pack (files with a top-level `parts:` list), relative
    /// to `pack.yaml` (e.g. `parts/node.yaml`).
    pub parts: Option<Vec<String>>,
    /// Packs whose public parts this pack's rules use, as `PACK/NAME`.
    pub uses: Option<Vec<PackName>>,
    /// Fact kinds the pack declares for facts its users bring in snapshots (custom
    /// resources, other APIs), as `KIND: {shape: ..., description: ...}`: rules may
    /// select and join them, and paths into them are checked against the shape.
    pub kinds: Option<BTreeMap<String, KindDecl>>,
    /// What the pack requires of its rule tests (`rulerun test` and `rulerun validate`).
    pub tests: Option<PackTests>,
}

/// What a pack requires of its rule tests.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PackTests {
    /// Every rule of the pack has a must-not-fire case: a test case that runs it and
    /// expects no finding from it (`expect: []`). `rulerun test` and `rulerun
    /// validate` fail naming each rule without one. Default `false`.
    pub require_must_not_fire: Option<bool>,
}

/// A fact kind a team declares.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KindDecl {
    /// The documents' shape, in a subset of JSON Schema: `type` (`object`,
    /// `array`, `string`, `number`, `integer`, `boolean`, `null`), `properties`
    /// (the fields; others warn unless `additionalProperties` is `true` or a
    /// shape), `items`, and `$ref` to a shape of the built-in catalog (e.g.
    /// `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`); `description`,
    /// `title`, `required`, `format` and `enum` are ignored. Default `{}`: anything.
    pub shape: Option<Value>,
    /// What the kind is.
    pub description: Option<String>,
}

/// A pack's name.
pub struct PackName;

impl JsonSchema for PackName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PackName".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "a pack's name: lowercase words joined by `-`",
            "type": "string",
            "pattern": "^[a-z][a-z0-9-]{0,63}$"
        })
    }
}
