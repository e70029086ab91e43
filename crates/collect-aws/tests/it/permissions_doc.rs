//! `docs/permissions.md` holds the IAM policy generated from the operations'
//! declarations; `UPDATE_EXPECT=1` rewrites it.

use std::path::PathBuf;

use rulerun_collect_aws::iam_policy_document;

const START: &str = "<!-- aws-policy:start -->";
const END: &str = "<!-- aws-policy:end -->";

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/permissions.md")
}

fn section() -> String {
    let json = serde_json::to_string_pretty(&iam_policy_document()).unwrap();
    format!("{START}\n```json\n{json}\n```\n{END}")
}

/// The JSON between the markers, if it parses.
fn documented(text: &str) -> Option<serde_json::Value> {
    let start = text.find(START)? + START.len();
    let end = start + text[start..].find(END)?;
    let block = text[start..end].trim();
    let json = block.strip_prefix("```json")?.strip_suffix("```")?;
    serde_json::from_str(json).ok()
}

#[test]
fn the_permissions_doc_has_the_generated_policy() {
    let path = doc_path();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    // Compared as JSON values, so the check does not depend on key order.
    if documented(&text).as_ref() == Some(&iam_policy_document()) {
        return;
    }
    // Stale: the page with the section regenerated (`UPDATE_EXPECT=1` writes it).
    let fresh = match (text.find(START), text.find(END)) {
        (Some(s), Some(e)) if s < e => {
            format!("{}{}{}", &text[..s], section(), &text[e + END.len()..])
        }
        _ => format!("{text}\n{}\n", section()),
    };
    expect_test::expect_file![&path].assert_eq(&fresh);
}
