//! Three-valued (Kleene) logic for conditions whose context keys may be
//! unknown.

use std::collections::BTreeSet;

/// True, false, or unknown because of the listed (lower-cased) context keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tri {
    True,
    False,
    Unknown(BTreeSet<String>),
}

impl Tri {
    pub(crate) fn from_bool(b: bool) -> Tri {
        if b { Tri::True } else { Tri::False }
    }

    pub(crate) fn unknown(key: &str) -> Tri {
        Tri::Unknown(BTreeSet::from([key.to_string()]))
    }

    pub(crate) fn is_true(&self) -> bool {
        matches!(self, Tri::True)
    }

    pub(crate) fn is_false(&self) -> bool {
        matches!(self, Tri::False)
    }

    pub(crate) fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            u => u,
        }
    }

    pub(crate) fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, x) | (x, Tri::True) => x,
            (Tri::Unknown(mut a), Tri::Unknown(b)) => {
                a.extend(b);
                Tri::Unknown(a)
            }
        }
    }

    pub(crate) fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::False, x) | (x, Tri::False) => x,
            (Tri::Unknown(mut a), Tri::Unknown(b)) => {
                a.extend(b);
                Tri::Unknown(a)
            }
        }
    }

    pub(crate) fn any(items: impl IntoIterator<Item = Tri>) -> Tri {
        items.into_iter().fold(Tri::False, Tri::or)
    }

    pub(crate) fn keys(&self) -> BTreeSet<String> {
        match self {
            Tri::Unknown(k) => k.clone(),
            _ => BTreeSet::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kleene() {
        let u = Tri::unknown("k");
        assert_eq!(Tri::True.and(u.clone()), u);
        assert_eq!(Tri::False.and(u.clone()), Tri::False);
        assert_eq!(Tri::True.or(u.clone()), Tri::True);
        assert_eq!(Tri::False.or(u.clone()), u);
        assert_eq!(u.clone().not(), u);
        assert_eq!(Tri::any([]), Tri::False);
    }
}
