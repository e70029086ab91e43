//! Amazon EC2 documents, PascalCase as `aws ec2 ... --output json` prints them, with
//! the `Region` rulerun adds.
//!
//! The members rules use are all here (identity, state, placement, networking,
//! instance profile, metadata options, tags); a few rarely used nested members of
//! instances (Elastic GPU and inference associations, licenses, boot and
//! performance options) are left out.

use aws_sdk_ec2::types::{
    GroupIdentifier, Instance, InstanceNetworkInterfaceAssociation, IpPermission, RouteTable,
    SecurityGroup, Subnet, Tag, VpcEndpoint,
};
use serde_json::Value;

use super::Obj;

fn tag(t: &Tag) -> Value {
    Obj::new()
        .s("Key", t.key.as_ref())
        .s("Value", t.value.as_ref())
        .done()
}

fn group(g: &GroupIdentifier) -> Value {
    Obj::new()
        .s("GroupId", g.group_id.as_ref())
        .s("GroupName", g.group_name.as_ref())
        .done()
}

fn association(a: &InstanceNetworkInterfaceAssociation) -> Value {
    Obj::new()
        .s("CarrierIp", a.carrier_ip.as_ref())
        .s("CustomerOwnedIp", a.customer_owned_ip.as_ref())
        .s("IpOwnerId", a.ip_owner_id.as_ref())
        .s("PublicDnsName", a.public_dns_name.as_ref())
        .s("PublicIp", a.public_ip.as_ref())
        .done()
}

/// An `aws/ec2/Instance` document: one item of `describe-instances`
/// `.Reservations[].Instances[]`, plus `Region`.
pub fn instance(i: &Instance, region: &str) -> Value {
    Obj::new()
        .i("AmiLaunchIndex", i.ami_launch_index)
        .s("ImageId", i.image_id.as_ref())
        .s("InstanceId", i.instance_id.as_ref())
        .s("InstanceType", i.instance_type.as_ref().map(|t| t.as_str()))
        .s("KernelId", i.kernel_id.as_ref())
        .s("KeyName", i.key_name.as_ref())
        .t("LaunchTime", i.launch_time.as_ref())
        .obj("Monitoring", i.monitoring.as_ref(), |m| {
            Obj::new()
                .s("State", m.state.as_ref().map(|s| s.as_str()))
                .done()
        })
        .obj("Placement", i.placement.as_ref(), |p| {
            Obj::new()
                .s("AvailabilityZoneId", p.availability_zone_id.as_ref())
                .s("Affinity", p.affinity.as_ref())
                .s("GroupName", p.group_name.as_ref())
                .i("PartitionNumber", p.partition_number)
                .s("HostId", p.host_id.as_ref())
                .s("Tenancy", p.tenancy.as_ref().map(|t| t.as_str()))
                .s("SpreadDomain", p.spread_domain.as_ref())
                .s("HostResourceGroupArn", p.host_resource_group_arn.as_ref())
                .s("GroupId", p.group_id.as_ref())
                .s("AvailabilityZone", p.availability_zone.as_ref())
                .done()
        })
        .s("Platform", i.platform.as_ref().map(|p| p.as_str()))
        .s("PrivateDnsName", i.private_dns_name.as_ref())
        .s("PrivateIpAddress", i.private_ip_address.as_ref())
        .list("ProductCodes", i.product_codes.as_ref(), |p| {
            Obj::new()
                .s("ProductCodeId", p.product_code_id.as_ref())
                .s(
                    "ProductCodeType",
                    p.product_code_type.as_ref().map(|t| t.as_str()),
                )
                .done()
        })
        .s("PublicDnsName", i.public_dns_name.as_ref())
        .s("PublicIpAddress", i.public_ip_address.as_ref())
        .s("RamdiskId", i.ramdisk_id.as_ref())
        .obj("State", i.state.as_ref(), |s| {
            Obj::new()
                .i("Code", s.code)
                .s("Name", s.name.as_ref().map(|n| n.as_str()))
                .done()
        })
        .s("StateTransitionReason", i.state_transition_reason.as_ref())
        .s("SubnetId", i.subnet_id.as_ref())
        .s("VpcId", i.vpc_id.as_ref())
        .s("Architecture", i.architecture.as_ref().map(|a| a.as_str()))
        .list(
            "BlockDeviceMappings",
            i.block_device_mappings.as_ref(),
            |b| {
                Obj::new()
                    .s("DeviceName", b.device_name.as_ref())
                    .obj("Ebs", b.ebs.as_ref(), |e| {
                        Obj::new()
                            .t("AttachTime", e.attach_time.as_ref())
                            .b("DeleteOnTermination", e.delete_on_termination)
                            .s("Status", e.status.as_ref().map(|s| s.as_str()))
                            .s("VolumeId", e.volume_id.as_ref())
                            .done()
                    })
                    .done()
            },
        )
        .s("ClientToken", i.client_token.as_ref())
        .b("EbsOptimized", i.ebs_optimized)
        .b("EnaSupport", i.ena_support)
        .s("Hypervisor", i.hypervisor.as_ref().map(|h| h.as_str()))
        .obj("IamInstanceProfile", i.iam_instance_profile.as_ref(), |p| {
            Obj::new()
                .s("Arn", p.arn.as_ref())
                .s("Id", p.id.as_ref())
                .done()
        })
        .s(
            "InstanceLifecycle",
            i.instance_lifecycle.as_ref().map(|l| l.as_str()),
        )
        .list("NetworkInterfaces", i.network_interfaces.as_ref(), |n| {
            Obj::new()
                .obj("Association", n.association.as_ref(), association)
                .obj("Attachment", n.attachment.as_ref(), |a| {
                    Obj::new()
                        .t("AttachTime", a.attach_time.as_ref())
                        .s("AttachmentId", a.attachment_id.as_ref())
                        .b("DeleteOnTermination", a.delete_on_termination)
                        .i("DeviceIndex", a.device_index)
                        .s("Status", a.status.as_ref().map(|s| s.as_str()))
                        .i("NetworkCardIndex", a.network_card_index)
                        .done()
                })
                .s("Description", n.description.as_ref())
                .list("Groups", n.groups.as_ref(), group)
                .list("Ipv6Addresses", n.ipv6_addresses.as_ref(), |a| {
                    Obj::new()
                        .s("Ipv6Address", a.ipv6_address.as_ref())
                        .b("IsPrimaryIpv6", a.is_primary_ipv6)
                        .done()
                })
                .s("MacAddress", n.mac_address.as_ref())
                .s("NetworkInterfaceId", n.network_interface_id.as_ref())
                .s("OwnerId", n.owner_id.as_ref())
                .s("PrivateDnsName", n.private_dns_name.as_ref())
                .s("PrivateIpAddress", n.private_ip_address.as_ref())
                .list("PrivateIpAddresses", n.private_ip_addresses.as_ref(), |p| {
                    Obj::new()
                        .obj("Association", p.association.as_ref(), association)
                        .b("Primary", p.primary)
                        .s("PrivateDnsName", p.private_dns_name.as_ref())
                        .s("PrivateIpAddress", p.private_ip_address.as_ref())
                        .done()
                })
                .b("SourceDestCheck", n.source_dest_check)
                .s("Status", n.status.as_ref().map(|s| s.as_str()))
                .s("SubnetId", n.subnet_id.as_ref())
                .s("VpcId", n.vpc_id.as_ref())
                .s("InterfaceType", n.interface_type.as_ref())
                .done()
        })
        .s("OutpostArn", i.outpost_arn.as_ref())
        .s("RootDeviceName", i.root_device_name.as_ref())
        .s(
            "RootDeviceType",
            i.root_device_type.as_ref().map(|t| t.as_str()),
        )
        .list("SecurityGroups", i.security_groups.as_ref(), group)
        .b("SourceDestCheck", i.source_dest_check)
        .s("SpotInstanceRequestId", i.spot_instance_request_id.as_ref())
        .s("SriovNetSupport", i.sriov_net_support.as_ref())
        .obj("StateReason", i.state_reason.as_ref(), |r| {
            Obj::new()
                .s("Code", r.code.as_ref())
                .s("Message", r.message.as_ref())
                .done()
        })
        .list("Tags", i.tags.as_ref(), tag)
        .s(
            "VirtualizationType",
            i.virtualization_type.as_ref().map(|v| v.as_str()),
        )
        .obj("CpuOptions", i.cpu_options.as_ref(), |c| {
            Obj::new()
                .i("CoreCount", c.core_count)
                .i("ThreadsPerCore", c.threads_per_core)
                .done()
        })
        .s("CapacityReservationId", i.capacity_reservation_id.as_ref())
        .obj("HibernationOptions", i.hibernation_options.as_ref(), |h| {
            Obj::new().b("Configured", h.configured).done()
        })
        .obj("MetadataOptions", i.metadata_options.as_ref(), |m| {
            Obj::new()
                .s("State", m.state.as_ref().map(|s| s.as_str()))
                .s("HttpTokens", m.http_tokens.as_ref().map(|s| s.as_str()))
                .i("HttpPutResponseHopLimit", m.http_put_response_hop_limit)
                .s("HttpEndpoint", m.http_endpoint.as_ref().map(|s| s.as_str()))
                .s(
                    "HttpProtocolIpv6",
                    m.http_protocol_ipv6.as_ref().map(|s| s.as_str()),
                )
                .s(
                    "InstanceMetadataTags",
                    m.instance_metadata_tags.as_ref().map(|s| s.as_str()),
                )
                .done()
        })
        .obj("EnclaveOptions", i.enclave_options.as_ref(), |e| {
            Obj::new().b("Enabled", e.enabled).done()
        })
        .s("BootMode", i.boot_mode.as_ref().map(|b| b.as_str()))
        .s("PlatformDetails", i.platform_details.as_ref())
        .s("UsageOperation", i.usage_operation.as_ref())
        .t(
            "UsageOperationUpdateTime",
            i.usage_operation_update_time.as_ref(),
        )
        .obj(
            "PrivateDnsNameOptions",
            i.private_dns_name_options.as_ref(),
            |p| {
                Obj::new()
                    .s("HostnameType", p.hostname_type.as_ref().map(|h| h.as_str()))
                    .b(
                        "EnableResourceNameDnsARecord",
                        p.enable_resource_name_dns_a_record,
                    )
                    .b(
                        "EnableResourceNameDnsAAAARecord",
                        p.enable_resource_name_dns_aaaa_record,
                    )
                    .done()
            },
        )
        .s("Ipv6Address", i.ipv6_address.as_ref())
        .obj("MaintenanceOptions", i.maintenance_options.as_ref(), |m| {
            Obj::new()
                .s("AutoRecovery", m.auto_recovery.as_ref().map(|a| a.as_str()))
                .done()
        })
        .s(
            "CurrentInstanceBootMode",
            i.current_instance_boot_mode.as_ref().map(|b| b.as_str()),
        )
        .s("Region", Some(region))
        .done()
}

/// An `aws/ec2/Subnet` document: one item of `describe-subnets` `.Subnets[]`, plus
/// `Region`.
pub fn subnet(s: &Subnet, region: &str) -> Value {
    Obj::new()
        .s("AvailabilityZoneId", s.availability_zone_id.as_ref())
        .i("EnableLniAtDeviceIndex", s.enable_lni_at_device_index)
        .b(
            "MapCustomerOwnedIpOnLaunch",
            s.map_customer_owned_ip_on_launch,
        )
        .s("CustomerOwnedIpv4Pool", s.customer_owned_ipv4_pool.as_ref())
        .s("OwnerId", s.owner_id.as_ref())
        .b(
            "AssignIpv6AddressOnCreation",
            s.assign_ipv6_address_on_creation,
        )
        .list(
            "Ipv6CidrBlockAssociationSet",
            s.ipv6_cidr_block_association_set.as_ref(),
            |a| {
                Obj::new()
                    .s("AssociationId", a.association_id.as_ref())
                    .s("Ipv6CidrBlock", a.ipv6_cidr_block.as_ref())
                    .obj(
                        "Ipv6CidrBlockState",
                        a.ipv6_cidr_block_state.as_ref(),
                        |st| {
                            Obj::new()
                                .s("State", st.state.as_ref().map(|x| x.as_str()))
                                .s("StatusMessage", st.status_message.as_ref())
                                .done()
                        },
                    )
                    .done()
            },
        )
        .list("Tags", s.tags.as_ref(), tag)
        .s("SubnetArn", s.subnet_arn.as_ref())
        .s("OutpostArn", s.outpost_arn.as_ref())
        .b("EnableDns64", s.enable_dns64)
        .b("Ipv6Native", s.ipv6_native)
        .obj(
            "PrivateDnsNameOptionsOnLaunch",
            s.private_dns_name_options_on_launch.as_ref(),
            |p| {
                Obj::new()
                    .s("HostnameType", p.hostname_type.as_ref().map(|h| h.as_str()))
                    .b(
                        "EnableResourceNameDnsARecord",
                        p.enable_resource_name_dns_a_record,
                    )
                    .b(
                        "EnableResourceNameDnsAAAARecord",
                        p.enable_resource_name_dns_aaaa_record,
                    )
                    .done()
            },
        )
        .s("SubnetId", s.subnet_id.as_ref())
        .s("State", s.state.as_ref().map(|x| x.as_str()))
        .s("VpcId", s.vpc_id.as_ref())
        .s("CidrBlock", s.cidr_block.as_ref())
        .i("AvailableIpAddressCount", s.available_ip_address_count)
        .s("AvailabilityZone", s.availability_zone.as_ref())
        .b("DefaultForAz", s.default_for_az)
        .b("MapPublicIpOnLaunch", s.map_public_ip_on_launch)
        .s("Region", Some(region))
        .done()
}

fn permission(p: &IpPermission) -> Value {
    Obj::new()
        .s("IpProtocol", p.ip_protocol.as_ref())
        .i("FromPort", p.from_port)
        .i("ToPort", p.to_port)
        .list("UserIdGroupPairs", p.user_id_group_pairs.as_ref(), |g| {
            Obj::new()
                .s("Description", g.description.as_ref())
                .s("UserId", g.user_id.as_ref())
                .s("GroupName", g.group_name.as_ref())
                .s("GroupId", g.group_id.as_ref())
                .s("VpcId", g.vpc_id.as_ref())
                .s(
                    "VpcPeeringConnectionId",
                    g.vpc_peering_connection_id.as_ref(),
                )
                .s("PeeringStatus", g.peering_status.as_ref())
                .done()
        })
        .list("IpRanges", p.ip_ranges.as_ref(), |r| {
            Obj::new()
                .s("Description", r.description.as_ref())
                .s("CidrIp", r.cidr_ip.as_ref())
                .done()
        })
        .list("Ipv6Ranges", p.ipv6_ranges.as_ref(), |r| {
            Obj::new()
                .s("Description", r.description.as_ref())
                .s("CidrIpv6", r.cidr_ipv6.as_ref())
                .done()
        })
        .list("PrefixListIds", p.prefix_list_ids.as_ref(), |l| {
            Obj::new()
                .s("Description", l.description.as_ref())
                .s("PrefixListId", l.prefix_list_id.as_ref())
                .done()
        })
        .done()
}

/// An `aws/ec2/SecurityGroup` document: one item of `describe-security-groups`
/// `.SecurityGroups[]`, plus `Region`.
pub fn security_group(g: &SecurityGroup, region: &str) -> Value {
    Obj::new()
        .s("GroupId", g.group_id.as_ref())
        .s("GroupName", g.group_name.as_ref())
        .s("Description", g.description.as_ref())
        .s("OwnerId", g.owner_id.as_ref())
        .s("VpcId", g.vpc_id.as_ref())
        .s("SecurityGroupArn", g.security_group_arn.as_ref())
        .list("IpPermissions", g.ip_permissions.as_ref(), permission)
        .list(
            "IpPermissionsEgress",
            g.ip_permissions_egress.as_ref(),
            permission,
        )
        .list("Tags", g.tags.as_ref(), tag)
        .s("Region", Some(region))
        .done()
}

/// An `aws/ec2/RouteTable` document: one item of `describe-route-tables`
/// `.RouteTables[]`, plus `Region`.
pub fn route_table(t: &RouteTable, region: &str) -> Value {
    Obj::new()
        .list("Associations", t.associations.as_ref(), |a| {
            Obj::new()
                .b("Main", a.main)
                .s(
                    "RouteTableAssociationId",
                    a.route_table_association_id.as_ref(),
                )
                .s("RouteTableId", a.route_table_id.as_ref())
                .s("SubnetId", a.subnet_id.as_ref())
                .s("GatewayId", a.gateway_id.as_ref())
                .s("PublicIpv4Pool", a.public_ipv4_pool.as_ref())
                .obj("AssociationState", a.association_state.as_ref(), |s| {
                    Obj::new()
                        .s("State", s.state.as_ref().map(|x| x.as_str()))
                        .s("StatusMessage", s.status_message.as_ref())
                        .done()
                })
                .done()
        })
        .list("PropagatingVgws", t.propagating_vgws.as_ref(), |g| {
            Obj::new().s("GatewayId", g.gateway_id.as_ref()).done()
        })
        .s("RouteTableId", t.route_table_id.as_ref())
        .list("Routes", t.routes.as_ref(), |r| {
            Obj::new()
                .s("DestinationCidrBlock", r.destination_cidr_block.as_ref())
                .s(
                    "DestinationIpv6CidrBlock",
                    r.destination_ipv6_cidr_block.as_ref(),
                )
                .s(
                    "DestinationPrefixListId",
                    r.destination_prefix_list_id.as_ref(),
                )
                .s(
                    "EgressOnlyInternetGatewayId",
                    r.egress_only_internet_gateway_id.as_ref(),
                )
                .s("GatewayId", r.gateway_id.as_ref())
                .s("InstanceId", r.instance_id.as_ref())
                .s("InstanceOwnerId", r.instance_owner_id.as_ref())
                .s("NatGatewayId", r.nat_gateway_id.as_ref())
                .s("TransitGatewayId", r.transit_gateway_id.as_ref())
                .s("LocalGatewayId", r.local_gateway_id.as_ref())
                .s("CarrierGatewayId", r.carrier_gateway_id.as_ref())
                .s("NetworkInterfaceId", r.network_interface_id.as_ref())
                .s("Origin", r.origin.as_ref().map(|o| o.as_str()))
                .s("State", r.state.as_ref().map(|s| s.as_str()))
                .s(
                    "VpcPeeringConnectionId",
                    r.vpc_peering_connection_id.as_ref(),
                )
                .s("CoreNetworkArn", r.core_network_arn.as_ref())
                .done()
        })
        .list("Tags", t.tags.as_ref(), tag)
        .s("VpcId", t.vpc_id.as_ref())
        .s("OwnerId", t.owner_id.as_ref())
        .s("Region", Some(region))
        .done()
}

/// An `aws/ec2/VpcEndpoint` document: one item of `describe-vpc-endpoints`
/// `.VpcEndpoints[]` (`PolicyDocument` stays a string), plus `Region`.
pub fn vpc_endpoint(e: &VpcEndpoint, region: &str) -> Value {
    Obj::new()
        .s("VpcEndpointId", e.vpc_endpoint_id.as_ref())
        .s(
            "VpcEndpointType",
            e.vpc_endpoint_type.as_ref().map(|t| t.as_str()),
        )
        .s("VpcId", e.vpc_id.as_ref())
        .s("ServiceName", e.service_name.as_ref())
        .s("State", e.state.as_ref().map(|s| s.as_str()))
        .s("PolicyDocument", e.policy_document.as_ref())
        .strs("RouteTableIds", e.route_table_ids.as_ref())
        .strs("SubnetIds", e.subnet_ids.as_ref())
        .list("Groups", e.groups.as_ref(), |g| {
            Obj::new()
                .s("GroupId", g.group_id.as_ref())
                .s("GroupName", g.group_name.as_ref())
                .done()
        })
        .s(
            "IpAddressType",
            e.ip_address_type.as_ref().map(|t| t.as_str()),
        )
        .obj("DnsOptions", e.dns_options.as_ref(), |d| {
            Obj::new()
                .s(
                    "DnsRecordIpType",
                    d.dns_record_ip_type.as_ref().map(|t| t.as_str()),
                )
                .b(
                    "PrivateDnsOnlyForInboundResolverEndpoint",
                    d.private_dns_only_for_inbound_resolver_endpoint,
                )
                .done()
        })
        .b("PrivateDnsEnabled", e.private_dns_enabled)
        .b("RequesterManaged", e.requester_managed)
        .strs("NetworkInterfaceIds", e.network_interface_ids.as_ref())
        .list("DnsEntries", e.dns_entries.as_ref(), |d| {
            Obj::new()
                .s("DnsName", d.dns_name.as_ref())
                .s("HostedZoneId", d.hosted_zone_id.as_ref())
                .done()
        })
        .t("CreationTimestamp", e.creation_timestamp.as_ref())
        .list("Tags", e.tags.as_ref(), tag)
        .s("OwnerId", e.owner_id.as_ref())
        .obj("LastError", e.last_error.as_ref(), |l| {
            Obj::new()
                .s("Message", l.message.as_ref())
                .s("Code", l.code.as_ref())
                .done()
        })
        .s("FailureReason", e.failure_reason.as_ref())
        .s("ServiceRegion", e.service_region.as_ref())
        .s("Region", Some(region))
        .done()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{
        HttpTokensState, IamInstanceProfile, InstanceMetadataOptionsResponse, InstanceState,
        InstanceStateName, InstanceType, Placement, Route, RouteOrigin, RouteState,
        RouteTableAssociation, State, SubnetState, VpcEndpointType,
    };
    use aws_smithy_types::DateTime;
    use serde_json::json;

    #[test]
    fn instances_keep_the_cli_shape() {
        let i = Instance::builder()
            .instance_id("i-0123456789abcdef0")
            .instance_type(InstanceType::M5Large)
            .launch_time(DateTime::from_secs(1_700_000_000))
            .state(
                InstanceState::builder()
                    .code(16)
                    .name(InstanceStateName::Running)
                    .build(),
            )
            .placement(Placement::builder().availability_zone("us-west-2a").build())
            .iam_instance_profile(
                IamInstanceProfile::builder()
                    .arn("arn:aws:iam::111122223333:instance-profile/node")
                    .id("AIPA1")
                    .build(),
            )
            .metadata_options(
                InstanceMetadataOptionsResponse::builder()
                    .http_tokens(HttpTokensState::Required)
                    .http_put_response_hop_limit(1)
                    .build(),
            )
            .tags(Tag::builder().key("Name").value("n1").build())
            .subnet_id("subnet-1")
            .build();
        assert_eq!(
            instance(&i, "us-west-2"),
            json!({
                "InstanceId": "i-0123456789abcdef0",
                "InstanceType": "m5.large",
                "LaunchTime": "2023-11-14T22:13:20+00:00",
                "State": {"Code": 16, "Name": "running"},
                "Placement": {"AvailabilityZone": "us-west-2a"},
                "IamInstanceProfile": {"Arn": "arn:aws:iam::111122223333:instance-profile/node", "Id": "AIPA1"},
                "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
                "Tags": [{"Key": "Name", "Value": "n1"}],
                "SubnetId": "subnet-1",
                "Region": "us-west-2"
            })
        );
    }

    #[test]
    fn networking_documents_keep_the_cli_shape() {
        let s = Subnet::builder()
            .subnet_id("subnet-1")
            .vpc_id("vpc-1")
            .state(SubnetState::Available)
            .cidr_block("10.0.0.0/24")
            .map_public_ip_on_launch(false)
            .build();
        assert_eq!(
            subnet(&s, "r"),
            json!({"SubnetId": "subnet-1", "VpcId": "vpc-1", "State": "available",
                   "CidrBlock": "10.0.0.0/24", "MapPublicIpOnLaunch": false, "Region": "r"})
        );
        let t = RouteTable::builder()
            .route_table_id("rtb-1")
            .vpc_id("vpc-1")
            .associations(
                RouteTableAssociation::builder()
                    .main(false)
                    .subnet_id("subnet-1")
                    .route_table_id("rtb-1")
                    .build(),
            )
            .routes(
                Route::builder()
                    .destination_cidr_block("0.0.0.0/0")
                    .nat_gateway_id("nat-1")
                    .origin(RouteOrigin::CreateRoute)
                    .state(RouteState::Active)
                    .build(),
            )
            .build();
        assert_eq!(
            route_table(&t, "r"),
            json!({
                "RouteTableId": "rtb-1", "VpcId": "vpc-1",
                "Associations": [{"Main": false, "SubnetId": "subnet-1", "RouteTableId": "rtb-1"}],
                "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1",
                            "Origin": "CreateRoute", "State": "active"}],
                "Region": "r"
            })
        );
        let e = VpcEndpoint::builder()
            .vpc_endpoint_id("vpce-1")
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .service_name("com.amazonaws.us-west-2.ecr.dkr")
            .state(State::Available)
            .policy_document("{\"Statement\":[]}")
            .build();
        assert_eq!(
            vpc_endpoint(&e, "r"),
            json!({"VpcEndpointId": "vpce-1", "VpcEndpointType": "Interface",
                   "ServiceName": "com.amazonaws.us-west-2.ecr.dkr", "State": "Available",
                   "PolicyDocument": "{\"Statement\":[]}", "Region": "r"})
        );
    }
}
