//! The contract of rulerun's rule functions: what a function is ([`Function`]),
//! how it fails ([`FuncError`]) and the helpers its implementations share. The
//! registry that lists them is `rulerun_core::func`; the functions live in the
//! engine crate (generic ones: text, labels, data, networks) and in
//! `rulerun-func-aws` (image references, ARNs, IAM), which need nothing of the
//! engine but this.

use serde_json::Value;

/// A function failed (bad argument, unparsable input).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FuncError(pub String);

impl FuncError {
    /// Creates an error from anything displayable.
    pub fn new(msg: impl std::fmt::Display) -> Self {
        FuncError(msg.to_string())
    }
}

/// A registered function.
#[derive(Debug)]
pub struct Function {
    /// The name rules use.
    pub name: &'static str,
    /// How to call it, e.g. `image_ref(image: string) -> object`.
    pub signature: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Longer documentation (Markdown).
    pub docs: &'static str,
    /// Fewest arguments.
    pub min_args: usize,
    /// Most arguments.
    pub max_args: usize,
    /// The implementation.
    pub call: fn(&[Value]) -> Result<Value, FuncError>,
    /// For a function with a regex argument: that argument, which a rule must write
    /// as a literal string in a `call:` binding, is compiled when the rule loads and
    /// the binding calls this instead of `call` (templates call `call`, which refuses).
    pub compiled: Option<CompiledCall>,
}

/// How a function with a regex argument is called with its pattern compiled at load.
#[derive(Debug)]
pub struct CompiledCall {
    /// The index of the pattern argument.
    pub pattern_arg: usize,
    /// Argument names the pattern's named groups may not take (they are keys of the result).
    pub reserved_groups: &'static [&'static str],
    /// The implementation, given every argument and the compiled pattern.
    pub call: fn(&[Value], &regex::Regex) -> Result<Value, FuncError>,
}

impl Function {
    /// "1" or "1 to 3", for messages.
    pub fn arity(&self) -> String {
        if self.min_args == self.max_args {
            self.min_args.to_string()
        } else {
            format!("{} to {}", self.min_args, self.max_args)
        }
    }
}

/// Argument `i` of a call to `fname`, which must be a string.
pub fn string_arg<'a>(args: &'a [Value], i: usize, fname: &str) -> Result<&'a str, FuncError> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(FuncError(format!(
            "{fname}: argument {} must be a string, found {}",
            i + 1,
            type_name(other)
        ))),
        None => Err(FuncError(format!("{fname}: missing argument {}", i + 1))),
    }
}

/// A JSON type name for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
