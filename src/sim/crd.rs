//! CustomResourceDefinitions (`apiextensions.k8s.io/v1`) and the custom resources they serve.
//!
//! The CRD itself is an ordinary stored resource ([`crd_def`], in the built-in table). What a real
//! apiextensions-apiserver does around it is done here, synchronously inside the write that
//! triggers it (under one hold of the state lock, so no request sees a half-done step):
//! - create: defaulting (`spec.names.singular`/`listKind`, `spec.conversion`) and validation (422),
//!   `status.storedVersions`; then every served version becomes a resource (`Registry::add`), and
//!   the naming and establishing controllers' status updates follow as two MODIFIED events
//!   (`NamesAccepted`, then `Established`);
//! - delete: the REST handler's MODIFIED (deletionTimestamp, cleanup finalizer, `Terminating`),
//!   the finalizer controller's MODIFIED, a DELETED for every custom resource, then the CRD's
//!   DELETED; its resources are retired (tombstones: URLs 404, discovery drops them, open
//!   watches end after the DELETED events).
//!
//! Custom resources are schemaless JSON under the usual metadata; the served versions of one
//! CRD share one storage (`State::add_resource`), as the `None` conversion strategy does.
//! Updating a CRD does not change what it serves.

use super::json::{NameRule, now_rfc3339};
use super::registry::{ResourceDef, leak, version_rank};
use super::status::Cause;
use super::store::{Core, EventType, OpError, State, Stored, meta_mut};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The API group of CustomResourceDefinitions.
pub const GROUP: &str = "apiextensions.k8s.io";
/// The resource name of CustomResourceDefinitions.
pub const PLURAL: &str = "customresourcedefinitions";
/// The finalizer the REST handler adds on delete; the finalizer controller removes it once the
/// custom resources are gone.
const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";
/// Groups that need the API review approval annotation (KEP 1111).
const APPROVAL_ANNOTATION: &str = "api-approved.kubernetes.io";

/// The `customresourcedefinitions.apiextensions.k8s.io/v1` resource.
pub fn crd_def() -> ResourceDef {
    ResourceDef {
        group: GROUP,
        version: "v1",
        api_version: "apiextensions.k8s.io/v1",
        plural: PLURAL,
        singular: "customresourcedefinition",
        kind: "CustomResourceDefinition",
        list_kind: "CustomResourceDefinitionList",
        namespaced: false,
        watchable: true,
        list_resource_version: true,
        has_generation: true,
        status_subresource: true,
        graceful_delete: false,
        short_names: &["crd", "crds"],
        categories: &["api-extensions"],
        fields: &[],
        // The Go zero value of CustomResourceDefinition (spec.versions and status.storedVersions
        // have no omitempty).
        bookmark_tail: r#","spec":{"group":"","names":{"plural":"","kind":""},"scope":"","versions":null},"status":{"acceptedNames":{"plural":"","kind":""},"storedVersions":null}"#,
        malformed_spec: r#"{"versions":"oops"}"#,
        name_rule: NameRule::Subdomain,
        derived: false,
        custom: false,
    }
}

/// A minimal valid CRD manifest for tests and demos: `{plural}.{group}`, every version served,
/// the first one the storage version, each with a `/status` subresource and a schema that keeps
/// unknown fields (objects are schemaless). Create it with `Sim::create`.
pub fn crd_manifest(group: &str, kind: &str, plural: &str, namespaced: bool, versions: &[&str]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({
                "name": v,
                "served": true,
                "storage": i == 0,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}},
            })
        })
        .collect();
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {
            "group": group,
            "names": {"plural": plural, "kind": kind},
            "scope": if namespaced { "Namespaced" } else { "Cluster" },
            "versions": versions,
        },
    })
}

/// Is this the CustomResourceDefinition resource?
pub fn is_crd(def: &ResourceDef) -> bool {
    def.group == GROUP && def.plural == PLURAL
}

fn str_at<'a>(v: &'a Value, path: &str) -> &'a str {
    v.pointer(path).and_then(Value::as_str).unwrap_or("")
}

fn required(field: &str, detail: &str) -> Cause {
    Cause {
        reason: Some("FieldValueRequired".into()),
        message: if detail.is_empty() {
            "Required value".into()
        } else {
            format!("Required value: {detail}")
        },
        field: Some(field.into()),
    }
}

fn invalid(field: &str, value: &Value, detail: &str) -> Cause {
    Cause {
        reason: Some("FieldValueInvalid".into()),
        message: format!("Invalid value: {value}: {detail}"),
        field: Some(field.into()),
    }
}

/// Is `group` reserved for Kubernetes APIs (needs [`APPROVAL_ANNOTATION`])?
fn protected_group(group: &str) -> bool {
    ["k8s.io", "kubernetes.io"]
        .iter()
        .any(|d| group == *d || group.ends_with(&format!(".{d}")))
}

/// Create-time defaulting and validation of a CRD named `name` (the v1 defaulters, the CRD
/// strategy's PrepareForCreate, the apiextensions validation this sim checks). Returns the
/// validation failures; the caller answers 422 when there are any.
pub fn prepare_create(obj: &mut Map<String, Value>, name: &str) -> Vec<Cause> {
    let spec = obj.entry("spec").or_insert_with(|| json!({}));
    if !spec.is_object() {
        *spec = json!({});
    }
    // SetDefaults_CustomResourceDefinitionSpec.
    let kind = str_at(spec, "/names/kind").to_string();
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        if names.get("singular").and_then(Value::as_str).is_none_or(str::is_empty) {
            names.insert("singular".into(), Value::String(kind.to_ascii_lowercase()));
        }
        if names.get("listKind").and_then(Value::as_str).is_none_or(str::is_empty) && !kind.is_empty() {
            names.insert("listKind".into(), Value::String(format!("{kind}List")));
        }
    }
    if spec.get("conversion").is_none_or(Value::is_null) {
        spec["conversion"] = json!({"strategy": "None"});
    }

    let spec = &obj["spec"];
    let group = str_at(spec, "/group");
    let plural = str_at(spec, "/names/plural");
    let mut causes = Vec::new();
    if name != format!("{plural}.{group}") {
        causes.push(invalid(
            "metadata.name",
            &Value::String(name.into()),
            r#"must be spec.names.plural+"."+spec.group"#,
        ));
    }
    if protected_group(group)
        && obj
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(APPROVAL_ANNOTATION))
            .is_none()
    {
        causes.push(required(
            &format!("metadata.annotations[{APPROVAL_ANNOTATION}]"),
            &format!(
                "protected groups must have approval annotation {APPROVAL_ANNOTATION:?}, see https://github.com/kubernetes/enhancements/pull/1111"
            ),
        ));
    }
    if group.is_empty() {
        causes.push(required("spec.group", ""));
    } else if !group.contains('.') {
        causes.push(invalid(
            "spec.group",
            &Value::String(group.into()),
            "should be a domain with at least one dot",
        ));
    }
    match str_at(spec, "/scope") {
        "Namespaced" | "Cluster" => {}
        "" => causes.push(required("spec.scope", "")),
        s => causes.push(Cause {
            reason: Some("FieldValueNotSupported".into()),
            message: format!(r#"Unsupported value: {s:?}: supported values: "Cluster", "Namespaced""#),
            field: Some("spec.scope".into()),
        }),
    }
    if plural.is_empty() {
        causes.push(required("spec.names.plural", ""));
    }
    if str_at(spec, "/names/kind").is_empty() {
        causes.push(required("spec.names.kind", ""));
    }
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push(required("spec.versions", "must have at least one version"));
    }
    for (i, v) in versions.iter().enumerate() {
        if str_at(v, "/name").is_empty() {
            causes.push(required(&format!("spec.versions[{i}].name"), ""));
        }
    }
    let storage: Vec<&str> = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .map(|v| str_at(v, "/name"))
        .collect();
    if storage.len() != 1 {
        causes.push(invalid(
            "spec.versions",
            spec.get("versions").unwrap_or(&Value::Null),
            "must have exactly one version marked as storage version",
        ));
    }
    // PrepareForCreate: the status starts over, with the storage version recorded.
    let stored_versions: Vec<Value> = storage.iter().take(1).map(|s| Value::from(*s)).collect();
    obj.insert(
        "status".into(),
        json!({"acceptedNames": {"plural": "", "kind": ""}, "storedVersions": stored_versions}),
    );
    causes
}

/// Strings of a JSON array as a leaked slice (the custom resource defs live for the process).
fn leak_strs(v: Option<&Value>) -> &'static [&'static str] {
    let items: Vec<&'static str> = v
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|s| leak(s.to_string()))
                .collect()
        })
        .unwrap_or_default();
    Box::leak(items.into_boxed_slice())
}

/// The resource one served version of a (validated, defaulted) CRD spec defines.
fn version_def(spec: &Value, version: &Value) -> ResourceDef {
    let group = leak(str_at(spec, "/group").to_string());
    let name = leak(str_at(version, "/name").to_string());
    // `selectableFields` (GA in 1.32): `.spec.color` selects as `spec.color`; absent reads "".
    let fields: Vec<(&'static str, &'static str)> = version
        .get("selectableFields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|f| str_at(f, "/jsonPath"))
                .filter(|p| !p.is_empty())
                .map(|p| (leak(p.trim_start_matches('.').to_string()), ""))
                .collect()
        })
        .unwrap_or_default();
    ResourceDef {
        group,
        version: name,
        api_version: leak(format!("{group}/{name}")),
        plural: leak(str_at(spec, "/names/plural").to_string()),
        singular: leak(str_at(spec, "/names/singular").to_string()),
        kind: leak(str_at(spec, "/names/kind").to_string()),
        list_kind: leak(str_at(spec, "/names/listKind").to_string()),
        namespaced: str_at(spec, "/scope") == "Namespaced",
        watchable: true,
        list_resource_version: true,
        has_generation: true,
        status_subresource: version.pointer("/subresources/status").is_some_and(Value::is_object),
        graceful_delete: false,
        short_names: leak_strs(spec.pointer("/names/shortNames")),
        categories: leak_strs(spec.pointer("/names/categories")),
        fields: Box::leak(fields.into_boxed_slice()),
        // An unstructured BOOKMARK object has nothing but apiVersion, kind and metadata.
        bookmark_tail: "",
        malformed_spec: r#""oops""#,
        name_rule: NameRule::Subdomain,
        derived: false,
        custom: true,
    }
}

/// Sets condition `type_` as apiextensions' SetCRDCondition does: replaced in place, appended
/// when new; `lastTransitionTime` moves only when the status changes.
fn set_condition(obj: &mut Map<String, Value>, type_: &str, status: &str, reason: &str, message: &str) {
    let st = obj.entry("status").or_insert_with(|| json!({}));
    if !st.is_object() {
        *st = json!({});
    }
    if !st["conditions"].is_array() {
        st["conditions"] = json!([]);
    }
    let Some(conds) = st["conditions"].as_array_mut() else {
        return;
    };
    let mut cond = json!({
        "type": type_,
        "status": status,
        "lastTransitionTime": now_rfc3339(),
        "reason": reason,
        "message": message,
    });
    match conds.iter_mut().find(|c| c["type"] == type_) {
        Some(old) => {
            if old["status"] == status {
                cond["lastTransitionTime"] = old["lastTransitionTime"].clone();
            }
            *old = cond;
        }
        None => conds.push(cond),
    }
}

/// Commits a MODIFIED of CRD `existing` with `obj`; returns the new stored version.
fn modify(
    core: &Core,
    st: &mut State,
    res: usize,
    obj: Map<String, Value>,
    existing: Arc<Stored>,
    touched: &mut Vec<(usize, u64)>,
) -> (Map<String, Value>, Arc<Stored>) {
    core.commit(st, res, EventType::Modified, obj, Some(existing), touched)
}

/// After a CRD's ADDED (`stored`, at index `res`): serve its versions, then the naming
/// controller's and the establishing controller's status updates.
pub fn establish(core: &Core, st: &mut State, res: usize, stored: Arc<Stored>, touched: &mut Vec<(usize, u64)>) {
    let mut obj = stored.to_map();
    let name = stored.name.clone();
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    let mut served: Vec<&Value> = spec
        .get("versions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
                .collect()
        })
        .unwrap_or_default();
    // Preferred version first, so `Registry::by_name` picks it.
    served.sort_by(|a, b| version_rank(str_at(a, "/name")).cmp(&version_rank(str_at(b, "/name"))));
    let mut storage = None;
    for v in served {
        let def = version_def(&spec, v);
        // A built-in resource at the same path wins, as the real handler chain serves it first.
        if core.reg.by_path(def.group, def.version, def.plural).is_some() {
            continue;
        }
        let idx = st.add_resource(storage);
        let reg_idx = core.reg.add(Box::leak(Box::new(def)), &name);
        debug_assert_eq!(idx, reg_idx, "state and registry grow in step");
        storage.get_or_insert(idx);
    }

    // NamingConditionController: the names are accepted (the sim checks no conflicts).
    let mut accepted = Map::new();
    for k in ["plural", "singular", "shortNames", "kind", "listKind", "categories"] {
        if let Some(v) = spec.pointer(&format!("/names/{k}")) {
            accepted.insert(k.into(), v.clone());
        }
    }
    if let Some(Value::Object(status)) = obj.get_mut("status") {
        status.insert("acceptedNames".into(), Value::Object(accepted));
    }
    set_condition(&mut obj, "NamesAccepted", "True", "NoConflicts", "no conflicts found");
    set_condition(
        &mut obj,
        "Established",
        "False",
        "Installing",
        "the initial names have been accepted",
    );
    let (mut obj, stored) = modify(core, st, res, obj, stored, touched);
    // EstablishingController.
    set_condition(
        &mut obj,
        "Established",
        "True",
        "InitialNamesAccepted",
        "the initial names have been accepted",
    );
    modify(core, st, res, obj, stored, touched);
}

/// DELETE of CRD `name`: marks it (deletionTimestamp, cleanup finalizer, `Terminating`), then runs
/// the finalizer controller: the custom resources are deleted, the finalizer removed, and the CRD
/// goes (unless other finalizers hold it). Returns what the real DELETE answers: the marked CRD,
/// not yet gone (200 with the object).
pub fn delete(core: &Core, res: usize, name: &str) -> Result<(Value, bool), OpError> {
    let mut touched = Vec::new();
    let out = {
        let mut st = core.lock();
        let existing = st.get(res, "", name).cloned().ok_or_else(|| OpError::NotFound {
            res,
            name: name.to_string(),
        })?;
        let mut obj = existing.to_map();
        if obj.get("metadata").and_then(|m| m.get("deletionTimestamp")).is_some() {
            // Already terminating (held by another finalizer): nothing more to do.
            return Ok((core.typed(res, obj), false));
        }
        // The REST handler's update (straight to storage: no generation bump).
        let meta = meta_mut(&mut obj);
        meta.insert("deletionTimestamp".into(), Value::String(now_rfc3339()));
        let finalizers = meta.entry("finalizers").or_insert_with(|| json!([]));
        if let Value::Array(f) = finalizers
            && !f.iter().any(|x| x == CLEANUP_FINALIZER)
        {
            f.push(Value::from(CLEANUP_FINALIZER));
        }
        set_condition(
            &mut obj,
            "Terminating",
            "True",
            "InstanceDeletionPending",
            "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
        );
        let (marked, stored) = modify(core, &mut st, res, obj, existing, &mut touched);

        // The finalizer controller.
        let mut obj = marked.clone();
        set_condition(
            &mut obj,
            "Terminating",
            "True",
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress",
        );
        let (mut obj, stored) = modify(core, &mut st, res, obj, stored, &mut touched);
        purge_instances(core, &mut st, &obj, &mut touched);
        set_condition(
            &mut obj,
            "Terminating",
            "False",
            "InstanceDeletionCompleted",
            "removed all instances",
        );
        let meta = meta_mut(&mut obj);
        if let Some(Value::Array(f)) = meta.get_mut("finalizers") {
            f.retain(|x| x != CLEANUP_FINALIZER);
            if f.is_empty() {
                meta.remove("finalizers");
            }
        }
        let held = meta.contains_key("finalizers");
        let kind = if held { EventType::Modified } else { EventType::Deleted };
        core.commit(&mut st, res, kind, obj, Some(stored), &mut touched);
        marked
    };
    core.notify(&touched);
    Ok((core.typed(res, out), false))
}

/// Deletes every custom resource of CRD `crd` (DELETED events, in namespace/name order). Also
/// wakes the watches of its resources even when there was nothing to delete, so they notice the
/// resource retired in the same lock hold.
pub fn purge_instances(core: &Core, st: &mut State, crd: &Map<String, Value>, touched: &mut Vec<(usize, u64)>) {
    let name = crd_name(crd);
    let Some(&res) = core.reg.of_crd(name).first() else {
        return;
    };
    for item in st.scope_items(res, None) {
        let obj = item.to_map();
        core.commit(st, res, EventType::Deleted, obj, Some(item), touched);
    }
    touched.push((st.storage(res), st.rv));
}

/// After a CRD's DELETED: its resources stop being served.
pub fn retire(core: &Core, crd: &Map<String, Value>) {
    core.reg.retire_crd(crd_name(crd));
}

fn crd_name(crd: &Map<String, Value>) -> &str {
    crd.get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
}
