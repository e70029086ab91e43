//! JSON Schemas (draft 2020-12) of the files people write that this crate loads:
//! rule files and rule test files, for editors (yaml-language-server) and for
//! checking files outside rulerun. The CLI publishes them with those of
//! `pack.yaml` and `rulerun.yaml`, whose mirror types sit beside its loaders of
//! those files, built with [`generate`] and the shared types here
//! ([`FormatVersion`], [`SeverityName`], [`AnyValue`]).
//!
//! The loaders are hand-written over [`crate::yaml`] nodes (that is how they report
//! every error at its `file:line:column`), so the schemas are generated from the
//! mirror types below, and `tests/it/schema.rs` keeps the two from drifting: every
//! built-in rule and test file must validate, and files with an unknown key must
//! be rejected by both. Keys come from the loader's own key lists where there is
//! one (the matcher operators, [`crate::load::MATCHERS`]). Every object is closed
//! (`additionalProperties: false`), as the loaders reject unknown keys.
//!
//! The schemas are a little stricter than the loaders in one way: severities are
//! lowercase (the loader also accepts `High`; the docs say to write lowercase).

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};

use crate::load::MATCHERS;

/// The schema of `T`, as rulerun publishes it (draft 2020-12, keys sorted,
/// optional keys without `null`), with the `$id`
/// `https://rulerun.dev/schema/{file}`. The schemas of the files this crate
/// loads are [`RuleFile`] and [`TestFile`]; the CLI adds those of the files it
/// loads (`pack.yaml`, `rulerun.yaml`), from mirror types beside their loaders.
pub fn generate<T: JsonSchema>(file: &str) -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut value = generator.root_schema_for::<T>().to_value();
    drop_null(&mut value);
    sort_keys(&mut value);
    if let Value::Object(map) = &mut value {
        map.insert(
            "$id".into(),
            Value::String(format!("https://rulerun.dev/schema/{file}")),
        );
    }
    value
}

/// Optional keys are written as absent, never as `null` (the loaders reject
/// `key: null` where a value is expected), so the `null` that schemars adds to
/// every `Option` is taken out again.
fn drop_null(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1
                    && let Some(t) = types.pop()
                {
                    map.insert("type".into(), t);
                }
            }
            if let Some(Value::Array(any)) = map.get("anyOf")
                && any.len() == 2
                && any.iter().any(|s| s == &json!({"type": "null"}))
            {
                let keep = any.iter().find(|s| *s != &json!({"type": "null"})).cloned();
                if let Some(Value::Object(inner)) = keep {
                    map.remove("anyOf");
                    for (k, x) in inner {
                        map.entry(k).or_insert(x);
                    }
                }
            }
            for (_, x) in map.iter_mut() {
                drop_null(x);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

/// Puts every object's keys in sorted order, so the text is the same whether or
/// not serde_json preserves insertion order (a feature another crate of the
/// build may turn on).
fn sort_keys(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, mut x) in entries {
                sort_keys(&mut x);
                map.insert(k, x);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Rule files

/// A rulerun rule file: a list of rules, a list of parts, or both
/// (docs/rule-language.md).
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "rulerun rule file")]
#[schemars(extend("anyOf" = [{"required": ["rules"]}, {"required": ["parts"]}]))]
pub struct RuleFile {
    /// The rule format version; this rulerun reads `1`.
    pub version: Option<FormatVersion>,
    /// The rules of this file.
    pub rules: Option<Vec<RuleDef>>,
    /// Named parts (bindings, conditions, fix steps) the pack's rules use; list
    /// the file under `parts:` in `pack.yaml`.
    pub parts: Option<Vec<PartDef>>,
}

/// The format version `1`.
pub struct FormatVersion;

impl JsonSchema for FormatVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FormatVersion".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"description": "format version", "const": 1})
    }
}

/// One rule.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleDef {
    /// Stable id: lowercase words joined by `-`, e.g. `pod-image-pull-failing`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,99}$"))]
    pub id: String,
    /// One line, shown with every finding.
    pub title: String,
    /// The severity of its findings.
    pub severity: SeverityName,
    /// Free-form labels, e.g. `[kubernetes, images]`.
    pub labels: Option<Vec<String>>,
    /// Documentation, rendered by `rulerun explain`.
    pub docs: Option<RuleDocsDef>,
    /// Parameters teams may set in `rulerun.yaml` (`params.NAME` in templates,
    /// `$params.NAME` in paths).
    #[schemars(extend("propertyNames" = {"pattern": "^[A-Za-z][A-Za-z0-9_]*$"}))]
    pub params: Option<BTreeMap<String, ParamDef>>,
    /// Rule ids whose findings on the same subject this rule's findings replace
    /// (when both rules iterate `each`: only those about the same element).
    pub supersedes: Option<Vec<String>>,
    /// The fact kind to iterate, and an optional filter.
    pub subject: SubjectDef,
    /// Iterate a list inside the subject.
    pub each: Option<EachDef>,
    /// Bindings parts, expanded in order after `each` and before `let`: `NAME`
    /// (a part of this pack), `PACK/NAME` (a public part of a pack named in
    /// `pack.yaml`'s `uses:`), or `{part: NAME, with: {INPUT: value}}`.
    pub uses: Option<Vec<PartUse>>,
    /// Named bindings, computed in order: each is a `join`, a `call` or a `value`.
    #[serde(rename = "let")]
    #[schemars(extend("propertyNames" = {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}))]
    pub let_: Option<BTreeMap<String, BindingDef>>,
    /// The condition; absent means always.
    pub when: Option<Condition>,
    /// The finding each match produces.
    pub finding: FindingDef,
}

/// A part name as a rule or part writes it: `NAME` or `PACK/NAME`.
pub struct PartName;

impl JsonSchema for PartName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PartName".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "a part: `NAME` (of this pack) or `PACK/NAME` (a public part of a pack named in `pack.yaml`'s `uses:`)",
            "type": "string",
            "pattern": PART_NAME_PATTERN
        })
    }
}

/// `PACK/NAME` or `NAME`, as [`crate::parts`] accepts them.
const PART_NAME_PATTERN: &str = "^([a-z][a-z0-9-]{0,63}/)?[a-z][a-z0-9-]{0,99}$";

/// An entry of a rule's `uses:`.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum PartUse {
    /// A bindings part whose inputs are bound in the rule's scope or have defaults.
    Name(PartName),
    /// A bindings part with values for its inputs.
    With(PartUseWith),
}

/// `{part: NAME, with: {INPUT: value}, as: NAME}`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartUseWith {
    /// The bindings part.
    pub part: PartName,
    /// Values for the part's inputs (value expressions in the rule's scope); an
    /// input the rule already binds cannot be given here.
    #[schemars(extend("propertyNames" = {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}))]
    pub with: Option<BTreeMap<String, ValueExpr>>,
    /// Expand the part in a scope of its own, bound to this name: the names it
    /// binds are read as `$NAME.x` (`{{ NAME.x }}`) and do not clash with the
    /// rule's or another use of the same part, so one part can be used twice
    /// with different inputs.
    #[serde(rename = "as")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub as_: Option<String>,
}

/// A named part: exactly one of `let` (a bindings part), `condition` or `fix`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["let"]}, {"required": ["condition"]}, {"required": ["fix"]}]))]
pub struct PartDef {
    /// The part's name, unique in its pack: lowercase words joined by `-`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,99}$"))]
    pub id: String,
    /// What it binds, tests or fixes; `rulerun explain NAME` shows it.
    pub description: Option<String>,
    /// `true`: offered to packs that declare this one in `uses:` (and not an
    /// error when no rule of this pack uses it).
    pub public: Option<bool>,
    /// Names the part reads from the scope it is used in.
    #[schemars(extend("propertyNames" = {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}))]
    pub inputs: Option<BTreeMap<String, PartInputDef>>,
    /// Bindings parts it builds on, expanded before it.
    pub uses: Option<Vec<PartName>>,
    /// A bindings part: named bindings, as a rule's `let`.
    #[serde(rename = "let")]
    #[schemars(extend("propertyNames" = {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}))]
    pub let_: Option<BTreeMap<String, BindingDef>>,
    /// A condition part, used as `{use: NAME}` where a condition goes.
    pub condition: Option<Condition>,
    /// A fix part: steps, used in `finding.fix` as `- use: NAME`.
    pub fix: Option<Vec<PartFixStepDef>>,
}

/// An input of a part: `{description, default}`, or nothing.
pub struct PartInputDef;

impl JsonSchema for PartInputDef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PartInput".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut default = generator.subschema_for::<ValueExpr>().to_value();
        if let Value::Object(m) = &mut default {
            m.insert(
                "description".into(),
                Value::String("bindings parts only: the value expression bound when the rule binds nothing of this name and passes nothing in `with`".into()),
            );
        }
        json_schema!({
            "description": "an input: a name the part reads from the scope it is used in",
            "oneOf": [
                {"const": null},
                {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "description": {"description": "what the input must hold", "type": "string"},
                        "default": default
                    }
                }
            ]
        })
    }
}

/// A step of a fix part (parts do not use other fix parts).
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum PartFixStepDef {
    /// Each element is rendered alone and becomes one shell word (preferred).
    Argv(ArgvStep),
    /// A whole command line; every interpolated value is quoted as one word.
    Command(CommandStep),
}

/// `info` < `low` < `medium` < `high` < `critical`.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SeverityName {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// A rule's documentation.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleDocsDef {
    /// What the rule detects.
    pub summary: Option<String>,
    /// Why it matters.
    pub why_it_matters: Option<String>,
    /// How to fix it, in prose (commands go in `finding.fix`).
    pub how_to_fix: Option<String>,
    /// Links.
    pub references: Option<Vec<String>>,
}

/// A rule parameter: its default (which also fixes the type of values teams may
/// set) and what it means.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamDef {
    /// The value unless `rulerun.yaml` sets one; overrides must have its JSON type.
    pub default: AnyValue,
    /// What the parameter means, shown by `rulerun explain`.
    pub description: Option<String>,
}

/// Any YAML value.
pub struct AnyValue;

impl JsonSchema for AnyValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AnyValue".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!(true)
    }
}

/// A value expression: a path (`$...`), a template (`{{ ... }}`), a literal, or a
/// list or mapping of those.
pub struct ValueExpr;

impl JsonSchema for ValueExpr {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ValueExpr".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "a path (`$.x`, `$name.x`), a template (`{{ ... }}`), a literal (`$$` for a literal `$`), or a list or mapping of those"
        })
    }
}

/// A path: `$.` for the subject, `$name.` for a binding (RFC 9535 JSONPath after
/// the name).
pub struct PathText;

impl JsonSchema for PathText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Path".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "a path: `$.a.b` (the subject), `$name.a.b` (a binding), RFC 9535 JSONPath",
            "type": "string",
            "pattern": "^\\$"
        })
    }
}

/// A fact kind: `k8s/v1/Pod`, `k8s/apps/v1/ReplicaSet`, `aws/ecr/Repository`.
pub struct KindName;

impl JsonSchema for KindName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Kind".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // The built-in kinds from the catalog, for editors to complete, and any
        // other well-formed name for the kinds a pack declares under `kinds:`
        // (the loader refuses a kind that neither knows).
        let builtin: Vec<&str> = crate::catalog::builtin()
            .kinds()
            .map(|k| k.name.as_str())
            .collect();
        json_schema!({
            "description": "a fact kind named after its API: `k8s/v1/Pod`, `k8s/apps/v1/ReplicaSet`, `aws/ecr/Repository`",
            "anyOf": [
                {
                    "description": "a kind rulerun knows (docs/facts.md)",
                    "enum": builtin
                },
                {
                    "description": "a kind a pack declares under `kinds:` in its pack.yaml",
                    "type": "string",
                    "pattern": "^[^/\\s]+(/[^/\\s]+)+$"
                }
            ]
        })
    }
}

/// `subject`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectDef {
    /// The fact kind; the rule runs once per fact of this kind.
    pub kind: KindName,
    /// A condition on the subject alone, tested first.
    #[serde(rename = "where")]
    pub where_: Option<Condition>,
}

/// `each`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EachDef {
    /// The name each element is bound to.
    #[serde(rename = "as")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub as_: String,
    /// A path in the subject; every node it finds is one candidate.
    pub path: PathText,
    /// A condition filtering candidates.
    #[serde(rename = "where")]
    pub where_: Option<Condition>,
}

/// A `let` binding: exactly one of `join`, `call` or `value`.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum BindingDef {
    /// Look facts of another kind up by key.
    Join(JoinDef),
    /// Call a registered function (`rulerun functions`).
    Call(CallDef),
    /// Bind a value expression.
    Value(ValueDef),
}

/// A string or a list of strings.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// One.
    One(T),
    /// Several.
    Many(Vec<T>),
}

/// A join binding.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinDef {
    /// The fact kind to look in.
    pub join: KindName,
    /// Key path(s) in the joined fact (`$.`).
    pub on: OneOrMany<PathText>,
    /// Key path(s) in the rule's scope, as many as `on`.
    pub equals: OneOrMany<PathText>,
    /// A condition on each matched fact (`$.` is the joined fact).
    #[serde(rename = "where")]
    pub where_: Option<Condition>,
    /// `true`: bind the first match or null; `false` (default): the list of matches.
    pub one: Option<bool>,
    /// Compute the binding only when this holds (else it is null).
    #[serde(rename = "if")]
    pub if_: Option<Condition>,
}

/// A function-call binding.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallDef {
    /// The function name (`rulerun functions`).
    pub call: String,
    /// The arguments: a list of value expressions (one non-list value is one argument).
    pub args: Option<ValueExpr>,
    /// Compute the binding only when this holds (else it is null).
    #[serde(rename = "if")]
    pub if_: Option<Condition>,
}

/// A value binding.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueDef {
    /// A value expression.
    pub value: ValueExpr,
    /// Compute the binding only when this holds (else it is null).
    #[serde(rename = "if")]
    pub if_: Option<Condition>,
}

/// A condition: a matcher `{path, OPERATOR, quantifier?}`, `{all: [...]}`,
/// `{any: [...]}`, `{not: ...}`, or a list (all must hold).
pub struct Condition;

impl JsonSchema for Condition {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Condition".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let cond = generator.subschema_for::<Condition>().to_value();
        let mut props = Map::new();
        props.insert(
            "path".into(),
            generator.subschema_for::<PathText>().to_value(),
        );
        props.insert(
            "quantifier".into(),
            json!({"description": "`any` (default): a node satisfies the operator; `all`: every node does, and there is one", "enum": ["any", "all"]}),
        );
        for (op, doc) in MATCHERS {
            let shape = match *op {
                "in" | "notIn" => json!({"type": "array"}),
                "regex" | "startsWith" | "endsWith" => json!({"type": "string"}),
                "exists" | "absent" => json!({"type": "boolean"}),
                "gt" | "gte" | "lt" | "lte" => json!({"type": "number"}),
                "count" => json!({"anyOf": [
                    {"type": "integer", "minimum": 0},
                    {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": false,
                     "properties": {
                        "gte": {"type": "integer", "minimum": 0},
                        "lte": {"type": "integer", "minimum": 0},
                        "equals": {"type": "integer", "minimum": 0}}}
                ]}),
                _ => json!({}),
            };
            let mut shape = shape;
            if let Value::Object(m) = &mut shape {
                m.insert("description".into(), Value::String((*doc).to_string()));
            }
            props.insert((*op).to_string(), shape);
        }
        let one_operator: Vec<Value> = MATCHERS
            .iter()
            .map(|(op, _)| json!({"required": [op]}))
            .collect();
        let combinator = |key: &str, inner: Value| {
            json!({
                "type": "object",
                "properties": {key: inner},
                "required": [key],
                "additionalProperties": false
            })
        };
        let part = generator.subschema_for::<PartName>().to_value();
        json_schema!({
            "description": "a condition: a matcher `{path: ..., OPERATOR: ..., quantifier: any|all}`, `{all: [...]}`, `{any: [...]}`, `{not: ...}`, `{use: PART}` (a condition part), or a list (all must hold)",
            "anyOf": [
                {"type": "array", "items": cond},
                combinator("all", json!({"type": "array", "items": cond})),
                combinator("any", json!({"type": "array", "items": cond})),
                combinator("not", cond),
                combinator("use", part),
                {
                    "type": "object",
                    "properties": props,
                    "required": ["path"],
                    "additionalProperties": false,
                    "oneOf": one_operator
                }
            ]
        })
    }
}

/// `finding`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingDef {
    /// Override the finding's subject (default: the subject fact).
    pub subject: Option<FindingSubjectDef>,
    /// The message, a template.
    pub message: String,
    /// Named values shown with the finding (value expressions).
    pub evidence: Option<BTreeMap<String, ValueExpr>>,
    /// Fix steps, in order.
    pub fix: Option<Vec<FixStepDef>>,
}

/// `finding.subject`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingSubjectDef {
    /// The kind shown.
    pub kind: Option<ValueExpr>,
    /// The namespace shown.
    pub namespace: Option<ValueExpr>,
    /// The name shown.
    pub name: Option<ValueExpr>,
}

/// A fix step: a description and exactly one of `argv` or `command`, or
/// `{use: PART}`, the steps of a fix part.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum FixStepDef {
    /// Each element is rendered alone and becomes one shell word (preferred).
    Argv(ArgvStep),
    /// A whole command line; every interpolated value is quoted as one word.
    Command(CommandStep),
    /// The steps of a fix part, in its order.
    Use(UseStep),
}

/// `{use: PART}` in `finding.fix`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UseStep {
    /// A fix part; the bindings parts it builds on must be in the rule's `uses:`.
    #[serde(rename = "use")]
    pub use_: PartName,
}

/// A fix step with `argv`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArgvStep {
    /// What the step does (a template).
    pub description: String,
    /// The command's words: each a template (one word), or a path (`$...`) whose
    /// value is spliced in, one word per array element. A value may start with
    /// `-` only in an element whose template starts with `-` (`--flag={{ x }}`)
    /// or after a literal `--`; elsewhere it is an evaluation error.
    #[schemars(length(min = 1))]
    pub argv: Vec<String>,
    /// Offer the step only when this holds.
    #[serde(rename = "if")]
    pub if_: Option<Condition>,
    /// The values the user supplies: `NAME: what to put there` (a template).
    /// Each is written `{{ placeholder("NAME") }}` in `argv` and printed `<NAME>`.
    #[schemars(extend("propertyNames" = {"pattern": "^[A-Z][A-Z0-9_]{0,63}$"}))]
    pub placeholders: Option<BTreeMap<String, String>>,
}

/// A fix step with `command`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandStep {
    /// What the step does (a template).
    pub description: String,
    /// The command line (a template; interpolated values are quoted, and may
    /// stand only in plain argument words: not in quotes, substitutions,
    /// arithmetic, here-documents or comments, not as the command word, not for
    /// `eval`, `sh -c` and the like; no `{% %}` statements).
    pub command: String,
    /// Offer the step only when this holds.
    #[serde(rename = "if")]
    pub if_: Option<Condition>,
    /// The values the user supplies: `NAME: what to put there` (a template).
    /// Each is written `{{ placeholder("NAME") }}` in `command` and printed `<NAME>`.
    #[schemars(extend("propertyNames" = {"pattern": "^[A-Z][A-Z0-9_]{0,63}$"}))]
    pub placeholders: Option<BTreeMap<String, String>>,
}

// ---------------------------------------------------------------------------
// Rule test files

/// A rulerun rule test file (`tests.yaml`, `*.test.yaml`).
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "rulerun rule test file")]
pub struct TestFile {
    /// The test cases.
    pub tests: Vec<TestCaseDef>,
}

/// One test case.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestCaseDef {
    /// The case's name, shown by `rulerun test`.
    pub name: String,
    /// The rule ids under test (default: the rules of this folder).
    pub rules: Option<OneOrMany<String>>,
    /// The facts: a fact file (relative to this file), a mapping of kind to
    /// documents, a Kubernetes object, or a list of these.
    pub facts: FactsDef,
    /// The findings the rules must produce, exactly; `[]` = must not fire.
    pub expect: Vec<ExpectationDef>,
    /// The rules that must be inconclusive (unable to decide), exactly; when
    /// absent, any inconclusive rule fails the case.
    pub inconclusive: Option<Vec<InconclusiveDef>>,
}

/// An expected inconclusive rule.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InconclusiveDef {
    /// The rule id.
    pub rule: Option<String>,
    /// `namespace/name`, or `name`.
    pub subject: Option<String>,
    /// A text matcher on the reason.
    pub reason: Option<TextMatchDef>,
}

/// Facts of a test case.
pub struct FactsDef;

impl JsonSchema for FactsDef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Facts".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "a fact file (relative to the test file), a mapping of kind to documents, a Kubernetes object (`apiVersion` and `kind`), or a list of these",
            "anyOf": [
                {"type": "string"},
                {"type": "object"},
                {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}}
            ]
        })
    }
}

/// An expected finding.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectationDef {
    /// The rule id (default: the rule under test when there is exactly one).
    pub rule: Option<String>,
    /// `namespace/name`, or `name`.
    pub subject: Option<String>,
    /// The severity name.
    pub severity: Option<SeverityName>,
    /// A text matcher on the message.
    pub message: Option<TextMatchDef>,
    /// Evidence entries that must be present and equal.
    pub evidence: Option<BTreeMap<String, AnyValue>>,
    /// Fix steps, by position.
    pub fix: Option<Vec<FixExpectationDef>>,
}

/// An expected fix step.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FixExpectationDef {
    /// A text matcher on the description.
    pub description: Option<TextMatchDef>,
    /// A text matcher on the rendered command line.
    pub command: Option<TextMatchDef>,
}

/// A text matcher: a string (contains) or a mapping of checks that must all hold.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum TextMatchDef {
    /// Contains this text.
    Contains(String),
    /// Every given check holds.
    Checks(TextChecks),
}

/// Text checks.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TextChecks {
    /// Contains the substring.
    pub contains: Option<String>,
    /// Does not contain the substring.
    pub not_contains: Option<String>,
    /// Matches the regex (Rust syntax, unanchored).
    pub matches: Option<String>,
    /// Is exactly this text.
    pub equals: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_use_the_2020_12_dialect_and_name_their_file() {
        for s in [
            generate::<RuleFile>("rule-file.json"),
            generate::<TestFile>("rule-test.json"),
        ] {
            assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
            assert!(s["$id"].as_str().is_some_and(|id| id.ends_with(".json")));
        }
    }
}
