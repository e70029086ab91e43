//! A tiny fake AWS endpoint on loopback: answers each HTTP/1.1 request with what a
//! test says (or never answers), and counts requests. For faults moto does not
//! produce: timeouts, throttling, access denied.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What to do with one request.
pub enum Reply {
    /// Answer with this status, content type and body.
    Respond {
        status: u16,
        content_type: &'static str,
        body: String,
    },
    /// Never answer.
    Hang,
}

/// Given the request's index (from 0) and its request line (`GET /path?query HTTP/1.1`).
type Responder = Arc<dyn Fn(usize, &str) -> Reply + Send + Sync>;

/// A running fake endpoint; stops when dropped.
pub struct Fake {
    pub url: String,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Fake {
    /// Starts a fake answering request `n` (from 0) with `respond(n)`.
    pub async fn start(respond: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Fake {
        Self::start_routed(move |n, _| respond(n)).await
    }

    /// Starts a fake answering each request by its index and request line: a
    /// stand-in for REST operations moto does not have.
    pub async fn start_routed(
        respond: impl Fn(usize, &str) -> Reply + Send + Sync + 'static,
    ) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let respond: Responder = Arc::new(respond);
        let counter = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, respond.clone(), counter.clone()));
            }
        });
        Fake {
            url,
            requests,
            task,
        }
    }

    /// How many requests arrived.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// An AWS config pointed at this endpoint with static credentials.
    pub async fn config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-west-2"))
            .endpoint_url(&self.url)
            .credentials_provider(aws_sdk_ecr::config::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            ))
            .load()
            .await
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut sock: TcpStream, respond: Responder, counter: Arc<AtomicUsize>) {
    let mut buf = Vec::new();
    loop {
        // Read one request: the head, then Content-Length bytes of body.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let raw_head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let request_line = raw_head.lines().next().unwrap_or("").to_string();
        let head = raw_head.to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 4096];
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + len);
        let n = counter.fetch_add(1, Ordering::SeqCst);
        match respond(n, &request_line) {
            Reply::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Reply::Respond {
                status,
                content_type,
                body,
            } => {
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nx-amzn-requestid: fake\r\n\r\n{body}",
                    body.len()
                );
                if sock.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// An awsJson error (ECR, EKS-style JSON services).
pub fn json_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::Respond {
        status,
        content_type: "application/x-amz-json-1.1",
        body: serde_json::json!({"__type": code, "message": message}).to_string(),
    }
}

/// An awsQuery error (IAM).
pub fn query_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::Respond {
        status,
        content_type: "text/xml",
        body: format!(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fake</RequestId></ErrorResponse>"
        ),
    }
}

/// An EC2 error.
pub fn ec2_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::Respond {
        status,
        content_type: "text/xml",
        body: format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>fake</RequestID></Response>"
        ),
    }
}
