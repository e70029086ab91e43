//! Team configuration: `rulerun.yaml`, found upward from the working folder or
//! given with `--config`. It says which packs to load, overrides rules (disable,
//! severity, parameter values, which pack wins an id collision) and sets defaults
//! for `rulerun check`. The format is documented in `docs/packs.md`; its schema is
//! `rulerun schema config`.

pub mod schema;

use std::path::{Path, PathBuf};

use rulerun_core::yaml::{Node, NodeKind, Pos};
use rulerun_core::{LoadError, Severity};
use serde_json::Value;

use crate::args::FailOn;
use crate::decode::{Decoder, is_pack_name};

/// The configuration file's name.
pub const FILE_NAME: &str = "rulerun.yaml";

const KEYS: &[&str] = &["version", "packs", "rules", "defaults", "aws"];
const AWS_KEYS: &[&str] = &["accounts", "regions"];
const ACCOUNT_KEYS: &[&str] = &["roleArn", "externalId", "region"];
const PACK_KEYS: &[&str] = &["builtin", "path", "vendor"];
const RULE_KEYS: &[&str] = &["enabled", "severity", "params", "from"];
const DEFAULT_KEYS: &[&str] = &["output", "failOn"];

/// Where a command runs: relative paths on its command line, and the search for
/// `rulerun.yaml`, start here. Empty means the process's working folder.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    pub cwd: PathBuf,
}

impl Ctx {
    /// The path to read or write for `p` as the user wrote it.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if self.cwd.as_os_str().is_empty() {
            p.to_path_buf()
        } else {
            self.cwd.join(p)
        }
    }

    /// The working folder as an absolute path.
    pub fn absolute_cwd(&self) -> std::io::Result<PathBuf> {
        if self.cwd.is_absolute() {
            Ok(self.cwd.clone())
        } else {
            Ok(std::env::current_dir()?.join(&self.cwd))
        }
    }

    /// A path as the user would write it: the working folder's prefix removed.
    pub fn shown(&self, p: &Path) -> PathBuf {
        if self.cwd.as_os_str().is_empty() {
            return p.to_path_buf();
        }
        match p.strip_prefix(&self.cwd) {
            Ok(rest) => rest.to_path_buf(),
            Err(_) => p.to_path_buf(),
        }
    }
}

/// A pack entry of `packs:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackEntry {
    /// `builtin: NAME` (or `all`).
    Builtin(String),
    /// `path: DIR`, relative to the configuration file.
    Path(String),
    /// `vendor: NAME`.
    Vendor(String),
}

/// Overrides of one rule.
#[derive(Debug, Clone, Default)]
pub struct RuleConfig {
    pub id: String,
    pub pos: Pos,
    pub enabled: Option<bool>,
    pub severity: Option<(Severity, Pos)>,
    pub params: Vec<(String, Value, Pos)>,
    pub from: Option<(String, Pos)>,
}

/// A loaded `rulerun.yaml`.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file as shown in messages.
    pub file: PathBuf,
    /// `packs:`, when given, with positions.
    pub packs: Option<Vec<(PackEntry, Pos)>>,
    pub rules: Vec<RuleConfig>,
    pub output: Option<crate::args::CheckFormat>,
    pub fail_on: Option<FailOn>,
    /// `aws.accounts`: the role that reads each account, by account id.
    pub aws_accounts: std::collections::BTreeMap<String, rulerun_collect_aws::AccountRole>,
    /// `aws.regions`: where a repository missing in its region is looked for.
    pub aws_regions: Option<Vec<String>>,
}

/// The project a command works in: the folder of `rulerun.yaml` (where
/// `rulerun.lock` and `vendor/rulepacks/` live), or the working folder.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// The project folder as shown (`""` for the working folder).
    pub root: PathBuf,
    pub config: Option<Config>,
}

impl Project {
    /// A path below the project folder, as shown.
    pub fn path(&self, rel: &str) -> PathBuf {
        if self.root.as_os_str().is_empty() {
            PathBuf::from(rel)
        } else {
            self.root.join(rel)
        }
    }
}

/// Finds and loads the configuration: `explicit` (`--config`), else the first
/// `rulerun.yaml` in the working folder or above it; none with `disabled`.
pub fn project(
    ctx: &Ctx,
    explicit: Option<&Path>,
    disabled: bool,
) -> Result<Project, Vec<LoadError>> {
    let shown = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None if disabled => None,
        None => discover(ctx),
    };
    let Some(shown) = shown else {
        return Ok(Project::default());
    };
    let text =
        rulerun_core::read::read_text(&ctx.resolve(&shown), rulerun_core::read::Limit::CONFIG)
            .map_err(|e| vec![e.load_error(&shown)])?;
    let config = parse(&shown, &text)?;
    let root = shown.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(Project {
        root,
        config: Some(config),
    })
}

/// The shown path of the nearest `rulerun.yaml` at or above the working folder.
fn discover(ctx: &Ctx) -> Option<PathBuf> {
    let start = ctx.absolute_cwd().ok()?;
    let mut shown = PathBuf::new();
    for dir in start.ancestors() {
        if dir.join(FILE_NAME).is_file() {
            return Some(shown.join(FILE_NAME));
        }
        shown.push("..");
    }
    None
}

/// Parses `rulerun.yaml` text (`file` is the name shown in errors).
pub fn parse(file: &Path, text: &str) -> Result<Config, Vec<LoadError>> {
    let mut d = Decoder::new(file);
    let config = decode(&mut d, text);
    match config {
        Some(c) if d.errors.is_empty() => Ok(c),
        _ => Err(d.errors),
    }
}

fn decode(d: &mut Decoder, text: &str) -> Option<Config> {
    let root = d.parse(text)?;
    if matches!(root.kind, NodeKind::Null) {
        return Some(Config {
            file: d.file.clone(),
            ..Config::default()
        });
    }
    let f = d.fields(&root, "rulerun.yaml", KEYS)?;
    d.format_version(&f, "configuration");
    let mut config = Config {
        file: d.file.clone(),
        ..Config::default()
    };
    if let Some(n) = f.get("packs") {
        let mut packs = Vec::new();
        for item in d.seq(n, "packs", "a list of packs") {
            if let Some(p) = pack_entry(d, item) {
                if packs.iter().any(|(q, _)| *q == p) {
                    d.other(item.pos, "this pack is listed twice".into(), None);
                    continue;
                }
                packs.push((p, item.pos));
            }
        }
        config.packs = Some(packs);
    }
    if let Some(n) = f.get("rules") {
        match &n.kind {
            NodeKind::Map(entries) => {
                for (k, v) in entries {
                    if let Some(r) = rule_config(d, k, v) {
                        config.rules.push(r);
                    }
                }
            }
            NodeKind::Null => {}
            _ => d.wrong_type(n, "rules", "a mapping of rule ids to overrides"),
        }
    }
    if let Some(n) = f.get("defaults")
        && let Some(df) = d.fields(n, "defaults", DEFAULT_KEYS)
    {
        if let Some(o) = df.get("output") {
            use crate::args::CheckFormat;
            config.output = match d.string(o, "output").as_deref() {
                Some("text") => Some(CheckFormat::Text),
                Some("json") => Some(CheckFormat::Json),
                Some("sarif") => Some(CheckFormat::Sarif),
                Some("junit") => Some(CheckFormat::Junit),
                Some("openreports") => Some(CheckFormat::Openreports),
                Some("policyreport") => Some(CheckFormat::Policyreport),
                Some(other) => {
                    d.invalid(
                        o,
                        "output",
                        other,
                        "`text`, `json`, `sarif`, `junit`, `openreports` or `policyreport`",
                    );
                    None
                }
                None => None,
            };
        }
        if let Some(x) = df.get("failOn") {
            let s = d.string(x, "failOn").unwrap_or_default();
            config.fail_on = match s.as_str() {
                "never" => Some(FailOn::Never),
                _ => match s.parse::<Severity>() {
                    Ok(sev) => Some(FailOn::from_severity(sev)),
                    Err(_) => {
                        d.invalid(
                            x,
                            "failOn",
                            &s,
                            "one of `info`, `low`, `medium`, `high`, `critical`, `never`",
                        );
                        None
                    }
                },
            };
        }
    }
    let aws = f.get("aws").and_then(|n| d.fields(n, "aws", AWS_KEYS));
    if let Some(regions) = aws.as_ref().and_then(|af| af.get("regions")) {
        let mut list = Vec::new();
        for item in d.seq(regions, "regions", "a list of AWS regions") {
            if let Some(v) = d.string(item, "region")
                && region_ok(d, item, &v)
                && !list.contains(&v)
            {
                list.push(v);
            }
        }
        config.aws_regions = Some(list);
    }
    if let Some(accounts) = aws.as_ref().and_then(|af| af.get("accounts")) {
        match &accounts.kind {
            NodeKind::Map(entries) => {
                for (k, v) in entries {
                    if let Some((id, role)) = account_role(d, k, v) {
                        config.aws_accounts.insert(id, role);
                    }
                }
            }
            NodeKind::Null => {}
            _ => d.wrong_type(
                accounts,
                "accounts",
                "a mapping of AWS account ids to `{roleArn, externalId, region}`",
            ),
        }
    }
    Some(config)
}

/// Whether `v` (at `n`) looks like an AWS region name; reports it when not.
fn region_ok(d: &mut Decoder, n: &Node, v: &str) -> bool {
    let ok = !v.is_empty()
        && v.len() <= 32
        && v.starts_with(|c: char| c.is_ascii_lowercase())
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        d.invalid(n, "region", v, "an AWS region, e.g. `eu-west-1`");
    }
    ok
}

/// One entry of `aws.accounts`: `"ACCOUNT": {roleArn, externalId, region}`.
fn account_role(
    d: &mut Decoder,
    key: &Node,
    node: &Node,
) -> Option<(String, rulerun_collect_aws::AccountRole)> {
    use rulerun_collect_aws::accounts::{is_account_id, is_role_arn};
    let id = key.key_string();
    if !is_account_id(&id) {
        let help = if !matches!(key.kind, NodeKind::Str(_)) {
            "an AWS account id is 12 digits; quote it (`\"012345678901\":`) so YAML keeps leading zeros"
        } else {
            "an AWS account id is 12 digits, e.g. `\"210987654321\"`"
        };
        d.invalid(key, "account id", &id, help);
        return None;
    }
    let f = d.fields(node, &format!("the account `{id}`"), ACCOUNT_KEYS)?;
    let Some(arn_node) = f.get("roleArn") else {
        d.other(
            f.pos,
            format!("the account `{id}` has no `roleArn`"),
            Some(format!(
                "the role rulerun assumes to read the account, e.g. `roleArn: arn:aws:iam::{id}:role/rulerun-read`"
            )),
        );
        return None;
    };
    let role_arn = d.string(arn_node, "roleArn")?;
    if !is_role_arn(&role_arn) {
        d.invalid(
            arn_node,
            "roleArn",
            &role_arn,
            format!("an IAM role ARN, e.g. `arn:aws:iam::{id}:role/rulerun-read`"),
        );
        return None;
    }
    let mut external_id = None;
    if let Some(n) = f.get("externalId") {
        let v = d.string(n, "externalId")?;
        // STS accepts 2 to 1224 characters of `[\w+=,.@:\/-]`.
        let ok = (2..=1224).contains(&v.chars().count())
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
        if !ok {
            d.invalid(
                n,
                "externalId",
                &v,
                "2 to 1224 characters: letters, digits and `_+=,.@:/-`, as STS accepts",
            );
            return None;
        }
        external_id = Some(v);
    }
    let mut region = None;
    if let Some(n) = f.get("region") {
        let v = d.string(n, "region")?;
        if !region_ok(d, n, &v) {
            return None;
        }
        region = Some(v);
    }
    let configured_by = format!(
        "`aws.accounts.\"{id}\".roleArn` at `{}:{}:{}`",
        d.file.display(),
        arn_node.pos.line,
        arn_node.pos.column
    );
    Some((
        id,
        rulerun_collect_aws::AccountRole {
            role_arn,
            external_id,
            region,
            configured_by,
        },
    ))
}

fn pack_entry(d: &mut Decoder, node: &Node) -> Option<PackEntry> {
    let f = d.fields(node, "a pack entry", PACK_KEYS)?;
    if f.entries.len() != 1 {
        d.other(
            node.pos,
            "a pack entry has exactly one of `builtin`, `path` or `vendor`".into(),
            Some(
                "e.g. `- builtin: kubernetes`, `- path: team-rules`, `- vendor: platform-rules`"
                    .into(),
            ),
        );
        return None;
    }
    let (key, value) = f.entries.first().copied()?;
    let text = d.string(value, key)?;
    match key {
        "builtin" => {
            let known = crate::packs::builtin_names();
            if text != "all" && !known.contains(&text) {
                let help =
                    match rulerun_core::error::closest(&text, known.iter().map(String::as_str)) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => format!(
                            "built-in packs: {}; or `all`",
                            crate::packs::backticked(&known)
                        ),
                    };
                d.invalid(value, "builtin", &text, help);
                return None;
            }
            Some(PackEntry::Builtin(text))
        }
        "path" => Some(PackEntry::Path(text)),
        _ => {
            if !is_pack_name(&text) {
                d.invalid(
                    value,
                    "vendor",
                    &text,
                    "the name of a pack in `rulerun.lock` (lowercase words joined by `-`)",
                );
                return None;
            }
            Some(PackEntry::Vendor(text))
        }
    }
}

fn rule_config(d: &mut Decoder, key: &Node, node: &Node) -> Option<RuleConfig> {
    let id = d.string(key, "rule id")?;
    let mut rc = RuleConfig {
        id: id.clone(),
        pos: key.pos,
        ..RuleConfig::default()
    };
    let f = d.fields(node, &format!("the overrides of `{id}`"), RULE_KEYS)?;
    if let Some(n) = f.get("enabled") {
        rc.enabled = d.bool(n, "enabled");
    }
    if let Some(n) = f.get("severity") {
        let s = d.string(n, "severity")?;
        match s.parse::<Severity>() {
            Ok(sev) => rc.severity = Some((sev, n.pos)),
            Err(_) => {
                let help = match rulerun_core::error::closest(
                    &s,
                    Severity::ALL.iter().map(|x| x.as_str()),
                ) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => "one of `info`, `low`, `medium`, `high`, `critical`".into(),
                };
                d.invalid(n, "severity", &s, help);
            }
        }
    }
    if let Some(n) = f.get("params") {
        match &n.kind {
            NodeKind::Map(entries) => {
                for (k, v) in entries {
                    rc.params.push((k.key_string(), v.to_json(), k.pos));
                }
            }
            _ => d.wrong_type(n, "params", "a mapping of parameter names to values"),
        }
    }
    if let Some(n) = f.get("from") {
        let s = d.string(n, "from")?;
        rc.from = Some((s, n.pos));
    }
    Some(rc)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accounts_map_to_roles_and_errors_have_their_positions() {
        let text = "aws:\n  accounts:\n    \"210987654321\":\n      roleArn: arn:aws:iam::210987654321:role/rulerun-read\n      externalId: ext-1\n      region: eu-west-1\n";
        let c = parse(Path::new("rulerun.yaml"), text).unwrap();
        let role = &c.aws_accounts["210987654321"];
        assert_eq!(role.role_arn, "arn:aws:iam::210987654321:role/rulerun-read");
        assert_eq!(role.external_id.as_deref(), Some("ext-1"));
        assert_eq!(role.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            role.configured_by,
            "`aws.accounts.\"210987654321\".roleArn` at `rulerun.yaml:4:16`"
        );

        let bad = "aws:\n  accounts:\n    \"2109\": {roleArn: arn:aws:iam::2109:role/x}\n    \"111122223333\": {roleArn: arn:aws:iam::111122223333:user/x, region: EU}\n    \"444455556666\": {externalId: x1}\n    012345678901: {roleArn: arn:aws:iam::012345678901:role/x}\n";
        let errors = parse(Path::new("rulerun.yaml"), bad).unwrap_err();
        let shown: Vec<String> = errors
            .iter()
            .map(|e| format!("{}:{} {}", e.pos.line, e.pos.column, e.kind))
            .collect();
        assert_eq!(errors.len(), 4, "{shown:#?}");
        assert!(
            shown[0].starts_with("3:5 ") && shown[0].contains("`2109`"),
            "{shown:#?}"
        );
        assert!(
            shown[1].starts_with("4:31 ") && shown[1].contains("roleArn"),
            "{shown:#?}"
        );
        assert!(
            shown[2].starts_with("5:21 ") && shown[2].contains("no `roleArn`"),
            "{shown:#?}"
        );
        // An unquoted id with a leading zero is a number to YAML.
        assert!(shown[3].starts_with("6:5 "), "{shown:#?}");
        assert!(
            errors[3].help().is_some_and(|h| h.contains("quote")),
            "{shown:#?}"
        );
    }

    #[test]
    fn regions_are_a_list_of_region_names_and_a_bad_one_is_an_error_at_its_place() {
        let c = parse(
            Path::new("rulerun.yaml"),
            "aws:\n  regions: [us-east-1, eu-west-1, us-east-1]\n",
        )
        .unwrap();
        assert_eq!(
            c.aws_regions.as_deref(),
            Some(&["us-east-1".to_string(), "eu-west-1".to_string()][..])
        );
        assert_eq!(
            parse(Path::new("rulerun.yaml"), "aws: {}\n")
                .unwrap()
                .aws_regions,
            None
        );

        let errors = parse(
            Path::new("rulerun.yaml"),
            "aws:\n  regions: [us-east-1, EU West]\n",
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].pos.line, errors[0].pos.column), (2, 24));
        assert!(
            errors[0].kind.to_string().contains("`EU West`"),
            "{errors:?}"
        );
        let errors = parse(Path::new("rulerun.yaml"), "aws:\n  regions: eu-west-1\n").unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
    }
}
