//! ECR operations against moto.

use rulerun_collect_aws::{AwsCollector, AwsOptions, FetchError};
use serde_json::json;

use crate::common::{REGION, calls, collector, config, expect_calls, key, one, options, unique};

/// A minimal image manifest, as `put-image` takes it.
pub const MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}"#;

/// A repository policy denying pulls to a node role, the headline case.
fn deny_policy(account: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyNodes",
            "Effect": "Deny",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:role/eks-node")},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        }]
    })
    .to_string()
}

/// Creates a repository with one image tagged `v1` and returns (registry id, digest).
pub async fn seed_repository(ecr: &aws_sdk_ecr::Client, name: &str) -> (String, String) {
    let repo = ecr
        .create_repository()
        .repository_name(name)
        .send()
        .await
        .unwrap();
    let registry = repo.repository.unwrap().registry_id.unwrap();
    let put = ecr
        .put_image()
        .repository_name(name)
        .image_manifest(MANIFEST)
        .image_tag("v1")
        .send()
        .await
        .unwrap();
    let digest = put.image.unwrap().image_id.unwrap().image_digest.unwrap();
    (registry, digest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repositories_images_and_policies() {
    let ecr = aws_sdk_ecr::Client::new(&config().await);
    let name = format!("{}/app", unique("ecr"));
    let bare = unique("ecr-bare");
    let (registry, digest) = seed_repository(&ecr, &name).await;
    ecr.create_repository()
        .repository_name(&bare)
        .send()
        .await
        .unwrap();
    ecr.set_repository_policy()
        .repository_name(&name)
        .policy_text(deny_policy(&registry))
        .send()
        .await
        .unwrap();
    let missing = unique("ecr-missing");
    let c = collector(options()).await;

    let repos = c
        .fetch(
            "ecr.repository",
            &[
                key(&[&registry, REGION, &name]),
                key(&[&registry, REGION, &missing]),
            ],
        )
        .await;
    let repo = one(&repos[0], "aws/ecr/Repository");
    assert_eq!(repo["repositoryName"], name);
    assert_eq!(repo["registryId"], registry);
    assert_eq!(repo["region"], REGION);
    assert!(
        repo["repositoryUri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/{name}"))
    );
    // ISO 8601 as the CLI prints it.
    assert!(
        repo["createdAt"].as_str().unwrap().ends_with("+00:00"),
        "{repo}"
    );
    let nf = one(&repos[1], "aws/ecr/RepositoryNotFound");
    assert_eq!(nf["repositoryName"], missing);
    assert_eq!(nf["registryId"], registry);
    assert_eq!(nf["region"], REGION);
    assert_eq!(nf["errorCode"], "RepositoryNotFoundException");

    let images = c
        .fetch(
            "ecr.image",
            &[
                key(&[&registry, REGION, &name, "v1"]),
                key(&[&registry, REGION, &name, "v2"]),
                key(&[&registry, REGION, &missing, "v1"]),
            ],
        )
        .await;
    let img = one(&images[0], "aws/ecr/Image");
    assert_eq!(img["imageDigest"], digest);
    assert_eq!(img["imageTags"], json!(["v1"]));
    assert_eq!(img["region"], REGION);
    let inf = one(&images[1], "aws/ecr/ImageNotFound");
    assert_eq!(inf["imageId"], json!({"imageTag": "v2"}));
    assert_eq!(inf["errorCode"], "ImageNotFoundException");
    assert_eq!(inf["existingTags"], json!(["v1"]));
    let rnf = one(&images[2], "aws/ecr/ImageNotFound");
    assert_eq!(rnf["errorCode"], "RepositoryNotFoundException");
    assert_eq!(rnf["existingTags"], json!([]));

    let by_digest = c
        .fetch(
            "ecr.image-digest",
            &[key(&[&registry, REGION, &name, &digest])],
        )
        .await;
    assert_eq!(
        one(&by_digest[0], "aws/ecr/Image")["imageTags"],
        json!(["v1"])
    );

    let policies = c
        .fetch(
            "ecr.repository-policy",
            &[
                key(&[&registry, REGION, &name]),
                key(&[&registry, REGION, &bare]),
                key(&[&registry, REGION, &missing]),
            ],
        )
        .await;
    let p = one(&policies[0], "aws/ecr/RepositoryPolicy");
    assert_eq!(p["repositoryName"], name);
    assert_eq!(p["region"], REGION);
    // `policyText` stays a string, as ECR returns it.
    let text: serde_json::Value = serde_json::from_str(p["policyText"].as_str().unwrap()).unwrap();
    assert_eq!(text["Statement"][0]["Effect"], "Deny");
    let none = one(&policies[1], "aws/ecr/RepositoryPolicy");
    assert_eq!(none["policyText"], serde_json::Value::Null);
    assert_eq!(none["repositoryName"], bare);
    one(&policies[2], "aws/ecr/RepositoryNotFound");

    let expected = expect_calls(&[
        ("ecr.DescribeRepositories", 2),
        // 3 lookups, 1 digest lookup, 1 page of existing tags for the missing tag.
        ("ecr.DescribeImages", 5),
        ("ecr.GetRepositoryPolicy", 3),
    ]);
    assert_eq!(calls(&c), expected);

    // Each key is read at most once per collector.
    c.fetch("ecr.repository", &[key(&[&registry, REGION, &name])])
        .await;
    c.fetch(
        "ecr.repository-policy",
        &[
            key(&[&registry, REGION, &name]),
            key(&[&registry, REGION, &name]),
        ],
    )
    .await;
    assert_eq!(calls(&c), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_policy_is_read_only_in_its_own_account() {
    let ecr = aws_sdk_ecr::Client::new(&config().await);
    let own = ecr
        .describe_registry()
        .send()
        .await
        .unwrap()
        .registry_id
        .unwrap();
    let c = collector(options()).await;
    let r = c
        .fetch(
            "ecr.registry-policy",
            &[key(&[&own, REGION]), key(&["444455556666", REGION])],
        )
        .await;
    // moto's registry has no policy unless a test sets one; none does.
    let doc = one(&r[0], "aws/ecr/RegistryPolicy");
    assert_eq!(
        doc,
        &json!({"registryId": own, "region": REGION, "policyText": null})
    );
    let err = r[1].outcome.as_ref().unwrap_err();
    assert!(
        matches!(err, FetchError::Other { operation, .. } if operation == "ecr.GetRegistryPolicy"),
        "{err:?}"
    );
    assert!(err.to_string().contains("`444455556666`"), "{err}");
    assert!(
        err.help()
            .unwrap()
            .contains("credentials of account `444455556666`")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_keys_and_unknown_operations_are_errors() {
    let c = collector(options()).await;
    let r = c.fetch("ecr.repository", &[key(&["only-one"])]).await;
    let e = r[0].outcome.as_ref().unwrap_err();
    assert!(e.to_string().contains("has 3 values"), "{e}");
    let r = c.fetch("ecr.nope", &[key(&["x"])]).await;
    let e = r[0].outcome.as_ref().unwrap_err();
    assert!(
        e.to_string()
            .contains("there is no fetch operation `ecr.nope`"),
        "{e}"
    );
    assert!(e.help().unwrap().contains("`ecr.repository`"));
    assert!(c.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registrys_repositories_and_a_name_across_regions() {
    let conf = config().await;
    let ecr = aws_sdk_ecr::Client::new(&conf);
    let eu = aws_sdk_ecr::Client::from_conf(
        aws_sdk_ecr::config::Builder::from(&conf)
            .region(aws_config::Region::new("eu-west-1"))
            .build(),
    );
    let prefix = unique("listed");
    let mut names = Vec::new();
    for i in 0..3 {
        let name = format!("{prefix}-{i}");
        ecr.create_repository()
            .repository_name(&name)
            .send()
            .await
            .unwrap();
        names.push(name);
    }
    // The same name in another region: what an image with the wrong region finds.
    let registry = eu
        .create_repository()
        .repository_name(&names[0])
        .send()
        .await
        .unwrap()
        .repository
        .unwrap()
        .registry_id
        .unwrap();

    let c = collector(options()).await;
    let r = c
        .fetch("ecr.repositories", &[key(&[&registry, REGION])])
        .await;
    let docs = crate::common::docs(&r[0]);
    for name in &names {
        let d = docs
            .iter()
            .find(|(_, d)| d["repositoryName"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} not listed"));
        assert_eq!(d.0, "aws/ecr/Repository");
        assert_eq!(d.1["region"], REGION);
        assert_eq!(d.1["registryId"], registry.as_str());
    }
    assert!(docs.iter().all(|(_, d)| d["region"] == REGION));

    // By default the regions the run has seen: the collector's own, so far.
    assert_eq!(in_regions(&c, &registry, &names[0]).await, [REGION]);
    let calls = c.calls();
    assert_eq!(calls.get("ec2.DescribeRegions"), None, "{calls:?}");

    // A region an earlier fetch named (a registry the run read) is looked in.
    let c = collector(options()).await;
    c.fetch("ecr.repositories", &[key(&[&registry, "eu-west-1"])])
        .await;
    assert_eq!(
        in_regions(&c, &registry, &names[0]).await,
        ["eu-west-1", REGION]
    );

    // A configured list (`aws.regions`) is exactly where it looks: one lookup per
    // region, not-found regions adding nothing.
    let c = collector(AwsOptions {
        regions: Some(vec!["ap-south-1".into(), "eu-west-1".into(), REGION.into()]),
        ..options()
    })
    .await;
    assert_eq!(
        in_regions(&c, &registry, &names[0]).await,
        ["eu-west-1", REGION]
    );
    assert_eq!(c.calls()["ecr.DescribeRepositories"], 3, "{:?}", c.calls());
}

/// The regions where `ecr.repository-in-regions` found repository `name`, sorted.
async fn in_regions(c: &AwsCollector, registry: &str, name: &str) -> Vec<String> {
    let r = c
        .fetch("ecr.repository-in-regions", &[key(&[registry, name])])
        .await;
    let mut regions: Vec<String> = crate::common::docs(&r[0])
        .iter()
        .map(|(kind, d)| {
            assert_eq!(kind, "aws/ecr/Repository");
            assert_eq!(d["repositoryName"], name);
            d["region"].as_str().unwrap().to_string()
        })
        .collect();
    regions.sort();
    regions
}
