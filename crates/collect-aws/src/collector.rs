//! The collector: runs fetch operations for batches of keys, concurrently, each key
//! at most once, with the SDK's retries and a timeout per call.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::Region;
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use futures_util::StreamExt;
use futures_util::stream;
use tokio::sync::OnceCell;

use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

use crate::accounts::{Access, AccountRole, RunCache};
use crate::error::{Call, EndpointRecorder, Failure, FetchError};
use crate::fetch::{self, Ctx, Outcome, doc};
use crate::normalize::ecr::{ImageLookup, ImageRef};
use crate::ops;

/// How the collector calls AWS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsOptions {
    /// Which credentials read which account (`aws.accounts`, `--assume-role`).
    pub accounts: crate::accounts::Accounts,
    /// The EKS cluster whose node groups `eks.nodegroup` and Fargate profiles
    /// `eks.fargate-profile` read (from `--cluster-name` or the kubeconfig's EKS
    /// ARN).
    pub cluster_name: Option<String>,
    /// The timeout of each attempt of each call.
    pub call_timeout: Duration,
    /// Attempts per call, the first included (standard retry mode: throttling and
    /// transient errors are retried with backoff).
    pub max_attempts: u32,
    /// How many SDK calls run at once.
    pub concurrency: usize,
    /// A cache of facts shared with the collectors of other clusters of the same
    /// run (a fleet): a fact is fetched once per account, region and (for EKS
    /// operations) cluster, whichever cluster asks first. `None`: this
    /// collector's own.
    pub shared: Option<SharedFacts>,
    /// The regions in which `ecr.repository-in-regions` looks for a repository
    /// of the name an image asked for (`aws.regions` of rulerun.yaml). `None`:
    /// the regions the run has seen the accounts use, which are the region of
    /// every cluster of the run and every region an ECR fetch of the run named
    /// before. Never every region of the partition: one call per region is a
    /// slow hint, and regions the estate does not use rarely hold the answer.
    pub regions: Option<Vec<String>>,
}

/// Fetched facts shared by the collectors of one run, so that clusters of one
/// account read each of its facts once. Entries are keyed by what decides the
/// answer besides the operation and key: the cluster's account (which decides
/// how other accounts are read), the region (not for IAM, which is global) and,
/// for EKS operations, the cluster. Collectors sharing one must use the same
/// credentials and settings (one run's flags).
#[derive(Clone, Debug, Default)]
pub struct SharedFacts {
    cells: Arc<Mutex<HashMap<CacheKey, Cell>>>,
    /// Held while instances are read in a batch (see `prefetch_instances`).
    instance_batch: Arc<tokio::sync::Mutex<()>>,
    /// The regions the run has seen: the collectors' own and those keys named.
    regions: Arc<Mutex<BTreeSet<String>>>,
}

/// Two are equal when they are the same cache.
impl PartialEq for SharedFacts {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.cells, &other.cells)
    }
}

impl Eq for SharedFacts {}

impl SharedFacts {
    /// Notes that the run uses `region` (a cluster's, or one a key named).
    fn saw_region(&self, region: &str) {
        if let Ok(mut seen) = self.regions.lock()
            && seen.len() < MAX_SEEN_REGIONS
        {
            seen.insert(region.to_string());
        }
    }

    /// The regions seen so far, sorted.
    fn regions_seen(&self) -> Vec<String> {
        self.regions
            .lock()
            .map(|seen| seen.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// More regions than any partition has: a bound on what keys can add.
const MAX_SEEN_REGIONS: usize = 64;

/// `(scope, operation, key)`; see [`SharedFacts`].
type CacheKey = (String, String, Vec<String>);

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            accounts: crate::accounts::Accounts::default(),
            cluster_name: None,
            call_timeout: Duration::from_secs(20),
            max_attempts: 3,
            concurrency: 8,
            shared: None,
            regions: None,
        }
    }
}

/// The outcome of one key of a fetch operation.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchResult {
    /// The key, as given.
    pub key: Vec<String>,
    /// The `(kind, document)` pairs read (none when the thing does not exist and
    /// its kind has no `...NotFound` document), or why they could not be read.
    pub outcome: Result<Vec<(String, serde_json::Value)>, FetchError>,
}

type Cell = Arc<OnceCell<Outcome>>;
type AccountCell = Arc<OnceCell<Result<Arc<Clients>, FetchError>>>;

/// The clients of one account, all from one configuration (one set of
/// credentials), ECR's per region.
#[derive(Debug)]
struct Clients {
    config: SdkConfig,
    iam: aws_sdk_iam::Client,
    eks: aws_sdk_eks::Client,
    ec2: aws_sdk_ec2::Client,
    efs: aws_sdk_efs::Client,
    ecr: Mutex<HashMap<String, aws_sdk_ecr::Client>>,
}

impl Clients {
    fn new(config: SdkConfig) -> Self {
        // Each client notes the endpoint of each request, for error messages.
        Clients {
            iam: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(&config)
                    .interceptor(EndpointRecorder)
                    .build(),
            ),
            eks: aws_sdk_eks::Client::from_conf(
                aws_sdk_eks::config::Builder::from(&config)
                    .interceptor(EndpointRecorder)
                    .build(),
            ),
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(&config)
                    .interceptor(EndpointRecorder)
                    .build(),
            ),
            efs: aws_sdk_efs::Client::from_conf(
                aws_sdk_efs::config::Builder::from(&config)
                    .interceptor(EndpointRecorder)
                    .build(),
            ),
            ecr: Mutex::new(HashMap::new()),
            config,
        }
    }

    fn ecr(&self, region: &str) -> aws_sdk_ecr::Client {
        let mut clients = self.ecr.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let conf = aws_sdk_ecr::config::Builder::from(&self.config)
                    .region(Region::new(region.to_string()))
                    .interceptor(EndpointRecorder)
                    .build();
                aws_sdk_ecr::Client::from_conf(conf)
            })
            .clone()
    }
}

/// Reads AWS facts on demand by keyed fetch operations (see [`ops::OPS`]), each
/// with the credentials of the account it belongs to ([`crate::accounts`]).
#[derive(Debug)]
pub struct AwsCollector {
    options: AwsOptions,
    ctx: Ctx,
    /// The cluster's account: the default chain.
    own: Arc<Clients>,
    sts: aws_sdk_sts::Client,
    home: OnceCell<Option<String>>,
    /// Other accounts, through their roles, each assumed once.
    others: Mutex<HashMap<String, AccountCell>>,
    cache: SharedFacts,
}

impl AwsCollector {
    /// A collector calling AWS with `config` (see [`crate::load_config`]), with the
    /// retry and timeout settings of `options` applied on top. `config`'s
    /// credentials read the cluster's account; other accounts are read through the
    /// roles `options.accounts` maps them to, assumed with those credentials.
    pub fn new(config: SdkConfig, options: AwsOptions) -> Self {
        let retry = RetryConfig::standard().with_max_attempts(options.max_attempts.max(1));
        let mut timeouts = config
            .timeout_config()
            .map(TimeoutConfig::to_builder)
            .unwrap_or_else(TimeoutConfig::builder);
        timeouts = timeouts.operation_attempt_timeout(options.call_timeout);
        if config
            .timeout_config()
            .and_then(TimeoutConfig::connect_timeout)
            .is_none()
        {
            timeouts = timeouts.connect_timeout(options.call_timeout.min(Duration::from_secs(5)));
        }
        let config = config
            .into_builder()
            .retry_config(retry)
            .timeout_config(timeouts.build())
            .build();
        let cache = options.shared.clone().unwrap_or_default();
        if let Some(region) = config.region() {
            cache.saw_region(region.as_ref());
        }
        AwsCollector {
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(&config)
                    .interceptor(EndpointRecorder)
                    .build(),
            ),
            own: Arc::new(Clients::new(config)),
            ctx: Ctx::new(options.concurrency, options.call_timeout),
            home: OnceCell::new(),
            others: Mutex::new(HashMap::new()),
            cache,
            options,
        }
    }

    /// The options in force.
    pub fn options(&self) -> &AwsOptions {
        &self.options
    }

    /// The region of the configuration, for operations whose key has none.
    pub fn region(&self) -> Option<&str> {
        self.own.config.region().map(Region::as_ref)
    }

    /// Calls made so far per `service.Operation` (e.g. `ecr.DescribeRepositories`),
    /// for tests and the closing report.
    pub fn calls(&self) -> BTreeMap<String, usize> {
        self.ctx.calls()
    }

    /// Fetches every key of one operation, concurrently (bounded by
    /// `options.concurrency`), each key at most once per collector, returning one
    /// result per key in the order given.
    pub async fn fetch(&self, op: &str, keys: &[Vec<String>]) -> Vec<FetchResult> {
        if op == "ec2.instance" {
            self.prefetch_instances(keys).await;
        }
        // The futures are collected first: a closure over borrowed keys held in a
        // stream or iterator adapter would make the returned future not `Send`
        // (a higher-ranked lifetime limitation of the compiler).
        let futures: Vec<_> = keys.iter().map(|key| self.fetch_result(op, key)).collect();
        stream::iter(futures)
            .buffered(self.options.concurrency.max(1))
            .collect()
            .await
    }

    async fn fetch_result(&self, op: &str, key: &[String]) -> FetchResult {
        FetchResult {
            key: key.to_vec(),
            outcome: self.fetch_one(op, key).await,
        }
    }

    fn cell(&self, op: &str, key: &[String]) -> Cell {
        let scope = self.scope(op);
        let mut cache = self.cache.cells.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry((scope, op.to_string(), key.to_vec()))
            .or_default()
            .clone()
    }

    /// What an operation's answer depends on besides its key, in the shared
    /// cache: the cluster's account, the region (not for IAM, which is global),
    /// and the cluster for EKS operations (their keys name no cluster).
    fn scope(&self, op: &str) -> String {
        let home = self.options.accounts.home.as_deref().unwrap_or("");
        let region = if op.starts_with("iam.") {
            ""
        } else {
            self.region().unwrap_or("")
        };
        let cluster = if op.starts_with("eks.") {
            self.options.cluster_name.as_deref().unwrap_or("")
        } else {
            ""
        };
        format!("{home}|{region}|{cluster}")
    }

    async fn fetch_one(&self, op: &str, key: &[String]) -> Outcome {
        let Some(spec) = ops::op(op) else {
            return Err(FetchError::Other {
                operation: op.to_string(),
                message: format!("there is no fetch operation `{op}`"),
                help: Some(format!(
                    "the operations are {}",
                    ops::OPS
                        .iter()
                        .map(|o| format!("`{}`", o.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            });
        };
        if key.len() != spec.arity() {
            return Err(FetchError::Other {
                operation: op.to_string(),
                message: format!(
                    "a key of `{op}` has {} values ({}), got {}",
                    spec.arity(),
                    spec.kinds
                        .first()
                        .map(|(_, p)| p.join(", "))
                        .unwrap_or_default(),
                    key.len()
                ),
                help: None,
            });
        }
        let cell = self.cell(op, key);
        // Boxed: `run` is one large future (every operation's SDK calls), and a
        // caller that awaits several fetches (a test, the planner) would carry
        // it inline, beyond a thread's default stack in a debug build.
        cell.get_or_init(|| Box::pin(self.run(op, key)))
            .await
            .clone()
    }

    /// The region of a key (when it has one) or of the configuration.
    fn region_or(&self, op: &str, key_region: Option<&str>) -> Result<String, FetchError> {
        match key_region.filter(|r| !r.is_empty()).or(self.region()) {
            Some(r) => {
                self.cache.saw_region(r);
                Ok(r.to_string())
            }
            None => Err(FetchError::Other {
                operation: op.to_string(),
                message: "no AWS region is configured".into(),
                help: Some(
                    "pass `--region`, or set `AWS_REGION` or a region in the AWS profile".into(),
                ),
            }),
        }
    }

    /// The EKS cluster whose `what` (a node group, a Fargate profile) `op` reads.
    fn cluster_name(&self, op: &str, what: &str) -> Result<&str, FetchError> {
        self.options
            .cluster_name
            .as_deref()
            .ok_or_else(|| FetchError::Other {
                operation: op.to_string(),
                message: format!("{what} cannot be read: the EKS cluster name is not known"),
                help: Some(
                    "pass `--cluster-name`, or use a kubeconfig whose context names the EKS cluster ARN"
                        .into(),
                ),
            })
    }

    /// The account a key's fact belongs to, when the key names one: an ECR
    /// registry id, the account of an IAM ARN (`aws` managed policies are
    /// everyone's). Other facts are the cluster's account's.
    fn account_of<'k>(op: &str, key: &'k [String]) -> Option<&'k str> {
        let first = key.first().map(String::as_str)?;
        let account = if op.starts_with("ecr.") {
            first
        } else if matches!(
            op,
            "iam.role" | "iam.instance-profile" | "iam.policy-version"
        ) {
            first.split(':').nth(4)?
        } else {
            return None;
        };
        crate::accounts::is_account_id(account).then_some(account)
    }

    /// What a key of `op` reads, for messages.
    fn what(op: &str, key: &[String]) -> String {
        let k = |i: usize| key.get(i).map(String::as_str).unwrap_or_default();
        match op {
            "ecr.repository"
            | "ecr.repository-policy"
            | "ecr.repository-in-regions"
            | "ecr.image"
            | "ecr.image-digest" => {
                let (name, region) = if op == "ecr.repository-in-regions" {
                    (k(1), String::new())
                } else {
                    (k(2), format!(" ({})", k(1)))
                };
                let what = match op {
                    "ecr.repository-policy" => "repository policy of",
                    "ecr.image" | "ecr.image-digest" => "image in",
                    _ => "repository",
                };
                format!("ECR {what} `{name}`{region}")
            }
            "ecr.repositories" => format!("ECR repositories ({})", k(1)),
            "ecr.registry-policy" => format!("ECR registry policy ({})", k(1)),
            _ => format!("`{}`", k(0)),
        }
    }

    /// The cluster's account: as configured (the EKS cluster ARN), else the
    /// default credentials' (`sts:GetCallerIdentity`, once), asked only when
    /// other accounts are mapped.
    async fn home(&self) -> Option<&str> {
        self.home
            .get_or_init(|| async {
                if let Some(h) = &self.options.accounts.home {
                    return Some(h.clone());
                }
                if self.options.accounts.is_empty() {
                    return None;
                }
                let call = Call::new("sts.GetCallerIdentity");
                self.ctx
                    .call(&call, self.sts.get_caller_identity().send())
                    .await
                    .ok()
                    .and_then(|out| out.account)
            })
            .await
            .as_deref()
    }

    /// The clients that read the fact of `key`: the default chain's for the
    /// cluster's account, an assumed role's for another mapped account, none
    /// (an error naming the settings) for an account nothing maps.
    async fn clients_for(&self, op: &str, key: &[String]) -> Result<Arc<Clients>, FetchError> {
        let Some(account) = Self::account_of(op, key) else {
            return Ok(Arc::clone(&self.own));
        };
        let home = self.home().await;
        match self.options.accounts.access(account, home) {
            Access::Default => Ok(Arc::clone(&self.own)),
            Access::None => Err(FetchError::NoCredentials {
                account: account.to_string(),
                what: Self::what(op, key),
            }),
            Access::Role(role) => {
                let cell = {
                    let mut others = self.others.lock().unwrap_or_else(|e| e.into_inner());
                    others.entry(account.to_string()).or_default().clone()
                };
                cell.get_or_init(|| Box::pin(self.assume(account, role)))
                    .await
                    .clone()
            }
        }
    }

    /// Clients of `account` through `role`: STS `AssumeRole` with the default
    /// chain's credentials (session `rulerun`, the external id when set), the
    /// credentials kept for the run and renewed before they expire. The role is
    /// assumed here once, so a refusal fails every fact of the account at once.
    async fn assume(&self, account: &str, role: AccountRole) -> Result<Arc<Clients>, FetchError> {
        let base = &self.own.config;
        let region = role
            .region
            .clone()
            .map(Region::new)
            .or_else(|| base.region().cloned());
        let mut builder = AssumeRoleProvider::builder(role.role_arn.clone())
            .session_name(crate::accounts::SESSION_NAME)
            .configure(base);
        if let Some(id) = &role.external_id {
            builder = builder.external_id(id.clone());
        }
        if let Some(r) = region.clone() {
            builder = builder.region(r);
        }
        let provider = RunCache::new(builder.build().await);
        self.ctx.count("sts.AssumeRole");
        if let Err(e) = provider.provide_credentials().await {
            let (code, message) = assume_failure(&e);
            return Err(FetchError::AssumeRole {
                account: account.to_string(),
                role: role.role_arn,
                configured_by: role.configured_by,
                code,
                message,
            });
        }
        let mut config = base
            .clone()
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider));
        if let Some(r) = region {
            config = config.region(r);
        }
        Ok(Arc::new(Clients::new(config.build())))
    }

    async fn run(&self, op: &str, key: &[String]) -> Outcome {
        let k = |i: usize| key.get(i).map(String::as_str).unwrap_or_default();
        let ctx = &self.ctx;
        // Boxed: assuming a role is a large future, and rare.
        let c = Box::pin(self.clients_for(op, key)).await?;
        // Each service's reads are a function of their own, boxed: one poll frame
        // holding every arm overflowed a 2 MiB thread stack in a debug build.
        if op.starts_with("eks.") {
            return Box::pin(self.run_eks(&c, op, key)).await;
        }
        if op.starts_with("ec2.") || op.starts_with("efs.") {
            return Box::pin(self.run_network(&c, op, key)).await;
        }
        match op {
            "ecr.repository" => {
                let region = self.region_or(op, Some(k(1)))?;
                fetch::ecr::repository(&c.ecr(&region), ctx, k(0), &region, k(2)).await
            }
            "ecr.repositories" => {
                let region = self.region_or(op, Some(k(1)))?;
                fetch::ecr::repositories(&c.ecr(&region), ctx, k(0), &region).await
            }
            "ecr.repository-in-regions" => {
                let regions = match &self.options.regions {
                    Some(configured) => configured.clone(),
                    None => self.cache.regions_seen(),
                };
                let c = &c;
                let lookups = regions.iter().map(|region| async move {
                    fetch::ecr::repository(&c.ecr(region), ctx, k(0), region, k(1)).await
                });
                // A region that cannot be read (disabled, denied by a control
                // policy) only narrows the hint; found repositories are kept.
                Ok(futures_util::future::join_all(lookups)
                    .await
                    .into_iter()
                    .filter_map(Result::ok)
                    .flatten()
                    .filter(|(kind, _)| kind == fetch::ecr::REPOSITORY)
                    .collect())
            }
            "ecr.image" | "ecr.image-digest" => {
                let region = self.region_or(op, Some(k(1)))?;
                let image = if op == "ecr.image" {
                    ImageRef::Tag(k(3))
                } else {
                    ImageRef::Digest(k(3))
                };
                let lookup = ImageLookup {
                    registry_id: k(0),
                    region: &region,
                    repository_name: k(2),
                    image,
                };
                fetch::ecr::image(&c.ecr(&region), ctx, lookup).await
            }
            "ecr.repository-policy" => {
                let region = self.region_or(op, Some(k(1)))?;
                fetch::ecr::repository_policy(&c.ecr(&region), ctx, k(0), &region, k(2)).await
            }
            "ecr.registry-policy" => {
                let region = self.region_or(op, Some(k(1)))?;
                fetch::ecr::registry_policy(&c.ecr(&region), ctx, k(0), &region).await
            }
            "iam.instance-profile" => fetch::iam::instance_profile(&c.iam, ctx, k(0)).await,
            "iam.role" => fetch::iam::role(&c.iam, ctx, k(0)).await,
            "iam.attached-role-policies" => {
                fetch::iam::attached_role_policies(&c.iam, ctx, k(0)).await
            }
            "iam.role-policies" => fetch::iam::role_policies(&c.iam, ctx, k(0)).await,
            "iam.policy-version" => fetch::iam::policy_version(&c.iam, ctx, k(0)).await,
            _ => Err(FetchError::Other {
                operation: op.to_string(),
                message: format!("fetch operation `{op}` is declared but not implemented"),
                help: None,
            }),
        }
    }

    /// The EKS reads of [`AwsCollector::run`], in the cluster named by the options.
    async fn run_eks(&self, c: &Clients, op: &str, key: &[String]) -> Outcome {
        let k = |i: usize| key.get(i).map(String::as_str).unwrap_or_default();
        let ctx = &self.ctx;
        match op {
            "eks.nodegroup" => {
                let cluster = self.cluster_name(op, &format!("node group `{}`", k(0)))?;
                fetch::eks::nodegroup(&c.eks, ctx, cluster, self.region(), k(0)).await
            }
            "eks.fargate-profile" => {
                let cluster = self.cluster_name(op, &format!("Fargate profile `{}`", k(0)))?;
                fetch::eks::fargate_profile(&c.eks, ctx, cluster, self.region(), k(0)).await
            }
            "eks.pod-identity-associations" => {
                let cluster = self.cluster_name(
                    op,
                    &format!("the Pod Identity associations of `{}/{}`", k(0), k(1)),
                )?;
                Box::pin(fetch::eks::pod_identity_associations(
                    &c.eks,
                    ctx,
                    cluster,
                    self.region(),
                    k(0),
                    k(1),
                ))
                .await
            }
            "eks.addon" => {
                let cluster = self.cluster_name(op, &format!("add-on `{}`", k(0)))?;
                Box::pin(fetch::eks::addon(&c.eks, ctx, cluster, self.region(), k(0))).await
            }
            _ => Err(FetchError::Other {
                operation: op.to_string(),
                message: format!("fetch operation `{op}` is declared but not implemented"),
                help: None,
            }),
        }
    }

    /// The EC2 and EFS reads of [`AwsCollector::run`].
    async fn run_network(&self, c: &Clients, op: &str, key: &[String]) -> Outcome {
        let k = |i: usize| key.get(i).map(String::as_str).unwrap_or_default();
        let ctx = &self.ctx;
        match op {
            "ec2.instance" => {
                // Normally filled by `prefetch_instances`; a key that was not (a
                // concurrent call) is read on its own.
                let region = self.region_or(op, None)?;
                self.instances(&region, &[k(0).to_string()])
                    .await
                    .remove(k(0))
                    .unwrap_or_else(|| Ok(Vec::new()))
            }
            "ec2.subnet" => {
                // `fetch_one` holds this key's cache cell already.
                let region = self.region_or(op, None)?;
                fetch::ec2::subnet(&c.ec2, ctx, &region, k(0)).await
            }
            "ec2.route-tables" => {
                let region = self.region_or(op, None)?;
                let subnet = k(0);
                let tables = fetch::ec2::route_tables(
                    &c.ec2,
                    ctx,
                    &region,
                    subnet,
                    &[("association.subnet-id", subnet)],
                )
                .await?;
                if !tables.is_empty() {
                    return Ok(tables);
                }
                // No explicit association: the subnet uses its VPC's main table.
                let subnets = self.subnet(&region, subnet).await?;
                let Some(vpc) = subnets
                    .iter()
                    .find_map(|(_, d)| d.get("VpcId").and_then(|v| v.as_str()))
                else {
                    return Ok(Vec::new());
                };
                fetch::ec2::route_tables(
                    &c.ec2,
                    ctx,
                    &region,
                    vpc,
                    &[("vpc-id", vpc), ("association.main", "true")],
                )
                .await
            }
            "ec2.main-route-table" => {
                let region = self.region_or(op, None)?;
                fetch::ec2::route_tables(
                    &c.ec2,
                    ctx,
                    &region,
                    k(0),
                    &[("vpc-id", k(0)), ("association.main", k(1))],
                )
                .await
            }
            "ec2.security-group" => {
                let region = self.region_or(op, None)?;
                Box::pin(fetch::ec2::security_group(&c.ec2, ctx, &region, k(0))).await
            }
            "efs.mount-targets" => {
                let region = self.region_or(op, None)?;
                // Boxed: its SDK futures would otherwise enlarge every fetch's
                // future (debug builds keep them whole on the stack).
                Box::pin(fetch::efs::mount_targets(&c.efs, ctx, &region, k(0))).await
            }
            "ec2.vpc-subnets" => {
                let region = self.region_or(op, None)?;
                fetch::ec2::vpc_subnets(&c.ec2, ctx, &region, k(0)).await
            }
            "ec2.vpc-route-tables" => {
                let region = self.region_or(op, None)?;
                fetch::ec2::route_tables(&c.ec2, ctx, &region, k(0), &[("vpc-id", k(0))]).await
            }
            "ec2.vpc-endpoints" => {
                let region = self.region_or(op, None)?;
                fetch::ec2::vpc_endpoints(&c.ec2, ctx, &region, k(0)).await
            }
            _ => Err(FetchError::Other {
                operation: op.to_string(),
                message: format!("fetch operation `{op}` is declared but not implemented"),
                help: None,
            }),
        }
    }

    /// A subnet through the cache of `ec2.subnet`, so `ec2.route-tables` and
    /// `ec2.subnet` read each subnet once.
    async fn subnet(&self, region: &str, id: &str) -> Outcome {
        let cell = self.cell("ec2.subnet", &[id.to_string()]);
        cell.get_or_init(|| fetch::ec2::subnet(&self.own.ec2, &self.ctx, region, id))
            .await
            .clone()
    }

    /// Reads every instance key not read yet in batches of up to 1000 ids, and fills
    /// the cache with the outcome of each.
    async fn prefetch_instances(&self, keys: &[Vec<String>]) {
        // One batch at a time across the collectors sharing the cache, so an
        // instance another cluster is reading is waited for, not read again.
        let _batch = self.cache.instance_batch.lock().await;
        let mut pending: Vec<String> = Vec::new();
        for key in keys {
            if let [id] = key.as_slice()
                && !self.cell("ec2.instance", key).initialized()
                && !pending.contains(id)
            {
                pending.push(id.clone());
            }
        }
        if pending.is_empty() {
            return;
        }
        let region = match self.region_or("ec2.instance", None) {
            Ok(r) => r,
            Err(e) => {
                for id in &pending {
                    let _ = self
                        .cell("ec2.instance", std::slice::from_ref(id))
                        .set(Err(e.clone()));
                }
                return;
            }
        };
        for (id, outcome) in self.instances(&region, &pending).await {
            let _ = self
                .cell("ec2.instance", std::slice::from_ref(&id))
                .set(outcome);
        }
    }

    /// Instances by id in chunks of up to 1000: one outcome per id.
    async fn instances(&self, region: &str, ids: &[String]) -> HashMap<String, Outcome> {
        let mut outcomes = HashMap::new();
        let (valid, invalid): (Vec<String>, Vec<String>) = ids
            .iter()
            .cloned()
            .partition(|id| fetch::ec2::is_instance_id(id));
        for id in invalid {
            let e = FetchError::Other {
                operation: "ec2.DescribeInstances".into(),
                message: format!("`{id}` is not an EC2 instance id"),
                help: Some("an instance id looks like `i-0123456789abcdef0`".into()),
            };
            outcomes.insert(id, Err(e));
        }
        for chunk in valid.chunks(fetch::ec2::MAX_INSTANCE_IDS) {
            match fetch::ec2::instances(&self.own.ec2, &self.ctx, region, chunk).await {
                Ok(mut found) => {
                    for id in chunk {
                        let docs = found
                            .remove(id)
                            .map(|d| vec![doc(fetch::ec2::INSTANCE, d)])
                            .unwrap_or_default();
                        outcomes.insert(id.clone(), Ok(docs));
                    }
                }
                Err(e) => {
                    for id in chunk {
                        outcomes.insert(id.clone(), Err(e.clone()));
                    }
                }
            }
        }
        outcomes
    }
}

/// STS's error code and message for a role that could not be assumed, or the
/// cause in words.
fn assume_failure(
    e: &aws_credential_types::provider::error::CredentialsError,
) -> (Option<String>, String) {
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(sdk) =
            err.downcast_ref::<aws_sdk_sts::error::SdkError<AssumeRoleError, HttpResponse>>()
        {
            let f = Failure::from_sdk(sdk);
            let message = match &f.code {
                Some(code) => format!("{code}: {}", f.message),
                None => f.message.clone(),
            };
            return (f.code, message);
        }
        cur = err.source();
    }
    (None, crate::error::chain_text(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline() -> AwsCollector {
        // No region, no credentials, no endpoint: nothing here reaches the network.
        AwsCollector::new(SdkConfig::builder().build(), AwsOptions::default())
    }

    #[test]
    fn the_collector_and_its_futures_are_send() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>(_: &T) {}
        send_sync::<AwsCollector>();
        let c = offline();
        let keys = vec![vec!["x".to_string()]];
        let f = c.fetch("iam.role", &keys);
        send(&f);
    }

    #[tokio::test]
    async fn settings_that_are_missing_are_errors_with_help() {
        let c = offline();
        assert_eq!(c.region(), None);
        let r = c.fetch("ec2.subnet", &[vec!["subnet-1".to_string()]]).await;
        let e = r[0].outcome.as_ref().err().cloned();
        assert!(
            matches!(&e, Some(FetchError::Other { message, help: Some(h), .. })
                if message == "no AWS region is configured" && h.contains("--region")),
            "{e:?}"
        );
        let r = c
            .fetch("ec2.instance", &[vec!["i-0123456789abcdef0".to_string()]])
            .await;
        assert!(r[0].outcome.is_err());
        let r = c.fetch("eks.nodegroup", &[vec!["ng".to_string()]]).await;
        let help = r[0].outcome.as_ref().err().and_then(FetchError::help);
        assert!(help.is_some_and(|h| h.contains("--cluster-name")));
        let r = c
            .fetch("eks.fargate-profile", &[vec!["fp".to_string()]])
            .await;
        let help = r[0].outcome.as_ref().err().and_then(FetchError::help);
        assert!(help.is_some_and(|h| h.contains("--cluster-name")));
        assert!(c.calls().is_empty());
    }
}
