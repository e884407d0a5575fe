//! `--metric-labels-allowlist` / `--metric-annotations-allowlist`: which Kubernetes label and
//! annotation keys reach the `kube_<kind>_labels` / `kube_<kind>_annotations` families.
//!
//! Syntax (KSM's): `pods=[app,team],deployments=[*],*=[app.kubernetes.io/name]`. A `*` as the
//! first key allows every key (a later `*` is ignored); a key may hold one `*` wildcard
//! (`example.org/team-*`); the resource `*` applies to every resource.

use std::collections::BTreeMap;

/// One allowlist flag, parsed: resource name → key patterns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allowlist {
    by_resource: BTreeMap<String, Vec<String>>,
}

/// Both allowlists.
#[derive(Clone, Debug, Default)]
pub struct Allowlists {
    /// `--metric-labels-allowlist`.
    pub labels: Allowlist,
    /// `--metric-annotations-allowlist`.
    pub annotations: Allowlist,
}

/// The key filter for one resource.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum KeyFilter {
    /// Not allowlisted: the family emits no series.
    #[default]
    Nothing,
    /// `[*]`: every key.
    All,
    /// Listed keys; each may hold one `*`.
    Keys(Vec<KeyPattern>),
}

/// A key, or a key with one `*` standing for any run of characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyPattern {
    /// Matches only this key.
    Exact(String),
    /// Matches keys that start with the first part and end with the second.
    Wildcard(String, String),
}

impl KeyFilter {
    /// True when the family should emit nothing.
    pub fn is_empty(&self) -> bool {
        matches!(self, KeyFilter::Nothing)
    }

    /// Whether a Kubernetes key passes.
    pub fn allows(&self, key: &str) -> bool {
        match self {
            KeyFilter::Nothing => false,
            KeyFilter::All => true,
            KeyFilter::Keys(patterns) => patterns.iter().any(|p| match p {
                KeyPattern::Exact(k) => k == key,
                KeyPattern::Wildcard(prefix, suffix) => {
                    key.len() >= prefix.len() + suffix.len() && key.starts_with(prefix) && key.ends_with(suffix)
                }
            }),
        }
    }
}

impl Allowlist {
    /// Parses the flag value. The error names what is wrong; the caller names the flag.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut by_resource: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut rest = raw.trim();
        while !rest.is_empty() {
            let (resource, after) = rest
                .split_once('=')
                .ok_or_else(|| format!("expected RESOURCE=[keys] at {rest:?}"))?;
            let resource = resource.trim();
            if resource.is_empty() || resource.contains([',', '[', ']']) {
                return Err(format!("invalid resource name {resource:?}"));
            }
            let after = after.trim_start();
            let inner = after
                .strip_prefix('[')
                .ok_or_else(|| format!("expected '[' after {resource}=, found {after:?}"))?;
            let (keys, after) = inner
                .split_once(']')
                .ok_or_else(|| format!("missing ']' for {resource}"))?;
            let keys: Vec<String> = keys
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .collect();
            for k in &keys {
                if k.matches('*').count() > 1 {
                    return Err(format!("key {k:?} for {resource} has more than one '*'"));
                }
            }
            by_resource.entry(resource.to_string()).or_default().extend(keys);
            rest = after.trim_start();
            if let Some(r) = rest.strip_prefix(',') {
                rest = r.trim_start();
            } else if !rest.is_empty() {
                return Err(format!("expected ',' between entries, found {rest:?}"));
            }
        }
        Ok(Allowlist { by_resource })
    }

    /// Resource names this allowlist mentions (for validating them against `--resources`).
    pub fn resources(&self) -> impl Iterator<Item = &str> {
        self.by_resource.keys().map(String::as_str)
    }

    /// The filter for one resource (entries for `*` apply to every resource).
    pub fn for_resource(&self, resource: &str) -> KeyFilter {
        let keys: Vec<&String> = self
            .by_resource
            .get(resource)
            .into_iter()
            .chain(self.by_resource.get("*"))
            .flatten()
            .collect();
        if !self.by_resource.contains_key(resource) && !self.by_resource.contains_key("*") {
            return KeyFilter::Nothing;
        }
        if keys.first().is_some_and(|k| k.as_str() == "*") {
            return KeyFilter::All;
        }
        let patterns: Vec<KeyPattern> = keys
            .into_iter()
            .filter(|k| k.as_str() != "*")
            .map(|k| match k.split_once('*') {
                Some((prefix, suffix)) => KeyPattern::Wildcard(prefix.to_string(), suffix.to_string()),
                None => KeyPattern::Exact(k.clone()),
            })
            .collect();
        if patterns.is_empty() {
            KeyFilter::Nothing
        } else {
            KeyFilter::Keys(patterns)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ksm_syntax() {
        let a = Allowlist::parse("pods=[app,team],deployments=[*]").unwrap();
        assert_eq!(
            a.for_resource("pods"),
            KeyFilter::Keys(vec![KeyPattern::Exact("app".into()), KeyPattern::Exact("team".into())])
        );
        assert_eq!(a.for_resource("deployments"), KeyFilter::All);
        assert_eq!(a.for_resource("jobs"), KeyFilter::Nothing);
    }

    #[test]
    fn star_only_counts_first() {
        let a = Allowlist::parse("pods=[app,*]").unwrap();
        let f = a.for_resource("pods");
        assert!(f.allows("app"));
        assert!(!f.allows("team"));
    }

    #[test]
    fn partial_wildcard_and_star_resource() {
        let a = Allowlist::parse("*=[example.org/team-*]").unwrap();
        let f = a.for_resource("jobs");
        assert!(f.allows("example.org/team-a"));
        assert!(f.allows("example.org/team-"));
        assert!(!f.allows("example.org/owner"));
    }

    #[test]
    fn empty_list_means_nothing() {
        assert_eq!(
            Allowlist::parse("pods=[]").unwrap().for_resource("pods"),
            KeyFilter::Nothing
        );
        assert_eq!(Allowlist::parse("").unwrap().for_resource("pods"), KeyFilter::Nothing);
    }

    #[test]
    fn malformed_values_are_rejected() {
        assert!(Allowlist::parse("pods").is_err());
        assert!(Allowlist::parse("pods=app").is_err());
        assert!(Allowlist::parse("pods=[app").is_err());
        assert!(Allowlist::parse("pods=[a*b*]").is_err());
        assert!(Allowlist::parse("pods=[a] jobs=[b]").is_err());
    }
}
