//! The CLI's own files (`pack.yaml`, `rulerun.yaml`, `rulerun.lock`) are walked
//! with the core's [`Decoder`], as rule files are; this adds what only they check.

pub use rulerun_core::decode::Decoder;

/// Whether `name` is a valid pack name: lowercase words joined by `-`, which is
/// also safe as one folder name.
pub fn is_pack_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Whether a relative path written in a pack or lock file stays inside its folder:
/// only plain components (no `..`, no `.`, no root, no drive), `/`-separated.
pub fn is_contained_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.contains(':')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}
