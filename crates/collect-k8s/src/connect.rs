//! A client the way `kubectl` finds one, with settings that suit a CLI.

use std::io::Read as _;
use std::path::{Path, PathBuf};
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
        self.eks_arn().map(|(name, region, _)| (name, region))
    }

    /// The AWS account of the EKS cluster, when the context or cluster entry is an
    /// EKS cluster ARN: the account whose facts the default credentials read.
    pub fn eks_account(&self) -> Option<String> {
        self.eks_arn().map(|(_, _, account)| account)
    }

    /// `(name, region, account)` of the EKS cluster ARN.
    fn eks_arn(&self) -> Option<(String, String, String)> {
        [self.cluster.as_deref(), self.context.as_deref()]
            .into_iter()
            .flatten()
            .find_map(|s| {
                let arn = rulerun_iam::arn::parse_relaxed(s).ok()?;
                (arn.service() == "eks" && arn.resource().starts_with("cluster/")).then(|| {
                    (
                        arn.resource_name().to_owned(),
                        arn.region().to_owned(),
                        arn.account().to_owned(),
                    )
                })
            })
    }
}

/// Why no client could be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The kubeconfig could not be read or has no such context.
    #[error("cannot use kubeconfig: {0}")]
    Kubeconfig(String),
    /// A kubeconfig file is larger than any kubeconfig, or is a device or pipe
    /// that does not end (`--kubeconfig /dev/zero`).
    #[error("cannot use kubeconfig `{0}`: {1}")]
    KubeconfigTooLarge(String, String),
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
            ConnectError::KubeconfigTooLarge(..) => {
                "point `--kubeconfig` or `KUBECONFIG` at a kubeconfig file (kubeconfigs are at most a few MiB)"
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

/// The most a kubeconfig may hold: kube reads the whole file into memory.
pub const MAX_KUBECONFIG_BYTES: u64 = 16 << 20;

/// Reads the kubeconfig at `path` (`--kubeconfig`), never more than
/// [`MAX_KUBECONFIG_BYTES`] of it: a regular file through kube (which makes
/// the certificate and key paths in it absolute, relative to its folder), a
/// pipe such as `<(...)` or a device read here, bounded, and parsed by kube.
fn read_kubeconfig(path: &Path) -> Result<Kubeconfig, ConnectError> {
    let shown = path.display().to_string();
    let bad = |e: String| ConnectError::Kubeconfig(format!("`{shown}`: {e}"));
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    if meta.is_file() {
        check_size(path, &meta)?;
        return Kubeconfig::read_from(path).map_err(|e| bad(e.to_string()));
    }
    if meta.is_dir() {
        return Err(bad("is a folder, not a file".into()));
    }
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_KUBECONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(e.to_string()))?;
    if bytes.len() as u64 > MAX_KUBECONFIG_BYTES {
        return Err(too_large(path));
    }
    let text = String::from_utf8(bytes).map_err(|_| bad("is not UTF-8 text".into()))?;
    Kubeconfig::from_yaml(&text).map_err(|e| bad(e.to_string()))
}

fn too_large(path: &Path) -> ConnectError {
    ConnectError::KubeconfigTooLarge(
        path.display().to_string(),
        format!(
            "more than {} MiB, or a device or pipe that does not end",
            MAX_KUBECONFIG_BYTES >> 20
        ),
    )
}

fn check_size(path: &Path, meta: &std::fs::Metadata) -> Result<(), ConnectError> {
    if meta.len() > MAX_KUBECONFIG_BYTES {
        return Err(too_large(path));
    }
    Ok(())
}

/// Checks the files kube reads when no `--kubeconfig` is given (each file of
/// `KUBECONFIG`, else `~/.kube/config`): kube reads each whole, so one that is
/// not a regular file of at most [`MAX_KUBECONFIG_BYTES`] is refused first.
/// A file that does not exist is left to kube (which reports it, or falls back
/// to the in-cluster configuration).
fn default_kubeconfig_files() -> Result<(), ConnectError> {
    let paths: Vec<PathBuf> = match std::env::var_os("KUBECONFIG") {
        Some(v) => std::env::split_paths(&v)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => Vec::new(),
    };
    let paths = if paths.is_empty() {
        std::env::home_dir()
            .map(|h| vec![h.join(".kube").join("config")])
            .unwrap_or_default()
    } else {
        paths
    };
    for p in paths {
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        if !meta.is_file() && !meta.is_dir() {
            return Err(too_large(&p));
        }
        check_size(&p, &meta)?;
    }
    Ok(())
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
            let kc = read_kubeconfig(path)?;
            let info = info_from(&kc, opts.context.as_deref());
            let config = kube::Config::from_custom_kubeconfig(kc, &kopts)
                .await
                .map_err(|e| ConnectError::Kubeconfig(e.to_string()))?;
            (config, info)
        }
        None => match default_kubeconfig_files()
            .and_then(|()| Kubeconfig::read().map_err(|e| ConnectError::Kubeconfig(e.to_string())))
        {
            Ok(kc) => {
                let info = info_from(&kc, opts.context.as_deref());
                let config = kube::Config::from_custom_kubeconfig(kc, &kopts)
                    .await
                    .map_err(|e| ConnectError::Kubeconfig(e.to_string()))?;
                (config, info)
            }
            Err(e @ ConnectError::KubeconfigTooLarge(..)) => return Err(e),
            Err(kc_err) => {
                if opts.context.is_some() {
                    return Err(kc_err);
                }
                let config = kube::Config::incluster().map_err(|e| {
                    let kc_err = match kc_err {
                        ConnectError::Kubeconfig(m) => m,
                        other => other.to_string(),
                    };
                    ConnectError::NotConfigured(format!(
                        "no kubeconfig ({kc_err}) and not in a cluster (the in-cluster \
                         configuration reads `KUBERNETES_SERVICE_HOST` and the service account's \
                         files under `{SERVICE_ACCOUNT_DIR}`: {e})"
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

/// Where kube's in-cluster configuration reads the pod's service account token,
/// CA and namespace (fixed by Kubernetes).
const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The names of every context of the kubeconfig (`--all-contexts`), in the
/// file's order: `kubeconfig`, else the files of `KUBECONFIG` merged as kubectl
/// merges them, else `~/.kube/config`.
pub fn context_names(kubeconfig: Option<&Path>) -> Result<Vec<String>, ConnectError> {
    let kc = match kubeconfig {
        Some(path) => read_kubeconfig(path)?,
        None => {
            default_kubeconfig_files()?;
            Kubeconfig::read().map_err(|e| ConnectError::Kubeconfig(e.to_string()))?
        }
    };
    let mut names: Vec<String> = Vec::new();
    for c in kc.contexts {
        if !names.contains(&c.name) {
            names.push(c.name);
        }
    }
    Ok(names)
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
        assert_eq!(info.eks_account().as_deref(), Some("123456789012"));
        let info = ClusterInfo {
            context: Some("kind-dev".into()),
            cluster: Some("kind-dev".into()),
            ..ClusterInfo::default()
        };
        assert_eq!(info.eks_cluster(), None);
    }
}
