//! The real kube client against a hostile or broken API server (the stand-in's
//! misbehaviours) and against no server at all: every limit holds, every
//! malformed answer is an error, never an empty list, and connection errors say
//! where and why.

use rulerun_collect_k8s::connect::{ConnectOptions, connect};
use rulerun_collect_k8s::declare::resource;
use rulerun_collect_k8s::fetch::{FetchError, FetchOptions, K8sFetcher};
use rulerun_kube_stub::{Misbehaviour, Stub, StubServer};
use serde_json::{Value, json};

fn install_crypto() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

fn pods(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("p{i:03}"), "namespace": "default"}})
        })
        .collect()
}

async fn fetcher_for(kubeconfig: &str, options: FetchOptions) -> (K8sFetcher, tempfile::TempDir) {
    install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, kubeconfig).unwrap();
    let (client, info) = connect(&ConnectOptions {
        kubeconfig: Some(path),
        ..ConnectOptions::default()
    })
    .await
    .unwrap();
    let f = K8sFetcher::new(client, options).with_server(info.server);
    (f, dir)
}

async fn fetcher(server: &StubServer, options: FetchOptions) -> (K8sFetcher, tempfile::TempDir) {
    fetcher_for(&server.kubeconfig_yaml("stub", None), options).await
}

async fn list_pods(f: &K8sFetcher) -> Result<Vec<Value>, FetchError> {
    f.list(resource("k8s/v1/Pod").unwrap(), None, None).await
}

#[tokio::test]
async fn endless_continue_tokens_stop_at_the_page_limit() {
    let server = Stub::new()
        .objects(pods(3))
        .misbehave("pods", Misbehaviour::EndlessContinue)
        .start()
        .await
        .unwrap();
    let (f, _dir) = fetcher(
        &server,
        FetchOptions {
            max_pages: 25,
            ..FetchOptions::default()
        },
    )
    .await;
    let e = list_pods(&f).await.unwrap_err();
    assert_eq!(
        e,
        FetchError::TooManyPages {
            what: "LIST `pods`".into(),
            pages: 25,
            page_size: 500
        }
    );
    assert_eq!(
        e.to_string(),
        "LIST `pods` did not end after 25 pages of 500 items (the limit of pages per list): the API server kept answering with a `continue` token"
    );
    assert!(e.help().unwrap().contains("`--max-list-pages`"));
    assert_eq!(server.count(|r| r.is_for("pods")), 25);
}

#[tokio::test]
async fn a_repeated_continue_token_is_a_loop() {
    let server = Stub::new()
        .objects(pods(3))
        .misbehave("pods", Misbehaviour::RepeatedContinue)
        .start()
        .await
        .unwrap();
    let (f, _dir) = fetcher(&server, FetchOptions::default()).await;
    let e = list_pods(&f).await.unwrap_err();
    assert_eq!(
        e,
        FetchError::ContinueLoop {
            what: "LIST `pods`".into(),
            page: 2,
            first: 1
        }
    );
    assert_eq!(server.count(|r| r.is_for("pods")), 2);
}

#[tokio::test]
async fn an_oversized_body_is_not_read_past_the_limit() {
    // 4 GiB, streamed as it is made; the limit is 1 MiB.
    let server = Stub::new()
        .objects(pods(1))
        .misbehave("pods", Misbehaviour::OversizedList { bytes: 4 << 30 })
        .start()
        .await
        .unwrap();
    let (f, _dir) = fetcher(
        &server,
        FetchOptions {
            max_response_bytes: 1 << 20,
            ..FetchOptions::default()
        },
    )
    .await;
    let e = list_pods(&f).await.unwrap_err();
    assert_eq!(
        e,
        FetchError::ResponseTooLarge {
            what: "LIST `pods`".into(),
            limit: 1 << 20
        }
    );
    assert_eq!(
        e.to_string(),
        "the API server's answer to LIST `pods` is larger than the limit of 1 MiB per response"
    );
    assert!(e.help().unwrap().contains("`--max-response-bytes`"));
    // The client stopped reading: what the stub made is the limit plus what
    // the sockets buffer, not the 4 GiB.
    let streamed = server.streamed_bytes();
    assert!(streamed < 64 << 20, "{streamed} bytes streamed");
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_reading() {
    let big = format!(
        r#"{{"kind":"PodList","apiVersion":"v1","metadata":{{}},"items":[],"pad":"{}"}}"#,
        "x".repeat(2 << 20)
    );
    let server = Stub::new()
        .misbehave("pods", Misbehaviour::Body(big))
        .start()
        .await
        .unwrap();
    let (f, _dir) = fetcher(
        &server,
        FetchOptions {
            max_response_bytes: 1 << 20,
            ..FetchOptions::default()
        },
    )
    .await;
    assert!(matches!(
        list_pods(&f).await.unwrap_err(),
        FetchError::ResponseTooLarge { limit, .. } if limit == 1 << 20
    ));
}

#[tokio::test]
async fn pages_together_are_bounded_per_list() {
    // 40 pods in pages of 5: each page is small, all of them are not.
    let server = Stub::new().objects(pods(40)).start().await.unwrap();
    let (f, _dir) = fetcher(
        &server,
        FetchOptions {
            page_size: 5,
            max_list_bytes: 2 << 10,
            ..FetchOptions::default()
        },
    )
    .await;
    let e = list_pods(&f).await.unwrap_err();
    match &e {
        FetchError::ListTooLarge { what, limit, pages } => {
            assert_eq!(what, "LIST `pods`");
            assert_eq!(*limit, 2 << 10);
            assert!(*pages > 1 && *pages < 8, "{pages}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string()
            .starts_with("LIST `pods` is larger than the limit of 2 KiB per list"),
        "{e}"
    );
    assert!(e.help().unwrap().contains("`--max-list-bytes`"));
}

#[tokio::test]
async fn items_that_are_not_a_list_are_malformed_never_empty() {
    let cases: Vec<(Misbehaviour, &str)> = vec![
        (
            Misbehaviour::Items(Some(json!("oops"))),
            "`items` is a string, expected a list",
        ),
        (
            Misbehaviour::Items(Some(json!({"a": 1}))),
            "`items` is an object, expected a list",
        ),
        (Misbehaviour::Items(None), "`items` is missing"),
        (
            Misbehaviour::Items(Some(json!([{"metadata": {"name": "a"}}, "b"]))),
            "item 2: the object is a string, expected an object",
        ),
        (
            Misbehaviour::Items(Some(json!([{"metadata": ["a"]}]))),
            "item 1: `metadata` is a list, expected an object",
        ),
        (
            Misbehaviour::Body(r#"{"kind":"PodList","metadata":{"continue":7},"items":[]}"#.into()),
            "`metadata.continue` is a number, expected a string",
        ),
        (
            Misbehaviour::Body("<html>proxy error</html>".into()),
            "it is not JSON (expected value at line 1 column 1)",
        ),
    ];
    for (m, detail) in cases {
        let server = Stub::new()
            .objects(pods(2))
            .misbehave("pods", m.clone())
            .start()
            .await
            .unwrap();
        let (f, _dir) = fetcher(&server, FetchOptions::default()).await;
        let e = list_pods(&f).await.unwrap_err();
        assert_eq!(
            e,
            FetchError::Malformed {
                what: "LIST `pods`".into(),
                path: "/api/v1/pods?limit=500".into(),
                detail: detail.into()
            },
            "{m:?}"
        );
        assert_eq!(
            e.to_string(),
            format!("the API server's answer to LIST `pods` was malformed: {detail}")
        );
        assert!(
            e.help()
                .unwrap()
                .contains("kubectl get --raw '/api/v1/pods?limit=500'")
        );
    }
    // `items: null` is how Go writes an empty list.
    let server = Stub::new()
        .misbehave("pods", Misbehaviour::Items(Some(Value::Null)))
        .start()
        .await
        .unwrap();
    let (f, _dir) = fetcher(&server, FetchOptions::default()).await;
    assert_eq!(list_pods(&f).await.unwrap(), Vec::<Value>::new());
}

/// `server`'s kubeconfig pointed at `url`, without its CA unless `keep_ca`.
fn kubeconfig(server: &StubServer, url: &str, keep_ca: bool) -> String {
    server
        .kubeconfig_yaml("stub", None)
        .replace(server.url(), url)
        .lines()
        .filter(|l| keep_ca || !l.contains("certificate-authority-data"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A loopback port nothing listens on: bound, then closed.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_refused_connection_names_the_server_and_the_cause() {
    let stub = Stub::new().start().await.unwrap();
    let url = format!("https://127.0.0.1:{}", closed_port());
    let (f, _dir) = fetcher_for(&kubeconfig(&stub, &url, false), FetchOptions::default()).await;
    let e = list_pods(&f).await.unwrap_err();
    assert_eq!(
        e,
        FetchError::Connect {
            server: Some(url.clone()),
            cause: "connection refused".into()
        }
    );
    assert_eq!(
        e.to_string(),
        format!("cannot connect to the Kubernetes API server at `{url}`: connection refused")
    );
    assert!(e.help().unwrap().contains("kubectl cluster-info"));
}

#[tokio::test]
async fn tls_mismatches_are_said_in_words() {
    // HTTPS to a server that speaks plain HTTP.
    let plain = Stub::new().start().await.unwrap();
    let https = plain.url().replacen("http://", "https://", 1);
    let (f, _dir) = fetcher_for(&kubeconfig(&plain, &https, false), FetchOptions::default()).await;
    let e = list_pods(&f).await.unwrap_err();
    match &e {
        FetchError::Connect { server, cause } => {
            assert_eq!(server.as_deref(), Some(https.as_str()));
            assert!(cause.contains("the server does not speak TLS"), "{cause}");
        }
        other => panic!("{other:?}"),
    }
    // A certificate signed by a CA the kubeconfig does not name.
    let tls = Stub::new().tls(true).start().await.unwrap();
    let (f, _dir) = fetcher_for(&kubeconfig(&tls, tls.url(), false), FetchOptions::default()).await;
    let e = list_pods(&f).await.unwrap_err();
    match &e {
        FetchError::Connect { cause, .. } => {
            assert!(
                cause.contains("not signed by a CA the kubeconfig trusts"),
                "{cause}"
            );
        }
        other => panic!("{other:?}"),
    }
    // And with the CA, it reads.
    let (f, _dir) = fetcher_for(&kubeconfig(&tls, tls.url(), true), FetchOptions::default()).await;
    assert!(list_pods(&f).await.unwrap().is_empty());
    // Plain HTTP to a TLS server.
    let http = tls.url().replacen("https://", "http://", 1);
    let (f, _dir) = fetcher_for(&kubeconfig(&tls, &http, false), FetchOptions::default()).await;
    let e = list_pods(&f).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "cannot connect to the Kubernetes API server at `{http}`: the server's answer is not HTTP (does it expect TLS, an `https://` URL?)"
        )
    );
}
