//! JSON from files users give, read strictly.
//!
//! `serde_json` accepts an object that names a member twice (the last one wins),
//! while YAML files are refused for it; a fact file could then say one thing to
//! `jq` or `kubectl` and another to rulerun. Here every object is checked for
//! duplicate members, including members that field projection skips, with the
//! line and column of the duplicate. Numbers out of the range of a 64-bit float
//! (`1e999`, `-1e999`, an integer of 400 digits) and nesting deeper than
//! [`MAX_DEPTH`] are refused wherever they appear, whether or not a rule reads
//! them, so that whether a file loads never depends on the rules loaded. The
//! values held in memory are counted against [`MAX_VALUES`], as each costs at
//! least 32 bytes however few bytes of text it takes (`[0,0,0,...]`).
//!
//! [`ValueSeed`] builds a [`Value`], [`SkipSeed`] checks a value without
//! building it (field projection's skipped members); both count depth through
//! `serde_json`'s own recursion limit, as they descend by `deserialize_any`.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{LoadError, LoadErrorKind};
use crate::yaml::Pos;

/// The deepest nesting of arrays and objects read (`serde_json`'s recursion
/// limit of 128 refuses the 128th level).
pub const MAX_DEPTH: usize = 127;

/// The most JSON values (scalars, arrays and objects) one file may put in memory:
/// 2^27, about 4 GiB of values at 32 bytes each. `kubectl` and AWS CLI output
/// takes 20 to 45 bytes of text per value, so a whole 2 GiB fact file holds 50
/// to 110 million, under the limit; `[0,0,0,...]` takes 2 bytes per value and
/// would otherwise cost 16 times its size. Values that field projection skips
/// are not counted.
pub const MAX_VALUES: u64 = 1 << 27;

/// A JSON text that could not be read.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonError {
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub kind: JsonErrorKind,
}

/// What is wrong with a JSON text.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum JsonErrorKind {
    /// Not JSON: `serde_json`'s message, without its position.
    #[error("invalid JSON: {0}")]
    Syntax(String),
    /// An object that names a member twice.
    #[error("duplicate key `{0}`")]
    DuplicateKey(String),
    /// Arrays and objects nested deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH} levels of arrays and objects")]
    TooDeep,
    /// A number beyond the range of a 64-bit float.
    #[error(
        "number out of range: numbers are read as 64-bit floats, at most about 1.8e308 in size"
    )]
    NumberOutOfRange,
    /// More values than [`MAX_VALUES`].
    #[error("more than {0} values (numbers, strings, arrays and objects) in one file")]
    TooManyValues(u64),
}

impl JsonErrorKind {
    /// Advice on what to do instead.
    pub fn help(&self) -> Option<String> {
        Some(match self {
            JsonErrorKind::Syntax(_) => return None,
            JsonErrorKind::DuplicateKey(_) => {
                "name each member of an object once: JSON readers disagree on which duplicate wins"
                    .into()
            }
            JsonErrorKind::TooDeep => "no Kubernetes or AWS document nests this deep".into(),
            JsonErrorKind::NumberOutOfRange => {
                "write the value as a string (\"1e999\") if it is not a number".into()
            }
            JsonErrorKind::TooManyValues(_) => {
                "split the facts into several files in a folder and pass `--facts FOLDER`".into()
            }
        })
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.kind)
    }
}

impl std::error::Error for JsonError {}

impl JsonError {
    /// As a [`LoadError`] of `file` at the error's line and column.
    pub fn load_error(self, file: &Path) -> LoadError {
        let pos = Pos {
            line: u32::try_from(self.line).unwrap_or(u32::MAX),
            column: u32::try_from(self.column).unwrap_or(u32::MAX),
        };
        let kind = match self.kind {
            JsonErrorKind::Syntax(message) => LoadErrorKind::Syntax {
                format: "JSON",
                message,
            },
            other => LoadErrorKind::Other {
                help: other.help(),
                message: other.to_string(),
            },
        };
        LoadError::new(file, pos, kind)
    }
}

/// Parses one JSON value strictly (see the module documentation).
pub fn from_str(text: &str) -> Result<Value, JsonError> {
    let strict = Strict::new();
    let mut de = serde_json::Deserializer::from_str(text);
    ValueSeed(&strict)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| strict.error(&e))
}

/// Checks that `text` is one JSON value that [`from_str`] would read, without
/// building it; for input that is then decoded into typed structures by
/// `serde_json`, which would take the last of duplicate members.
pub fn check(text: &str) -> Result<(), JsonError> {
    let strict = Strict::new();
    let mut de = serde_json::Deserializer::from_str(text);
    SkipSeed(&strict)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| strict.error(&e))
}

/// The state of one strict parse: the value budget left, and why a visitor
/// stopped the parse (a `serde_json` custom error carries only a message).
pub(crate) struct Strict {
    left: Cell<u64>,
    refusal: RefCell<Option<JsonErrorKind>>,
}

impl Strict {
    pub(crate) fn new() -> Self {
        Strict {
            left: Cell::new(crate::read::values_limit(MAX_VALUES)),
            refusal: RefCell::new(None),
        }
    }

    /// Counts one value held in memory.
    pub(crate) fn count<E: de::Error>(&self) -> Result<(), E> {
        match self.left.get().checked_sub(1) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => Err(
                self.refuse(JsonErrorKind::TooManyValues(crate::read::values_limit(
                    MAX_VALUES,
                ))),
            ),
        }
    }

    fn refuse<E: de::Error>(&self, kind: JsonErrorKind) -> E {
        let message = kind.to_string();
        *self.refusal.borrow_mut() = Some(kind);
        E::custom(message)
    }

    /// The error for a member named twice.
    pub(crate) fn duplicate<E: de::Error>(&self, key: &str) -> E {
        self.refuse(JsonErrorKind::DuplicateKey(shown_key(key)))
    }

    /// A number as `serde_json` holds it; non-finite ones are refused.
    pub(crate) fn float<E: de::Error>(&self, v: f64) -> Result<Value, E> {
        match serde_json::Number::from_f64(v) {
            Some(n) => Ok(Value::Number(n)),
            None => Err(self.refuse(JsonErrorKind::NumberOutOfRange)),
        }
    }

    /// What `e`, returned by a parse with this state, means.
    pub(crate) fn error(&self, e: &serde_json::Error) -> JsonError {
        let message = strip_json_position(&e.to_string());
        let kind = match self.refusal.borrow_mut().take() {
            Some(kind) => kind,
            None if message == "recursion limit exceeded" => JsonErrorKind::TooDeep,
            None if message == "number out of range" => JsonErrorKind::NumberOutOfRange,
            None => JsonErrorKind::Syntax(message),
        };
        JsonError {
            line: e.line(),
            column: e.column(),
            kind,
        }
    }
}

/// `serde_json`'s message without the " at line L column C" it appends.
pub(crate) fn strip_json_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// A key for a message: control characters escaped, at most 100 characters.
pub(crate) fn shown_key(key: &str) -> String {
    let mut out = String::new();
    for (i, c) in key.chars().enumerate() {
        if i == 100 {
            out.push('…');
            break;
        }
        if c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
        {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// A member name, borrowed from the text when it has no escapes.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct K;
        impl<'de> Visitor<'de> for K {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(K)
    }
}

/// The member names of one object seen so far: a short list, then a hash set
/// (objects with thousands of members must not cost a scan per member).
#[derive(Default)]
pub(crate) struct KeySet<'de> {
    few: Vec<Cow<'de, str>>,
    many: HashSet<Cow<'de, str>>,
}

impl<'de> KeySet<'de> {
    /// Adds `key`, or gives it back when it was already there.
    pub(crate) fn insert(&mut self, key: Cow<'de, str>) -> Result<(), Cow<'de, str>> {
        if self.many.is_empty() {
            if self.few.contains(&key) {
                return Err(key);
            }
            if self.few.len() < 16 {
                self.few.push(key);
                return Ok(());
            }
            self.many.extend(self.few.drain(..));
        }
        if self.many.contains(&key) {
            return Err(key);
        }
        self.many.insert(key);
        Ok(())
    }
}

/// Builds a [`Value`] strictly.
pub(crate) struct ValueSeed<'s>(pub(crate) &'s Strict);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.0.count()?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.0.count()?;
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.0.count()?;
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.0.count()?;
        self.0.float(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.0.count()?;
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.0.count()?;
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.0.count()?;
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.0.count()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(ValueSeed(self.0))? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.0.count()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if out.contains_key(&*key.0) {
                return Err(self.0.duplicate(&key.0));
            }
            let v = map.next_value_seed(ValueSeed(self.0))?;
            out.insert(key.0.into_owned(), v);
        }
        Ok(Value::Object(out))
    }
}

/// Checks a value strictly without building it.
pub(crate) struct SkipSeed<'s>(pub(crate) &'s Strict);

impl<'de> DeserializeSeed<'de> for SkipSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SkipSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.0.float(v).map(drop)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(SkipSeed(self.0))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = KeySet::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if let Err(key) = keys.insert(key.0) {
                return Err(self.0.duplicate(&key));
            }
            map.next_value_seed(SkipSeed(self.0))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn duplicate_members_are_refused_where_they_are() {
        let text = "{\n  \"metadata\": {\"name\": \"a\",\n    \"name\": \"b\"}\n}";
        let e = from_str(text).unwrap_err();
        assert_eq!(e.to_string(), "3:10: duplicate key `name`");
        assert_eq!(check(text).unwrap_err(), e);
        // Escapes make the same name.
        let e = from_str(r#"{"a": 1, "\u0061": 2}"#).unwrap_err();
        assert_eq!(e.kind, JsonErrorKind::DuplicateKey("a".into()));
        // Many members: past the short list.
        let mut members: Vec<String> = (0..40).map(|i| format!("\"k{i}\": {i}")).collect();
        assert!(from_str(&format!("{{{}}}", members.join(","))).is_ok());
        assert!(check(&format!("{{{}}}", members.join(","))).is_ok());
        members.push("\"k3\": 0".into());
        let e = check(&format!("{{{}}}", members.join(","))).unwrap_err();
        assert_eq!(e.kind, JsonErrorKind::DuplicateKey("k3".into()));
        // Control characters in a key are escaped in the message.
        let e = from_str("{\"a\\nb\": 1, \"a\\nb\": 2}").unwrap_err();
        assert_eq!(e.kind, JsonErrorKind::DuplicateKey("a\\u{a}b".into()));
        // The same key in different objects is fine.
        assert_eq!(
            from_str(r#"[{"a": 1}, {"a": 2}]"#).unwrap(),
            json!([{"a": 1}, {"a": 2}])
        );
    }

    #[test]
    fn depth_and_number_range_are_refused_with_their_own_words() {
        let deep = format!("{}1{}", "[".repeat(128), "]".repeat(128));
        let e = from_str(&deep).unwrap_err();
        assert_eq!(
            e.to_string(),
            "1:128: nesting deeper than 127 levels of arrays and objects"
        );
        assert_eq!(check(&deep).unwrap_err(), e);
        let ok = format!("{}1{}", "[".repeat(127), "]".repeat(127));
        assert!(from_str(&ok).is_ok());
        for n in ["1e999", "-1e999", &format!("1{}", "0".repeat(400))] {
            let e = from_str(&format!("{{\"x\": {n}}}")).unwrap_err();
            assert_eq!(e.kind, JsonErrorKind::NumberOutOfRange, "{n}");
            assert_eq!(check(&format!("[{n}]")).unwrap_err().kind, e.kind, "{n}");
        }
        // An integer past 64 bits but within a float's range is read as a float.
        assert_eq!(
            from_str("123456789012345678901234567890").unwrap(),
            json!(1.2345678901234568e29)
        );
    }

    #[test]
    fn values_held_are_counted() {
        let e = crate::read::with_test_limits(u64::MAX, 10, || {
            from_str("[0,0,0,0,0,0,0,0,0,0]").unwrap_err()
        });
        assert_eq!(
            e.to_string(),
            "1:20: more than 10 values (numbers, strings, arrays and objects) in one file"
        );
        // Skipping builds nothing, so counts nothing.
        crate::read::with_test_limits(u64::MAX, 10, || {
            check("[0,0,0,0,0,0,0,0,0,0,0,0]").unwrap();
            from_str("[0,0,0,0,0,0,0,0,0]").unwrap();
        });
    }
}
