//! Embeds the built-in rule packs (`rules/` at the workspace root) in the binary.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    // The manifest folder as cargo gives it when it runs this script, not as it
    // was when the script was compiled (`env!`): cargo shares one compiled build
    // script between checkouts of the workspace in different folders that use
    // one target folder (its hash of a path package leaves the folder out), and
    // `env!` would embed the first checkout's rules into every other's binary.
    let Some(manifest) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        eprintln!("error: CARGO_MANIFEST_DIR is not set: run this build script through cargo");
        std::process::exit(1);
    };
    let root = Path::new(&manifest).join("../../rules");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &mut files);
    if files.is_empty() {
        eprintln!("error: no rule files under `{}`", root.display());
        std::process::exit(1);
    }
    files.sort();
    let mut out = String::from(
        "/// Built-in rule files: (path below `rules/`, contents).\npub static BUILTIN_FILES: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let rel = f
            .strip_prefix(&root)
            .unwrap_or(f)
            .to_string_lossy()
            .replace('\\', "/");
        let abs = f.canonicalize().unwrap_or_else(|_| f.clone());
        let _ = writeln!(
            out,
            "    ({rel:?}, include_str!({:?})),",
            abs.to_string_lossy()
        );
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()))
        .join("builtin_rules.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        println!("cargo:warning=cannot write {}: {e}", dest.display());
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        println!("cargo:rerun-if-changed={}", p.display());
        if p.is_dir() {
            collect(&p, out);
        } else if matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(p);
        }
    }
}
