//! Facts of another account, read through an assumed role: moto keeps accounts
//! apart by the credentials' account, AssumeRole credentials included.

use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::SharedCredentialsProvider;
use rulerun_collect_aws::{AccountRole, Accounts, AwsOptions, FetchError, RoleTemplate};

use crate::common::{REGION, collector, config, key, options, unique};
use crate::ecr::seed_repository;

/// moto's default account, the "cluster's".
const HOME: &str = "123456789012";
const OTHER: &str = "210987654321";

fn with_accounts(accounts: Accounts) -> AwsOptions {
    AwsOptions {
        accounts,
        ..options()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_account_is_read_through_its_role_once_or_not_at_all() {
    // Seed account OTHER through an assumed role, as its own operators would.
    let base = config().await;
    let assumed = AssumeRoleProvider::builder(format!("arn:aws:iam::{OTHER}:role/seed"))
        .session_name("seed")
        .configure(&base)
        .build()
        .await;
    let other = base
        .clone()
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(assumed))
        .build();
    let name = format!("{}/app", unique("xacc"));
    let (registry, _) = seed_repository(&aws_sdk_ecr::Client::new(&other), &name).await;
    assert_eq!(registry, OTHER);
    let repo_key = key(&[OTHER, REGION, &name]);

    // Mapped: every fact of the account through one AssumeRole.
    let mut roles = std::collections::BTreeMap::new();
    roles.insert(
        OTHER.to_string(),
        AccountRole {
            role_arn: format!("arn:aws:iam::{OTHER}:role/rulerun-read"),
            external_id: Some("ext-1".into()),
            region: None,
            configured_by: "a test".into(),
        },
    );
    let c = collector(with_accounts(Accounts {
        home: Some(HOME.into()),
        roles,
        template: None,
    }))
    .await;
    let r = c
        .fetch("ecr.repository", std::slice::from_ref(&repo_key))
        .await;
    let docs = r[0].outcome.as_ref().unwrap();
    assert!(
        docs.iter()
            .any(|(k, d)| k == "aws/ecr/Repository" && d["registryId"] == OTHER),
        "{docs:?}"
    );
    let r = c
        .fetch("ecr.repository-policy", std::slice::from_ref(&repo_key))
        .await;
    assert!(r[0].outcome.is_ok(), "{r:?}");
    let r = c
        .fetch("ecr.image", &[key(&[OTHER, REGION, &name, "v1"])])
        .await;
    assert!(
        r[0].outcome
            .as_ref()
            .unwrap()
            .iter()
            .any(|(k, _)| k == "aws/ecr/Image")
    );
    assert_eq!(c.calls().get("sts.AssumeRole"), Some(&1), "{:?}", c.calls());

    // Through the template, the home account not given: the default credentials'
    // account is asked of STS once.
    let c = collector(with_accounts(Accounts {
        home: None,
        roles: Default::default(),
        template: Some(RoleTemplate::parse("arn:aws:iam::{account}:role/rulerun-read").unwrap()),
    }))
    .await;
    let r = c
        .fetch("ecr.repository", std::slice::from_ref(&repo_key))
        .await;
    assert!(
        r[0].outcome
            .as_ref()
            .unwrap()
            .iter()
            .any(|(k, _)| k == "aws/ecr/Repository")
    );
    let calls = c.calls();
    assert_eq!(calls.get("sts.GetCallerIdentity"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("sts.AssumeRole"), Some(&1), "{calls:?}");

    // Not mapped: not called at all (the default credentials would see nothing).
    let c = collector(with_accounts(Accounts {
        home: Some(HOME.into()),
        ..Accounts::default()
    }))
    .await;
    let r = c.fetch("ecr.repository", &[repo_key]).await;
    let e = r[0].outcome.as_ref().unwrap_err();
    assert!(
        matches!(e, FetchError::NoCredentials { account, what } if account == OTHER && what.contains(&name)),
        "{e:?}"
    );
    assert!(
        e.help()
            .unwrap()
            .contains(&format!("aws.accounts.\"{OTHER}\".roleArn"))
    );
    assert!(c.calls().is_empty(), "{:?}", c.calls());
}
