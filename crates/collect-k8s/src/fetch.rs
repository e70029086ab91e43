//! Reading the Kubernetes API through an injected [`kube::Client`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::declare::Resource;
use crate::normalize;

/// Limits suited to a diagnosis tool: a few retries, a bounded wait.
#[derive(Debug, Clone, Copy)]
pub struct FetchOptions {
    /// Items per list page (`limit`).
    pub page_size: u32,
    /// The longest one request may take, including reading the response.
    pub request_timeout: Duration,
    /// Retries of a request answered 429, 503 or 504.
    pub max_retries: u32,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            page_size: 500,
            request_timeout: Duration::from_secs(20),
            max_retries: 3,
        }
    }
}

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    /// RBAC refused the read.
    #[error("forbidden: cannot {verb} `{resource}`{}", scope(.namespace))]
    Forbidden {
        /// `list` or `get`.
        verb: String,
        /// The resource (plural), with its group when not core: `replicasets.apps`.
        resource: String,
        /// The namespace, or none for cluster scope.
        namespace: Option<String>,
        /// The API server's message.
        message: String,
    },
    /// The request did not complete in time.
    #[error("timed out after {after:?}: {what}")]
    Timeout {
        /// What was being read.
        what: String,
        /// The limit.
        after: Duration,
    },
    /// Any other API error.
    #[error("{what}: the API server answered {code}: {message}")]
    Api {
        /// What was being read.
        what: String,
        /// The HTTP status.
        code: u16,
        /// The Status message.
        message: String,
    },
    /// The connection failed.
    #[error("{what}: {message}")]
    Transport {
        /// What was being read.
        what: String,
        /// The error.
        message: String,
    },
}

fn scope(ns: &Option<String>) -> String {
    match ns {
        Some(ns) => format!(" in namespace `{ns}`"),
        None => " at cluster scope".to_string(),
    }
}

impl FetchError {
    /// Advice for the user.
    pub fn help(&self) -> Option<String> {
        match self {
            FetchError::Forbidden { verb, resource, .. } => Some(format!(
                "grant `{verb}` on `{resource}` to the identity rulerun runs as; docs/permissions.md has the whole ClusterRole"
            )),
            FetchError::Timeout { .. } => {
                Some("the API server is slow or unreachable; retry, or narrow the run with `-n NAMESPACE`".into())
            }
            _ => None,
        }
    }
}

/// Reads resources, counting the requests it makes.
pub struct K8sFetcher {
    client: kube::Client,
    options: FetchOptions,
    requests: AtomicUsize,
}

fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl K8sFetcher {
    /// A fetcher over `client`.
    pub fn new(client: kube::Client, options: FetchOptions) -> Self {
        K8sFetcher {
            client,
            options,
            requests: AtomicUsize::new(0),
        }
    }

    /// HTTP requests made so far (retries included).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// Lists a resource, cluster-wide or in one namespace, optionally with a field
    /// selector, following `continue` tokens page by page.
    pub async fn list(
        &self,
        res: &Resource,
        namespace: Option<&str>,
        field_selector: Option<&str>,
    ) -> Result<Vec<Value>, FetchError> {
        let path = res.list_path(namespace);
        let what = match (namespace, field_selector) {
            (Some(ns), Some(fs)) if res.namespaced => {
                format!("list {} in namespace `{ns}` with `{fs}`", res.plural)
            }
            (Some(ns), None) if res.namespaced => {
                format!("list {} in namespace `{ns}`", res.plural)
            }
            (_, Some(fs)) => format!("list {} with `{fs}`", res.plural),
            _ => format!("list {}", res.plural),
        };
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![format!("limit={}", self.options.page_size)];
            if let Some(fs) = field_selector {
                query.push(format!("fieldSelector={}", encode(fs)));
            }
            if let Some(t) = &token {
                query.push(format!("continue={}", encode(t)));
            }
            let uri = format!("{path}?{}", query.join("&"));
            let page = self
                .send(&uri, &what, res, "list", namespace)
                .await?
                .unwrap_or(Value::Null);
            token = normalize::continue_token(&page);
            items.extend(normalize::list_items(page, res));
            if token.is_none() {
                break;
            }
        }
        Ok(items)
    }

    /// Gets one object; `None` when it does not exist.
    pub async fn get(
        &self,
        res: &Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, FetchError> {
        let uri = res.object_path(namespace, &encode(name));
        let what = format!("get {} `{name}`", res.plural);
        Ok(self
            .send(&uri, &what, res, "get", namespace)
            .await?
            .map(|o| normalize::object(o, res)))
    }

    async fn send(
        &self,
        uri: &str,
        what: &str,
        res: &Resource,
        verb: &str,
        namespace: Option<&str>,
    ) -> Result<Option<Value>, FetchError> {
        let mut attempt = 0;
        loop {
            let request = http::Request::get(uri)
                .header(http::header::ACCEPT, "application/json")
                .body(Vec::new())
                .map_err(|e| FetchError::Transport {
                    what: what.to_string(),
                    message: e.to_string(),
                })?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let outcome = tokio::time::timeout(
                self.options.request_timeout,
                self.client.request::<Value>(request),
            )
            .await;
            let err = match outcome {
                Err(_) => {
                    return Err(FetchError::Timeout {
                        what: what.to_string(),
                        after: self.options.request_timeout,
                    });
                }
                Ok(Ok(v)) => return Ok(Some(v)),
                Ok(Err(e)) => e,
            };
            match err {
                kube::Error::Api(status) => {
                    let code = status.code;
                    if code == 404 && verb == "get" {
                        return Ok(None);
                    }
                    if matches!(code, 429 | 503 | 504) && attempt < self.options.max_retries {
                        attempt += 1;
                        let delay = Duration::from_millis(200u64 << attempt.min(4));
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    if code == 403 {
                        let resource = if res.group.is_empty() {
                            res.plural.to_string()
                        } else {
                            format!("{}.{}", res.plural, res.group)
                        };
                        return Err(FetchError::Forbidden {
                            verb: verb.to_string(),
                            resource,
                            namespace: namespace.filter(|_| res.namespaced).map(str::to_string),
                            message: status.message.clone(),
                        });
                    }
                    return Err(FetchError::Api {
                        what: what.to_string(),
                        code,
                        message: status.message.clone(),
                    });
                }
                other => {
                    return Err(FetchError::Transport {
                        what: what.to_string(),
                        message: other.to_string(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            encode("involvedObject.uid=a b"),
            "involvedObject.uid%3Da%20b"
        );
        assert_eq!(encode("eyJ2Ijoi+/="), "eyJ2Ijoi%2B%2F%3D");
    }

    #[test]
    fn errors_say_what_and_advise() {
        let e = FetchError::Forbidden {
            verb: "list".into(),
            resource: "events".into(),
            namespace: None,
            message: "m".into(),
        };
        assert_eq!(
            e.to_string(),
            "forbidden: cannot list `events` at cluster scope"
        );
        assert!(e.help().unwrap_or_default().contains("docs/permissions.md"));
    }
}
