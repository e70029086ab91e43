//! Answers one request: routing, lists, single GETs and `Status` errors.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::Misbehaviour;
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
    pub store: Store,
    pub forbids: Vec<Forbid>,
    pub user: String,
    pub token: String,
    /// `host:port`, for `/api`'s `serverAddressByClientCIDRs`.
    pub address: String,
    /// Misbehaviours on lists, by plural resource name.
    pub misbehaviours: Vec<(String, Misbehaviour)>,
}

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
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
    /// Answers `method path?query` with the request's `Authorization` and `Accept`.
    pub fn handle(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        authorization: Option<&str>,
        accept: Option<&str>,
    ) -> Reply {
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
            return status(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
                Some(json!({})),
            );
        }
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
                ..json_reply(200, &resources::aggregated(true))
            },
            ["api"] => json_reply(200, &resources::core_versions(&self.address)),
            ["apis"] if aggregated => Reply {
                content_type: AGGREGATED,
                ..json_reply(200, &resources::aggregated(false))
            },
            ["apis"] => json_reply(200, &resources::group_list()),
            ["api", "v1"] => resources::resource_list("", "v1")
                .map_or_else(not_found_path, |v| json_reply(200, &v)),
            ["apis", g] => resources::group(g).map_or_else(not_found_path, |v| json_reply(200, &v)),
            ["apis", g, v] => {
                resources::resource_list(g, v).map_or_else(not_found_path, |v| json_reply(200, &v))
            }
            ["api", "v1", rest @ ..] => self.resource_request("", "v1", rest, query),
            ["apis", g, v, rest @ ..] => self.resource_request(g, v, rest, query),
            _ => not_found_path(),
        }
    }

    fn resource_request(
        &self,
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
        // `namespaces/{ns}/{resource}[/{name}]` when `{resource}` is namespaced;
        // otherwise `{resource}[/{name}]`.
        let namespaced = match rest {
            ["namespaces", ns, plural, tail @ ..] if tail.len() <= 1 => {
                resources::by_plural(group, version, plural)
                    .filter(|&ri| RESOURCES[ri].namespaced)
                    .map(|ri| (ri, Some(*ns), tail.first().copied()))
            }
            _ => None,
        };
        let resolved = namespaced.or_else(|| match rest {
            [plural] => resources::by_plural(group, version, plural).map(|ri| (ri, None, None)),
            [plural, name] => resources::by_plural(group, version, plural)
                .filter(|&ri| !RESOURCES[ri].namespaced)
                .map(|ri| (ri, None, Some(*name))),
            _ => None,
        });
        let Some((ri, namespace, name)) = resolved else {
            return not_found_path();
        };
        let target = match name {
            Some(name) => Target::Get { namespace, name },
            None => Target::List { namespace },
        };
        self.serve(ri, target, query)
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

    fn serve(&self, ri: usize, target: Target<'_>, query: &[(String, String)]) -> Reply {
        let resource = &RESOURCES[ri];
        match target {
            Target::Get { namespace, name } => {
                if let Some(r) = self.forbidden(resource, "get", namespace, Some(name)) {
                    return r;
                }
                match self.store.get(ri, &key(namespace, name)) {
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
                    Some(m) => self.misbehave(ri, namespace, query, m),
                    None => self.list(ri, namespace, query),
                }
            }
        }
    }

    fn list(&self, ri: usize, namespace: Option<&str>, query: &[(String, String)]) -> Reply {
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
        let mut rv = self.store.resource_version;
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
        let matching = self
            .store
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
        ri: usize,
        namespace: Option<&str>,
        query: &[(String, String)],
        m: &Misbehaviour,
    ) -> Reply {
        let rv = self.store.resource_version;
        // The first page, whatever the token says; then patched.
        let first_page = |patch: &dyn Fn(&mut Value)| {
            let plain: Vec<(String, String)> = query
                .iter()
                .filter(|(k, _)| k != "continue")
                .cloned()
                .collect();
            let reply = self.list(ri, namespace, &plain);
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
