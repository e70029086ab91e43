//! I/O: the SDK calls behind each fetch operation. Each function takes the client
//! it calls (injected by the collector) and a [`Ctx`] that counts calls, bounds
//! their concurrency and classifies their errors; the documents come from the pure
//! functions of [`crate::normalize`].

pub mod ec2;
pub mod ecr;
pub mod efs;
pub mod eks;
pub mod iam;

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::error::{Call, Failure, FetchError};

/// The documents one key produced: `(kind, document)` pairs.
pub type Docs = Vec<(String, Value)>;

/// The outcome of one key.
pub type Outcome = Result<Docs, FetchError>;

/// What every SDK call shares: the call counter, the concurrency bound and the
/// per-call timeout (for error messages; the SDK enforces it).
#[derive(Debug)]
pub struct Ctx {
    calls: Mutex<BTreeMap<String, usize>>,
    permits: Semaphore,
    /// The per-attempt timeout configured on the SDK.
    pub timeout: Duration,
}

impl Ctx {
    /// A context allowing `concurrency` SDK calls at once.
    pub fn new(concurrency: usize, timeout: Duration) -> Self {
        Ctx {
            calls: Mutex::new(BTreeMap::new()),
            permits: Semaphore::new(concurrency.max(1)),
            timeout,
        }
    }

    /// Runs one SDK call: waits for a permit, counts it, and summarizes its error.
    pub async fn call<T, E, F>(&self, call: &Call<'_>, fut: F) -> Result<T, Failure>
    where
        F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        // The semaphore is never closed, so `acquire` does not fail; were it to,
        // the call would simply run without a permit.
        let _permit = self.permits.acquire().await.ok();
        {
            let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
            *calls.entry(call.operation.to_string()).or_default() += 1;
        }
        let (out, endpoint) = crate::error::record_endpoint(fut).await;
        out.map_err(|e| Failure::from_sdk(&e).at(endpoint))
    }

    /// Counts a call made outside [`Ctx::call`] (`sts.AssumeRole`, made by the
    /// credentials provider).
    pub fn count(&self, operation: &str) {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        *calls.entry(operation.to_string()).or_default() += 1;
    }

    /// Turns a failure of `call` into a fetch error.
    pub fn error(&self, call: &Call<'_>, f: Failure) -> FetchError {
        f.into_fetch_error(call, self.timeout)
    }

    /// The calls made so far per `service.Operation`.
    pub fn calls(&self) -> BTreeMap<String, usize> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// `Some(s)` unless `s` is empty.
pub(crate) fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// A fact-kind/document pair.
pub(crate) fn doc(kind: &str, v: Value) -> (String, Value) {
    (kind.to_string(), v)
}
