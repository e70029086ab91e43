//! The `kube-stub` binary: serves a synthetic cluster until its input ends.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

use crate::crypto;

#[tokio::test]
async fn serves_a_generated_cluster_until_stdin_closes() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kc.yaml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-stub"))
        .args([
            "--generate-pods",
            "60",
            "--failing",
            "3",
            "--latency-ms",
            "5",
            "--tls",
        ])
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut header = String::new();
    while !header.contains("objects:") {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "exited early: {header}"
        );
        header.push_str(&line);
    }
    assert!(header.contains("url: https://127.0.0.1:"), "{header}");
    crypto();
    let config = Config::from_custom_kubeconfig(
        Kubeconfig::read_from(&kubeconfig).unwrap(),
        &KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    let pods = Api::<Pod>::all(Client::try_from(config).unwrap());
    let stuck = pods
        .list(&ListParams::default().fields("status.phase=Pending"))
        .await
        .unwrap();
    assert_eq!(stuck.items.len(), 3);
    assert_eq!(
        pods.list(&ListParams::default().limit(25))
            .await
            .unwrap()
            .metadata
            .remaining_item_count,
        Some(35)
    );
    drop(child.stdin.take());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(rest.contains("requests: 2"), "{rest}");
    assert!(rest.contains("GET pods"), "{rest}");
}
