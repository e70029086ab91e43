//! Pure conversions from the SDK's output types to fact documents in the JSON shape
//! the AWS CLI prints (`aws ... --output json`): PascalCase members for IAM and EC2,
//! camelCase for ECR and EKS, timestamps in ISO 8601 as the CLI prints them
//! (`2024-05-01T12:30:00+00:00`, microseconds when present), absent members left out.
//!
//! Nothing here does I/O; every function is tested on values built with the SDK's
//! builders. Policy documents that IAM returns URL-encoded are decoded here
//! ([`decode_policy_document`]).

pub mod ec2;
pub mod ecr;
pub mod efs;
pub mod eks;
pub mod iam;

use aws_smithy_types::DateTime;
use serde_json::{Map, Value};

/// Formats a timestamp as the AWS CLI prints it: ISO 8601 in UTC with a `+00:00`
/// offset, and microseconds only when the time has a fraction of a second
/// (Python's `datetime.isoformat()`).
pub fn timestamp(t: &DateTime) -> String {
    let secs = t.secs();
    let micros = t.subsec_nanos() / 1_000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    if micros == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}+00:00")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{micros:06}+00:00")
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day)
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    // `d` is in 1..=31 and `m` in 1..=12 by construction.
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// Decodes an IAM policy document as the AWS CLI does.
///
/// Real IAM returns policy documents URL-encoded (RFC 3986) and the Rust SDK does not
/// decode them, while some emulators return plain JSON. Text that already parses as
/// JSON is taken as is; otherwise it is percent-decoded and parsed. Text that is not
/// JSON either way is kept as a string, so nothing is lost.
pub fn decode_policy_document(text: &str) -> Value {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return v;
    }
    match percent_decode(text) {
        Some(decoded) => serde_json::from_str::<Value>(&decoded)
            .unwrap_or_else(|_| Value::String(decoded.clone())),
        None => Value::String(text.to_string()),
    }
}

/// Percent-decodes `text` (RFC 3986: `%XX` escapes; `+` stays `+`). `None` when the
/// result is not UTF-8. A `%` not followed by two hex digits is kept as is.
pub fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

/// Builds a JSON object member by member, leaving out absent (`None`) members, as
/// the AWS CLI does.
#[derive(Default)]
pub(crate) struct Obj(Map<String, Value>);

impl Obj {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A string member.
    pub(crate) fn s(mut self, key: &str, v: Option<impl AsRef<str>>) -> Self {
        if let Some(v) = v {
            self.0
                .insert(key.to_string(), Value::String(v.as_ref().to_string()));
        }
        self
    }

    /// A member of any JSON value.
    pub(crate) fn v(mut self, key: &str, v: Option<Value>) -> Self {
        if let Some(v) = v {
            self.0.insert(key.to_string(), v);
        }
        self
    }

    /// A boolean member.
    pub(crate) fn b(self, key: &str, v: Option<bool>) -> Self {
        self.v(key, v.map(Value::Bool))
    }

    /// An integer member.
    pub(crate) fn i(self, key: &str, v: Option<impl Into<i64>>) -> Self {
        self.v(key, v.map(|n| Value::from(n.into())))
    }

    /// A timestamp member, as the CLI prints it.
    pub(crate) fn t(self, key: &str, v: Option<&DateTime>) -> Self {
        self.v(key, v.map(|t| Value::String(timestamp(t))))
    }

    /// A list member, each item converted by `f`; absent when the list is.
    pub(crate) fn list<T>(self, key: &str, v: Option<&Vec<T>>, f: impl Fn(&T) -> Value) -> Self {
        self.v(
            key,
            v.map(|items| Value::Array(items.iter().map(f).collect())),
        )
    }

    /// A list of strings.
    pub(crate) fn strs(self, key: &str, v: Option<&Vec<String>>) -> Self {
        self.list(key, v, |s| Value::String(s.clone()))
    }

    /// A string-to-string map member.
    pub(crate) fn map(
        self,
        key: &str,
        v: Option<&std::collections::HashMap<String, String>>,
    ) -> Self {
        self.v(
            key,
            v.map(|m| {
                Value::Object(
                    m.iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                )
            }),
        )
    }

    /// A nested object converted by `f`.
    pub(crate) fn obj<T>(self, key: &str, v: Option<&T>, f: impl Fn(&T) -> Value) -> Self {
        self.v(key, v.map(f))
    }

    pub(crate) fn done(self) -> Value {
        Value::Object(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_print_as_the_cli_does() {
        assert_eq!(
            timestamp(&DateTime::from_secs(0)),
            "1970-01-01T00:00:00+00:00"
        );
        assert_eq!(
            timestamp(&DateTime::from_secs(1_714_566_600)),
            "2024-05-01T12:30:00+00:00"
        );
        assert_eq!(
            timestamp(&DateTime::from_secs_and_nanos(1_709_164_800, 123_456_789)),
            "2024-02-29T00:00:00.123456+00:00"
        );
        assert_eq!(
            timestamp(&DateTime::from_secs(-1)),
            "1969-12-31T23:59:59+00:00"
        );
        assert_eq!(
            timestamp(&DateTime::from_secs(951_782_400)),
            "2000-02-29T00:00:00+00:00"
        );
    }

    #[test]
    fn policy_documents_are_decoded_only_when_encoded() {
        let plain = r#"{"Version":"2012-10-17","Statement":[]}"#;
        assert_eq!(
            decode_policy_document(plain),
            json!({"Version": "2012-10-17", "Statement": []})
        );
        // As real IAM returns it.
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22ecr%3AGetAuthorizationToken%22%2C%22Resource%22%3A%22%2A%22%2C%22Condition%22%3A%7B%22StringLike%22%3A%7B%22aws%3APrincipalTag%2Fteam%22%3A%22a+b%25%22%7D%7D%7D%5D%7D";
        assert_eq!(
            decode_policy_document(encoded),
            json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*",
                "Condition": {"StringLike": {"aws:PrincipalTag/team": "a+b%"}}
            }]})
        );
        // A plain document whose values contain `%2F` stays as written.
        let tricky = r#"{"Sid":"a%2Fb"}"#;
        assert_eq!(decode_policy_document(tricky), json!({"Sid": "a%2Fb"}));
        // Not JSON either way: kept as text.
        assert_eq!(decode_policy_document("%zz"), json!("%zz"));
        assert_eq!(percent_decode("%E2%9C%93 ok%"), Some("✓ ok%".into()));
        assert_eq!(percent_decode("%FF"), None);
    }
}
