//! rulerun's AWS collector: reads ECR, EKS, EC2 and IAM facts on demand, by keyed
//! fetch operations the planner calls with the join keys rules ask for, so the cost
//! scales with what is referenced, never with the account.
//!
//! * [`ops::OPS`] declares each operation: the fact kinds it produces, the key
//!   paths they join by, and the IAM actions it needs ([`iam_policy_document`]).
//! * [`AwsCollector::fetch`] runs one operation for a batch of keys, concurrently,
//!   each key at most once, and returns one [`FetchResult`] per key.
//! * [`fetch`] does the I/O (SDK calls, clients injected); [`normalize`] turns SDK
//!   output into documents in the AWS CLI's JSON shape (`docs/facts.md`), purely.
//! * [`FetchError`] says why a key could not be read (access denied with the exact
//!   IAM action and account, timeout, throttling, anything else), with advice.
//!
//! Credentials, region and endpoints are found as the AWS CLI finds them
//! ([`load_config`]): the default chain (environment, profiles, SSO, credential
//! processes, web identity (IRSA), ECS and EKS Pod Identity, IMDS), `--profile`,
//! `--region`, and `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`.

pub mod collector;
pub mod error;
pub mod fetch;
pub mod normalize;
pub mod ops;

pub use collector::{AwsCollector, AwsOptions, FetchResult};
pub use error::FetchError;
pub use ops::{OPS, OpSpec, iam_policy_document};

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Loads the AWS configuration as the AWS CLI does: the default credential and
/// region chains, `profile` (`--profile`) and `region` (`--region`) overriding them,
/// and the endpoint variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_ECR`, ...).
pub async fn load_config(profile: Option<&str>, region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = region {
        loader = loader.region(Region::new(r.to_string()));
    }
    loader.load().await
}
