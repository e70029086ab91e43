//! Wildcard matchers: `*` (any run of characters, possibly empty) and `?`
//! (exactly one character), usable anywhere in a pattern.
//!
//! * Actions match case-insensitively over the whole `service:Action` string.
//! * ARNs match per colon-separated segment: a wildcard never spans a `:` of
//!   the first five separators, and the resource part (the sixth segment,
//!   which may itself contain colons) is matched as one piece. Matching is
//!   case-sensitive. A lone `*` matches every resource. The ARN side lives
//!   with the ARN type, [`crate::arn::ArnPattern`].

/// One token of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A character that must match literally.
    Lit(char),
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
}

/// Compiles a pattern where `*` and `?` are wildcards.
pub(crate) fn compile(pattern: &str) -> Vec<Tok> {
    pattern
        .chars()
        .map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        })
        .collect()
}

fn chars_eq(a: char, b: char, ignore_case: bool) -> bool {
    a == b || (ignore_case && a.to_lowercase().eq(b.to_lowercase()))
}

/// Matches compiled tokens against `text` (iterative, backtracking only to
/// the last `*`, so it runs in O(len(pattern) * len(text)) at worst).
pub(crate) fn match_toks(toks: &[Tok], text: &[char], ignore_case: bool) -> bool {
    let (mut p, mut s) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(s) {
        match toks.get(p) {
            Some(Tok::Star) => {
                backtrack = Some((p, s));
                p += 1;
                continue;
            }
            Some(Tok::One) => {
                p += 1;
                s += 1;
                continue;
            }
            Some(Tok::Lit(l)) if chars_eq(*l, c, ignore_case) => {
                p += 1;
                s += 1;
                continue;
            }
            _ => {}
        }
        match backtrack {
            Some((sp, ss)) => {
                p = sp + 1;
                s = ss + 1;
                backtrack = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    toks.get(p..)
        .is_some_and(|rest| rest.iter().all(|t| *t == Tok::Star))
}

/// Case-sensitive wildcard match of `text` against `pattern`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    match_toks(&compile(pattern), &text, false)
}

/// Case-insensitive wildcard match of `text` against `pattern`.
pub fn glob_match_ignore_case(pattern: &str, text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    match_toks(&compile(pattern), &text, true)
}

/// Whether an `Action`/`NotAction` pattern matches a concrete action
/// (`ecr:BatchGetImage`). Case-insensitive, wildcards anywhere.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    glob_match_ignore_case(pattern, action)
}

/// Whether a `Resource`/`NotResource` pattern (or an `Arn*` condition
/// value) matches a concrete ARN, segment by segment.
/// The matching itself is [`crate::arn::ArnPattern`]'s.
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
    crate::arn::ArnPattern::new(pattern).matches(arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert!(glob_match("*", ""));
        assert!(glob_match("a*c", "abbbc"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(!glob_match("abc", "ABC"));
        assert!(glob_match_ignore_case("abc", "ABC"));
        assert!(glob_match("*a*b*", "xxaxxbxx"));
        assert!(!glob_match("*a*b", "xxaxxbxxc"));
    }

    #[test]
    fn actions() {
        assert!(action_matches("ecr:*", "ecr:BatchGetImage"));
        assert!(action_matches("ECR:batch*", "ecr:BatchGetImage"));
        assert!(action_matches("*", "s3:GetObject"));
        assert!(action_matches("ecr:*Image", "ecr:PutImage"));
        assert!(!action_matches("ecr:Batch*", "ecr:PutImage"));
        assert!(action_matches(
            "ecr:Get?ownloadUrlForLayer",
            "ecr:GetDownloadUrlForLayer"
        ));
    }

    #[test]
    fn arns() {
        let arn = "arn:aws:ecr:us-east-1:111122223333:repository/team/app";
        assert!(arn_matches("*", arn));
        assert!(arn_matches("arn:aws:ecr:*:*:repository/*", arn));
        assert!(arn_matches(
            "arn:aws:ecr:us-east-1:111122223333:repository/team/*",
            arn
        ));
        // a wildcard cannot span a segment separator
        assert!(!arn_matches("arn:aws:ecr:us-*:repository/team/app", arn));
        assert!(!arn_matches("arn:aws:ecr:*:*:Repository/*", arn));
        // resource part keeps its colons
        assert!(arn_matches(
            "arn:aws:logs:*:*:log-group:x:*",
            "arn:aws:logs:us-east-1:1:log-group:x:log-stream:y"
        ));
    }
}
