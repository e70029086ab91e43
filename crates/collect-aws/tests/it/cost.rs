//! Cost scales with what is referenced, never with the account.

use futures_util::{StreamExt, stream};

use crate::common::{REGION, calls, collector, config, expect_calls, key, one, options, unique};
use crate::iam::trust_policy;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_scale_with_references_not_with_the_account() {
    let conf = config().await;
    let ecr = aws_sdk_ecr::Client::new(&conf);
    let iam = aws_sdk_iam::Client::new(&conf);
    let prefix = unique("cost");

    // 200 repositories and 50 roles.
    let repos: Vec<String> = (0..200).map(|i| format!("{prefix}/repo-{i}")).collect();
    let roles: Vec<String> = (0..50).map(|i| format!("{prefix}-role-{i}")).collect();
    let registries: Vec<String> = stream::iter(&repos)
        .map(|name| {
            let ecr = ecr.clone();
            async move {
                ecr.create_repository()
                    .repository_name(name)
                    .send()
                    .await
                    .unwrap()
                    .repository
                    .unwrap()
                    .registry_id
                    .unwrap()
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let role_arns: Vec<String> = stream::iter(&roles)
        .map(|name| {
            let iam = iam.clone();
            async move {
                iam.create_role()
                    .role_name(name)
                    .assume_role_policy_document(trust_policy())
                    .send()
                    .await
                    .unwrap()
                    .role
                    .unwrap()
                    .arn
            }
        })
        .buffered(16)
        .collect()
        .await;
    let registry = &registries[0];

    // Reference 2 of each.
    let c = collector(options()).await;
    let repo_keys = [
        key(&[registry, REGION, &repos[17]]),
        key(&[registry, REGION, &repos[171]]),
    ];
    let r = c.fetch("ecr.repository", &repo_keys).await;
    for (res, name) in r.iter().zip([&repos[17], &repos[171]]) {
        assert_eq!(
            &one(res, "aws/ecr/Repository")["repositoryName"],
            name.as_str()
        );
    }
    let p = c.fetch("ecr.repository-policy", &repo_keys).await;
    assert!(p.iter().all(|x| x.outcome.is_ok()));
    let role_keys = [key(&[&role_arns[3]]), key(&[&role_arns[42]])];
    let r = c.fetch("iam.role", &role_keys).await;
    for (res, name) in r.iter().zip([&roles[3], &roles[42]]) {
        assert_eq!(&one(res, "aws/iam/Role")["RoleName"], name.as_str());
    }
    let a = c
        .fetch(
            "iam.attached-role-policies",
            &[key(&[&roles[3]]), key(&[&roles[42]])],
        )
        .await;
    assert!(a.iter().all(|x| x.outcome.is_ok()));

    let made = calls(&c);
    eprintln!("calls for 2 of 200 repositories and 2 of 50 roles: {made:?}");
    assert_eq!(
        made,
        expect_calls(&[
            ("ecr.DescribeRepositories", 2),
            ("ecr.GetRepositoryPolicy", 2),
            ("iam.GetRole", 2),
            ("iam.ListAttachedRolePolicies", 2),
        ])
    );
}
