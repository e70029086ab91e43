//! Warnings: what loading finds suspicious but not wrong, such as a path that
//! names a field its fact kind cannot have (see [`crate::catalog`]). A rule with
//! warnings still loads and runs; the CLI prints them as
//! `file:line:column: warning: ...` and `--deny-warnings` makes them errors.

use std::fmt;
use std::path::PathBuf;

use crate::yaml::Pos;

/// One warning, at its `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// The file, as given by the user (or `<builtin>/...` for embedded rules).
    pub file: PathBuf,
    /// Where in the file.
    pub pos: Pos,
    /// What is suspicious.
    pub message: String,
    /// Advice.
    pub help: Option<String>,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.pos, self.message)
    }
}
