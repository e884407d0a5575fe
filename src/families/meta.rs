//! What every kind shares: the metadata families (`_created`, `_labels`, `_annotations`,
//! `_deletion_timestamp`, `_metadata_generation`, `_owner`, `_metadata_resource_version`),
//! declared once here and named by each kind's prefix, and the sample helpers behind them.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::{FamilyDef, KeyFilter, RenderContext, Samples, Stability};

/// The metadata families, for any Kubernetes object type. `prefix` is the kind's metric prefix
/// (`kube_statefulset`); HELP texts are passed in where KSM's differ between kinds.
impl<K: kube::Resource + 'static> FamilyDef<K> {
    /// `{prefix}_created`: `metadata.creationTimestamp` in unix seconds, when set.
    pub fn created(prefix: &str, stability: Stability, help: &'static str) -> Self {
        FamilyDef::gauge(
            format!("{prefix}_created"),
            stability,
            help,
            |o: &K, _: &RenderContext, s: &mut Samples| created(o.meta(), s),
        )
    }

    /// `{prefix}_deletion_timestamp`: unix seconds, only while the object is being deleted.
    pub fn deletion_timestamp(prefix: &str, stability: Stability) -> Self {
        FamilyDef::gauge(
            format!("{prefix}_deletion_timestamp"),
            stability,
            "Unix deletion timestamp",
            |o: &K, _: &RenderContext, s: &mut Samples| deletion_timestamp(o.meta(), s),
        )
    }

    /// `{prefix}_labels`: the allowlisted labels as `label_<key>` (no series unless allowlisted).
    pub fn labels(prefix: &str, stability: Stability) -> Self {
        FamilyDef::gauge(
            format!("{prefix}_labels"),
            stability,
            "Kubernetes labels converted to Prometheus labels.",
            |o: &K, ctx: &RenderContext, s: &mut Samples| labels_family(o.meta(), &ctx.labels, s),
        )
    }

    /// `{prefix}_annotations`: the allowlisted annotations as `annotation_<key>`.
    pub fn annotations(prefix: &str, stability: Stability) -> Self {
        FamilyDef::gauge(
            format!("{prefix}_annotations"),
            stability,
            "Kubernetes annotations converted to Prometheus labels.",
            |o: &K, ctx: &RenderContext, s: &mut Samples| annotations_family(o.meta(), &ctx.annotations, s),
        )
    }

    /// `{prefix}_metadata_generation`: `metadata.generation`, 0 when unset.
    pub fn metadata_generation(prefix: &str, stability: Stability, help: &'static str) -> Self {
        FamilyDef::gauge(
            format!("{prefix}_metadata_generation"),
            stability,
            help,
            |o: &K, _: &RenderContext, s: &mut Samples| generation(o.meta(), s),
        )
    }

    /// `{prefix}_owner`: `owner_kind, owner_name, owner_is_controller` per owner reference, one
    /// series of empty values without owners.
    pub fn owner(prefix: &str, stability: Stability, help: &'static str) -> Self {
        FamilyDef::gauge(
            format!("{prefix}_owner"),
            stability,
            help,
            |o: &K, _: &RenderContext, s: &mut Samples| owners(o.meta(), s),
        )
    }

    /// `{prefix}_metadata_resource_version`: the resourceVersion as a number; nothing when it
    /// does not parse as one (KSM's `strconv.ParseFloat`).
    pub fn metadata_resource_version(prefix: &str, stability: Stability, help: &'static str) -> Self {
        FamilyDef::gauge(
            format!("{prefix}_metadata_resource_version"),
            stability,
            help,
            |o: &K, _: &RenderContext, s: &mut Samples| resource_version(o.meta(), s),
        )
    }
}

/// The base label values most namespaced kinds share: `[namespace, name]` (`""` when unset).
pub fn namespace_and_name(meta: &ObjectMeta) -> Vec<&str> {
    vec![
        meta.namespace.as_deref().unwrap_or(""),
        meta.name.as_deref().unwrap_or(""),
    ]
}

/// Unix seconds of a Kubernetes timestamp, as KSM writes them (`float64(t.Unix())`).
pub fn unix_seconds(t: &Time) -> f64 {
    t.0.as_second() as f64
}

/// Pushes the object's creation timestamp, when set.
pub fn created(meta: &ObjectMeta, s: &mut Samples) {
    if let Some(t) = &meta.creation_timestamp {
        s.value(unix_seconds(t));
    }
}

/// Pushes the object's deletion timestamp, only while it is being deleted.
pub fn deletion_timestamp(meta: &ObjectMeta, s: &mut Samples) {
    if let Some(t) = &meta.deletion_timestamp {
        s.value(unix_seconds(t));
    }
}

/// Pushes `metadata.generation`, 0 when unset (KSM reads Go's zero value).
pub fn generation(meta: &ObjectMeta, s: &mut Samples) {
    s.value(meta.generation.unwrap_or(0) as f64);
}

/// Pushes `metadata.resourceVersion` when it parses as a float.
pub fn resource_version(meta: &ObjectMeta, s: &mut Samples) {
    if let Some(v) = meta.resource_version.as_deref().and_then(|rv| rv.parse::<f64>().ok()) {
        s.value(v);
    }
}

/// `owner_kind, owner_name, owner_is_controller`: one series per owner reference, or one series
/// of empty values for an object without owners (KSM's `kube_<kind>_owner`).
pub fn owners(meta: &ObjectMeta, s: &mut Samples) {
    let owners = meta.owner_references.as_deref().unwrap_or_default();
    if owners.is_empty() {
        s.push(
            [("owner_kind", ""), ("owner_name", ""), ("owner_is_controller", "")],
            1.0,
        );
        return;
    }
    for o in owners {
        let controller = if o.controller == Some(true) { "true" } else { "false" };
        s.push(
            [
                ("owner_kind", o.kind.as_str()),
                ("owner_name", o.name.as_str()),
                ("owner_is_controller", controller),
            ],
            1.0,
        );
    }
}

/// One sample holding an optional integer status field, 0 when the status or the field is
/// absent (KSM reads Go's zero value).
pub fn status_int<S>(status: Option<&S>, field: fn(&S) -> Option<i32>, s: &mut Samples) {
    s.value(f64::from(status.and_then(field).unwrap_or(0)));
}

/// `kube_<kind>_labels`: one series carrying the allowlisted labels as `label_<key>`.
pub fn labels_family(meta: &ObjectMeta, filter: &KeyFilter, s: &mut Samples) {
    map_family(meta.labels.as_ref(), filter, "label", s);
}

/// `kube_<kind>_annotations`: one series carrying the allowlisted annotations as
/// `annotation_<key>`.
pub fn annotations_family(meta: &ObjectMeta, filter: &KeyFilter, s: &mut Samples) {
    map_family(meta.annotations.as_ref(), filter, "annotation", s);
}

/// KSM writes no series when the kind is not allowlisted at all, and one series (possibly with
/// only base labels) when it is.
fn map_family(map: Option<&BTreeMap<String, String>>, filter: &KeyFilter, prefix: &str, s: &mut Samples) {
    if filter.is_empty() {
        return;
    }
    let empty = BTreeMap::new();
    let map = map.unwrap_or(&empty);
    let selected: Vec<(&str, &str)> = map
        .iter()
        .filter(|(k, _)| filter.allows(k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    s.push(prometheus_label_pairs(prefix, &selected), 1.0);
}

/// Maps Kubernetes keys (sorted) to Prometheus label names the way KSM does:
/// `prefix_` + snake_case(sanitized key); keys that collide all get `_conflictN` suffixes in
/// key order, skipping names already taken, so no label name is emitted twice.
pub fn prometheus_label_pairs<'v>(prefix: &str, sorted: &[(&str, &'v str)]) -> Vec<(String, &'v str)> {
    let names: Vec<String> = sorted
        .iter()
        .map(|(k, _)| format!("{prefix}_{}", snake_case(&sanitize_key(k))))
        .collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &names {
        *counts.entry(n.as_str()).or_default() += 1;
    }
    let mut taken: std::collections::BTreeSet<String> =
        names.iter().filter(|n| counts[n.as_str()] == 1).cloned().collect();
    let mut next_suffix: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(sorted.len());
    for (name, (_, value)) in names.iter().zip(sorted) {
        if counts[name.as_str()] == 1 {
            out.push((name.clone(), *value));
            continue;
        }
        let n = next_suffix.entry(name.as_str()).or_insert(0);
        let unique = loop {
            *n += 1;
            let candidate = format!("{name}_conflict{n}");
            if !taken.contains(&candidate) {
                break candidate;
            }
        };
        taken.insert(unique.clone());
        out.push((unique, *value));
    }
    out
}

/// KSM's `SanitizeLabelName`: every character outside `[a-zA-Z0-9_]` becomes `_` (the prefix
/// already makes the final name valid, so a leading digit is kept).
fn sanitize_key(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect()
}

/// KSM's `toSnakeCase`: `_` before an upper-case letter that follows a lower-case letter or a
/// digit, then lower-case everything (`fooBar` → `foo_bar`, `HTTPServer` → `httpserver`).
pub fn snake_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let mut prev: Option<char> = None;
    for c in s.chars() {
        if c.is_ascii_uppercase() && prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit()) {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
        prev = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_matches_ksm() {
        assert_eq!(snake_case("fooBar"), "foo_bar");
        assert_eq!(snake_case("HTTPServer"), "httpserver");
        assert_eq!(snake_case("a1B"), "a1_b");
        assert_eq!(snake_case("aBC"), "a_bc");
    }

    #[test]
    fn keys_become_prefixed_snake_case_names() {
        let pairs = prometheus_label_pairs("label", &[("app.kubernetes.io/name", "web"), ("fooBar", "x")]);
        assert_eq!(
            pairs,
            vec![
                ("label_app_kubernetes_io_name".to_string(), "web"),
                ("label_foo_bar".to_string(), "x")
            ]
        );
    }

    #[test]
    fn conflicting_keys_all_get_suffixes() {
        let pairs = prometheus_label_pairs(
            "label",
            &[("foo-bar", "1"), ("foo.bar", "2"), ("foo/bar", "3"), ("x", "4")],
        );
        let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "label_foo_bar_conflict1",
                "label_foo_bar_conflict2",
                "label_foo_bar_conflict3",
                "label_x"
            ]
        );
    }

    #[test]
    fn suffixes_skip_names_taken_by_other_keys() {
        let pairs = prometheus_label_pairs("label", &[("a-b", "1"), ("a.b", "2"), ("a_b_conflict1", "3")]);
        let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["label_a_b_conflict2", "label_a_b_conflict3", "label_a_b_conflict1"]
        );
    }
}
