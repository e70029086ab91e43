//! The headline scenario: an ECR repository policy explicitly denies the EKS
//! node role every repository action, so pods sit in ImagePullBackOff.

use rulerun_iam::data::{PULL_ACTIONS, SENTINEL_ACTIONS};
use rulerun_iam::{Decision, fix_resource_policy};
use serde_json::{Value, json};

use crate::common::{eval, input};

pub const NODE_SESSION: &str =
    "arn:aws:sts::1234567890:assumed-role/EksNodeGroupRole/i-0123456789abcdef0";
pub const REPO: &str = "arn:aws:ecr:us-east-1:1234567890:repository/app";

pub fn scenario_policy() -> Value {
    json!({"Version":"2012-10-17","Statement":[{"Sid":"new policy","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::1234567890:role/EksNodeGroupRole"},"Action":["ecr:UploadLayerPart","ecr:SetRepositoryPolicy","ecr:PutImage","ecr:ListImages","ecr:InitiateLayerUpload","ecr:GetRepositoryPolicy","ecr:GetDownloadUrlForLayer","ecr:DescribeRepositories","ecr:DeleteRepositoryPolicy","ecr:DeleteRepository","ecr:CompleteLayerUpload","ecr:BatchGetImage","ecr:BatchDeleteImage","ecr:BatchCheckLayerAvailability"]}]})
}

pub fn scenario_input(action: &str) -> Value {
    json!({
        "request": {"principal": NODE_SESSION, "action": action, "resource": REPO},
        "identityPolicies": [{"name": "AmazonEC2ContainerRegistryReadOnly", "arn": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"}],
        // as ECR returns it: policyText is a JSON string
        "resourcePolicy": {"name": "app", "document": scenario_policy().to_string()}
    })
}

fn pull_actions() -> Vec<String> {
    PULL_ACTIONS.iter().map(|s| s.to_string()).collect()
}

#[test]
fn scenario_pull_is_explicitly_denied_by_the_repository_policy() {
    let ev = eval(scenario_input("ecr:BatchGetImage"));
    assert_eq!(ev.decision, Decision::ExplicitlyDenied);
    let ex = &ev.explanation;
    assert_eq!(
        ex.aws_message.as_deref(),
        Some(
            "User: arn:aws:sts::1234567890:assumed-role/EksNodeGroupRole/i-0123456789abcdef0 is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:1234567890:repository/app with an explicit deny in a resource-based policy"
        )
    );
    let d = &ex.deciding_statements[0];
    assert_eq!(d.sid.as_deref(), Some("new policy"));
    assert_eq!(d.policy_name, "app");
    let v = serde_json::to_value(&ev).unwrap();
    assert_eq!(v["decision"], "ExplicitlyDenied");
    assert_eq!(
        v["explanation"]["decidingStatements"][0]["policyType"],
        "resource"
    );
    assert_eq!(
        v["explanation"]["decidingStatements"][0]["principal"]["kind"],
        "role"
    );
    assert_eq!(
        v["explanation"]["decidingStatements"][0]["principal"]["pattern"],
        "arn:aws:iam::1234567890:role/EksNodeGroupRole"
    );
    assert_eq!(
        v["explanation"]["decidingStatements"][0]["action"]["pattern"],
        "ecr:BatchGetImage"
    );
    // the identity side does allow it
    assert!(
        ex.statements
            .iter()
            .any(|s| s.policy_name == "AmazonEC2ContainerRegistryReadOnly"
                && s.outcome == rulerun_iam::Outcome::True)
    );
    if std::env::var_os("RULERUN_IAM_PRINT").is_some() {
        println!("{}", serde_json::to_string_pretty(&v).unwrap());
    }
}

#[test]
fn scenario_fix_narrows_the_deny_and_proves_it() {
    let inp = input(scenario_input("ecr:BatchGetImage"));
    let fix = fix_resource_policy(&inp, &pull_actions()).unwrap();
    if std::env::var_os("RULERUN_IAM_PRINT").is_some() {
        println!("{}", serde_json::to_string_pretty(&fix).unwrap());
    }
    assert!(fix.proven, "{fix:#?}");
    assert!(fix.newly_allowed.is_empty());
    for p in &fix.proof {
        if p.required {
            assert_eq!(p.before, Decision::ExplicitlyDenied);
            assert_eq!(p.after, Decision::Allowed);
        } else {
            assert_ne!(p.after, Decision::Allowed, "{}", p.action);
        }
    }
    for s in SENTINEL_ACTIONS {
        assert!(fix.proof.iter().any(|p| p.action == *s));
    }
    // Still a Deny, same Sid, same principal; pull actions gone, writes kept.
    let st = &fix.policy["Statement"];
    assert_eq!(st.as_array().unwrap().len(), 1);
    assert_eq!(st[0]["Effect"], "Deny");
    assert_eq!(st[0]["Sid"], "new policy");
    let actions: Vec<String> = serde_json::from_value(st[0]["Action"].clone()).unwrap();
    for a in PULL_ACTIONS {
        assert!(!actions.contains(&a.to_string()));
    }
    for a in SENTINEL_ACTIONS {
        assert!(actions.contains(&a.to_string()), "{a}");
    }
    assert!(fix.changes.iter().any(|c| c.contains("new policy")));
    // No Allow needed: ReadOnly grants the pull on the identity side.
    assert!(!fix.changes.iter().any(|c| c.contains("Allow [")));
}

#[test]
fn naive_flip_to_allow_would_grant_sentinels() {
    // The naive fix (Deny -> Allow) hands the node role write/admin actions;
    // the evaluator shows it, which is why the fix never flips a Deny.
    let mut flipped = scenario_policy();
    flipped["Statement"][0]["Effect"] = json!("Allow");
    for s in [
        "ecr:PutImage",
        "ecr:DeleteRepository",
        "ecr:SetRepositoryPolicy",
    ] {
        let mut inp = scenario_input(s);
        inp["resourcePolicy"] = json!({"name": "app", "document": flipped});
        assert_eq!(eval(inp).decision, Decision::Allowed, "{s}");
    }
}

#[test]
fn scenario_unknown_vpce_perimeter() {
    // A perimeter Deny on aws:SourceVpce when we cannot tell how the node
    // reaches ECR: the decision depends on that key.
    let policy = json!({"Version":"2012-10-17","Statement":[{"Sid":"OnlyViaVpce","Effect":"Deny","Principal":"*","Action":"ecr:*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}]});
    let mut inp = scenario_input("ecr:BatchGetImage");
    inp["resourcePolicy"] = policy.clone();
    inp["request"]["unknownKeys"] = json!(["aws:SourceVpce"]);
    let ev = eval(inp.clone());
    assert_eq!(ev.decision, Decision::Unknown);
    assert_eq!(ev.explanation.unknown_keys, vec!["aws:sourcevpce"]);
    assert!(
        ev.explanation.unknown_because[0].contains("unless the request goes through vpce-1a2b3c4d"),
        "{:?}",
        ev.explanation.unknown_because
    );
    // known either way
    inp["request"]["unknownKeys"] = json!([]);
    inp["request"]["context"] = json!({"aws:SourceVpce": "vpce-1a2b3c4d"});
    assert_eq!(eval(inp.clone()).decision, Decision::Allowed);
    inp["request"]["context"] = json!({"aws:SourceVpce": "vpce-other"});
    assert_eq!(eval(inp.clone()).decision, Decision::ExplicitlyDenied);
    inp["request"]["context"] = json!({});
    assert_eq!(eval(inp).decision, Decision::ExplicitlyDenied);
}

#[test]
fn perimeter_fix_exempts_only_this_role_for_only_the_pull_actions() {
    let policy = json!({"Version":"2012-10-17","Statement":[{"Sid":"OnlyViaVpce","Effect":"Deny","Principal":"*","Action":"ecr:*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}]});
    let mut inp = scenario_input("ecr:BatchGetImage");
    inp["resourcePolicy"] = policy;
    inp["request"]["unknownKeys"] = json!(["aws:SourceVpce"]);
    let fix = fix_resource_policy(&input(inp.clone()), &pull_actions()).unwrap();
    assert!(fix.proven, "{fix:#?}");
    let st = fix.policy["Statement"].as_array().unwrap();
    assert_eq!(st.len(), 2);
    assert!(st.iter().all(|s| s["Effect"] == "Deny"));
    let exempt = &st[1];
    assert_eq!(
        exempt["Condition"]["StringNotEquals"]["aws:SourceVpce"],
        "vpce-1a2b3c4d"
    );
    assert_eq!(
        exempt["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
        json!([
            "arn:aws:iam::1234567890:role/EksNodeGroupRole",
            "arn:aws:iam::1234567890:role/*/EksNodeGroupRole"
        ])
    );
    // another principal is still denied pulls outside the endpoint
    let mut other = inp.clone();
    other["request"]["principal"] = json!("arn:aws:sts::1234567890:assumed-role/Other/x");
    other["request"]["unknownKeys"] = json!([]);
    other["resourcePolicy"] = fix.policy.clone();
    assert_eq!(eval(other).decision, Decision::ExplicitlyDenied);
}

#[test]
fn cross_account_fix_adds_exact_allow() {
    // Repository in another account, no repository grant: the fix adds an
    // Allow of exactly the pull actions to exactly the node role.
    let mut inp = scenario_input("ecr:BatchGetImage");
    inp["request"]["principal"] = json!("arn:aws:iam::111122223333:role/eks/EksNodeGroupRole");
    inp["resourcePolicy"] = json!({"Version":"2012-10-17","Statement":[{"Sid":"AllowCi","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1234567890:role/Ci"},"Action":"ecr:*"}]});
    let before = eval(inp.clone());
    assert_eq!(before.decision, Decision::ImplicitlyDenied);
    assert!(
        before
            .explanation
            .aws_message
            .unwrap()
            .ends_with("because no resource-based policy allows the ecr:BatchGetImage action")
    );
    let fix = fix_resource_policy(&input(inp), &pull_actions()).unwrap();
    assert!(fix.proven, "{fix:#?}");
    let added = &fix.policy["Statement"][1];
    assert_eq!(added["Effect"], "Allow");
    assert_eq!(
        added["Principal"]["AWS"],
        "arn:aws:iam::111122223333:role/eks/EksNodeGroupRole"
    );
    assert_eq!(added["Action"], json!(PULL_ACTIONS));
}
