//! EC2 and EKS operations against moto.

use aws_sdk_ec2::types::{IamInstanceProfileSpecification, InstanceType, VpcEndpointType};
use aws_sdk_eks::types::{FargateProfileSelector, VpcConfigRequest};
use rulerun_collect_aws::{AwsOptions, FetchError};

use crate::common::{
    REGION, calls, collector, config, docs, expect_calls, key, one, options, unique,
};
use crate::iam::seed_node_role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_subnets_route_tables_endpoints_and_nodegroups() {
    let conf = config().await;
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let eks = aws_sdk_eks::Client::new(&conf);
    let iam = aws_sdk_iam::Client::new(&conf);

    let role_name = unique("ng-node");
    let (role_arn, profile_arn) = seed_node_role(&iam, &role_name).await;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.10.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let mut subnets = Vec::new();
    for cidr in ["10.10.1.0/24", "10.10.2.0/24"] {
        let s = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(cidr)
            .availability_zone("us-west-2a")
            .send()
            .await
            .unwrap();
        subnets.push(s.subnet.unwrap().subnet_id.unwrap());
    }
    let (with_table, without_table) = (subnets[0].clone(), subnets[1].clone());
    let rtb = ec2
        .create_route_table()
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .route_table
        .unwrap()
        .route_table_id
        .unwrap();
    ec2.associate_route_table()
        .route_table_id(&rtb)
        .subnet_id(&with_table)
        .send()
        .await
        .unwrap();
    ec2.create_vpc_endpoint()
        .vpc_id(&vpc)
        .service_name("com.amazonaws.us-west-2.ecr.dkr")
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .subnet_ids(&with_table)
        .send()
        .await
        .unwrap();
    let run = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(3)
        .max_count(3)
        .instance_type(InstanceType::T3Micro)
        .subnet_id(&with_table)
        .iam_instance_profile(
            IamInstanceProfileSpecification::builder()
                .arn(&profile_arn)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ids: Vec<String> = run
        .instances
        .unwrap()
        .into_iter()
        .map(|i| i.instance_id.unwrap())
        .collect();
    assert_eq!(ids.len(), 3);

    let cluster = unique("cluster");
    let nodegroup = unique("ng");
    eks.create_cluster()
        .name(&cluster)
        .role_arn(&role_arn)
        .resources_vpc_config(VpcConfigRequest::builder().subnet_ids(&with_table).build())
        .send()
        .await
        .unwrap();
    eks.create_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name(&nodegroup)
        .node_role(&role_arn)
        .subnets(&with_table)
        .send()
        .await
        .unwrap();

    let c = collector(AwsOptions {
        cluster_name: Some(cluster.clone()),
        ..options()
    })
    .await;

    // Three instances: one call.
    let keys: Vec<Vec<String>> = ids.iter().map(|i| vec![i.clone()]).collect();
    let r = c.fetch("ec2.instance", &keys).await;
    for (res, id) in r.iter().zip(&ids) {
        let inst = one(res, "aws/ec2/Instance");
        assert_eq!(&inst["InstanceId"], id.as_str());
        assert_eq!(inst["Region"], REGION);
        assert_eq!(inst["SubnetId"], with_table.as_str());
        assert_eq!(inst["State"]["Name"], "running");
        assert!(inst["LaunchTime"].as_str().unwrap().ends_with("+00:00"));
    }
    // moto associates the instance profile with the first instance of a launch only.
    assert_eq!(
        one(&r[0], "aws/ec2/Instance")["IamInstanceProfile"]["Arn"],
        profile_arn.as_str()
    );
    assert_eq!(c.calls().get("ec2.DescribeInstances"), Some(&1));
    // A missing instance: nothing; a malformed id: an error without a call.
    let r = c
        .fetch(
            "ec2.instance",
            &[key(&["i-00000000000000000"]), key(&["not-an-id"])],
        )
        .await;
    assert_eq!(r[0].outcome, Ok(vec![]));
    assert!(
        r[1].outcome
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("`not-an-id` is not an EC2 instance id")
    );

    let s = c.fetch("ec2.subnet", &[key(&[&with_table])]).await;
    let subnet = one(&s[0], "aws/ec2/Subnet");
    assert_eq!(subnet["VpcId"], vpc.as_str());
    assert_eq!(subnet["CidrBlock"], "10.10.1.0/24");
    assert_eq!(subnet["Region"], REGION);

    let t = c
        .fetch(
            "ec2.route-tables",
            &[key(&[&with_table]), key(&[&without_table])],
        )
        .await;
    let explicit = one(&t[0], "aws/ec2/RouteTable");
    assert_eq!(explicit["RouteTableId"], rtb.as_str());
    assert!(
        explicit["Associations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["SubnetId"] == with_table.as_str())
    );
    let main = one(&t[1], "aws/ec2/RouteTable");
    assert_eq!(main["VpcId"], vpc.as_str());
    assert!(
        main["Associations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["Main"] == true)
    );

    // By VPC: every subnet (both, with free addresses) and every route table (the
    // explicit one and the main one).
    let v = c.fetch("ec2.vpc-subnets", &[key(&[&vpc])]).await;
    let mut ids: Vec<&str> = docs(&v[0])
        .iter()
        .map(|(kind, d)| {
            assert_eq!(*kind, "aws/ec2/Subnet");
            assert!(d["AvailableIpAddressCount"].as_i64().unwrap() > 0, "{d:#}");
            d["SubnetId"].as_str().unwrap()
        })
        .collect();
    ids.sort_unstable();
    let mut want = vec![with_table.as_str(), without_table.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    let v = c.fetch("ec2.vpc-route-tables", &[key(&[&vpc])]).await;
    let mut tables: Vec<&str> = docs(&v[0])
        .iter()
        .map(|(_, d)| d["RouteTableId"].as_str().unwrap())
        .collect();
    tables.sort_unstable();
    let mut want = vec![rtb.as_str(), main["RouteTableId"].as_str().unwrap()];
    want.sort_unstable();
    assert_eq!(tables, want);

    let e = c.fetch("ec2.vpc-endpoints", &[key(&[&vpc])]).await;
    let endpoints = docs(&e[0]);
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0].0, "aws/ec2/VpcEndpoint");
    assert_eq!(
        endpoints[0].1["ServiceName"],
        "com.amazonaws.us-west-2.ecr.dkr"
    );
    assert_eq!(endpoints[0].1["Region"], REGION);

    let n = c
        .fetch(
            "eks.nodegroup",
            &[key(&[&nodegroup]), key(&["no-such-nodegroup"])],
        )
        .await;
    let ng = one(&n[0], "aws/eks/Nodegroup");
    assert_eq!(ng["nodegroupName"], nodegroup.as_str());
    assert_eq!(ng["clusterName"], cluster.as_str());
    assert_eq!(ng["nodeRole"], role_arn.as_str());
    let missing = n[1].outcome.as_ref().unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("has no node group `no-such-nodegroup`"),
        "{missing}"
    );
    assert!(missing.help().unwrap().contains("--cluster-name"));

    assert_eq!(
        calls(&c),
        expect_calls(&[
            // 1 batch of 3; 1 for the missing one.
            ("ec2.DescribeInstances", 2),
            // The explicit subnet, then the one without a table (for its VPC);
            // then the VPC's, all at once.
            ("ec2.DescribeSubnets", 3),
            // By association; by association, then the VPC's main table; then
            // the VPC's, all at once.
            ("ec2.DescribeRouteTables", 4),
            ("ec2.DescribeVpcEndpoints", 1),
            ("eks.DescribeNodegroup", 2),
        ])
    );

    // Without a cluster name, node groups cannot be read.
    let no_cluster = collector(options()).await;
    let r = no_cluster
        .fetch("eks.nodegroup", &[key(&[&nodegroup])])
        .await;
    let e = r[0].outcome.as_ref().unwrap_err();
    assert!(matches!(e, FetchError::Other { .. }));
    assert!(e.help().unwrap().contains("--cluster-name"), "{e:?}");
    assert!(no_cluster.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vpcs_main_route_table() {
    let conf = config().await;
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.30.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    // Another table of the VPC, not main: must not come back.
    ec2.create_route_table().vpc_id(&vpc).send().await.unwrap();
    let c = collector(options()).await;
    let r = c
        .fetch("ec2.main-route-table", &[key(&[&vpc, "true"])])
        .await;
    let table = one(&r[0], "aws/ec2/RouteTable");
    assert_eq!(table["VpcId"], vpc.as_str());
    assert!(
        table["Associations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["Main"] == true),
        "{table:#}"
    );
    assert_eq!(calls(&c), expect_calls(&[("ec2.DescribeRouteTables", 1)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fargate_profiles_by_name_and_nothing_for_a_missing_one() {
    let conf = config().await;
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let eks = aws_sdk_eks::Client::new(&conf);
    let iam = aws_sdk_iam::Client::new(&conf);

    // The pod execution role Fargate pulls images with.
    let role_name = unique("fargate-pods");
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "eks-fargate-pods.amazonaws.com"},
        "Action": "sts:AssumeRole"}]});
    let pod_role_arn = iam
        .create_role()
        .role_name(&role_name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .arn;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.40.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.40.1.0/24")
        .availability_zone("us-west-2a")
        .send()
        .await
        .unwrap()
        .subnet
        .unwrap()
        .subnet_id
        .unwrap();
    let cluster = unique("cluster");
    let profile = unique("fp");
    eks.create_cluster()
        .name(&cluster)
        .role_arn(&pod_role_arn)
        .resources_vpc_config(VpcConfigRequest::builder().subnet_ids(&subnet).build())
        .send()
        .await
        .unwrap();
    eks.create_fargate_profile()
        .cluster_name(&cluster)
        .fargate_profile_name(&profile)
        .pod_execution_role_arn(&pod_role_arn)
        .subnets(&subnet)
        .selectors(
            FargateProfileSelector::builder()
                .namespace("apps")
                .labels("compute", "fargate")
                .build(),
        )
        .tags("team", "a")
        .send()
        .await
        .unwrap();

    let c = collector(AwsOptions {
        cluster_name: Some(cluster.clone()),
        ..options()
    })
    .await;
    // Keys as rules join them: the value of the pod label
    // `eks.amazonaws.com/fargate-profile`.
    let r = c
        .fetch(
            "eks.fargate-profile",
            &[key(&[&profile]), key(&["no-such-profile"])],
        )
        .await;
    let fp = one(&r[0], "aws/eks/FargateProfile");
    assert_eq!(fp["fargateProfileName"], profile.as_str());
    assert_eq!(fp["clusterName"], cluster.as_str());
    assert_eq!(fp["podExecutionRoleArn"], pod_role_arn.as_str());
    assert!(
        fp["fargateProfileArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:eks:us-west-2:"),
        "{fp:#}"
    );
    assert_eq!(fp["subnets"], serde_json::json!([subnet]));
    assert_eq!(
        fp["selectors"],
        serde_json::json!([{"namespace": "apps", "labels": {"compute": "fargate"}}])
    );
    assert_eq!(fp["status"], "ACTIVE");
    assert_eq!(fp["tags"]["team"], "a");
    assert!(fp["createdAt"].as_str().unwrap().ends_with("+00:00"));
    // A profile the cluster does not have: nothing.
    assert_eq!(r[1].outcome, Ok(vec![]));
    // Each key once: asking again is answered from the cache.
    c.fetch("eks.fargate-profile", &[key(&[&profile])]).await;
    assert_eq!(
        calls(&c),
        expect_calls(&[("eks.DescribeFargateProfile", 2)])
    );

    // A cluster that does not exist: an error naming `--cluster-name`, not nothing.
    let wrong = collector(AwsOptions {
        cluster_name: Some(unique("no-such-cluster")),
        ..options()
    })
    .await;
    let r = wrong
        .fetch("eks.fargate-profile", &[key(&[&profile])])
        .await;
    let e = r[0].outcome.as_ref().unwrap_err();
    assert!(e.to_string().contains("there is no EKS cluster"), "{e}");
    assert!(e.help().unwrap().contains("--cluster-name"), "{e:?}");

    // Without a cluster name, profiles cannot be read.
    let no_cluster = collector(options()).await;
    let r = no_cluster
        .fetch("eks.fargate-profile", &[key(&[&profile])])
        .await;
    let e = r[0].outcome.as_ref().unwrap_err();
    assert!(matches!(e, FetchError::Other { .. }));
    assert!(e.help().unwrap().contains("--cluster-name"), "{e:?}");
    assert!(no_cluster.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_groups_and_efs_mount_targets() {
    use aws_sdk_ec2::types::{IpPermission, UserIdGroupPair};
    let conf = config().await;
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let efs = aws_sdk_efs::Client::new(&conf);

    let vpc = ec2
        .create_vpc()
        .cidr_block("10.20.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.20.1.0/24")
        .availability_zone("us-west-2a")
        .send()
        .await
        .unwrap()
        .subnet
        .unwrap()
        .subnet_id
        .unwrap();
    let mut groups = Vec::new();
    for name in ["nodes", "efs"] {
        let id = ec2
            .create_security_group()
            .vpc_id(&vpc)
            .group_name(unique(name))
            .description(name)
            .send()
            .await
            .unwrap()
            .group_id
            .unwrap();
        groups.push(id);
    }
    let (nodes, efs_group) = (&groups[0], &groups[1]);
    ec2.authorize_security_group_ingress()
        .group_id(efs_group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(2049)
                .to_port(2049)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(nodes).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let fs = efs
        .create_file_system()
        .creation_token(unique("fs"))
        .send()
        .await
        .unwrap()
        .file_system_id;
    let target = efs
        .create_mount_target()
        .file_system_id(&fs)
        .subnet_id(&subnet)
        .security_groups(efs_group)
        .send()
        .await
        .unwrap()
        .mount_target_id;

    let c = collector(options()).await;
    let r = c
        .fetch(
            "ec2.security-group",
            &[key(&[efs_group]), key(&["sg-0123456789abcdef0"])],
        )
        .await;
    let g = one(&r[0], "aws/ec2/SecurityGroup");
    assert_eq!(g["GroupId"], efs_group.as_str());
    assert_eq!(g["VpcId"], vpc.as_str());
    let rule = &g["IpPermissions"][0];
    assert_eq!(rule["IpProtocol"], "tcp");
    assert_eq!(rule["FromPort"], 2049);
    assert_eq!(rule["ToPort"], 2049);
    assert_eq!(rule["UserIdGroupPairs"][0]["GroupId"], nodes.as_str());
    assert_eq!(g["Region"], REGION);
    // A group that does not exist is no document, not an error.
    assert!(docs(&r[1]).is_empty(), "{:?}", r[1].outcome);

    let r = c
        .fetch(
            "efs.mount-targets",
            &[key(&[&fs]), key(&["fs-0123456789abcdef0"])],
        )
        .await;
    let t = one(&r[0], "aws/efs/MountTarget");
    assert_eq!(t["MountTargetId"], target.as_str());
    assert_eq!(t["FileSystemId"], fs.as_str());
    assert_eq!(t["SubnetId"], subnet.as_str());
    assert_eq!(t["LifeCycleState"], "available");
    assert_eq!(t["SecurityGroups"], serde_json::json!([efs_group]));
    assert!(
        t["IpAddress"].as_str().unwrap().starts_with("10.20.1."),
        "{t:#}"
    );
    assert_eq!(docs(&r[0]).len(), 1);
    // A file system that does not exist has no mount targets.
    assert!(docs(&r[1]).is_empty(), "{:?}", r[1].outcome);
    assert_eq!(
        calls(&c),
        expect_calls(&[
            ("ec2.DescribeSecurityGroups", 2),
            ("efs.DescribeMountTargetSecurityGroups", 1),
            ("efs.DescribeMountTargets", 2),
        ])
    );
}
