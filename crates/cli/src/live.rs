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

/// Connects to the cluster and runs the rules; prints progress on a terminal
/// unless `quiet`.
pub fn run(
    rules: &RuleSet,
    cluster: &ClusterArgs,
    term: Terminal,
    quiet: bool,
) -> Result<LiveRun, LiveError> {
    crate::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| LiveError {
            message: format!("cannot start the async runtime: {e}"),
            help: String::new(),
        })?;
    runtime.block_on(async {
        let timeout = Duration::from_secs(cluster.request_timeout.max(1));
        let (client, _info) = connect(&ConnectOptions {
            kubeconfig: cluster.kubeconfig.clone(),
            context: cluster.context.clone(),
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(timeout),
        })
        .await
        .map_err(|e| LiveError {
            help: e.help().to_string(),
            message: e.to_string(),
        })?;
        let k8s = Arc::new(K8sFetcher::new(
            client,
            FetchOptions {
                request_timeout: timeout,
                ..FetchOptions::default()
            },
        ));
        let opts = LiveOptions {
            k8s,
            namespace: cluster.namespace.clone(),
        };
        let bar = (term.progress && !quiet).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let report = |p: Progress| {
            if let Some(bar) = &bar {
                bar.set_message(match p {
                    Progress::Listing(kinds) => format!("listing {}", kinds.join(", ")),
                    Progress::Fetching { round, what } => {
                        format!("round {round}: fetching {}", what.join(", "))
                    }
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

/// Prints a live-run error with its advice.
pub fn print_error(e: &LiveError, err: &mut dyn Write) -> std::io::Result<()> {
    writeln!(err, "error: {}", e.message)?;
    if !e.help.is_empty() {
        writeln!(err, "  help: {}", e.help)?;
    }
    Ok(())
}
