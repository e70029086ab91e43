//! Transport errors in words: [`rulerun_transport`], worded for the API server.

pub use rulerun_transport::{Cause, Peer, chain_text, strip_os_code};

/// The cause at the bottom of `err`'s source chain, in words, as the API
/// server's (its CA is the one the kubeconfig trusts).
pub fn describe(err: &(dyn std::error::Error + 'static)) -> Cause {
    rulerun_transport::describe(err, Peer::API_SERVER)
}
