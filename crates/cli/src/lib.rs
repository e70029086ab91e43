//! The `rulerun` command line: the only part of rulerun that knows terminals,
//! output formats and exit codes.
//!
//! [`run`] takes the arguments and two writers, so tests drive the CLI in-process
//! exactly as a user would; [`run_in`] also takes the working folder (relative
//! paths and the search for `rulerun.yaml` start there).

mod args;
mod commands;
mod config;
mod decode;
mod escape;
mod live;
mod loading;
mod packs;
mod render;
mod report;
pub mod schemas;
mod sources;
mod testrun;
mod vendor;

use std::io::Write;

pub use args::Cli;
pub use sources::embedded_files as builtin_files;

/// Exit codes.
pub mod exit {
    /// No finding at or above `--fail-on`.
    pub const OK: i32 = 0;
    /// At least one finding at or above `--fail-on`, or a failing rule test.
    pub const FINDINGS: i32 = 1;
    /// Usage, configuration or rule errors.
    pub const USAGE: i32 = 2;
    /// No finding reached the threshold, but some rules could not decide
    /// because facts they need could not be collected.
    pub const INCONCLUSIVE: i32 = 3;
}

/// Installs the TLS crypto provider of the whole process (aws-lc-rs). kube and
/// the AWS SDK both use rustls; with more than one provider linked, rustls panics
/// at the first handshake unless one is installed. Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// How output should look, decided from the environment once.
#[derive(Clone, Copy, Debug)]
pub struct Terminal {
    /// Whether to use ANSI colours on stdout.
    pub color: bool,
    /// Whether stderr is a terminal (progress lines go there).
    pub progress: bool,
}

impl Terminal {
    /// Colour only on a TTY, and never with `NO_COLOR` set.
    pub fn detect() -> Self {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Terminal {
            color: !no_color && std::io::stdout().is_terminal(),
            progress: std::io::stderr().is_terminal(),
        }
    }
}

/// Parses `rulerun.lock` text as `rulerun pack verify` reads it and writes it
/// back as `rulerun pack vendor` would: the rewritten lock, or every error. For
/// the fuzzing harness (`crates/fuzz-targets`), which checks that a lock that
/// parses survives the round trip (feature `testing`).
#[cfg(feature = "testing")]
pub fn parse_lock_text(text: &str) -> Result<String, Vec<rulerun_core::LoadError>> {
    vendor::parse_lock(std::path::Path::new(vendor::LOCK_FILE), text).map(|l| l.to_yaml())
}

/// Runs rulerun with `args` (including the program name), writing to `out` and
/// `err`; returns the exit code.
pub fn run<I, T>(args: I, term: Terminal, out: &mut dyn Write, err: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    run_in(std::path::Path::new(""), args, term, out, err)
}

/// Runs rulerun as [`run`] does, as if started in the folder `dir`: relative
/// paths of the command line, and the search for `rulerun.yaml`, start there
/// (an empty path is the process's working folder). Paths are shown as given.
pub fn run_in<I, T>(
    dir: &std::path::Path,
    args: I,
    term: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::Parser;
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::OK
                }
                _ => exit::USAGE,
            };
            let text = if term.color {
                e.render().ansi().to_string()
            } else {
                e.render().to_string()
            };
            let target: &mut dyn Write = if code == exit::OK { out } else { err };
            let _ = write!(target, "{text}");
            return code;
        }
    };
    let ctx = config::Ctx {
        cwd: dir.to_path_buf(),
    };
    commands::dispatch(cli, &ctx, term, out, err)
}
