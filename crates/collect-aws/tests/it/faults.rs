//! Faults as AWS produces them, from fake endpoints: access denied (with the exact
//! IAM action and the account to run in), throttling retried, timeouts per call,
//! connections refused or in the wrong protocol (the endpoint and cause in words).

use std::time::{Duration, Instant};

use rulerun_collect_aws::{AwsCollector, AwsOptions, FetchError};

use crate::common::key;
use crate::fake::{Fake, Reply, ec2_error, json_error, query_error};

fn opts(call_timeout: Duration, max_attempts: u32) -> AwsOptions {
    AwsOptions {
        accounts: Default::default(),
        cluster_name: None,
        call_timeout,
        max_attempts,
        concurrency: 4,
        shared: None,
        regions: None,
    }
}

const CROSS_ACCOUNT: &str = "User: arn:aws:sts::111122223333:assumed-role/ops/me is not authorized to perform: ecr:GetRepositoryPolicy on resource: arn:aws:ecr:us-west-2:444455556666:repository/app because no resource-based policy allows the ecr:GetRepositoryPolicy action";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_repository_policy_is_access_denied_with_the_account_to_run_in() {
    let fake = Fake::start(|_| json_error(400, "AccessDeniedException", CROSS_ACCOUNT)).await;
    let c = AwsCollector::new(fake.config().await, opts(Duration::from_secs(5), 3));
    let r = c
        .fetch(
            "ecr.repository-policy",
            &[key(&["444455556666", "us-west-2", "app"])],
        )
        .await;
    let e = r[0].outcome.as_ref().unwrap_err();
    assert_eq!(
        e,
        &FetchError::AccessDenied {
            action: "ecr:GetRepositoryPolicy".into(),
            account: Some("444455556666".into()),
            region: Some("us-west-2".into()),
            resource: Some("arn:aws:ecr:us-west-2:444455556666:repository/app".into()),
            message: CROSS_ACCOUNT.into(),
        }
    );
    let help = e.help().unwrap();
    assert!(help.contains("run it in account `444455556666`"), "{help}");
    // Access denied is not retried.
    assert_eq!(fake.requests(), 1);
    assert_eq!(c.calls().get("ecr.GetRepositoryPolicy"), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_and_ec2_denials_name_the_exact_action() {
    let iam = Fake::start(|_| {
        query_error(
            403,
            "AccessDenied",
            "User: arn:aws:iam::111122223333:user/me is not authorized to perform: iam:GetPolicy on resource: policy arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly because no identity-based policy allows the iam:GetPolicy action",
        )
    })
    .await;
    let c = AwsCollector::new(iam.config().await, opts(Duration::from_secs(5), 3));
    let arn = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly";
    let r = c.fetch("iam.policy-version", &[key(&[arn])]).await;
    let e = r[0].outcome.as_ref().unwrap_err();
    assert!(
        matches!(e, FetchError::AccessDenied { action, resource: Some(res), account: None, .. }
            if action == "iam:GetPolicy" && res == arn),
        "{e:?}"
    );
    assert!(e.help().unwrap().contains("allow `iam:GetPolicy`"));

    let ec2 = Fake::start(|_| {
        ec2_error(
            403,
            "UnauthorizedOperation",
            "You are not authorized to perform this operation.",
        )
    })
    .await;
    let c = AwsCollector::new(ec2.config().await, opts(Duration::from_secs(5), 3));
    let r = c
        .fetch("ec2.instance", &[key(&["i-0123456789abcdef0"])])
        .await;
    let e = r[0].outcome.as_ref().unwrap_err();
    assert_eq!(e.action(), Some("ec2:DescribeInstances"), "{e:?}");
    assert!(matches!(e, FetchError::AccessDenied { region: Some(r), .. } if r == "us-west-2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_then_reported() {
    // Throttled twice, then an answer: the SDK's standard retries get through.
    let fake = Fake::start(|n| {
        if n < 2 {
            json_error(400, "ThrottlingException", "Rate exceeded")
        } else {
            Reply::Respond {
                status: 200,
                content_type: "application/x-amz-json-1.1",
                body: r#"{"repositories":[{"repositoryName":"app","registryId":"111122223333","createdAt":1700000000.5}]}"#.into(),
            }
        }
    })
    .await;
    let c = AwsCollector::new(fake.config().await, opts(Duration::from_secs(5), 3));
    let r = c
        .fetch(
            "ecr.repository",
            &[key(&["111122223333", "us-west-2", "app"])],
        )
        .await;
    let docs = r[0].outcome.as_ref().unwrap();
    assert_eq!(docs[0].1["createdAt"], "2023-11-14T22:13:20.500000+00:00");
    assert_eq!(fake.requests(), 3);
    // One call, three attempts.
    assert_eq!(c.calls().get("ecr.DescribeRepositories"), Some(&1));

    // Always throttled: reported after max_attempts.
    let always = Fake::start(|_| json_error(400, "ThrottlingException", "Rate exceeded")).await;
    let c = AwsCollector::new(always.config().await, opts(Duration::from_secs(5), 2));
    let r = c
        .fetch(
            "ecr.repository",
            &[key(&["111122223333", "us-west-2", "app"])],
        )
        .await;
    assert_eq!(
        r[0].outcome,
        Err(FetchError::Throttled {
            operation: "ecr.DescribeRepositories".into()
        })
    );
    assert_eq!(always.requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_never_answers_times_out() {
    let fake = Fake::start(|_| Reply::Hang).await;
    let timeout = Duration::from_millis(300);
    let c = AwsCollector::new(fake.config().await, opts(timeout, 2));
    let start = Instant::now();
    let r = c
        .fetch(
            "ecr.repository",
            &[key(&["111122223333", "us-west-2", "app"])],
        )
        .await;
    assert_eq!(
        r[0].outcome,
        Err(FetchError::Timeout {
            operation: "ecr.DescribeRepositories".into(),
            after: timeout
        })
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(r[0].outcome.as_ref().unwrap_err().help().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_fargate_profile_names_the_eks_action() {
    const DENIED: &str = "User: arn:aws:sts::111122223333:assumed-role/ops/me is not authorized to perform: eks:DescribeFargateProfile on resource: arn:aws:eks:us-west-2:111122223333:fargateprofile/prod/fp-default/*";
    let fake = Fake::start(|_| json_error(403, "AccessDeniedException", DENIED)).await;
    let c = AwsCollector::new(
        fake.config().await,
        AwsOptions {
            cluster_name: Some("prod".into()),
            ..opts(Duration::from_secs(5), 3)
        },
    );
    let r = c
        .fetch("eks.fargate-profile", &[key(&["fp-default"])])
        .await;
    let e = r[0].outcome.as_ref().unwrap_err();
    assert!(
        matches!(e, FetchError::AccessDenied { action, resource: Some(res), region: Some(reg), .. }
            if action == "eks:DescribeFargateProfile"
                && res == "arn:aws:eks:us-west-2:111122223333:fargateprofile/prod/fp-default/*"
                && reg == "us-west-2"),
        "{e:?}"
    );
    assert!(
        e.help()
            .unwrap()
            .contains("allow `eks:DescribeFargateProfile`")
    );
    // Access denied is not retried.
    assert_eq!(fake.requests(), 1);
    assert_eq!(c.calls().get("eks.DescribeFargateProfile"), Some(&1));
}

/// An AWS config pointed at `url` with static credentials, as `AWS_ENDPOINT_URL`
/// would point it.
async fn config_at(url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-west-2"))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_ecr::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .load()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_names_the_endpoint_and_the_cause_in_words() {
    // A loopback port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let c = AwsCollector::new(config_at(&url).await, opts(Duration::from_secs(5), 2));
    let r = c
        .fetch(
            "ecr.repository",
            &[key(&["111122223333", "us-west-2", "app"])],
        )
        .await;
    let e = r[0].outcome.as_ref().unwrap_err();
    assert_eq!(
        e,
        &FetchError::Connect {
            operation: "ecr.DescribeRepositories".into(),
            endpoint: Some(url.clone()),
            region: Some("us-west-2".into()),
            cause: "connection refused".into(),
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "cannot connect to the AWS ECR endpoint `{url}` (region `us-west-2`) for `ecr.DescribeRepositories`: connection refused"
        )
    );
    assert!(e.help().unwrap().contains("AWS_ENDPOINT_URL"));
    // IAM is global: no region in the message, the endpoint still named.
    let r = c
        .fetch("iam.role", &[key(&["arn:aws:iam::111122223333:role/r"])])
        .await;
    let e = r[0].outcome.as_ref().unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("cannot connect to the AWS IAM endpoint `{url}`")),
        "{e}"
    );
    assert!(!e.contains("Connector") && !e.contains("Os {"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_to_a_plain_http_endpoint_is_a_tls_failure_in_words() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A plain HTTP server answers whatever arrives (here a TLS ClientHello)
    // with a 400, as real ones do.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let https = format!("https://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = sock.read(&mut buf).await;
            let _ = sock
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
        }
    });
    let c = AwsCollector::new(config_at(&https).await, opts(Duration::from_secs(5), 1));
    let r = c
        .fetch(
            "ecr.repository",
            &[key(&["111122223333", "us-west-2", "app"])],
        )
        .await;
    server.abort();
    let e = r[0].outcome.as_ref().unwrap_err();
    match e {
        FetchError::Connect {
            endpoint, cause, ..
        } => {
            assert_eq!(endpoint.as_deref(), Some(https.as_str()));
            assert!(
                cause.starts_with("TLS handshake failed: the endpoint does not speak TLS"),
                "{cause}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_efs_read_names_the_elasticfilesystem_action() {
    const DENIED: &str = "User: arn:aws:sts::111122223333:assumed-role/ops/me is not authorized to perform: elasticfilesystem:DescribeMountTargets on the specified resource";
    let fake = Fake::start(|_| Reply::Respond {
        status: 403,
        content_type: "application/json",
        body: serde_json::json!({"ErrorCode": "AccessDeniedException", "Message": DENIED})
            .to_string(),
    })
    .await;
    let c = AwsCollector::new(fake.config().await, opts(Duration::from_secs(5), 3));
    let r = c
        .fetch("efs.mount-targets", &[key(&["fs-0123456789abcdef0"])])
        .await;
    let e = r[0].outcome.as_ref().unwrap_err();
    assert!(
        matches!(e, FetchError::AccessDenied { action, .. } if action == "elasticfilesystem:DescribeMountTargets"),
        "{e:?}"
    );
    assert!(
        e.help()
            .unwrap()
            .contains("allow `elasticfilesystem:DescribeMountTargets`"),
        "{:?}",
        e.help()
    );
    assert_eq!(fake.requests(), 1);
}
