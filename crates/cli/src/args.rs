//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use rulerun_core::Severity;

/// Tells you why something in your Kubernetes-on-AWS estate is broken and exactly
/// how to fix it, with the least privilege.
#[derive(Debug, Parser)]
#[command(name = "rulerun", version, about, max_term_width = 100)]
pub struct Cli {
    /// The team configuration (default: the first `rulerun.yaml` in the working
    /// folder or above it).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore `rulerun.yaml`.
    #[arg(long, global = true, conflicts_with = "config")]
    pub no_config: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the rules and report findings: on a live cluster (and AWS account), or
    /// offline on a snapshot with `--facts`.
    Check(CheckArgs),
    /// Collect the facts the rules need from the live cluster and write them as a
    /// snapshot, for `rulerun check --facts` later or elsewhere.
    Collect(CollectArgs),
    /// Summarize the reports rulerun wrote into clusters (`check
    /// --report-to-cluster`, the in-cluster CronJob): failing results by rule,
    /// severity and cluster, without checking again.
    Reports(ReportsArgs),
    /// Inspect the loaded rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Print a rule's documentation and the parts it uses, or a part's documentation.
    Explain {
        /// A rule id (`ecr-repository-policy-denies-pull`) or a part name (`node-identity`,
        /// `eks-image-pull/node-identity`).
        rule: String,
        #[command(flatten)]
        rules: RuleSourceArgs,
    },
    /// Check rule files and rule test files for errors without running them.
    Validate {
        /// Rule files, test files or folders of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Treat warnings (paths naming fields their fact kinds cannot have) as
        /// errors: exit 2.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Run rule tests: every `tests.yaml` and `*.test.yaml` below the paths.
    Test {
        /// Folders or test files; the built-in rules when none is given.
        paths: Vec<PathBuf>,
        /// Treat warnings (paths naming fields their fact kinds cannot have) as
        /// errors: exit 2.
        #[arg(long)]
        deny_warnings: bool,
        /// Fail (exit 1) when a binding, condition or fix step was not exercised
        /// by any case, or a rule has no case; without it they are only reported.
        #[arg(long)]
        require_coverage: bool,
    },
    /// Evaluate a JSONPath on a JSON or YAML document, exactly as given, and print
    /// the nodelist as JSON.
    ///
    /// The path takes the forms rules write: `$…` reads the input document, `$NAME…`
    /// the document given with `--bind NAME=FILE`, and inside a filter `$NAME.x` is a
    /// singular query of that document (an extension to RFC 9535):
    /// `rulerun query '$.status.containerStatuses[?@.name == $c.name]' -i pod.json --bind c=container.json`.
    /// An invalid path exits 2.
    Query {
        /// The JSONPath (RFC 9535), e.g. `$.items[*].metadata.name`.
        path: String,
        /// The document (JSON or YAML, any value); standard input when absent or `-`.
        #[arg(long, short = 'i')]
        input: Option<PathBuf>,
        /// A named document for `$NAME` in the path (repeatable); `-` reads standard
        /// input.
        #[arg(long = "bind", value_name = "NAME=FILE", value_parser = parse_bind)]
        bind: Vec<(String, PathBuf)>,
    },
    /// List the functions rules can call.
    Functions,
    /// Evaluate IAM requests and fix resource policies, offline.
    Iam {
        #[command(subcommand)]
        command: IamCommand,
    },
    /// Rule packs: vendor other teams' packs, verify and update them.
    Pack {
        #[command(subcommand)]
        command: PackCommand,
    },
    /// Print the JSON Schema (draft 2020-12) of rule files, rule tests, `pack.yaml`
    /// or `rulerun.yaml`, for editors; all four, keyed by name, without NAME.
    Schema {
        /// Which schema.
        #[arg(value_enum)]
        name: Option<SchemaName>,
        /// Write `rule-file.json`, `rule-test.json`, `pack.json` and `config.json`
        /// into this folder instead of printing.
        #[arg(long, value_name = "DIR", conflicts_with = "name")]
        out_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaName {
    /// Rule files (`rule.yaml`).
    Rule,
    /// Rule test files (`tests.yaml`).
    Test,
    /// Pack manifests (`pack.yaml`).
    Pack,
    /// Team configuration (`rulerun.yaml`).
    Config,
}

impl SchemaName {
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaName::Rule => "rule",
            SchemaName::Test => "test",
            SchemaName::Pack => "pack",
            SchemaName::Config => "config",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum PackCommand {
    /// Copy a pack into `vendor/rulepacks/NAME/` and record it in `rulerun.lock`.
    ///
    /// SOURCE is a pack folder or a git repository at a ref:
    /// `git+file:///srv/packs.git#v1.2`, `git+https://host/packs.git#<commit>`.
    Vendor {
        /// A pack folder, or `git+URL#REF`.
        source: String,
        /// The name to vendor it under (default: the pack's own name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Check the vendored packs against `rulerun.lock`; exit 1 naming every
    /// modified, added or removed file.
    Verify {
        /// Only these packs (default: every locked pack).
        names: Vec<String>,
    },
    /// Move a vendored pack to another ref (or fetch its ref again) and show which
    /// rules changed.
    Update {
        /// The vendored pack.
        name: String,
        /// The new ref (default: the locked one, e.g. a branch that moved).
        #[arg(long = "ref", value_name = "REF")]
        reference: Option<String>,
        /// Replace the vendored copy even when it fails verification.
        #[arg(long)]
        force: bool,
    },
    /// List the packs: built-in, from `rulerun.yaml`, and vendored.
    List,
}

#[derive(Debug, Subcommand)]
pub enum IamCommand {
    /// Decide a request against its policies and explain why (JSON in, JSON out).
    ///
    /// Input: `{"request": {"principal", "action", "resource", "resourceAccount"?,
    /// "context"?}, "identityPolicies": [...], "resourcePolicy": {...},
    /// "permissionBoundaryPolicies": [...], "serviceControlPolicies": [...],
    /// "sessionPolicies": [...], "vpcEndpointPolicies": [...]}`.
    Eval {
        /// The input file; standard input when `-` or absent.
        input: Option<PathBuf>,
    },
    /// Rewrite the resource policy so the principal may perform exactly the
    /// required actions, and prove it (exit 1 when it cannot be proven).
    Fix {
        /// The input file (as for `eval`, plus optional `requiredActions`); standard
        /// input when `-` or absent.
        input: Option<PathBuf>,
        /// The actions the principal needs (repeatable or comma-separated), e.g.
        /// `ecr:BatchGetImage,ecr:GetDownloadUrlForLayer`.
        #[arg(long = "required", value_delimiter = ',')]
        required: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the loaded rules with where each came from.
    List {
        #[command(flatten)]
        rules: RuleSourceArgs,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = Format::Text)]
        output: Format,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct RuleSourceArgs {
    /// Add rule files or folders to the built-in rules (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Do not load the built-in rules.
    #[arg(long)]
    pub no_builtin: bool,
}

/// Where the live cluster is, as kubectl finds it.
#[derive(Debug, Args, Clone, Default)]
pub struct ClusterArgs {
    /// The kubeconfig file (default: `KUBECONFIG`, then `~/.kube/config`, then the
    /// in-cluster service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current context). `check` takes it
    /// more than once to check a fleet (docs/fleets.md).
    #[arg(long = "context", value_name = "NAME")]
    pub contexts: Vec<String>,
    /// Only this namespace.
    #[arg(long, short = 'n', conflicts_with = "all_namespaces")]
    pub namespace: Option<String>,
    /// Every namespace (the default).
    #[arg(long, short = 'A')]
    pub all_namespaces: bool,
    /// Seconds one API request may take (1 to 3600).
    #[arg(long, default_value_t = 20, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
    /// Pages of one Kubernetes list, beyond which that kind is inconclusive (1 to
    /// 1000000; pages hold 500 objects).
    #[arg(long, default_value_t = rulerun_collect_k8s::fetch::DEFAULT_MAX_PAGES, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_list_pages: u32,
    /// Bytes of one Kubernetes API response, beyond which that kind is
    /// inconclusive: a number with `KiB`, `MiB` or `GiB` (1KiB to 64GiB).
    #[arg(long, default_value = "64MiB", value_name = "SIZE", value_parser = parse_size)]
    pub max_response_bytes: u64,
    /// Bytes of all pages of one Kubernetes list together, beyond which that kind
    /// is inconclusive: a number with `KiB`, `MiB` or `GiB` (1KiB to 64GiB).
    #[arg(long, default_value = "2GiB", value_name = "SIZE", value_parser = parse_size)]
    pub max_list_bytes: u64,
    /// The AWS profile (default: the AWS CLI's credential chain).
    #[arg(long)]
    pub profile: Option<String>,
    /// The AWS region (default: `AWS_REGION`, the profile's, or the region of the
    /// EKS cluster in the kubeconfig context).
    #[arg(long)]
    pub region: Option<String>,
    /// The EKS cluster name, for node groups (default: from the kubeconfig context
    /// when it is an EKS cluster ARN, as `aws eks update-kubeconfig` writes it).
    #[arg(long)]
    pub cluster_name: Option<String>,
    /// One AWS endpoint for every service, as the AWS CLI's `--endpoint-url`
    /// (default: `AWS_ENDPOINT_URL` and the service-specific variables).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// PEM certificates to trust for AWS in addition to the system's, as the AWS
    /// CLI's `--ca-bundle` (default: `AWS_CA_BUNDLE`).
    #[arg(long, value_name = "FILE", env = "AWS_CA_BUNDLE")]
    pub ca_bundle: Option<PathBuf>,
    /// Do not read AWS: rules that need AWS facts come out inconclusive.
    #[arg(long)]
    pub no_aws: bool,
    /// The role to assume in every other AWS account whose facts rules need (an
    /// image's registry account), with `{account}` for the account id, e.g.
    /// `arn:aws:iam::{account}:role/rulerun-read`; `aws.accounts` of rulerun.yaml
    /// wins for the accounts it maps. The cluster's own account is read with the
    /// default credentials.
    #[arg(long, value_name = "ARN", value_parser = parse_role_template)]
    pub assume_role: Option<rulerun_collect_aws::RoleTemplate>,
    /// `aws.accounts` of rulerun.yaml, set by the command from the configuration.
    #[arg(skip)]
    pub aws_accounts: std::collections::BTreeMap<String, rulerun_collect_aws::AccountRole>,
    /// `aws.regions` of rulerun.yaml, set by the command from the configuration.
    #[arg(skip)]
    pub aws_regions: Option<Vec<String>>,
}

impl ClusterArgs {
    /// The one context named (`--context`), if any.
    pub fn context(&self) -> Option<&str> {
        self.contexts.first().map(String::as_str)
    }
}

fn parse_role_template(s: &str) -> Result<rulerun_collect_aws::RoleTemplate, String> {
    rulerun_collect_aws::RoleTemplate::parse(s).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub rules: RuleSourceArgs,
    /// Where to write the snapshot (`-` for standard output); with several
    /// clusters, a folder that gets one `CONTEXT.json` per cluster.
    #[arg(long, short = 'o', value_name = "FILE|DIR")]
    pub output: PathBuf,
    /// Collect every context of the kubeconfig, one snapshot each into the
    /// `--output` folder (docs/fleets.md).
    #[arg(long, conflicts_with = "contexts")]
    pub all_contexts: bool,
    /// Clusters of a fleet collected at the same time (1 to 64).
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_concurrent_clusters: u16,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Treat warnings (paths naming fields their fact kinds cannot have) as
    /// errors: exit 2 before anything is checked.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Check offline: a snapshot file, a `kubectl get -o json` file, or a folder
    /// of them (repeatable). Without it, rulerun reads the live cluster.
    #[arg(long = "facts", value_name = "FILE|DIR")]
    pub facts: Vec<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Check every context of the kubeconfig, a fleet (docs/fleets.md).
    #[arg(long, conflicts_with_all = ["contexts", "facts"])]
    pub all_contexts: bool,
    /// Clusters of a fleet checked at the same time (1 to 64).
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_concurrent_clusters: u16,
    #[command(flatten)]
    pub rules: RuleSourceArgs,
    /// Output format [default: `defaults.output` of rulerun.yaml, else text].
    #[arg(long, short = 'o', value_enum)]
    pub output: Option<CheckFormat>,
    /// Write the report in the `--output` format to FILE; standard output
    /// then gets the text report (nothing when the file's format is text).
    /// See docs/reports.md.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity [default:
    /// `defaults.failOn` of rulerun.yaml, else info].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// After printing the findings, write them into the cluster as policy
    /// reports (server-side apply, field manager `rulerun`: a report per
    /// namespace with results and a cluster report) and delete rulerun's
    /// reports of namespaces without results; the one write rulerun does.
    /// With `--facts`, name the cluster with `--context` or `--kubeconfig`.
    /// See docs/reports.md.
    #[arg(
        long,
        value_enum,
        value_name = "API",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "openreports"
    )]
    pub report_to_cluster: Option<ReportTarget>,
}

#[derive(Debug, Args)]
pub struct ReportsArgs {
    /// The kubeconfig file [default: `KUBECONFIG`, else `~/.kube/config`].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The contexts whose reports to read (repeatable) [default: the current one].
    #[arg(long = "context", value_name = "NAME")]
    pub contexts: Vec<String>,
    /// Read the reports of every context of the kubeconfig.
    #[arg(long, conflicts_with = "contexts")]
    pub all_contexts: bool,
    /// The report API the reports were written with.
    #[arg(long, value_enum, default_value = "openreports")]
    pub api: ReportTarget,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: Format,
    /// Seconds to wait for each request.
    #[arg(long, default_value_t = 20, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
    /// Clusters read at the same time (1 to 64).
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_concurrent_clusters: u16,
}

/// The report API `--report-to-cluster` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportTarget {
    /// `openreports.io/v1alpha1` `Report` and `ClusterReport`.
    Openreports,
    /// `wgpolicyk8s.io/v1alpha2` `PolicyReport` and `ClusterPolicyReport`.
    Policyreport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable, grouped by subject.
    Text,
    /// The findings JSON (docs/findings-json.md).
    Json,
}

/// `rulerun check --output`: the formats of [`Format`] and the reports of
/// docs/reports.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Human-readable, grouped by subject.
    Text,
    /// The findings JSON (docs/findings-json.md).
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards (docs/reports.md).
    Sarif,
    /// JUnit XML, for CI test reports (docs/reports.md).
    Junit,
    /// OpenReports `Report`/`ClusterReport` objects (docs/reports.md).
    Openreports,
    /// wgpolicyk8s.io/v1alpha2 `PolicyReport`/`ClusterPolicyReport` objects.
    Policyreport,
}

impl From<Format> for CheckFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Text => CheckFormat::Text,
            Format::Json => CheckFormat::Json,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Low,
    Medium,
    High,
    Critical,
    /// Never exit 1 for findings.
    Never,
}

impl FailOn {
    pub fn from_severity(s: Severity) -> Self {
        match s {
            Severity::Info => FailOn::Info,
            Severity::Low => FailOn::Low,
            Severity::Medium => FailOn::Medium,
            Severity::High => FailOn::High,
            Severity::Critical => FailOn::Critical,
        }
    }

    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Info => Some(Severity::Info),
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::Critical => Some(Severity::Critical),
            FailOn::Never => None,
        }
    }
}

/// A byte size: a whole number, optionally followed by `B`, `KiB`, `MiB` or
/// `GiB` (any case, a space allowed), from 1 KiB to 64 GiB.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let not_a_size = || {
        format!(
            "`{s}` is not a size: write a whole number of bytes, or one with `KiB`, `MiB` or `GiB` (`64MiB`)"
        )
    };
    let t = s.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(digits_end);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return Err(not_a_size()),
    };
    let n: u64 = digits.parse().map_err(|_| not_a_size())?;
    n.checked_mul(scale)
        .filter(|b| (1 << 10..=64 << 30).contains(b))
        .ok_or_else(|| format!("`{s}` is out of range: 1KiB to 64GiB"))
}

/// `--bind NAME=FILE`: a binding name as rules write them (a letter or `_`,
/// then letters, digits or `_`) and a file.
fn parse_bind(text: &str) -> Result<(String, PathBuf), String> {
    let Some((name, file)) = text.split_once('=') else {
        return Err(format!(
            "`{text}` is not NAME=FILE; write e.g. `--bind container=container.json`"
        ));
    };
    let valid = name
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()));
    if name.is_empty() || !valid {
        return Err(format!(
            "`{name}` is not a binding name: a letter or `_`, then letters, digits or `_`"
        ));
    }
    if file.is_empty() {
        return Err(format!("no file after `{name}=`"));
    }
    Ok((name.to_owned(), PathBuf::from(file)))
}

#[cfg(test)]
mod size_tests {
    #![allow(clippy::unwrap_used)]
    use super::parse_size;
    use rulerun_collect_k8s::fetch::{DEFAULT_MAX_LIST_BYTES, DEFAULT_MAX_RESPONSE_BYTES};

    #[test]
    fn sizes_parse_with_binary_units_and_are_bounded() {
        // The flags' defaults are the collector's.
        assert_eq!(parse_size("64MiB"), Ok(DEFAULT_MAX_RESPONSE_BYTES));
        assert_eq!(parse_size("2GiB"), Ok(DEFAULT_MAX_LIST_BYTES));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1 kib"), Ok(1024));
        assert!(parse_size("0").unwrap_err().contains("out of range"));
        assert!(parse_size("65GiB").unwrap_err().contains("out of range"));
        assert!(
            parse_size("18446744073709551615GiB")
                .unwrap_err()
                .contains("out of range")
        );
        assert!(parse_size("1.5GiB").unwrap_err().contains("is not a size"));
        assert!(parse_size("64MB").unwrap_err().contains("is not a size"));
        assert!(parse_size("").unwrap_err().contains("is not a size"));
    }
}
