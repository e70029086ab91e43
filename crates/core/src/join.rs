//! Join identities: the contract between the rules' joins, the engine's live
//! evaluation ([`crate::engine::Plan`], [`crate::engine::Demand`]) and the
//! collectors' fetch operations, which say by which joins they fetch.

use std::fmt;

use rulerun_jsonpath::JsonPath;

/// Which index of which fact kind a join reads: the kind and its `on` paths,
/// each in canonical spelling ([`JsonPath::canonical`]), so that
/// `$['registryId']` and `$.registryId` are one join, one index and one fetch.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JoinId {
    kind: String,
    on: Vec<String>,
}

impl JoinId {
    /// The join of `kind` on the paths `on`, compiled.
    pub fn of(kind: &str, on: &[JsonPath]) -> JoinId {
        JoinId {
            kind: kind.to_string(),
            on: on.iter().map(|p| p.canonical().into_owned()).collect(),
        }
    }

    /// The join of `kind` on the paths `on`, as written (a collector's
    /// declaration, a test): each is parsed and spelled canonically; one that
    /// does not parse keeps its text, and so equals no rule's join (a rule's
    /// paths parse).
    pub fn new(kind: &str, on: &[&str]) -> JoinId {
        JoinId {
            kind: kind.to_string(),
            on: on
                .iter()
                .map(|p| match JsonPath::parse(p) {
                    Ok(path) => path.canonical().into_owned(),
                    Err(_) => (*p).to_string(),
                })
                .collect(),
        }
    }

    /// The fact kind joined.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The `on` paths, canonical.
    pub fn on(&self) -> &[String] {
        &self.on
    }

    /// Whether `prefix` joins the same kind on the first of this join's paths
    /// (and fewer of them): a fetch by `prefix` answers this join too.
    pub fn extends(&self, prefix: &JoinId) -> bool {
        self.kind == prefix.kind
            && prefix.on.len() < self.on.len()
            && self.on.starts_with(&prefix.on)
    }
}

impl fmt::Display for JoinId {
    /// `kind` on `[path, …]`, as messages name a join.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on [{}]", self.kind, self.on.join(", "))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn spellings_of_one_path_are_one_join() {
        let a = JoinId::new("aws/ecr/Repository", &["$['registryId']", "$[\"region\"]"]);
        let b = JoinId::new("aws/ecr/Repository", &["$.registryId", "$.region"]);
        let c = JoinId::of(
            "aws/ecr/Repository",
            &[
                JsonPath::parse("$.registryId").unwrap(),
                JsonPath::parse("$[ 'region' ]").unwrap(),
            ],
        );
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(
            a.to_string(),
            "aws/ecr/Repository on [$.registryId, $.region]"
        );
        assert_ne!(
            a,
            JoinId::new("aws/ecr/RepositoryNotFound", &["$.registryId", "$.region"])
        );
        let full = JoinId::new(
            "aws/ecr/Repository",
            &["$.registryId", "$.region", "$['repositoryName']"],
        );
        assert!(full.extends(&a));
        assert!(!a.extends(&full) && !a.extends(&a));
        assert!(!full.extends(&JoinId::new("aws/ecr/Repository", &["$.region"])));
    }
}
