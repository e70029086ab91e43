//! IAM operations against moto.

use rulerun_collect_aws::FetchError;
use serde_json::json;

use crate::common::{calls, collector, config, expect_calls, key, one, options, unique};

pub const ECR_READ_ONLY: &str = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly";

pub fn trust_policy() -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string()
}

/// Creates a node role (path `/rulerun-test/`) with the ECR read-only policy and an
/// inline policy, and an instance profile holding it. Returns (role ARN, profile ARN).
pub async fn seed_node_role(iam: &aws_sdk_iam::Client, name: &str) -> (String, String) {
    let role = iam
        .create_role()
        .role_name(name)
        .path("/rulerun-test/")
        .assume_role_policy_document(trust_policy())
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    iam.attach_role_policy()
        .role_name(name)
        .policy_arn(ECR_READ_ONLY)
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name(name)
        .policy_name("pull-extra")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let profile = iam
        .create_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .unwrap()
        .instance_profile
        .unwrap();
    iam.add_role_to_instance_profile()
        .instance_profile_name(name)
        .role_name(name)
        .send()
        .await
        .unwrap();
    (role.arn, profile.arn)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_profiles_and_policies() {
    let iam = aws_sdk_iam::Client::new(&config().await);
    let name = unique("node");
    let (role_arn, profile_arn) = seed_node_role(&iam, &name).await;
    let account = role_arn.split(':').nth(4).unwrap().to_string();
    let c = collector(options()).await;

    let r = c
        .fetch(
            "iam.role",
            &[
                key(&[&role_arn]),
                key(&[&format!("arn:aws:iam::{account}:role/{}", unique("gone"))]),
            ],
        )
        .await;
    let role = one(&r[0], "aws/iam/Role");
    assert_eq!(role["RoleName"], name);
    assert_eq!(role["Path"], "/rulerun-test/");
    assert_eq!(role["Arn"], role_arn);
    assert!(role["RoleId"].is_string());
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "ec2.amazonaws.com"
    );
    assert!(role["CreateDate"].as_str().unwrap().ends_with("+00:00"));
    // A role that does not exist: looked up, nothing there.
    assert_eq!(r[1].outcome, Ok(vec![]));

    let p = c
        .fetch("iam.instance-profile", &[key(&[&profile_arn])])
        .await;
    let profile = one(&p[0], "aws/iam/InstanceProfile");
    assert_eq!(profile["Arn"], profile_arn);
    assert_eq!(profile["Roles"][0]["Arn"], role_arn);

    let a = c
        .fetch("iam.attached-role-policies", &[key(&[&name])])
        .await;
    assert_eq!(
        one(&a[0], "aws/iam/AttachedRolePolicies"),
        &json!({"RoleName": name, "AttachedPolicies": [{
            "PolicyName": "AmazonEC2ContainerRegistryReadOnly", "PolicyArn": ECR_READ_ONLY}]})
    );

    let inline = c.fetch("iam.role-policies", &[key(&[&name])]).await;
    let rp = one(&inline[0], "aws/iam/RolePolicy");
    assert_eq!(rp["RoleName"], name);
    assert_eq!(rp["PolicyName"], "pull-extra");
    assert_eq!(
        rp["PolicyDocument"]["Statement"][0]["Action"],
        "ecr:BatchGetImage"
    );

    let v = c
        .fetch(
            "iam.policy-version",
            &[
                key(&[ECR_READ_ONLY]),
                key(&[&format!("arn:aws:iam::{account}:policy/{}", unique("gone"))]),
            ],
        )
        .await;
    let pv = one(&v[0], "aws/iam/PolicyVersion");
    assert_eq!(pv["PolicyArn"], ECR_READ_ONLY);
    assert_eq!(pv["PolicyName"], "AmazonEC2ContainerRegistryReadOnly");
    assert_eq!(pv["IsDefaultVersion"], true);
    let actions = pv["Document"]["Statement"][0]["Action"].as_array().unwrap();
    assert!(actions.contains(&json!("ecr:BatchGetImage")), "{pv}");
    assert_eq!(v[1].outcome, Ok(vec![]));

    // Cached per policy ARN.
    c.fetch("iam.policy-version", &[key(&[ECR_READ_ONLY])])
        .await;
    assert_eq!(
        calls(&c),
        expect_calls(&[
            ("iam.GetRole", 2),
            ("iam.GetInstanceProfile", 1),
            ("iam.ListAttachedRolePolicies", 1),
            ("iam.ListRolePolicies", 1),
            ("iam.GetRolePolicy", 1),
            ("iam.GetPolicy", 2),
            ("iam.GetPolicyVersion", 1),
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arns_of_another_account_or_kind_are_errors() {
    let iam = aws_sdk_iam::Client::new(&config().await);
    let name = unique("xacct");
    let (role_arn, _) = seed_node_role(&iam, &name).await;
    let account = role_arn.split(':').nth(4).unwrap();
    let other = if account == "444455556666" {
        "111122223333"
    } else {
        "444455556666"
    };
    let c = collector(options()).await;
    let r = c
        .fetch(
            "iam.role",
            &[
                key(&[&format!("arn:aws:iam::{other}:role/rulerun-test/{name}")]),
                key(&[&format!("arn:aws:iam::{account}:user/{name}")]),
            ],
        )
        .await;
    let e = r[0].outcome.as_ref().unwrap_err();
    assert!(
        matches!(e, FetchError::Other { .. }) && e.to_string().contains(other),
        "{e:?}"
    );
    assert!(
        e.help()
            .unwrap()
            .contains(&format!("credentials of account `{other}`"))
    );
    let e = r[1].outcome.as_ref().unwrap_err();
    assert!(e.to_string().contains("is not an IAM role ARN"), "{e}");
}
