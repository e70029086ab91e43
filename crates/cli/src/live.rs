//! Live runs: connecting, a progress line on a terminal, the async runtime.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use rulerun_collect_k8s::connect::{ConnectOptions, connect};
use rulerun_collect_k8s::fetch::{FetchOptions, K8sFetcher};
use rulerun_core::RuleSet;
use rulerun_runner::{LiveOptions, LiveRun, Progress};

use crate::Terminal;
use crate::args::ClusterArgs;

/// Why a live run could not start.
pub struct LiveError {
    pub message: String,
    pub help: String,
}

/// A connection to the cluster and the async runtime it lives on: the live
/// check and the write of `--report-to-cluster` share it (a kube client is
/// bound to the runtime that made its connections).
pub struct Session {
    runtime: tokio::runtime::Runtime,
    client: rulerun_collect_k8s::Client,
    info: rulerun_collect_k8s::connect::ClusterInfo,
    timeout: Duration,
}

impl Session {
    /// Starts the runtime and builds the client from `--kubeconfig`,
    /// `--context`, `KUBECONFIG` or the in-cluster service account.
    pub fn connect(cluster: &ClusterArgs) -> Result<Session, LiveError> {
        crate::install_crypto_provider();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| LiveError {
                message: format!("cannot start the async runtime: {e}"),
                help: String::new(),
            })?;
        let timeout = Duration::from_secs(cluster.request_timeout.max(1));
        let (client, info) = runtime
            .block_on(connect(&ConnectOptions {
                kubeconfig: cluster.kubeconfig.clone(),
                context: cluster.context().map(str::to_string),
                connect_timeout: Some(Duration::from_secs(10)),
                read_timeout: Some(timeout),
            }))
            .map_err(|e| LiveError {
                help: e.help().to_string(),
                message: e.to_string(),
            })?;
        Ok(Session {
            runtime,
            client,
            info,
            timeout,
        })
    }

    /// The API server URL.
    pub fn server(&self) -> &str {
        &self.info.server
    }

    /// Runs the rules against the cluster; prints progress on a terminal unless
    /// `quiet`. AWS facts are read through `shared` when given (a fleet's: the
    /// clusters of one account read each fact once).
    pub fn check_sharing(
        &self,
        rules: &RuleSet,
        cluster: &ClusterArgs,
        term: Terminal,
        quiet: bool,
        shared: Option<&rulerun_collect_aws::SharedFacts>,
    ) -> Result<LiveRun, LiveError> {
        let ca_bundle = match (&cluster.ca_bundle, cluster.no_aws) {
            (Some(path), false) => Some(read_ca_bundle(path)?),
            _ => None,
        };
        let timeout = self.timeout;
        self.runtime.block_on(async {
            let k8s = Arc::new(
                K8sFetcher::new(
                    self.client.clone(),
                    FetchOptions {
                        request_timeout: timeout,
                        max_pages: cluster.max_list_pages,
                        max_response_bytes: cluster.max_response_bytes,
                        max_list_bytes: cluster.max_list_bytes,
                        ..FetchOptions::default()
                    },
                )
                .with_server(self.info.server.clone()),
            );
            let aws = aws_collector(cluster, ca_bundle, &self.info, timeout, shared).await;
            let opts = LiveOptions {
                k8s,
                namespace: cluster.namespace.clone(),
                aws,
            };
            let bar = (term.progress && !quiet).then(|| {
                let bar = indicatif::ProgressBar::new_spinner();
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            });
            let report = |p: Progress| {
                if let Some(bar) = &bar {
                    bar.set_message(match p {
                        Progress::Listing(kinds) => {
                            format!("listing {}", crate::escape::line(&kinds.join(", ")))
                        }
                        Progress::Fetching { round, what } => format!(
                            "round {round}: fetching {}",
                            crate::escape::line(&what.join(", "))
                        ),
                    });
                }
            };
            let out = rulerun_runner::run(rules, &opts, &report).await;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            Ok(out)
        })
    }

    /// Writes the report objects into the cluster and prunes rulerun's others
    /// ([`rulerun_collect_k8s::publish`]).
    pub fn publish(
        &self,
        api: rulerun_collect_k8s::publish::ReportApi,
        objects: &[serde_json::Value],
        namespace: Option<&str>,
    ) -> Result<Vec<rulerun_collect_k8s::publish::Action>, rulerun_collect_k8s::publish::PublishError>
    {
        let (key, value) = crate::report::MANAGED_BY;
        let p = rulerun_collect_k8s::publish::Publish {
            api,
            objects,
            owner_label: (key, value),
            namespace,
            timeout: self.timeout,
        };
        self.runtime
            .block_on(rulerun_collect_k8s::publish::publish(&self.client, &p))
    }
}

impl Session {
    /// The reports of `api` labelled as rulerun's, every namespace's and the
    /// cluster's ([`rulerun_collect_k8s::publish::read`]).
    pub fn read_reports(
        &self,
        api: rulerun_collect_k8s::publish::ReportApi,
    ) -> Result<Vec<serde_json::Value>, rulerun_collect_k8s::publish::PublishError> {
        self.runtime.block_on(rulerun_collect_k8s::publish::read(
            &self.client,
            &api,
            crate::report::MANAGED_BY,
            self.timeout,
        ))
    }
}

/// Connects to the cluster and runs the rules; prints progress on a terminal
/// unless `quiet`.
pub fn run(
    rules: &RuleSet,
    cluster: &ClusterArgs,
    term: Terminal,
    quiet: bool,
) -> Result<LiveRun, LiveError> {
    run_in_session(rules, cluster, term, quiet).map(|(_, run)| run)
}

/// [`run`], keeping the session for a write after it.
pub fn run_in_session(
    rules: &RuleSet,
    cluster: &ClusterArgs,
    term: Terminal,
    quiet: bool,
) -> Result<(Session, LiveRun), LiveError> {
    run_sharing(rules, cluster, term, quiet, None)
}

/// [`run_in_session`], reading AWS facts through `shared`.
fn run_sharing(
    rules: &RuleSet,
    cluster: &ClusterArgs,
    term: Terminal,
    quiet: bool,
    shared: Option<&rulerun_collect_aws::SharedFacts>,
) -> Result<(Session, LiveRun), LiveError> {
    // The CA bundle is checked before anything connects.
    if let (Some(path), false) = (&cluster.ca_bundle, cluster.no_aws) {
        read_ca_bundle(path)?;
    }
    let session = Session::connect(cluster)?;
    let run = session.check_sharing(rules, cluster, term, quiet, shared)?;
    Ok((session, run))
}

/// The AWS reader, or why there is none. Credentials, region and endpoints come
/// from the AWS CLI's chain (`--profile`, `--region`, `AWS_*` variables,
/// `AWS_ENDPOINT_URL`); the region and cluster name fall back to the EKS cluster
/// ARN of the kubeconfig context.
async fn aws_collector(
    cluster: &ClusterArgs,
    ca_bundle: Option<rulerun_collect_aws::CaBundle>,
    info: &rulerun_collect_k8s::connect::ClusterInfo,
    timeout: Duration,
    shared: Option<&rulerun_collect_aws::SharedFacts>,
) -> Result<Arc<rulerun_collect_aws::AwsCollector>, String> {
    if cluster.no_aws {
        return Err("AWS collection is off (`--no-aws`)".into());
    }
    let eks = info.eks_cluster();
    let mut options = rulerun_collect_aws::ConfigOptions {
        profile: cluster.profile.clone(),
        region: cluster.region.clone(),
        endpoint_url: cluster.endpoint_url.clone(),
        ca_bundle,
    };
    let load = |options: rulerun_collect_aws::ConfigOptions| async move {
        rulerun_collect_aws::load_config(&options)
            .await
            .map_err(|e| e.to_string())
    };
    let mut config = load(options.clone()).await?;
    if config.region().is_none() {
        match &eks {
            Some((_, region)) => {
                options.region = Some(region.clone());
                config = load(options).await?;
            }
            None => {
                return Err("no AWS region: pass `--region`, set `AWS_REGION`, or use a kubeconfig context written by `aws eks update-kubeconfig`".into());
            }
        }
    }
    let cluster_name = cluster
        .cluster_name
        .clone()
        .or_else(|| eks.map(|(name, _)| name));
    Ok(Arc::new(rulerun_collect_aws::AwsCollector::new(
        config,
        rulerun_collect_aws::AwsOptions {
            cluster_name,
            call_timeout: timeout,
            accounts: rulerun_collect_aws::Accounts {
                home: info.eks_account(),
                roles: cluster.aws_accounts.clone(),
                template: cluster.assume_role.clone(),
            },
            shared: shared.cloned(),
            regions: cluster.aws_regions.clone(),
            ..rulerun_collect_aws::AwsOptions::default()
        },
    )))
}

/// Reads and checks `--ca-bundle` (or `AWS_CA_BUNDLE`) before anything connects.
fn read_ca_bundle(path: &std::path::Path) -> Result<rulerun_collect_aws::CaBundle, LiveError> {
    let pem = rulerun_core::read::read_bytes(path, rulerun_core::read::Limit::CERTIFICATES)
        .map_err(|e| LiveError {
            message: format!("cannot read the CA bundle `{}`: {e}", path.display()),
            help: "pass `--ca-bundle` (or set `AWS_CA_BUNDLE`) to a PEM file of certificates"
                .into(),
        })?;
    rulerun_collect_aws::CaBundle::from_pem(pem).map_err(|e| LiveError {
        message: format!("{e} (`{}`)", path.display()),
        help: "the file must hold `-----BEGIN CERTIFICATE-----` blocks of CA certificates".into(),
    })
}

/// Prints a live-run error with its advice.
pub fn print_error(e: &LiveError, err: &mut dyn Write) -> std::io::Result<()> {
    writeln!(err, "error: {}", crate::escape::line(&e.message))?;
    if !e.help.is_empty() {
        writeln!(err, "  help: {}", crate::escape::line(&e.help))?;
    }
    Ok(())
}

/// How one cluster's check went: the session (for a write after it) and the run.
pub type Outcome = Result<(Session, LiveRun), LiveError>;

/// One cluster of a fleet run: its context and how its check went.
pub struct FleetMember {
    pub context: String,
    pub outcome: Outcome,
}

/// Checks each context of `contexts` as [`run_in_session`] checks one (its own
/// client, and its own AWS account and region inferred from the context),
/// `max_concurrent` at a time, each on its own thread and runtime; the results
/// come back in the order of `contexts`. Nothing is printed (no progress line).
/// The clusters share one cache of AWS facts: what clusters of one account and
/// region ask alike (roles, policies, repositories, subnets...) is fetched once.
pub fn run_fleet(
    rules: &RuleSet,
    cluster: &ClusterArgs,
    contexts: &[String],
    max_concurrent: usize,
    term: Terminal,
) -> Vec<FleetMember> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let shared = rulerun_collect_aws::SharedFacts::default();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..max_concurrent.clamp(1, contexts.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            let shared = &shared;
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(context) = contexts.get(i) else {
                        break;
                    };
                    let mut one = cluster.clone();
                    one.contexts = vec![context.clone()];
                    let outcome = run_sharing(rules, &one, term, true, Some(shared));
                    if tx.send((i, outcome)).is_err() {
                        break;
                    }
                }
            });
        }
    });
    drop(tx);
    let mut done: Vec<(usize, Outcome)> = rx.into_iter().collect();
    done.sort_by_key(|(i, _)| *i);
    done.into_iter()
        .filter_map(|(i, outcome)| {
            contexts.get(i).map(|c| FleetMember {
                context: c.clone(),
                outcome,
            })
        })
        .collect()
}

/// The contexts of a fleet run: every context of the kubeconfig with `all`,
/// else the `--context` names; in order, each once.
pub fn fleet_contexts(cluster: &ClusterArgs, all: bool) -> Result<Vec<String>, LiveError> {
    let named = if all {
        rulerun_collect_k8s::connect::context_names(cluster.kubeconfig.as_deref()).map_err(|e| {
            LiveError {
                message: e.to_string(),
                help: e.help().to_string(),
            }
        })?
    } else {
        cluster.contexts.clone()
    };
    let mut contexts: Vec<String> = Vec::new();
    for c in named {
        if !contexts.contains(&c) {
            contexts.push(c);
        }
    }
    if contexts.is_empty() {
        return Err(LiveError {
            message: "the kubeconfig has no context to check".into(),
            help: "`kubectl config get-contexts` lists the contexts; for EKS, `aws eks update-kubeconfig --name CLUSTER` adds one".into(),
        });
    }
    Ok(contexts)
}

/// Reads and checks `--ca-bundle` once, before a fleet run connects anywhere.
pub fn check_ca_bundle(cluster: &ClusterArgs) -> Result<(), LiveError> {
    if let (Some(path), false) = (&cluster.ca_bundle, cluster.no_aws) {
        read_ca_bundle(path)?;
    }
    Ok(())
}
