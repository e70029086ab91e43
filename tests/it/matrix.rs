//! The image-pull scenario matrix, end to end: every cause of an ECR pull failure
//! the `eks-image-pull` pack diagnoses, on every kind of node (EKS managed node
//! group, self-managed, Karpenter, Fargate), for regular and init containers.
//!
//! One mixed cluster (as real ones are) in the stand-in API server, one namespace
//! per case holding a Deployment, its ReplicaSet, the failing pod and the events a
//! kubelet writes for the cause; moto holds the AWS side, seeded through the AWS
//! SDK for Python (boto3, which moto itself depends on) in a few batches. For
//! each case, `rulerun check -n CASE` (real kube client, real AWS SDK, in-process)
//! must report exactly the cause's rule for the failing container, with
//! `containerKind` and `compute` in its evidence; for the cases whose fix changes
//! AWS, the printed AWS commands run through `sh` with the AWS CLI against moto (the
//! last, `kubectl rollout restart`, is asserted), the check after reports no cause
//! any more, and the node role gained no write on the repository (`rulerun iam
//! eval`). The table printed at the end (`--nocapture`) lists every case; the test
//! fails listing every failing case.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::e2e::{ACCOUNT, REGION, cli, live_args, moto};
use crate::support::rulerun;
use rulerun_kube_stub::Stub;

const CLUSTER: &str = "mx-cluster";
/// The tag every seeded repository holds.
const TAG: &str = "1.2.1";
/// The VPC endpoint a perimeter policy requires.
const PERIMETER_VPCE: &str = "vpce-0123456789abcdef0";
/// The actions the deny variants list besides the pull (writes and administration).
const WRITES: [&str; 7] = [
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:BatchDeleteImage",
    "ecr:DeleteRepository",
    "ecr:SetRepositoryPolicy",
];
const PULL: [&str; 2] = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
/// What the node role must never gain on the repository through a fix.
const NO_WRITE: [&str; 3] = [
    "ecr:PutImage",
    "ecr:DeleteRepository",
    "ecr:SetRepositoryPolicy",
];
/// The image of main containers left waiting in `PodInitializing`.
const SIDE_IMAGE: &str = "public.ecr.aws/docker/library/nginx:1.27";
/// How many CLI runs (checks, fixes) go at once.
const PARALLEL: usize = 4;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Compute {
    Managed,
    SelfManaged,
    Karpenter,
    Fargate,
}

const COMPUTES: [Compute; 4] = [
    Compute::Managed,
    Compute::SelfManaged,
    Compute::Karpenter,
    Compute::Fargate,
];

impl Compute {
    fn slug(self) -> &'static str {
        match self {
            Compute::Managed => "mng",
            Compute::SelfManaged => "self",
            Compute::Karpenter => "karp",
            Compute::Fargate => "fargate",
        }
    }

    /// The rules' `compute` evidence.
    fn evidence(self) -> &'static str {
        match self {
            Compute::Managed => "managed node group",
            Compute::SelfManaged => "self-managed",
            Compute::Karpenter => "karpenter",
            Compute::Fargate => "fargate",
        }
    }

    fn ec2(self) -> bool {
        self != Compute::Fargate
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cause {
    /// Repository policy: `Deny` of pull and write actions to the node role's ARN.
    DenyRole,
    /// ... to the account root (every principal of the account).
    DenyRoot,
    /// ... to everyone but an admin role (`NotPrincipal`).
    DenyNotPrincipal,
    /// `Deny` of `ecr:*` to the node role.
    DenyWildcard,
    /// The only statement denies exactly the two pull actions: the fix deletes the policy.
    DenyExact,
    /// The role has no ECR policy and the repository no policy.
    MissingGrant,
    /// The role may get a token (inline) but nothing grants the pull: 403.
    MissingPull,
    /// The role has AmazonEC2ContainerRegistryReadOnly but a boundary allowing only `s3:*`.
    Boundary,
    /// The role may pull the repository (inline) but not `ecr:GetAuthorizationToken`: 401.
    Token,
    MissingTag,
    MissingRepo,
    /// Private subnet, no default route, no VPC endpoints.
    Network,
    /// `Deny ecr:*` to `*` unless `aws:SourceVpce` is the perimeter's endpoint.
    Perimeter,
}

const CAUSES: [Cause; 13] = [
    Cause::DenyRole,
    Cause::DenyRoot,
    Cause::DenyNotPrincipal,
    Cause::DenyWildcard,
    Cause::DenyExact,
    Cause::MissingGrant,
    Cause::MissingPull,
    Cause::Boundary,
    Cause::Token,
    Cause::MissingTag,
    Cause::MissingRepo,
    Cause::Network,
    Cause::Perimeter,
];

/// The node roles of one compute type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RoleKind {
    /// The usual node role (ReadOnly attached; the Fargate pod execution policy on Fargate).
    Std,
    NoGrant,
    Boundary,
    Token,
    /// Only `ecr:GetAuthorizationToken` (inline).
    TokenOnly,
}

const ROLE_KINDS: [RoleKind; 5] = [
    RoleKind::Std,
    RoleKind::NoGrant,
    RoleKind::Boundary,
    RoleKind::Token,
    RoleKind::TokenOnly,
];

impl RoleKind {
    fn slug(self) -> &'static str {
        match self {
            RoleKind::Std => "std",
            RoleKind::NoGrant => "nogrant",
            RoleKind::Boundary => "boundary",
            RoleKind::Token => "token",
            RoleKind::TokenOnly => "tokenonly",
        }
    }
}

impl Cause {
    fn slug(self) -> &'static str {
        match self {
            Cause::DenyRole => "deny-role",
            Cause::DenyRoot => "deny-root",
            Cause::DenyNotPrincipal => "deny-notprincipal",
            Cause::DenyWildcard => "deny-wildcard",
            Cause::DenyExact => "deny-exact",
            Cause::MissingGrant => "missing-grant",
            Cause::MissingPull => "missing-grant-403",
            Cause::Boundary => "boundary",
            Cause::Token => "token-401",
            Cause::MissingTag => "missing-tag",
            Cause::MissingRepo => "missing-repo",
            Cause::Network => "network",
            Cause::Perimeter => "perimeter",
        }
    }

    fn rule(self) -> &'static str {
        match self {
            Cause::DenyRole
            | Cause::DenyRoot
            | Cause::DenyNotPrincipal
            | Cause::DenyWildcard
            | Cause::DenyExact
            | Cause::Perimeter => "ecr-repository-policy-denies-pull",
            Cause::MissingGrant | Cause::MissingPull | Cause::Boundary => {
                "node-role-missing-ecr-pull"
            }
            Cause::Token => "ecr-auth-token-unavailable",
            Cause::MissingTag => "ecr-image-tag-not-found",
            Cause::MissingRepo => "ecr-repository-not-found",
            Cause::Network => "ecr-endpoint-unreachable",
        }
    }

    fn role_kind(self) -> RoleKind {
        match self {
            Cause::MissingGrant => RoleKind::NoGrant,
            Cause::MissingPull => RoleKind::TokenOnly,
            Cause::Boundary => RoleKind::Boundary,
            Cause::Token => RoleKind::Token,
            _ => RoleKind::Std,
        }
    }

    /// Whether the printed fix changes AWS and is run.
    fn fix_runs(self) -> bool {
        !matches!(
            self,
            Cause::Boundary | Cause::MissingTag | Cause::MissingRepo
        )
    }

    fn is_deny(self) -> bool {
        matches!(
            self,
            Cause::DenyRole
                | Cause::DenyRoot
                | Cause::DenyNotPrincipal
                | Cause::DenyWildcard
                | Cause::DenyExact
        )
    }
}

/// One row of the matrix and the names of everything it owns.
struct Case {
    id: String,
    compute: Compute,
    cause: Cause,
    init: bool,
    /// The node the pod runs on (and, on EC2, its instance id once launched).
    node: String,
    instance: Option<String>,
}

impl Case {
    fn repo(&self) -> String {
        format!("mx-{}", self.id)
    }
    fn ns(&self) -> &str {
        &self.id
    }
    fn pod(&self) -> String {
        format!("{}-7c9f8d6b5d-x2k4q", self.id)
    }
    fn tag(&self) -> &'static str {
        if self.cause == Cause::MissingTag {
            "1.2.2"
        } else {
            TAG
        }
    }
    fn image(&self) -> String {
        format!(
            "{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{}:{}",
            self.repo(),
            self.tag()
        )
    }
    fn role(&self) -> String {
        role_name(self.compute, self.cause.role_kind())
    }
    fn role_arn(&self) -> String {
        format!("arn:aws:iam::{ACCOUNT}:role/{}", self.role())
    }
    fn repo_arn(&self) -> String {
        format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{}", self.repo())
    }
    fn container(&self) -> &'static str {
        if self.init { "fetch-assets" } else { "app" }
    }
    fn kind_evidence(&self) -> &'static str {
        if self.init {
            "init container"
        } else {
            "container"
        }
    }
    /// The role session the kubelet pulls with.
    fn principal(&self) -> String {
        let session = match &self.instance {
            Some(i) => i.clone(),
            None => format!("fargate-{}", self.pod()),
        };
        format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/{}/{session}",
            self.role()
        )
    }
}

fn role_name(c: Compute, k: RoleKind) -> String {
    format!("mx-{}-{}", c.slug(), k.slug())
}

fn role_arn(c: Compute, k: RoleKind) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{}", role_name(c, k))
}

/// Every case: each cause on each compute type where it makes sense (no network
/// path to check on Fargate), the container an init container on one compute
/// type per cause (rotating), a regular container on the others.
fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (i, cause) in CAUSES.into_iter().enumerate() {
        let applies = |c: Compute| !(cause == Cause::Network && c == Compute::Fargate);
        let mut init_on = COMPUTES[i % COMPUTES.len()];
        if !applies(init_on) {
            init_on = COMPUTES[(i + 1) % COMPUTES.len()];
        }
        for compute in COMPUTES {
            if !applies(compute) {
                continue;
            }
            let init = compute == init_on;
            let id = format!(
                "{}-{}{}",
                cause.slug(),
                compute.slug(),
                if init { "-init" } else { "" }
            );
            let node = match (compute, cause) {
                (Compute::Fargate, _) => {
                    format!("fargate-ip-10-0-9-{}.us-west-2.compute.internal", i + 10)
                }
                (_, Cause::Network) => {
                    format!("ip-10-61-{}-25.us-west-2.compute.internal", slot(compute))
                }
                _ => ec2_node(compute, cause.role_kind()),
            };
            out.push(Case {
                id,
                compute,
                cause,
                init,
                node,
                instance: None,
            });
        }
    }
    out
}

fn slot(c: Compute) -> usize {
    COMPUTES.iter().position(|x| *x == c).unwrap_or(0) + 1
}

/// The node name of the (shared) EC2 node of a compute type and role.
fn ec2_node(c: Compute, k: RoleKind) -> String {
    let r = ROLE_KINDS.iter().position(|x| *x == k).unwrap_or(0) + 1;
    format!("ip-10-0-{}-{}.us-west-2.compute.internal", slot(c), r * 10)
}

// ---------------------------------------------------------------------------
// AWS through boto3: one Python process per batch of calls.

const BOTO: &str = r#"
import json, sys, urllib.parse
import boto3, botocore
cfg = botocore.config.Config(retries={"max_attempts": 1})
clients = {}
def client(s):
    if s not in clients:
        clients[s] = boto3.client(s, region_name="us-west-2", config=cfg)
    return clients[s]
def doc(d):
    return json.loads(urllib.parse.unquote(d)) if isinstance(d, str) else d
def managed(iam, arn):
    p = iam.get_policy(PolicyArn=arn)["Policy"]
    v = iam.get_policy_version(PolicyArn=arn, VersionId=p["DefaultVersionId"])["PolicyVersion"]
    return {"name": p["PolicyName"], "arn": arn, "document": doc(v["Document"])}
req = json.load(sys.stdin)
out = {}
if req["mode"] == "calls":
    for c in req["calls"]:
        try:
            r = getattr(client(c["service"]), c["op"])(**c.get("params", {}))
            r.pop("ResponseMetadata", None)
        except botocore.exceptions.ClientError as e:
            code = e.response["Error"]["Code"]
            if code not in c.get("ok", []):
                sys.stderr.write("%s.%s %s: %s\n" % (c["service"], c["op"], json.dumps(c.get("params")), e))
                sys.exit(1)
            r = {"error": code}
        if c.get("key"):
            out[c["key"]] = r
else:
    iam = client("iam")
    for name in req["roles"]:
        identity = [managed(iam, p["PolicyArn"]) for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]]
        for pn in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            identity.append({"name": pn, "document": doc(iam.get_role_policy(RoleName=name, PolicyName=pn)["PolicyDocument"])})
        b = iam.get_role(RoleName=name)["Role"].get("PermissionsBoundary")
        boundary = [managed(iam, b["PermissionsBoundaryArn"])] if b else []
        out[name] = {"identity": identity, "boundary": boundary}
print(json.dumps(out, default=str))
"#;

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

fn boto(request: &Value) -> Value {
    let mut child = Command::new(python())
        .args(["-c", BOTO])
        .env("AWS_ENDPOINT_URL", moto())
        .env("AWS_DEFAULT_REGION", REGION)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} (boto3 comes with moto): {e}", python()));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(request.to_string().as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "boto3 batch failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A batch of SDK calls in order; the results of those with a key.
struct Batch(Vec<Value>);

impl Batch {
    fn new() -> Self {
        Batch(Vec::new())
    }
    fn call(&mut self, service: &str, op: &str, params: Value) -> &mut Self {
        self.0
            .push(json!({"service": service, "op": op, "params": params}));
        self
    }
    fn keyed(&mut self, key: &str, service: &str, op: &str, params: Value) -> &mut Self {
        self.0
            .push(json!({"service": service, "op": op, "params": params, "key": key}));
        self
    }
    fn run(&self) -> Value {
        boto(&json!({"mode": "calls", "calls": self.0}))
    }
}

fn policy(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn deny_actions() -> Vec<&'static str> {
    PULL.iter().chain(WRITES.iter()).copied().collect()
}

/// The repository policy a case starts with, if any.
fn repository_policy(case: &Case) -> Option<String> {
    let role = case.role_arn();
    let s = match case.cause {
        Cause::DenyRole => json!([{"Sid": "DenyNodeRole", "Effect": "Deny",
            "Principal": {"AWS": role}, "Action": deny_actions()}]),
        Cause::DenyRoot => json!([{"Sid": "DenyAccount", "Effect": "Deny",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": deny_actions()}]),
        Cause::DenyNotPrincipal => json!([{"Sid": "OnlyAdmins", "Effect": "Deny",
            "NotPrincipal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/mx-ecr-admin")},
            "Action": deny_actions()}]),
        Cause::DenyWildcard => json!([{"Sid": "DenyEverything", "Effect": "Deny",
            "Principal": {"AWS": role}, "Action": "ecr:*"}]),
        Cause::DenyExact => json!([{"Sid": "NoPull", "Effect": "Deny",
            "Principal": {"AWS": role}, "Action": PULL}]),
        Cause::Perimeter => json!([{"Sid": "OnlyThroughEndpoint", "Effect": "Deny",
            "Principal": "*", "Action": "ecr:*",
            "Condition": {"StringNotEquals": {"aws:SourceVpce": PERIMETER_VPCE}}}]),
        _ => return None,
    };
    Some(policy(s))
}

/// Seeds moto: the cluster, node roles per compute type, node groups, Fargate
/// profiles, instances, one repository per case, and a private VPC per network
/// case. Fills in each case's instance id.
fn seed(cases: &mut [Case]) {
    let ok_exists = json!([
        "EntityAlreadyExists",
        "ResourceInUseException",
        "RepositoryAlreadyExistsException",
        "ImageAlreadyExistsException"
    ]);
    let ec2_trust = policy(
        json!([{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
    );
    let fargate_trust = policy(
        json!([{"Effect": "Allow", "Principal": {"Service": "eks-fargate-pods.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
    );
    let aws_policy = |name: &str| format!("arn:aws:iam::aws:policy/{name}");
    let boundary_arn = format!("arn:aws:iam::{ACCOUNT}:policy/mx-s3-only");

    let mut b = Batch::new();
    b.call(
        "eks",
        "create_cluster",
        json!({"name": CLUSTER, "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/mx-cluster-role"),
               "resourcesVpcConfig": {"subnetIds": ["subnet-0a1b2c3d4e5f60718"]}}),
    );
    b.call(
        "iam",
        "create_policy",
        json!({"PolicyName": "mx-s3-only", "PolicyDocument":
               policy(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]))}),
    );
    for c in COMPUTES {
        for k in ROLE_KINDS {
            let name = role_name(c, k);
            let mut params = json!({"RoleName": name,
                "AssumeRolePolicyDocument": if c.ec2() { &ec2_trust } else { &fargate_trust }});
            if k == RoleKind::Boundary {
                params["PermissionsBoundary"] = json!(boundary_arn);
            }
            b.call("iam", "create_role", params);
            let mut attach = Vec::new();
            if c.ec2() {
                attach.push("AmazonEKSWorkerNodePolicy");
                if matches!(k, RoleKind::Std | RoleKind::Boundary) {
                    attach.push("AmazonEC2ContainerRegistryReadOnly");
                }
            } else if matches!(k, RoleKind::Std) {
                attach.push("AmazonEKSFargatePodExecutionRolePolicy");
            } else if matches!(k, RoleKind::Boundary) {
                attach.push("AmazonEC2ContainerRegistryReadOnly");
            }
            for p in attach {
                b.call(
                    "iam",
                    "attach_role_policy",
                    json!({"RoleName": name, "PolicyArn": aws_policy(p)}),
                );
            }
            if c.ec2() {
                b.call(
                    "iam",
                    "create_instance_profile",
                    json!({"InstanceProfileName": name}),
                );
                b.call(
                    "iam",
                    "add_role_to_instance_profile",
                    json!({"InstanceProfileName": name, "RoleName": name}),
                );
            }
            match c {
                Compute::Managed => {
                    b.call(
                        "eks",
                        "create_nodegroup",
                        json!({"clusterName": CLUSTER, "nodegroupName": format!("mx-{}", k.slug()),
                               "nodeRole": role_arn(c, k), "subnets": ["subnet-0a1b2c3d4e5f60718"]}),
                    );
                }
                Compute::Fargate => {
                    b.call(
                        "eks",
                        "create_fargate_profile",
                        json!({"clusterName": CLUSTER, "fargateProfileName": format!("mx-{}", k.slug()),
                               "podExecutionRoleArn": role_arn(c, k),
                               "selectors": [{"namespace": format!("*-fargate-{}", k.slug())}]}),
                    );
                }
                _ => {}
            }
            if c.ec2() {
                // the shared node of this compute type and role, in the default VPC
                b.keyed(
                    &format!("instance {}", ec2_node(c, k)),
                    "ec2",
                    "run_instances",
                    json!({"ImageId": "ami-12c6146b", "InstanceType": "m5.large", "MinCount": 1, "MaxCount": 1,
                           "IamInstanceProfile": {"Name": name}}),
                );
            }
        }
    }
    for case in cases.iter() {
        if case.cause == Cause::Token {
            b.call(
                "iam",
                "put_role_policy",
                json!({"RoleName": case.role(), "PolicyName": "PullThisRepository",
                       "PolicyDocument": policy(json!([{"Effect": "Allow", "Action": PULL, "Resource": case.repo_arn()}]))}),
            );
        }
        if case.cause == Cause::MissingPull {
            b.call(
                "iam",
                "put_role_policy",
                json!({"RoleName": case.role(), "PolicyName": "EcrToken",
                       "PolicyDocument": policy(json!([{"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}]))}),
            );
        }
        if case.cause == Cause::MissingRepo {
            continue;
        }
        b.0.push(json!({"service": "ecr", "op": "create_repository",
                        "params": {"repositoryName": case.repo()}, "ok": ok_exists}));
        b.call(
            "ecr",
            "put_image",
            json!({"repositoryName": case.repo(), "imageTag": TAG, "imageManifest": crate::aws_cli::IMAGE_MANIFEST}),
        );
        if let Some(p) = repository_policy(case) {
            b.call(
                "ecr",
                "set_repository_policy",
                json!({"repositoryName": case.repo(), "policyText": p}),
            );
        }
    }
    // the network cases' VPCs
    for case in cases.iter().filter(|c| c.cause == Cause::Network) {
        b.keyed(
            &format!("vpc {}", case.id),
            "ec2",
            "create_vpc",
            json!({"CidrBlock": format!("10.{}.0.0/16", 60 + slot(case.compute))}),
        );
    }
    let first = b.run();

    let mut b = Batch::new();
    for case in cases.iter().filter(|c| c.cause == Cause::Network) {
        let vpc = first[format!("vpc {}", case.id)]["Vpc"]["VpcId"].clone();
        b.keyed(
            &format!("subnet {}", case.id),
            "ec2",
            "create_subnet",
            json!({"VpcId": vpc, "CidrBlock": format!("10.{}.1.0/24", 60 + slot(case.compute)),
                   "AvailabilityZone": "us-west-2a"}),
        );
        b.keyed(
            &format!("table {}", case.id),
            "ec2",
            "create_route_table",
            json!({"VpcId": vpc}),
        );
    }
    let second = b.run();

    let mut b = Batch::new();
    for case in cases.iter().filter(|c| c.cause == Cause::Network) {
        let subnet = second[format!("subnet {}", case.id)]["Subnet"]["SubnetId"].clone();
        let table = second[format!("table {}", case.id)]["RouteTable"]["RouteTableId"].clone();
        b.call(
            "ec2",
            "associate_route_table",
            json!({"RouteTableId": table, "SubnetId": subnet}),
        );
        b.keyed(
            &format!("instance {}", case.node),
            "ec2",
            "run_instances",
            json!({"ImageId": "ami-12c6146b", "InstanceType": "m5.large", "MinCount": 1, "MaxCount": 1,
                   "SubnetId": subnet, "IamInstanceProfile": {"Name": case.role()}}),
        );
    }
    let third = b.run();

    for case in cases.iter_mut().filter(|c| c.compute.ec2()) {
        let key = format!("instance {}", case.node);
        let r = if first.get(&key).is_some() {
            &first[&key]
        } else {
            &third[&key]
        };
        let id = r["Instances"][0]["InstanceId"]
            .as_str()
            .unwrap_or_else(|| panic!("no instance for {}: {r}", case.node));
        case.instance = Some(id.to_string());
    }
}

// ---------------------------------------------------------------------------
// The cluster: nodes, and per case a namespace, Deployment, ReplicaSet, pod, events.

fn uid(n: usize, what: u32) -> String {
    format!("{what:08x}-6d78-4a1b-8c2d-{n:012x}")
}

fn cluster_objects(cases: &[Case]) -> Vec<Value> {
    let mut objects = Vec::new();
    let mut nodes = std::collections::BTreeMap::new();
    for case in cases {
        let mut labels = json!({
            "kubernetes.io/hostname": case.node,
            "kubernetes.io/os": "linux",
            "topology.kubernetes.io/region": REGION,
            "topology.kubernetes.io/zone": "us-west-2a",
        });
        let provider = match (&case.instance, case.compute) {
            (Some(i), _) => format!("aws:///us-west-2a/{i}"),
            (None, _) => format!(
                "aws:///us-west-2a/5f1c0a9e2b-{}/{}",
                case.id.len(),
                case.node.trim_end_matches(".us-west-2.compute.internal")
            ),
        };
        match case.compute {
            Compute::Managed => {
                labels["eks.amazonaws.com/nodegroup"] =
                    json!(format!("mx-{}", case.cause.role_kind().slug()));
                labels["eks.amazonaws.com/capacityType"] = json!("ON_DEMAND");
            }
            Compute::Karpenter => {
                labels["karpenter.sh/nodepool"] = json!("default");
                labels["karpenter.sh/capacity-type"] = json!("on-demand");
            }
            Compute::Fargate => {
                labels["eks.amazonaws.com/compute-type"] = json!("fargate");
            }
            Compute::SelfManaged => {}
        }
        nodes.entry(case.node.clone()).or_insert_with(|| {
            json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": case.node, "labels": labels},
                "spec": {"providerID": provider},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            })
        });
    }
    objects.extend(nodes.into_values());
    for (n, case) in cases.iter().enumerate() {
        objects.extend(case_objects(n, case));
    }
    objects
}

/// The kubelet's `Failed` message for the case's cause, as containerd reports it.
fn kubelet_message(case: &Case) -> String {
    let img = case.image();
    let url = format!(
        "https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/v2/{}/manifests/{}",
        case.repo(),
        case.tag()
    );
    let status = |s: &str| {
        format!(
            "Failed to pull image \"{img}\": failed to pull and unpack image \"{img}\": failed to resolve reference \"{img}\": unexpected status from HEAD request to {url}: {s}"
        )
    };
    match case.cause {
        // no ecr:GetAuthorizationToken (no ECR policy, or a boundary that blocks it): the
        // credential provider gets no token and the pull goes out anonymously
        Cause::Token | Cause::MissingGrant | Cause::Boundary => status("401 Unauthorized"),
        Cause::MissingTag | Cause::MissingRepo => format!(
            "Failed to pull image \"{img}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{img}\": failed to resolve reference \"{img}\": {img}: not found"
        ),
        Cause::Network => format!(
            "Failed to pull image \"{img}\": rpc error: code = DeadlineExceeded desc = failed to pull and unpack image \"{img}\": failed to resolve reference \"{img}\": failed to do request: Head \"{url}\": dial tcp 52.119.160.34:443: i/o timeout"
        ),
        _ => status("403 Forbidden"),
    }
}

fn case_objects(n: usize, case: &Case) -> Vec<Value> {
    let ns = case.ns();
    let name = &case.id;
    let rs = format!("{name}-7c9f8d6b5d");
    let pod = case.pod();
    let (dep_uid, rs_uid, pod_uid) = (uid(n, 1), uid(n, 2), uid(n, 3));
    let img = case.image();
    let mut pod_labels = json!({"app": name, "pod-template-hash": "7c9f8d6b5d"});
    if case.compute == Compute::Fargate {
        pod_labels["eks.amazonaws.com/fargate-profile"] =
            json!(format!("mx-{}", case.cause.role_kind().slug()));
    }
    let waiting = |reason: &str, message: Option<String>| {
        let mut w = json!({"reason": reason});
        if let Some(m) = message {
            w["message"] = json!(m);
        }
        json!({"waiting": w})
    };
    let backoff = format!("Back-off pulling image \"{img}\"");
    let status = |cname: &str, image: &str, state: Value| {
        json!({"name": cname, "image": image, "imageID": "", "ready": false, "restartCount": 0,
               "started": false, "state": state})
    };
    let (spec, pod_status) = if case.init {
        (
            json!({"nodeName": case.node, "serviceAccountName": "default",
                   "initContainers": [{"name": "fetch-assets", "image": img}],
                   "containers": [{"name": "app", "image": SIDE_IMAGE}]}),
            json!({"phase": "Pending",
                   "conditions": [{"type": "Initialized", "status": "False", "reason": "ContainersNotInitialized"},
                                  {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
                   "initContainerStatuses": [status("fetch-assets", &img, waiting("ImagePullBackOff", Some(backoff.clone())))],
                   "containerStatuses": [status("app", SIDE_IMAGE, waiting("PodInitializing", None))]}),
        )
    } else {
        (
            json!({"nodeName": case.node, "serviceAccountName": "default",
                   "containers": [{"name": "app", "image": img}]}),
            json!({"phase": "Pending",
                   "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
                   "containerStatuses": [status("app", &img, waiting("ImagePullBackOff", Some(backoff.clone())))]}),
        )
    };
    let mut spec = spec;
    if case.compute == Compute::Fargate {
        spec["schedulerName"] = json!("fargate-scheduler");
    }
    let field = if case.init {
        "spec.initContainers{fetch-assets}"
    } else {
        "spec.containers{app}"
    };
    let event = |i: usize, kind: &str, reason: &str, message: &str, count: u32| {
        json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{pod}.17f0a1{i}"), "namespace": ns},
            "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod, "uid": pod_uid,
                               "apiVersion": "v1", "fieldPath": field},
            "type": kind, "reason": reason, "message": message, "count": count,
            "source": {"component": "kubelet", "host": case.node},
            "firstTimestamp": "2024-10-11T14:10:01Z", "lastTimestamp": "2024-10-11T14:15:11Z",
        })
    };
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
               "status": {"phase": "Active"}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": name, "namespace": ns, "uid": dep_uid, "labels": {"app": name}},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                        "template": {"metadata": {"labels": {"app": name}}, "spec": spec.clone()}},
               "status": {"replicas": 1, "updatedReplicas": 1, "unavailableReplicas": 1, "observedGeneration": 1}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
               "metadata": {"name": rs, "namespace": ns, "uid": rs_uid,
                            "labels": {"app": name, "pod-template-hash": "7c9f8d6b5d"},
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                                 "uid": dep_uid, "controller": true, "blockOwnerDeletion": true}]},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name, "pod-template-hash": "7c9f8d6b5d"}}},
               "status": {"replicas": 1}}),
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": pod, "namespace": ns, "uid": pod_uid, "labels": pod_labels,
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                                 "uid": rs_uid, "controller": true, "blockOwnerDeletion": true}]},
               "spec": spec, "status": pod_status}),
        event(
            0,
            "Normal",
            "Pulling",
            &format!("Pulling image \"{img}\""),
            4,
        ),
        event(1, "Warning", "Failed", &kubelet_message(case), 4),
        event(2, "Warning", "Failed", "Error: ErrImagePull", 4),
        event(3, "Normal", "BackOff", &backoff, 6),
        event(4, "Warning", "Failed", "Error: ImagePullBackOff", 6),
    ]
}

// ---------------------------------------------------------------------------
// Per case: the check, the fix, the check after, the no-write proof.

#[derive(Default)]
struct Outcome {
    fired: Vec<String>,
    exit: i32,
    fix_ran: String,
    clean_after: String,
    no_write: String,
    problems: Vec<String>,
}

/// The findings of `doc` on the case's pod.
fn pod_findings<'a>(doc: &'a Value, case: &Case) -> Vec<&'a Value> {
    doc["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| {
                    f["subject"]["name"] == case.pod() && f["subject"]["namespace"] == case.ns()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn argv_of(step: &Value) -> Vec<String> {
    step["argv"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Judges the first check; returns the fix steps to run (none when the expected
/// finding or the shape of its fix is wrong).
fn judge_before(case: &Case, doc: &Value, exit: i32, out: &mut Outcome) -> Option<Vec<Value>> {
    let found = pod_findings(doc, case);
    out.fired = found
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or("?").to_string())
        .collect();
    out.exit = exit;
    let p = &mut out.problems;
    if exit != 1 {
        p.push(format!("exit {exit}, expected 1"));
    }
    if doc["inconclusive"] != json!([]) {
        p.push(format!("inconclusive: {}", doc["inconclusive"]));
    }
    if let Some(errors) = doc["errors"].as_array().filter(|e| !e.is_empty()) {
        p.push(format!("evaluation errors: {errors:?}"));
    }
    let expected = case.cause.rule();
    if out.fired != [expected] {
        p.push(format!(
            "fired {:?}, expected exactly [{expected}]",
            out.fired
        ));
    }
    let finding = found.iter().find(|f| f["rule"] == expected)?;
    let ev = &finding["evidence"];
    if ev["containerKind"] != case.kind_evidence() {
        p.push(format!(
            "evidence containerKind {}, expected {:?}",
            ev["containerKind"],
            case.kind_evidence()
        ));
    }
    if ev["compute"] != case.compute.evidence() {
        p.push(format!(
            "evidence compute {}, expected {:?}",
            ev["compute"],
            case.compute.evidence()
        ));
    }
    let message = finding["message"].as_str().unwrap_or("");
    let named = format!("`{}`", case.container());
    if !message.contains(&named) || !message.contains(&case.image()) {
        p.push(format!(
            "message does not name {named} and the image: {message}"
        ));
    }
    let boundary = format!("arn:aws:iam::{ACCOUNT}:policy/mx-s3-only");
    let wrong = match case.cause {
        Cause::Boundary => ev["permissionsBoundary"] != boundary.as_str(),
        Cause::Perimeter => ev["perimeter"].as_array().is_none_or(|a| a.is_empty()),
        Cause::DenyExact => ev["deletePolicy"] != true,
        _ => false,
    };
    if wrong {
        p.push(format!(
            "evidence permissionsBoundary {}, perimeter {}, deletePolicy {}",
            ev["permissionsBoundary"], ev["perimeter"], ev["deletePolicy"]
        ));
    }
    let steps: Vec<Value> = finding["fix"].as_array().cloned().unwrap_or_default();
    // the last step restarts the Deployment (asserted; the stand-in API is read-only)
    let restart = [
        "kubectl",
        "rollout",
        "restart",
        &format!("--namespace={}", case.ns()),
        "--",
        &format!("deployment/{}", case.id),
    ]
    .map(String::from)
    .to_vec();
    match steps.last() {
        Some(last) if argv_of(last) == restart => {}
        other => p.push(format!(
            "last fix step is not the rollout restart: {:?}",
            other.map(argv_of)
        )),
    }
    let body: Vec<&Value> = steps.iter().take(steps.len().saturating_sub(1)).collect();
    let heads: Vec<Vec<String>> = body.iter().map(|s| argv_of(s)).collect();
    let head = |i: usize| {
        heads
            .get(i)
            .map(|a| a.iter().take(3).cloned().collect::<Vec<_>>().join(" "))
    };
    let mut shape_ok = true;
    let mut expect_heads = |want: &[&str], p: &mut Vec<String>| {
        let got: Vec<String> = (0..heads.len()).filter_map(head).collect();
        if got != want {
            p.push(format!("fix steps {got:?}, expected {want:?}"));
            shape_ok = false;
            false
        } else {
            true
        }
    };
    let run: Vec<Value> = match case.cause {
        Cause::DenyRole | Cause::DenyRoot | Cause::DenyNotPrincipal | Cause::DenyWildcard => {
            expect_heads(&["aws ecr set-repository-policy"], p);
            body.into_iter().cloned().collect()
        }
        Cause::DenyExact => {
            expect_heads(&["aws ecr delete-repository-policy"], p);
            body.into_iter().cloned().collect()
        }
        Cause::MissingGrant | Cause::MissingPull => {
            if expect_heads(&["aws iam attach-role-policy"], p)
                && !heads[0]
                    .iter()
                    .any(|a| a.ends_with(":iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"))
            {
                p.push(format!("attaches {:?}, not PullOnly", heads[0]));
            }
            body.into_iter().cloned().collect()
        }
        Cause::Token => {
            expect_heads(&["aws iam put-role-policy"], p);
            body.into_iter().cloned().collect()
        }
        Cause::Network => {
            expect_heads(
                &[
                    "aws ec2 create-vpc-endpoint",
                    "aws ec2 create-vpc-endpoint",
                    "aws ec2 create-vpc-endpoint",
                ],
                p,
            );
            body.into_iter().cloned().collect()
        }
        Cause::Perimeter => {
            if expect_heads(
                &[
                    "aws ec2 describe-vpc-endpoints",
                    "aws ecr set-repository-policy",
                ],
                p,
            ) {
                let keep = &heads[0];
                let shown = format!("--vpc-endpoint-ids={PERIMETER_VPCE}");
                if !keep.contains(&shown) {
                    p.push(format!(
                        "the perimeter step does not show {PERIMETER_VPCE}: {keep:?}"
                    ));
                }
                let alt = body[1]["description"].as_str().unwrap_or("");
                if !alt.starts_with("alternative") {
                    p.push(format!(
                        "the second step is not labelled an alternative: {alt}"
                    ));
                }
                vec![body[1].clone()]
            } else {
                Vec::new()
            }
        }
        Cause::Boundary => {
            if expect_heads(&["aws iam get-policy-version"], p)
                && !heads[0].iter().any(|a| a.ends_with("policy/mx-s3-only"))
            {
                p.push(format!(
                    "the boundary step does not read mx-s3-only: {:?}",
                    heads[0]
                ));
            }
            Vec::new()
        }
        Cause::MissingTag => {
            // point the Deployment at a tag the user chooses: a placeholder,
            // described with the closest existing tag (never guessed)
            let want = vec![
                "kubectl".to_string(),
                "set".into(),
                "image".into(),
                format!("--namespace={}", case.ns()),
                "--".into(),
                format!("deployment/{}", case.id),
                format!(
                    "{}={ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{}:<TAG>",
                    case.container(),
                    case.repo()
                ),
            ];
            if heads.first() != Some(&want) {
                p.push(format!("fix steps {heads:?}, expected first {want:?}"));
            } else {
                let ph = &body[0]["placeholders"];
                let described = ph[0]["description"].as_str().unwrap_or("");
                if ph[0]["name"] != "TAG" || !described.contains(TAG) {
                    p.push(format!("the tag step's placeholders: {ph}"));
                }
                // Not run against AWS (kubectl on a read-only stand-in), but as
                // pasted: unedited it must not run, filled in it must.
                if let Err(e) = crate::placeholders::run_with_stub(body[0], &want, TAG) {
                    p.push(e);
                }
            }
            Vec::new()
        }
        Cause::MissingRepo => {
            expect_heads(&["aws ecr create-repository"], p);
            Vec::new()
        }
    };
    if !shape_ok {
        return None;
    }
    Some(run)
}

/// Runs fix steps as a user pastes them: through bash (fix commands are for bash
/// and zsh), the AWS CLI against moto.
fn run_steps(case: &Case, steps: &[Value], out: &mut Outcome) -> bool {
    for step in steps {
        let command = step["command"].as_str().unwrap_or("");
        let argv = argv_of(step);
        if argv.first().map(String::as_str) != Some("aws") {
            out.problems
                .push(format!("a step to run is not an AWS command: {command}"));
            return false;
        }
        let res = Command::new("bash")
            .args(["-c", command])
            .env("AWS_ENDPOINT_URL", moto())
            .output()
            .unwrap();
        if !res.status.success() {
            out.problems.push(format!(
                "{}: fix step failed: {command}\n{}",
                case.id,
                String::from_utf8_lossy(&res.stderr)
            ));
            return false;
        }
    }
    true
}

fn judge_after(case: &Case, doc: &Value, out: &mut Outcome) {
    let left: Vec<String> = pod_findings(doc, case)
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or("?").to_string())
        .filter(|r| r != "pod-image-pull-failing")
        .collect();
    let inconclusive = doc["inconclusive"] != json!([]);
    if left.is_empty() && !inconclusive {
        out.clean_after = "yes".into();
    } else {
        out.clean_after = "NO".into();
        out.problems.push(format!(
            "after the fix: {left:?}, inconclusive {}",
            doc["inconclusive"]
        ));
    }
}

/// `rulerun iam eval` of the write actions by the case's role session, with the
/// role's policies and boundary and the repository policy as they are in moto now.
fn judge_no_write(case: &Case, roles: &Value, policies: &Value, dir: &Path, out: &mut Outcome) {
    let role = &roles[case.role()];
    let text = &policies[case.repo()]["policyText"];
    let mut gained = Vec::new();
    for action in NO_WRITE {
        let mut input = json!({
            "request": {"principal": case.principal(), "action": action, "resource": case.repo_arn()},
            "identityPolicies": role["identity"],
            "permissionBoundaryPolicies": role["boundary"],
        });
        if let Some(t) = text.as_str() {
            input["resourcePolicy"] = json!({"name": case.repo(), "document": t});
        }
        let file = dir.join(format!("{}-{}.json", case.id, action.replace(':', "-")));
        std::fs::write(&file, input.to_string()).unwrap();
        let run = rulerun(&["iam".to_string(), "eval".into(), file.display().to_string()]);
        let decision = serde_json::from_str::<Value>(&run.stdout)
            .ok()
            .and_then(|d| d["decision"].as_str().map(String::from))
            .unwrap_or_else(|| format!("error: {}", run.stderr.trim()));
        if decision != "ExplicitlyDenied" && decision != "ImplicitlyDenied" {
            gained.push(format!("{action}: {decision}"));
        }
    }
    if gained.is_empty() {
        out.no_write = "yes".into();
    } else {
        out.no_write = "NO".into();
        out.problems
            .push(format!("the node role may now: {gained:?}"));
    }
}

async fn check_each(cases: &[Arc<Case>], live: &[String]) -> Vec<(Value, i32)> {
    let gate = Arc::new(Semaphore::new(PARALLEL));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, case) in cases.iter().enumerate() {
        let mut args = vec!["check".to_string(), "-o".into(), "json".into()];
        args.extend(live.iter().cloned());
        args.extend(["-n".to_string(), case.ns().to_string()]);
        let gate = gate.clone();
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            let run = cli(args).await;
            let doc = serde_json::from_str::<Value>(&run.stdout)
                .unwrap_or_else(|e| json!({"findings": [], "inconclusive": [], "parseError": e.to_string(), "stderr": run.stderr}));
            (i, doc, run.code)
        });
    }
    let mut out = vec![(Value::Null, 0); cases.len()];
    while let Some(r) = tasks.join_next().await {
        let (i, doc, code) = r.unwrap();
        out[i] = (doc, code);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn matrix_every_cause_on_every_compute_type_is_diagnosed_and_fixed() {
    let started = std::time::Instant::now();
    let mut all = cases();
    // RULERUN_MATRIX_CASES=a,b runs only the cases whose id contains a or b
    if let Ok(only) = std::env::var("RULERUN_MATRIX_CASES") {
        all.retain(|c| only.split(',').any(|o| c.id.contains(o.trim())));
    }
    seed(&mut all);
    let seeded = started.elapsed();
    let objects = cluster_objects(&all);
    let cases: Vec<Arc<Case>> = all.into_iter().map(Arc::new).collect();

    let dir = tempfile::tempdir().unwrap();
    let server = Stub::new()
        .objects(objects)
        .tls(true)
        .start()
        .await
        .unwrap();
    let context = format!("arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{CLUSTER}");
    let kubeconfig: PathBuf = server.write_kubeconfig(dir.path(), &context).unwrap();
    // per case `-n CASE` instead of `-A`
    let live: Vec<String> = live_args(&kubeconfig, &moto(), None)
        .into_iter()
        .filter(|a| a != "-A")
        .collect();

    // 1. Diagnose every case.
    let before = check_each(&cases, &live).await;
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut to_run: Vec<(usize, Vec<Value>)> = Vec::new();
    for (i, (case, (doc, code))) in cases.iter().zip(&before).enumerate() {
        let mut out = Outcome {
            fix_ran: "-".into(),
            clean_after: "-".into(),
            no_write: "-".into(),
            ..Outcome::default()
        };
        let steps = judge_before(case, doc, *code, &mut out);
        if case.cause.fix_runs() {
            match steps {
                Some(steps) => to_run.push((i, steps)),
                None => out.fix_ran = "not run".into(),
            }
        }
        if !out.problems.is_empty() {
            eprintln!("--- {} before the fix:\n{doc:#}", case.id);
        }
        // RULERUN_MATRIX_SNAPSHOTS=DIR keeps what each check read, to replay offline
        if let Ok(keep) = std::env::var("RULERUN_MATRIX_SNAPSHOTS") {
            let file = Path::new(&keep).join(format!("{}.json", case.id));
            let mut args = vec![
                "collect".to_string(),
                "-o".into(),
                file.display().to_string(),
            ];
            args.extend(live.iter().cloned());
            args.extend(["-n".to_string(), case.ns().to_string()]);
            let run = cli(args).await;
            assert_eq!(run.code, 0, "collect {}: {}", case.id, run.stderr);
        }
        outcomes.push(out);
    }

    // 2. Run the fixes (AWS CLI through sh), at most PARALLEL at once.
    let results: Vec<(usize, Outcome)> = std::thread::scope(|s| {
        let chunks: Vec<Vec<(usize, Vec<Value>)>> = (0..PARALLEL)
            .map(|k| to_run.iter().skip(k).step_by(PARALLEL).cloned().collect())
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let cases = &cases;
                s.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|(i, steps)| {
                            let mut o = Outcome::default();
                            let ok = run_steps(&cases[i], &steps, &mut o);
                            o.fix_ran = if ok { "yes".into() } else { "FAILED".into() };
                            (i, o)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut fixed = Vec::new();
    for (i, o) in results {
        outcomes[i].fix_ran = o.fix_ran.clone();
        outcomes[i].problems.extend(o.problems);
        if o.fix_ran == "yes" {
            fixed.push(i);
        }
    }
    fixed.sort();

    // 3. Check again, and prove that no role gained a write.
    let fixed_cases: Vec<Arc<Case>> = fixed.iter().map(|&i| cases[i].clone()).collect();
    let after = check_each(&fixed_cases, &live).await;
    let mut reads = Batch::new();
    for c in &fixed_cases {
        if c.cause != Cause::MissingRepo {
            reads.0.push(json!({"service": "ecr", "op": "get_repository_policy", "key": c.repo(),
                                "params": {"repositoryName": c.repo()}, "ok": ["RepositoryPolicyNotFoundException"]}));
        }
    }
    let policies = reads.run();
    let mut role_names: Vec<String> = fixed_cases.iter().map(|c| c.role()).collect();
    role_names.sort();
    role_names.dedup();
    let roles = boto(&json!({"mode": "roles", "roles": role_names}));
    for (&i, (doc, _)) in fixed.iter().zip(&after) {
        let case = &cases[i];
        judge_after(case, doc, &mut outcomes[i]);
        if outcomes[i].clean_after != "yes" {
            eprintln!("--- {} after the fix:\n{doc:#}", case.id);
        }
        judge_no_write(case, &roles, &policies, dir.path(), &mut outcomes[i]);
        if case.cause.is_deny() || case.cause == Cause::Perimeter {
            // no Allow was added to the repository policy
            if let Some(t) = policies[case.repo()]["policyText"]
                .as_str()
                .filter(|t| t.contains("\"Allow\""))
            {
                outcomes[i]
                    .problems
                    .push(format!("the fixed policy allows: {t}"));
            }
        }
    }

    // 4. The table, and every failing case.
    let header = [
        "case",
        "compute",
        "container",
        "expected rule",
        "fired rules",
        "exit",
        "fix ran",
        "clean after",
        "no write gained",
    ];
    let rows: Vec<[String; 9]> = cases
        .iter()
        .zip(&outcomes)
        .map(|(c, o)| {
            [
                format!("{}{}", if o.problems.is_empty() { "" } else { "✗ " }, c.id),
                c.compute.evidence().to_string(),
                c.kind_evidence().to_string(),
                c.cause.rule().to_string(),
                if o.fired.is_empty() {
                    "(none)".into()
                } else {
                    o.fired.join(", ")
                },
                o.exit.to_string(),
                o.fix_ran.clone(),
                o.clean_after.clone(),
                o.no_write.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let mut table = line(&header.map(String::from));
    table.push('\n');
    table.push_str(&widths.map(|w| "-".repeat(w)).join("-|-"));
    for r in &rows {
        table.push('\n');
        table.push_str(&line(r));
    }
    eprintln!(
        "\n{table}\n\n{} cases ({} with a fix run), seeded in {:.1?}, total {:.1?}",
        cases.len(),
        fixed.len(),
        seeded,
        started.elapsed()
    );
    let failing: Vec<String> = cases
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| !o.problems.is_empty())
        .map(|(c, o)| format!("{}:\n  {}", c.id, o.problems.join("\n  ")))
        .collect();
    assert!(
        failing.is_empty(),
        "{} of {} cases fail:\n{}",
        failing.len(),
        cases.len(),
        failing.join("\n")
    );
}
