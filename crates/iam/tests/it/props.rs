//! Property tests: the glob matchers against a regex oracle, and the fix
//! against random Deny statements over ECR actions.

use proptest::prelude::*;
use regex::Regex;
use rulerun_iam::data::{PULL_ACTIONS, ecr_actions};
use rulerun_iam::glob::{arn_matches, glob_match, glob_match_ignore_case};
use rulerun_iam::{Decision, fix_resource_policy};
use serde_json::{Value, json};

use crate::common::input;

/// Regex equivalent of a wildcard pattern; `star`/`one` are what `*`/`?` become.
fn to_regex(pattern: &str, star: &str, one: &str) -> String {
    let mut re = String::new();
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(star),
            '?' => re.push_str(one),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re
}

fn oracle(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let flags = if ignore_case { "(?is)" } else { "(?s)" };
    Regex::new(&format!("{flags}^{}$", to_regex(pattern, ".*", ".")))
        .unwrap()
        .is_match(text)
}

/// Per-segment ARN oracle for patterns with at least five colons.
fn arn_oracle(pattern: &str, text: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let segs: Vec<&str> = pattern.splitn(6, ':').collect();
    let re: Vec<String> = segs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i < 5 {
                to_regex(s, "[^:]*", "[^:]")
            } else {
                to_regex(s, ".*", ".")
            }
        })
        .collect();
    Regex::new(&format!("(?s)^{}$", re.join(":")))
        .unwrap()
        .is_match(text)
}

proptest! {
    #[test]
    fn glob_matches_regex_oracle(pattern in "[ab:*?]{0,10}", text in "[ab:]{0,12}") {
        prop_assert_eq!(glob_match(&pattern, &text), oracle(&pattern, &text, false));
    }

    #[test]
    fn glob_ignore_case_matches_regex_oracle(pattern in "[aAbB*?]{0,8}", text in "[aAbB]{0,10}") {
        prop_assert_eq!(glob_match_ignore_case(&pattern, &text), oracle(&pattern, &text, true));
    }

    #[test]
    fn glob_handles_unicode(pattern in "\\PC{0,6}", text in "\\PC{0,8}") {
        prop_assert_eq!(glob_match(&pattern, &text), oracle(&pattern, &text, false));
    }

    #[test]
    fn arn_matches_segment_oracle(
        segs in proptest::collection::vec("[ab*?]{0,3}", 6),
        tail in "[ab:*]{0,4}",
        text in "[ab:]{5,16}",
    ) {
        let pattern = format!("{}{}", segs.join(":"), tail);
        if text.matches(':').count() >= 5 {
            prop_assert_eq!(arn_matches(&pattern, &text), arn_oracle(&pattern, &text));
        }
    }
}

const ACCOUNT: &str = "111122223333";
const ROLE: &str = "arn:aws:iam::111122223333:role/nodes/EksNodeRole";
const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/EksNodeRole/i-0abc";

fn principal_strategy() -> impl Strategy<Value = (String, Value)> {
    prop_oneof![
        Just(("Principal".to_string(), json!({"AWS": ROLE}))),
        Just(("Principal".to_string(), json!({"AWS": SESSION}))),
        Just(("Principal".to_string(), json!({"AWS": ACCOUNT}))),
        Just((
            "Principal".to_string(),
            json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")})
        )),
        Just(("Principal".to_string(), json!("*"))),
        Just((
            "Principal".to_string(),
            json!({"AWS": [ROLE, "arn:aws:iam::111122223333:role/Other"]})
        )),
        Just((
            "NotPrincipal".to_string(),
            json!({"AWS": ["arn:aws:iam::111122223333:role/Other", format!("arn:aws:iam::{ACCOUNT}:root")]})
        )),
    ]
}

fn actions_strategy() -> impl Strategy<Value = Vec<String>> {
    let all: Vec<String> = ecr_actions().iter().map(|s| s.to_string()).collect();
    let wild = vec![
        "ecr:*",
        "ecr:Batch*",
        "ecr:Get*",
        "ecr:*Image",
        "ecr:Put*",
        "*",
        "ecr:?etDownload*",
        "ecr:*Layer*",
    ];
    let pool: Vec<String> = all
        .into_iter()
        .chain(wild.into_iter().map(String::from))
        .collect();
    proptest::sample::subsequence(pool.clone(), 1..8).prop_shuffle()
}

fn condition_strategy() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(
            json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}})
        )),
        Just(Some(
            json!({"StringEquals": {"aws:PrincipalAccount": ACCOUNT}})
        )),
        Just(Some(
            json!({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Admin*"}})
        )),
    ]
}

fn deny_statement() -> impl Strategy<Value = Value> {
    (
        principal_strategy(),
        actions_strategy(),
        any::<bool>(),
        condition_strategy(),
        "[A-Za-z ]{0,6}",
    )
        .prop_map(|((pkey, pval), actions, not_action, cond, sid)| {
            let mut st = json!({"Effect": "Deny"});
            st[pkey] = pval;
            st[if not_action { "NotAction" } else { "Action" }] = json!(actions);
            if let Some(c) = cond {
                st["Condition"] = c;
            }
            if !sid.is_empty() {
                st["Sid"] = json!(sid);
            }
            st
        })
}

fn allow_statement() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(
            json!({"Sid": "AllowAll", "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "ecr:*"})
        )),
        Just(Some(
            json!({"Effect": "Allow", "Principal": "*", "Action": ["ecr:PutImage", "ecr:BatchGetImage"]})
        )),
        Just(Some(
            json!({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "ecr:*"})
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// After the fix the pull actions are allowed, and no sentinel (nor any
    /// other ECR action) goes from denied or not granted to allowed.
    #[test]
    fn fix_allows_required_and_never_sentinels(
        denies in proptest::collection::vec(deny_statement(), 1..4),
        allow in allow_statement(),
        cross_account in any::<bool>(),
        vpce in prop_oneof![Just(json!(null)), Just(json!({"unknown": true})), Just(json!("vpce-1a2b3c4d")), Just(json!("vpce-other"))],
        identity in any::<bool>(),
    ) {
        let mut statements = denies;
        if let Some(a) = allow {
            statements.push(a);
        }
        let repo_account = if cross_account { "444455556666" } else { ACCOUNT };
        let policy = json!({"Version": "2012-10-17", "Statement": statements});
        let identity_policies = if identity || cross_account {
            json!([{"name": "AmazonEC2ContainerRegistryReadOnly"}])
        } else {
            json!([])
        };
        let inp = input(json!({
            "request": {"principal": ROLE, "action": "ecr:BatchGetImage",
                "resource": format!("arn:aws:ecr:us-east-1:{repo_account}:repository/app"),
                "context": {"aws:SourceVpce": vpce}},
            "identityPolicies": identity_policies,
            "resourcePolicy": {"name": "app", "document": policy.to_string()}
        }));
        let required: Vec<String> = PULL_ACTIONS.iter().map(|s| s.to_string()).collect();
        let fix = fix_resource_policy(&inp, &required).unwrap();
        prop_assert!(fix.proven, "not proven: {:#?}\npolicy: {}", fix, policy);
        for p in &fix.proof {
            if p.required {
                prop_assert_eq!(p.after, Decision::Allowed);
            } else {
                prop_assert!(!(p.before != Decision::Allowed && p.after == Decision::Allowed), "{:?}", p);
            }
        }
        prop_assert!(fix.newly_allowed.is_empty());
        // never flips a Deny into an Allow: as many Deny statements or more
        let count = |v: &Value, effect: &str| v["Statement"].as_array().map(|a| a.iter().filter(|s| s["Effect"] == effect).count()).unwrap_or(0);
        prop_assert!(count(&fix.policy, "Allow") <= count(&policy, "Allow") + 1);
    }
}
