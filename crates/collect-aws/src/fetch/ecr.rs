//! Amazon ECR reads: repositories, images, repository and registry policies.

use aws_sdk_ecr::Client;
use aws_sdk_ecr::types::{DescribeImagesFilter, ImageIdentifier, TagStatus};

use super::{Ctx, Outcome, doc, non_empty};
use crate::error::{Call, FetchError};
use crate::normalize::ecr::{self as norm, ImageLookup, ImageRef};

/// `aws/ecr/Repository`.
pub const REPOSITORY: &str = "aws/ecr/Repository";
/// `aws/ecr/RepositoryNotFound`.
pub const REPOSITORY_NOT_FOUND: &str = "aws/ecr/RepositoryNotFound";
/// `aws/ecr/Image`.
pub const IMAGE: &str = "aws/ecr/Image";
/// `aws/ecr/ImageNotFound`.
pub const IMAGE_NOT_FOUND: &str = "aws/ecr/ImageNotFound";
/// `aws/ecr/RepositoryPolicy`.
pub const REPOSITORY_POLICY: &str = "aws/ecr/RepositoryPolicy";
/// `aws/ecr/RegistryPolicy`.
pub const REGISTRY_POLICY: &str = "aws/ecr/RegistryPolicy";

const REPOSITORY_NOT_FOUND_CODE: &str = "RepositoryNotFoundException";

/// One repository by name (`DescribeRepositories`), or its absence.
pub async fn repository(
    client: &Client,
    ctx: &Ctx,
    registry_id: &str,
    region: &str,
    name: &str,
) -> Outcome {
    let call = Call::new("ecr.DescribeRepositories")
        .account(non_empty(registry_id))
        .region(Some(region))
        .resource(name);
    let req = client
        .describe_repositories()
        .set_registry_id(non_empty(registry_id).map(str::to_string))
        .repository_names(name);
    match ctx.call(&call, req.send()).await {
        Ok(out) => Ok(out
            .repositories
            .iter()
            .flatten()
            .filter(|r| r.repository_name.as_deref() == Some(name))
            .map(|r| doc(REPOSITORY, norm::repository(r, region)))
            .collect()),
        Err(f) if f.is(REPOSITORY_NOT_FOUND_CODE) => Ok(vec![doc(
            REPOSITORY_NOT_FOUND,
            norm::repository_not_found(
                registry_id,
                region,
                name,
                REPOSITORY_NOT_FOUND_CODE,
                &f.message,
            ),
        )]),
        Err(f) => Err(ctx.error(&call, f)),
    }
}

/// The most repositories [`repositories`] reads from one registry and region.
pub const MAX_LISTED_REPOSITORIES: usize = 1000;

/// The repositories of a registry in one region (`DescribeRepositories` without
/// names, every page up to [`MAX_LISTED_REPOSITORIES`]): what "did you mean" needs
/// when an image names a repository that does not exist.
pub async fn repositories(client: &Client, ctx: &Ctx, registry_id: &str, region: &str) -> Outcome {
    let call = Call::new("ecr.DescribeRepositories")
        .account(non_empty(registry_id))
        .region(Some(region))
        .resource("*");
    let mut docs = Vec::new();
    let mut token = None;
    loop {
        let req = client
            .describe_repositories()
            .set_registry_id(non_empty(registry_id).map(str::to_string))
            .max_results(100)
            .set_next_token(token.take());
        let out = ctx
            .call(&call, req.send())
            .await
            .map_err(|f| ctx.error(&call, f))?;
        docs.extend(
            out.repositories
                .iter()
                .flatten()
                .map(|r| doc(REPOSITORY, norm::repository(r, region))),
        );
        match out.next_token {
            Some(t) if !t.is_empty() && docs.len() < MAX_LISTED_REPOSITORIES => token = Some(t),
            _ => return Ok(docs),
        }
    }
}

/// One image by tag or digest (`DescribeImages`), or its absence with the tags the
/// repository has (one more `DescribeImages` page, for a tag lookup).
pub async fn image(client: &Client, ctx: &Ctx, lookup: ImageLookup<'_>) -> Outcome {
    let call = Call::new("ecr.DescribeImages")
        .account(non_empty(lookup.registry_id))
        .region(Some(lookup.region))
        .resource(lookup.repository_name);
    let id = match lookup.image {
        ImageRef::Tag(t) => ImageIdentifier::builder().image_tag(t).build(),
        ImageRef::Digest(d) => ImageIdentifier::builder().image_digest(d).build(),
    };
    let req = client
        .describe_images()
        .set_registry_id(non_empty(lookup.registry_id).map(str::to_string))
        .repository_name(lookup.repository_name)
        .image_ids(id);
    let not_found = |code: &str, message: &str, tags: &[String]| {
        Ok(vec![doc(
            IMAGE_NOT_FOUND,
            norm::image_not_found(lookup, code, message, tags),
        )])
    };
    match ctx.call(&call, req.send()).await {
        Ok(out) => {
            let docs: Vec<_> = out
                .image_details
                .iter()
                .flatten()
                .map(|d| doc(IMAGE, norm::image(d, lookup.region)))
                .collect();
            if docs.is_empty() {
                let tags = existing_tags(client, ctx, lookup).await;
                not_found("ImageNotFoundException", "no image matched", &tags)
            } else {
                Ok(docs)
            }
        }
        Err(f) if f.is("ImageNotFoundException") => {
            let tags = existing_tags(client, ctx, lookup).await;
            not_found("ImageNotFoundException", &f.message, &tags)
        }
        Err(f) if f.is(REPOSITORY_NOT_FOUND_CODE) => {
            not_found(REPOSITORY_NOT_FOUND_CODE, &f.message, &[])
        }
        Err(f) => Err(ctx.error(&call, f)),
    }
}

/// Up to 20 tags of the repository, most recently pushed first: one `DescribeImages`
/// page of tagged images. Only for tag lookups; a failure here leaves the list empty
/// rather than failing the lookup it only decorates.
async fn existing_tags(client: &Client, ctx: &Ctx, lookup: ImageLookup<'_>) -> Vec<String> {
    if !matches!(lookup.image, ImageRef::Tag(_)) {
        return Vec::new();
    }
    let call = Call::new("ecr.DescribeImages")
        .account(non_empty(lookup.registry_id))
        .region(Some(lookup.region))
        .resource(lookup.repository_name);
    let req = client
        .describe_images()
        .set_registry_id(non_empty(lookup.registry_id).map(str::to_string))
        .repository_name(lookup.repository_name)
        .filter(
            DescribeImagesFilter::builder()
                .tag_status(TagStatus::Tagged)
                .build(),
        )
        .max_results(100);
    match ctx.call(&call, req.send()).await {
        Ok(out) => norm::existing_tags(out.image_details()),
        Err(_) => Vec::new(),
    }
}

/// A repository's policy (`GetRepositoryPolicy`): `policyText: null` when it has
/// none, a `RepositoryNotFound` document when the repository does not exist.
pub async fn repository_policy(
    client: &Client,
    ctx: &Ctx,
    registry_id: &str,
    region: &str,
    name: &str,
) -> Outcome {
    let call = Call::new("ecr.GetRepositoryPolicy")
        .account(non_empty(registry_id))
        .region(Some(region))
        .resource(name);
    let req = client
        .get_repository_policy()
        .set_registry_id(non_empty(registry_id).map(str::to_string))
        .repository_name(name);
    match ctx.call(&call, req.send()).await {
        Ok(out) => Ok(vec![doc(
            REPOSITORY_POLICY,
            norm::repository_policy(
                out.registry_id.as_deref().unwrap_or(registry_id),
                region,
                out.repository_name.as_deref().unwrap_or(name),
                out.policy_text.as_deref(),
            ),
        )]),
        Err(f) if f.is("RepositoryPolicyNotFoundException") => Ok(vec![doc(
            REPOSITORY_POLICY,
            norm::repository_policy(registry_id, region, name, None),
        )]),
        Err(f) if f.is(REPOSITORY_NOT_FOUND_CODE) => Ok(vec![doc(
            REPOSITORY_NOT_FOUND,
            norm::repository_not_found(
                registry_id,
                region,
                name,
                REPOSITORY_NOT_FOUND_CODE,
                &f.message,
            ),
        )]),
        Err(f) => Err(ctx.error(&call, f)),
    }
}

/// The registry policy (`GetRegistryPolicy`), which AWS lets only the registry's own
/// account read: for another account's registry id, an error naming the account to
/// run in. When there is no policy, `DescribeRegistry` tells whose registry that is.
pub async fn registry_policy(
    client: &Client,
    ctx: &Ctx,
    registry_id: &str,
    region: &str,
) -> Outcome {
    let call = Call::new("ecr.GetRegistryPolicy")
        .account(non_empty(registry_id))
        .region(Some(region));
    let (own, text) = match ctx.call(&call, client.get_registry_policy().send()).await {
        Ok(out) => (out.registry_id, out.policy_text),
        Err(f) if f.is("RegistryPolicyNotFoundException") => {
            let dcall = Call::new("ecr.DescribeRegistry")
                .account(non_empty(registry_id))
                .region(Some(region));
            match ctx.call(&dcall, client.describe_registry().send()).await {
                Ok(out) => (out.registry_id, None),
                Err(f) => return Err(ctx.error(&dcall, f)),
            }
        }
        Err(f) => return Err(ctx.error(&call, f)),
    };
    let own = own.unwrap_or_default();
    if !registry_id.is_empty() && !own.is_empty() && own != registry_id {
        return Err(FetchError::Other {
            operation: "ecr.GetRegistryPolicy".into(),
            message: format!(
                "the registry policy of account `{registry_id}` can only be read in that account; rulerun runs in account `{own}`"
            ),
            help: Some(format!(
                "run rulerun with credentials of account `{registry_id}` (e.g. `--profile` of a role there) to check its registry policy"
            )),
        });
    }
    let id = if registry_id.is_empty() {
        own.as_str()
    } else {
        registry_id
    };
    Ok(vec![doc(
        REGISTRY_POLICY,
        norm::registry_policy(id, region, text.as_deref()),
    )])
}
