use std::io::Write;

fn main() {
    rulerun::install_crypto_provider();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let code = rulerun::run(
        std::env::args_os(),
        rulerun::Terminal::detect(),
        &mut out,
        &mut err,
    );
    let _ = out.flush();
    let _ = err.flush();
    std::process::exit(code);
}
