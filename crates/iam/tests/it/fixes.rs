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
    assert_eq!(fix.policy["Statement"], json!([]));
    assert!(fix.changes[0].contains("removed"), "{:?}", fix.changes);
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
