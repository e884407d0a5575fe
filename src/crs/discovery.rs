//! What the cluster serves, and which configured resources it makes concrete kinds: CRDs are
//! read as lean summaries (their schemas, often megabytes, are skipped while decoding), the
//! built-in kinds come from the kind table, and [`resolve`] matches the config's GVKs,
//! wildcards included, against both.
//!
//! KSM's discovery resolves wildcards the same way (`ResolveGVKToGVKPs`); it differs in two
//! places, both to avoid series that could not be right: a version that is not served or a CRD
//! that is not `Established` is not watched (KSM would watch it and log list errors), and a GVK
//! two config entries both match is served by the first only (KSM serves it twice, the
//! duplicate-sample bugs #2223/#2446).

use std::borrow::Cow;
use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::ClusterResourceScope;
use serde::Deserialize;

use super::config::{GroupVersionKind, Resource};

/// A CustomResourceDefinition, as much of it as discovery reads.
#[derive(Clone, Debug, Deserialize)]
pub struct Crd {
    metadata: ObjectMeta,
    #[serde(default)]
    spec: CrdSpec,
    #[serde(default)]
    status: CrdStatus,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct CrdSpec {
    #[serde(default)]
    group: String,
    #[serde(default)]
    names: CrdNames,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    versions: Vec<CrdVersion>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct CrdNames {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    plural: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct CrdVersion {
    #[serde(default)]
    name: String,
    #[serde(default)]
    served: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct CrdStatus {
    #[serde(default)]
    conditions: Vec<CrdCondition>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct CrdCondition {
    #[serde(rename = "type", default)]
    type_: String,
    #[serde(default)]
    status: String,
}

impl kube::Resource for Crd {
    type DynamicType = ();
    type Scope = ClusterResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "CustomResourceDefinition".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "apiextensions.k8s.io".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "customresourcedefinitions".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl Crd {
    /// The CRD's name (`{plural}.{group}`).
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    /// What it serves now: each served version, once the API server reports it `Established`
    /// (before that its URLs answer 404).
    pub fn served(&self) -> Vec<ServedKind> {
        let established = self
            .status
            .conditions
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        if !established {
            return Vec::new();
        }
        self.spec
            .versions
            .iter()
            .filter(|v| v.served)
            .map(|v| ServedKind {
                group: self.spec.group.clone(),
                version: v.name.clone(),
                kind: self.spec.names.kind.clone(),
                plural: self.spec.names.plural.clone(),
                namespaced: self.spec.scope != "Cluster",
            })
            .collect()
    }
}

/// One version of one kind the cluster serves.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServedKind {
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// The plural in its URL.
    pub plural: String,
    /// Whether its objects live in namespaces.
    pub namespaced: bool,
}

impl ServedKind {
    /// Its group, version and kind.
    pub fn gvk(&self) -> GroupVersionKind {
        GroupVersionKind {
            group: self.group.clone(),
            version: self.version.clone(),
            kind: self.kind.clone(),
        }
    }
}

/// The built-in kinds of the kind table: every API server serves them without a CRD, and a
/// config may name them (KSM's CRS reads any kind).
pub fn built_in() -> Vec<ServedKind> {
    crate::kinds::table()
        .iter()
        .map(|e| ServedKind {
            group: e.group.into(),
            version: e.version.into(),
            kind: e.kind.into(),
            plural: e.resource.into(),
            namespaced: e.namespaced,
        })
        .collect()
}

/// A configured resource made concrete: what to watch, under which name, rendered how.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// The name the store, `/readyz` and `?resources=` know it by: `{plural}.{group}`, or
    /// `{plural}.{version}.{group}` (kubectl's spelling) when the config's version is a
    /// wildcard and several versions may be served side by side.
    pub name: String,
    /// The config entry it comes from.
    pub resource: Resource,
    /// What it watches.
    pub served: ServedKind,
}

/// The concrete kinds `resources` make of what the cluster serves, in config order; a GVK
/// matched by an earlier entry is not matched again.
pub fn resolve(resources: &[Resource], served: &[ServedKind]) -> Vec<Resolved> {
    let mut served: Vec<&ServedKind> = served.iter().collect();
    served.sort();
    served.dedup();
    let mut claimed = BTreeSet::new();
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for resource in resources {
        let gvk = &resource.group_version_kind;
        for s in &served {
            let matches = s.group == gvk.group
                && (gvk.version_is_wildcard() || s.version == gvk.version)
                && (gvk.kind_is_wildcard() || s.kind == gvk.kind);
            if !matches {
                continue;
            }
            let name = if gvk.version_is_wildcard() {
                format!("{}.{}.{}", s.plural, s.version, s.group)
            } else {
                format!("{}.{}", s.plural, s.group)
            };
            if !claimed.insert(s.gvk()) || !names.insert(name.clone()) {
                tracing::warn!(
                    resource = %gvk,
                    served = %s.gvk(),
                    "custom resource matched by an earlier config entry; served once, by that entry"
                );
                continue;
            }
            out.push(Resolved {
                name,
                resource: resource.clone(),
                served: (*s).clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(json: serde_json::Value) -> Crd {
        serde_json::from_value(json).unwrap()
    }

    fn widget_crd(established: &str, versions: &[(&str, bool)], scope: &str) -> Crd {
        let versions: Vec<_> = versions
            .iter()
            .map(|(v, served)| {
                serde_json::json!({"name": v, "served": served, "storage": false,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object"}}}}})
            })
            .collect();
        crd(serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.acme.example", "uid": "u1", "resourceVersion": "7"},
            "spec": {"group": "acme.example", "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
                     "scope": scope, "versions": versions},
            "status": {"conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                {"type": "Established", "status": established, "reason": "InitialNamesAccepted"}]},
        }))
    }

    fn config(yaml: &str) -> Vec<Resource> {
        crate::crs::parse(yaml).unwrap().resources
    }

    fn served(group: &str, version: &str, kind: &str, plural: &str) -> ServedKind {
        ServedKind {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced: true,
        }
    }

    const ONE: &str = "kind: CustomResourceStateMetrics\nspec:\n  resources:\n";

    fn entry(version: &str, kind: &str) -> String {
        format!(
            "    - groupVersionKind: {{group: acme.example, version: \"{version}\", kind: \"{kind}\"}}\n      metrics:\n        - name: up\n          help: Up.\n          each: {{type: Gauge, gauge: {{path: [spec, replicas]}}}}\n"
        )
    }

    #[test]
    fn only_established_crds_serve_and_only_their_served_versions() {
        let ready = widget_crd("True", &[("v1", true), ("v2", true), ("v0", false)], "Namespaced");
        assert_eq!(ready.name(), "widgets.acme.example");
        assert_eq!(
            ready.served(),
            vec![
                served("acme.example", "v1", "Widget", "widgets"),
                served("acme.example", "v2", "Widget", "widgets")
            ]
        );
        assert!(widget_crd("False", &[("v1", true)], "Namespaced").served().is_empty());
        assert!(!widget_crd("True", &[("v1", true)], "Cluster").served()[0].namespaced);
        let bare = crd(serde_json::json!({"metadata": {"name": "x.y"}}));
        assert!(bare.served().is_empty(), "a CRD without status is not established");
    }

    #[test]
    fn concrete_gvks_match_one_served_kind_and_take_the_crd_plural() {
        let resources = config(&format!("{ONE}{}", entry("v1", "Widget")));
        let resolved = resolve(
            &resources,
            &[
                served("acme.example", "v1", "Widget", "widgetz"),
                served("acme.example", "v2", "Widget", "widgetz"),
                served("acme.example", "v1", "Gadget", "gadgets"),
                served("other.example", "v1", "Widget", "widgets"),
            ],
        );
        let names: Vec<&str> = resolved.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["widgetz.acme.example"]);
        assert_eq!(resolved[0].served.version, "v1");
        assert!(
            resolve(&resources, &[]).is_empty(),
            "a CRD not installed resolves to nothing"
        );
    }

    #[test]
    fn wildcards_expand_to_every_served_version_and_kind_of_the_group() {
        let all = [
            served("acme.example", "v1", "Widget", "widgets"),
            served("acme.example", "v2", "Widget", "widgets"),
            served("acme.example", "v1", "Gadget", "gadgets"),
            served("other.example", "v1", "Widget", "widgets"),
        ];
        let names =
            |yaml: String| -> Vec<String> { resolve(&config(&yaml), &all).into_iter().map(|r| r.name).collect() };
        assert_eq!(
            names(format!("{ONE}{}", entry("*", "Widget"))),
            ["widgets.v1.acme.example", "widgets.v2.acme.example"]
        );
        assert_eq!(
            names(format!("{ONE}{}", entry("v1", "*"))),
            ["gadgets.acme.example", "widgets.acme.example"]
        );
        assert_eq!(
            names(format!("{ONE}{}", entry("*", "*"))),
            [
                "gadgets.v1.acme.example",
                "widgets.v1.acme.example",
                "widgets.v2.acme.example"
            ]
        );
    }

    #[test]
    fn a_gvk_two_entries_match_is_served_by_the_first_only() {
        let resolved = resolve(
            &config(&format!("{ONE}{}{}", entry("v1", "Widget"), entry("*", "Widget"))),
            &[
                served("acme.example", "v1", "Widget", "widgets"),
                served("acme.example", "v2", "Widget", "widgets"),
            ],
        );
        let got: Vec<(&str, &str)> = resolved
            .iter()
            .map(|r| (r.name.as_str(), r.resource.group_version_kind.version.as_str()))
            .collect();
        assert_eq!(got, [("widgets.acme.example", "v1"), ("widgets.v2.acme.example", "*")]);
    }
}
