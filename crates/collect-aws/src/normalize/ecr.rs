//! Amazon ECR documents, camelCase as `aws ecr ... --output json` prints them, with
//! the `region` rulerun adds.

use aws_sdk_ecr::types::{ImageDetail, Repository};
use serde_json::{Value, json};

use super::Obj;

/// The most tags an `aws/ecr/ImageNotFound` document lists in `existingTags`.
pub const MAX_EXISTING_TAGS: usize = 20;

/// An `aws/ecr/Repository` document: one item of `describe-repositories`
/// `.repositories[]`, plus `region`.
pub fn repository(r: &Repository, region: &str) -> Value {
    Obj::new()
        .s("repositoryArn", r.repository_arn.as_ref())
        .s("registryId", r.registry_id.as_ref())
        .s("repositoryName", r.repository_name.as_ref())
        .s("repositoryUri", r.repository_uri.as_ref())
        .t("createdAt", r.created_at.as_ref())
        .s(
            "imageTagMutability",
            r.image_tag_mutability.as_ref().map(|m| m.as_str()),
        )
        .list(
            "imageTagMutabilityExclusionFilters",
            r.image_tag_mutability_exclusion_filters.as_ref(),
            |f| json!({"filterType": f.filter_type.as_str(), "filter": f.filter}),
        )
        .obj(
            "imageScanningConfiguration",
            r.image_scanning_configuration.as_ref(),
            |c| json!({"scanOnPush": c.scan_on_push}),
        )
        .obj(
            "encryptionConfiguration",
            r.encryption_configuration.as_ref(),
            |c| {
                Obj::new()
                    .s("encryptionType", Some(c.encryption_type.as_str()))
                    .s("kmsKey", c.kms_key.as_ref())
                    .done()
            },
        )
        .s("region", Some(region))
        .done()
}

/// An `aws/ecr/RepositoryNotFound` document: what was looked up, and the error.
pub fn repository_not_found(
    registry_id: &str,
    region: &str,
    repository_name: &str,
    error_code: &str,
    message: &str,
) -> Value {
    json!({
        "registryId": registry_id,
        "region": region,
        "repositoryName": repository_name,
        "errorCode": error_code,
        "message": message,
    })
}

/// An `aws/ecr/Image` document: one item of `describe-images` `.imageDetails[]`,
/// plus `region`.
pub fn image(d: &ImageDetail, region: &str) -> Value {
    Obj::new()
        .s("registryId", d.registry_id.as_ref())
        .s("repositoryName", d.repository_name.as_ref())
        .s("imageDigest", d.image_digest.as_ref())
        .strs("imageTags", d.image_tags.as_ref())
        .i("imageSizeInBytes", d.image_size_in_bytes)
        .t("imagePushedAt", d.image_pushed_at.as_ref())
        .obj("imageScanStatus", d.image_scan_status.as_ref(), |s| {
            Obj::new()
                .s("status", s.status.as_ref().map(|x| x.as_str()))
                .s("description", s.description.as_ref())
                .done()
        })
        .obj(
            "imageScanFindingsSummary",
            d.image_scan_findings_summary.as_ref(),
            |s| {
                Obj::new()
                    .t("imageScanCompletedAt", s.image_scan_completed_at.as_ref())
                    .t(
                        "vulnerabilitySourceUpdatedAt",
                        s.vulnerability_source_updated_at.as_ref(),
                    )
                    .v(
                        "findingSeverityCounts",
                        s.finding_severity_counts.as_ref().map(|m| {
                            Value::Object(
                                m.iter()
                                    .map(|(k, n)| (k.as_str().to_string(), Value::from(*n)))
                                    .collect(),
                            )
                        }),
                    )
                    .done()
            },
        )
        .s(
            "imageManifestMediaType",
            d.image_manifest_media_type.as_ref(),
        )
        .s("artifactMediaType", d.artifact_media_type.as_ref())
        .t("lastRecordedPullTime", d.last_recorded_pull_time.as_ref())
        .s("subjectManifestDigest", d.subject_manifest_digest.as_ref())
        .s("imageStatus", d.image_status.as_ref().map(|s| s.as_str()))
        .t("lastArchivedAt", d.last_archived_at.as_ref())
        .t("lastActivatedAt", d.last_activated_at.as_ref())
        .s("region", Some(region))
        .done()
}

/// What an image lookup asked for: a tag or a digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageRef<'a> {
    /// `imageTag`.
    Tag(&'a str),
    /// `imageDigest`.
    Digest(&'a str),
}

/// The fields an `aws/ecr/ImageNotFound` document records besides the error.
#[derive(Clone, Copy, Debug)]
pub struct ImageLookup<'a> {
    /// The registry (account) id.
    pub registry_id: &'a str,
    /// The region.
    pub region: &'a str,
    /// The repository.
    pub repository_name: &'a str,
    /// The tag or digest looked up.
    pub image: ImageRef<'a>,
}

/// An `aws/ecr/ImageNotFound` document: what was looked up, the error, and up to
/// [`MAX_EXISTING_TAGS`] tags the repository does have, for "did you mean".
pub fn image_not_found(
    lookup: ImageLookup<'_>,
    error_code: &str,
    message: &str,
    existing_tags: &[String],
) -> Value {
    let image_id = match lookup.image {
        ImageRef::Tag(t) => json!({"imageTag": t}),
        ImageRef::Digest(d) => json!({"imageDigest": d}),
    };
    json!({
        "registryId": lookup.registry_id,
        "region": lookup.region,
        "repositoryName": lookup.repository_name,
        "imageId": image_id,
        "errorCode": error_code,
        "message": message,
        "existingTags": existing_tags.iter().take(MAX_EXISTING_TAGS).collect::<Vec<_>>(),
    })
}

/// The tags of `details`, most recently pushed image first (then by tag), at most
/// [`MAX_EXISTING_TAGS`].
pub fn existing_tags(details: &[ImageDetail]) -> Vec<String> {
    let mut images: Vec<&ImageDetail> = details.iter().collect();
    images.sort_by(|a, b| {
        let ka = a.image_pushed_at.map(|t| (t.secs(), t.subsec_nanos()));
        let kb = b.image_pushed_at.map(|t| (t.secs(), t.subsec_nanos()));
        kb.cmp(&ka)
    });
    let mut tags = Vec::new();
    for img in images {
        let mut own: Vec<&String> = img.image_tags.iter().flatten().collect();
        own.sort();
        for t in own {
            if tags.len() == MAX_EXISTING_TAGS {
                return tags;
            }
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
    }
    tags
}

/// An `aws/ecr/RepositoryPolicy` document: `get-repository-policy` output plus
/// `region`; `policyText` is `null` when the repository has no policy.
pub fn repository_policy(
    registry_id: &str,
    region: &str,
    repository_name: &str,
    policy_text: Option<&str>,
) -> Value {
    json!({
        "registryId": registry_id,
        "repositoryName": repository_name,
        "policyText": policy_text,
        "region": region,
    })
}

/// An `aws/ecr/RegistryPolicy` document: `get-registry-policy` output plus `region`;
/// `policyText` is `null` when the registry has no policy.
pub fn registry_policy(registry_id: &str, region: &str, policy_text: Option<&str>) -> Value {
    json!({
        "registryId": registry_id,
        "policyText": policy_text,
        "region": region,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use aws_sdk_ecr::types::{
        EncryptionConfiguration, EncryptionType, ImageScanStatus, ImageScanningConfiguration,
        ImageTagMutability, ScanStatus,
    };
    use aws_smithy_types::DateTime;

    #[test]
    fn repositories_keep_the_cli_shape() {
        let r = Repository::builder()
            .repository_arn("arn:aws:ecr:us-west-2:111122223333:repository/team/app")
            .registry_id("111122223333")
            .repository_name("team/app")
            .repository_uri("111122223333.dkr.ecr.us-west-2.amazonaws.com/team/app")
            .created_at(DateTime::from_secs_and_nanos(1_700_000_000, 500_000_000))
            .image_tag_mutability(ImageTagMutability::Immutable)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(true)
                    .build(),
            )
            .encryption_configuration(
                EncryptionConfiguration::builder()
                    .encryption_type(EncryptionType::Aes256)
                    .build()
                    .unwrap(),
            )
            .build();
        assert_eq!(
            repository(&r, "us-west-2"),
            json!({
                "repositoryArn": "arn:aws:ecr:us-west-2:111122223333:repository/team/app",
                "registryId": "111122223333",
                "repositoryName": "team/app",
                "repositoryUri": "111122223333.dkr.ecr.us-west-2.amazonaws.com/team/app",
                "createdAt": "2023-11-14T22:13:20.500000+00:00",
                "imageTagMutability": "IMMUTABLE",
                "imageScanningConfiguration": {"scanOnPush": true},
                "encryptionConfiguration": {"encryptionType": "AES256"},
                "region": "us-west-2"
            })
        );
    }

    #[test]
    fn images_and_absence() {
        let d = ImageDetail::builder()
            .registry_id("111122223333")
            .repository_name("app")
            .image_digest("sha256:abc")
            .image_tags("v1")
            .image_tags("latest")
            .image_size_in_bytes(1234)
            .image_pushed_at(DateTime::from_secs(1_700_000_000))
            .image_scan_status(
                ImageScanStatus::builder()
                    .status(ScanStatus::Complete)
                    .build(),
            )
            .image_manifest_media_type("application/vnd.oci.image.manifest.v1+json")
            .build();
        assert_eq!(
            image(&d, "eu-west-1"),
            json!({
                "registryId": "111122223333",
                "repositoryName": "app",
                "imageDigest": "sha256:abc",
                "imageTags": ["v1", "latest"],
                "imageSizeInBytes": 1234,
                "imagePushedAt": "2023-11-14T22:13:20+00:00",
                "imageScanStatus": {"status": "COMPLETE"},
                "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
                "region": "eu-west-1"
            })
        );
        let lookup = ImageLookup {
            registry_id: "111122223333",
            region: "eu-west-1",
            repository_name: "app",
            image: ImageRef::Tag("v2"),
        };
        let tags: Vec<String> = (0..30).map(|i| format!("t{i}")).collect();
        let doc = image_not_found(lookup, "ImageNotFoundException", "not found", &tags);
        assert_eq!(doc["imageId"], json!({"imageTag": "v2"}));
        assert_eq!(doc["existingTags"].as_array().unwrap().len(), 20);
        assert_eq!(
            repository_not_found("1", "r", "n", "RepositoryNotFoundException", "m"),
            json!({"registryId": "1", "region": "r", "repositoryName": "n",
                   "errorCode": "RepositoryNotFoundException", "message": "m"})
        );
        assert_eq!(
            repository_policy("1", "r", "n", None),
            json!({"registryId": "1", "region": "r", "repositoryName": "n", "policyText": null})
        );
        assert_eq!(
            registry_policy("1", "r", Some("{}")),
            json!({"registryId": "1", "region": "r", "policyText": "{}"})
        );
    }

    #[test]
    fn existing_tags_are_most_recent_first() {
        let img = |tags: &[&str], at: i64| {
            let mut b = ImageDetail::builder().image_pushed_at(DateTime::from_secs(at));
            for t in tags {
                b = b.image_tags(*t);
            }
            b.build()
        };
        let details = vec![
            img(&["old"], 10),
            img(&["new", "latest"], 30),
            img(&["mid"], 20),
            ImageDetail::builder().image_tags("undated").build(),
        ];
        assert_eq!(
            existing_tags(&details),
            vec!["latest", "new", "mid", "old", "undated"]
        );
    }
}
