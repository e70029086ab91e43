//! Answers one request: routing, lists, single GETs and `Status` errors.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use std::sync::{Mutex, MutexGuard};

use crate::Misbehaviour;
use crate::apply::{self, Conflict};
use crate::resources::{self, RESOURCES, Resource};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Entry, Store, key};

/// A denied verb on a resource, as RBAC would deny it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Forbid {
    /// `list`, `get` or `*`.
    pub verb: String,
    /// Plural resource name, or `*`.
    pub resource: String,
    /// Where the denial applies.
    pub scope: ForbidScope,
}

/// Where a [`Forbid`] applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ForbidScope {
    /// Everywhere: at the cluster scope and in every namespace.
    Everywhere,
    /// Only requests at the cluster scope (all-namespace lists, cluster-scoped resources).
    ClusterScope,
    /// Only requests in this namespace.
    Namespace(String),
}

/// What the handler needs besides the request.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub store: Mutex<Store>,
    pub forbids: Vec<Forbid>,
    pub user: String,
    pub token: String,
    /// `host:port`, for `/api`'s `serverAddressByClientCIDRs`.
    pub address: String,
    /// Misbehaviours on lists, by plural resource name.
    pub misbehaviours: Vec<(String, Misbehaviour)>,
}

/// One request as the handler sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub authorization: Option<&'a str>,
    pub accept: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

/// The content type of server-side apply patches.
pub(crate) const APPLY_PATCH: &str = "application/apply-patch+yaml";

/// A response: status code, content type and body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Instead of `body`: a list streamed in chunks, about this many bytes long,
    /// made as it is sent ([`Misbehaviour::OversizedList`]).
    pub stream: Option<u64>,
}

const JSON: &str = "application/json";
const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

fn json_reply(status: u16, v: &Value) -> Reply {
    Reply {
        status,
        content_type: JSON,
        body: serde_json::to_vec(v).unwrap_or_default(),
        stream: None,
    }
}

/// A `metav1.Status` failure body.
fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Reply {
    let mut s = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(d) = details {
        s["details"] = d;
    }
    json_reply(code, &s)
}

fn not_found_path() -> Reply {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

/// The answer to a request body over the limit.
pub(crate) fn too_large() -> Reply {
    status(
        413,
        "RequestEntityTooLarge",
        "Request entity too large: limit is 3145728",
        None,
    )
}

fn bad_request(message: &str) -> Reply {
    status(400, "BadRequest", message, None)
}

fn details(resource: &Resource, name: Option<&str>) -> Value {
    let mut d = Map::new();
    if let Some(n) = name {
        d.insert("name".into(), json!(n));
    }
    if !resource.group.is_empty() {
        d.insert("group".into(), json!(resource.group));
    }
    d.insert("kind".into(), json!(resource.plural));
    Value::Object(d)
}

/// Percent-decodes a query component, `+` meaning a space.
pub(crate) fn decode_component(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Parses a query string into decoded pairs, in order.
pub(crate) fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode_component(k), decode_component(v)),
            None => (decode_component(p), String::new()),
        })
        .collect()
}

fn query_get<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// What a resource path asks for.
enum Target<'a> {
    List {
        namespace: Option<&'a str>,
    },
    Get {
        namespace: Option<&'a str>,
        name: &'a str,
    },
}

impl Ctx {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers one request.
    pub fn handle(&self, req: Call<'_>) -> Reply {
        let Call {
            method,
            path,
            query,
            authorization,
            accept,
            ..
        } = req;
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let public = matches!(
            segs.as_slice(),
            ["version"] | ["healthz"] | ["livez"] | ["readyz"]
        );
        let authorized = authorization
            .and_then(|a| a.strip_prefix("Bearer "))
            .is_some_and(|t| t.trim() == self.token);
        if !public && !authorized {
            return status(401, "Unauthorized", "Unauthorized", None);
        }
        if method != "GET" {
            return match segs.as_slice() {
                ["api", "v1", rest @ ..] => self.write_request("", "v1", rest, req),
                ["apis", g, v, rest @ ..] => self.write_request(g, v, rest, req),
                _ => method_not_allowed(),
            };
        }
        let store = self.store();
        let crds = store.crds();
        let aggregated = accept.is_some_and(|a| a.contains("as=APIGroupDiscoveryList"));
        match segs.as_slice() {
            ["version"] => json_reply(200, &resources::version_info()),
            ["healthz"] | ["livez"] | ["readyz"] => Reply {
                status: 200,
                content_type: "text/plain; charset=utf-8",
                body: b"ok".to_vec(),
                stream: None,
            },
            ["api"] if aggregated => Reply {
                content_type: AGGREGATED,
                ..json_reply(200, &resources::aggregated(crds, true))
            },
            ["api"] => json_reply(200, &resources::core_versions(&self.address)),
            ["apis"] if aggregated => Reply {
                content_type: AGGREGATED,
                ..json_reply(200, &resources::aggregated(crds, false))
            },
            ["apis"] => json_reply(200, &resources::group_list(crds)),
            ["api", "v1"] => resources::resource_list(crds, "", "v1")
                .map_or_else(not_found_path, |v| json_reply(200, &v)),
            ["apis", g] => {
                resources::group(crds, g).map_or_else(not_found_path, |v| json_reply(200, &v))
            }
            ["apis", g, v] => resources::resource_list(crds, g, v)
                .map_or_else(not_found_path, |v| json_reply(200, &v)),
            ["api", "v1", rest @ ..] => self.resource_request(&store, "", "v1", rest, query),
            ["apis", g, v, rest @ ..] => self.resource_request(&store, g, v, rest, query),
            _ => not_found_path(),
        }
    }

    fn resource_request(
        &self,
        store: &Store,
        group: &str,
        version: &str,
        rest: &[&str],
        query: &[(String, String)],
    ) -> Reply {
        if rest.first() == Some(&"watch")
            || query_get(query, "watch").is_some_and(|w| w == "true" || w == "1")
        {
            return bad_request("watch requests are not served by rulerun-kube-stub");
        }
        let Some((ri, target)) = resolve(store, group, version, rest) else {
            return not_found_path();
        };
        self.serve(store, ri, target, query)
    }

    /// A PATCH (server-side apply) or DELETE of one custom resource; every other
    /// write is refused with 405, so a test sees any write a reader should not do.
    fn write_request(&self, group: &str, version: &str, rest: &[&str], req: Call<'_>) -> Reply {
        let mut store = self.store();
        let Some((ri, target)) = resolve(&store, group, version, rest) else {
            return not_found_path();
        };
        if !RESOURCES[ri].custom {
            return method_not_allowed();
        }
        let Target::Get { namespace, name } = target else {
            return method_not_allowed();
        };
        match req.method {
            "PATCH" => self.apply(&mut store, ri, namespace, name, req),
            "DELETE" => self.delete(&mut store, ri, namespace, name),
            _ => method_not_allowed(),
        }
    }

    /// Server-side apply of the body to the object at `namespace/name`.
    fn apply(
        &self,
        store: &mut Store,
        ri: usize,
        namespace: Option<&str>,
        name: &str,
        req: Call<'_>,
    ) -> Reply {
        let resource = &RESOURCES[ri];
        let content_type = req
            .content_type
            .and_then(|c| c.split(';').next())
            .map(str::trim)
            .unwrap_or("");
        if content_type != APPLY_PATCH {
            return status(
                415,
                "UnsupportedMediaType",
                &format!(
                    "the body of the request was in an unknown format - accepted media types by rulerun-kube-stub: {APPLY_PATCH} (json-patch, merge-patch and strategic-merge-patch are not emulated)"
                ),
                None,
            );
        }
        if let Some(r) = self.forbidden(resource, "patch", namespace, Some(name)) {
            return r;
        }
        let Some(manager) = query_get(req.query, "fieldManager").filter(|m| !m.is_empty()) else {
            return status(
                422,
                "Invalid",
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                Some(
                    json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}]}),
                ),
            );
        };
        let force = match query_get(req.query, "force") {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return bad_request(&format!("invalid value for force: \"{other}\""));
            }
        };
        // kube sends JSON, which is YAML; other YAML is not parsed here.
        let config: Value = match serde_json::from_slice(req.body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => return bad_request("the applied configuration is not an object"),
            Err(e) => {
                return bad_request(&format!(
                    "error decoding the applied configuration (rulerun-kube-stub reads JSON only): {e}"
                ));
            }
        };
        let text = |p: &str| config.pointer(p).and_then(Value::as_str);
        if text("/apiVersion") != Some(resource.api_version().as_str())
            || text("/kind") != Some(resource.kind)
        {
            return bad_request(&format!(
                "the API version and kind in the data ({}, {}) do not match the expected {}, {}",
                text("/apiVersion").unwrap_or(""),
                text("/kind").unwrap_or(""),
                resource.api_version(),
                resource.kind
            ));
        }
        if text("/metadata/name") != Some(name) {
            return bad_request(&format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                text("/metadata/name").unwrap_or("")
            ));
        }
        if let Some(ns) = text("/metadata/namespace")
            && Some(ns) != namespace
        {
            return bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            );
        }
        let k = key(namespace, name);
        let now = now();
        let current = store.get(ri, &k).cloned();
        let created = current.is_none();
        if created && let Some(r) = self.forbidden(resource, "create", namespace, Some(name)) {
            return r;
        }
        let base = current.clone().unwrap_or_else(|| {
            let mut meta = json!({"name": name});
            if let Some(ns) = namespace {
                meta["namespace"] = json!(ns);
            }
            json!({"apiVersion": resource.api_version(), "kind": resource.kind, "metadata": meta})
        });
        let applied = match apply::apply(&base, &config, manager, force, &now) {
            Ok(a) => a,
            Err(conflicts) => return conflict(resource, name, &conflicts),
        };
        if !created && !applied.changed {
            return json_reply(200, &base);
        }
        let mut obj = applied.object;
        let rv = store.next_resource_version();
        let meta = &mut obj["metadata"];
        meta["resourceVersion"] = json!(rv);
        if created {
            meta["uid"] = json!(crate::store::uid_for(&format!(
                "{}/{k}/{rv}",
                resource.qualified()
            )));
            meta["creationTimestamp"] = json!(now);
            meta["generation"] = json!(1);
        } else if applied.spec_changed {
            let generation = meta.get("generation").and_then(Value::as_i64).unwrap_or(0);
            meta["generation"] = json!(generation + 1);
        }
        store.put(ri, k, obj.clone());
        json_reply(if created { 201 } else { 200 }, &obj)
    }

    /// Deletes the object at `namespace/name` at once (no finalizers, no grace
    /// period), answering as the real server does for custom resources: a
    /// `Success` Status naming the object and its uid.
    fn delete(&self, store: &mut Store, ri: usize, namespace: Option<&str>, name: &str) -> Reply {
        let resource = &RESOURCES[ri];
        if let Some(r) = self.forbidden(resource, "delete", namespace, Some(name)) {
            return r;
        }
        match store.remove(ri, &key(namespace, name)) {
            None => status(
                404,
                "NotFound",
                &format!("{} \"{name}\" not found", resource.qualified()),
                Some(details(resource, Some(name))),
            ),
            Some(gone) => {
                store.next_resource_version();
                let mut d = details(resource, Some(name));
                if let Some(uid) = gone.pointer("/metadata/uid") {
                    d["uid"] = uid.clone();
                }
                json_reply(
                    200,
                    &json!({
                        "kind": "Status",
                        "apiVersion": "v1",
                        "metadata": {},
                        "status": "Success",
                        "details": d,
                    }),
                )
            }
        }
    }

    fn forbidden(
        &self,
        resource: &Resource,
        verb: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Option<Reply> {
        let denied = self.forbids.iter().any(|f| {
            (f.verb == "*" || f.verb == verb)
                && (f.resource == "*" || f.resource == resource.plural)
                && match (&f.scope, namespace) {
                    (ForbidScope::Everywhere, _) => true,
                    (ForbidScope::ClusterScope, None) => true,
                    (ForbidScope::Namespace(ns), Some(n)) => ns == n,
                    _ => false,
                }
        });
        if !denied {
            return None;
        }
        let subject = match name {
            Some(n) => format!("{} \"{n}\"", resource.qualified()),
            None => resource.qualified(),
        };
        let scope = match namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        let message = format!(
            "{subject} is forbidden: User \"{}\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
            self.user, resource.plural, resource.group
        );
        Some(status(
            403,
            "Forbidden",
            &message,
            Some(details(resource, name)),
        ))
    }

    fn serve(
        &self,
        store: &Store,
        ri: usize,
        target: Target<'_>,
        query: &[(String, String)],
    ) -> Reply {
        let resource = &RESOURCES[ri];
        match target {
            Target::Get { namespace, name } => {
                if let Some(r) = self.forbidden(resource, "get", namespace, Some(name)) {
                    return r;
                }
                match store.get(ri, &key(namespace, name)) {
                    Some(obj) => json_reply(200, obj),
                    None => status(
                        404,
                        "NotFound",
                        &format!("{} \"{name}\" not found", resource.qualified()),
                        Some(details(resource, Some(name))),
                    ),
                }
            }
            Target::List { namespace } => {
                if let Some(r) = self.forbidden(resource, "list", namespace, None) {
                    return r;
                }
                let misbehaviour = self
                    .misbehaviours
                    .iter()
                    .find(|(plural, _)| plural == resource.plural)
                    .map(|(_, m)| m);
                match misbehaviour {
                    Some(m) => self.misbehave(store, ri, namespace, query, m),
                    None => self.list(store, ri, namespace, query),
                }
            }
        }
    }

    fn list(
        &self,
        store: &Store,
        ri: usize,
        namespace: Option<&str>,
        query: &[(String, String)],
    ) -> Reply {
        let resource = &RESOURCES[ri];
        let labels = match LabelSelector::parse(query_get(query, "labelSelector").unwrap_or("")) {
            Ok(s) => s,
            Err(e) => return bad_request(&e),
        };
        let fields =
            match FieldSelector::parse(query_get(query, "fieldSelector").unwrap_or(""), resource) {
                Ok(s) => s,
                Err(e) => return bad_request(&e),
            };
        let limit = match query_get(query, "limit").filter(|l| !l.is_empty()) {
            None => 0,
            Some(l) => match l.parse::<i64>() {
                Ok(n) => usize::try_from(n).unwrap_or(0),
                Err(_) => return bad_request(&format!("invalid limit: \"{l}\"")),
            },
        };
        let mut rv = store.resource_version;
        let start = match query_get(query, "continue").filter(|c| !c.is_empty()) {
            None => None,
            Some(token) => match decode_continue(token) {
                Ok((token_rv, start)) => {
                    rv = token_rv;
                    Some(start)
                }
                Err(e) => return bad_request(&format!("continue key is not valid: {e}")),
            },
        };
        let mut items: Vec<(&str, &Entry)> = Vec::new();
        let mut next_start = None;
        let mut remaining = 0usize;
        let matching = store
            .range(ri, namespace, start.as_deref())
            .filter(|(_, e)| labels.matches(&e.obj) && fields.matches(resource, &e.obj));
        for (k, entry) in matching {
            if limit > 0 && items.len() == limit {
                if next_start.is_none() {
                    next_start = items.last().map(|(k, _)| format!("{k}\u{0}"));
                }
                remaining += 1;
                continue;
            }
            items.push((k, entry));
        }
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if let Some(s) = next_start {
            metadata["continue"] = json!(encode_continue(rv, &s));
            // The real server counts the rest only when nothing is filtered.
            if labels.is_empty() && fields.is_empty() {
                metadata["remainingItemCount"] = json!(remaining);
            }
        }
        // Items are kept serialized; write the list around them.
        let head = json!({
            "kind": format!("{}List", resource.kind),
            "apiVersion": resource.api_version(),
            "metadata": metadata,
        });
        let mut body = serde_json::to_vec(&head).unwrap_or_default();
        body.pop(); // the closing brace
        body.extend_from_slice(b",\"items\":[");
        for (i, (_, entry)) in items.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&entry.item);
        }
        body.extend_from_slice(b"]}");
        Reply {
            status: 200,
            content_type: JSON,
            body,
            stream: None,
        }
    }

    /// A list answer as a hostile or broken server gives it.
    fn misbehave(
        &self,
        store: &Store,
        ri: usize,
        namespace: Option<&str>,
        query: &[(String, String)],
        m: &Misbehaviour,
    ) -> Reply {
        let rv = store.resource_version;
        // The first page, whatever the token says; then patched.
        let first_page = |patch: &dyn Fn(&mut Value)| {
            let plain: Vec<(String, String)> = query
                .iter()
                .filter(|(k, _)| k != "continue")
                .cloned()
                .collect();
            let reply = self.list(store, ri, namespace, &plain);
            match serde_json::from_slice::<Value>(&reply.body) {
                Ok(mut v) if reply.status == 200 => {
                    patch(&mut v);
                    json_reply(200, &v)
                }
                _ => reply,
            }
        };
        match m {
            Misbehaviour::EndlessContinue => {
                // Page N's token starts at `endless/N`; the next page's is N + 1.
                let page = query_get(query, "continue")
                    .and_then(|t| decode_continue(t).ok())
                    .and_then(|(_, start)| {
                        start
                            .strip_prefix("endless/")?
                            .trim_end_matches('\u{0}')
                            .parse::<u64>()
                            .ok()
                    })
                    .unwrap_or(0);
                let token = encode_continue(rv, &format!("endless/{}\u{0}", page + 1));
                first_page(&|v: &mut Value| v["metadata"]["continue"] = json!(token))
            }
            Misbehaviour::RepeatedContinue => {
                let token = encode_continue(rv, "loop\u{0}");
                first_page(&|v: &mut Value| v["metadata"]["continue"] = json!(token))
            }
            Misbehaviour::Items(items) => first_page(&|v: &mut Value| match (v, items) {
                (Value::Object(map), Some(items)) => {
                    map.insert("items".into(), items.clone());
                }
                (Value::Object(map), None) => {
                    map.remove("items");
                }
                _ => {}
            }),
            Misbehaviour::Body(text) => Reply {
                status: 200,
                content_type: JSON,
                body: text.as_bytes().to_vec(),
                stream: None,
            },
            Misbehaviour::OversizedList { bytes } => Reply {
                status: 200,
                content_type: JSON,
                body: Vec::new(),
                stream: Some(*bytes),
            },
        }
    }
}

/// The resource and target of a resource path: `namespaces/{ns}/{resource}[/{name}]`
/// when `{resource}` is namespaced, otherwise `{resource}[/{name}]`; only served
/// resources (custom ones while their CRD is stored).
fn resolve<'a>(
    store: &Store,
    group: &str,
    version: &str,
    rest: &[&'a str],
) -> Option<(usize, Target<'a>)> {
    let crds = store.crds();
    let namespaced = match rest {
        ["namespaces", ns, plural, tail @ ..] if tail.len() <= 1 => {
            resources::by_plural(crds, group, version, plural)
                .filter(|&ri| RESOURCES[ri].namespaced)
                .map(|ri| (ri, Some(*ns), tail.first().copied()))
        }
        _ => None,
    };
    let (ri, namespace, name) = namespaced.or_else(|| match rest {
        [plural] => resources::by_plural(crds, group, version, plural).map(|ri| (ri, None, None)),
        [plural, name] => resources::by_plural(crds, group, version, plural)
            .filter(|&ri| !RESOURCES[ri].namespaced)
            .map(|ri| (ri, None, Some(*name))),
        _ => None,
    })?;
    Some((
        ri,
        match name {
            Some(name) => Target::Get { namespace, name },
            None => Target::List { namespace },
        },
    ))
}

fn method_not_allowed() -> Reply {
    status(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        Some(json!({})),
    )
}

/// The 409 of an apply that sets fields other managers own.
fn conflict(resource: &Resource, name: &str, conflicts: &[Conflict]) -> Reply {
    let n = conflicts.len();
    let list: Vec<String> = conflicts
        .iter()
        .map(|c| format!("conflict with \"{}\": {}", c.manager, c.field))
        .collect();
    let message = if n == 1 {
        format!("Apply failed with 1 conflict: {}", list.join(""))
    } else {
        format!("Apply failed with {n} conflicts: {}", list.join("\n"))
    };
    let mut d = details(resource, Some(name));
    d["causes"] = json!(
        conflicts
            .iter()
            .map(|c| json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{}\"", c.manager), "field": c.field}))
            .collect::<Vec<_>>()
    );
    status(409, "Conflict", &message, Some(d))
}

/// Now, as the server writes times (RFC 3339, whole seconds, UTC).
fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A continue token as the real server makes it: base64url of
/// `{"v":"meta.k8s.io/v1","rv":N,"start":"KEY\u0000"}`.
fn encode_continue(rv: u64, start: &str) -> String {
    let v = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start});
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn decode_continue(token: &str) -> Result<(u64, String), String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if v.get("v").and_then(Value::as_str) != Some("meta.k8s.io/v1") {
        return Err("incorrect encoded start resourceVersion (version meta.k8s.io/v1)".into());
    }
    let rv = v
        .get("rv")
        .and_then(Value::as_u64)
        .ok_or("missing resource version")?;
    let start = v
        .get("start")
        .and_then(Value::as_str)
        .ok_or("missing start key")?;
    Ok((rv, start.to_string()))
}
