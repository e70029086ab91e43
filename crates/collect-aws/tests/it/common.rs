//! Shared test setup: the moto endpoint, configs, collectors, unique names.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use rulerun_collect_aws::{AwsCollector, AwsOptions, ConfigOptions, FetchResult, load_config};
use serde_json::Value;

/// The region the tests use (moto is regional like AWS).
pub const REGION: &str = "us-west-2";

/// The moto endpoint, or a failure telling how to run these tests.
pub fn endpoint() -> String {
    match std::env::var("RULERUN_MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "RULERUN_MOTO_ENDPOINT is not set: these tests run against moto. \
             Run them through `scripts/with-moto cargo test -p rulerun-collect-aws`, \
             which installs and starts moto, sets the endpoint, and stops it afterwards."
        ),
    }
}

/// The AWS config the collector would load, pointed at moto by `AWS_ENDPOINT_URL`
/// (as users point it at any endpoint).
pub async fn config() -> SdkConfig {
    let ep = endpoint();
    assert_eq!(
        std::env::var("AWS_ENDPOINT_URL").ok().as_deref(),
        Some(ep.as_str()),
        "AWS_ENDPOINT_URL must point at moto too: run through `scripts/with-moto`"
    );
    load_config(&ConfigOptions {
        region: Some(REGION.into()),
        ..ConfigOptions::default()
    })
    .await
    .unwrap()
}

/// Options for tests: short timeouts, a little concurrency.
pub fn options() -> AwsOptions {
    AwsOptions {
        accounts: Default::default(),
        cluster_name: None,
        call_timeout: Duration::from_secs(30),
        max_attempts: 3,
        concurrency: 4,
        shared: None,
        regions: None,
    }
}

/// A collector against moto.
pub async fn collector(options: AwsOptions) -> AwsCollector {
    AwsCollector::new(config().await, options)
}

/// A name no other test (or earlier run against the same moto) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{nanos:x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Strings to a key.
pub fn key(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// The documents of one result, panicking with the error if it failed.
pub fn docs(r: &FetchResult) -> &[(String, Value)] {
    match &r.outcome {
        Ok(d) => d,
        Err(e) => panic!("fetch of {:?} failed: {e} (help: {:?})", r.key, e.help()),
    }
}

/// The only document of one result, checking its kind.
pub fn one<'a>(r: &'a FetchResult, kind: &str) -> &'a Value {
    let d = docs(r);
    assert_eq!(
        d.len(),
        1,
        "expected one document for {:?}, got {d:#?}",
        r.key
    );
    assert_eq!(d[0].0, kind, "kind of {:?}", r.key);
    &d[0].1
}

/// `calls()` of a collector as `(operation, count)` pairs, for comparing.
pub fn calls(c: &AwsCollector) -> Vec<(String, usize)> {
    c.calls().into_iter().collect()
}

/// `(operation, count)` pairs from literals.
pub fn expect_calls(pairs: &[(&str, usize)]) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    v.sort();
    v
}
