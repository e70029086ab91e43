//! The AWS CLI against moto, as the end-to-end tests run it: moto's endpoint,
//! credentials as environment variables, and `AssumeRole` into another account
//! (moto keeps accounts apart by the account of the credentials).
//!
//! One file for two test crates: `tests/it` and `crates/cli/tests/in_cluster.rs`
//! (which runs the `rulerun` binary, so it lives in the CLI's package) include
//! it with `#[path]`.

use std::process::Command;

use serde_json::Value;

/// The region of every scenario.
pub const REGION: &str = "us-west-2";

/// An image manifest (schema 2) for `aws ecr put-image`: moto stores it as
/// given, so every scenario's image has these digests.
pub const IMAGE_MANIFEST: &str = r#"{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023, "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"}, "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654, "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"}]}"#;

/// moto's endpoint, as `scripts/with-moto` exports it.
pub fn moto() -> String {
    match std::env::var("RULERUN_MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "RULERUN_MOTO_ENDPOINT is not set: the end-to-end tests run against moto. \
             Run them through `scripts/test` or `scripts/with-moto cargo test ...`."
        ),
    }
}

/// Credentials as environment variables (empty: moto's default account).
pub type Creds = Vec<(&'static str, String)>;

/// `aws --output json --region REGION ARGS...` against moto with `creds`:
/// `Ok(stdout as JSON)` or `Err(stderr)`.
pub fn try_aws_as(creds: &Creds, args: &[&str]) -> Result<Value, String> {
    let out = Command::new("aws")
        .args(["--output", "json", "--region", REGION])
        .args(args)
        .env("AWS_ENDPOINT_URL", moto())
        .envs(creds.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run the AWS CLI (`aws`): {e}; scripts/test installs it")
        });
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        Ok(Value::Null)
    } else {
        Ok(serde_json::from_str(&text).unwrap())
    }
}

/// [`try_aws_as`], failing the test on an error.
pub fn aws_as(creds: &Creds, args: &[&str]) -> Value {
    try_aws_as(creds, args).unwrap_or_else(|e| panic!("aws {}: {e}", args.join(" ")))
}

/// A create call that may already have run against this moto (a rerun).
pub fn create_as(creds: &Creds, args: &[&str]) {
    if let Err(e) = try_aws_as(creds, args) {
        assert!(
            e.contains("AlreadyExists") || e.contains("ResourceInUse"),
            "aws {}: {e}",
            args.join(" ")
        );
    }
}

/// Temporary credentials in `account`, through `AssumeRole` of its role
/// `role` with the default credentials (as an operator of that account would
/// hold them), checked with `GetCallerIdentity`; and the `Credentials` object
/// STS returned.
pub fn assume_into(account: &str, role: &str) -> (Creds, Value) {
    let out = aws_as(
        &Vec::new(),
        &[
            "sts",
            "assume-role",
            "--role-arn",
            &format!("arn:aws:iam::{account}:role/{role}"),
            "--role-session-name",
            "seed",
        ],
    );
    let c = out["Credentials"].clone();
    let field = |k: &str| c[k].as_str().unwrap().to_string();
    let creds = vec![
        ("AWS_ACCESS_KEY_ID", field("AccessKeyId")),
        ("AWS_SECRET_ACCESS_KEY", field("SecretAccessKey")),
        ("AWS_SESSION_TOKEN", field("SessionToken")),
    ];
    let who = aws_as(&creds, &["sts", "get-caller-identity"]);
    assert_eq!(who["Account"], account, "{who:#}");
    (creds, c)
}
