//! A stand-in Kubernetes API server for tests that drive the real kube client.
//!
//! [`Stub`] serves fixture objects over HTTP or HTTPS on `127.0.0.1` the way a real
//! (EKS 1.31) API server answers read requests, and [`StubServer::kubeconfig_yaml`]
//! writes a kubeconfig that points the kube client at it.
//!
//! What it emulates:
//! * `/version`, `/healthz`, `/livez`, `/readyz` (anonymous, as on a real cluster);
//! * legacy discovery: `/api` (`APIVersions`), `/api/v1` and `/apis/{group}/{version}`
//!   (`APIResourceList`), `/apis` (`APIGroupList`), `/apis/{group}` (`APIGroup`); and
//!   aggregated discovery (`apidiscovery.k8s.io/v2`) of `/api` and `/apis` when the
//!   `Accept` header asks for `as=APIGroupDiscoveryList`;
//! * lists, cluster-wide and per namespace, whose items carry no `kind`/`apiVersion`,
//!   in etcd key order (`namespace/name`), with `labelSelector` (`=`, `==`, `!=`,
//!   `in`, `notin`, exists, `!`, `>`, `<`), `fieldSelector` (`=`, `==`, `!=` on the
//!   field labels the real server supports for each resource, 400 otherwise), and
//!   `limit`/`continue` paging with real-shaped continue tokens and
//!   `remainingItemCount`;
//! * single GETs (objects keep `kind`/`apiVersion`);
//! * `Status` bodies for 401 (no or wrong bearer token), 403 (see [`Stub::forbid`]),
//!   404 (unknown objects and paths), 400 (bad selectors, limit or continue token),
//!   405 (every write but those below, so a test sees a reader that writes);
//! * custom resources, served (discovery, lists, GETs) only while the fixtures hold
//!   their `CustomResourceDefinition` (`apiextensions.k8s.io/v1`, named
//!   `{plural}.{group}`, serving the version), 404 otherwise as on a real server:
//!   `openreports.io/v1alpha1` `reports`/`clusterreports` and `wgpolicyk8s.io/v1alpha2`
//!   `policyreports`/`clusterpolicyreports`;
//! * writes of custom resources as the real server does them: server-side apply
//!   (`PATCH` with `application/apply-patch+yaml` and a JSON body; `fieldManager`
//!   required, 422 without; `force`), which creates a missing object (201, with
//!   `uid`, `resourceVersion`, `creationTimestamp`, `generation` and the manager in
//!   `managedFields`; RBAC `create` as well as `patch`) or updates it (200; a new
//!   `resourceVersion` only when something changed, `generation` when more than
//!   metadata did), tracks field ownership per manager (maps merge, lists are
//!   atomic as in CRDs without list-type markers; fields a manager stops applying
//!   go; another manager's field set differently is a 409 `Conflict` unless
//!   forced); `DELETE` of one object (at once: no finalizers or grace period;
//!   a `Success` Status with the uid, 404 Status when missing); other patch types
//!   get a 415;
//! * optional latency before every answer, and a log of every request (method,
//!   path, query, content type, status; [`StubServer::requests`], printable);
//! * on request, lists that misbehave as a hostile or broken server's would
//!   ([`Stub::misbehave`], [`Misbehaviour`]): `continue` tokens that never end or
//!   repeat, a body too large to buffer (streamed as it is made, so the stub
//!   holds none of it; [`StubServer::streamed_bytes`] counts what went out),
//!   `items` that is not a list, any body verbatim.
//!
//! Served resources: core `v1` configmaps, endpoints, events, limitranges, namespaces,
//! nodes, persistentvolumeclaims, persistentvolumes, pods, resourcequotas, secrets,
//! serviceaccounts, services; `apps/v1` daemonsets, deployments, replicasets,
//! statefulsets; `batch/v1` cronjobs, jobs; `apiextensions.k8s.io/v1`
//! customresourcedefinitions (read-only); the custom resources above.
//!
//! What it does not: watches (`watch=true` gets a 400), the Table format
//! (`as=Table` in `Accept` is ignored and plain JSON is served), protobuf, writes of
//! built-in resources and CRDs, create/update/merge patches, validation of custom
//! resources against their CRD's schema, YAML that is not JSON in apply bodies,
//! subresources (`/status`, `/log`), `resourceVersion` semantics on lists (ignored),
//! expiring continue tokens (410), OpenAPI documents, HTTP/2.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod apply;
mod fixtures;
mod handler;
mod resources;
mod selectors;
mod server;
mod store;
pub mod synth;
mod tls;

pub use fixtures::{load_fixtures, parse_fixtures};
pub use server::{Request, StubServer};
pub use store::is_served;

/// A TLS acceptor for `127.0.0.1`/`localhost` with a fresh certificate, and the PEM
/// of the throwaway CA that signed it: for other stand-in servers of the tests
/// (an AWS endpoint in front of moto) that must speak HTTPS too.
pub fn tls_acceptor() -> io::Result<(tokio_rustls::TlsAcceptor, String)> {
    tls::acceptor()
}

use std::io;
use std::time::Duration;

use serde_json::Value;

use handler::{Forbid, ForbidScope};

/// The bearer token the generated kubeconfig carries and the stub requires.
pub const TOKEN: &str = "rulerun-kube-stub-token";

/// The user named in 403 messages unless [`Stub::user`] says otherwise.
pub const DEFAULT_USER: &str = "system:serviceaccount:rulerun:rulerun";

/// How lists of one resource misbehave ([`Stub::misbehave`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Misbehaviour {
    /// Every page, whatever its `continue` token, is the first page again with a
    /// new `continue` token: the list never ends.
    EndlessContinue,
    /// Every page carries the same `continue` token.
    RepeatedContinue,
    /// The answer is a list about `bytes` long, its items made as they are sent
    /// (chunked, no `Content-Length`), so it can be far larger than memory.
    OversizedList {
        /// The body's length, roughly (to within one item).
        bytes: u64,
    },
    /// The first page with `items` replaced by this value, or left out (`None`).
    Items(Option<Value>),
    /// This text as the body, with status 200 and a JSON content type.
    Body(String),
}

/// Builds a stand-in API server; [`Stub::start`] runs it.
#[derive(Debug, Clone)]
pub struct Stub {
    objects: Vec<Value>,
    forbids: Vec<Forbid>,
    misbehaviours: Vec<(String, Misbehaviour)>,
    latency: Option<Duration>,
    tls: bool,
    user: String,
}

impl Default for Stub {
    fn default() -> Self {
        Self::new()
    }
}

impl Stub {
    /// A stub with no objects, over plain HTTP, without latency.
    pub fn new() -> Self {
        Self {
            objects: Vec::new(),
            forbids: Vec::new(),
            misbehaviours: Vec::new(),
            latency: None,
            tls: false,
            user: DEFAULT_USER.to_string(),
        }
    }

    /// Adds objects to serve: full objects with `apiVersion`, `kind` and
    /// `metadata.name`, of a served kind (see [`is_served`]). Namespaced objects
    /// without a namespace go to `default`; a missing `metadata.uid` or
    /// `metadata.resourceVersion` is filled in; a later object with the same
    /// namespace and name replaces an earlier one. [`Stub::start`] fails on an
    /// object it cannot serve.
    pub fn objects(mut self, objs: impl IntoIterator<Item = Value>) -> Self {
        self.objects.extend(objs);
        self
    }

    /// Denies `verb` (`"list"`, `"get"` or `"*"`) on `resource` (plural, as in
    /// `"events"`, or `"*"`) with a 403 `Forbidden` Status like the real server's:
    /// in `namespace` only, or everywhere (cluster scope and every namespace) when
    /// `None`.
    pub fn forbid(mut self, verb: &str, resource: &str, namespace: Option<&str>) -> Self {
        self.forbids.push(Forbid {
            verb: verb.to_string(),
            resource: resource.to_string(),
            scope: match namespace {
                Some(ns) => ForbidScope::Namespace(ns.to_string()),
                None => ForbidScope::Everywhere,
            },
        });
        self
    }

    /// Denies `verb` on `resource` at the cluster scope only (all-namespace lists and
    /// cluster-scoped resources), leaving requests within a namespace allowed: what a
    /// user with namespace RoleBindings but no ClusterRoleBinding sees.
    pub fn forbid_cluster_scope(mut self, verb: &str, resource: &str) -> Self {
        self.forbids.push(Forbid {
            verb: verb.to_string(),
            resource: resource.to_string(),
            scope: ForbidScope::ClusterScope,
        });
        self
    }

    /// Makes every list of `resource` (plural, as in `"pods"`; in any namespace
    /// and at the cluster scope) misbehave as `m` says; a later call for the same
    /// resource wins. GETs and other resources are unaffected; a 403 from
    /// [`Stub::forbid`] still comes first.
    pub fn misbehave(mut self, resource: &str, m: Misbehaviour) -> Self {
        self.misbehaviours.retain(|(r, _)| r != resource);
        self.misbehaviours.push((resource.to_string(), m));
        self
    }

    /// Waits `d` before answering each request.
    pub fn latency(mut self, d: Duration) -> Self {
        self.latency = Some(d).filter(|d| !d.is_zero());
        self
    }

    /// Serves HTTPS with a certificate signed by a fresh CA (whose PEM goes into the
    /// kubeconfig) instead of plain HTTP.
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// The user named in 403 messages (default [`DEFAULT_USER`]).
    pub fn user(mut self, user: &str) -> Self {
        self.user = user.to_string();
        self
    }

    /// Binds `127.0.0.1` on a free port and serves until [`StubServer::shutdown`] or
    /// drop. Fails on objects it cannot serve ([`io::ErrorKind::InvalidInput`]) or
    /// if the socket or certificate cannot be made.
    pub async fn start(self) -> io::Result<StubServer> {
        server::start(self).await
    }
}
