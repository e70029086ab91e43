//! rulerun's AWS collector: reads ECR, EKS, EC2, EFS and IAM facts on demand, by keyed
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

pub mod accounts;
pub mod collector;
pub mod error;
pub mod fetch;
pub mod normalize;
pub mod ops;

pub use accounts::{AccountRole, Accounts, RoleTemplate, TemplateError};
pub use collector::{AwsCollector, AwsOptions, FetchResult, SharedFacts};
pub use error::FetchError;
pub use ops::{OPS, OpSpec, follow_ups, iam_policy_document};

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// How to reach AWS, as the AWS CLI's global options say it.
#[derive(Clone, Debug, Default)]
pub struct ConfigOptions {
    /// `--profile`: the named profile instead of the default chain's choice.
    pub profile: Option<String>,
    /// `--region`: overrides `AWS_REGION` and the profile's region.
    pub region: Option<String>,
    /// `--endpoint-url`: one endpoint for every service, overriding
    /// `AWS_ENDPOINT_URL` and the service-specific variables.
    pub endpoint_url: Option<String>,
    /// `--ca-bundle` (or `AWS_CA_BUNDLE`): PEM certificates to trust in addition to
    /// the system's roots, e.g. behind a TLS-inspecting proxy.
    pub ca_bundle: Option<CaBundle>,
}

/// PEM certificate authorities, checked when made.
#[derive(Clone, Debug)]
pub struct CaBundle {
    pem: Vec<u8>,
    count: usize,
}

/// Why a CA bundle cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CaBundleError {
    /// The text holds no `CERTIFICATE` block.
    #[error("the CA bundle holds no PEM certificate")]
    Empty,
    /// A block is not valid PEM, or its certificate cannot be a trust anchor.
    #[error("certificate {index} of the CA bundle is not usable: {reason}")]
    Invalid { index: usize, reason: String },
    /// The SDK's TLS layer refused the trust store.
    #[error("the CA bundle cannot be used for TLS: {0}")]
    Tls(String),
}

impl CaBundle {
    /// Checks PEM text: every certificate must parse as a trust anchor (the SDK's
    /// TLS layer would otherwise fail at the first connection).
    pub fn from_pem(pem: Vec<u8>) -> Result<CaBundle, CaBundleError> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut count = 0;
        for (i, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
            let invalid = |reason: String| CaBundleError::Invalid {
                index: i + 1,
                reason,
            };
            let cert = cert.map_err(|e| invalid(format!("{e:?}")))?;
            rustls::RootCertStore::empty()
                .add(cert)
                .map_err(|e| invalid(e.to_string()))?;
            count += 1;
        }
        if count == 0 {
            return Err(CaBundleError::Empty);
        }
        Ok(CaBundle { pem, count })
    }

    /// How many certificates the bundle holds.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the bundle is empty (never, once made).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Loads the AWS configuration as the AWS CLI does: the default credential and
/// region chains, the profile and region of `options` overriding them, the
/// endpoint variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_ECR`, ...) unless an
/// endpoint is given, and extra trusted CAs. TLS is rustls with aws-lc-rs, as the
/// SDK's default client.
pub async fn load_config(options: &ConfigOptions) -> Result<SdkConfig, CaBundleError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(p) = &options.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &options.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(bundle) = &options.ca_bundle {
        use aws_smithy_http_client::proxy::ProxyConfig;
        use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
        let trust = TrustStore::default().with_pem_certificate(bundle.pem.clone());
        let context = TlsContext::builder()
            .with_trust_store(trust)
            .build()
            .map_err(|e| CaBundleError::Tls(e.to_string()))?;
        // As the SDK's default client, with the trust store added: rustls with
        // aws-lc-rs, the connector settings and sleep of the client using it, and
        // `HTTPS_PROXY`/`NO_PROXY` from the environment.
        let client = aws_smithy_http_client::Builder::new().build_with_connector_fn(
            move |settings, components| {
                let mut conn = aws_smithy_http_client::ConnectorBuilder::default()
                    .tls_provider(tls::Provider::Rustls(
                        tls::rustls_provider::CryptoMode::AwsLc,
                    ))
                    .tls_context(context.clone());
                conn.set_connector_settings(settings.cloned());
                if let Some(components) = components {
                    conn.set_sleep_impl(components.sleep_impl());
                }
                conn.set_proxy_config(Some(ProxyConfig::from_env()));
                conn.build()
            },
        );
        loader = loader.http_client(client);
    }
    Ok(loader.load().await)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn ca_bundles_hold_usable_certificates_or_are_refused() {
        let one = ca_pem();
        assert_eq!(
            CaBundle::from_pem(one.clone().into_bytes()).unwrap().len(),
            1
        );
        let two = format!("{one}\n{}", ca_pem());
        assert_eq!(CaBundle::from_pem(two.into_bytes()).unwrap().len(), 2);

        assert_eq!(
            CaBundle::from_pem(b"not a certificate\n".to_vec()).unwrap_err(),
            CaBundleError::Empty
        );
        // A block whose contents are not a certificate: the SDK would panic at the
        // first connection, so it is refused here.
        let broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let e = CaBundle::from_pem(format!("{one}{broken}").into_bytes()).unwrap_err();
        assert!(
            matches!(e, CaBundleError::Invalid { index: 2, .. }),
            "{e:?}"
        );
        let bad_base64 = "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            CaBundle::from_pem(bad_base64.as_bytes().to_vec()).unwrap_err(),
            CaBundleError::Invalid { index: 1, .. }
        ));
    }
}
