//! Reading a file a user gives, whole, within a limit on the bytes read.
//!
//! Every file rulerun reads whole (fact files, rule and part files, rule tests,
//! `pack.yaml`, `rulerun.yaml`, `rulerun.lock`, `rulerun query` and `rulerun iam`
//! input, CA bundles) is read through [`read_text`] or [`read_bytes`], which stop
//! one byte past the file's [`Limit`] and refuse it. The limit applies to the
//! bytes read, not to the size the file system reports: pipes, FIFOs, devices
//! (`/dev/stdin`, `/dev/zero`) and files that grow while they are read report no
//! size or a wrong one. The buffer grows by doubling up to the limit plus one
//! byte and never past it, and every allocation is fallible, so a read that
//! does not fit in memory is an error rather than an abort.

#[cfg(any(test, feature = "testing"))]
use std::cell::Cell;
use std::fmt;
use std::io::{ErrorKind, Read};
use std::path::Path;

use crate::error::{LoadError, LoadErrorKind};
use crate::yaml::Pos;

/// How much of one kind of file rulerun reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    bytes: u64,
    /// What the file holds, for messages: "facts", "rules", ...
    of: &'static str,
}

impl Limit {
    /// Fact files (`--facts`, rule-test fixtures, `rulerun query` input): 2 GiB.
    /// A 50,000-pod cluster as `kubectl get -o json` prints it is about 1 GiB.
    pub const FACTS: Limit = Limit {
        bytes: 2 << 30,
        of: "facts",
    };
    /// Rule, part and rule-test files: 64 MiB (the YAML parser's own budget of
    /// nodes stops far earlier).
    pub const RULES: Limit = Limit {
        bytes: 64 << 20,
        of: "rules",
    };
    /// `pack.yaml`, `rulerun.yaml` and `rulerun.lock`: 16 MiB.
    pub const CONFIG: Limit = Limit {
        bytes: 16 << 20,
        of: "configuration",
    };
    /// Files of a vendored pack, hashed by `rulerun pack verify`: 64 MiB, what a
    /// whole pack may hold.
    pub const PACK_FILE: Limit = Limit {
        bytes: 64 << 20,
        of: "pack file",
    };
    /// `rulerun iam eval` and `iam fix` input: 64 MiB.
    pub const IAM_INPUT: Limit = Limit {
        bytes: 64 << 20,
        of: "input",
    };
    /// CA bundles (`--ca-bundle`, `AWS_CA_BUNDLE`): 16 MiB.
    pub const CERTIFICATES: Limit = Limit {
        bytes: 16 << 20,
        of: "certificates",
    };

    /// The most bytes read (lowered on this thread by `with_test_limits`, a
    /// hook of the feature `testing`).
    pub fn bytes(&self) -> u64 {
        #[cfg(any(test, feature = "testing"))]
        if let Some(b) = LOWERED_BYTES.with(Cell::get) {
            return b.min(self.bytes);
        }
        self.bytes
    }

    /// What such files hold: "facts", "rules", ...
    pub fn of(&self) -> &'static str {
        self.of
    }

    /// The error for a file past this limit.
    pub fn too_large(&self) -> ReadError {
        ReadError::TooLarge {
            bytes: self.bytes(),
            of: self.of,
        }
    }
}

#[cfg(any(test, feature = "testing"))]
thread_local! {
    static LOWERED_BYTES: Cell<Option<u64>> = const { Cell::new(None) };
    static LOWERED_VALUES: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Runs `f` with every [`Limit`] lowered to at most `bytes`, and the JSON value
/// budget ([`crate::json::MAX_VALUES`]) to at most `values`, on this thread
/// only. For tests, which cannot stream gigabytes (feature `testing`).
#[cfg(any(test, feature = "testing"))]
pub fn with_test_limits<R>(bytes: u64, values: u64, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u64>, Option<u64>);
    impl Drop for Restore {
        fn drop(&mut self) {
            LOWERED_BYTES.with(|c| c.set(self.0));
            LOWERED_VALUES.with(|c| c.set(self.1));
        }
    }
    let _restore = Restore(
        LOWERED_BYTES.with(|c| c.replace(Some(bytes))),
        LOWERED_VALUES.with(|c| c.replace(Some(values))),
    );
    f()
}

/// The JSON value budget, lowered on this thread by `with_test_limits`.
pub(crate) fn values_limit(limit: u64) -> u64 {
    #[cfg(any(test, feature = "testing"))]
    if let Some(v) = LOWERED_VALUES.with(Cell::get) {
        return v.min(limit);
    }
    limit
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The operating system's error (no such file, permission denied, out of memory, ...).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// More bytes than the limit: reading stopped one byte past it.
    #[error("more than {} of {of}; rulerun reads at most that much from one file", Size(*.bytes))]
    TooLarge {
        /// The limit in bytes.
        bytes: u64,
        /// What the file holds: "facts", "rules", ...
        of: &'static str,
    },
    /// The file is not UTF-8 text.
    #[error("not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
}

impl ReadError {
    /// Advice on what to do instead.
    pub fn help(&self) -> Option<String> {
        match self {
            ReadError::Io(_) => None,
            ReadError::TooLarge { of: "facts", .. } => Some(
                "split the facts into several files in a folder and pass `--facts FOLDER`".into(),
            ),
            ReadError::TooLarge { .. } => None,
            ReadError::NotUtf8 { .. } => Some("rulerun reads JSON and YAML in UTF-8".into()),
        }
    }

    /// As a [`LoadError`] of `file` (not at any line).
    pub fn load_error(self, file: &Path) -> LoadError {
        let kind = match self {
            ReadError::Io(e) => LoadErrorKind::Io(e.to_string()),
            other => LoadErrorKind::Other {
                help: other.help(),
                message: other.to_string(),
            },
        };
        LoadError::new(file, Pos::default(), kind)
    }

    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == ErrorKind::NotFound)
    }
}

impl From<ReadError> for std::io::Error {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Io(e) => e,
            other => std::io::Error::new(ErrorKind::InvalidData, other.to_string()),
        }
    }
}

/// A byte count for messages: `2 GiB`, `64 MiB`, `1 KiB`, `100 bytes`.
struct Size(u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
            if n >= 1 << shift && n.is_multiple_of(1 << shift) {
                return write!(f, "{} {unit}", n >> shift);
            }
        }
        write!(f, "{n} bytes")
    }
}

/// Reads the file at `path` as UTF-8 text, at most `limit` bytes.
pub fn read_text(path: &Path, limit: Limit) -> Result<String, ReadError> {
    into_text(read_bytes(path, limit)?)
}

/// Reads the file at `path`, at most `limit` bytes. Opening a FIFO waits for a
/// writer, as `cat` does.
pub fn read_bytes(path: &Path, limit: Limit) -> Result<Vec<u8>, ReadError> {
    let file = std::fs::File::open(path)?;
    // Only a regular file's size is a useful first guess; it may still grow.
    let hint = file
        .metadata()
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len());
    if hint.is_some_and(|n| n > limit.bytes()) {
        return Err(limit.too_large());
    }
    read_bytes_from(file, limit, hint)
}

/// Reads `reader` to its end as UTF-8 text, at most `limit` bytes.
pub fn read_text_from(reader: impl Read, limit: Limit) -> Result<String, ReadError> {
    into_text(read_bytes_from(reader, limit, None)?)
}

fn into_text(bytes: Vec<u8>) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })
}

/// Reads `reader` to its end, at most `limit` bytes; `size_hint` is the size the
/// file system reports, if any, used only to size the first allocation.
pub fn read_bytes_from(
    mut reader: impl Read,
    limit: Limit,
    size_hint: Option<u64>,
) -> Result<Vec<u8>, ReadError> {
    let max = limit.bytes();
    // One byte past the limit tells a file of exactly `max` bytes from a longer one.
    let cap = usize::try_from(max.saturating_add(1)).unwrap_or(usize::MAX);
    const FIRST: usize = 64 << 10;
    let first = size_hint
        .and_then(|n| usize::try_from(n.saturating_add(1)).ok())
        .unwrap_or(FIRST)
        .clamp(1, cap);
    let mut buf: Vec<u8> = Vec::new();
    grow_to(&mut buf, first)?;
    // `buf[..filled]` is what was read; `buf[filled..]` is zeroed room.
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            if filled >= cap {
                return Err(limit.too_large());
            }
            let next = filled.saturating_mul(2).max(FIRST).min(cap);
            grow_to(&mut buf, next)?;
        }
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// Grows `buf` (zero-filled) to `len` bytes, failing instead of aborting when
/// memory runs out.
fn grow_to(buf: &mut Vec<u8>, len: usize) -> Result<(), ReadError> {
    buf.try_reserve_exact(len.saturating_sub(buf.len()))
        .map_err(|_| std::io::Error::new(ErrorKind::OutOfMemory, "out of memory"))?;
    buf.resize(len, 0);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_stop_one_byte_past_the_limit() {
        // An endless reader (as `/dev/zero` or a pipe that never closes).
        let e = with_test_limits(1000, u64::MAX, || {
            read_bytes_from(std::io::repeat(b' '), Limit::FACTS, None).unwrap_err()
        });
        assert_eq!(
            e.to_string(),
            "more than 1000 bytes of facts; rulerun reads at most that much from one file"
        );
        // A reported size that is wrong does not matter.
        let e = with_test_limits(1 << 20, u64::MAX, || {
            read_bytes_from(std::io::repeat(0), Limit::RULES, Some(10)).unwrap_err()
        });
        assert_eq!(
            e.to_string(),
            "more than 1 MiB of rules; rulerun reads at most that much from one file"
        );
        // Exactly the limit is fine, and so is an empty input.
        let got = with_test_limits(1000, u64::MAX, || {
            read_bytes_from(std::io::repeat(b'x').take(1000), Limit::FACTS, None).unwrap()
        });
        assert_eq!(got.len(), 1000);
        assert!(
            read_text_from(std::io::empty(), Limit::FACTS)
                .unwrap()
                .is_empty()
        );
        // Outside `with_test_limits` the real limits apply again.
        assert_eq!(Limit::FACTS.bytes(), 2 << 30);
        assert_eq!(Size(2 << 30).to_string(), "2 GiB");
    }

    #[test]
    fn a_reader_in_small_pieces_is_read_whole() {
        struct Trickle(usize);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Ok(0);
                }
                if self.0.is_multiple_of(7) {
                    self.0 -= 1;
                    return Err(ErrorKind::Interrupted.into());
                }
                self.0 -= 1;
                buf[0] = b'a';
                Ok(1)
            }
        }
        let text = read_text_from(Trickle(200_000), Limit::FACTS).unwrap();
        assert_eq!(text.len(), 200_000 - 200_000 / 7);
        let e = read_text_from(&b"ab\xffc"[..], Limit::FACTS).unwrap_err();
        assert_eq!(e.to_string(), "not UTF-8 text (invalid byte at offset 2)");
    }
}
