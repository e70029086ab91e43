//! The listener, connections, request log and generated kubeconfig.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::{Frame, Incoming};
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::handler::{Call, Ctx, parse_query};
use crate::store::Store;
use crate::{Stub, TOKEN, tls};

/// One logged request and the status it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query, as sent (`/api/v1/namespaces/ns/pods`).
    pub path: String,
    /// The decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// The request's `Content-Type`, if it had one (writes).
    pub content_type: Option<String>,
    /// The status code answered.
    pub status: u16,
    /// When the request arrived (before any latency), and when it was
    /// answered: a benchmark reads which requests ran in sequence.
    pub received: std::time::Instant,
    /// When its answer was ready.
    pub answered: std::time::Instant,
}

impl std::fmt::Display for Request {
    /// `PATCH /apis/g/v/namespaces/a/reports/r?fieldManager=rulerun&force=true
    /// [application/apply-patch+yaml] -> 201`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        for (i, (k, v)) in self.query.iter().enumerate() {
            write!(f, "{}{k}={v}", if i == 0 { '?' } else { '&' })?;
        }
        if let Some(ct) = &self.content_type {
            write!(f, " [{ct}]")?;
        }
        write!(f, " -> {}", self.status)
    }
}

impl Request {
    /// The first value of query parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the path ends with `/{resource}` or is `.../{resource}/{name}`: a
    /// shorthand for counting requests on one resource, e.g. `r.is_for("pods")`.
    pub fn is_for(&self, resource: &str) -> bool {
        let segs: Vec<&str> = self.path.split('/').filter(|s| !s.is_empty()).collect();
        let rest = match segs.as_slice() {
            ["api", _, rest @ ..] | ["apis", _, _, rest @ ..] => rest,
            _ => return false,
        };
        let rest = match rest {
            ["namespaces", _, tail @ ..] if !tail.is_empty() => tail,
            other => other,
        };
        rest.first() == Some(&resource)
    }
}

type Log = Arc<Mutex<Vec<Request>>>;

/// The largest request body read (the real server's limit, 3 MiB).
const MAX_BODY: usize = 3 << 20;

fn lock(log: &Log) -> MutexGuard<'_, Vec<Request>> {
    log.lock().unwrap_or_else(|e| e.into_inner())
}

struct Shared {
    ctx: Ctx,
    latency: Option<Duration>,
    log: Log,
    streamed: Arc<AtomicU64>,
}

/// A running stub; stops on [`StubServer::shutdown`] or when dropped.
#[derive(Debug)]
pub struct StubServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    url: String,
    log: Log,
    streamed: Arc<AtomicU64>,
    ca_pem: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

pub(crate) async fn start(stub: Stub) -> io::Result<StubServer> {
    let store = Store::new(stub.objects)?;
    let acceptor = if stub.tls {
        Some(tls::acceptor()?)
    } else {
        None
    };
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{addr}");
    let log: Log = Arc::default();
    let streamed: Arc<AtomicU64> = Arc::default();
    let shared = Arc::new(Shared {
        ctx: Ctx {
            store: Mutex::new(store),
            forbids: stub.forbids,
            user: stub.user,
            token: TOKEN.to_string(),
            address: addr.to_string(),
            misbehaviours: stub.misbehaviours,
        },
        latency: stub.latency,
        log: log.clone(),
        streamed: streamed.clone(),
    });
    let (stop_tx, stop_rx) = oneshot::channel();
    let (acceptor, ca_pem) = match acceptor {
        Some((a, pem)) => (Some(a), Some(pem)),
        None => (None, None),
    };
    let task = tokio::spawn(accept_loop(listener, shared.clone(), acceptor, stop_rx));
    Ok(StubServer {
        shared,
        addr,
        url,
        log,
        streamed,
        ca_pem,
        stop: Some(stop_tx),
        task: Some(task),
    })
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    acceptor: Option<TlsAcceptor>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(connection(stream, shared.clone(), acceptor.clone()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

async fn connection(stream: TcpStream, shared: Arc<Shared>, acceptor: Option<TlsAcceptor>) {
    let _ = stream.set_nodelay(true);
    match acceptor {
        Some(acceptor) => {
            if let Ok(tls) = acceptor.accept(stream).await {
                serve(tls, shared).await;
            }
        }
        None => serve(stream, shared).await,
    }
}

async fn serve<S>(io: S, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| answer(shared.clone(), req));
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// A response body: whole, or a list made as it is sent.
type AnswerBody = Either<Full<Bytes>, Padding>;

/// A list body about `remaining` bytes long, made chunk by chunk as hyper asks
/// for it: `{"kind":"List",...,"items":[` then small items until the length is
/// reached, then `]}`. Counts the bytes handed out.
pub(crate) struct Padding {
    stage: u8,
    remaining: u64,
    chunk: Bytes,
    sent: Arc<AtomicU64>,
}

const PADDING_HEAD: &[u8] =
    b"{\"kind\":\"List\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[";
const PADDING_ITEM: &[u8] = b"{\"metadata\":{\"name\":\"padding\"}},";
const PADDING_TAIL: &[u8] = b"{\"metadata\":{\"name\":\"padding\"}}]}";

impl Padding {
    fn new(bytes: u64, sent: Arc<AtomicU64>) -> Self {
        let chunk: Vec<u8> = PADDING_ITEM.repeat((64 << 10) / PADDING_ITEM.len());
        Padding {
            stage: 0,
            remaining: bytes,
            chunk: Bytes::from(chunk),
            sent,
        }
    }
}

impl hyper::body::Body for Padding {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let data = match this.stage {
            0 => {
                this.stage = 1;
                Bytes::from_static(PADDING_HEAD)
            }
            1 => {
                let len = this.chunk.len() as u64;
                if this.remaining > len {
                    this.remaining -= len;
                    this.chunk.clone()
                } else {
                    this.stage = 2;
                    Bytes::from_static(PADDING_TAIL)
                }
            }
            _ => return Poll::Ready(None),
        };
        this.sent.fetch_add(data.len() as u64, Ordering::Relaxed);
        Poll::Ready(Some(Ok(Frame::data(data))))
    }
}

async fn answer(
    shared: Arc<Shared>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<AnswerBody>, Infallible> {
    let received = std::time::Instant::now();
    if let Some(d) = shared.latency {
        tokio::time::sleep(d).await;
    }
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let query = parse_query(parts.uri.query());
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let content_type = header(CONTENT_TYPE).map(str::to_string);
    // The real server refuses bodies over 3 MiB.
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map(|b| b.to_bytes());
    let reply = match &body {
        Ok(bytes) => shared.ctx.handle(Call {
            method: &method,
            path: &path,
            query: &query,
            authorization: header(AUTHORIZATION),
            accept: header(ACCEPT),
            content_type: content_type.as_deref(),
            body: bytes,
        }),
        Err(_) => crate::handler::too_large(),
    };
    lock(&shared.log).push(Request {
        method,
        path,
        query,
        content_type,
        status: reply.status,
        received,
        answered: std::time::Instant::now(),
    });
    let body = match reply.stream {
        Some(bytes) => Either::Right(Padding::new(bytes, shared.streamed.clone())),
        None => Either::Left(Full::new(Bytes::from(reply.body))),
    };
    let mut resp = hyper::Response::new(body);
    *resp.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    Ok(resp)
}

/// Quotes `s` as a YAML double-quoted scalar (JSON strings are valid YAML).
fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

impl StubServer {
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The PEM of the CA that signed the server certificate, when serving HTTPS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.log).clone()
    }

    /// How many logged requests satisfy `pred`.
    pub fn count(&self, pred: impl Fn(&Request) -> bool) -> usize {
        lock(&self.log).iter().filter(|r| pred(r)).count()
    }

    /// Bytes of [`crate::Misbehaviour::OversizedList`] bodies handed to the
    /// connection so far: how much of a huge body a client actually read (plus
    /// what the socket buffers hold).
    pub fn streamed_bytes(&self) -> u64 {
        self.streamed.load(Ordering::Relaxed)
    }

    /// Removes an object as if its owner deleted it (the cluster changing between
    /// two runs of a test, e.g. a failing pod replaced); any served kind. Returns
    /// whether it was there.
    pub fn remove_object(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> bool {
        let Some(ri) = crate::resources::by_kind(api_version, kind) else {
            return false;
        };
        let mut store = self
            .shared
            .ctx
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let gone = store
            .remove(ri, &crate::store::key(namespace, name))
            .is_some();
        if gone {
            store.next_resource_version();
        }
        gone
    }

    /// The objects of `api_version` `kind` now stored, in key order: what a test
    /// reads back after the code under test wrote.
    pub fn objects_of(&self, api_version: &str, kind: &str) -> Vec<serde_json::Value> {
        let Some(ri) = crate::resources::by_kind(api_version, kind) else {
            return Vec::new();
        };
        let store = self
            .shared
            .ctx
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        store
            .range(ri, None, None)
            .map(|(_, e)| e.obj.clone())
            .collect()
    }

    /// Empties the request log.
    pub fn clear_log(&self) {
        lock(&self.log).clear();
    }

    /// A kubeconfig with one cluster (this server, with `certificate-authority-data`
    /// when serving HTTPS), one user (bearer [`TOKEN`]) and one context named
    /// `context`, which is current, with `namespace` if given.
    pub fn kubeconfig_yaml(&self, context: &str, namespace: Option<&str>) -> String {
        let mut out = String::from(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: rulerun-kube-stub\n  cluster:\n",
        );
        out.push_str(&format!("    server: {}\n", yaml_str(&self.url)));
        if let Some(pem) = &self.ca_pem {
            out.push_str(&format!(
                "    certificate-authority-data: {}\n",
                STANDARD.encode(pem.as_bytes())
            ));
        }
        out.push_str("users:\n- name: rulerun-kube-stub\n  user:\n");
        out.push_str(&format!("    token: {}\n", yaml_str(TOKEN)));
        out.push_str(&format!(
            "contexts:\n- name: {}\n  context:\n    cluster: rulerun-kube-stub\n    user: rulerun-kube-stub\n",
            yaml_str(context)
        ));
        if let Some(ns) = namespace {
            out.push_str(&format!("    namespace: {}\n", yaml_str(ns)));
        }
        out.push_str(&format!("current-context: {}\n", yaml_str(context)));
        out
    }

    /// Writes [`StubServer::kubeconfig_yaml`] (no default namespace) to
    /// `dir/kubeconfig` and returns that path.
    pub fn write_kubeconfig(&self, dir: &Path, context: &str) -> io::Result<PathBuf> {
        let path = dir.join("kubeconfig");
        std::fs::write(&path, self.kubeconfig_yaml(context, None))?;
        Ok(path)
    }

    /// Stops accepting, closes every connection and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
