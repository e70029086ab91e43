//! Amazon EC2 reads: instances (batched), subnets, route tables, VPC endpoints.

use std::collections::HashMap;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::Filter;
use serde_json::Value;

use super::{Ctx, Docs, Outcome, doc};
use crate::error::{Call, Failure, FetchError};
use crate::normalize::ec2 as norm;

/// `aws/ec2/Instance`.
pub const INSTANCE: &str = "aws/ec2/Instance";
/// `aws/ec2/Subnet`.
pub const SUBNET: &str = "aws/ec2/Subnet";
/// `aws/ec2/RouteTable`.
pub const ROUTE_TABLE: &str = "aws/ec2/RouteTable";
/// `aws/ec2/SecurityGroup`.
pub const SECURITY_GROUP: &str = "aws/ec2/SecurityGroup";
/// `aws/ec2/VpcEndpoint`.
pub const VPC_ENDPOINT: &str = "aws/ec2/VpcEndpoint";

/// The most instance ids one `DescribeInstances` call takes.
pub const MAX_INSTANCE_IDS: usize = 1000;

/// Whether `id` looks like an EC2 instance id (`i-` and 8 or 17 hex digits).
pub fn is_instance_id(id: &str) -> bool {
    id.strip_prefix("i-").is_some_and(|h| {
        (h.len() == 8 || h.len() == 17) && h.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// The instance ids an `InvalidInstanceID.NotFound` message names
/// (`The instance IDs 'i-1, i-2' do not exist`).
pub fn ids_in_message(message: &str) -> Vec<&str> {
    message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("i-") && w.len() > 2)
        .collect()
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// One `DescribeInstances` call for `ids` (every page): instance documents by id.
async fn describe_instances(
    client: &Client,
    ctx: &Ctx,
    region: &str,
    ids: &[String],
) -> Result<HashMap<String, Value>, (Call<'static>, Failure)> {
    let mut found = HashMap::new();
    let mut token = None;
    loop {
        let call = Call::new("ec2.DescribeInstances");
        let req = client
            .describe_instances()
            .set_instance_ids(Some(ids.to_vec()))
            .set_next_token(token.take());
        match ctx.call(&call, req.send()).await {
            Ok(out) => {
                for r in out.reservations.iter().flatten() {
                    for i in r.instances.iter().flatten() {
                        if let Some(id) = &i.instance_id {
                            found.insert(id.clone(), norm::instance(i, region));
                        }
                    }
                }
                match out.next_token {
                    Some(t) if !t.is_empty() => token = Some(t),
                    _ => return Ok(found),
                }
            }
            Err(f) => return Err((call, f)),
        }
    }
}

fn instance_missing(f: &Failure) -> bool {
    f.is("InvalidInstanceID.NotFound") || f.is("InvalidInstanceID.Malformed")
}

/// Instances by id, `ids` at most [`MAX_INSTANCE_IDS`]: normally one call. When
/// some do not exist, EC2 fails the whole call naming them; they are dropped and
/// the call repeated (or, if the message names none, each id is looked up alone).
/// Ids missing from the result do not exist.
pub async fn instances(
    client: &Client,
    ctx: &Ctx,
    region: &str,
    ids: &[String],
) -> Result<HashMap<String, Value>, FetchError> {
    let mut pending: Vec<String> = ids.to_vec();
    while !pending.is_empty() {
        match describe_instances(client, ctx, region, &pending).await {
            Ok(found) => return Ok(found),
            Err((_, f)) if instance_missing(&f) => {
                let named = ids_in_message(&f.message);
                let before = pending.len();
                pending.retain(|p| !named.contains(&p.as_str()));
                if pending.len() == before {
                    // The message names none of them: one call per id.
                    let mut found = HashMap::new();
                    for id in pending {
                        match describe_instances(client, ctx, region, std::slice::from_ref(&id))
                            .await
                        {
                            Ok(one) => found.extend(one),
                            Err((_, f)) if instance_missing(&f) => {}
                            Err((call, f)) => return Err(ctx.error(&call.region(Some(region)), f)),
                        }
                    }
                    return Ok(found);
                }
            }
            Err((call, f)) => return Err(ctx.error(&call.region(Some(region)), f)),
        }
    }
    Ok(HashMap::new())
}

/// One subnet by id (`DescribeSubnets`); nothing when it does not exist.
pub async fn subnet(client: &Client, ctx: &Ctx, region: &str, id: &str) -> Outcome {
    let call = Call::new("ec2.DescribeSubnets")
        .region(Some(region))
        .resource(id);
    let req = client.describe_subnets().subnet_ids(id);
    match ctx.call(&call, req.send()).await {
        Ok(out) => Ok(out
            .subnets
            .iter()
            .flatten()
            .map(|s| doc(SUBNET, norm::subnet(s, region)))
            .collect()),
        Err(f) if f.is("InvalidSubnetID.NotFound") || f.is("InvalidSubnetID.Malformed") => {
            Ok(Vec::new())
        }
        Err(f) => Err(ctx.error(&call, f)),
    }
}

/// One security group by id (`DescribeSecurityGroups`); nothing when it does not
/// exist.
pub async fn security_group(client: &Client, ctx: &Ctx, region: &str, id: &str) -> Outcome {
    let call = Call::new("ec2.DescribeSecurityGroups")
        .region(Some(region))
        .resource(id);
    let req = client.describe_security_groups().group_ids(id);
    match ctx.call(&call, req.send()).await {
        Ok(out) => Ok(out
            .security_groups
            .iter()
            .flatten()
            .map(|g| doc(SECURITY_GROUP, norm::security_group(g, region)))
            .collect()),
        Err(f) if f.is("InvalidGroup.NotFound") || f.is("InvalidGroupId.Malformed") => {
            Ok(Vec::new())
        }
        Err(f) => Err(ctx.error(&call, f)),
    }
}

/// Every page of a paginated call: `page(token)` sends one request and returns
/// its documents and the next token (none, or empty, after the last page).
async fn every_page<F, Fut>(ctx: &Ctx, call: &Call<'_>, mut page: F) -> Outcome
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Docs, Option<String>), Failure>>,
{
    let mut docs: Docs = Vec::new();
    let mut token = None;
    loop {
        let (mut got, next) = page(token.take()).await.map_err(|f| ctx.error(call, f))?;
        docs.append(&mut got);
        match next {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(docs),
        }
    }
}

/// Every subnet of a VPC (`DescribeSubnets` filtered by `vpc-id`, every page).
pub async fn vpc_subnets(client: &Client, ctx: &Ctx, region: &str, vpc: &str) -> Outcome {
    let call = &Call::new("ec2.DescribeSubnets")
        .region(Some(region))
        .resource(vpc);
    every_page(ctx, call, |token| async move {
        let req = client
            .describe_subnets()
            .filters(filter("vpc-id", vpc))
            .set_next_token(token);
        let out = ctx.call(call, req.send()).await?;
        let docs = out
            .subnets
            .iter()
            .flatten()
            .map(|s| doc(SUBNET, norm::subnet(s, region)))
            .collect();
        Ok((docs, out.next_token))
    })
    .await
}

/// Route tables matching `filters` (`DescribeRouteTables`, every page).
pub async fn route_tables(
    client: &Client,
    ctx: &Ctx,
    region: &str,
    resource: &str,
    filters: &[(&str, &str)],
) -> Outcome {
    let call = &Call::new("ec2.DescribeRouteTables")
        .region(Some(region))
        .resource(resource);
    every_page(ctx, call, |token| async move {
        let req = client
            .describe_route_tables()
            .set_filters(Some(filters.iter().map(|(n, v)| filter(n, v)).collect()))
            .set_next_token(token);
        let out = ctx.call(call, req.send()).await?;
        let docs = out
            .route_tables
            .iter()
            .flatten()
            .map(|t| doc(ROUTE_TABLE, norm::route_table(t, region)))
            .collect();
        Ok((docs, out.next_token))
    })
    .await
}

/// The VPC endpoints of a VPC (`DescribeVpcEndpoints` filtered by `vpc-id`, every page).
pub async fn vpc_endpoints(client: &Client, ctx: &Ctx, region: &str, vpc: &str) -> Outcome {
    let call = &Call::new("ec2.DescribeVpcEndpoints")
        .region(Some(region))
        .resource(vpc);
    every_page(ctx, call, |token| async move {
        let req = client
            .describe_vpc_endpoints()
            .filters(filter("vpc-id", vpc))
            .set_next_token(token);
        let out = ctx.call(call, req.send()).await?;
        let docs = out
            .vpc_endpoints
            .iter()
            .flatten()
            .map(|e| doc(VPC_ENDPOINT, norm::vpc_endpoint(e, region)))
            .collect();
        Ok((docs, out.next_token))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_are_recognized_and_found_in_messages() {
        assert!(is_instance_id("i-0123456789abcdef0"));
        assert!(is_instance_id("i-01234567"));
        assert!(!is_instance_id("i-xyz"));
        assert!(!is_instance_id("subnet-01234567"));
        assert_eq!(
            ids_in_message("The instance IDs 'i-01234567, i-0123456789abcdef0' do not exist"),
            vec!["i-01234567", "i-0123456789abcdef0"]
        );
        assert_eq!(
            ids_in_message("The instance ID 'i-01234567' does not exist"),
            vec!["i-01234567"]
        );
    }
}
