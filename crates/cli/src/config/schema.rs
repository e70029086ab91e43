//! The JSON Schema of `rulerun.yaml`, from mirror types of what [`super`] loads
//! (published by `rulerun schema` and `docs/schema/config.json`;
//! `tests/it/schema.rs` keeps the two from drifting).

// Mirror types: never built, only described to schemars.
#![allow(dead_code)]

use std::collections::BTreeMap;

use rulerun_core::schema::{AnyValue, FormatVersion, SeverityName};
use schemars::JsonSchema;

/// Team configuration (`rulerun.yaml`): the packs to load, per-rule overrides and
/// defaults for `rulerun check`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "rulerun configuration")]
pub struct ConfigFile {
    /// The configuration format version; this rulerun reads `1`.
    pub version: Option<FormatVersion>,
    /// The packs to load, in order. Absent: every built-in pack and every vendored
    /// pack of `rulerun.lock`.
    pub packs: Option<Vec<PackRef>>,
    /// Per-rule overrides, by rule id.
    #[schemars(extend("propertyNames" = {"pattern": "^[a-z][a-z0-9-]{0,99}$"}))]
    pub rules: Option<BTreeMap<String, RuleOverride>>,
    /// Defaults for `rulerun check`; command-line flags win.
    pub defaults: Option<Defaults>,
    /// How AWS accounts other than the cluster's are read.
    pub aws: Option<AwsConfig>,
}

/// `aws:` of `rulerun.yaml`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// The role rulerun assumes to read each account, by 12-digit account id (quoted,
    /// so YAML keeps leading zeros). The cluster's own account is read with the
    /// default credentials unless it is listed here; other accounts without an entry
    /// use `--assume-role`, else their facts are inconclusive.
    #[schemars(extend("propertyNames" = {"pattern": "^[0-9]{12}$"}))]
    pub accounts: Option<BTreeMap<String, AccountConfig>>,
    /// The regions where a live check looks for a repository of the same name
    /// when an image's repository is missing in its own region. Absent: the
    /// regions of the run's clusters and of the registries it read.
    pub regions: Option<Vec<Region>>,
}

/// An AWS region name, e.g. `eu-west-1`.
#[derive(JsonSchema)]
pub struct Region(#[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,31}$"))] pub String);

/// How one account is read.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccountConfig {
    /// The IAM role to assume (session name `rulerun`), e.g.
    /// `arn:aws:iam::210987654321:role/rulerun-read`.
    #[schemars(regex(pattern = r"^arn:[a-z0-9-]+:iam::[0-9]{12}:role/.+$"))]
    pub role_arn: String,
    /// The external id the role's trust policy requires.
    #[schemars(
        length(min = 2, max = 1224),
        regex(pattern = r"^[A-Za-z0-9_+=,.@:/-]+$")
    )]
    pub external_id: Option<String>,
    /// The region of that account's calls that have none of their own, and of STS.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,31}$"))]
    pub region: Option<String>,
}

/// A pack to load: exactly one of `builtin`, `path` or `vendor`.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum PackRef {
    /// A pack built into rulerun (`rulerun pack list`), or `all`.
    Builtin(BuiltinRef),
    /// A pack folder, relative to `rulerun.yaml`.
    Path(PathRef),
    /// A vendored pack (`vendor/rulepacks/NAME`, verified against `rulerun.lock`).
    Vendor(VendorRef),
}

/// `{builtin: NAME}`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuiltinRef {
    /// A built-in pack's name, or `all`.
    pub builtin: String,
}

/// `{path: DIR}`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PathRef {
    /// A folder holding `pack.yaml`, relative to `rulerun.yaml`.
    pub path: String,
}

/// `{vendor: NAME}`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorRef {
    /// The vendored pack's name in `rulerun.lock`.
    pub vendor: String,
}

/// Overrides of one rule.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleOverride {
    /// `false`: do not run the rule.
    pub enabled: Option<bool>,
    /// Replace the rule's severity.
    pub severity: Option<SeverityName>,
    /// Parameter values (each of the JSON type of the parameter's default).
    pub params: Option<BTreeMap<String, AnyValue>>,
    /// When several packs define this rule id: the pack whose rule is used.
    pub from: Option<String>,
}

/// Defaults for `rulerun check`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Defaults {
    /// `-o`: `text`, `json`, `sarif`, `junit`, `openreports` or `policyreport`.
    pub output: Option<OutputName>,
    /// `--fail-on`: exit 1 when a finding is at or above this severity (`never`: never).
    pub fail_on: Option<FailOnName>,
}

/// An output format.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutputName {
    Text,
    Json,
    Sarif,
    Junit,
    Openreports,
    Policyreport,
}

/// A `--fail-on` threshold.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailOnName {
    Info,
    Low,
    Medium,
    High,
    Critical,
    Never,
}
