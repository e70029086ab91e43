//! Policy evaluation, as the IAM User Guide's "Policy evaluation logic"
//! describes it.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::condition::{self, Operator, Outcome};
use crate::context::{Context, CtxEntry, Subst, substitute};
use crate::error::IamError;
use crate::explain::{
    self, ActionMatch, Decision, Explanation, MissingGrant, PolicyType, ResourceMatch,
    StatementDetail,
};
use crate::glob::action_matches;
use crate::input::{ContextValue, EvalInput, PolicyEntry};
use crate::policy::{Effect, Policy, Statement};
use crate::principal::{Caller, CallerKind, PrincipalMatchKind, is_account_id, match_clause};
use crate::tri::Tri;

/// The result of an evaluation: `{"decision": ..., "explanation": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    /// `Allowed`, `ImplicitlyDenied`, `ExplicitlyDenied` or `Unknown`.
    pub decision: Decision,
    /// Why.
    pub explanation: Explanation,
}

/// A parsed policy with its provenance.
#[derive(Debug, Clone)]
pub(crate) struct LoadedPolicy {
    pub(crate) ptype: PolicyType,
    pub(crate) name: String,
    pub(crate) arn: Option<String>,
    pub(crate) policy: Policy,
}

/// An input, parsed and validated once, ready to evaluate many actions.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) caller: Caller,
    pub(crate) resource: String,
    pub(crate) resource_account: String,
    pub(crate) ctx: Context,
    pub(crate) policies: Vec<LoadedPolicy>,
    pub(crate) has_boundary: bool,
    pub(crate) has_scp: bool,
    pub(crate) has_session: bool,
    pub(crate) has_vpce: bool,
}

/// Evaluates the request of `input` against its policies.
pub fn evaluate(input: &EvalInput) -> Result<Evaluation, IamError> {
    let prepared = prepare(input)?;
    validate_action(&input.request.action)?;
    Ok(evaluate_prepared(&prepared, &input.request.action))
}

pub(crate) fn validate_action(action: &str) -> Result<(), IamError> {
    match action.split_once(':') {
        Some((svc, name)) if !svc.is_empty() && !name.is_empty() => Ok(()),
        _ => Err(IamError::request(
            "action",
            format!("`{action}` is not `service:Action`"),
        )),
    }
}

fn load(
    entries: &[PolicyEntry],
    ptype: PolicyType,
    out: &mut Vec<LoadedPolicy>,
) -> Result<(), IamError> {
    for (i, entry) in entries.iter().enumerate() {
        let fallback = format!("{} #{i}", ptype.label());
        let name = entry.display_name(&fallback);
        let policy = entry.parse(&fallback)?;
        check_policy_type(&policy, ptype, &name)?;
        out.push(LoadedPolicy {
            ptype,
            name,
            arn: entry.arn.clone(),
            policy,
        });
    }
    Ok(())
}

/// Enforces the per-type grammar: identity-like policies have no
/// `Principal` and must have `Resource`; resource policies need `Principal`.
pub(crate) fn check_policy_type(
    policy: &Policy,
    ptype: PolicyType,
    name: &str,
) -> Result<(), IamError> {
    for s in &policy.statements {
        let sref = s.reference();
        match ptype {
            PolicyType::Identity
            | PolicyType::PermissionsBoundary
            | PolicyType::Session
            | PolicyType::ServiceControl => {
                if let Some(p) = &s.principal {
                    let el = if p.negated {
                        "NotPrincipal"
                    } else {
                        "Principal"
                    };
                    return Err(IamError::stmt(
                        name,
                        &sref,
                        el,
                        format!("not allowed in {}", with_article(ptype.label())),
                    ));
                }
                if s.resource.is_none() && ptype != PolicyType::ServiceControl {
                    return Err(IamError::stmt(
                        name,
                        &sref,
                        "Resource",
                        format!("missing (required in {})", with_article(ptype.label())),
                    ));
                }
            }
            PolicyType::Resource => {
                if s.principal.is_none() {
                    return Err(IamError::stmt(
                        name,
                        &sref,
                        "Principal",
                        "missing (required in a resource policy)",
                    ));
                }
            }
            PolicyType::VpcEndpoint => {}
        }
    }
    Ok(())
}

fn with_article(label: &str) -> String {
    let vowel = label.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {label}", if vowel { "an" } else { "a" })
}

/// Parses and validates an input.
pub(crate) fn prepare(input: &EvalInput) -> Result<Prepared, IamError> {
    let req = &input.request;
    let mut caller = Caller::parse(&req.principal, req.principal_id.as_deref())?;
    caller.learn_role_path(req.context.get("aws:PrincipalArn"));
    if req.resource.is_empty() {
        return Err(IamError::request("resource", "must not be empty"));
    }
    let resource_account = match &req.resource_account {
        Some(a) if is_account_id(a) => a.clone(),
        Some(a) => {
            return Err(IamError::request(
                "resourceAccount",
                format!("`{a}` is not an account id"),
            ));
        }
        None => crate::arn::fields(&req.resource)
            .map(|[.., account, _]| account)
            .filter(|a| is_account_id(a))
            .map(str::to_string)
            .unwrap_or_else(|| caller.account.clone()),
    };
    let mut policies = Vec::new();
    load(
        &input.identity_policies,
        PolicyType::Identity,
        &mut policies,
    )?;
    if let Some(rp) = &input.resource_policy {
        load(
            std::slice::from_ref(rp),
            PolicyType::Resource,
            &mut policies,
        )?;
    }
    load(
        &input.permission_boundary_policies,
        PolicyType::PermissionsBoundary,
        &mut policies,
    )?;
    load(
        &input.service_control_policies,
        PolicyType::ServiceControl,
        &mut policies,
    )?;
    load(&input.session_policies, PolicyType::Session, &mut policies)?;
    load(
        &input.vpc_endpoint_policies,
        PolicyType::VpcEndpoint,
        &mut policies,
    )?;

    let mut ctx = Context::default();
    let mut explicit_absent = BTreeSet::new();
    for (k, v) in &req.context {
        match v {
            ContextValue::Absent => {
                explicit_absent.insert(k.to_lowercase());
            }
            ContextValue::Unknown => ctx.insert(k, CtxEntry::Unknown),
            ContextValue::Values(vals) => ctx.insert(k, CtxEntry::Values(vals.clone())),
        }
    }
    for k in &req.unknown_keys {
        ctx.insert(k, CtxEntry::Unknown);
    }
    let mut defaults: Vec<(String, String)> = vec![
        ("aws:PrincipalArn".into(), caller.principal_arn()),
        ("aws:PrincipalType".into(), caller.principal_type().into()),
        (
            "aws:PrincipalIsAWSService".into(),
            caller.is_service().to_string(),
        ),
        ("aws:ResourceAccount".into(), resource_account.clone()),
    ];
    if !caller.account.is_empty() {
        defaults.push(("aws:PrincipalAccount".into(), caller.account.clone()));
    }
    if let Some(id) = &caller.principal_id {
        let userid = match &caller.kind {
            CallerKind::Role {
                session: Some(s), ..
            } if !id.contains(':') => format!("{id}:{s}"),
            _ => id.clone(),
        };
        defaults.push(("aws:userid".into(), userid));
    }
    if let CallerKind::User { name, .. } = &caller.kind {
        defaults.push(("aws:username".into(), name.clone()));
    }
    for (k, v) in &req.principal_tags {
        defaults.push((format!("aws:PrincipalTag/{k}"), v.clone()));
    }
    for (k, v) in defaults {
        if !explicit_absent.contains(&k.to_lowercase()) {
            ctx.insert_default(&k, vec![v]);
        }
    }
    Ok(Prepared {
        caller,
        resource: req.resource.clone(),
        resource_account,
        ctx,
        has_boundary: !input.permission_boundary_policies.is_empty(),
        has_scp: !input.service_control_policies.is_empty(),
        has_session: !input.session_policies.is_empty(),
        has_vpce: !input.vpc_endpoint_policies.is_empty(),
        policies,
    })
}

/// A statement evaluated against the request (only those whose action matched).
#[derive(Debug, Clone)]
pub(crate) struct StmtEval {
    pub(crate) applies: Tri,
    pub(crate) principal_kind: Option<PrincipalMatchKind>,
    pub(crate) detail: StatementDetail,
}

/// Evaluates one statement; `None` when its action element does not cover
/// `action` (the statement is irrelevant).
pub(crate) fn eval_statement(
    lp: &LoadedPolicy,
    s: &Statement,
    prep: &Prepared,
    action: &str,
) -> Option<StmtEval> {
    // Action / NotAction
    let action_match = if s.action.negated {
        if s.action.patterns.iter().any(|p| action_matches(p, action)) {
            return None;
        }
        ActionMatch {
            element: "NotAction".into(),
            pattern: format!("not any of [{}]", s.action.patterns.join(", ")),
            action: action.into(),
        }
    } else {
        let p = s
            .action
            .patterns
            .iter()
            .find(|p| action_matches(p, action))?;
        ActionMatch {
            element: "Action".into(),
            pattern: p.clone(),
            action: action.into(),
        }
    };
    let variables = lp.policy.version.supports_variables();
    let mut failed: Option<String> = None;

    // Principal / NotPrincipal
    let principal = match (&s.principal, lp.ptype) {
        (Some(clause), _) => {
            let m = match_clause(clause, &prep.caller);
            if m.is_none() {
                failed = Some(
                    if clause.negated {
                        "NotPrincipal"
                    } else {
                        "Principal"
                    }
                    .into(),
                );
            }
            m
        }
        _ => None,
    };
    let principal_kind = principal.as_ref().map(|m| m.kind);

    // Resource / NotResource
    let (resource_tri, resource_match) = match &s.resource {
        None => (
            Tri::True,
            ResourceMatch {
                element: "(omitted)".into(),
                pattern: None,
                resource: prep.resource.clone(),
                outcome: Outcome::True,
            },
        ),
        Some(clause) => {
            let mut any = Tri::False;
            let mut matched = None;
            for p in &clause.patterns {
                let t = match substitute(p, &prep.ctx, variables) {
                    Subst::Toks(toks) => {
                        Tri::from_bool(crate::arn::match_toks(&toks, &prep.resource))
                    }
                    Subst::Missing(_) => Tri::False,
                    Subst::Unknown(k) => Tri::unknown(&k),
                };
                if t.is_true() && matched.is_none() {
                    matched = Some(p.clone());
                }
                any = any.or(t);
            }
            let t = if clause.negated { any.not() } else { any };
            let element = if clause.negated {
                "NotResource"
            } else {
                "Resource"
            };
            let pattern = if clause.negated {
                Some(format!("not any of [{}]", clause.patterns.join(", ")))
            } else {
                matched
            };
            (
                t.clone(),
                ResourceMatch {
                    element: element.into(),
                    pattern,
                    resource: prep.resource.clone(),
                    outcome: Outcome::of(&t),
                },
            )
        }
    };
    if failed.is_none() && resource_tri.is_false() {
        failed = Some(resource_match.element.clone());
    }

    // Condition
    let mut cond_tri = Tri::True;
    let mut conditions = Vec::with_capacity(s.conditions.len());
    for c in &s.conditions {
        let (t, detail) = condition::evaluate(c, &prep.ctx, variables);
        cond_tri = cond_tri.and(t);
        conditions.push(detail);
    }
    if failed.is_none() && cond_tri.is_false() {
        failed = Some("Condition".into());
    }

    let principal_tri = match (&s.principal, &principal) {
        (Some(_), None) => Tri::False,
        _ => Tri::True,
    };
    let applies = principal_tri.and(resource_tri).and(cond_tri);
    let detail = StatementDetail {
        policy_type: lp.ptype,
        policy_name: lp.name.clone(),
        policy_arn: lp.arn.clone(),
        sid: s.sid.clone(),
        index: s.index,
        effect: s.effect,
        outcome: Outcome::of(&applies),
        failed_element: failed,
        principal,
        action: action_match,
        resource: resource_match,
        conditions,
        statement: s.raw.clone(),
    };
    Some(StmtEval {
        applies,
        principal_kind,
        detail,
    })
}

/// Evaluates a prepared input for one action.
pub(crate) fn evaluate_prepared(prep: &Prepared, action: &str) -> Evaluation {
    let evals: Vec<StmtEval> = prep
        .policies
        .iter()
        .flat_map(|lp| {
            lp.policy
                .statements
                .iter()
                .filter_map(move |s| eval_statement(lp, s, prep, action))
        })
        .collect();

    let of = |effect: Effect, pt: Option<PolicyType>| {
        evals.iter().filter(move |e| {
            e.detail.effect == effect && pt.is_none_or(|p| e.detail.policy_type == p)
        })
    };
    let allow_of =
        |pt: PolicyType| Tri::any(of(Effect::Allow, Some(pt)).map(|e| e.applies.clone()));
    let gate = |present: bool, pt: PolicyType| if present { allow_of(pt) } else { Tri::True };

    let deny = Tri::any(of(Effect::Deny, None).map(|e| e.applies.clone()));
    let caller = &prep.caller;
    let identity_allow = if caller.kind == CallerKind::Root {
        // the root user has every permission in its own account
        Tri::True
    } else {
        allow_of(PolicyType::Identity)
    };
    let boundary_ok = gate(prep.has_boundary, PolicyType::PermissionsBoundary);
    let session_ok = gate(prep.has_session, PolicyType::Session);
    let scp_ok = gate(prep.has_scp, PolicyType::ServiceControl);
    let vpce_ok = gate(prep.has_vpce, PolicyType::VpcEndpoint);

    let res_allows = || of(Effect::Allow, Some(PolicyType::Resource));
    let res_by = |kinds: &[PrincipalMatchKind]| {
        Tri::any(
            res_allows()
                .filter(|e| e.principal_kind.is_some_and(|k| kinds.contains(&k)))
                .map(|e| e.applies.clone()),
        )
    };
    // Same account (IAM User Guide, "Policy evaluation for requests within a
    // single account" and "AWS JSON policy elements: Principal"):
    // * grants to the session or user ARN are not limited by an implicit
    //   deny in a boundary or session policy ("Permissions granted directly
    //   to a session are not limited by an implicit deny in an
    //   identity-based policy, a permissions boundary, or session policy");
    // * neither are grants to `*` ("Identity-based policy types, such as
    //   permissions boundaries or session policies, do not limit
    //   permissions granted using the aws:PrincipalArn condition key with a
    //   wildcard(*) in the Principal element, unless the identity-based
    //   policies contain an explicit deny"; a `*` grant without that
    //   condition grants at least as much);
    // * grants to the role ARN (or its unique id) are ("Resource-based
    //   policies that grant permissions to an IAM role ARN are limited by an
    //   implicit deny in a permissions boundary or session policy");
    // * grants to the account only delegate: the identity side must grant.
    let res_unbounded = res_by(&[
        PrincipalMatchKind::RoleSession,
        PrincipalMatchKind::User,
        PrincipalMatchKind::Wildcard,
    ]);
    let res_direct = res_by(&[
        PrincipalMatchKind::Role,
        PrincipalMatchKind::UniqueId,
        PrincipalMatchKind::Service,
        PrincipalMatchKind::Exact,
        PrincipalMatchKind::NotPrincipal,
    ]);
    let res_account = res_by(&[PrincipalMatchKind::Account]);
    let res_any = res_unbounded.clone().or(res_direct.clone()).or(res_account);

    let cross_account = !caller.account.is_empty() && caller.account != prep.resource_account;
    let limits = boundary_ok.clone().and(session_ok.clone());
    let identity_path = identity_allow.clone().and(limits.clone());
    let granted = if cross_account {
        identity_path.clone().and(res_any.clone())
    } else {
        identity_path
            .clone()
            .or(res_unbounded.clone())
            .or(res_direct.clone().and(limits.clone()))
    };
    let allow = granted.clone().and(scp_ok.clone()).and(vpce_ok.clone());

    let decision = match (&deny, &allow) {
        (Tri::True, _) => Decision::ExplicitlyDenied,
        (_, Tri::False) => Decision::ImplicitlyDenied,
        (Tri::False, Tri::True) => Decision::Allowed,
        _ => Decision::Unknown,
    };

    let principal = caller.arn.as_str();
    let resource = prep.resource.as_str();
    let mut missing_grant = None;
    let mut aws_message = None;
    let deciding: Vec<StatementDetail> = match decision {
        Decision::ExplicitlyDenied => of(Effect::Deny, None)
            .filter(|e| e.applies.is_true())
            .map(|e| e.detail.clone())
            .collect(),
        Decision::Allowed => of(Effect::Allow, None)
            .filter(|e| e.applies.is_true())
            .map(|e| e.detail.clone())
            .collect(),
        Decision::Unknown => evals
            .iter()
            .filter(|e| matches!(e.applies, Tri::Unknown(_)))
            .map(|e| e.detail.clone())
            .collect(),
        Decision::ImplicitlyDenied => Vec::new(),
    };
    if decision == Decision::ExplicitlyDenied {
        let pt = deciding
            .first()
            .map(|d| d.policy_type)
            .unwrap_or(PolicyType::Identity);
        aws_message = Some(explain::explicit_deny_message(
            principal, action, resource, pt,
        ));
    }
    if decision == Decision::ImplicitlyDenied || decision == Decision::Unknown {
        // Find the first gate that is not satisfied, in AWS's order.
        let (types, description): (Vec<PolicyType>, String) = if !scp_ok.is_true() {
            (
                vec![PolicyType::ServiceControl],
                format!(
                    "no service control policy allows `{action}` for account {}",
                    caller.account
                ),
            )
        } else if !vpce_ok.is_true() {
            (
                vec![PolicyType::VpcEndpoint],
                format!("no vpc endpoint policy allows `{action}` on `{resource}`"),
            )
        } else if cross_account && !res_any.is_true() {
            (
                vec![PolicyType::Resource],
                format!(
                    "cross-account request (principal account {}, resource account {}): the resource policy must also allow `{action}` for the principal or its account",
                    caller.account, prep.resource_account
                ),
            )
        } else if !identity_allow.is_true() && (cross_account || !res_direct.is_true()) {
            let also = if cross_account {
                String::new()
            } else {
                format!(
                    ", and no resource policy statement grants it to `{}` directly",
                    caller.principal_arn()
                )
            };
            let types = if cross_account {
                vec![PolicyType::Identity]
            } else {
                vec![PolicyType::Identity, PolicyType::Resource]
            };
            (
                types,
                format!("no identity-based policy allows `{action}` on `{resource}`{also}"),
            )
        } else if !boundary_ok.is_true() {
            (
                vec![PolicyType::PermissionsBoundary],
                format!("the permissions boundary does not allow `{action}` on `{resource}`"),
            )
        } else {
            (
                vec![PolicyType::Session],
                format!("no session policy allows `{action}` on `{resource}`"),
            )
        };
        if decision == Decision::ImplicitlyDenied {
            let pt = types.first().copied().unwrap_or(PolicyType::Identity);
            aws_message = Some(explain::implicit_deny_message(
                principal, action, resource, pt,
            ));
            missing_grant = Some(MissingGrant {
                policy_types: types,
                description,
            });
        }
    }

    let unknown_keys: BTreeSet<String> = deny.keys().into_iter().chain(allow.keys()).collect();
    let mut unknown_because = Vec::new();
    if !unknown_keys.is_empty() {
        for e in &evals {
            if !matches!(e.applies, Tri::Unknown(_)) {
                continue;
            }
            for c in &e.detail.conditions {
                if c.outcome == Outcome::Unknown {
                    let base = Operator::parse(&c.operator).map(|o| o.base);
                    if let Some(base) = base {
                        unknown_because.push(explain::unknown_hint(&e.detail, c, base));
                    }
                }
            }
            if e.detail.resource.outcome == Outcome::Unknown {
                unknown_because.push(format!(
                    "{} applies only if its resource variables resolve to `{resource}`",
                    e.detail.describe()
                ));
            }
        }
    }
    let summary = summarize(
        decision,
        &deciding,
        principal,
        action,
        resource,
        &missing_grant,
        &unknown_because,
        &deny,
    );
    let (perimeter, perimeter_only) = if decision == Decision::ExplicitlyDenied {
        explain::perimeter(&deciding)
    } else {
        (Vec::new(), false)
    };
    let statements = evals.into_iter().map(|e| e.detail).collect();
    Evaluation {
        decision,
        explanation: Explanation {
            summary,
            principal: principal.to_string(),
            action: action.to_string(),
            resource: resource.to_string(),
            principal_account: caller.account.clone(),
            resource_account: prep.resource_account.clone(),
            cross_account,
            deciding_statements: deciding,
            statements,
            missing_grant,
            aws_message,
            unknown_keys: unknown_keys.into_iter().collect(),
            unknown_because,
            perimeter,
            perimeter_only,
        },
    }
}

#[allow(clippy::too_many_arguments)]
fn summarize(
    decision: Decision,
    deciding: &[StatementDetail],
    principal: &str,
    action: &str,
    resource: &str,
    missing: &Option<MissingGrant>,
    unknown_because: &[String],
    deny: &Tri,
) -> String {
    let names = deciding
        .iter()
        .map(StatementDetail::describe)
        .collect::<Vec<_>>()
        .join("; ");
    match decision {
        Decision::Allowed => {
            format!("`{action}` on `{resource}` is allowed for `{principal}` by {names}")
        }
        Decision::ExplicitlyDenied => {
            let how = deciding
                .first()
                .map(|d| {
                    let p = d
                        .principal
                        .as_ref()
                        .map(|p| format!(", principal matched as {:?} via `{}`", p.kind, p.pattern))
                        .unwrap_or_default();
                    format!(" (action matched by `{}`{p})", d.action.pattern)
                })
                .unwrap_or_default();
            format!(
                "`{action}` on `{resource}` is explicitly denied for `{principal}` by {names}{how}"
            )
        }
        Decision::ImplicitlyDenied => {
            let why = missing
                .as_ref()
                .map(|m| m.description.clone())
                .unwrap_or_default();
            let maybe = if matches!(deny, Tri::Unknown(_)) {
                " (an explicit deny may also apply, depending on unknown context keys)"
            } else {
                ""
            };
            format!(
                "`{action}` on `{resource}` is implicitly denied for `{principal}`: {why}{maybe}"
            )
        }
        Decision::Unknown => format!(
            "`{action}` on `{resource}` for `{principal}` depends on unknown context: {}",
            unknown_because.join("; ")
        ),
    }
}
