//! Least-privilege fixes of a resource policy that blocks a principal.
//!
//! For each `Deny` of the resource policy that applies to the principal for
//! a required action:
//!
//! * a **perimeter** Deny (principal `*`, an account, or `NotPrincipal`:
//!   it targets more than this principal) is split: the original keeps
//!   denying everything but the required actions, and a copy denies the
//!   required actions to everyone *except* this role (an `ArnNotEquals` on
//!   `aws:PrincipalArn` is added or extended);
//! * a Deny that names the principal has the required actions removed:
//!   wildcards such as `ecr:*` or `ecr:Batch*` are expanded into the
//!   explicit ECR actions minus the required ones, `NotAction` gains them,
//!   and other principals listed in the same statement keep the original
//!   statement;
//! * a Deny is never flipped into an Allow.
//!
//! Then, for the required actions that still lack a grant the resource
//! policy can give, one `Allow` of exactly those actions to exactly this
//! principal is added. The result is re-evaluated: every required action
//! must come out `Allowed`, and no sentinel (or any other ECR action) may
//! turn from denied or not granted into `Allowed`.
//!
//! Statements the fix does not touch are copied from the input unchanged.
//! When no statement is left, the outcome says to delete the policy
//! (`deletePolicy: true`, `policy: null`: ECR rejects `set-repository-policy`
//! with an empty `Statement` list), and the proof is computed with no
//! resource policy at all.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::data::{SENTINEL_ACTIONS, ecr_actions};
use crate::error::IamError;
use crate::eval::{
    LoadedPolicy, Prepared, check_policy_type, eval_statement, evaluate_prepared, prepare,
    validate_action,
};
use crate::explain::{Decision, PolicyType};
use crate::glob::action_matches;
use crate::input::EvalInput;
use crate::policy::{Effect, Policy, PolicyVersion, Statement};
use crate::principal::{CallerKind, PrincipalMatchKind, match_entry};
use crate::tri::Tri;

/// One line of the proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofEntry {
    /// The action evaluated (with the request's principal and resource).
    pub action: String,
    /// Decision with the original policy.
    pub before: Decision,
    /// Decision with the fixed policy.
    pub after: Decision,
    /// Whether the action is one of the required actions.
    pub required: bool,
}

/// The result of [`fix_resource_policy`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FixOutcome {
    /// The new resource policy document (`null` when there was none and
    /// none is needed, or when [`FixOutcome::delete_policy`] is set).
    /// Statements the fix does not touch are the input's, unchanged.
    pub policy: Value,
    /// True when the fix leaves the resource policy without any statement:
    /// ECR rejects `set-repository-policy` with an empty `Statement` list,
    /// so the policy must be deleted (`aws ecr delete-repository-policy`)
    /// instead; `policy` is then `null` and the proof is computed with no
    /// resource policy at all.
    pub delete_policy: bool,
    /// Human-readable changes, naming statements by Sid.
    pub changes: Vec<String>,
    /// Before/after decisions for the required and the sentinel actions.
    pub proof: Vec<ProofEntry>,
    /// ECR actions (beyond the required ones) that the fix newly allows;
    /// must be empty for the fix to be proven.
    pub newly_allowed: Vec<String>,
    /// True when every required action is `Allowed` after the fix and
    /// nothing else became allowed.
    pub proven: bool,
    /// Why the fix is not proven (blockers outside the resource policy,
    /// unknown context keys, ...).
    pub unresolved: Vec<String>,
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn contains_ci(list: &[String], x: &str) -> bool {
    list.iter().any(|y| eq_ci(y, x))
}

/// Rewrites the resource policy of `input` so that the request's principal
/// may perform `required_actions` on the request's resource, with the least
/// change, and proves it by re-evaluation. When `required_actions` is empty,
/// `input.requiredActions` is used.
pub fn fix_resource_policy(
    input: &EvalInput,
    required_actions: &[String],
) -> Result<FixOutcome, IamError> {
    let required: Vec<String> = if required_actions.is_empty() {
        input.required_actions.clone()
    } else {
        required_actions.to_vec()
    };
    if required.is_empty() {
        return Err(IamError::InvalidInput {
            reason: "no required actions given".into(),
        });
    }
    let known = ecr_actions();
    let mut req_norm: Vec<String> = Vec::new();
    for a in &required {
        validate_action(a)?;
        let canonical = known.iter().find(|k| eq_ci(k, a)).ok_or_else(|| IamError::InvalidInput {
            reason: format!("required action `{a}` is not an ecr action this crate knows (wildcards are not accepted)"),
        })?;
        if !contains_ci(&req_norm, canonical) {
            req_norm.push((*canonical).to_string());
        }
    }
    let required = req_norm;
    let prep = prepare(input)?;
    let sentinels: Vec<String> = SENTINEL_ACTIONS
        .iter()
        .filter(|s| !contains_ci(&required, s))
        .map(|s| s.to_string())
        .collect();

    let rp_index = prep
        .policies
        .iter()
        .position(|p| p.ptype == PolicyType::Resource);
    let original: LoadedPolicy = match rp_index.and_then(|i| prep.policies.get(i)) {
        Some(lp) => lp.clone(),
        None => LoadedPolicy {
            ptype: PolicyType::Resource,
            name: "resource policy".into(),
            arn: None,
            policy: Policy {
                version: PolicyVersion::V2012_10_17,
                id: None,
                statements: Vec::new(),
            },
        },
    };
    let had_policy = rp_index.is_some();
    let caller = &prep.caller;
    let role_name = match &caller.kind {
        CallerKind::Role { name, .. } | CallerKind::User { name, .. } => name.clone(),
        CallerKind::Root => format!("Account{}", caller.account),
        CallerKind::Service(s) => s.split('.').next().unwrap_or("Service").to_string(),
    };
    let path_unknown = matches!(&caller.kind, CallerKind::Role { path: None, .. });
    let principal_arn = caller.principal_arn();

    let mut changes = Vec::new();
    let mut used_sids: BTreeSet<String> = original
        .policy
        .statements
        .iter()
        .filter_map(|s| s.sid.clone())
        .collect();
    let mut new_statements: Vec<Map<String, Value>> = Vec::new();

    // Pass 1: narrow every Deny that blocks a required action.
    for s in &original.policy.statements {
        if s.effect != Effect::Deny {
            new_statements.push(s.raw.clone());
            continue;
        }
        let blocked: Vec<String> = required
            .iter()
            .filter(|a| {
                eval_statement(&original, s, &prep, a)
                    .is_some_and(|ev| !matches!(ev.applies, Tri::False))
            })
            .cloned()
            .collect();
        if blocked.is_empty() {
            new_statements.push(s.raw.clone());
            continue;
        }
        let name = stmt_name(s);
        let perimeter = targets_more_than_caller(s, &prep);
        if perimeter {
            // keep the perimeter for everything else
            match narrow_actions(&s.raw, &blocked) {
                Some((raw, how)) => {
                    changes.push(format!(
                        "{name}: perimeter Deny kept for every other action; {how}"
                    ));
                    new_statements.push(raw);
                }
                None => changes.push(format!(
                    "{name}: perimeter Deny covered only the required actions; replaced by the exemption below"
                )),
            }
            let base = sanitize(s.sid.as_deref().unwrap_or("Deny"));
            let sid = unique_sid(
                &format!("{base}Except{}", sanitize(&role_name)),
                &mut used_sids,
            );
            let mut copy = s.raw.clone();
            copy.insert("Sid".into(), Value::String(sid.clone()));
            copy.remove("NotAction");
            copy.insert("Action".into(), json!(blocked));
            let (op, values) = if path_unknown {
                (
                    "ArnNotLike",
                    vec![
                        format!(
                            "arn:{}:iam::{}:role/{role_name}",
                            caller.partition, caller.account
                        ),
                        format!(
                            "arn:{}:iam::{}:role/*/{role_name}",
                            caller.partition, caller.account
                        ),
                    ],
                )
            } else {
                ("ArnNotEquals", vec![principal_arn.clone()])
            };
            add_condition(&mut copy, op, "aws:PrincipalArn", &values);
            changes.push(format!(
                "{sid} (new): same perimeter Deny for [{}], except for `{principal_arn}` (condition {op} aws:PrincipalArn)",
                blocked.join(", ")
            ));
            new_statements.push(copy);
            continue;
        }
        // The Deny names this principal: split off other principals, then
        // remove the required actions.
        let mut mine = s.raw.clone();
        if let Some((for_me, others)) = split_principals(s, &prep) {
            let mut rest = s.raw.clone();
            rest.insert("Principal".into(), others);
            new_statements.push(rest);
            let base = sanitize(s.sid.as_deref().unwrap_or("Deny"));
            let sid = unique_sid(
                &format!("{base}For{}", sanitize(&role_name)),
                &mut used_sids,
            );
            mine.insert("Principal".into(), for_me);
            mine.insert("Sid".into(), Value::String(sid.clone()));
            changes.push(format!(
                "{name}: other principals keep the original Deny; `{principal_arn}` moved to new statement {sid}"
            ));
        }
        let mine_name = match mine.get("Sid") {
            Some(Value::String(sid)) if !sid.is_empty() => format!("`{sid}`"),
            _ => name.clone(),
        };
        match narrow_actions(&mine, &blocked) {
            Some((raw, how)) => {
                changes.push(format!("{mine_name}: Deny narrowed: {how}"));
                new_statements.push(raw);
            }
            None => changes.push(format!(
                "{mine_name}: removed (it denied only the required actions [{}])",
                blocked.join(", ")
            )),
        }
    }

    let mut candidate = build_policy(&original, &new_statements)?;
    let mut prep_after = with_resource_policy(&prep, &candidate, &original);

    // Pass 2: grant what is still missing, where the resource policy can.
    let mut grant: Vec<String> = Vec::new();
    for a in &required {
        let ev = evaluate_prepared(&prep_after, a);
        if ev.decision == Decision::ImplicitlyDenied
            && ev
                .explanation
                .missing_grant
                .as_ref()
                .is_some_and(|m| m.policy_types.contains(&PolicyType::Resource))
        {
            grant.push(a.clone());
        }
    }
    if !grant.is_empty() {
        let base = if grant
            .iter()
            .all(|a| crate::data::PULL_ACTIONS.contains(&a.as_str()))
        {
            "AllowPullFor"
        } else {
            "AllowRequiredFor"
        };
        let sid = unique_sid(&format!("{base}{}", sanitize(&role_name)), &mut used_sids);
        let principal = match &caller.kind {
            CallerKind::Service(s) => json!({"Service": s}),
            _ => json!({"AWS": principal_arn}),
        };
        let mut st = Map::new();
        st.insert("Sid".into(), Value::String(sid.clone()));
        st.insert("Effect".into(), Value::String("Allow".into()));
        st.insert("Principal".into(), principal);
        st.insert("Action".into(), json!(grant));
        new_statements.push(st);
        changes.push(format!(
            "{sid} (new): Allow [{}] to `{principal_arn}` only (no statement allowed it to them; the other statements stay as they are)",
            grant.join(", ")
        ));
        if path_unknown {
            changes.push(format!(
                "note: the role path is unknown (principal given as a session arn); if role `{role_name}` has a path, use its full arn in {sid}"
            ));
        }
        candidate = build_policy(&original, &new_statements)?;
        prep_after = with_resource_policy(&prep, &candidate, &original);
    }

    // Nothing left: the policy is deleted, not set to an empty one.
    let delete_policy =
        had_policy && !original.policy.statements.is_empty() && new_statements.is_empty();
    if delete_policy {
        prep_after = without_resource_policy(&prep);
        changes.push(
            "no statement is left: delete the repository policy (ECR rejects a policy with an empty Statement list)"
                .into(),
        );
    }

    // Proof.
    let mut proof = Vec::new();
    let mut unresolved = Vec::new();
    let mut proven = true;
    for (a, is_required) in required
        .iter()
        .map(|a| (a, true))
        .chain(sentinels.iter().map(|a| (a, false)))
    {
        let before = evaluate_prepared(&prep, a).decision;
        let after_eval = evaluate_prepared(&prep_after, a);
        let after = after_eval.decision;
        if is_required && after != Decision::Allowed {
            proven = false;
            unresolved.push(format!(
                "`{a}` is still {after:?}: {}",
                after_eval.explanation.summary
            ));
        }
        if !is_required && before != Decision::Allowed && after == Decision::Allowed {
            proven = false;
        }
        proof.push(ProofEntry {
            action: a.clone(),
            before,
            after,
            required: is_required,
        });
    }
    let mut newly_allowed = Vec::new();
    for a in ecr_actions() {
        if contains_ci(&required, a) {
            continue;
        }
        let before = evaluate_prepared(&prep, a).decision;
        let after = evaluate_prepared(&prep_after, a).decision;
        if before != Decision::Allowed && after == Decision::Allowed {
            newly_allowed.push(a.to_string());
        }
    }
    if !newly_allowed.is_empty() {
        proven = false;
        unresolved.push(format!(
            "the fix would newly allow [{}]",
            newly_allowed.join(", ")
        ));
    }
    if changes.is_empty() {
        changes.push("no change: the resource policy neither blocks the required actions nor needs to grant them".into());
    }
    let policy = if !delete_policy && (had_policy || !new_statements.is_empty()) {
        candidate.to_value()
    } else {
        Value::Null
    };
    Ok(FixOutcome {
        policy,
        delete_policy,
        changes,
        proof,
        newly_allowed,
        proven,
        unresolved,
    })
}

fn stmt_name(s: &Statement) -> String {
    match &s.sid {
        Some(sid) if !sid.is_empty() => format!("`{sid}`"),
        _ => format!("statement index {}", s.index),
    }
}

/// Keeps ASCII alphanumerics, capitalising after removed characters.
fn sanitize(s: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = !out.is_empty();
        }
    }
    if out.is_empty() { "Stmt".into() } else { out }
}

fn unique_sid(base: &str, used: &mut BTreeSet<String>) -> String {
    let mut sid = base.to_string();
    let mut n = 2;
    while used.contains(&sid) {
        sid = format!("{base}{n}");
        n += 1;
    }
    used.insert(sid.clone());
    sid
}

/// Removes `blocked` from a statement's actions. Returns `None` when
/// nothing would be left, else the new statement and a description.
fn narrow_actions(
    raw: &Map<String, Value>,
    blocked: &[String],
) -> Option<(Map<String, Value>, String)> {
    let mut out = raw.clone();
    let list = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    if raw.contains_key("NotAction") {
        let mut not = list(raw.get("NotAction"));
        let mut added = Vec::new();
        for b in blocked {
            if !not.iter().any(|p| action_matches(p, b)) {
                not.push(b.clone());
                added.push(b.clone());
            }
        }
        out.insert("NotAction".into(), json!(not));
        return Some((out, format!("NotAction gains [{}]", added.join(", "))));
    }
    let mut new_list: Vec<String> = Vec::new();
    let mut removed = Vec::new();
    let mut expanded = Vec::new();
    for p in list(raw.get("Action")) {
        if !blocked.iter().any(|b| action_matches(&p, b)) {
            if !contains_ci(&new_list, &p) {
                new_list.push(p);
            }
            continue;
        }
        let is_wild = p.contains('*') || p.contains('?');
        if is_wild {
            let expansion: Vec<&str> = ecr_actions()
                .iter()
                .copied()
                .filter(|a| action_matches(&p, a) && !contains_ci(blocked, a))
                .collect();
            expanded.push(format!(
                "`{p}` expanded to {} explicit ecr actions",
                expansion.len()
            ));
            for a in expansion {
                if !contains_ci(&new_list, a) {
                    new_list.push(a.to_string());
                }
            }
        } else {
            removed.push(p);
        }
    }
    // a literal action listed after a wildcard may duplicate the expansion
    new_list.retain(|a| !contains_ci(blocked, a));
    if new_list.is_empty() {
        return None;
    }
    out.insert("Action".into(), json!(new_list));
    let mut how = Vec::new();
    if !removed.is_empty() {
        how.push(format!("removed [{}]", removed.join(", ")));
    }
    how.extend(expanded);
    how.push(format!(
        "still denies {} actions, not [{}]",
        new_list.len(),
        blocked.join(", ")
    ));
    Some((out, how.join("; ")))
}

/// Adds `values` to `Condition.op.key` (creating it, or extending an
/// existing entry, which keeps the negated operator's AND semantics).
fn add_condition(raw: &mut Map<String, Value>, op: &str, key: &str, values: &[String]) {
    let cond = raw
        .entry("Condition")
        .or_insert_with(|| Value::Object(Map::new()));
    if !cond.is_object() {
        *cond = Value::Object(Map::new());
    }
    let Some(cond) = cond.as_object_mut() else {
        return;
    };
    let op_key = cond
        .keys()
        .find(|k| eq_ci(k, op))
        .cloned()
        .unwrap_or_else(|| op.to_string());
    let block = cond
        .entry(op_key)
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(block) = block.as_object_mut() else {
        return;
    };
    let key_name = block
        .keys()
        .find(|k| eq_ci(k, key))
        .cloned()
        .unwrap_or_else(|| key.to_string());
    let mut existing: Vec<Value> = match block.get(&key_name) {
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
        None => Vec::new(),
    };
    for v in values {
        if !existing.iter().any(|e| e.as_str() == Some(v)) {
            existing.push(Value::String(v.clone()));
        }
    }
    block.insert(key_name, Value::Array(existing));
}

/// Whether a statement reaches the caller through `*`, its account or
/// `NotPrincipal` (a perimeter control) rather than by naming it.
fn targets_more_than_caller(s: &Statement, prep: &Prepared) -> bool {
    let Some(clause) = &s.principal else {
        return true;
    };
    match &clause.set {
        _ if clause.negated => true,
        crate::policy::PrincipalSet::Any => true,
        crate::policy::PrincipalSet::Entries(entries) => entries.iter().any(|e| {
            matches!(
                match_entry(e, &prep.caller),
                Some(PrincipalMatchKind::Wildcard) | Some(PrincipalMatchKind::Account)
            )
        }),
    }
}

/// When a statement's `Principal` lists the caller among others, splits it
/// into (entries matching the caller, the other entries).
fn split_principals(s: &Statement, prep: &Prepared) -> Option<(Value, Value)> {
    let clause = s.principal.as_ref()?;
    if clause.negated {
        return None;
    }
    let crate::policy::PrincipalSet::Entries(entries) = &clause.set else {
        return None;
    };
    let (mine, others): (Vec<_>, Vec<_>) = entries
        .iter()
        .partition(|e| match_entry(e, &prep.caller).is_some());
    if mine.is_empty() || others.is_empty() {
        return None;
    }
    let to_value = |list: &[&crate::policy::PrincipalEntry]| {
        let mut m: Map<String, Value> = Map::new();
        for e in list {
            let key = match e.kind {
                crate::policy::PrincipalKind::Aws => "AWS",
                crate::policy::PrincipalKind::Service => "Service",
                crate::policy::PrincipalKind::Federated => "Federated",
                crate::policy::PrincipalKind::CanonicalUser => "CanonicalUser",
            };
            let slot = m
                .entry(key.to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(a) = slot {
                a.push(Value::String(e.value.clone()));
            }
        }
        Value::Object(m)
    };
    Some((to_value(&mine), to_value(&others)))
}

fn build_policy(
    original: &LoadedPolicy,
    statements: &[Map<String, Value>],
) -> Result<Policy, IamError> {
    let mut doc = Map::new();
    match original.policy.version {
        PolicyVersion::V2008_10_17 => {
            doc.insert("Version".into(), Value::String("2008-10-17".into()));
        }
        // a new or versionless policy gets the current version
        _ => {
            doc.insert("Version".into(), Value::String("2012-10-17".into()));
        }
    }
    if let Some(id) = &original.policy.id {
        doc.insert("Id".into(), Value::String(id.clone()));
    }
    doc.insert(
        "Statement".into(),
        Value::Array(statements.iter().cloned().map(Value::Object).collect()),
    );
    let policy = Policy::from_value(&Value::Object(doc), &original.name)?;
    check_policy_type(&policy, PolicyType::Resource, &original.name)?;
    Ok(policy)
}

fn without_resource_policy(prep: &Prepared) -> Prepared {
    let mut out = prep.clone();
    out.policies.retain(|p| p.ptype != PolicyType::Resource);
    out
}

fn with_resource_policy(prep: &Prepared, policy: &Policy, original: &LoadedPolicy) -> Prepared {
    let mut out = without_resource_policy(prep);
    out.policies.push(LoadedPolicy {
        ptype: PolicyType::Resource,
        name: original.name.clone(),
        arn: original.arn.clone(),
        policy: policy.clone(),
    });
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sanitize_sids() {
        assert_eq!(sanitize("new policy"), "newPolicy");
        assert_eq!(sanitize("--"), "Stmt");
        let mut used = BTreeSet::from(["A".to_string()]);
        assert_eq!(unique_sid("A", &mut used), "A2");
    }

    #[test]
    fn narrowing_expands_wildcards() {
        let raw: Map<String, Value> = serde_json::from_value(json!({
            "Effect": "Deny", "Principal": "*", "Action": ["ecr:Batch*", "s3:*"]
        }))
        .unwrap();
        let (out, _) = narrow_actions(&raw, &["ecr:BatchGetImage".into()]).unwrap();
        let acts: Vec<String> = serde_json::from_value(out["Action"].clone()).unwrap();
        assert!(acts.contains(&"ecr:BatchDeleteImage".to_string()));
        assert!(!acts.contains(&"ecr:BatchGetImage".to_string()));
        assert!(acts.contains(&"s3:*".to_string()));
        let only: Map<String, Value> = serde_json::from_value(json!({
            "Effect": "Deny", "Principal": "*", "Action": "ecr:BatchGetImage"
        }))
        .unwrap();
        assert!(narrow_actions(&only, &["ecr:BatchGetImage".into()]).is_none());
    }

    #[test]
    fn conditions_merge() {
        let mut raw: Map<String, Value> = serde_json::from_value(json!({
            "Condition": {"ArnNotEquals": {"aws:principalarn": "arn:aws:iam::1:role/A"}}
        }))
        .unwrap();
        add_condition(
            &mut raw,
            "ArnNotEquals",
            "aws:PrincipalArn",
            &["arn:aws:iam::1:role/B".into()],
        );
        assert_eq!(
            raw["Condition"]["ArnNotEquals"]["aws:principalarn"],
            json!(["arn:aws:iam::1:role/A", "arn:aws:iam::1:role/B"])
        );
    }
}
