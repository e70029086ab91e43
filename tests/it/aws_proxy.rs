//! An AWS endpoint in front of moto for the end-to-end tests: forwards every
//! request to moto unchanged, optionally over HTTPS (a throwaway CA, trusted
//! through `--ca-bundle`), logs each operation, and answers the operations a test
//! denies with the error AWS itself returns, so faults moto cannot produce (an
//! `AccessDenied` on one read) reach the real SDK from a real HTTP exchange.
//!
//! HTTP/1.1 only, one request per connection (`Connection: close` both ways), as
//! the SDK copes with.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A denial of an IAM or STS query operation (`GetPolicyVersion`, `AssumeRole`)
/// to `caller`.
#[derive(Clone)]
struct Deny {
    service: &'static str,
    action: String,
    caller: String,
}

impl Deny {
    /// IAM's own `AccessDenied` (HTTP 403, XML) for a request with form `body`,
    /// naming the policy it asked for.
    fn response(&self, body: &[u8]) -> Vec<u8> {
        let Deny {
            service,
            action,
            caller,
        } = self;
        let form = String::from_utf8_lossy(body);
        let field = |name: &str| {
            form.split('&')
                .find_map(|kv| kv.strip_prefix(name))
                .map(percent_decode)
                .unwrap_or_else(|| "*".into())
        };
        let (message, namespace) = if *service == "sts" {
            (
                format!(
                    "User: {caller} is not authorized to perform: sts:{action} on resource: {}",
                    field("RoleArn=")
                ),
                "https://sts.amazonaws.com/doc/2011-06-15/",
            )
        } else {
            (
                format!(
                    "User: {caller} is not authorized to perform: iam:{action} on resource: policy {} because no identity-based policy allows the iam:{action} action",
                    field("PolicyArn=")
                ),
                "https://iam.amazonaws.com/doc/2010-05-08/",
            )
        };
        let body = format!(
            "<ErrorResponse xmlns=\"{namespace}\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>AccessDenied</Code>\n    <Message>{message}</Message>\n  </Error>\n  <RequestId>3f1ab2c4-0000-4000-8000-000000000000</RequestId>\n</ErrorResponse>\n"
        );
        format!(
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nx-amzn-RequestId: 3f1ab2c4-0000-4000-8000-000000000000\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}

/// `%XX` escapes of a form value decoded.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A running proxy; stops when dropped.
pub struct AwsProxy {
    pub url: String,
    /// The PEM of the CA that signed the proxy's certificate, when it serves HTTPS.
    pub ca_pem: Option<String>,
    /// Each request's operation and body (lossy UTF-8).
    log: Arc<Mutex<Vec<(String, String)>>>,
    /// When each request arrived (before the latency) and was answered.
    timeline: Arc<Mutex<Vec<(std::time::Instant, std::time::Instant)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Builds an [`AwsProxy`].
pub struct Builder {
    upstream: String,
    tls: bool,
    denies: Vec<Deny>,
    answers: Vec<(String, String)>,
    latency: std::time::Duration,
}

impl AwsProxy {
    /// A proxy in front of `upstream` (`http://127.0.0.1:PORT`).
    pub fn to(upstream: &str) -> Builder {
        Builder {
            upstream: upstream.to_string(),
            tls: false,
            denies: Vec::new(),
            answers: Vec::new(),
            latency: std::time::Duration::ZERO,
        }
    }

    /// The operations that arrived, in order (`iam:GetRole`, `ecr:GetRepositoryPolicy`).
    pub fn operations(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(op, _)| op.clone())
            .collect()
    }

    /// The bodies of the requests of `operation`, oldest first.
    pub fn bodies(&self, operation: &str) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(op, _)| op == operation)
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// When each request arrived (before the latency) and was answered, in
    /// the order they were answered.
    pub fn intervals(&self) -> Vec<(std::time::Instant, std::time::Instant)> {
        self.timeline.lock().unwrap().clone()
    }
}

impl Builder {
    /// Serve HTTPS.
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Answers the IAM query operation `action` (`GetPolicyVersion`) with IAM's
    /// `AccessDenied` for `caller`, naming the policy asked for.
    pub fn deny_iam(mut self, action: &str, caller: &str) -> Self {
        self.denies.push(Deny {
            service: "iam",
            action: action.to_string(),
            caller: caller.to_string(),
        });
        self
    }

    /// Answers the STS operation `action` (`AssumeRole`) with STS's
    /// `AccessDenied` for `caller`, naming the role asked for.
    pub fn deny_sts(mut self, action: &str, caller: &str) -> Self {
        self.denies.push(Deny {
            service: "sts",
            action: action.to_string(),
            caller: caller.to_string(),
        });
        self
    }

    /// Answers the operation `operation` (as [`AwsProxy::operations`] logs it, e.g.
    /// `eks:GET /clusters/prod/pod-identity-associations`) itself with HTTP 200 and
    /// the JSON `body`: a stand-in for the REST operations moto does not have.
    pub fn answer(mut self, operation: &str, body: serde_json::Value) -> Self {
        self.answers.push((operation.to_string(), body.to_string()));
        self
    }

    /// Waits `d` before answering each request: a network round trip to AWS,
    /// for the round-trip benchmark.
    pub fn latency(mut self, d: std::time::Duration) -> Self {
        self.latency = d;
        self
    }

    /// Starts listening on a free loopback port.
    pub async fn start(self) -> AwsProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (acceptor, ca_pem) = if self.tls {
            let (a, pem) = rulerun_kube_stub::tls_acceptor().unwrap();
            (Some(a), Some(pem))
        } else {
            (None, None)
        };
        let scheme = if self.tls { "https" } else { "http" };
        let log = Arc::new(Mutex::new(Vec::new()));
        let timeline = Arc::new(Mutex::new(Vec::new()));
        let times = timeline.clone();
        let latency = self.latency;
        let shared = Arc::new((self.upstream, self.denies, self.answers, log.clone()));
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let shared = shared.clone();
                let acceptor = acceptor.clone();
                let times = times.clone();
                tokio::spawn(async move {
                    let received = std::time::Instant::now();
                    let (upstream, denies, answers, log) = &*shared;
                    if !latency.is_zero() {
                        tokio::time::sleep(latency).await;
                    }
                    match acceptor {
                        Some(a) => {
                            if let Ok(tls) = a.accept(sock).await {
                                serve(tls, upstream, denies, answers, log).await;
                            }
                        }
                        None => serve(sock, upstream, denies, answers, log).await,
                    }
                    times
                        .lock()
                        .unwrap()
                        .push((received, std::time::Instant::now()));
                });
            }
        });
        AwsProxy {
            url: format!("{scheme}://{addr}"),
            ca_pem,
            log,
            timeline,
            task,
        }
    }
}

/// Reads one request, answers it (denied or forwarded), closes.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut client: S,
    upstream: &str,
    denies: &[Deny],
    answers: &[(String, String)],
    log: &Mutex<Vec<(String, String)>>,
) {
    let Some((head, body)) = read_message(&mut client).await else {
        return;
    };
    let operation = operation(&head, &body);
    log.lock().unwrap().push((
        operation.clone(),
        String::from_utf8_lossy(&body).into_owned(),
    ));
    let answer = answers.iter().find(|(op, _)| *op == operation);
    let response = match denies
        .iter()
        .find(|d| operation == format!("{}:{}", d.service, d.action))
    {
        Some(d) => d.response(&body),
        None if answer.is_some() => {
            let body = answer.map_or("", |(_, b)| b.as_str());
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
        None => match forward(upstream, &head, &body).await {
            Some(r) => r,
            None => b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec(),
        },
    };
    let _ = client.write_all(&response).await;
    let _ = client.shutdown().await;
}

/// Sends the request to moto with `Connection: close` and returns its response,
/// rewritten to close the client's connection too.
async fn forward(upstream: &str, head: &str, body: &[u8]) -> Option<Vec<u8>> {
    let addr = upstream.strip_prefix("http://")?.trim_end_matches('/');
    let mut sock = TcpStream::connect(addr).await.ok()?;
    let mut req = close_connection(head).into_bytes();
    req.extend_from_slice(body);
    sock.write_all(&req).await.ok()?;
    let mut resp = Vec::new();
    sock.read_to_end(&mut resp).await.ok()?;
    let end = find(&resp, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&resp[..end + 4]).ok()?;
    let mut out = close_connection(head).into_bytes();
    out.extend_from_slice(&resp[end + 4..]);
    Some(out)
}

/// A message head with its `Connection` header replaced by `Connection: close`.
fn close_connection(head: &str) -> String {
    let mut lines: Vec<&str> = head
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    format!("{}\r\n\r\n", lines.join("\r\n"))
}

/// Reads a message head and its `Content-Length` body.
async fn read_message<S: AsyncRead + Unpin>(s: &mut S) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..end + 4].to_vec()).ok()?;
    let length = head
        .split("\r\n")
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    let mut body = buf[end + 4..].to_vec();
    while body.len() < length {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The operation a request calls: `X-Amz-Target` (JSON protocols: ECR), the
/// `Action` form field (query protocols: IAM, EC2), else the method and path
/// (REST protocols: EKS). The service comes from the SigV4 credential scope.
fn operation(head: &str, body: &[u8]) -> String {
    let header = |name: &str| {
        head.split("\r\n").find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let service = header("authorization")
        .and_then(|a| {
            let scope = a.split("Credential=").nth(1)?;
            scope.split('/').nth(3).map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".into());
    if let Some(target) = header("x-amz-target") {
        let op = target.rsplit('.').next().unwrap_or(&target);
        return format!("{service}:{op}");
    }
    let form = String::from_utf8_lossy(body);
    if let Some(action) = form.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return format!("{service}:{action}");
    }
    let line = head.split("\r\n").next().unwrap_or("");
    let mut parts = line.split(' ');
    let method = parts.next().unwrap_or("");
    let path = parts.next().unwrap_or("").split('?').next().unwrap_or("");
    format!("{service}:{method} {path}")
}
