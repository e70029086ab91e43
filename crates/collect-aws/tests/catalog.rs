//! The AWS half of the fact-kind catalog (`crates/core/catalog/aws.json`) agrees
//! with this crate: every kind an operation produces is in the catalog and every
//! AWS kind of the catalog is produced by an operation unless it is marked
//! snapshot-only; the normalizers' outputs and every AWS fact in the built-in
//! rule packs' fixtures have the catalog's shapes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use aws_sdk_ec2::types as ec2;
use aws_sdk_ecr::types as ecr;
use aws_sdk_eks::types as eks;
use aws_sdk_iam::types as iam;
use aws_smithy_types::DateTime;
use rulerun_collect_aws::OPS;
use rulerun_collect_aws::normalize;
use rulerun_core::catalog;
use serde_json::Value;

fn conforms(kind: &str, doc: &Value) {
    let c = catalog::builtin();
    let k = c
        .kind(kind)
        .unwrap_or_else(|| panic!("`{kind}` is not in the catalog"));
    if let Err(e) = c.conforms(&k.shape, doc) {
        panic!("a `{kind}` document does not have the catalog's shape: {e}\n{doc:#}");
    }
}

#[test]
fn every_produced_kind_is_in_the_catalog_and_every_other_is_snapshot_only() {
    let produced: BTreeSet<&str> = OPS
        .iter()
        .flat_map(|op| op.kinds.iter().map(|(k, _)| *k))
        .collect();
    let c = catalog::builtin();
    assert_eq!(c.error(), None);
    for k in &produced {
        let kind = c
            .kind(k)
            .unwrap_or_else(|| panic!("an operation produces `{k}`, which the catalog lacks"));
        assert!(
            !kind.snapshot_only,
            "`{k}` is produced, yet marked snapshot-only"
        );
    }
    for k in c.kinds().filter(|k| k.name.starts_with("aws/")) {
        assert!(
            produced.contains(k.name.as_str()) || k.snapshot_only,
            "the catalog lists `{}`, which no operation produces and is not snapshot-only",
            k.name
        );
    }
}

fn ts() -> DateTime {
    DateTime::from_secs_and_nanos(1_700_000_000, 500_000_000)
}

#[test]
fn the_normalizers_outputs_have_the_catalog_shapes() {
    let repo = ecr::Repository::builder()
        .repository_arn("arn:aws:ecr:us-west-2:111122223333:repository/app")
        .registry_id("111122223333")
        .repository_name("app")
        .repository_uri("111122223333.dkr.ecr.us-west-2.amazonaws.com/app")
        .created_at(ts())
        .image_tag_mutability(ecr::ImageTagMutability::Immutable)
        .image_scanning_configuration(
            ecr::ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .encryption_configuration(
            ecr::EncryptionConfiguration::builder()
                .encryption_type(ecr::EncryptionType::Kms)
                .kms_key("k")
                .build()
                .unwrap(),
        )
        .build();
    conforms(
        "aws/ecr/Repository",
        &normalize::ecr::repository(&repo, "us-west-2"),
    );
    let image = ecr::ImageDetail::builder()
        .registry_id("111122223333")
        .repository_name("app")
        .image_digest("sha256:0")
        .image_tags("v1")
        .image_size_in_bytes(10)
        .image_pushed_at(ts())
        .image_scan_status(
            ecr::ImageScanStatus::builder()
                .status(ecr::ScanStatus::Complete)
                .description("d")
                .build(),
        )
        .image_scan_findings_summary(
            ecr::ImageScanFindingsSummary::builder()
                .image_scan_completed_at(ts())
                .finding_severity_counts(ecr::FindingSeverity::High, 2)
                .build(),
        )
        .image_manifest_media_type("m")
        .artifact_media_type("a")
        .last_recorded_pull_time(ts())
        .build();
    conforms("aws/ecr/Image", &normalize::ecr::image(&image, "us-west-2"));
    conforms(
        "aws/ecr/RepositoryNotFound",
        &normalize::ecr::repository_not_found("1", "r", "n", "RepositoryNotFoundException", "m"),
    );
    conforms(
        "aws/ecr/ImageNotFound",
        &normalize::ecr::image_not_found(
            normalize::ecr::ImageLookup {
                registry_id: "1",
                region: "r",
                repository_name: "n",
                image: normalize::ecr::ImageRef::Tag("v2"),
            },
            "ImageNotFoundException",
            "m",
            &["v1".to_string()],
        ),
    );
    conforms(
        "aws/ecr/RepositoryPolicy",
        &normalize::ecr::repository_policy("1", "r", "n", Some("{}")),
    );
    conforms(
        "aws/ecr/RepositoryPolicy",
        &normalize::ecr::repository_policy("1", "r", "n", None),
    );
    conforms(
        "aws/ecr/RegistryPolicy",
        &normalize::ecr::registry_policy("1", "r", Some("{}")),
    );

    let permission = ec2::IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(2049)
        .to_port(2049)
        .user_id_group_pairs(
            ec2::UserIdGroupPair::builder()
                .group_id("sg-2")
                .user_id("111122223333")
                .description("nodes")
                .build(),
        )
        .ip_ranges(ec2::IpRange::builder().cidr_ip("10.0.0.0/16").build())
        .ipv6_ranges(ec2::Ipv6Range::builder().cidr_ipv6("::/0").build())
        .prefix_list_ids(ec2::PrefixListId::builder().prefix_list_id("pl-1").build())
        .build();
    let group = ec2::SecurityGroup::builder()
        .group_id("sg-1")
        .group_name("efs")
        .description("d")
        .owner_id("111122223333")
        .vpc_id("vpc-1")
        .ip_permissions(permission.clone())
        .ip_permissions_egress(ec2::IpPermission::builder().ip_protocol("-1").build())
        .tags(ec2::Tag::builder().key("k").value("v").build())
        .build();
    conforms(
        "aws/ec2/SecurityGroup",
        &normalize::ec2::security_group(&group, "us-west-2"),
    );
    let target = aws_sdk_efs::types::MountTargetDescription::builder()
        .owner_id("111122223333")
        .mount_target_id("fsmt-1")
        .file_system_id("fs-1")
        .subnet_id("subnet-1")
        .life_cycle_state(aws_sdk_efs::types::LifeCycleState::Available)
        .ip_address("10.0.1.5")
        .network_interface_id("eni-1")
        .availability_zone_id("usw2-az1")
        .availability_zone_name("us-west-2a")
        .vpc_id("vpc-1")
        .build()
        .unwrap();
    conforms(
        "aws/efs/MountTarget",
        &normalize::efs::mount_target(&target, Some(&vec!["sg-1".to_string()]), "us-west-2"),
    );
    conforms(
        "aws/efs/MountTarget",
        &normalize::efs::mount_target(&target, None, "us-west-2"),
    );

    let ng = eks::Nodegroup::builder()
        .nodegroup_name("ng")
        .nodegroup_arn("arn")
        .cluster_name("c")
        .version("1.33")
        .release_version("r")
        .created_at(ts())
        .status(eks::NodegroupStatus::Active)
        .capacity_type(eks::CapacityTypes::OnDemand)
        .scaling_config(
            eks::NodegroupScalingConfig::builder()
                .min_size(1)
                .max_size(3)
                .desired_size(2)
                .build(),
        )
        .instance_types("m5.large")
        .subnets("subnet-1")
        .ami_type(eks::AmiTypes::Al2023X8664Standard)
        .node_role("arn:aws:iam::111122223333:role/node")
        .labels("k", "v")
        .taints(
            eks::Taint::builder()
                .key("k")
                .value("v")
                .effect(eks::TaintEffect::NoSchedule)
                .build(),
        )
        .resources(
            eks::NodegroupResources::builder()
                .auto_scaling_groups(eks::AutoScalingGroup::builder().name("asg").build())
                .remote_access_security_group("sg")
                .build(),
        )
        .disk_size(20)
        .health(
            eks::NodegroupHealth::builder()
                .issues(
                    eks::Issue::builder()
                        .code(eks::NodegroupIssueCode::AccessDenied)
                        .message("m")
                        .resource_ids("r")
                        .build(),
                )
                .build(),
        )
        .launch_template(
            eks::LaunchTemplateSpecification::builder()
                .name("lt")
                .version("1")
                .id("lt-1")
                .build(),
        )
        .tags("t", "v")
        .build();
    conforms("aws/eks/Nodegroup", &normalize::eks::nodegroup(&ng));
    let association = eks::PodIdentityAssociation::builder()
        .cluster_name("c")
        .namespace("kube-system")
        .service_account("aws-load-balancer-controller")
        .role_arn("arn:aws:iam::111122223333:role/lbc")
        .association_arn("arn")
        .association_id("a-1")
        .tags("k", "v")
        .created_at(ts())
        .modified_at(ts())
        .owner_arn("arn:owner")
        .disable_session_tags(false)
        .target_role_arn("arn:aws:iam::444455556666:role/target")
        .external_id("x")
        .policy("{}")
        .build();
    conforms(
        "aws/eks/PodIdentityAssociation",
        &normalize::eks::pod_identity_association(&association),
    );
    let addon = eks::Addon::builder()
        .addon_name("coredns")
        .cluster_name("c")
        .status(eks::AddonStatus::Degraded)
        .addon_version("v1.11.3-eksbuild.1")
        .health(
            eks::AddonHealth::builder()
                .issues(
                    eks::AddonIssue::builder()
                        .code(eks::AddonIssueCode::InsufficientNumberOfReplicas)
                        .message("m")
                        .resource_ids("r")
                        .build(),
                )
                .build(),
        )
        .addon_arn("arn")
        .created_at(ts())
        .modified_at(ts())
        .service_account_role_arn("arn:role")
        .tags("k", "v")
        .publisher("eks")
        .owner("aws")
        .configuration_values("{\"nodeSelector\":{\"pool\":\"system\"}}")
        .pod_identity_associations("arn:a")
        .build();
    conforms("aws/eks/Addon", &normalize::eks::addon(&addon));
    let fp = eks::FargateProfile::builder()
        .fargate_profile_name("fp")
        .fargate_profile_arn("arn")
        .cluster_name("c")
        .created_at(ts())
        .pod_execution_role_arn("arn:aws:iam::111122223333:role/fp")
        .subnets("subnet-1")
        .selectors(
            eks::FargateProfileSelector::builder()
                .namespace("ns")
                .labels("k", "v")
                .build(),
        )
        .status(eks::FargateProfileStatus::Active)
        .tags("t", "v")
        .build();
    conforms(
        "aws/eks/FargateProfile",
        &normalize::eks::fargate_profile(&fp),
    );

    let policy = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
    let role = iam::Role::builder()
        .path("/")
        .role_name("node")
        .role_id("AROA1")
        .arn("arn:aws:iam::111122223333:role/node")
        .create_date(ts())
        .assume_role_policy_document(policy)
        .description("d")
        .max_session_duration(3600)
        .permissions_boundary(
            iam::AttachedPermissionsBoundary::builder()
                .permissions_boundary_type(iam::PermissionsBoundaryAttachmentType::Policy)
                .permissions_boundary_arn("arn:aws:iam::111122223333:policy/b")
                .build(),
        )
        .tags(iam::Tag::builder().key("k").value("v").build().unwrap())
        .role_last_used(
            iam::RoleLastUsed::builder()
                .last_used_date(ts())
                .region("us-west-2")
                .build(),
        )
        .build()
        .unwrap();
    conforms("aws/iam/Role", &normalize::iam::role(&role));
    let profile = iam::InstanceProfile::builder()
        .path("/")
        .instance_profile_name("p")
        .instance_profile_id("AIPA1")
        .arn("arn:aws:iam::111122223333:instance-profile/p")
        .create_date(ts())
        .roles(role)
        .tags(iam::Tag::builder().key("k").value("v").build().unwrap())
        .build()
        .unwrap();
    conforms(
        "aws/iam/InstanceProfile",
        &normalize::iam::instance_profile(&profile),
    );
    conforms(
        "aws/iam/AttachedRolePolicies",
        &normalize::iam::attached_role_policies(
            "node",
            &[iam::AttachedPolicy::builder()
                .policy_name("p")
                .policy_arn("arn:aws:iam::aws:policy/p")
                .build()],
        ),
    );
    conforms(
        "aws/iam/RolePolicy",
        &normalize::iam::role_policy("node", "inline", policy),
    );
    let version = iam::PolicyVersion::builder()
        .document(policy)
        .version_id("v1")
        .is_default_version(true)
        .create_date(ts())
        .build();
    conforms(
        "aws/iam/PolicyVersion",
        &normalize::iam::policy_version(&version, "arn:aws:iam::aws:policy/p", "p"),
    );

    let tag = ec2::Tag::builder().key("Name").value("n1").build();
    let instance = ec2::Instance::builder()
        .instance_id("i-0123456789abcdef0")
        .instance_type(ec2::InstanceType::M5Large)
        .launch_time(ts())
        .state(
            ec2::InstanceState::builder()
                .code(16)
                .name(ec2::InstanceStateName::Running)
                .build(),
        )
        .placement(
            ec2::Placement::builder()
                .availability_zone("us-west-2a")
                .tenancy(ec2::Tenancy::Default)
                .build(),
        )
        .iam_instance_profile(
            ec2::IamInstanceProfile::builder()
                .arn("arn:aws:iam::111122223333:instance-profile/node")
                .id("AIPA1")
                .build(),
        )
        .metadata_options(
            ec2::InstanceMetadataOptionsResponse::builder()
                .http_tokens(ec2::HttpTokensState::Required)
                .http_put_response_hop_limit(1)
                .build(),
        )
        .network_interfaces(
            ec2::InstanceNetworkInterface::builder()
                .network_interface_id("eni-1")
                .groups(ec2::GroupIdentifier::builder().group_id("sg-1").build())
                .private_ip_addresses(
                    ec2::InstancePrivateIpAddress::builder()
                        .primary(true)
                        .private_ip_address("10.0.0.1")
                        .build(),
                )
                .build(),
        )
        .security_groups(ec2::GroupIdentifier::builder().group_id("sg-1").build())
        .block_device_mappings(
            ec2::InstanceBlockDeviceMapping::builder()
                .device_name("/dev/xvda")
                .ebs(
                    ec2::EbsInstanceBlockDevice::builder()
                        .volume_id("vol-1")
                        .build(),
                )
                .build(),
        )
        .tags(tag.clone())
        .subnet_id("subnet-1")
        .vpc_id("vpc-1")
        .build();
    conforms(
        "aws/ec2/Instance",
        &normalize::ec2::instance(&instance, "us-west-2"),
    );
    let subnet = ec2::Subnet::builder()
        .subnet_id("subnet-1")
        .vpc_id("vpc-1")
        .state(ec2::SubnetState::Available)
        .cidr_block("10.0.0.0/24")
        .available_ip_address_count(250)
        .map_public_ip_on_launch(false)
        .tags(tag.clone())
        .build();
    conforms("aws/ec2/Subnet", &normalize::ec2::subnet(&subnet, "r"));
    let table = ec2::RouteTable::builder()
        .route_table_id("rtb-1")
        .vpc_id("vpc-1")
        .associations(
            ec2::RouteTableAssociation::builder()
                .main(false)
                .subnet_id("subnet-1")
                .route_table_id("rtb-1")
                .build(),
        )
        .routes(
            ec2::Route::builder()
                .destination_cidr_block("0.0.0.0/0")
                .nat_gateway_id("nat-1")
                .origin(ec2::RouteOrigin::CreateRoute)
                .state(ec2::RouteState::Active)
                .build(),
        )
        .tags(tag.clone())
        .build();
    conforms(
        "aws/ec2/RouteTable",
        &normalize::ec2::route_table(&table, "r"),
    );
    let endpoint = ec2::VpcEndpoint::builder()
        .vpc_endpoint_id("vpce-1")
        .vpc_endpoint_type(ec2::VpcEndpointType::Interface)
        .vpc_id("vpc-1")
        .service_name("com.amazonaws.us-west-2.ecr.dkr")
        .state(ec2::State::Available)
        .policy_document("{\"Statement\":[]}")
        .subnet_ids("subnet-1")
        .private_dns_enabled(true)
        .tags(tag)
        .build();
    conforms(
        "aws/ec2/VpcEndpoint",
        &normalize::ec2::vpc_endpoint(&endpoint, "r"),
    );
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{} is not readable: {e}", dir.display()));
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            fixture_files(&p, out);
        } else if p.components().any(|c| c.as_os_str() == "fixtures") {
            out.push(p);
        }
    }
}

#[test]
fn every_aws_fact_of_the_rule_fixtures_has_the_catalog_shape() {
    let mut files = Vec::new();
    fixture_files(&root().join("rules"), &mut files);
    files.sort();
    let mut checked = 0;
    for f in &files {
        let facts = rulerun_core::FactStore::load_path(f)
            .unwrap_or_else(|e| panic!("{}: {e:?}", f.display()));
        for (kind, docs) in facts.iter() {
            if !kind.starts_with("aws/") {
                continue;
            }
            for doc in docs {
                let c = catalog::builtin();
                let k = c
                    .kind(kind)
                    .unwrap_or_else(|| panic!("{}: `{kind}` is not in the catalog", f.display()));
                if let Err(e) = c.conforms(&k.shape, doc) {
                    panic!(
                        "{}: a `{kind}` document does not have the catalog's shape: {e}",
                        f.display()
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "only {checked} AWS facts in the fixtures");
}
