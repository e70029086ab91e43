//! EKS operations moto does not have (Pod Identity associations, add-ons), against a
//! loopback stand-in that answers their REST paths as EKS does: the real SDK
//! sends the requests and parses the answers.

use std::time::Duration;

use rulerun_collect_aws::{AwsCollector, AwsOptions, FetchError};
use serde_json::json;

use crate::common::{calls, docs, expect_calls, key, one};
use crate::fake::{Fake, Reply};

fn ok(body: serde_json::Value) -> Reply {
    Reply::Respond {
        status: 200,
        content_type: "application/json",
        body: body.to_string(),
    }
}

fn not_found(message: &str) -> Reply {
    Reply::Respond {
        status: 404,
        content_type: "application/json",
        body: json!({"__type": "ResourceNotFoundException", "message": message}).to_string(),
    }
}

/// The stand-in: cluster `prod` has two associations for `kube-system/aws-node`
/// (listed on two pages), none for other service accounts, and the add-on
/// `coredns`; every other cluster does not exist.
fn eks(line: &str) -> Reply {
    let path = line.split(' ').nth(1).unwrap_or("");
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let params: Vec<&str> = query.split('&').collect();
    let association = |id: &str, role: &str| {
        json!({
            "clusterName": "prod", "namespace": "kube-system", "serviceAccount": "aws-node",
            "roleArn": role, "associationArn": format!("arn:aws:eks:us-west-2:111122223333:podidentityassociation/prod/{id}"),
            "associationId": id, "createdAt": 1.7e9, "modifiedAt": 1.7e9, "disableSessionTags": false
        })
    };
    match path {
        "/clusters/prod/pod-identity-associations" => {
            if params.contains(&"namespace=kube-system")
                && params.contains(&"serviceAccount=aws-node")
            {
                if params.contains(&"nextToken=page2") {
                    ok(
                        json!({"associations": [{"associationId": "a-2", "namespace": "kube-system", "serviceAccount": "aws-node", "clusterName": "prod"}]}),
                    )
                } else {
                    ok(
                        json!({"associations": [{"associationId": "a-1", "namespace": "kube-system", "serviceAccount": "aws-node", "clusterName": "prod"}], "nextToken": "page2"}),
                    )
                }
            } else {
                ok(json!({"associations": []}))
            }
        }
        "/clusters/prod/pod-identity-associations/a-1" => {
            ok(json!({"association": association("a-1", "arn:aws:iam::111122223333:role/cni")}))
        }
        // deleted between the list and the describe
        "/clusters/prod/pod-identity-associations/a-2" => {
            not_found("No Pod Identity Association found with id a-2")
        }
        "/clusters/prod/addons/coredns" => ok(json!({"addon": {
            "addonName": "coredns", "clusterName": "prod", "status": "DEGRADED", "addonVersion": "v1.11.3-eksbuild.1",
            "health": {"issues": [{"code": "InsufficientNumberOfReplicas", "message": "The add-on is unhealthy because it doesn't have the desired number of replicas."}]},
            "configurationValues": "{\"nodeSelector\":{\"pool\":\"system\"}}", "owner": "aws", "publisher": "eks"
        }})),
        "/clusters/prod/addons/vpc-cni" => not_found("No addon: vpc-cni found in cluster: prod"),
        _ => not_found("No cluster found for name: other."),
    }
}

fn options(cluster: &str) -> AwsOptions {
    AwsOptions {
        accounts: Default::default(),
        cluster_name: Some(cluster.into()),
        call_timeout: Duration::from_secs(5),
        max_attempts: 2,
        concurrency: 4,
        shared: None,
        regions: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_identity_associations_by_service_account_with_their_roles() {
    let fake = Fake::start_routed(|_, line| eks(line)).await;
    let c = AwsCollector::new(fake.config().await, options("prod"));
    let r = c
        .fetch(
            "eks.pod-identity-associations",
            &[key(&["kube-system", "aws-node"]), key(&["default", "web"])],
        )
        .await;
    // Two pages listed; the association deleted before its describe is skipped.
    let a = one(&r[0], "aws/eks/PodIdentityAssociation");
    assert_eq!(a["roleArn"], "arn:aws:iam::111122223333:role/cni");
    assert_eq!(a["namespace"], "kube-system");
    assert_eq!(a["serviceAccount"], "aws-node");
    assert_eq!(a["associationId"], "a-1");
    assert_eq!(docs(&r[0]).len(), 1);
    assert!(docs(&r[1]).is_empty(), "{:?}", r[1].outcome);
    assert_eq!(
        calls(&c),
        expect_calls(&[
            ("eks.DescribePodIdentityAssociation", 2),
            ("eks.ListPodIdentityAssociations", 3),
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addons_by_name_and_nothing_for_one_not_installed() {
    let fake = Fake::start_routed(|_, line| eks(line)).await;
    let c = AwsCollector::new(fake.config().await, options("prod"));
    let r = c
        .fetch("eks.addon", &[key(&["coredns"]), key(&["vpc-cni"])])
        .await;
    let a = one(&r[0], "aws/eks/Addon");
    assert_eq!(a["status"], "DEGRADED");
    assert_eq!(
        a["configurationValues"],
        "{\"nodeSelector\":{\"pool\":\"system\"}}"
    );
    assert_eq!(
        a["health"]["issues"][0]["code"],
        "InsufficientNumberOfReplicas"
    );
    assert!(docs(&r[1]).is_empty(), "{:?}", r[1].outcome);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_eks_does_not_know_is_an_error_naming_the_setting() {
    let fake = Fake::start_routed(|_, line| eks(line)).await;
    let c = AwsCollector::new(fake.config().await, options("other"));
    for (op, k) in [
        ("eks.addon", key(&["coredns"])),
        (
            "eks.pod-identity-associations",
            key(&["kube-system", "aws-node"]),
        ),
    ] {
        let r = c.fetch(op, &[k]).await;
        let e = r[0].outcome.as_ref().unwrap_err();
        assert!(
            matches!(e, FetchError::Other { message, .. } if message.contains("there is no EKS cluster `other`")),
            "{op}: {e:?}"
        );
        assert!(e.help().unwrap().contains("--cluster-name"), "{e:?}");
    }
    // Without a cluster name nothing is called.
    let c = AwsCollector::new(
        fake.config().await,
        AwsOptions {
            cluster_name: None,
            ..options("x")
        },
    );
    let r = c.fetch("eks.addon", &[key(&["coredns"])]).await;
    assert!(r[0].outcome.is_err());
    assert!(c.calls().is_empty(), "{:?}", c.calls());
}
