//! A client the way `kubectl` finds one, with settings that suit a CLI.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// Where to find the cluster.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// A kubeconfig file (`--kubeconfig`); else `KUBECONFIG`, else
    /// `~/.kube/config`, else the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// The context to use (`--context`); else the current context.
    pub context: Option<String>,
    /// How long to wait for a connection.
    pub connect_timeout: Option<Duration>,
    /// How long to wait for a response.
    pub read_timeout: Option<Duration>,
}

/// Facts about the connection that rules and the AWS collector use.
#[derive(Debug, Clone, Default)]
pub struct ClusterInfo {
    /// The context's name, when a kubeconfig was used.
    pub context: Option<String>,
    /// The context's cluster entry name (an EKS cluster ARN when the kubeconfig
    /// was written by `aws eks update-kubeconfig`).
    pub cluster: Option<String>,
    /// The API server URL.
    pub server: String,
    /// The default namespace.
    pub namespace: String,
}

impl ClusterInfo {
    /// The EKS cluster name and region, when the context or cluster entry is an
    /// EKS cluster ARN (`arn:aws:eks:REGION:ACCOUNT:cluster/NAME`).
    pub fn eks_cluster(&self) -> Option<(String, String)> {
        [self.cluster.as_deref(), self.context.as_deref()]
            .into_iter()
            .flatten()
            .find_map(|s| {
                let rest = s.strip_prefix("arn:")?;
                let mut parts = rest.splitn(5, ':');
                let _partition = parts.next()?;
                if parts.next()? != "eks" {
                    return None;
                }
                let region = parts.next()?.to_string();
                let _account = parts.next()?;
                let name = parts.next()?.strip_prefix("cluster/")?.to_string();
                Some((name, region))
            })
    }
}

/// Why no client could be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The kubeconfig could not be read or has no such context.
    #[error("cannot use kubeconfig: {0}")]
    Kubeconfig(String),
    /// Neither a kubeconfig nor in-cluster configuration was found.
    #[error("no cluster configured: {0}")]
    NotConfigured(String),
    /// The client could not be built (TLS, auth plugin).
    #[error("cannot build a Kubernetes client: {0}")]
    Client(String),
}

impl ConnectError {
    /// Advice.
    pub fn help(&self) -> &'static str {
        match self {
            ConnectError::Kubeconfig(_) => {
                "check `--kubeconfig`/`KUBECONFIG` and `--context` (`kubectl config get-contexts` lists them)"
            }
            ConnectError::NotConfigured(_) => {
                "point rulerun at a cluster with `--kubeconfig`, `--context` or `KUBECONFIG`, or check a snapshot offline with `--facts`"
            }
            ConnectError::Client(_) => {
                "for EKS, `aws eks update-kubeconfig --name CLUSTER` writes a working kubeconfig"
            }
        }
    }
}

/// Builds a client: kubeconfig (with exec credential plugins such as
/// `aws eks get-token`, as kubectl runs them) or in-cluster configuration. kube's
/// own retry layer is turned off (it retries up to 15 times with back-off up to
/// 1000 s); [`crate::fetch`] retries a few times itself. A read timeout is set.
pub async fn connect(opts: &ConnectOptions) -> Result<(kube::Client, ClusterInfo), ConnectError> {
    let kopts = KubeConfigOptions {
        context: opts.context.clone(),
        cluster: None,
        user: None,
    };
    let (mut config, info) = match &opts.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| ConnectError::Kubeconfig(format!("`{}`: {e}", path.display())))?;
            let info = info_from(&kc, opts.context.as_deref());
            let config = kube::Config::from_custom_kubeconfig(kc, &kopts)
                .await
                .map_err(|e| ConnectError::Kubeconfig(e.to_string()))?;
            (config, info)
        }
        None => match Kubeconfig::read() {
            Ok(kc) => {
                let info = info_from(&kc, opts.context.as_deref());
                let config = kube::Config::from_custom_kubeconfig(kc, &kopts)
                    .await
                    .map_err(|e| ConnectError::Kubeconfig(e.to_string()))?;
                (config, info)
            }
            Err(kc_err) => {
                if opts.context.is_some() {
                    return Err(ConnectError::Kubeconfig(kc_err.to_string()));
                }
                let config = kube::Config::incluster().map_err(|e| {
                    ConnectError::NotConfigured(format!(
                        "no kubeconfig ({kc_err}) and not in a cluster ({e})"
                    ))
                })?;
                (config, ClusterInfo::default())
            }
        },
    };
    config.default_retry = false;
    config.read_timeout = opts.read_timeout.or(Some(Duration::from_secs(30)));
    config.connect_timeout = opts.connect_timeout.or(Some(Duration::from_secs(10)));
    let info = ClusterInfo {
        server: config.cluster_url.to_string(),
        namespace: config.default_namespace.clone(),
        ..info
    };
    let client = kube::Client::try_from(config).map_err(|e| ConnectError::Client(e.to_string()))?;
    Ok((client, info))
}

fn info_from(kc: &Kubeconfig, context: Option<&str>) -> ClusterInfo {
    let name = context
        .map(str::to_string)
        .or_else(|| kc.current_context.clone());
    let cluster = name.as_deref().and_then(|n| {
        kc.contexts
            .iter()
            .find(|c| c.name == n)
            .and_then(|c| c.context.as_ref())
            .map(|c| c.cluster.clone())
    });
    ClusterInfo {
        context: name,
        cluster,
        ..ClusterInfo::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eks_cluster_names_come_from_arns() {
        let info = ClusterInfo {
            context: Some("arn:aws:eks:us-west-2:123456789012:cluster/eks-workshop".into()),
            ..ClusterInfo::default()
        };
        assert_eq!(
            info.eks_cluster(),
            Some(("eks-workshop".into(), "us-west-2".into()))
        );
        let info = ClusterInfo {
            context: Some("kind-dev".into()),
            cluster: Some("kind-dev".into()),
            ..ClusterInfo::default()
        };
        assert_eq!(info.eks_cluster(), None);
    }
}
