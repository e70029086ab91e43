//! Reading the Kubernetes API through an injected [`kube::Client`].
//!
//! Requests go through [`kube::Client::send`], the client's raw request API (its
//! auth, TLS and base URL layers), and bodies are read frame by frame up to a
//! byte limit: `Client::request` would buffer a body of any size. A list is
//! bounded in pages and in bytes, and a `continue` token seen before ends it as a
//! loop; each limit, when hit, fails that list with an error naming the limit and
//! the setting that raises it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::BodyExt as _;
use serde_json::Value;

use crate::cause;
use crate::declare::Resource;
use crate::normalize;

/// Items per list page (`limit`), as kubectl asks.
pub const DEFAULT_PAGE_SIZE: u32 = 500;
/// Pages per list: 50,000 pods are 100 pages of [`DEFAULT_PAGE_SIZE`]; the limit
/// allows 20 times that (a million objects of one kind), so only a server that
/// never stops sending `continue` tokens reaches it.
pub const DEFAULT_MAX_PAGES: u32 = 2000;
/// Bytes per response: a page of 500 pods at a generous 16 KiB each (typical
/// pods are 4 to 10 KiB with `managedFields`) is 8 MiB; the limit is 8 times that.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 << 20;
/// Bytes per list, all pages together: 50,000 pods at 16 KiB are 780 MiB; the
/// limit is 2 GiB, the size of the largest fact file `rulerun check --facts`
/// reads, so what was collected can be checked offline.
pub const DEFAULT_MAX_LIST_BYTES: u64 = 2 << 30;
/// Bytes read of an error answer (a `Status`); the rest is not read.
const MAX_ERROR_BODY: u64 = 64 << 10;

/// Limits suited to a diagnosis tool: a few retries, a bounded wait, bounded
/// pages and bytes.
#[derive(Debug, Clone, Copy)]
pub struct FetchOptions {
    /// Items per list page (`limit`).
    pub page_size: u32,
    /// The longest one request may take, including reading the response.
    pub request_timeout: Duration,
    /// Retries of a request answered 429, 503 or 504.
    pub max_retries: u32,
    /// Pages one list may take (`--max-list-pages`).
    pub max_pages: u32,
    /// Bytes one response body may hold (`--max-response-bytes`).
    pub max_response_bytes: u64,
    /// Bytes the pages of one list may hold together (`--max-list-bytes`).
    pub max_list_bytes: u64,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            page_size: DEFAULT_PAGE_SIZE,
            request_timeout: Duration::from_secs(20),
            max_retries: 3,
            max_pages: DEFAULT_MAX_PAGES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_list_bytes: DEFAULT_MAX_LIST_BYTES,
        }
    }
}

/// A byte count as people read it: `64 MiB`, `1.5 GiB`, `900 bytes`.
pub fn size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, n) in UNITS {
        if bytes >= n {
            return if bytes.is_multiple_of(n) {
                format!("{} {unit}", bytes / n)
            } else {
                // Display only: the precision lost in the cast does not matter.
                #[allow(clippy::cast_precision_loss)]
                let v = bytes as f64 / n as f64;
                format!("{v:.1} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
}

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    /// A namespace no Kubernetes object can be in (empty, `.`, `..` or holding
    /// a `/`): refused before any request, since the API server would read it
    /// as other path segments.
    #[error("{what}: `{namespace}` is not a namespace name")]
    InvalidNamespace {
        /// What was being read.
        what: String,
        /// The namespace given.
        namespace: String,
    },
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
    #[error("{what} timed out after {}s", after.as_secs())]
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
    /// No connection could be made (refused, unreachable, DNS, TLS handshake).
    #[error("cannot connect to the Kubernetes API server{}: {cause}", at(.server))]
    Connect {
        /// The API server URL, when known.
        server: Option<String>,
        /// The cause, in words.
        cause: String,
    },
    /// The connection failed after it was made.
    #[error("{what}: {message}")]
    Transport {
        /// What was being read.
        what: String,
        /// The error.
        message: String,
    },
    /// The answer is not what the Kubernetes API defines: not JSON, or a list
    /// whose `items` is not a list, an item that is not an object, ...
    #[error("the API server's answer to {what} was malformed: {detail}")]
    Malformed {
        /// What was being read.
        what: String,
        /// The request path and query, for `kubectl get --raw`.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// One answer was larger than the per-response limit.
    #[error("the API server's answer to {what} is larger than the limit of {} per response", size(*.limit))]
    ResponseTooLarge {
        /// What was being read.
        what: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The pages of one list together were larger than the per-list limit.
    #[error("{what} is larger than the limit of {} per list (after {pages} pages)", size(*.limit))]
    ListTooLarge {
        /// What was being read.
        what: String,
        /// The limit in bytes.
        limit: u64,
        /// Pages read, the one that crossed the limit included.
        pages: u32,
    },
    /// The list still had a `continue` token after the page limit.
    #[error(
        "{what} did not end after {pages} pages of {page_size} items (the limit of pages per list): the API server kept answering with a `continue` token"
    )]
    TooManyPages {
        /// What was being read.
        what: String,
        /// The limit.
        pages: u32,
        /// Items per page asked for.
        page_size: u32,
    },
    /// A `continue` token came back that an earlier page had already given.
    #[error(
        "{what} would never end: the API server answered page {page} with the `continue` token it had given on page {first}"
    )]
    ContinueLoop {
        /// What was being read.
        what: String,
        /// The page that repeated the token.
        page: u32,
        /// The page that first gave it.
        first: u32,
    },
}

fn scope(ns: &Option<String>) -> String {
    match ns {
        Some(ns) => format!(" in namespace `{ns}`"),
        None => " at cluster scope".to_string(),
    }
}

fn at(server: &Option<String>) -> String {
    match server {
        Some(s) => format!(" at `{s}`"),
        None => String::new(),
    }
}

impl rulerun_transport::FetchFailure for FetchError {
    fn advice(&self) -> Option<String> {
        self.help()
    }
}

impl FetchError {
    /// Advice for the user.
    pub fn help(&self) -> Option<String> {
        match self {
            FetchError::Forbidden { verb, resource, .. } => Some(format!(
                "grant `{verb}` on `{resource}` to the identity rulerun runs as; docs/permissions.md has the whole ClusterRole"
            )),
            FetchError::Timeout { .. } => Some(
                "the API server is slow or unreachable; retry, raise `--request-timeout`, or narrow the run with `-n NAMESPACE`".into(),
            ),
            FetchError::Connect { .. } => Some(
                "check that the API server is reachable from here with the same kubeconfig and context: `kubectl cluster-info`".into(),
            ),
            FetchError::Malformed { path, .. } => Some(format!(
                "the API server, or a proxy in front of it, did not answer as Kubernetes does; `kubectl get --raw '{path}'` shows the answer"
            )),
            FetchError::ResponseTooLarge { .. } => Some(
                "raise `--max-response-bytes` if one page of this kind is really that large, e.g. `--max-response-bytes 256MiB`".into(),
            ),
            FetchError::ListTooLarge { .. } => Some(
                "raise `--max-list-bytes` if the cluster really holds that much of this kind, e.g. `--max-list-bytes 4GiB`, or narrow the run with `-n NAMESPACE`".into(),
            ),
            FetchError::TooManyPages { .. } => Some(
                "raise `--max-list-pages` if the cluster really holds that many objects of this kind, or narrow the run with `-n NAMESPACE`".into(),
            ),
            FetchError::ContinueLoop { .. } => Some(
                "the API server, or a proxy in front of it, is misbehaving: a list must not hand out the same `continue` token twice".into(),
            ),
            FetchError::InvalidNamespace { .. } => Some(
                "a namespace is a DNS label, e.g. `-n kube-system`".into(),
            ),
            FetchError::Api { .. } | FetchError::Transport { .. } => None,
        }
    }
}

/// Reads resources, counting the requests it makes.
pub struct K8sFetcher {
    client: kube::Client,
    options: FetchOptions,
    server: Option<String>,
    requests: AtomicUsize,
}

/// Whether `v` can be an object's name or namespace, one path segment: not
/// empty, `.` or `..` (which the API server would read as path steps), and
/// without `/` (percent-encoded or not, it splits the path it decodes).
fn is_segment(v: &str) -> bool {
    !v.is_empty() && v != "." && v != ".." && !v.contains('/')
}

/// `v` percent-encoded as one path segment (an object's name).
fn segment(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, crate::declare::SEGMENT).to_string()
}

/// The URI of one page of a list, built by the kube client's request builder
/// (`limit`, `fieldSelector` and `continue` form-encoded).
fn list_uri(
    path: &str,
    page_size: u32,
    field_selector: Option<&str>,
    token: Option<&str>,
) -> Result<String, kube::core::request::Error> {
    let params = kube::api::ListParams {
        limit: Some(page_size),
        field_selector: field_selector.map(str::to_string),
        continue_token: token.map(str::to_string),
        ..kube::api::ListParams::default()
    };
    let uri = kube::core::Request::new(path)
        .list(&params)?
        .uri()
        .to_string();
    // The builder starts the query with `?&`; the API server ignores the empty
    // pair, but the URI also appears in messages and `kubectl get --raw` advice.
    Ok(uri.replacen("?&", "?", 1))
}

/// One request: what it reads (for messages), and for RBAC errors the verb,
/// resource and namespace.
struct Req<'a> {
    uri: &'a str,
    what: &'a str,
    res: &'a Resource,
    verb: &'a str,
    namespace: Option<&'a str>,
}

/// Which limit bounds a response's body.
#[derive(Clone, Copy)]
enum Cap {
    /// The per-response limit.
    Response(u64),
    /// What is left of the per-list limit (smaller than the per-response one).
    List(u64),
}

impl Cap {
    fn bytes(self) -> u64 {
        match self {
            Cap::Response(n) | Cap::List(n) => n,
        }
    }
}

enum Body {
    Read(Vec<u8>),
    TooLarge,
}

/// Reads `body` up to `limit` bytes; stops reading (and drops the connection's
/// rest) as soon as the limit would be passed.
async fn read_capped(mut body: kube::client::Body, limit: u64) -> Result<Body, kube::Error> {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        let len = u64::try_from(data.len()).unwrap_or(u64::MAX);
        let have = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        if have.saturating_add(len) > limit {
            return Ok(Body::TooLarge);
        }
        buf.extend_from_slice(&data);
    }
    Ok(Body::Read(buf))
}

fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

impl K8sFetcher {
    /// A fetcher over `client`.
    pub fn new(client: kube::Client, options: FetchOptions) -> Self {
        K8sFetcher {
            client,
            options,
            server: None,
            requests: AtomicUsize::new(0),
        }
    }

    /// Names the API server's URL in connection errors.
    pub fn with_server(mut self, url: impl Into<String>) -> Self {
        let url: String = url.into();
        // `https://host:6443/` as the URL type prints it: the `/` says nothing.
        let url = match url.strip_suffix('/') {
            Some(u) if u.contains("://") && !u.ends_with('/') => u.to_string(),
            _ => url,
        };
        self.server = Some(url);
        self
    }

    /// The limits in force.
    pub fn options(&self) -> &FetchOptions {
        &self.options
    }

    /// HTTP requests made so far (retries included).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// Lists a resource, cluster-wide or in one namespace, optionally with a field
    /// selector, following `continue` tokens page by page within the limits of
    /// [`FetchOptions`].
    pub async fn list(
        &self,
        res: &Resource,
        namespace: Option<&str>,
        field_selector: Option<&str>,
    ) -> Result<Vec<Value>, FetchError> {
        if let Some(ns) = namespace.filter(|n| res.namespaced && !is_segment(n)) {
            return Err(FetchError::InvalidNamespace {
                what: format!("LIST `{}` in namespace `{ns}`", res.plural),
                namespace: ns.to_string(),
            });
        }
        let path = res.url_path(namespace);
        let what = match (namespace, field_selector) {
            (Some(ns), Some(fs)) if res.namespaced => {
                format!("LIST `{}` in namespace `{ns}` with `{fs}`", res.plural)
            }
            (Some(ns), None) if res.namespaced => {
                format!("LIST `{}` in namespace `{ns}`", res.plural)
            }
            (_, Some(fs)) => format!("LIST `{}` with `{fs}`", res.plural),
            _ => format!("LIST `{}`", res.plural),
        };
        let o = &self.options;
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        // Each token handed out so far, with the page that gave it.
        let mut tokens: HashMap<String, u32> = HashMap::new();
        let mut total: u64 = 0;
        let mut page: u32 = 0;
        loop {
            page += 1;
            let uri =
                list_uri(&path, o.page_size, field_selector, token.as_deref()).map_err(|e| {
                    FetchError::Transport {
                        what: what.clone(),
                        message: format!("cannot build the request: {e}"),
                    }
                })?;
            let left = o.max_list_bytes.saturating_sub(total);
            let cap = if left < o.max_response_bytes {
                Cap::List(left)
            } else {
                Cap::Response(o.max_response_bytes)
            };
            let req = Req {
                uri: &uri,
                what: &what,
                res,
                verb: "list",
                namespace,
            };
            let body = match self.send(&req, cap).await? {
                Some(Body::Read(b)) => b,
                Some(Body::TooLarge) => {
                    return Err(match cap {
                        Cap::List(_) => FetchError::ListTooLarge {
                            what,
                            limit: o.max_list_bytes,
                            pages: page,
                        },
                        Cap::Response(limit) => FetchError::ResponseTooLarge { what, limit },
                    });
                }
                // A 404 on a list: the API server does not serve the resource.
                None => {
                    return Err(FetchError::Api {
                        what,
                        code: 404,
                        message: "the server could not find the requested resource".into(),
                    });
                }
            };
            total = total.saturating_add(u64::try_from(body.len()).unwrap_or(u64::MAX));
            let malformed = |detail: String| FetchError::Malformed {
                what: what.clone(),
                path: uri.clone(),
                detail,
            };
            let value: Value = serde_json::from_slice(&body)
                .map_err(|e| malformed(format!("it is not JSON ({e})")))?;
            drop(body);
            let next = normalize::continue_token(&value).map_err(|e| malformed(e.0))?;
            items.extend(normalize::list_items(value, res).map_err(|e| malformed(e.0))?);
            let Some(next) = next else {
                break;
            };
            if let Some(&first) = tokens.get(&next) {
                return Err(FetchError::ContinueLoop { what, page, first });
            }
            if page >= o.max_pages {
                return Err(FetchError::TooManyPages {
                    what,
                    pages: o.max_pages,
                    page_size: o.page_size,
                });
            }
            tokens.insert(next.clone(), page);
            token = Some(next);
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
        let what = format!("GET `{}` `{name}`", res.plural);
        if let Some(ns) = namespace.filter(|n| res.namespaced && !is_segment(n)) {
            return Err(FetchError::InvalidNamespace {
                what,
                namespace: ns.to_string(),
            });
        }
        // No object has such a name: it does not exist.
        if !is_segment(name) {
            return Ok(None);
        }
        let uri = kube::core::Request::new(res.url_path(namespace))
            .get(&segment(name), &kube::api::GetParams::default())
            .map(|r| r.uri().to_string())
            .map_err(|e| FetchError::Transport {
                what: what.clone(),
                message: format!("cannot build the request: {e}"),
            })?;
        let req = Req {
            uri: &uri,
            what: &what,
            res,
            verb: "get",
            namespace,
        };
        let limit = self.options.max_response_bytes;
        let body = match self.send(&req, Cap::Response(limit)).await? {
            Some(Body::Read(b)) => b,
            Some(Body::TooLarge) => return Err(FetchError::ResponseTooLarge { what, limit }),
            None => return Ok(None),
        };
        let malformed = |detail: String| FetchError::Malformed {
            what: what.clone(),
            path: uri.clone(),
            detail,
        };
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| malformed(format!("it is not JSON ({e})")))?;
        normalize::object(value, res)
            .map(Some)
            .map_err(|e| malformed(e.0))
    }

    /// Sends one GET, with retries on 429, 503 and 504 and the request timeout
    /// around each attempt (the body read included). `None` for a 404.
    async fn send(&self, req: &Req<'_>, cap: Cap) -> Result<Option<Body>, FetchError> {
        let mut attempt = 0;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let outcome =
                tokio::time::timeout(self.options.request_timeout, self.attempt(req, cap)).await;
            let status = match outcome {
                Err(_) => {
                    return Err(FetchError::Timeout {
                        what: req.what.to_string(),
                        after: self.options.request_timeout,
                    });
                }
                Ok(Ok(Attempt::Body(b))) => return Ok(Some(b)),
                Ok(Err(e)) => return Err(self.transport(req, &e)),
                Ok(Ok(Attempt::Status { code, message })) => (code, message),
            };
            let (code, message) = status;
            if code == 404 && req.verb == "get" {
                return Ok(None);
            }
            if matches!(code, 429 | 503 | 504) && attempt < self.options.max_retries {
                attempt += 1;
                let delay = Duration::from_millis(200u64 << attempt.min(4));
                tokio::time::sleep(delay).await;
                continue;
            }
            if code == 403 {
                let res = req.res;
                let resource = if res.group.is_empty() {
                    res.plural.to_string()
                } else {
                    format!("{}.{}", res.plural, res.group)
                };
                return Err(FetchError::Forbidden {
                    verb: req.verb.to_string(),
                    resource,
                    namespace: req.namespace.filter(|_| res.namespaced).map(str::to_string),
                    message,
                });
            }
            return Err(FetchError::Api {
                what: req.what.to_string(),
                code,
                message,
            });
        }
    }

    /// One attempt: the request, then the body up to the cap; an error status's
    /// `Status` message (its body read up to [`MAX_ERROR_BODY`]).
    async fn attempt(&self, req: &Req<'_>, cap: Cap) -> Result<Attempt, kube::Error> {
        let request = http::Request::get(req.uri)
            .header(http::header::ACCEPT, "application/json")
            .body(kube::client::Body::empty())
            .map_err(kube::Error::HttpError)?;
        let response = self.client.send(request).await?;
        let status = response.status();
        let declared = content_length(response.headers());
        let body = response.into_body();
        if status.is_client_error() || status.is_server_error() {
            let message = match read_capped(body, MAX_ERROR_BODY).await? {
                Body::Read(b) => status_message(&b),
                Body::TooLarge => format!(
                    "(an error answer larger than {}, not read)",
                    size(MAX_ERROR_BODY)
                ),
            };
            return Ok(Attempt::Status {
                code: status.as_u16(),
                message,
            });
        }
        if declared.is_some_and(|n| n > cap.bytes()) {
            return Ok(Attempt::Body(Body::TooLarge));
        }
        Ok(Attempt::Body(read_capped(body, cap.bytes()).await?))
    }

    fn transport(&self, req: &Req<'_>, e: &kube::Error) -> FetchError {
        let c = cause::describe(e);
        if c.connect {
            FetchError::Connect {
                server: self.server.clone(),
                cause: c.words,
            }
        } else {
            FetchError::Transport {
                what: req.what.to_string(),
                message: c.words,
            }
        }
    }
}

enum Attempt {
    Body(Body),
    Status { code: u16, message: String },
}

/// The message of a `Status` body, else the body's text (as kube does for
/// answers from proxies that are not Kubernetes).
fn status_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body)
        && let Some(m) = v.get("message").and_then(Value::as_str)
    {
        return m.to_string();
    }
    String::from_utf8_lossy(body).trim().to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn query_values_are_form_encoded_and_names_stay_in_their_segment() {
        assert_eq!(
            list_uri(
                "/api/v1/events",
                500,
                Some("involvedObject.uid=a b,c"),
                None
            )
            .unwrap(),
            "/api/v1/events?fieldSelector=involvedObject.uid%3Da+b%2Cc&limit=500"
        );
        assert_eq!(
            list_uri("/api/v1/pods", 10, None, Some("eyJ2Ijoi+/=")).unwrap(),
            "/api/v1/pods?limit=10&continue=eyJ2Ijoi%2B%2F%3D"
        );
        assert_eq!(segment("n1/../x?y"), "n1%2F..%2Fx%3Fy");
        for bad in ["", ".", "..", "a/b"] {
            assert!(!is_segment(bad), "{bad:?}");
        }
        assert!(is_segment("kube-system") && is_segment("..a") && is_segment("a%2F"));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size(64 << 20), "64 MiB");
        assert_eq!(size(2 << 30), "2 GiB");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(900), "900 bytes");
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
