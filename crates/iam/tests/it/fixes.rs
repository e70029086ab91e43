//! Targeted tests of the least-privilege fix.

use rulerun_iam::data::PULL_ACTIONS;
use rulerun_iam::{Decision, fix_resource_policy};
use serde_json::{Value, json};

use crate::common::{eval, input};

const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/EksNodeRole/i-0abc";
const ROLE: &str = "arn:aws:iam::111122223333:role/EksNodeRole";
const OTHER: &str = "arn:aws:iam::111122223333:role/Other";
const REPO: &str = "arn:aws:ecr:us-east-1:111122223333:repository/app";

fn case(policy: Value) -> Value {
    json!({"request": {"principal": SESSION, "action": "ecr:BatchGetImage", "resource": REPO},
        "identityPolicies": [{"name": "AmazonEC2ContainerRegistryReadOnly"}],
        "resourcePolicy": policy})
}

fn pull() -> Vec<String> {
    PULL_ACTIONS.iter().map(|s| s.to_string()).collect()
}

fn decision_for(policy: &Value, principal: &str, action: &str) -> Decision {
    let mut v = case(policy.clone());
    v["request"]["principal"] = json!(principal);
    v["request"]["action"] = json!(action);
    eval(v).decision
}

#[test]
fn other_principals_keep_the_original_deny() {
    let policy = json!({"Version":"2012-10-17","Statement":[{"Sid":"NoEcr","Effect":"Deny",
        "Principal":{"AWS":[ROLE, OTHER]},"Action":"ecr:*"}]});
    let fix = fix_resource_policy(&input(case(policy)), &pull()).unwrap();
    assert!(fix.proven, "{fix:#?}");
    let other_session = "arn:aws:sts::111122223333:assumed-role/Other/x";
    assert_eq!(
        decision_for(&fix.policy, other_session, "ecr:BatchGetImage"),
        Decision::ExplicitlyDenied
    );
    assert_eq!(
        decision_for(&fix.policy, SESSION, "ecr:BatchGetImage"),
        Decision::Allowed
    );
    assert_eq!(
        decision_for(&fix.policy, SESSION, "ecr:PutImage"),
        Decision::ExplicitlyDenied
    );
    assert_eq!(fix.policy["Statement"][0]["Sid"], "NoEcr");
    assert_eq!(
        fix.policy["Statement"][0]["Principal"]["AWS"],
        json!([OTHER])
    );
    assert_eq!(fix.policy["Statement"][1]["Sid"], "NoEcrForEksNodeRole");
}

#[test]
fn wildcard_in_principal_list_is_a_perimeter() {
    let policy = json!({"Version":"2012-10-17","Statement":[{"Sid":"NoEcr","Effect":"Deny",
        "Principal":{"AWS":[ROLE, "*"]},"Action":"ecr:Batch*"}]});
    let fix = fix_resource_policy(&input(case(policy)), &pull()).unwrap();
    assert!(fix.proven, "{fix:#?}");
    // everyone else is still denied pulls
    let other_session = "arn:aws:sts::111122223333:assumed-role/Other/x";
    assert_eq!(
        decision_for(&fix.policy, other_session, "ecr:BatchGetImage"),
        Decision::ExplicitlyDenied
    );
    assert_eq!(
        decision_for(&fix.policy, SESSION, "ecr:BatchDeleteImage"),
        Decision::ExplicitlyDenied
    );
}

#[test]
fn not_action_deny_gains_the_required_actions() {
    let policy = json!({"Version":"2012-10-17","Statement":[{"Sid":"OnlyDescribe","Effect":"Deny",
        "Principal":{"AWS":ROLE},"NotAction":"ecr:Describe*"}]});
    let fix = fix_resource_policy(&input(case(policy)), &pull()).unwrap();
    assert!(fix.proven, "{fix:#?}");
    let not: Vec<String> =
        serde_json::from_value(fix.policy["Statement"][0]["NotAction"].clone()).unwrap();
    assert_eq!(not.len(), 1 + PULL_ACTIONS.len());
}

#[test]
fn deny_of_only_the_required_actions_is_removed_not_flipped() {
    let policy = json!({"Version":"2012-10-17","Statement":[{"Sid":"NoPull","Effect":"Deny",
        "Principal":{"AWS":SESSION},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}]});
    let fix = fix_resource_policy(&input(case(policy)), &pull()).unwrap();
    assert!(fix.proven, "{fix:#?}");
    // ECR rejects an empty Statement list: the policy is deleted instead
    assert!(fix.delete_policy);
    assert_eq!(fix.policy, Value::Null);
    assert!(fix.changes[0].contains("removed"), "{:?}", fix.changes);
    assert!(
        fix.changes
            .iter()
            .any(|c| c.contains("delete the repository policy")),
        "{:?}",
        fix.changes
    );
}

/// When narrowing removes every statement, the outcome says to delete the
/// policy (`deletePolicy: true`, `policy: null`), and the proof is computed
/// with no resource policy: the pulls are Allowed by the identity grant and
/// no write action becomes allowed.
#[test]
fn removing_every_statement_deletes_the_policy_and_proves_it_without_one() {
    let policy = json!({"Version":"2012-10-17","Statement":[
        {"Sid":"NoPull","Effect":"Deny","Principal":{"AWS":SESSION},
         "Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]},
        {"Sid":"NoLayers","Effect":"Deny","Principal":{"AWS":ROLE},
         "Action":"ecr:BatchCheckLayerAvailability"}]});
    let fix = fix_resource_policy(&input(case(policy)), &pull()).unwrap();
    assert!(fix.proven, "{fix:#?}");
    assert!(fix.delete_policy);
    assert_eq!(fix.policy, Value::Null);
    assert!(fix.newly_allowed.is_empty(), "{:?}", fix.newly_allowed);
    for p in &fix.proof {
        if p.required {
            assert_eq!(p.before, Decision::ExplicitlyDenied, "{p:?}");
            assert_eq!(p.after, Decision::Allowed, "{p:?}");
        } else {
            // the read-only identity grant gives no write action
            assert_eq!(p.after, Decision::ImplicitlyDenied, "{p:?}");
        }
    }
    assert!(fix.proof.iter().any(|p| p.action == "ecr:PutImage"));
    let json = serde_json::to_value(&fix).unwrap();
    assert_eq!(json["deletePolicy"], true);
    assert_eq!(json["policy"], Value::Null);
    for k in ["changes", "proof", "proven"] {
        assert!(json.get(k).is_some(), "{k}");
    }

    // without an identity grant the resource policy must grant: not deleted
    let mut v = case(
        json!({"Version":"2012-10-17","Statement":[{"Sid":"NoPull","Effect":"Deny",
        "Principal":{"AWS":SESSION},"Action":"ecr:BatchGetImage"}]}),
    );
    v["identityPolicies"] = json!([]);
    let fix = fix_resource_policy(&input(v), &["ecr:BatchGetImage".to_string()]).unwrap();
    assert!(fix.proven, "{fix:#?}");
    assert!(!fix.delete_policy);
    assert_eq!(fix.policy["Statement"][0]["Sid"], "AllowPullForEksNodeRole");
}

/// A fix that needs no statement at all of a policy that did not exist
/// deletes nothing.
#[test]
fn no_policy_to_delete_when_there_was_none() {
    let v = json!({"request": {"principal": SESSION, "action": "ecr:BatchGetImage", "resource": REPO},
        "identityPolicies": [{"name": "AmazonEC2ContainerRegistryReadOnly"}]});
    let fix = fix_resource_policy(&input(v), &pull()).unwrap();
    assert!(fix.proven, "{fix:#?}");
    assert!(!fix.delete_policy);
    assert_eq!(fix.policy, Value::Null);
}

/// When narrowing removes one statement among several, every other
/// statement is the input's, byte for byte once serialized (same keys,
/// values and nesting; `serde_json` keeps object keys sorted), in the
/// input's order.
#[test]
fn untouched_statements_stay_exactly_as_given() {
    let text = r#"{
      "Version": "2012-10-17",
      "Id": "repo-policy",
      "Statement": [
        {"Sid": "AllowCi", "Principal": {"AWS": ["arn:aws:iam::111122223333:role/Ci", "444455556666"]},
         "Effect": "Allow", "Action": ["ecr:PutImage", "ecr:InitiateLayerUpload"],
         "Condition": {"StringEquals": {"aws:PrincipalTag/team": ["ci", "release"]}, "Bool": {"aws:SecureTransport": "true"}}},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:role/EksNodeRole"},
         "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"], "Sid": "NoNodePull"},
        {"Sid": "NoDelete", "Effect": "Deny", "Principal": "*", "Action": "ecr:DeleteRepository",
         "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/Admin*"}}},
        {"Effect": "Deny", "NotPrincipal": {"AWS": ["arn:aws:iam::111122223333:role/Admin", "111122223333"]},
         "NotAction": "ecr:Describe*", "Condition": {"NumericLessThan": {"s3:max-keys": 10}}}
      ]
    }"#;
    let given: Value = serde_json::from_str(text).unwrap();
    let v = case(json!({"name": "app", "document": text}));
    let fix = fix_resource_policy(&input(v), &pull()).unwrap();
    assert!(fix.proven, "{fix:#?}");
    assert!(!fix.delete_policy);
    let kept: Vec<&Value> = given["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Sid"] != "NoNodePull")
        .collect();
    let out = fix.policy["Statement"].as_array().unwrap();
    assert_eq!(out.len(), kept.len(), "{:#}", fix.policy);
    for (a, b) in out.iter().zip(kept) {
        assert_eq!(
            serde_json::to_string(a).unwrap(),
            serde_json::to_string(b).unwrap()
        );
    }
    assert_eq!(fix.policy["Id"], "repo-policy");
    assert_eq!(fix.policy["Version"], "2012-10-17");
}

#[test]
fn blockers_outside_the_resource_policy_are_reported() {
    let mut v = case(
        json!({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":ROLE},"Action":"ecr:*"}]}),
    );
    v["serviceControlPolicies"] = json!([{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
        {"Sid":"NoPulls","Effect":"Deny","Action":"ecr:BatchGetImage","Resource":"*"}]}]);
    let fix = fix_resource_policy(&input(v), &pull()).unwrap();
    assert!(!fix.proven);
    assert!(
        fix.unresolved
            .iter()
            .any(|u| u.contains("ecr:BatchGetImage") && u.contains("service control policy")),
        "{:?}",
        fix.unresolved
    );
    // no sentinel became allowed
    assert!(
        fix.proof
            .iter()
            .all(|p| p.required || p.after != Decision::Allowed)
    );
}

#[test]
fn no_resource_policy_and_no_identity_grant_gets_an_exact_allow() {
    let v =
        json!({"request": {"principal": SESSION, "action": "ecr:BatchGetImage", "resource": REPO}});
    let fix = fix_resource_policy(&input(v), &pull()).unwrap();
    assert!(fix.proven, "{fix:#?}");
    assert_eq!(fix.policy["Statement"][0]["Sid"], "AllowPullForEksNodeRole");
    assert!(
        fix.changes
            .iter()
            .any(|c| c.contains("role path is unknown"))
    );
}

#[test]
fn required_actions_may_come_from_the_input() {
    let mut v = case(
        json!({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":ROLE},"Action":"ecr:*"}]}),
    );
    v["requiredActions"] = json!(["ecr:BatchGetImage"]);
    let fix = fix_resource_policy(&input(v), &[]).unwrap();
    assert!(fix.proven);
    assert_eq!(fix.proof.iter().filter(|p| p.required).count(), 1);
    let json = serde_json::to_value(&fix).unwrap();
    for k in [
        "policy",
        "changes",
        "proof",
        "proven",
        "newlyAllowed",
        "unresolved",
    ] {
        assert!(json.get(k).is_some(), "{k}");
    }
    for k in ["action", "before", "after"] {
        assert!(json["proof"][0].get(k).is_some(), "{k}");
    }
}
