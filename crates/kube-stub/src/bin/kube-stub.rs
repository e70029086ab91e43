//! `kube-stub`: serves fixture objects as a Kubernetes API server until Ctrl-C or
//! the end of standard input, for manual runs and load measurements.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rulerun_kube_stub::{Misbehaviour, Stub, is_served, load_fixtures, synth};
use tokio::io::AsyncReadExt;

const USAGE: &str = "\
usage: kube-stub [--fixtures FILE.json] [--generate-pods N [--failing M]]
                 [--latency-ms MS] [--tls] [--kubeconfig OUT] [--context NAME]
                 [--forbid VERB:RESOURCE[:NAMESPACE]]... [--no-stdin]
                 [--misbehave RESOURCE:HOW[:ARG]]...

Serves the objects of FILE.json (a JSON array of objects, a Kubernetes List or a
rulerun snapshot) and/or a synthetic cluster of N pods, M of them failing to pull
an ECR image, on 127.0.0.1 until Ctrl-C or, unless --no-stdin, the end of
standard input. Prints the URL and the kubeconfig path; on exit, the requests
served by resource.

--misbehave makes lists of RESOURCE (plural) misbehave, HOW being
endless-continue, repeated-continue, oversized:BYTES (a list about BYTES long,
streamed), items:JSON (`items` replaced; `items:` alone leaves it out), or
body:TEXT (the body verbatim).";

#[derive(Debug, Default)]
struct Args {
    fixtures: Vec<PathBuf>,
    generate_pods: Option<usize>,
    failing: usize,
    latency_ms: u64,
    tls: bool,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    forbid: Vec<(String, String, Option<String>)>,
    misbehave: Vec<(String, Misbehaviour)>,
    no_stdin: bool,
}

fn misbehaviour(v: &str) -> Result<(String, Misbehaviour), String> {
    let mut parts = v.splitn(3, ':');
    let (res, how, arg) = (parts.next(), parts.next(), parts.next());
    let res = res
        .filter(|r| !r.is_empty())
        .ok_or("--misbehave needs a resource")?;
    let m = match (how, arg) {
        (Some("endless-continue"), None) => Misbehaviour::EndlessContinue,
        (Some("repeated-continue"), None) => Misbehaviour::RepeatedContinue,
        (Some("oversized"), Some(n)) => Misbehaviour::OversizedList {
            bytes: n
                .parse()
                .map_err(|_| format!("oversized takes a number of bytes, not `{n}`"))?,
        },
        (Some("items"), None | Some("")) => Misbehaviour::Items(None),
        (Some("items"), Some(json)) => Misbehaviour::Items(Some(
            serde_json::from_str(json).map_err(|e| format!("items:JSON: {e}"))?,
        )),
        (Some("body"), Some(text)) => Misbehaviour::Body(text.to_string()),
        _ => return Err(format!("--misbehave takes RESOURCE:HOW[:ARG], not `{v}`")),
    };
    Ok((res.to_string(), m))
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |name: &str, v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{name} takes a number, not `{v}`"))
        };
        match a.as_str() {
            "--fixtures" => args.fixtures.push(PathBuf::from(value(&a)?)),
            "--generate-pods" => {
                let v = value(&a)?;
                args.generate_pods =
                    Some(usize::try_from(number(&a, v)?).map_err(|e| e.to_string())?);
            }
            "--failing" => {
                let v = value(&a)?;
                args.failing = usize::try_from(number(&a, v)?).map_err(|e| e.to_string())?;
            }
            "--latency-ms" => {
                let v = value(&a)?;
                args.latency_ms = number(&a, v)?;
            }
            "--tls" => args.tls = true,
            "--kubeconfig" => args.kubeconfig = Some(PathBuf::from(value(&a)?)),
            "--context" => args.context = Some(value(&a)?),
            "--forbid" => {
                let v = value(&a)?;
                let mut parts = v.splitn(3, ':');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(verb), Some(res), ns) if !verb.is_empty() && !res.is_empty() => {
                        args.forbid.push((
                            verb.to_string(),
                            res.to_string(),
                            ns.map(str::to_string),
                        ));
                    }
                    _ => {
                        return Err(format!(
                            "--forbid takes VERB:RESOURCE[:NAMESPACE], not `{v}`"
                        ));
                    }
                }
            }
            "--misbehave" => {
                let v = value(&a)?;
                args.misbehave.push(misbehaviour(&v)?);
            }
            "--no-stdin" => args.no_stdin = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if args.fixtures.is_empty() && args.generate_pods.is_none() {
        return Err("give --fixtures or --generate-pods".into());
    }
    Ok(args)
}

async fn run(args: Args) -> Result<(), String> {
    let mut objects = Vec::new();
    for f in &args.fixtures {
        let objs = load_fixtures(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let total = objs.len();
        let served: Vec<_> = objs
            .into_iter()
            .filter(|o| {
                let s = |k: &str| o.get(k).and_then(|v| v.as_str()).unwrap_or("");
                is_served(s("apiVersion"), s("kind"))
            })
            .collect();
        if served.len() < total {
            eprintln!(
                "kube-stub: {}: skipped {} objects of kinds the stub does not serve",
                f.display(),
                total - served.len()
            );
        }
        objects.extend(served);
    }
    if let Some(n) = args.generate_pods {
        objects.extend(synth::cluster(n, args.failing));
    }
    let count = objects.len();
    let mut stub = Stub::new()
        .objects(objects)
        .tls(args.tls)
        .latency(Duration::from_millis(args.latency_ms));
    for (verb, res, ns) in &args.forbid {
        stub = stub.forbid(verb, res, ns.as_deref());
    }
    for (res, m) in &args.misbehave {
        stub = stub.misbehave(res, m.clone());
    }
    let server = stub.start().await.map_err(|e| e.to_string())?;
    let context = args.context.as_deref().unwrap_or("kube-stub");
    let kubeconfig = match &args.kubeconfig {
        Some(p) => p.clone(),
        None => std::env::temp_dir().join(format!("kube-stub-{}.kubeconfig", std::process::id())),
    };
    std::fs::write(&kubeconfig, server.kubeconfig_yaml(context, None))
        .map_err(|e| format!("{}: {e}", kubeconfig.display()))?;
    println!("url: {}", server.url());
    println!("kubeconfig: {}", kubeconfig.display());
    println!("objects: {count}");
    eprintln!(
        "kube-stub: serving; stop with Ctrl-C{}",
        if args.no_stdin {
            ""
        } else {
            " or end of input (Ctrl-D)"
        }
    );
    let stdin_eof = async {
        if args.no_stdin {
            std::future::pending::<()>().await;
        }
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 1024];
        while let Ok(n) = stdin.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = stdin_eof => {}
    }
    let requests = server.requests();
    let mut by_target: BTreeMap<String, usize> = BTreeMap::new();
    for r in &requests {
        let segs: Vec<&str> = r.path.split('/').filter(|s| !s.is_empty()).collect();
        let target = match segs.as_slice() {
            ["api", "v1", "namespaces", _, res, ..] | ["apis", _, _, "namespaces", _, res, ..] => {
                format!("{res} (namespaced)")
            }
            ["api", "v1", res, ..] | ["apis", _, _, res, ..] => res.to_string(),
            _ => r.path.clone(),
        };
        *by_target
            .entry(format!("{} {target}", r.method))
            .or_default() += 1;
    }
    println!("requests: {}", requests.len());
    for (t, n) in by_target {
        println!("  {n:6} {t}");
    }
    server.shutdown().await;
    if args.kubeconfig.is_none() {
        let _ = std::fs::remove_file(&kubeconfig);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("kube-stub: {e}");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kube-stub: {e}");
            ExitCode::FAILURE
        }
    }
}
