//! Kubernetes facts for rulerun.
//!
//! * [`declare`]: the resources rulerun reads, as data: their fact kinds, API
//!   paths, the keys by which they can be fetched on demand, and the ClusterRole
//!   that grants exactly those reads (`docs/permissions.md` is generated from it).
//! * [`fetch`]: the I/O, through an injected [`kube::Client`]: paged lists with
//!   `limit`/`continue`, field-selected lists, single GETs; bounded retries and a
//!   timeout per request; pages per list, bytes per response and bytes per list
//!   bounded (bodies are read frame by frame up to the limit), a repeated
//!   `continue` token caught as a loop; RBAC denials, malformed answers and
//!   exceeded limits as values, not crashes.
//! * [`normalize`]: pure functions that turn API responses into the documents
//!   `kubectl get -o json` shows (items get back the `apiVersion` and `kind` the
//!   API server leaves out of list items; `managedFields` are dropped; service
//!   accounts keep only their `imagePullSecrets` names), or say why an answer is
//!   malformed (`items` that is not a list is never an empty list).
//! * [`cause`]: transport errors in words (refused, timed out, DNS, TLS), from
//!   the bottom of the kube client's error chain.
//! * [`connect`]: a client from a kubeconfig (`KUBECONFIG`, `--kubeconfig`,
//!   `--context`) or the in-cluster service account, with CLI-suited timeouts.
//! * [`publish`]: the one write, when asked (`check --report-to-cluster`):
//!   rulerun's policy reports, server-side applied with field manager `rulerun`
//!   after checking that their CRDs are served, and the reports labelled as
//!   rulerun's pruned from namespaces without results.
//!
//! Secrets are never read: no resource here is a Secret, and the ClusterRole
//! grants nothing on them.

pub mod cause;
pub mod connect;
pub mod declare;
pub mod fetch;
pub mod normalize;
pub mod publish;

pub use declare::{KEYED, RESOURCES, Resource};
pub use fetch::{FetchError, K8sFetcher};
pub use kube::Client;
