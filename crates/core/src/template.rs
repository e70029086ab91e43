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
//! Both environments use semi-strict undefined behaviour (printing or iterating a
//! missing attribute is an error, not an empty string; testing it with `if` is
//! allowed and false), a fuel limit against runaway loops, a cap on the
//! rendered size, and bounds on every value a template builds, checked where it
//! is built: the source is instrumented when it compiles ([`budget`]). Variables
//! a template names must exist in the rule's scope; that is checked at load time.

use std::collections::BTreeSet;
use std::io;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

mod budget;
mod shell;
pub use budget::{MAX_CHECK_WORK, MAX_NESTING, MAX_VALUE};
pub(crate) use shell::{check_argument, check_aws_argument, is_aws_cli};

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
const BUILTIN_GLOBALS: &[&str] = &["range", "dict", "namespace", "debug", "loop", "self"];

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
        shell.set_auto_escape_callback(|_| AutoEscape::Custom("shell".into()));
        shell.set_formatter(|out, _state, value| {
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
        let mut function_names = BTreeSet::new();
        for f in crate::func::FUNCTIONS {
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
        }
    }

    /// Compiles `source`; every variable it reads must be one of `scope`.
    pub fn compile(
        &mut self,
        source: &str,
        mode: Mode,
        scope: &[String],
    ) -> Result<TemplateId, TemplateError> {
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
        self.count += 1;
        // A failed compile does not take an index, so this is `variables[index]`.
        self.variables.resize_with(index, Default::default);
        self.variables.push(undeclared.into_boxed_slice());
        self.sources.resize_with(index, Default::default);
        self.sources.push(source.into());
        Ok(TemplateId { mode, index })
    }

    /// The source of the template compiled as number `index`, and the names it
    /// reads (`undeclared_variables(false)`).
    pub(crate) fn source(&self, index: usize) -> Option<(&str, &[String])> {
        Some((self.sources.get(index)?, self.variables.get(index)?))
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
    pub fn render(&self, id: TemplateId, ctx: &Value) -> Result<String, TemplateError> {
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
                    TemplateError::Render(describe(&e))
                }
            })?;
        let text = String::from_utf8(sink.buf).map_err(|e| TemplateError::Render(e.to_string()))?;
        match id.mode {
            Mode::Plain => Ok(text),
            Mode::Shell => shell::finish(&text).map_err(TemplateError::Command),
        }
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

fn base_env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
