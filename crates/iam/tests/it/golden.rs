//! Golden tests transcribed from AWS documentation examples. Each test cites
//! the page it comes from; account ids, names and ARNs are the documentation's
//! placeholders made concrete.

use rulerun_iam::{Decision, IamError, Policy, fix_resource_policy};
use serde_json::{Value, json};

use crate::common::{allow_identity, decide, eval, input, request};

const ALICE: &str = "arn:aws:iam::111122223333:user/Alice";
const ROLE_SESSION: &str = "arn:aws:sts::111122223333:assumed-role/AppRole/app-session";

fn with_identity(req: Value, policies: Vec<Value>) -> Value {
    json!({"request": req, "identityPolicies": policies})
}

// ---------------------------------------------------------------- evaluation logic

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html
/// "The difference between explicit and implicit denies": AllowGetList and
/// DenyReports.
#[test]
fn explicit_vs_implicit_deny() {
    let policy = json!({"Version":"2012-10-17","Statement":[
        {"Sid":"AllowGetList","Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"},
        {"Sid":"DenyReports","Effect":"Deny","Action":"iam:*Report","Resource":"*"}]});
    let run = |action: &str| {
        decide(with_identity(
            request(ALICE, action, "*"),
            vec![policy.clone()],
        ))
    };
    assert_eq!(run("iam:GetUser"), Decision::Allowed);
    assert_eq!(run("iam:ListRoles"), Decision::Allowed);
    assert_eq!(run("iam:GetCredentialReport"), Decision::ExplicitlyDenied);
    assert_eq!(
        run("iam:GenerateCredentialReport"),
        Decision::ExplicitlyDenied
    );
    assert_eq!(run("iam:CreatePolicy"), Decision::ImplicitlyDenied);
}

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
/// "By default, all requests are implicitly denied"; "An explicit deny
/// overrides an explicit allow"; identity and AWS messages.
#[test]
fn default_deny_and_deny_overrides_allow() {
    let req = request(ALICE, "s3:GetObject", "arn:aws:s3:::bucket/key");
    let ev = eval(with_identity(req.clone(), vec![]));
    assert_eq!(ev.decision, Decision::ImplicitlyDenied);
    assert_eq!(
        ev.explanation.aws_message.as_deref(),
        Some(
            "User: arn:aws:iam::111122223333:user/Alice is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::bucket/key because no identity-based policy allows the s3:GetObject action"
        )
    );
    let deny = json!({"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}});
    let ev = eval(with_identity(req, vec![allow_identity(&["s3:*"]), deny]));
    assert_eq!(ev.decision, Decision::ExplicitlyDenied);
    assert!(
        ev.explanation
            .aws_message
            .unwrap()
            .ends_with("with an explicit deny in an identity-based policy")
    );
}

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
/// Same account: identity-based OR resource-based grant suffices.
#[test]
fn same_account_identity_or_resource() {
    let res = "arn:aws:ecr:us-east-1:111122223333:repository/app";
    let rp = json!({"Version":"2012-10-17","Statement":[{"Sid":"AllowPull","Effect":"Allow",
        "Principal":{"AWS":"arn:aws:iam::111122223333:role/AppRole"},"Action":["ecr:BatchGetImage"]}]});
    // resource policy alone (no identity policy)
    let only_rp =
        json!({"request": request(ROLE_SESSION, "ecr:BatchGetImage", res), "resourcePolicy": rp});
    assert_eq!(decide(only_rp), Decision::Allowed);
    // identity alone
    let only_id = with_identity(
        request(ROLE_SESSION, "ecr:BatchGetImage", res),
        vec![allow_identity(&["ecr:BatchGetImage"])],
    );
    assert_eq!(decide(only_id), Decision::Allowed);
}

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
/// (section on resource-based policies and permissions boundaries): a grant
/// to the role ARN is limited by an implicit deny in the boundary, a grant
/// to the role session ARN is not.
#[test]
fn boundary_limits_role_arn_grant_but_not_session_grant() {
    let res = "arn:aws:ecr:us-east-1:111122223333:repository/app";
    let boundary = allow_identity(&["s3:*"]);
    let rp = |principal: &str| json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":principal},"Action":"ecr:BatchGetImage"}]});
    let base = |p: &str| {
        json!({"request": request(ROLE_SESSION, "ecr:BatchGetImage", res),
        "resourcePolicy": rp(p), "permissionBoundaryPolicies": [boundary.clone()]})
    };
    let ev = eval(base("arn:aws:iam::111122223333:role/AppRole"));
    assert_eq!(ev.decision, Decision::ImplicitlyDenied);
    assert!(
        ev.explanation
            .aws_message
            .unwrap()
            .ends_with("because no permissions boundary allows the ecr:BatchGetImage action")
    );
    assert_eq!(decide(base(ROLE_SESSION)), Decision::Allowed);
}

/// Same-account resource-policy (ECR repository policy) grants against the
/// permissions boundary of the requesting role session, for every principal
/// form the grant can name. The request is made by the role session (as the
/// kubelet's node credentials are); `aws:PrincipalArn` is the role ARN.
///
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
/// (and access_policies_boundaries.html, "Resource-based policies"):
///
/// * session ARN: "Permissions granted directly to a session are not limited
///   by an implicit deny in an identity-based policy, a permissions
///   boundary, or session policy."
/// * role ARN (and the role's unique id, which stands for the role ARN):
///   "Resource-based policies that grant permissions to an IAM role ARN are
///   limited by an implicit deny in a permissions boundary or session
///   policy."
/// * `"*"` and `{"AWS": "*"}`: "Permissions boundaries and session policies
///   do not limit permissions granted using the `aws:PrincipalArn` condition
///   key with a wildcard(*) in the Principal element, unless the
///   identity-based policies contain an explicit deny." A `*` grant without
///   that condition grants at least as much, so it is not limited either.
/// * account (`arn:aws:iam::ACCT:root`, or the bare id): reference_policies_elements_principal.html,
///   "AWS account principals": "This delegates authority to the account."
///   and "Both delegate permissions to the account." The grant does nothing
///   on its own: the identity-based policy must allow, within the boundary.
/// * "An explicit deny in any of these policies overrides the allow."
#[test]
fn resource_grant_vs_boundary_by_principal_form() {
    const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/AppRole";
    let res = "arn:aws:ecr:us-east-1:111122223333:repository/app";
    let stmt = |principal: Value| json!({"Sid": "Grant", "Effect": "Allow", "Principal": principal, "Action": "ecr:BatchGetImage"});
    // (form, statement, limited by an implicit deny in the boundary, needs the identity side)
    let forms: Vec<(&str, Value, bool, bool)> = vec![
        ("role arn", stmt(json!({"AWS": ROLE_ARN})), true, false),
        (
            "role unique id",
            stmt(json!({"AWS": "AROAEXAMPLEID"})),
            true,
            false,
        ),
        (
            "role session arn",
            stmt(json!({"AWS": ROLE_SESSION})),
            false,
            false,
        ),
        ("\"*\"", stmt(json!("*")), false, false),
        ("{\"AWS\": \"*\"}", stmt(json!({"AWS": "*"})), false, false),
        (
            "\"*\" with ArnEquals aws:PrincipalArn",
            {
                let mut s = stmt(json!("*"));
                s["Condition"] = json!({"ArnEquals": {"aws:PrincipalArn": ROLE_ARN}});
                s
            },
            false,
            false,
        ),
        (
            "account root arn",
            stmt(json!({"AWS": "arn:aws:iam::111122223333:root"})),
            true,
            true,
        ),
        (
            "account id",
            stmt(json!({"AWS": "111122223333"})),
            true,
            true,
        ),
    ];
    let no_boundary: Option<Value> = None;
    let implicit = Some(allow_identity(&["s3:*"]));
    let explicit = Some(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "NoPull", "Effect": "Deny", "Action": "ecr:BatchGetImage", "Resource": "*"}]}));
    for (form, statement, limited, delegates) in &forms {
        for with_identity_grant in [false, true] {
            for (boundary_name, boundary) in [
                ("no boundary", &no_boundary),
                ("boundary without ecr", &implicit),
                ("boundary denying the pull", &explicit),
            ] {
                let mut req = request(ROLE_SESSION, "ecr:BatchGetImage", res);
                req["principalId"] = json!("AROAEXAMPLEID:app-session");
                let mut input = json!({
                    "request": req,
                    "resourcePolicy": {"Version": "2012-10-17", "Statement": [statement]},
                });
                if with_identity_grant {
                    input["identityPolicies"] = json!([allow_identity(&["ecr:BatchGetImage"])]);
                }
                if let Some(b) = boundary {
                    input["permissionBoundaryPolicies"] = json!([b]);
                }
                let expected = match (boundary_name, with_identity_grant) {
                    ("boundary denying the pull", _) => Decision::ExplicitlyDenied,
                    ("no boundary", true) => Decision::Allowed,
                    ("no boundary", false) if *delegates => Decision::ImplicitlyDenied,
                    ("no boundary", false) => Decision::Allowed,
                    // the identity path is cut by the boundary either way
                    (_, _) if *limited => Decision::ImplicitlyDenied,
                    (_, _) => Decision::Allowed,
                };
                let ev = eval(input);
                assert_eq!(
                    ev.decision, expected,
                    "{form}, {boundary_name}, identity grant: {with_identity_grant}: {}",
                    ev.explanation.summary
                );
                if expected == Decision::ImplicitlyDenied {
                    // an account grant without an identity grant lacks the
                    // identity side; otherwise the boundary is what is missing
                    let missing = if *delegates && !with_identity_grant {
                        "identity-based policy"
                    } else {
                        "permissions boundary"
                    };
                    let message = ev.explanation.aws_message.clone().unwrap_or_default();
                    assert!(
                        message.ends_with(&format!(
                            "because no {missing} allows the ecr:BatchGetImage action"
                        )),
                        "{form}, {boundary_name}, identity grant: {with_identity_grant}: {message}"
                    );
                }
                if expected == Decision::ExplicitlyDenied {
                    assert_eq!(
                        ev.explanation.aws_message.as_deref(),
                        Some(
                            "User: arn:aws:sts::111122223333:assumed-role/AppRole/app-session is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:111122223333:repository/app with an explicit deny in a permissions boundary"
                        )
                    );
                    assert_eq!(
                        ev.explanation.deciding_statements[0].sid.as_deref(),
                        Some("NoPull")
                    );
                }
            }
        }
    }
}

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
/// Cross-account: the identity policy in the trusted account and the
/// resource policy in the trusting account must both allow.
#[test]
fn cross_account_needs_both_sides() {
    let res = "arn:aws:ecr:us-east-1:444455556666:repository/shared";
    let rp_role = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/AppRole"},"Action":"ecr:BatchGetImage"}]});
    let rp_account = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"ecr:BatchGetImage"}]});
    let id = allow_identity(&["ecr:BatchGetImage"]);
    let case = |rp: Option<&Value>, ids: Vec<Value>| {
        let mut v = json!({"request": request(ROLE_SESSION, "ecr:BatchGetImage", res), "identityPolicies": ids});
        if let Some(rp) = rp {
            v["resourcePolicy"] = rp.clone();
        }
        eval(v)
    };
    assert_eq!(
        case(Some(&rp_role), vec![id.clone()]).decision,
        Decision::Allowed
    );
    assert_eq!(
        case(Some(&rp_account), vec![id.clone()]).decision,
        Decision::Allowed
    );
    // resource side only
    let ev = case(Some(&rp_role), vec![]);
    assert_eq!(ev.decision, Decision::ImplicitlyDenied);
    assert!(ev.explanation.cross_account);
    assert!(
        ev.explanation
            .aws_message
            .unwrap()
            .ends_with("because no identity-based policy allows the ecr:BatchGetImage action")
    );
    // identity side only
    let ev = case(None, vec![id]);
    assert_eq!(ev.decision, Decision::ImplicitlyDenied);
    assert!(
        ev.explanation
            .aws_message
            .unwrap()
            .ends_with("because no resource-based policy allows the ecr:BatchGetImage action")
    );
}

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
/// "AWS account principals": specifying an account delegates to it; the
/// account's administrators must still grant via identity policies.
#[test]
fn account_principal_delegates_and_its_deny_hits_everyone() {
    let res = "arn:aws:ecr:us-east-1:111122223333:repository/app";
    let allow_acct = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"ecr:*"}]});
    let v = json!({"request": request(ROLE_SESSION, "ecr:BatchGetImage", res), "resourcePolicy": allow_acct});
    assert_eq!(decide(v), Decision::ImplicitlyDenied);
    let deny_acct = json!({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"ecr:*"}]});
    let v = json!({"request": request(ROLE_SESSION, "ecr:BatchGetImage", res),
        "identityPolicies": [allow_identity(&["ecr:*"])], "resourcePolicy": deny_acct});
    assert_eq!(decide(v), Decision::ExplicitlyDenied);
}

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
/// "IAM role principals" / "Role session principals": a role ARN matches the
/// sessions of that role; a session ARN only that session; unique ids.
#[test]
fn role_session_and_unique_id_principals() {
    let res = "arn:aws:ecr:us-east-1:111122223333:repository/app";
    let deny = |p: &str| json!({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":p},"Action":"ecr:*"}]});
    let case = |p: &str, principal: &str| {
        decide(
            json!({"request": {"principal": principal, "principalId": "AROADBQP57FF2AEXAMPLE:app-session",
            "action": "ecr:BatchGetImage", "resource": res},
            "identityPolicies": [allow_identity(&["ecr:*"])], "resourcePolicy": deny(p)}),
        )
    };
    assert_eq!(
        case("arn:aws:iam::111122223333:role/team/AppRole", ROLE_SESSION),
        Decision::ExplicitlyDenied
    );
    assert_eq!(case(ROLE_SESSION, ROLE_SESSION), Decision::ExplicitlyDenied);
    assert_eq!(
        case(
            ROLE_SESSION,
            "arn:aws:sts::111122223333:assumed-role/AppRole/other"
        ),
        Decision::Allowed
    );
    assert_eq!(
        case("AROADBQP57FF2AEXAMPLE", ROLE_SESSION),
        Decision::ExplicitlyDenied
    );
    assert_eq!(
        case("arn:aws:iam::111122223333:role/OtherRole", ROLE_SESSION),
        Decision::Allowed
    );
    assert_eq!(case("*", ROLE_SESSION), Decision::ExplicitlyDenied);
}

// ---------------------------------------------------------------- NotPrincipal

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
/// "Example IAM user in the same or a different account".
#[test]
fn not_principal_user_example() {
    let policy = |list: Value| {
        json!({"Version":"2012-10-17","Statement":[{"Effect":"Deny",
        "NotPrincipal":{"AWS":list},"Action":"s3:*",
        "Resource":["arn:aws:s3:::BUCKETNAME","arn:aws:s3:::BUCKETNAME/*"]}]})
    };
    let case = |principal: &str, list: Value| {
        decide(
            json!({"request": {"principal": principal, "action": "s3:GetObject",
            "resource": "arn:aws:s3:::BUCKETNAME/x", "resourceAccount": "777788889999"},
            "identityPolicies": [allow_identity(&["s3:*"])],
            "resourcePolicy": policy(list)}),
        )
    };
    let full = json!([
        "arn:aws:iam::444455556666:user/Bob",
        "arn:aws:iam::444455556666:root"
    ]);
    // This example by itself does not grant access to Bob: cross-account, no allow.
    assert_eq!(
        case("arn:aws:iam::444455556666:user/Bob", full.clone()),
        Decision::ImplicitlyDenied
    );
    assert_eq!(
        case("arn:aws:iam::444455556666:user/Eve", full),
        Decision::ExplicitlyDenied
    );
    // "If the NotPrincipal element contained only Bob's ARN, the effect of the
    // policy might be to explicitly deny access to the AWS account that contains Bob"
    assert_eq!(
        case(
            "arn:aws:iam::444455556666:user/Bob",
            json!("arn:aws:iam::444455556666:user/Bob")
        ),
        Decision::ExplicitlyDenied
    );
}

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
/// "Example IAM role in the same or different account".
#[test]
fn not_principal_role_example() {
    let session = "arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/cross-account-audit-app";
    let policy = json!({"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":[
        session, "arn:aws:iam::444455556666:role/cross-account-read-only-role", "arn:aws:iam::444455556666:root"]},
        "Action":"s3:*","Resource":["arn:aws:s3:::Bucket_AccountAudit","arn:aws:s3:::Bucket_AccountAudit/*"]},
        {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/cross-account-read-only-role"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::Bucket_AccountAudit/*"}]});
    let case = |principal: &str| {
        decide(
            json!({"request": {"principal": principal, "action": "s3:GetObject",
            "resource": "arn:aws:s3:::Bucket_AccountAudit/report", "resourceAccount": "111122223333"},
            "identityPolicies": [allow_identity(&["s3:GetObject"])], "resourcePolicy": policy}),
        )
    };
    assert_eq!(case(session), Decision::Allowed);
    assert_eq!(
        case("arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/other-session"),
        Decision::ExplicitlyDenied
    );
}

// ---------------------------------------------------------------- NotAction

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
/// "Allow all actions except IAM" and the MFA example with BoolIfExists.
#[test]
fn not_action_examples() {
    let allow_all_but_iam = json!({"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}});
    let run = |action: &str, policies: Vec<Value>, ctx: Value| {
        let mut req = request(ALICE, action, "*");
        req["context"] = ctx;
        decide(with_identity(req, policies))
    };
    assert_eq!(
        run(
            "s3:ListAllMyBuckets",
            vec![allow_all_but_iam.clone()],
            json!({})
        ),
        Decision::Allowed
    );
    assert_eq!(
        run("iam:CreateUser", vec![allow_all_but_iam.clone()], json!({})),
        Decision::ImplicitlyDenied
    );
    let deny_without_mfa = json!({"Version":"2012-10-17","Statement":[{"Sid":"DenyAllUsersNotUsingMFA",
        "Effect":"Deny","NotAction":"iam:*","Resource":"*",
        "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]});
    let all =
        json!({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}});
    let both = vec![all, deny_without_mfa];
    assert_eq!(
        run("s3:GetObject", both.clone(), json!({})),
        Decision::ExplicitlyDenied
    );
    assert_eq!(
        run(
            "s3:GetObject",
            both.clone(),
            json!({"aws:MultiFactorAuthPresent": false})
        ),
        Decision::ExplicitlyDenied
    );
    assert_eq!(
        run(
            "s3:GetObject",
            both.clone(),
            json!({"aws:MultiFactorAuthPresent": true})
        ),
        Decision::Allowed
    );
    assert_eq!(run("iam:ListUsers", both, json!({})), Decision::Allowed);
}

// ---------------------------------------------------------------- conditions

fn cond_case(condition: Value, ctx: Value) -> Decision {
    let policy = json!({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":condition}});
    let mut req = request(ALICE, "s3:GetObject", "arn:aws:s3:::bucket/key");
    req["context"] = ctx;
    decide(with_identity(req, vec![policy]))
}

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
/// "String condition operators" examples.
#[test]
fn string_operators() {
    let c = json!({"StringEquals":{"aws:PrincipalTag/job-category":"iamuser-admin"}});
    assert_eq!(
        cond_case(
            c.clone(),
            json!({"aws:PrincipalTag/job-category":"iamuser-admin"})
        ),
        Decision::Allowed
    );
    assert_eq!(
        cond_case(
            c.clone(),
            json!({"aws:PrincipalTag/job-category":"IAMUser-Admin"})
        ),
        Decision::ImplicitlyDenied
    );
    // key names are case-insensitive
    assert_eq!(
        cond_case(c, json!({"AWS:PRINCIPALTAG/JOB-CATEGORY":"iamuser-admin"})),
        Decision::Allowed
    );
    let ic = json!({"StringEqualsIgnoreCase":{"aws:PrincipalTag/job-category":"IAMUSER-ADMIN"}});
    assert_eq!(
        cond_case(ic, json!({"aws:PrincipalTag/job-category":"iamuser-admin"})),
        Decision::Allowed
    );
    let like = json!({"StringLike":{"s3:prefix":["","home/","home/${aws:username}/*"]}});
    assert_eq!(
        cond_case(like.clone(), json!({"s3:prefix":"home/Alice/photos"})),
        Decision::Allowed
    );
    assert_eq!(
        cond_case(like.clone(), json!({"s3:prefix":"home/Bob/photos"})),
        Decision::ImplicitlyDenied
    );
    assert_eq!(cond_case(like, json!({"s3:prefix":""})), Decision::Allowed);
}

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
/// Numeric, Date, Boolean, IP address, ARN and Null operator examples.
#[test]
fn typed_operators() {
    let n = json!({"NumericLessThanEquals":{"s3:max-keys":"10"}});
    assert_eq!(
        cond_case(n.clone(), json!({"s3:max-keys": 10})),
        Decision::Allowed
    );
    assert_eq!(
        cond_case(n, json!({"s3:max-keys": "11"})),
        Decision::ImplicitlyDenied
    );
    let d = json!({"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}});
    assert_eq!(
        cond_case(
            d.clone(),
            json!({"aws:TokenIssueTime":"2024-05-01T10:00:00Z"})
        ),
        Decision::Allowed
    );
    assert_eq!(
        cond_case(d, json!({"aws:TokenIssueTime":"2019-12-31T23:59:59Z"})),
        Decision::ImplicitlyDenied
    );
    let b = json!({"Bool":{"aws:SecureTransport":"true"}});
    assert_eq!(
        cond_case(b.clone(), json!({"aws:SecureTransport": true})),
        Decision::Allowed
    );
    assert_eq!(
        cond_case(b, json!({"aws:SecureTransport": false})),
        Decision::ImplicitlyDenied
    );
    // JSON boolean in the policy is accepted too
    assert_eq!(
        cond_case(
            json!({"Bool":{"aws:SecureTransport": true}}),
            json!({"aws:SecureTransport":"true"})
        ),
        Decision::Allowed
    );
    let ip = json!({"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}});
    assert_eq!(
        cond_case(ip.clone(), json!({"aws:SourceIp":"203.0.113.45"})),
        Decision::Allowed
    );
    assert_eq!(
        cond_case(ip, json!({"aws:SourceIp":"198.51.100.1"})),
        Decision::ImplicitlyDenied
    );
    let ipv6 = json!({"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64"]}});
    assert_eq!(
        cond_case(ipv6, json!({"aws:SourceIp":"2001:db8:1234:5678::1"})),
        Decision::Allowed
    );
    let arn = json!({"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:TOPIC-ID"}});
    assert_eq!(
        cond_case(
            arn.clone(),
            json!({"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:TOPIC-ID"})
        ),
        Decision::Allowed
    );
    assert_eq!(
        cond_case(
            arn,
            json!({"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:OTHER"})
        ),
        Decision::ImplicitlyDenied
    );
    // "Null": {"aws:TokenIssueTime": "true"} holds when the key is absent
    let null = json!({"Null":{"aws:TokenIssueTime":"true"}});
    assert_eq!(cond_case(null.clone(), json!({})), Decision::Allowed);
    assert_eq!(
        cond_case(null, json!({"aws:TokenIssueTime":"2024-01-01T00:00:00Z"})),
        Decision::ImplicitlyDenied
    );
}

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
/// "If the key that you specify in a policy condition is not present in the
/// request context, the values do not match and the condition is false. If
/// the policy condition requires that the key is not matched, such as
/// StringNotLike or ArnNotLike, and the right key is not present, the
/// condition is true." And the `...IfExists` section (StringLikeIfExists
/// ec2:InstanceType example).
#[test]
fn missing_keys_and_if_exists() {
    assert_eq!(
        cond_case(
            json!({"StringLike":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}),
            json!({})
        ),
        Decision::ImplicitlyDenied
    );
    assert_eq!(
        cond_case(
            json!({"StringNotLike":{"ec2:InstanceType":["t1.*"]}}),
            json!({})
        ),
        Decision::Allowed
    );
    assert_eq!(
        cond_case(
            json!({"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:x"}}),
            json!({})
        ),
        Decision::Allowed
    );
    let ifx = json!({"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}});
    assert_eq!(cond_case(ifx.clone(), json!({})), Decision::Allowed);
    assert_eq!(
        cond_case(ifx.clone(), json!({"ec2:InstanceType":"t2.micro"})),
        Decision::Allowed
    );
    assert_eq!(
        cond_case(ifx, json!({"ec2:InstanceType":"c5.large"})),
        Decision::ImplicitlyDenied
    );
}

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
/// Multiple keys: AND. Multiple values of one key: OR. Negated operators
/// with several values: the request value must match none (NOR).
#[test]
fn multiple_keys_and_values() {
    let c = json!({"StringEquals":{"aws:PrincipalTag/department":["finance","hr","legal"],"aws:PrincipalTag/role":["audit","security"]}});
    assert_eq!(
        cond_case(
            c.clone(),
            json!({"aws:PrincipalTag/department":"hr","aws:PrincipalTag/role":"audit"})
        ),
        Decision::Allowed
    );
    assert_eq!(
        cond_case(
            c,
            json!({"aws:PrincipalTag/department":"hr","aws:PrincipalTag/role":"dev"})
        ),
        Decision::ImplicitlyDenied
    );
    let neg = json!({"StringNotEquals":{"aws:PrincipalTag/department":["finance","hr"]}});
    assert_eq!(
        cond_case(neg.clone(), json!({"aws:PrincipalTag/department":"hr"})),
        Decision::ImplicitlyDenied
    );
    assert_eq!(
        cond_case(neg, json!({"aws:PrincipalTag/department":"it"})),
        Decision::Allowed
    );
}

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
/// ForAllValues / ForAnyValue with aws:TagKeys, including the documented
/// pitfall that ForAllValues is true when the key is missing.
#[test]
fn set_operators() {
    let all = json!({"ForAllValues:StringEquals":{"aws:TagKeys":["environment","cost-center"]}});
    assert_eq!(
        cond_case(all.clone(), json!({"aws:TagKeys":["environment"]})),
        Decision::Allowed
    );
    assert_eq!(
        cond_case(all.clone(), json!({"aws:TagKeys":["environment","owner"]})),
        Decision::ImplicitlyDenied
    );
    assert_eq!(cond_case(all, json!({})), Decision::Allowed);
    let any = json!({"ForAnyValue:StringEquals":{"aws:TagKeys":["environment","cost-center"]}});
    assert_eq!(
        cond_case(any.clone(), json!({"aws:TagKeys":["owner","cost-center"]})),
        Decision::Allowed
    );
    assert_eq!(
        cond_case(any.clone(), json!({"aws:TagKeys":["owner"]})),
        Decision::ImplicitlyDenied
    );
    assert_eq!(cond_case(any, json!({})), Decision::ImplicitlyDenied);
}

// ---------------------------------------------------------------- variables

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
/// `${aws:username}` in Resource; only with Version 2012-10-17; defaults;
/// `${*}` escapes.
#[test]
fn policy_variables() {
    let policy = |version: Option<&str>| {
        let mut p = json!({"Statement":[{"Effect":"Allow","Action":"s3:GetObject",
            "Resource":"arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*"}]});
        if let Some(v) = version {
            p["Version"] = json!(v);
        }
        p
    };
    let run = |p: Value, key: &str| {
        decide(with_identity(
            request(
                ALICE,
                "s3:GetObject",
                &format!("arn:aws:s3:::amzn-s3-demo-bucket/{key}"),
            ),
            vec![p],
        ))
    };
    assert_eq!(
        run(policy(Some("2012-10-17")), "home/Alice/notes.txt"),
        Decision::Allowed
    );
    assert_eq!(
        run(policy(Some("2012-10-17")), "home/Bob/notes.txt"),
        Decision::ImplicitlyDenied
    );
    // 2008-10-17 or no version: the variable is literal text
    assert_eq!(
        run(policy(Some("2008-10-17")), "home/Alice/notes.txt"),
        Decision::ImplicitlyDenied
    );
    assert_eq!(
        run(policy(None), "home/${aws:username}/notes.txt"),
        Decision::Allowed
    );
    // default value and ${*}
    let p = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",
        "Resource":"arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'company-wide'}/${*}"}]});
    let run2 = |key: &str, tags: Value| {
        let mut req = request(ALICE, "s3:GetObject", &format!("arn:aws:s3:::bucket/{key}"));
        req["principalTags"] = tags;
        decide(with_identity(req, vec![p.clone()]))
    };
    assert_eq!(run2("company-wide/*", json!({})), Decision::Allowed);
    assert_eq!(
        run2("company-wide/x", json!({})),
        Decision::ImplicitlyDenied
    );
    assert_eq!(run2("blue/*", json!({"team":"blue"})), Decision::Allowed);
}

// ---------------------------------------------------------------- ECR

/// https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html
/// "Example: Allow one or more users" (AllowPushPull).
#[test]
fn ecr_allow_one_or_more_users() {
    let policy = json!({"Version":"2012-10-17","Statement":[{"Sid":"AllowPushPull","Effect":"Allow",
        "Principal":{"AWS":["arn:aws:iam::111122223333:user/push-pull-user-1","arn:aws:iam::111122223333:user/push-pull-user-2"]},
        "Action":["ecr:BatchGetImage","ecr:BatchCheckLayerAvailability","ecr:CompleteLayerUpload","ecr:GetDownloadUrlForLayer","ecr:InitiateLayerUpload","ecr:PutImage","ecr:UploadLayerPart"]}]});
    let res = "arn:aws:ecr:us-west-2:111122223333:repository/app";
    let run = |user: &str, action: &str| {
        decide(
            json!({"request": request(&format!("arn:aws:iam::111122223333:user/{user}"), action, res), "resourcePolicy": policy}),
        )
    };
    assert_eq!(run("push-pull-user-1", "ecr:PutImage"), Decision::Allowed);
    assert_eq!(
        run("push-pull-user-2", "ecr:BatchGetImage"),
        Decision::Allowed
    );
    assert_eq!(
        run("push-pull-user-1", "ecr:DeleteRepository"),
        Decision::ImplicitlyDenied
    );
    assert_eq!(
        run("someone-else", "ecr:BatchGetImage"),
        Decision::ImplicitlyDenied
    );
}

/// https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html
/// "Example: Allow another account" (AllowCrossAccountPush): the account is
/// allowed; its principals also need identity-based permissions.
#[test]
fn ecr_allow_another_account() {
    let policy = json!({"Version":"2012-10-17","Statement":[{"Sid":"AllowCrossAccountPush","Effect":"Allow",
        "Principal":{"AWS":"arn:aws:iam::444455556666:root"},
        "Action":["ecr:BatchCheckLayerAvailability","ecr:CompleteLayerUpload","ecr:InitiateLayerUpload","ecr:PutImage","ecr:UploadLayerPart"]}]});
    let res = "arn:aws:ecr:us-west-2:111122223333:repository/app";
    let pusher = "arn:aws:sts::444455556666:assumed-role/CiRole/build-1";
    let run = |action: &str, ids: Vec<Value>| {
        decide(
            json!({"request": request(pusher, action, res), "identityPolicies": ids, "resourcePolicy": policy}),
        )
    };
    let power = json!({"name": "AmazonEC2ContainerRegistryPowerUser"});
    assert_eq!(run("ecr:PutImage", vec![power.clone()]), Decision::Allowed);
    assert_eq!(run("ecr:PutImage", vec![]), Decision::ImplicitlyDenied);
    // pull is not in the repository grant: cross-account, so implicitly denied
    assert_eq!(
        run("ecr:BatchGetImage", vec![power]),
        Decision::ImplicitlyDenied
    );
}

/// https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry-permissions-examples.html
/// "Allow the root user of a source account to replicate all repositories
/// with prefix prod-": Resource patterns are honoured in registry policies.
#[test]
fn ecr_registry_policy_resource_prefix() {
    let policy = json!({"Version":"2012-10-17","Statement":[{"Sid":"ReplicationAccessCrossAccount","Effect":"Allow",
        "Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":["ecr:CreateRepository","ecr:ReplicateImage"],
        "Resource":["arn:aws:ecr:us-west-2:111122223333:repository/prod-*"]}]});
    let run = |repo: &str| {
        decide(
            json!({"request": request("arn:aws:iam::444455556666:root", "ecr:ReplicateImage",
        &format!("arn:aws:ecr:us-west-2:111122223333:repository/{repo}")), "resourcePolicy": policy}),
        )
    };
    assert_eq!(run("prod-api"), Decision::Allowed);
    assert_eq!(run("dev-api"), Decision::ImplicitlyDenied);
}

/// https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEC2ContainerRegistryReadOnly.html
/// (and PullOnly / PowerUser pages): the shipped documents grant what the
/// pages list.
#[test]
fn shipped_managed_policies() {
    let res = "arn:aws:ecr:us-east-1:111122223333:repository/app";
    let run = |name: &str, action: &str| {
        decide(
            json!({"request": request(ROLE_SESSION, action, res), "identityPolicies": [{"name": name}]}),
        )
    };
    assert_eq!(
        run("AmazonEC2ContainerRegistryReadOnly", "ecr:BatchGetImage"),
        Decision::Allowed
    );
    assert_eq!(
        run("AmazonEC2ContainerRegistryReadOnly", "ecr:PutImage"),
        Decision::ImplicitlyDenied
    );
    assert_eq!(
        run(
            "AmazonEC2ContainerRegistryPullOnly",
            "ecr:GetDownloadUrlForLayer"
        ),
        Decision::Allowed
    );
    assert_eq!(
        run("AmazonEC2ContainerRegistryPullOnly", "ecr:ListImages"),
        Decision::ImplicitlyDenied
    );
    assert_eq!(
        run("AmazonEC2ContainerRegistryPowerUser", "ecr:PutImage"),
        Decision::Allowed
    );
    assert_eq!(
        run(
            "AmazonEC2ContainerRegistryPowerUser",
            "ecr:DeleteRepository"
        ),
        Decision::ImplicitlyDenied
    );
    assert_eq!(
        run("AmazonEKSWorkerNodePolicy", "ecr:BatchGetImage"),
        Decision::ImplicitlyDenied
    );
}

// ---------------------------------------------------------------- other policy types

/// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
/// An SCP must allow, and its Deny applies regardless of other grants.
#[test]
fn scps_and_vpc_endpoint_policies() {
    let res = "arn:aws:ecr:us-east-1:111122223333:repository/app";
    let base = json!({"request": request(ROLE_SESSION, "ecr:BatchGetImage", res),
        "identityPolicies": [{"name": "AmazonEC2ContainerRegistryReadOnly"}]});
    let mut v = base.clone();
    v["serviceControlPolicies"] = json!([allow_identity(&["s3:*"])]);
    let ev = eval(v);
    assert_eq!(ev.decision, Decision::ImplicitlyDenied);
    assert!(
        ev.explanation
            .aws_message
            .unwrap()
            .ends_with("because no service control policy allows the ecr:BatchGetImage action")
    );
    let mut v = base.clone();
    v["serviceControlPolicies"] = json!([{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"ecr:*","Resource":"*"}]}]);
    let ev = eval(v);
    assert_eq!(ev.decision, Decision::ExplicitlyDenied);
    assert!(
        ev.explanation
            .aws_message
            .unwrap()
            .ends_with("with an explicit deny in a service control policy")
    );
    // https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html
    let mut v = base;
    v["vpcEndpointPolicies"] = json!([{"Statement":[{"Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage"],"Resource":"*"}]}]);
    assert_eq!(decide(v.clone()), Decision::Allowed);
    v["request"]["action"] = json!("ecr:GetDownloadUrlForLayer");
    assert_eq!(decide(v), Decision::ImplicitlyDenied);
}

// ---------------------------------------------------------------- grammar

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
/// Every shape the grammar allows parses; invalid documents name the
/// statement (Sid or index) and the element.
#[test]
fn grammar_shapes_and_errors() {
    let ok = json!({"Version":"2012-10-17","Id":"x","Statement":{"Sid":"One","Effect":"Allow",
        "Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:role/R"],"Service":"ec2.amazonaws.com"},
        "NotAction":"iam:*","NotResource":["arn:aws:s3:::a"],
        "Condition":{"NumericLessThan":{"k":5},"Bool":{"b":true},"StringEquals":{"s":["x","y"]}}}});
    let p = Policy::from_value(&ok, "p").unwrap();
    assert_eq!(p.statements[0].conditions.len(), 3);
    let err = |doc: Value| Policy::from_value(&doc, "p").unwrap_err();
    let e = err(
        json!({"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},
        {"Sid":"Broken","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualz":{"k":"v"}}}]}),
    );
    match &e {
        IamError::InvalidStatement {
            statement, element, ..
        } => {
            assert_eq!(statement.sid.as_deref(), Some("Broken"));
            assert_eq!(statement.index, 1);
            assert_eq!(element, "Condition.StringEqualz");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string()
            .contains("unknown condition operator `StringEqualz`")
    );
    let e = err(json!({"Statement":[{"Effect":"Allow","Action":"*","Resource":{"a":1}}]}));
    assert!(
        e.to_string().contains("index 0") && e.to_string().contains("`Resource`"),
        "{e}"
    );
    let e = err(
        json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"k":null}}}]}),
    );
    assert!(e.to_string().contains("Condition.StringEquals.k"), "{e}");
    // Principal is not allowed in identity policies; required in resource policies.
    let bad_identity = json!({"request": request(ALICE, "s3:GetObject", "*"),
        "identityPolicies": [{"name": "mine", "document": {"Statement":[{"Sid":"P","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}}]});
    let e = rulerun_iam::evaluate(&input(bad_identity)).unwrap_err();
    assert!(
        e.to_string()
            .contains("policy `mine`, statement `P` (index 0), element `Principal`"),
        "{e}"
    );
}

/// The fix refuses wildcard or unknown required actions instead of guessing.
#[test]
fn fix_rejects_unknown_required_actions() {
    let inp = input(
        json!({"request": request(ROLE_SESSION, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:111122223333:repository/app")}),
    );
    assert!(fix_resource_policy(&inp, &["ecr:*".to_string()]).is_err());
    assert!(fix_resource_policy(&inp, &[]).is_err());
    let ok = fix_resource_policy(&inp, &["ecr:batchgetimage".to_string()]).unwrap();
    assert!(ok.proven, "{ok:#?}");
}

// ---------------------------------------------------------------- data perimeters

/// A repository policy that allows the node role to pull, plus `deny`.
fn perimeter_case(deny: Value, context: Value) -> Value {
    json!({
        "request": {"principal": ROLE_SESSION, "action": "ecr:BatchGetImage",
            "resource": "arn:aws:ecr:us-east-1:111122223333:repository/app", "context": context},
        "identityPolicies": [allow_identity(&["ecr:BatchGetImage"])],
        "resourcePolicy": {"Version": "2012-10-17", "Statement": [deny]},
    })
}

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourcevpce
/// and the data perimeter examples (https://github.com/aws-samples/data-perimeter-policy-examples):
/// `Deny` unless `aws:SourceVpce` is the endpoint. Without the key (the
/// request does not come through an endpoint) the deny applies; it is a
/// perimeter, reported with what the request lacks.
#[test]
fn source_vpce_perimeter() {
    let deny = json!({"Sid": "DenyOutsideVpce", "Effect": "Deny", "Principal": "*", "Action": "ecr:*",
        "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0abc"}}});
    let ev = eval(perimeter_case(deny.clone(), json!({})));
    assert_eq!(ev.decision, Decision::ExplicitlyDenied);
    assert!(ev.explanation.perimeter_only);
    let json = serde_json::to_value(&ev.explanation).unwrap();
    assert_eq!(
        json["perimeter"],
        json!([{"statement": "DenyOutsideVpce", "policyType": "resource", "policyName": "resource policy #0",
            "key": "aws:SourceVpce", "operator": "StringNotEquals", "values": ["vpce-0abc"],
            "requestValue": null, "needs": "the request must come through VPC endpoint `vpce-0abc`"}])
    );
    assert_eq!(json["perimeterOnly"], true);

    // through the endpoint: not denied, and nothing to report
    let ev = eval(perimeter_case(
        deny.clone(),
        json!({"aws:SourceVpce": "vpce-0abc"}),
    ));
    assert_eq!(ev.decision, Decision::Allowed);
    let json = serde_json::to_value(&ev.explanation).unwrap();
    assert_eq!(json["perimeter"], json!([]));
    assert_eq!(json["perimeterOnly"], false);

    // through another endpoint: denied, with the request's value
    let ev = eval(perimeter_case(
        deny,
        json!({"aws:SourceVpce": "vpce-0other"}),
    ));
    assert_eq!(ev.decision, Decision::ExplicitlyDenied);
    assert_eq!(
        ev.explanation.perimeter[0].request_value,
        json!("vpce-0other")
    );

    // the IfExists variant holds when the key is absent, too
    let deny = json!({"Effect": "Deny", "Principal": "*", "Action": "ecr:*",
        "Condition": {"StringNotEqualsIfExists": {"aws:sourcevpce": ["vpce-0abc", "vpce-0def"]}}});
    let ev = eval(perimeter_case(deny, json!({})));
    assert_eq!(ev.decision, Decision::ExplicitlyDenied);
    let p = &ev.explanation.perimeter[0];
    assert_eq!(p.statement, "#0");
    assert_eq!(p.operator, "StringNotEqualsIfExists");
    assert_eq!(p.request_value, Value::Null);
    assert_eq!(
        p.needs,
        "the request must come through VPC endpoint one of `vpce-0abc`, `vpce-0def`"
    );
}

/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid:
/// `Deny` to principals outside the organization.
#[test]
fn principal_org_id_perimeter() {
    let deny = json!({"Sid": "DenyOutsideOrg", "Effect": "Deny", "Principal": "*", "Action": "ecr:*",
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}});
    let ev = eval(perimeter_case(deny.clone(), json!({})));
    assert_eq!(ev.decision, Decision::ExplicitlyDenied);
    assert!(ev.explanation.perimeter_only);
    let p = &ev.explanation.perimeter[0];
    assert_eq!(p.key, "aws:PrincipalOrgID");
    assert_eq!(p.values, vec!["o-a1b2c3d4e5".to_string()]);
    assert_eq!(p.request_value, Value::Null);
    assert_eq!(
        p.needs,
        "the principal must belong to organization `o-a1b2c3d4e5`"
    );
    let ev = eval(perimeter_case(
        deny.clone(),
        json!({"aws:PrincipalOrgID": "o-a1b2c3d4e5"}),
    ));
    assert_eq!(ev.decision, Decision::Allowed);
    assert!(ev.explanation.perimeter.is_empty());
    let ev = eval(perimeter_case(
        deny,
        json!({"aws:PrincipalOrgID": "o-other"}),
    ));
    assert_eq!(ev.explanation.perimeter[0].request_value, json!("o-other"));
}

/// An unconditional `Deny` is no perimeter; a perimeter `Deny` with an
/// exception on another key is reported but is not only a perimeter; so is
/// a perimeter `Deny` next to an unconditional one.
#[test]
fn perimeter_only_needs_every_condition_to_be_a_perimeter() {
    let plain =
        json!({"Sid": "NoPull", "Effect": "Deny", "Principal": "*", "Action": "ecr:BatchGetImage"});
    let ev = eval(perimeter_case(plain.clone(), json!({})));
    assert_eq!(ev.decision, Decision::ExplicitlyDenied);
    assert!(ev.explanation.perimeter.is_empty());
    assert!(!ev.explanation.perimeter_only);
    let json = serde_json::to_value(&ev.explanation).unwrap();
    assert_eq!(json["perimeter"], json!([]));
    assert_eq!(json["perimeterOnly"], false);

    let mixed = json!({"Sid": "DenyOutsideVpce", "Effect": "Deny", "Principal": "*", "Action": "ecr:*",
        "Condition": {"StringNotEquals": {"aws:SourceVpc": "vpc-0abc", "aws:PrincipalTag/team": "ci"},
            "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/Admin*"}}});
    let mut input = perimeter_case(mixed.clone(), json!({"aws:SourceVpc": "vpc-0zzz"}));
    input["request"]["principalTags"] = json!({"team": "web"});
    let ev = eval(input);
    assert_eq!(ev.decision, Decision::ExplicitlyDenied);
    assert!(!ev.explanation.perimeter_only);
    // in the condition block's key order; conditions are ANDed, so meeting
    // any one need lifts this deny
    let needs: Vec<(&str, &Value, &str)> = ev
        .explanation
        .perimeter
        .iter()
        .map(|p| (p.key.as_str(), &p.request_value, p.needs.as_str()))
        .collect();
    assert_eq!(
        needs,
        vec![
            (
                "aws:PrincipalTag/team",
                &json!("web"),
                "the principal must carry tag `team` with value `ci`"
            ),
            (
                "aws:SourceVpc",
                &json!("vpc-0zzz"),
                "the request must come from VPC `vpc-0abc`"
            ),
        ]
    );

    // a perimeter Deny next to an unconditional one
    let mut input = perimeter_case(
        json!({"Effect": "Deny", "Principal": "*", "Action": "ecr:*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}),
        json!({"aws:SourceIp": "198.51.100.7"}),
    );
    input["resourcePolicy"]["Statement"]
        .as_array_mut()
        .unwrap()
        .push(plain);
    let ev = eval(input);
    assert_eq!(ev.decision, Decision::ExplicitlyDenied);
    assert_eq!(ev.explanation.perimeter.len(), 1);
    assert_eq!(
        ev.explanation.perimeter[0].needs,
        "the request must come from a public IP address in `203.0.113.0/24`"
    );
    assert!(!ev.explanation.perimeter_only);
}
