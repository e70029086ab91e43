//! Where a template's text is in its rule file, so that a render error names
//! the `file:line:column` of the expression that failed, not of the template.
//!
//! A template is a YAML scalar: plain, quoted (with escapes, `''` for `'`) or a
//! block (`|`, `>` folding lines into spaces). Rather than re-implementing YAML
//! scalar decoding, the template's characters are matched in order against the
//! file's text from where the scalar starts, skipping what YAML adds (quotes,
//! indentation, line breaks, escapes): each template character is found at the
//! next file character equal to it. This is exact for the usual forms and
//! degrades to the template's own start when the two drift apart.

use std::path::Path;
use std::sync::Arc;

use crate::yaml::Pos;

/// Where a template starts in its rule file.
#[derive(Clone, Debug)]
pub(super) struct Origin {
    pub file: Arc<Path>,
    pub text: Arc<str>,
    pub pos: Pos,
}

/// Characters of the file skipped in a row before the match is given up.
const MAX_SKIP: usize = 256;

impl Origin {
    /// The file position of byte `offset` of `source` (the template's text).
    pub(super) fn position(&self, source: &str, offset: usize) -> Pos {
        self.find(source, offset).unwrap_or(self.pos)
    }

    fn find(&self, source: &str, offset: usize) -> Option<Pos> {
        let text = &*self.text;
        // The byte offset of the scalar's start.
        let line_start = if self.pos.line <= 1 {
            0
        } else {
            let mut n = 1;
            let mut at = None;
            for (i, b) in text.bytes().enumerate() {
                if b == b'\n' {
                    n += 1;
                    if n == self.pos.line {
                        at = Some(i + 1);
                        break;
                    }
                }
            }
            at?
        };
        let col = usize::try_from(self.pos.column.saturating_sub(1)).ok()?;
        let start = line_start
            + text[line_start..]
                .char_indices()
                .nth(col)
                .map_or(0, |(i, _)| i);
        let mut file = text.get(start..)?.char_indices().peekable();
        let mut target = None;
        for (i, c) in source.char_indices() {
            let mut skipped = 0;
            let at = loop {
                let (j, d) = file.next()?;
                if d == c {
                    break j;
                }
                skipped += 1;
                if skipped > MAX_SKIP {
                    return None;
                }
            };
            if i >= offset {
                target = Some(start + at);
                break;
            }
        }
        let at = target?;
        let before = &text[..at];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Some(Pos {
            line: u32::try_from(line).ok()?,
            column: u32::try_from(column).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(file: &str, pos: (u32, u32), source: &str, needle: &str) -> (u32, u32) {
        let o = Origin {
            file: Arc::from(Path::new("r.yaml")),
            text: Arc::from(file),
            pos: Pos {
                line: pos.0,
                column: pos.1,
            },
        };
        let p = o.position(source, source.find(needle).unwrap());
        (p.line, p.column)
    }

    #[test]
    fn positions_follow_each_scalar_form() {
        // plain
        let f = "a:\n  message: pod {{ subject.metadata.labels.app }}\n";
        assert_eq!(
            at(
                f,
                (2, 12),
                "pod {{ subject.metadata.labels.app }}",
                "subject"
            ),
            (2, 19)
        );
        // double-quoted with an escape before
        let f = "message: \"say \\\"hi\\\" {{ x.y }}\"\n";
        assert_eq!(at(f, (1, 10), "say \"hi\" {{ x.y }}", "x.y"), (1, 25));
        // folded block: the second line
        let f = "message: >-\n  first line\n  then {{ a.b }} here\n";
        assert_eq!(
            at(f, (1, 10), "first line then {{ a.b }} here", "a.b"),
            (3, 11)
        );
        // literal block
        let f = "command: |\n    echo a\n    echo {{ b }}\n";
        assert_eq!(at(f, (1, 10), "echo a\necho {{ b }}\n", "b }}"), (3, 13));
    }
}
