//! Transport errors in words, for both collectors. The kube client reports a
//! refused connection as `ServiceError: client error (Connect)`, the AWS SDK as
//! `dispatch failure` around hyper's error; the cause (refused, timed out, a
//! name that does not resolve, a certificate not trusted, a server that does not
//! speak TLS) is further down the error's source chain, sometimes inside an
//! `io::Error` whose `source()` skips it. [`describe`] walks the chain and says
//! what happened, in the words of a [`Peer`]: the Kubernetes API server trusts
//! the kubeconfig's CA, an AWS endpoint the system's or `--ca-bundle`.

use std::error::Error as StdError;
use std::io;

/// What a transport error comes down to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// Whether no connection was made (connect, DNS, TLS handshake): the
    /// server's address is then what the user must check.
    pub connect: bool,
    /// The cause in words, lowercase: `connection refused`.
    pub words: String,
}

/// Who was on the other end, for the words of TLS failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// What the peer is called: `server`, `endpoint`.
    pub name: &'static str,
    /// Which CAs were trusted: `the kubeconfig trusts`.
    pub trusted: &'static str,
}

impl Peer {
    /// The Kubernetes API server, trusted through the kubeconfig.
    pub const API_SERVER: Peer = Peer {
        name: "server",
        trusted: "a CA the kubeconfig trusts",
    };
    /// An AWS endpoint, trusted through the system's CAs or `--ca-bundle`.
    pub const AWS_ENDPOINT: Peer = Peer {
        name: "endpoint",
        trusted: "a trusted CA (the system's, or `--ca-bundle`)",
    };
}

/// The cause at the bottom of `err`'s source chain, in words.
pub fn describe(err: &(dyn StdError + 'static), peer: Peer) -> Cause {
    let mut connect = false;
    let mut dns = false;
    let mut words: Option<String> = None;
    let mut deepest = err.to_string();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        let text = e.to_string();
        if text.contains("(Connect)") || text.starts_with("tcp connect error") {
            connect = true;
        }
        if text.starts_with("dns error") {
            connect = true;
            dns = true;
        }
        if let Some(tls) = tls_in(e) {
            return Cause {
                connect: true,
                words: tls_words(tls, peer),
            };
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            let (w, is_connect) = io_words(io, dns);
            connect |= is_connect;
            words = Some(w);
        }
        deepest = text;
        cur = next(e);
    }
    let words = match words {
        Some(w) => w,
        None => {
            let (w, is_connect) = known_words(&deepest);
            connect |= is_connect;
            w
        }
    };
    Cause { connect, words }
}

/// The next link of the chain. An `io::Error` wrapping another error is
/// followed into that error: its own `source()` skips it (and returns the
/// wrapped error's source), which would hide an `io::Error` or a TLS error
/// wrapped in an `io::Error`, as hyper-rustls reports handshake failures.
fn next<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    if let Some(inner) = e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
        let inner: &(dyn StdError + 'static) = inner;
        return Some(inner);
    }
    e.source()
}

/// A rustls error at this link.
fn tls_in<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    e.downcast_ref::<rustls::Error>()
}

fn tls_words(e: &rustls::Error, peer: Peer) -> String {
    use rustls::CertificateError as C;
    let who = peer.name;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => format!(
                "TLS handshake failed: the {who}'s certificate is not signed by {} ({e})",
                peer.trusted
            ),
            C::NotValidForName | C::NotValidForNameContext { .. } => format!(
                "TLS handshake failed: the {who}'s certificate is not valid for this host name ({e})"
            ),
            C::Expired | C::ExpiredContext { .. } => {
                format!("TLS handshake failed: the {who}'s certificate has expired ({e})")
            }
            _ => format!("TLS handshake failed: {e}"),
        },
        rustls::Error::InvalidMessage(_) => format!(
            "TLS handshake failed: the {who} does not speak TLS (is the URL's scheme right, `http://` or `https://`?) ({e})"
        ),
        _ => format!("TLS handshake failed: {e}"),
    }
}

/// An I/O error in words, and whether it means no connection was made.
fn io_words(e: &io::Error, dns: bool) -> (String, bool) {
    use io::ErrorKind as K;
    let plain = strip_os_code(&e.to_string());
    match e.kind() {
        K::ConnectionRefused => ("connection refused".into(), true),
        K::TimedOut => ("timed out".into(), false),
        K::ConnectionReset => ("the server reset the connection".into(), false),
        K::ConnectionAborted => ("the connection was aborted".into(), false),
        K::HostUnreachable => ("no route to the host".into(), true),
        K::NetworkUnreachable => ("the network is unreachable".into(), true),
        K::AddrNotAvailable => ("the address is not available".into(), true),
        K::UnexpectedEof => (
            "the server closed the connection before answering".into(),
            false,
        ),
        _ if dns => (format!("cannot resolve the host name ({plain})"), true),
        _ => known_words(&plain),
    }
}

/// Words for errors with no I/O error below them (hyper's own), and whether
/// they mean the server at the URL is not an HTTP server as configured (an
/// `http://` URL to a server that speaks TLS): the URL is then what to check.
fn known_words(text: &str) -> (String, bool) {
    if text.contains("connection closed before message completed") {
        (
            "the server closed the connection before answering".into(),
            false,
        )
    } else if text.contains("invalid HTTP version")
        || text.contains("invalid HTTP status")
        || text.contains("invalid HTTP header")
    {
        (
            "the server's answer is not HTTP (does it expect TLS, an `https://` URL?)".into(),
            true,
        )
    } else {
        (strip_os_code(text), false)
    }
}

/// `Connection refused (os error 111)` -> `connection refused`: every
/// ` (os error N)` removed, the first letter lowercased.
pub fn strip_os_code(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(" (os error ") {
        out.push_str(&rest[..i]);
        rest = match rest[i..].find(')') {
            Some(j) => &rest[i + j + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    let mut chars = out.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Every link of `e`'s chain by its `Display`, joined with `: `, each link
/// once (a link whose text the previous one already holds is left out), the
/// OS error codes removed.
pub fn chain_text(e: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if !text.is_empty() && !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = next(err);
    }
    strip_os_code(&parts.join(": "))
}

/// A collector's fetch error as a live run reports it. Both collectors' errors
/// implement it, so the runner turns either into the reason of an inconclusive
/// result in one way ([`FetchFailure::inconclusive_reason`]).
pub trait FetchFailure: std::fmt::Display {
    /// Advice for the user (the permission to grant, the flag to pass), if any.
    fn advice(&self) -> Option<String>;

    /// The error, with its advice in parentheses: why a candidate that needed
    /// what failed is inconclusive.
    fn inconclusive_reason(&self) -> String {
        match self.advice() {
            Some(advice) => format!("{self} ({advice})"),
            None => self.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug)]
    struct Wrap(&'static str, Box<dyn StdError + Send + Sync + 'static>);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl StdError for Wrap {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(self.1.as_ref())
        }
    }

    #[test]
    fn chains_come_down_to_words() {
        let refused = Wrap(
            "client error (Connect)",
            Box::new(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "Connection refused (os error 111)",
            )),
        );
        assert_eq!(
            describe(&refused, Peer::API_SERVER),
            Cause {
                connect: true,
                words: "connection refused".into()
            }
        );
        let dns = Wrap(
            "client error (Connect)",
            Box::new(Wrap(
                "dns error",
                Box::new(io::Error::other(
                    "failed to lookup address information: Name or service not known",
                )),
            )),
        );
        assert_eq!(
            describe(&dns, Peer::API_SERVER).words,
            "cannot resolve the host name (failed to lookup address information: Name or service not known)"
        );
        let tls = Wrap(
            "client error (Connect)",
            Box::new(io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
            )),
        );
        let c = describe(&tls, Peer::API_SERVER);
        assert!(c.connect);
        // hyper-rustls: an io::Error wrapping an io::Error wrapping the TLS error.
        let nested = Wrap(
            "client error (Connect)",
            Box::new(io::Error::other(io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
            ))),
        );
        assert!(
            describe(&nested, Peer::API_SERVER)
                .words
                .contains("the server does not speak TLS"),
            "{:?}",
            describe(&nested, Peer::API_SERVER)
        );
        assert!(
            c.words.contains("not signed by a CA the kubeconfig trusts"),
            "{}",
            c.words
        );
        let closed = Wrap(
            "ServiceError",
            Box::new(io::Error::other(
                "connection closed before message completed",
            )),
        );
        assert_eq!(
            describe(&closed, Peer::API_SERVER).words,
            "the server closed the connection before answering"
        );
        assert_eq!(strip_os_code("Broken pipe (os error 32)"), "broken pipe");
    }
}
