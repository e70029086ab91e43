//! Templates for messages, evidence and fix commands (minijinja).
//!
//! Every template is compiled once, when its rule loads, into one of two
//! environments:
//!
//! * **plain** for messages, descriptions and the elements of an `argv` fix (each
//!   element is rendered alone, then shell-quoted as a whole by [`shell_join`]);
//! * **shell** for a fix given as one `command` string. Its formatter shell-quotes
//!   *every* interpolated value at the moment it is written, ignoring minijinja's
//!   "safe" marks, and the `safe`/`escape` filters are removed. Quoting therefore
//!   happens last, after any `trim`, `replace` or slicing, and cannot be undone by
//!   them: a value can only ever become one shell word. The template's own shell
//!   text is lexed at load ([`shell`]): a value may stand only in a plain word that
//!   is an argument of a simple command (not in quotes, substitutions, arithmetic,
//!   here-documents, comments, not the command word, not for `eval`, `sh -c`, ...),
//!   and the rendered command is lexed again to refuse a value that would be read
//!   as an option. A value holding a NUL is a render error in both environments'
//!   commands (argv elements are checked by the engine).
//!
//! **Placeholders.** A fix value the user must supply is written
//! `{{ placeholder("TAG") }}` (declared on the fix step). The function returns a
//! [`Placeholder`] object; both formatters write it between
//! [`PLACEHOLDER_START`] and [`PLACEHOLDER_END`] (Unicode noncharacters, which
//! no template source may hold and which the plain formatter takes out of every
//! other value), so that the engine knows exactly where each placeholder stands
//! and prints it as a bare `<TAG>`, never quoted: pasted unedited, bash reads it
//! as a redirection from a file named `TAG` and runs nothing.
//!
//! Both environments use semi-strict undefined behaviour (printing or iterating a
//! missing attribute is an error, not an empty string; testing it with `if` is
//! allowed and false), a fuel limit against runaway loops, a cap on the
//! rendered size, and bounds on every value a template builds, checked where it
//! is built: the source is instrumented when it compiles ([`budget`]). Variables
//! a template names must exist in the rule's scope; that is checked at load time.

use std::collections::BTreeSet;
use std::io;
use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

mod budget;
mod origin;
mod shell;
pub use budget::{MAX_CHECK_WORK, MAX_NESTING, MAX_VALUE};
pub(crate) use shell::{check_argument, check_aws_argument, is_aws_cli, shell_join_marked};

/// What an `argv` element's template says of the argument it renders.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ArgumentLead {
    /// It begins with a literal `-`: the rule writes an option there, so a value
    /// may follow it (`--flag={{ x }}`).
    pub option: bool,
    /// It is exactly the literal `--`.
    pub dashdash: bool,
    /// It holds no interpolation: the rule's own text.
    pub literal: bool,
}
pub use shell::{ArgumentError, needs_escape, shell_join, shell_quote, shell_unquote};

/// Instructions one render may execute.
pub const FUEL: u64 = 100_000;
/// Bytes one render may produce.
pub const MAX_OUTPUT: usize = 256 * 1024;

/// Names available in every template besides the rule's scope.
const BUILTIN_GLOBALS: &[&str] = &[
    "range",
    "dict",
    "namespace",
    "debug",
    "loop",
    "self",
    PLACEHOLDER_FUNCTION,
];

/// The template function that writes a placeholder: `{{ placeholder("TAG") }}`.
pub const PLACEHOLDER_FUNCTION: &str = "placeholder";
/// The longest placeholder name.
pub const MAX_PLACEHOLDER_NAME: usize = 64;
/// Marks the start of a placeholder's name in a render's raw output (a Unicode
/// noncharacter: reserved for internal use, refused in template sources).
pub(crate) const PLACEHOLDER_START: char = '\u{FDD0}';
/// Marks the end of a placeholder's name in a render's raw output.
pub(crate) const PLACEHOLDER_END: char = '\u{FDD1}';

/// Whether `name` is a placeholder name: `[A-Z][A-Z0-9_]*`, at most
/// [`MAX_PLACEHOLDER_NAME`] characters, so that `<NAME>` needs no quoting
/// thought: bash reads it as a redirection and refuses to run the command.
pub fn is_placeholder_name(name: &str) -> bool {
    name.len() <= MAX_PLACEHOLDER_NAME
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A placeholder where a template writes `{{ placeholder("NAME") }}`.
#[derive(Debug)]
struct Placeholder(String);

impl Object for Placeholder {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

/// A placeholder a template writes, and where (the byte offset of its `{{`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaceholderUse {
    /// The name.
    pub name: String,
    /// The byte offset of its `{{` in the template source.
    pub offset: usize,
}

/// A piece of rendered text: literal text, or a placeholder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    /// Text.
    Text(&'a str),
    /// A placeholder's name.
    Placeholder(&'a str),
}

/// Splits rendered text at its placeholder marks.
pub(crate) fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(PLACEHOLDER_START) {
        let after = &rest[start + PLACEHOLDER_START.len_utf8()..];
        let Some(len) = after.find(PLACEHOLDER_END) else {
            break;
        };
        if start > 0 {
            out.push(Segment::Text(&rest[..start]));
        }
        out.push(Segment::Placeholder(&after[..len]));
        rest = &after[len + PLACEHOLDER_END.len_utf8()..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest));
    }
    out
}

/// Text from a value, its placeholder marks made U+FFFD: a value cannot pose
/// as a placeholder.
pub(crate) fn unmark(text: &str) -> String {
    text.replace([PLACEHOLDER_START, PLACEHOLDER_END], "\u{FFFD}")
}

/// Rendered text with each placeholder written `<NAME>`.
pub(crate) fn show_placeholders(text: &str) -> String {
    if !text.contains(PLACEHOLDER_START) {
        return text.to_string();
    }
    segments(text)
        .into_iter()
        .map(|s| match s {
            Segment::Text(t) => t.to_string(),
            Segment::Placeholder(p) => format!("<{p}>"),
        })
        .collect()
}

/// Which environment a template renders in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Plain text (messages, descriptions, argv elements).
    Plain,
    /// A whole shell command: every interpolated value is shell-quoted.
    Shell,
}

/// A handle to a compiled template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplateId {
    mode: Mode,
    index: usize,
}

/// Why a template failed to compile or to render.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    /// Syntax error at load.
    #[error("{0}")]
    Syntax(String),
    /// A variable not in scope.
    #[error("template uses undefined variable `{0}`")]
    Undefined(String),
    /// A value undefined while rendering: the expression and where it is.
    #[error("{0}")]
    UndefinedAt(String),
    /// A shell template that would defeat its own quoting.
    #[error("{0}")]
    Unsafe(String),
    /// An error while rendering (missing attribute, out of fuel, too large, ...).
    #[error("template failed: {0}")]
    Render(String),
    /// A rendered shell command that puts a value where it would not be an
    /// inert argument (a value read as an option).
    #[error("{0}")]
    Command(String),
}

/// The compiled templates of a rule set.
pub struct Templates {
    plain: Environment<'static>,
    shell: Environment<'static>,
    count: usize,
    function_names: BTreeSet<String>,
    /// By template index: the variables the template reads
    /// (`undeclared_variables(false)`), sorted.
    variables: Vec<Box<[String]>>,
    /// By template index: the source, for field projection's analysis.
    sources: Vec<Box<str>>,
    /// By template index: the placeholders the template writes.
    placeholders: Vec<Box<[PlaceholderUse]>>,
    /// Rule files' texts, by path, for [`Templates::set_origin`].
    files: std::collections::HashMap<std::path::PathBuf, Arc<str>>,
    /// By template index: where the template is in its rule file.
    origins: Vec<Option<origin::Origin>>,
}

/// The scope names a group of templates (a rule's) reads, so that a template
/// context needs to hold only those.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Variables {
    /// Every name: a template calls `debug()`, which prints the whole context
    /// (and the default, for rules not built by the loader).
    #[default]
    All,
    /// Only these names.
    Only(BTreeSet<String>),
}

impl Variables {
    /// Whether a context must hold `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        match self {
            Variables::All => true,
            Variables::Only(names) => names.contains(name),
        }
    }
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("count", &self.count)
            .finish()
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    /// Creates both environments, with the function registry available as template
    /// functions (`{{ image_ref(x).repository }}`).
    pub fn new() -> Self {
        let mut plain = base_env();
        let mut shell = base_env();
        plain.set_formatter(|out, state, value| {
            if let Some(p) = value.downcast_object_ref::<Placeholder>() {
                let word = format!("{PLACEHOLDER_START}{}{PLACEHOLDER_END}", p.0);
                return out.write_str(&word).map_err(|_| {
                    minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write")
                });
            }
            // A value cannot pose as a placeholder: the marks are taken out.
            let marked = |s: &str| s.contains([PLACEHOLDER_START, PLACEHOLDER_END]);
            let text = match value.as_str() {
                Some(s) if marked(s) => Some(s.to_string()),
                Some(_) => None,
                None if value.as_object().is_some() => {
                    let mut buf = String::new();
                    let mut o = minijinja::machinery::make_string_output(&mut buf);
                    minijinja::escape_formatter(&mut o, state, value)?;
                    marked(&buf).then_some(buf)
                }
                None => None,
            };
            match text {
                Some(t) => out
                    .write_str(&t.replace([PLACEHOLDER_START, PLACEHOLDER_END], "\u{FFFD}"))
                    .map_err(|_| {
                        minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write")
                    }),
                None => minijinja::escape_formatter(out, state, value),
            }
        });
        shell.set_auto_escape_callback(|_| AutoEscape::Custom("shell".into()));
        shell.set_formatter(|out, _state, value| {
            if let Some(p) = value.downcast_object_ref::<Placeholder>() {
                // Outside the value marks: `finish` lexes it as a value and
                // writes it bare.
                let word = format!("{PLACEHOLDER_START}{}{PLACEHOLDER_END}", p.0);
                return out.write_str(&word).map_err(|_| {
                    minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write")
                });
            }
            let text = if value.is_none() {
                String::new()
            } else {
                value.to_string()
            };
            if text.contains('\0') {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    ArgumentError::Nul(shell::escape_for_message(&text)).to_string(),
                ));
            }
            // Marked, so that `render` can check where each value landed.
            let mut word = String::with_capacity(text.len() + 4);
            word.push(shell::VALUE_START);
            word.push_str(&shell_quote(&text));
            word.push(shell::VALUE_END);
            out.write_str(&word)
                .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write"))
        });
        for name in ["safe", "escape", "e"] {
            shell.remove_filter(name);
        }
        let placeholder = |name: &str| -> Result<Value, minijinja::Error> {
            if !is_placeholder_name(name) {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("`{name}` is not a placeholder name"),
                ));
            }
            Ok(Value::from_object(Placeholder(name.to_string())))
        };
        plain.add_function(PLACEHOLDER_FUNCTION, placeholder);
        shell.add_function(PLACEHOLDER_FUNCTION, placeholder);
        let mut function_names = BTreeSet::new();
        for f in crate::func::all() {
            function_names.insert(f.name.to_string());
            let call = f.call;
            let name = f.name;
            let make = move |args: &[Value]| -> Result<Value, minijinja::Error> {
                let json: Vec<serde_json::Value> = args
                    .iter()
                    .map(|a| serde_json::to_value(a).unwrap_or(serde_json::Value::Null))
                    .collect();
                match call(&json) {
                    Ok(v) => Ok(to_value(&v)),
                    Err(e) => Err(minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("{name}: {e}"),
                    )),
                }
            };
            plain.add_function(name, make);
            shell.add_function(name, make);
        }
        Templates {
            plain,
            shell,
            count: 0,
            function_names,
            variables: Vec::new(),
            sources: Vec::new(),
            placeholders: Vec::new(),
            files: Default::default(),
            origins: Vec::new(),
        }
    }

    /// Keeps a rule file's text, so that templates compiled from it can name
    /// the position of a failing expression in it.
    pub(crate) fn add_file(&mut self, path: &std::path::Path, text: &str) {
        self.files
            .entry(path.to_path_buf())
            .or_insert_with(|| Arc::from(text));
    }

    /// Records where a compiled template starts: a scalar at `pos` of `file`
    /// (one given to [`Templates::add_file`]).
    pub(crate) fn set_origin(
        &mut self,
        id: TemplateId,
        file: &std::path::Path,
        pos: crate::yaml::Pos,
    ) {
        let Some((path, text)) = self.files.get_key_value(file) else {
            return;
        };
        let origin = origin::Origin {
            file: Arc::from(path.as_path()),
            text: text.clone(),
            pos,
        };
        if self.origins.len() <= id.index {
            self.origins.resize_with(id.index + 1, || None);
        }
        if let Some(slot) = self.origins.get_mut(id.index) {
            *slot = Some(origin);
        }
    }

    /// The message of a render error: for an undefined value, the expression
    /// and its `file:line:column` (`` `subject.metadata.labels` is undefined at
    /// `rule.yaml:34:12` ``); otherwise minijinja's description.
    fn render_error(&self, id: TemplateId, e: &minijinja::Error) -> TemplateError {
        if e.kind() != minijinja::ErrorKind::UndefinedError {
            return TemplateError::Render(describe(e));
        }
        let source = self.sources.get(id.index).map_or("", |s| &**s);
        // minijinja names the expression: "`a.b` is undefined"
        let expr = e
            .detail()
            .and_then(|d| d.split('`').nth(1))
            .filter(|x| !x.is_empty() && !x.contains(budget::RESERVED));
        // Instrumentation inserts text but no line breaks: the line is the
        // source's, and the offset in it at most the instrumented one.
        let line = e.line().unwrap_or(1);
        let line_start: usize = source
            .split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .sum();
        let line_text = source[line_start..].split('\n').next().unwrap_or("");
        let limit = e.range().map_or(usize::MAX, |r| r.end);
        let offset = match expr {
            Some(x) => line_text
                .match_indices(x)
                .map(|(i, _)| line_start + i)
                .filter(|i| *i <= limit)
                .last()
                .or_else(|| line_text.find(x).map(|i| line_start + i)),
            None => None,
        };
        let what = match expr {
            Some(x) => format!("`{x}` is undefined"),
            None => "a value is undefined".to_string(),
        };
        let origin = self.origins.get(id.index).and_then(Option::as_ref);
        let at = match (origin, offset) {
            (Some(o), Some(off)) => {
                format!("`{}:{}`", o.file.display(), o.position(source, off))
            }
            (Some(o), None) => format!("`{}:{}` (template line {line})", o.file.display(), o.pos),
            (None, Some(off)) => {
                let (l, c) = shell::line_col(source, off);
                format!("template line {l}, column {c}")
            }
            (None, None) => format!("template line {line}"),
        };
        TemplateError::UndefinedAt(format!("{what} at {at}"))
    }

    /// Compiles `source`; every variable it reads must be one of `scope`.
    pub fn compile(
        &mut self,
        source: &str,
        mode: Mode,
        scope: &[String],
    ) -> Result<TemplateId, TemplateError> {
        if let Some(i) = source.find([PLACEHOLDER_START, PLACEHOLDER_END]) {
            let line = source[..i].matches('\n').count() + 1;
            return Err(TemplateError::Syntax(format!(
                "the characters U+FDD0 and U+FDD1 are reserved (template line {line})"
            )));
        }
        let placeholders = placeholder_uses(source).map_err(TemplateError::Syntax)?;
        if mode == Mode::Shell {
            shell::check_source(source).map_err(TemplateError::Unsafe)?;
        }
        let index = self.count;
        let name = index.to_string();
        let env = match mode {
            Mode::Plain => &mut self.plain,
            Mode::Shell => &mut self.shell,
        };
        // Every expression that builds a value is wrapped in a size check.
        let instrumented = budget::instrument(source)
            .map_err(TemplateError::Syntax)?
            .unwrap_or_else(|| source.to_string());
        env.add_template_owned(name.clone(), instrumented)
            .map_err(|e| TemplateError::Syntax(describe(&e)))?;
        let template = env
            .get_template(&name)
            .map_err(|e| TemplateError::Syntax(describe(&e)))?;
        let mut undeclared: Vec<String> = template
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| !v.starts_with(budget::RESERVED))
            .collect();
        undeclared.sort();
        for var in &undeclared {
            let known = scope.contains(var)
                || BUILTIN_GLOBALS.contains(&var.as_str())
                || self.function_names.contains(var);
            if !known {
                return Err(TemplateError::Undefined(var.clone()));
            }
        }
        // minijinja's `undeclared_variables` does not look inside the value of a
        // slice (`(a ~ b)[:64]` reads `a` and `b`, yet neither is reported), so a
        // name read only there would be missing from the context the engine
        // builds, and rendering would fail. A template that may slice reads, as
        // far as the context is concerned, every name in scope.
        if may_slice(source) {
            for name in scope {
                if !undeclared.contains(name) {
                    undeclared.push(name.clone());
                }
            }
            undeclared.sort();
        }
        self.count += 1;
        // A failed compile does not take an index, so this is `variables[index]`.
        self.variables.resize_with(index, Default::default);
        self.variables.push(undeclared.into_boxed_slice());
        self.sources.resize_with(index, Default::default);
        self.sources.push(source.into());
        self.placeholders.resize_with(index, Default::default);
        self.placeholders.push(placeholders.into_boxed_slice());
        Ok(TemplateId { mode, index })
    }

    /// The names `source` reads (`undeclared_variables(false)`), without
    /// compiling it into the set; `None` when it does not parse (compiling it
    /// reports the error).
    pub(crate) fn reads(source: &str) -> Option<Vec<String>> {
        let env = Environment::new();
        let template = env.template_from_str(source).ok()?;
        let mut vars: Vec<String> = template.undeclared_variables(false).into_iter().collect();
        vars.sort();
        Some(vars)
    }

    /// The source of a compiled template.
    pub(crate) fn source_of(&self, id: TemplateId) -> &str {
        self.sources.get(id.index).map_or("", |s| &**s)
    }

    /// The placeholders a compiled template writes, in order.
    pub fn placeholders(&self, id: TemplateId) -> &[PlaceholderUse] {
        self.placeholders.get(id.index).map_or(&[], |p| &**p)
    }

    /// Renders a `command` template: the command, and the byte ranges of the
    /// placeholders in it (`<NAME>`, bare), in order.
    pub(crate) fn render_command(
        &self,
        id: TemplateId,
        ctx: &Value,
    ) -> Result<shell::Finished, TemplateError> {
        let text = self.render_raw(id, ctx)?;
        match id.mode {
            Mode::Shell => shell::finish(&text).map_err(TemplateError::Command),
            Mode::Plain => Ok((show_placeholders(&text), Vec::new())),
        }
    }

    /// Renders a plain template keeping its placeholder marks (an `argv`
    /// element: the engine quotes the text around them).
    pub(crate) fn render_marked(
        &self,
        id: TemplateId,
        ctx: &Value,
    ) -> Result<String, TemplateError> {
        self.render_raw(id, ctx)
    }

    /// The source of the template compiled as number `index`, and the names it
    /// reads (`undeclared_variables(false)`).
    pub(crate) fn source(&self, index: usize) -> Option<(&str, &[String])> {
        Some((self.sources.get(index)?, self.variables.get(index)?))
    }

    /// The names a compiled template reads (every name in scope for one that
    /// may slice; see [`Templates::compile`]).
    pub(crate) fn variables_of(&self, id: TemplateId) -> Option<&[String]> {
        self.variables.get(id.index).map(|v| &**v)
    }

    /// The number of templates compiled so far: pass it to
    /// [`Templates::variables_since`] to get the names the templates compiled
    /// after it read.
    pub(crate) fn mark(&self) -> usize {
        self.count
    }

    /// The scope names that the templates compiled since `mark` read.
    pub(crate) fn variables_since(&self, mark: usize) -> Variables {
        let mut names = BTreeSet::new();
        for vars in self.variables.iter().skip(mark) {
            for var in vars.iter() {
                if var == "debug" {
                    return Variables::All;
                }
                names.insert(var.clone());
            }
        }
        Variables::Only(names)
    }

    /// Renders a compiled template with `ctx` (a map of scope names to values).
    /// Placeholders are written `<NAME>`.
    pub fn render(&self, id: TemplateId, ctx: &Value) -> Result<String, TemplateError> {
        let text = self.render_raw(id, ctx)?;
        match id.mode {
            Mode::Plain => Ok(show_placeholders(&text)),
            Mode::Shell => shell::finish(&text)
                .map(|(command, _)| command)
                .map_err(TemplateError::Command),
        }
    }

    /// Renders with the marks of values (shell) and placeholders in place.
    fn render_raw(&self, id: TemplateId, ctx: &Value) -> Result<String, TemplateError> {
        let env = match id.mode {
            Mode::Plain => &self.plain,
            Mode::Shell => &self.shell,
        };
        let template = env
            .get_template(&id.index.to_string())
            .map_err(|e| TemplateError::Render(describe(&e)))?;
        let mut sink = CappedBuffer::default();
        budget::start_render();
        template
            .render_captured_to(ctx.clone(), &mut sink)
            .map_err(|e| {
                if sink.overflowed {
                    TemplateError::Render(format!("output exceeds {MAX_OUTPUT} bytes"))
                } else {
                    self.render_error(id, &e)
                }
            })?;
        String::from_utf8(sink.buf).map_err(|e| TemplateError::Render(e.to_string()))
    }

    /// What an `argv` element's template says of the argument it renders.
    pub(crate) fn argument_lead(&self, id: TemplateId) -> ArgumentLead {
        let source = self.sources.get(id.index).map_or("", |s| &**s);
        ArgumentLead {
            option: source.starts_with('-'),
            dashdash: source == "--",
            literal: !(source.contains("{{") || source.contains("{%")),
        }
    }
}

/// The placeholders a template source writes. Each must be written alone,
/// `{{ placeholder("NAME") }}` with a literal name, outside any `{% %}` block,
/// so that it is always in the output and never altered by a filter.
fn placeholder_uses(source: &str) -> Result<Vec<PlaceholderUse>, String> {
    use minijinja::machinery::Token;
    use minijinja::machinery::ast::{CallArg, Expr, Stmt};

    // The tokens up to the first error: minijinja's tokenizer does not advance
    // past an error and yields it again without end. A template it refuses
    // fails to compile after this with minijinja's own error.
    let mentions = minijinja::machinery::tokenize(source, false, Default::default())
        .map_while(Result::ok)
        .filter(|t| matches!(t, (Token::Ident(PLACEHOLDER_FUNCTION), _)))
        .count();
    if mentions == 0 {
        return Ok(Vec::new());
    }
    let Ok(Stmt::Template(t)) = minijinja::machinery::parse(source, "template", Default::default())
    else {
        // minijinja reports the syntax error when the template compiles
        return Ok(Vec::new());
    };
    let mut uses = Vec::new();
    for child in &t.children {
        let Stmt::EmitExpr(e) = child else { continue };
        let Expr::Call(call) = &e.expr else { continue };
        let Expr::Var(v) = &call.expr else { continue };
        if v.id != PLACEHOLDER_FUNCTION {
            continue;
        }
        let start = e.span().start_offset as usize;
        let open = source
            .get(..start)
            .and_then(|s| s.rfind("{{"))
            .unwrap_or(start);
        let (line, col) = shell::line_col(source, open);
        let name = match call.args.as_slice() {
            [CallArg::Pos(Expr::Const(c))] => c.value.as_str().map(str::to_string),
            _ => None,
        };
        let Some(name) = name else {
            return Err(format!(
                "`placeholder` takes one name in quotes, `{{{{ placeholder(\"TAG\") }}}}` (template line {line}, column {col})"
            ));
        };
        if !is_placeholder_name(&name) {
            return Err(format!(
                "invalid placeholder name `{name}` (template line {line}, column {col}): names are `[A-Z][A-Z0-9_]*`, at most {MAX_PLACEHOLDER_NAME} characters, e.g. `TAG` or `ROLE_ARN`"
            ));
        }
        uses.push(PlaceholderUse { name, offset: open });
    }
    if uses.len() != mentions {
        return Err(
            "a placeholder is written alone, `{{ placeholder(\"TAG\") }}`, not inside another expression, a filter or a `{% %}` block: it must reach the command as it is"
                .into(),
        );
    }
    Ok(uses)
}

fn base_env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    // Debug mode makes minijinja name the undefined expression (`a.b`) and
    // keep spans: a render error then points at it in the rule file.
    env.set_debug(true);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(64);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    budget::install(&mut env);
    env
}

fn describe(e: &minijinja::Error) -> String {
    let mut msg = e
        .detail()
        .map_or_else(|| e.kind().to_string(), str::to_string);
    if let Some(line) = e.line() {
        msg.push_str(&format!(" (template line {line})"));
    }
    msg
}

#[derive(Default)]
struct CappedBuffer {
    buf: Vec<u8>,
    overflowed: bool,
}

impl io::Write for CappedBuffer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT {
            self.overflowed = true;
            return Err(io::Error::other("template output cap reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Converts anything serializable (fact documents, function results) into a
/// template value.
pub fn to_value<T: serde::Serialize>(v: T) -> Value {
    Value::from(minijinja::value::Serde(v))
}

/// Whether a template may hold a slice (`x[1:]`, `(a ~ b)[:64]`): a `:` between a
/// `[` and the next `]`. Over-approximate (a `[` ... `:` in a string counts too).
fn may_slice(source: &str) -> bool {
    let mut rest = source;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let inside = rest.find(']').map_or(rest, |close| &rest[..close]);
        if inside.contains(':') {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn placeholder_scan_ends_on_templates_the_lexer_refuses() {
        // minijinja's tokenizer yields the same error again and again once it
        // fails (it does not advance): counting its tokens never ended (found by
        // the fuzz soak). Each of these must return.
        for source in [
            "{% if",
            "{{ 'unterminated",
            "{{ placeholder(\"TAG\") }}{% raw %}",
            "{#",
            "x {{ 1 ~ }} {{ placeholder(\"A\") }}",
            "{{ \"\\u{zz}\" }}",
            "{%- endraw %}{{",
            // The soak's input: a NUL inside a block.
            "{% for x in items recursive \u{0}${{ loop(}item[) }}{% endfor %}",
        ] {
            let _ = placeholder_uses(source);
        }
    }

    fn scope() -> Vec<String> {
        vec!["subject".into(), "x".into()]
    }

    #[test]
    fn quoting_leaves_plain_words_bare() {
        assert_eq!(shell_quote("kubectl"), "kubectl");
        assert_eq!(
            shell_quote("deployment/ui-private"),
            "deployment/ui-private"
        );
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$(id)"), "'$(id)'");
    }

    #[test]
    fn names_read_only_inside_a_slice_reach_the_context() {
        let mut t = Templates::new();
        let scope: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let mark = t.mark();
        let id = t
            .compile("{{ ('x-' ~ a ~ '-' ~ b)[:5] }}", Mode::Plain, &scope)
            .unwrap();
        assert_eq!(
            t.variables_since(mark),
            Variables::Only(scope.iter().cloned().collect())
        );
        let ctx = to_value(serde_json::json!({"a": "abc", "b": "def", "c": 1}));
        assert_eq!(t.render(id, &ctx).unwrap(), "x-abc");
        // Without a slice, only the names read.
        let mark = t.mark();
        t.compile("{{ a ~ b }}", Mode::Plain, &scope).unwrap();
        assert_eq!(
            t.variables_since(mark),
            Variables::Only(["a", "b"].iter().map(|s| s.to_string()).collect())
        );
        assert!(may_slice("{{ x[1:] }}"));
        assert!(!may_slice("{{ x[1] }} {{ {'a': 1} }}"));
    }

    #[test]
    fn shell_templates_quote_every_value_even_after_filters() {
        let mut t = Templates::new();
        let id = t
            .compile(
                "echo {{ x }} {{ x|trim }} {{ x[1:] }} {{ x|replace(\"'\", \"\") }}",
                Mode::Shell,
                &scope(),
            )
            .unwrap();
        let ctx = to_value(serde_json::json!({"x": "'; rm -rf / #"}));
        let out = t.render(id, &ctx).unwrap();
        assert_eq!(
            out,
            "echo ''\\''; rm -rf / #' ''\\''; rm -rf / #' '; rm -rf / #' '; rm -rf / #'"
        );
    }

    #[test]
    fn safe_filter_is_not_available_in_shell_templates() {
        let mut t = Templates::new();
        let err = t
            .compile("echo {{ x|safe }}", Mode::Shell, &scope())
            .unwrap_err();
        assert!(err.to_string().contains("`safe` filter"), "{err}");
        let err = t
            .compile("echo {{ x | e }}", Mode::Shell, &scope())
            .unwrap_err();
        assert!(err.to_string().contains("`e` filter"), "{err}");
        assert!(
            t.compile("echo {{ x|trim }} {{ 'safe' }}", Mode::Shell, &scope())
                .is_ok()
        );
    }

    #[test]
    fn interpolation_inside_quotes_is_rejected_in_shell_templates() {
        let mut t = Templates::new();
        for bad in [
            "echo \"{{ x }}\"",
            "echo 'a {{ x }}'",
            "echo \"$({{ x }})\"",
        ] {
            let err = t.compile(bad, Mode::Shell, &scope()).unwrap_err();
            assert!(err.to_string().contains("inside quotes"), "{bad}: {err}");
        }
        for good in [
            "echo {{ x }} 'literal' \"text\"",
            "printf '%s\\0' {{ x }}",
            "echo \\\" {{ x }}",
        ] {
            assert!(t.compile(good, Mode::Shell, &scope()).is_ok(), "{good}");
        }
        // Plain templates (messages) may quote freely.
        assert!(t.compile("say \"{{ x }}\"", Mode::Plain, &scope()).is_ok());
    }

    #[test]
    fn undefined_variables_fail_at_compile_time() {
        let mut t = Templates::new();
        let err = t
            .compile("{{ subjct.metadata.name }}", Mode::Plain, &scope())
            .unwrap_err();
        assert_eq!(err, TemplateError::Undefined("subjct".into()));
        assert!(matches!(
            t.compile("{{ x", Mode::Plain, &scope()),
            Err(TemplateError::Syntax(_))
        ));
    }

    #[test]
    fn missing_attributes_fail_at_render_time_and_loops_run_out_of_fuel() {
        let mut t = Templates::new();
        let id = t.compile("{{ x.nope }}", Mode::Plain, &scope()).unwrap();
        let ctx = to_value(serde_json::json!({"x": {}}));
        assert!(t.render(id, &ctx).is_err());
        let id = t
            .compile(
                "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}",
                Mode::Plain,
                &scope(),
            )
            .unwrap();
        let err = t.render(id, &ctx).unwrap_err();
        assert!(err.to_string().contains("fuel"), "{err}");
    }

    #[test]
    fn output_is_capped() {
        let mut t = Templates::new();
        let id = t
            .compile(
                "{% for a in range(9000) %}{{ x }}{% endfor %}",
                Mode::Plain,
                &scope(),
            )
            .unwrap();
        let ctx = to_value(serde_json::json!({"x": "y".repeat(100)}));
        let err = t.render(id, &ctx).unwrap_err();
        assert!(err.to_string().contains("exceeds"), "{err}");
    }
}
