//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use rulerun_core::Severity;

/// Tells you why something in your Kubernetes-on-AWS estate is broken and exactly
/// how to fix it, with the least privilege.
#[derive(Debug, Parser)]
#[command(name = "rulerun", version, about, max_term_width = 100)]
pub struct Cli {
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
    /// Inspect the loaded rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Print a rule's documentation.
    Explain {
        /// The rule id, e.g. `ecr-repository-policy-denies-pull`.
        rule: String,
        #[command(flatten)]
        rules: RuleSourceArgs,
    },
    /// Check rule files and rule test files for errors without running them.
    Validate {
        /// Rule files, test files or folders of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Run rule tests: every `tests.yaml` and `*.test.yaml` below the paths.
    Test {
        /// Folders or test files; the built-in rules when none is given.
        paths: Vec<PathBuf>,
    },
    /// Evaluate a JSONPath on a JSON or YAML document and print the nodelist.
    Query {
        /// The JSONPath (RFC 9535), e.g. `$.items[*].metadata.name`.
        path: String,
        /// The document; standard input when absent or `-`.
        #[arg(long, short = 'i')]
        input: Option<PathBuf>,
    },
    /// List the functions rules can call.
    Functions,
    /// Evaluate IAM requests and fix resource policies, offline.
    Iam {
        #[command(subcommand)]
        command: IamCommand,
    },
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
    /// The kubeconfig context (default: the current context).
    #[arg(long)]
    pub context: Option<String>,
    /// Only this namespace.
    #[arg(long, short = 'n', conflicts_with = "all_namespaces")]
    pub namespace: Option<String>,
    /// Every namespace (the default).
    #[arg(long, short = 'A')]
    pub all_namespaces: bool,
    /// Seconds one API request may take.
    #[arg(long, default_value_t = 20, value_name = "SECONDS")]
    pub request_timeout: u64,
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
    /// Do not read AWS: rules that need AWS facts come out inconclusive.
    #[arg(long)]
    pub no_aws: bool,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub rules: RuleSourceArgs,
    /// Where to write the snapshot (`-` for standard output).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Check offline: a snapshot file, a `kubectl get -o json` file, or a folder
    /// of them (repeatable). Without it, rulerun reads the live cluster.
    #[arg(long = "facts", value_name = "FILE|DIR")]
    pub facts: Vec<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub rules: RuleSourceArgs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOn::Info)]
    pub fail_on: FailOn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable, grouped by subject.
    Text,
    /// The findings JSON (docs/findings-json.md).
    Json,
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
