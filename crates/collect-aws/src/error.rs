//! Why a fetch failed, and the classification of SDK errors into those reasons.
//!
//! [`Failure`] is a plain summary of an SDK error (its code, message and kind);
//! [`Failure::into_fetch_error`] turns it into a [`FetchError`] for one call. Both
//! are pure, so the classification is tested on SDK error values built in tests.
//!
//! Messages are words, never the SDK's `Debug` text: an error's chain of
//! sources is written out by their `Display`, and a connection that could not be
//! made says so with the cause at the bottom of the chain (refused, timed out, a
//! host name that does not resolve, a TLS failure) and the endpoint it was for,
//! which [`EndpointRecorder`] notes as each request is sent.

use std::error::Error as StdError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// Why a fetch operation could not read what it was asked for. The planner makes
/// the rules that depend on it `inconclusive`, naming the reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The identity rulerun runs as may not call `action`.
    #[error("access denied: not allowed to call `{action}`{}{}", on_resource(resource.as_deref()), in_account(account.as_deref(), region.as_deref()))]
    AccessDenied {
        /// The IAM action, e.g. `iam:GetPolicyVersion`.
        action: String,
        /// The account that owns the resource, when known.
        account: Option<String>,
        /// The region of the call, when regional.
        region: Option<String>,
        /// The resource (ARN or name), when known.
        resource: Option<String>,
        /// AWS's message.
        message: String,
    },
    /// Every attempt of a call ran into the per-call timeout.
    #[error("`{operation}` timed out after {}", secs(*after))]
    Timeout {
        /// `service.Operation`, e.g. `ecr.DescribeRepositories`.
        operation: String,
        /// The per-call timeout.
        after: Duration,
    },
    /// No connection could be made to the endpoint (refused, unreachable, a name
    /// that does not resolve, a TLS failure, a connect timeout).
    #[error("cannot connect to the AWS {} endpoint{}{} for `{operation}`: {cause}", service(operation), endpoint.as_deref().map(|e| format!(" `{e}`")).unwrap_or_default(), region.as_deref().map(|r| format!(" (region `{r}`)")).unwrap_or_default())]
    Connect {
        /// `service.Operation`.
        operation: String,
        /// The endpoint's scheme and authority (`https://api.ecr.us-west-2.amazonaws.com`),
        /// when the request got as far as being sent.
        endpoint: Option<String>,
        /// The region of the call, when regional.
        region: Option<String>,
        /// The cause, in words.
        cause: String,
    },
    /// AWS throttled a call and the retries did not get through.
    #[error("`{operation}` was throttled by AWS and retries did not get through")]
    Throttled {
        /// `service.Operation`.
        operation: String,
    },
    /// A fact of `account`, which no credentials read: the account is neither the
    /// cluster's nor mapped to a role (`aws.accounts`, `--assume-role`).
    #[error("no credentials for account `{account}`, whose {what} this needs")]
    NoCredentials {
        /// The account the fact belongs to.
        account: String,
        /// What was to be read, e.g. `` ECR repository `team/app` ``.
        what: String,
    },
    /// The role of `account` could not be assumed (STS `AssumeRole` refused or
    /// failed), so nothing of that account is read.
    #[error("cannot assume role `{role}` to read account `{account}`: {message}")]
    AssumeRole {
        /// The account.
        account: String,
        /// The role's ARN.
        role: String,
        /// Where the role was configured, for the help.
        configured_by: String,
        /// STS's error code (`AccessDenied`), when it answered.
        code: Option<String>,
        /// STS's message, or the cause in words.
        message: String,
    },
    /// Anything else: a bad key, a missing setting, a network or service error.
    #[error("`{operation}` failed: {message}")]
    Other {
        /// `service.Operation`, or the fetch operation's name.
        operation: String,
        /// What went wrong.
        message: String,
        /// Advice, when there is some.
        help: Option<String>,
    },
}

/// The service of `service.Operation`, as AWS writes it: `ECR`, `IAM`.
fn service(operation: &str) -> String {
    operation
        .split('.')
        .next()
        .unwrap_or(operation)
        .to_ascii_uppercase()
}

fn on_resource(resource: Option<&str>) -> String {
    resource.map(|r| format!(" on `{r}`")).unwrap_or_default()
}

fn in_account(account: Option<&str>, region: Option<&str>) -> String {
    match (account, region) {
        (Some(a), Some(r)) => format!(" (account `{a}`, region `{r}`)"),
        (Some(a), None) => format!(" (account `{a}`)"),
        (None, Some(r)) => format!(" (region `{r}`)"),
        (None, None) => String::new(),
    }
}

fn secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

impl rulerun_transport::FetchFailure for FetchError {
    fn advice(&self) -> Option<String> {
        self.help()
    }
}

impl FetchError {
    /// Advice for the user: the exact IAM action to grant and, for a resource of
    /// another account, the account to run in.
    pub fn help(&self) -> Option<String> {
        match self {
            FetchError::AccessDenied {
                action,
                account,
                message,
                ..
            } => {
                let mut help = format!(
                    "allow `{action}` to the identity rulerun runs as (docs/permissions.md has the whole read-only policy)"
                );
                if let Some(account) = account {
                    let caller = caller_account(message);
                    if caller.as_deref() != Some(account.as_str()) && account != "aws" {
                        help.push_str(&format!(
                            "; the resource belongs to account `{account}`: if that is not the account rulerun runs in, run it in account `{account}` (e.g. `--profile` of a role there), or have that account's resource policy allow `{action}` to you"
                        ));
                    }
                }
                Some(help)
            }
            FetchError::Timeout { .. } => Some(
                "AWS did not answer in time: check the network path to the AWS endpoints (proxy, VPC endpoints) or raise the call timeout"
                    .into(),
            ),
            FetchError::Connect { .. } => Some(
                "check the network path to the AWS endpoint: proxy and `HTTPS_PROXY`, DNS, VPC endpoints; `--endpoint-url` or `AWS_ENDPOINT_URL` if set; `--ca-bundle` when a proxy inspects TLS".into(),
            ),
            FetchError::Throttled { .. } => Some(
                "the account's API request rate is exhausted: run again later, or raise the number of attempts"
                    .into(),
            ),
            FetchError::NoCredentials { account, .. } => {
                Some(crate::accounts::unlock_help(account))
            }
            FetchError::AssumeRole {
                role,
                configured_by: source,
                code,
                ..
            } => Some(match code.as_deref() {
                Some("AccessDenied") => format!(
                    "the role is set by {source}: allow `sts:AssumeRole` on `{role}` to the identity rulerun runs as, and have the role's trust policy trust that identity (with the external id, when one is set)"
                ),
                _ => format!(
                    "the role is set by {source}: check that it exists, that STS can be reached, and that the identity rulerun runs as may assume it"
                ),
            }),
            FetchError::Other { help, .. } => help.clone(),
        }
    }

    /// The IAM action of an `AccessDenied`.
    pub fn action(&self) -> Option<&str> {
        match self {
            FetchError::AccessDenied { action, .. } => Some(action),
            _ => None,
        }
    }
}

/// The caller's account in an AWS access-denied message
/// (`User: arn:aws:sts::111122223333:assumed-role/... is not authorized ...`).
fn caller_account(message: &str) -> Option<String> {
    let rest = message.split("User: ").nth(1)?;
    let arn = rest.split_whitespace().next()?;
    let arn = rulerun_iam::arn::parse_relaxed(arn).ok()?;
    (!arn.account().is_empty()).then(|| arn.account().to_owned())
}

/// What kind of failure an SDK error was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The service answered with an error (it has a code).
    Service,
    /// An attempt ran into the timeout.
    Timeout,
    /// No connection could be made (refused, unreachable, DNS, TLS).
    Connect,
    /// Connecting took longer than the connect timeout.
    ConnectTimeout,
    /// The request could not be sent or no answer came (network, credentials).
    Dispatch,
    /// The request could not be built, or the answer could not be read.
    Other,
}

/// A plain summary of an SDK error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The kind of failure.
    pub kind: FailureKind,
    /// The service's error code (`AccessDeniedException`, `RepositoryNotFoundException`, ...).
    pub code: Option<String>,
    /// The service's message, or the error's description.
    pub message: String,
    /// The HTTP status, when the service answered.
    pub status: Option<u16>,
    /// The endpoint the request went to (scheme and authority), when it was sent.
    pub endpoint: Option<String>,
}

impl Failure {
    /// Summarizes an SDK error. Messages are the error chain in words (never the
    /// SDK's `Debug` text); a dispatch failure's message is its cause alone.
    pub fn from_sdk<E>(e: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let base = Failure {
            kind: FailureKind::Other,
            code: None,
            message: String::new(),
            status: None,
            endpoint: None,
        };
        match e {
            SdkError::ServiceError(se) => {
                let err = se.err();
                Failure {
                    kind: FailureKind::Service,
                    code: err.code().map(str::to_string),
                    message: err
                        .message()
                        .map(str::to_string)
                        .unwrap_or_else(|| chain_text(err)),
                    status: Some(se.raw().status().as_u16()),
                    ..base
                }
            }
            SdkError::TimeoutError(_) => Failure {
                kind: FailureKind::Timeout,
                message: chain_text(e),
                ..base
            },
            SdkError::DispatchFailure(d) => {
                let cause = describe(e);
                Failure {
                    kind: if d.is_timeout() {
                        FailureKind::ConnectTimeout
                    } else if cause.connect {
                        FailureKind::Connect
                    } else {
                        FailureKind::Dispatch
                    },
                    message: cause.words,
                    ..base
                }
            }
            _ => Failure {
                message: chain_text(e),
                status: e.raw_response().map(|r| r.status().as_u16()),
                ..base
            },
        }
    }

    /// The same failure, noting the endpoint the request went to.
    pub fn at(mut self, endpoint: Option<String>) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// Whether the service answered with `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// The fetch error for this failure of `call`.
    pub fn into_fetch_error(self, call: &Call<'_>, timeout: Duration) -> FetchError {
        let operation = call.operation.to_string();
        match self.kind {
            FailureKind::Timeout => FetchError::Timeout {
                operation,
                after: timeout,
            },
            FailureKind::Service => {
                let code = self.code.as_deref().unwrap_or("");
                if is_access_denied(code) || (code.is_empty() && self.status == Some(403)) {
                    let (action, resource) = parse_denied(&self.message);
                    FetchError::AccessDenied {
                        action: action.unwrap_or_else(|| call.action()),
                        account: call.account.map(str::to_string),
                        region: call.region.map(str::to_string),
                        resource: resource.or_else(|| call.resource.clone()),
                        message: self.message,
                    }
                } else if is_throttling(code) || self.status == Some(429) {
                    FetchError::Throttled { operation }
                } else if is_credentials(code) {
                    FetchError::Other {
                        operation,
                        message: format!("AWS rejected the credentials ({code}): {}", self.message),
                        help: Some(credentials_help()),
                    }
                } else {
                    let message = if code.is_empty() {
                        self.message
                    } else {
                        format!("{code}: {}", self.message)
                    };
                    FetchError::Other {
                        operation,
                        message,
                        help: None,
                    }
                }
            }
            FailureKind::Connect | FailureKind::ConnectTimeout
                if !self.message.to_ascii_lowercase().contains("credential") =>
            {
                FetchError::Connect {
                    operation,
                    endpoint: self.endpoint,
                    region: call.region.map(str::to_string),
                    cause: if self.kind == FailureKind::ConnectTimeout {
                        "connecting timed out".into()
                    } else {
                        self.message
                    },
                }
            }
            FailureKind::Connect
            | FailureKind::ConnectTimeout
            | FailureKind::Dispatch
            | FailureKind::Other => {
                let lower = self.message.to_ascii_lowercase();
                let help = if lower.contains("credential") {
                    Some(credentials_help())
                } else if self.kind != FailureKind::Other {
                    Some("check the network path to the AWS endpoint (proxy, DNS, VPC endpoints), or `AWS_ENDPOINT_URL` if it is set".into())
                } else {
                    None
                };
                FetchError::Other {
                    operation,
                    message: self.message,
                    help,
                }
            }
        }
    }
}

pub use rulerun_transport::{Cause, chain_text, strip_os_code};

/// The cause at the bottom of a transport error's chain, in words, as an AWS
/// endpoint's (the same reading as the Kubernetes collector's).
pub fn describe(err: &(dyn StdError + 'static)) -> Cause {
    rulerun_transport::describe(err, rulerun_transport::Peer::AWS_ENDPOINT)
}

tokio::task_local! {
    /// Where [`EndpointRecorder`] notes the endpoint of the request being sent,
    /// for the call running in this task ([`record_endpoint`]).
    static ENDPOINT: Arc<Mutex<Option<String>>>;
}

/// Runs `fut` (one SDK call) noting the endpoint its requests go to; returns its
/// output and the endpoint of the last request sent, if any.
pub async fn record_endpoint<F: Future>(fut: F) -> (F::Output, Option<String>) {
    let slot = Arc::new(Mutex::new(None));
    let out = ENDPOINT.scope(slot.clone(), fut).await;
    let endpoint = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    (out, endpoint)
}

/// An SDK interceptor that notes each request's endpoint (scheme and
/// authority) as it is sent, for the call's error message: the SDK's dispatch
/// errors do not name it. Registered on every client of the collector.
#[derive(Debug, Clone, Copy, Default)]
pub struct EndpointRecorder;

impl aws_smithy_runtime_api::client::interceptors::Intercept for EndpointRecorder {
    fn name(&self) -> &'static str {
        "rulerun::EndpointRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let endpoint = origin(context.request().uri());
        let _ = ENDPOINT.try_with(|slot| {
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(endpoint);
        });
        Ok(())
    }
}

/// `https://host:port` of a URL (its path and query dropped).
fn origin(uri: &str) -> String {
    match uri.find("://") {
        Some(i) => {
            let rest = &uri[i + 3..];
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            format!("{}{}", &uri[..i + 3], &rest[..end])
        }
        None => uri.to_string(),
    }
}

fn credentials_help() -> String {
    "rulerun finds credentials as the AWS CLI does (environment, `--profile`, SSO, instance or pod roles): check that `aws sts get-caller-identity` works with the same settings".into()
}

fn is_access_denied(code: &str) -> bool {
    matches!(
        code,
        "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "UnauthorizedException"
            | "AuthorizationError"
            | "Forbidden"
    )
}

fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestThrottledException"
            | "RequestThrottled"
            | "TooManyRequestsException"
            | "ProvisionedThroughputExceededException"
            | "TransactionInProgressException"
            | "RequestLimitExceeded"
            | "BandwidthLimitExceeded"
            | "SlowDown"
            | "PriorRequestNotComplete"
            | "EC2ThrottledException"
    )
}

fn is_credentials(code: &str) -> bool {
    matches!(
        code,
        "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "SignatureDoesNotMatch"
            | "AuthFailure"
            | "InvalidSignatureException"
            | "IncompleteSignature"
            | "MissingAuthenticationToken"
    )
}

/// The action and resource named in an AWS access-denied message
/// (`... is not authorized to perform: ecr:GetRepositoryPolicy on resource: arn:... because ...`;
/// IAM writes the resource type first: `on resource: policy arn:aws:iam::aws:policy/P`).
fn parse_denied(message: &str) -> (Option<String>, Option<String>) {
    let action = message.split("to perform: ").nth(1).and_then(|rest| {
        rest.split_whitespace()
            .next()
            .map(|w| w.trim_end_matches(['.', ',']).to_string())
            .filter(|w| w.contains(':'))
    });
    let resource = message.split("on resource: ").nth(1).and_then(|rest| {
        let rest = rest.split(" because").next().unwrap_or(rest).trim();
        let word = match rest.find("arn:") {
            Some(i) => rest[i..].split_whitespace().next(),
            None => rest.split_whitespace().last(),
        };
        word.map(|w| w.trim_end_matches(['.', ',']).to_string())
            .filter(|w| !w.is_empty())
    });
    (action, resource)
}

/// One SDK call, for counting and for the errors it may produce.
#[derive(Clone, Debug)]
pub struct Call<'a> {
    /// `service.Operation`, e.g. `ecr.DescribeRepositories`.
    pub operation: &'static str,
    /// The account that owns the resource, when known.
    pub account: Option<&'a str>,
    /// The region of the call.
    pub region: Option<&'a str>,
    /// The resource (ARN or name), when known.
    pub resource: Option<String>,
}

impl<'a> Call<'a> {
    /// A call of `operation` (`service.Operation`).
    pub fn new(operation: &'static str) -> Self {
        Call {
            operation,
            account: None,
            region: None,
            resource: None,
        }
    }

    /// The account owning the resource.
    pub fn account(mut self, account: Option<&'a str>) -> Self {
        self.account = account;
        self
    }

    /// The region of the call.
    pub fn region(mut self, region: Option<&'a str>) -> Self {
        self.region = region;
        self
    }

    /// The resource.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// The IAM action of the call: `ecr.DescribeRepositories` ->
    /// `ecr:DescribeRepositories`; EFS's actions have the prefix `elasticfilesystem`
    /// (`efs.DescribeMountTargets` -> `elasticfilesystem:DescribeMountTargets`).
    pub fn action(&self) -> String {
        match self.operation.split_once('.') {
            Some(("efs", operation)) => format!("elasticfilesystem:{operation}"),
            _ => self.operation.replacen('.', ":", 1),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use aws_sdk_ecr::error::ErrorMetadata;
    use aws_sdk_ecr::operation::get_repository_policy::GetRepositoryPolicyError;
    use aws_sdk_iam::operation::get_policy_version::GetPolicyVersionError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use std::io;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty())
    }

    fn ecr_error(code: &str, message: &str, status: u16) -> Failure {
        let e = SdkError::service_error(
            GetRepositoryPolicyError::generic(
                ErrorMetadata::builder().code(code).message(message).build(),
            ),
            response(status),
        );
        Failure::from_sdk(&e)
    }

    const CROSS_ACCOUNT: &str = "User: arn:aws:sts::111122223333:assumed-role/ops/me is not authorized to perform: ecr:GetRepositoryPolicy on resource: arn:aws:ecr:us-west-2:444455556666:repository/app because no resource-based policy allows the ecr:GetRepositoryPolicy action";

    #[test]
    fn access_denied_names_the_action_and_the_account_to_run_in() {
        let call = Call::new("ecr.GetRepositoryPolicy")
            .account(Some("444455556666"))
            .region(Some("us-west-2"))
            .resource("app");
        let f = ecr_error("AccessDeniedException", CROSS_ACCOUNT, 400);
        assert_eq!(f.kind, FailureKind::Service);
        let e = f.into_fetch_error(&call, Duration::from_secs(5));
        assert_eq!(
            e,
            FetchError::AccessDenied {
                action: "ecr:GetRepositoryPolicy".into(),
                account: Some("444455556666".into()),
                region: Some("us-west-2".into()),
                resource: Some("arn:aws:ecr:us-west-2:444455556666:repository/app".into()),
                message: CROSS_ACCOUNT.into(),
            }
        );
        assert_eq!(
            e.to_string(),
            "access denied: not allowed to call `ecr:GetRepositoryPolicy` on `arn:aws:ecr:us-west-2:444455556666:repository/app` (account `444455556666`, region `us-west-2`)"
        );
        let help = e.help().unwrap();
        assert!(help.contains("allow `ecr:GetRepositoryPolicy`"), "{help}");
        assert!(help.contains("run it in account `444455556666`"), "{help}");
        assert_eq!(e.action(), Some("ecr:GetRepositoryPolicy"));

        // Same account: no "run in" advice.
        let same = ecr_error(
            "AccessDeniedException",
            "User: arn:aws:sts::444455556666:assumed-role/ops/me is not authorized to perform: ecr:GetRepositoryPolicy on resource: x",
            400,
        )
        .into_fetch_error(&call, Duration::from_secs(5));
        assert!(!same.help().unwrap().contains("run it in account"));
    }

    #[test]
    fn iam_and_ec2_denials_fall_back_to_the_calls_action() {
        let e = SdkError::service_error(
            GetPolicyVersionError::generic(
                ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("denied")
                    .build(),
            ),
            response(403),
        );
        let call = Call::new("iam.GetPolicyVersion").resource("arn:aws:iam::aws:policy/P");
        let err = Failure::from_sdk(&e).into_fetch_error(&call, Duration::from_secs(1));
        assert_eq!(err.action(), Some("iam:GetPolicyVersion"));
        assert!(
            matches!(&err, FetchError::AccessDenied { resource: Some(r), account: None, .. } if r == "arn:aws:iam::aws:policy/P")
        );
        assert!(!err.help().unwrap().contains("run it in account"));
        assert_eq!(
            parse_denied(
                "User: arn:aws:iam::111122223333:user/me is not authorized to perform: iam:GetPolicy on resource: policy arn:aws:iam::aws:policy/P because no identity-based policy allows the iam:GetPolicy action"
            ),
            (
                Some("iam:GetPolicy".into()),
                Some("arn:aws:iam::aws:policy/P".into())
            )
        );
        assert_eq!(
            parse_denied(
                "User: x is not authorized to perform: eks:DescribeNodegroup on resource: prod/ng."
            ),
            (Some("eks:DescribeNodegroup".into()), Some("prod/ng".into()))
        );
        assert_eq!(parse_denied("Access denied"), (None, None));

        let ec2 = ecr_error(
            "UnauthorizedOperation",
            "You are not authorized to perform this operation.",
            403,
        )
        .into_fetch_error(&Call::new("ec2.DescribeInstances"), Duration::from_secs(1));
        assert_eq!(ec2.action(), Some("ec2:DescribeInstances"));
    }

    #[test]
    fn throttling_timeouts_and_the_rest() {
        let call = Call::new("ecr.DescribeImages");
        let t = Duration::from_millis(1500);
        assert_eq!(
            ecr_error("ThrottlingException", "Rate exceeded", 400).into_fetch_error(&call, t),
            FetchError::Throttled {
                operation: "ecr.DescribeImages".into()
            }
        );
        let timeout: SdkError<GetRepositoryPolicyError, HttpResponse> =
            SdkError::timeout_error("attempt timeout");
        let e = Failure::from_sdk(&timeout).into_fetch_error(&call, t);
        assert_eq!(
            e,
            FetchError::Timeout {
                operation: "ecr.DescribeImages".into(),
                after: t
            }
        );
        assert_eq!(e.to_string(), "`ecr.DescribeImages` timed out after 1500ms");
        let io: SdkError<GetRepositoryPolicyError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io("connection refused".into()));
        let e = Failure::from_sdk(&io).into_fetch_error(&call, t);
        assert!(
            matches!(&e, FetchError::Other { message, help: Some(_), .. } if message.contains("connection refused")),
            "{e:?}"
        );
        let conn_timeout: SdkError<GetRepositoryPolicyError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::timeout("connect".into()));
        assert_eq!(
            Failure::from_sdk(&conn_timeout)
                .at(Some("https://ecr.us-west-2.amazonaws.com".into()))
                .into_fetch_error(&call, t)
                .to_string(),
            "cannot connect to the AWS ECR endpoint `https://ecr.us-west-2.amazonaws.com` for `ecr.DescribeImages`: connecting timed out"
        );
        let creds =
            ecr_error("UnrecognizedClientException", "bad token", 400).into_fetch_error(&call, t);
        assert!(creds.help().unwrap().contains("get-caller-identity"));
        let other = ecr_error("ServerException", "boom", 500).into_fetch_error(&call, t);
        assert_eq!(
            other.to_string(),
            "`ecr.DescribeImages` failed: ServerException: boom"
        );
        assert!(other.help().is_none());
    }

    /// An error with a text and a source, as hyper-util's client error is.
    #[derive(Debug)]
    struct Wrap(&'static str, Box<dyn StdError + Send + Sync + 'static>);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl StdError for Wrap {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(self.1.as_ref())
        }
    }

    fn dispatch(source: Wrap) -> SdkError<GetRepositoryPolicyError, HttpResponse> {
        SdkError::dispatch_failure(ConnectorError::io(Box::new(source)))
    }

    #[test]
    fn connection_errors_name_the_endpoint_and_the_cause_in_words() {
        let call = Call::new("ecr.DescribeImages").region(Some("us-west-2"));
        let t = Duration::from_secs(5);
        let refused = dispatch(Wrap(
            "client error (Connect)",
            Box::new(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "Connection refused (os error 111)",
            )),
        ));
        let e = Failure::from_sdk(&refused)
            .at(Some("http://127.0.0.1:1".into()))
            .into_fetch_error(&call, t);
        assert_eq!(
            e.to_string(),
            "cannot connect to the AWS ECR endpoint `http://127.0.0.1:1` (region `us-west-2`) for `ecr.DescribeImages`: connection refused"
        );
        assert!(e.help().unwrap().contains("AWS_ENDPOINT_URL"));
        // TLS errors come wrapped twice in io::Error by hyper-rustls.
        let tls = dispatch(Wrap(
            "client error (Connect)",
            Box::new(io::Error::other(io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
            ))),
        ));
        let e = Failure::from_sdk(&tls).into_fetch_error(&call, t);
        assert!(
            matches!(&e, FetchError::Connect { endpoint: None, cause, .. }
                if cause.contains("not signed by a trusted CA")),
            "{e:?}"
        );
        let dns = dispatch(Wrap(
            "client error (Connect)",
            Box::new(Wrap(
                "dns error",
                Box::new(io::Error::other(
                    "failed to lookup address information: Name or service not known",
                )),
            )),
        ));
        assert!(
            Failure::from_sdk(&dns)
                .into_fetch_error(&call, t)
                .to_string()
                .ends_with(": cannot resolve the host name (failed to lookup address information: Name or service not known)")
        );
        // Never the SDK's Debug text.
        for e in [&refused, &tls, &dns] {
            let text = Failure::from_sdk(e).into_fetch_error(&call, t).to_string();
            assert!(
                !text.contains("DispatchFailure {") && !text.contains("ConnectorError {"),
                "{text}"
            );
        }
        assert_eq!(
            origin("https://api.ecr.us-west-2.amazonaws.com/?x=1"),
            "https://api.ecr.us-west-2.amazonaws.com"
        );
        assert_eq!(origin("http://127.0.0.1:4566"), "http://127.0.0.1:4566");
        assert_eq!(strip_os_code("a (os error 1): b (os error 2)"), "a: b");
    }
}
