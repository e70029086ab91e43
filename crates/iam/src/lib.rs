//! Pure, explainable AWS IAM policy evaluation and least-privilege fixes of
//! resource policies (ECR repository and registry policies), for diagnosing
//! Kubernetes-on-AWS problems such as an `ImagePullBackOff` caused by an
//! explicit Deny for the EKS node role.
//!
//! No I/O: callers fetch policies (or read a snapshot) and hand them over.
//!
//! # JSON contract
//!
//! Input ([`EvalInput`], camelCase, unknown fields rejected):
//!
//! ```json
//! {
//!   "request": {
//!     "principal": "arn:aws:sts::111122223333:assumed-role/EksNodeRole/i-0abc",
//!     "principalId": "AROAEXAMPLE",            // optional
//!     "principalTags": {"team": "a"},          // optional
//!     "action": "ecr:BatchGetImage",
//!     "resource": "arn:aws:ecr:us-east-1:111122223333:repository/app",
//!     "resourceAccount": "111122223333",       // optional, default: from resource ARN
//!     "context": {"aws:SourceVpce": {"unknown": true}, "aws:SecureTransport": true},
//!     "unknownKeys": ["aws:SourceVpc"]         // optional, same as {"unknown": true}
//!   },
//!   "identityPolicies": [ <policy>... ],
//!   "resourcePolicy": <policy>,
//!   "permissionBoundaryPolicies": [ <policy>... ],
//!   "serviceControlPolicies": [ <policy>... ],
//!   "sessionPolicies": [ <policy>... ],
//!   "vpcEndpointPolicies": [ <policy>... ],
//!   "requiredActions": ["ecr:BatchGetImage"]   // optional, for the fix
//! }
//! ```
//!
//! A `<policy>` is a bare document, or `{"name", "arn"?, "document"?}` where
//! `document` is an object or a JSON *string* (ECR's `policyText`). Without a
//! document, the shipped AWS managed policy of that name or ARN is used
//! ([`data::managed_policy`]). Context values are strings, arrays, booleans,
//! numbers, `null` (absent), or `{"unknown": true}`.
//!
//! [`evaluate`] returns an [`Evaluation`]:
//! `{"decision": "Allowed|ImplicitlyDenied|ExplicitlyDenied|Unknown",
//! "explanation": {"summary", "principal", "action", "resource",
//! "principalAccount", "resourceAccount", "crossAccount",
//! "decidingStatements": [..], "statements": [..], "missingGrant"?,
//! "awsMessage"?, "unknownKeys": [..], "unknownBecause": [..],
//! "perimeter": [..], "perimeterOnly"}}`.
//! Each statement detail names `policyType`, `policyName`, `sid`, `index`,
//! `effect`, `outcome`, `failedElement`, and how `principal`, `action`,
//! `resource` and each of its `conditions` matched.
//!
//! For an explicit deny, `perimeter` lists the conditions of the deciding
//! `Deny` statements on data-perimeter keys (`aws:SourceVpce`,
//! `aws:SourceVpc`, `aws:SourceIp`, `aws:VpcSourceIp`, `aws:PrincipalOrgID`,
//! `aws:PrincipalOrgPaths`, `aws:PrincipalAccount`, `aws:PrincipalTag/...`),
//! each `{"statement": SID-or-"#INDEX", "policyType", "policyName", "key",
//! "operator", "values": [..], "requestValue": string|[..]|null, "needs"}`
//! (it is `[]` for every other decision); `perimeterOnly` is true when every
//! deciding `Deny` has conditions and all are perimeter conditions.
//!
//! [`fix_resource_policy`] returns a [`FixOutcome`]:
//! `{"policy", "deletePolicy", "changes": [..], "proof": [{"action",
//! "before", "after", "required"}], "newlyAllowed": [..], "proven",
//! "unresolved": [..]}`; `deletePolicy` is true (and `policy` null) when the
//! fix leaves no statement, since ECR rejects an empty `Statement` list.
//!
//! # Semantics
//!
//! As the IAM User Guide's "Policy evaluation logic" pages describe:
//!
//! * An applicable explicit `Deny` in any policy wins.
//! * Same account: an identity-based grant (within the permissions boundary
//!   and session policies, when present) **or** a resource-policy grant
//!   naming the principal suffices. A resource grant naming the session or
//!   user ARN, or `*`, is not limited by an implicit deny in the boundary or
//!   session policy; one naming the role ARN (or its unique id) is; one
//!   naming the account only delegates (the identity side must grant).
//! * Cross account: both the identity side and the resource policy must
//!   grant.
//! * Account principals (`"123456789012"`, `arn:aws:iam::123456789012:root`)
//!   in an Allow only delegate to the account; in a Deny they hit every
//!   principal of that account.
//! * SCPs and VPC endpoint policies, when given, must also allow.
//! * A role ARN (any path) matches its assumed-role sessions; unique ids
//!   (`AROA...`) match via `principalId`; `NotPrincipal` exempts the caller
//!   only if its account, role and session (or user) are all listed.
//! * Actions match case-insensitively with `*`/`?` anywhere; resource ARNs
//!   match per segment; policy variables (`${aws:username}`, defaults,
//!   `${*}`) only in `2012-10-17` policies.
//! * Conditions: String*, IgnoreCase, Like, Arn*, Bool, Binary, Numeric*,
//!   Date*, IpAddress, Null, `...IfExists`, `ForAnyValue:`/`ForAllValues:`;
//!   AND across operators and keys, OR across values (none-of for negated
//!   operators); case-insensitive key names; a missing key makes positive
//!   operators false, negated ones and IfExists true.
//! * Unknown context values give three-valued results: the decision is
//!   `Unknown` when it depends on them, with `unknownKeys` and hints such as
//!   "denied by ... unless the request goes through vpce-...".
//! * The request context is filled with `aws:PrincipalArn`,
//!   `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:PrincipalIsAWSService`,
//!   `aws:ResourceAccount`, `aws:userid` (from `principalId`),
//!   `aws:username` (users) and `aws:PrincipalTag/*` unless the caller sets
//!   them (a `null` value removes one).
//!
//! # Known limitations
//!
//! * SCPs are treated as one level (any SCP in the list allowing suffices);
//!   real organizations need an allow at every level of the hierarchy.
//!   Resource control policies (RCPs) and ACLs are not modelled.
//! * With only a session ARN, the role path is unknown: role-ARN principals
//!   then match by account and name; the fix says so.
//! * A multivalued key used without a set qualifier is treated like
//!   `ForAnyValue` (negated operators: no value may match).
//! * A policy variable that has no value makes that value match nothing.
//! * Service-specific behaviour (e.g. ECR's registry policy only accepting
//!   some actions) is not validated.
//! * The fix rewrites only the resource policy and handles only ECR actions;
//!   blockers elsewhere are reported in `unresolved`.

#![warn(missing_docs)]

pub mod arn;
pub mod condition;
mod context;
pub mod data;
pub mod error;
pub mod eval;
pub mod explain;
pub mod fix;
pub mod glob;
pub mod input;
pub mod policy;
pub mod principal;
mod tri;

pub use condition::{ConditionOutcome, KeyState, Outcome};
pub use error::{IamError, StatementRef};
pub use eval::{Evaluation, evaluate};
pub use explain::{
    Decision, Explanation, MissingGrant, PerimeterCondition, PolicyType, StatementDetail,
};
pub use fix::{FixOutcome, ProofEntry, fix_resource_policy};
pub use input::{ContextValue, EvalInput, PolicyEntry, Request};
pub use policy::{Effect, Policy, PolicyVersion, Statement};

/// Entry point for fuzzing and corpus replay: parses arbitrary bytes as a
/// policy (and, when that succeeds, evaluates it as a resource policy and as
/// an identity policy against a fixed ECR pull request by the reference
/// scenario's node role; also tries the bytes
/// as a whole [`EvalInput`]). Returns a deterministic digest of the results.
/// Never panics.
pub fn fuzz_parse(data: &[u8]) -> String {
    let Ok(text) = std::str::from_utf8(data) else {
        return "not utf-8".into();
    };
    let mut out = String::new();
    match Policy::parse(text) {
        Err(e) => out.push_str(&format!("policy error: {e}\n")),
        Ok(policy) => {
            out.push_str(&format!("policy: {} statements\n", policy.statements.len()));
            let doc = policy.to_value();
            let request = Request {
                principal: "arn:aws:sts::1234567890:assumed-role/EksNodeGroupRole/i-0abc".into(),
                principal_id: Some("AROAEXAMPLE".into()),
                principal_tags: [("team".to_string(), "a".to_string())].into(),
                action: "ecr:BatchGetImage".into(),
                resource: "arn:aws:ecr:us-east-1:1234567890:repository/app".into(),
                resource_account: None,
                context: [("aws:SourceVpce".to_string(), ContextValue::Unknown)].into(),
                unknown_keys: Vec::new(),
            };
            let as_resource = EvalInput {
                request: request.clone(),
                identity_policies: vec![PolicyEntry::named(
                    "AmazonEC2ContainerRegistryReadOnly",
                    data::managed_policy("AmazonEC2ContainerRegistryReadOnly").unwrap_or_default(),
                )],
                resource_policy: Some(PolicyEntry::document(doc.clone())),
                permission_boundary_policies: Vec::new(),
                service_control_policies: Vec::new(),
                session_policies: Vec::new(),
                vpc_endpoint_policies: Vec::new(),
                required_actions: Vec::new(),
            };
            match evaluate(&as_resource) {
                Ok(ev) => out.push_str(&format!("as resource: {:?}\n", ev.decision)),
                Err(e) => out.push_str(&format!("as resource error: {e}\n")),
            }
            match fix_resource_policy(&as_resource, &["ecr:BatchGetImage".to_string()]) {
                Ok(f) => out.push_str(&format!("fix: proven={}\n", f.proven)),
                Err(e) => out.push_str(&format!("fix error: {e}\n")),
            }
            let as_identity = EvalInput {
                identity_policies: vec![PolicyEntry::document(doc)],
                resource_policy: None,
                ..as_resource
            };
            match evaluate(&as_identity) {
                Ok(ev) => out.push_str(&format!("as identity: {:?}\n", ev.decision)),
                Err(e) => out.push_str(&format!("as identity error: {e}\n")),
            }
        }
    }
    match serde_json::from_str::<EvalInput>(text) {
        Err(_) => out.push_str("not an eval input\n"),
        Ok(input) => match evaluate(&input) {
            Ok(ev) => out.push_str(&format!("input: {:?}\n", ev.decision)),
            Err(e) => out.push_str(&format!("input error: {e}\n")),
        },
    }
    out
}
