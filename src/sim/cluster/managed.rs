//! `metadata.managedFields` as a v1.36 API server records them: which manager wrote which
//! fields, in the structured-merge-diff `FieldsV1` form.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::util::ts;

/// `fieldsV1` for the fields `v` sets, as structured-merge-diff records them: `f:<key>` per
/// field, `.` on maps of strings and on list items, list items keyed by their merge key
/// (`k:{"name":…}`, `k:{"type":…}` for conditions and addresses); other lists are one leaf.
pub fn fields_v1(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            if !m.is_empty() && m.values().all(Value::is_string) {
                out.insert(".".into(), json!({}));
            }
            for (k, x) in m {
                out.insert(format!("f:{k}"), fields_v1(x));
            }
            Value::Object(out)
        }
        Value::Array(items) if !items.is_empty() && merge_key(items).is_some() => {
            let key_field = merge_key(items).unwrap_or("name");
            let mut out = Map::new();
            out.insert(".".into(), json!({}));
            for i in items {
                let key = json!({key_field: i[key_field]}).to_string();
                let mut f = fields_v1(i);
                if let Value::Object(fm) = &mut f {
                    fm.insert(".".into(), json!({}));
                }
                out.insert(format!("k:{key}"), f);
            }
            Value::Object(out)
        }
        _ => json!({}),
    }
}

/// One `managedFields` entry (operation `Update`).
pub fn managed_entry(
    manager: &str,
    api_version: &str,
    time: Timestamp,
    subresource: Option<&str>,
    fields: Value,
) -> Value {
    let mut e = json!({
        "manager": manager, "operation": "Update", "apiVersion": api_version, "time": ts(time),
        "fieldsType": "FieldsV1", "fieldsV1": fields,
    });
    if let Some(s) = subresource {
        e["subresource"] = json!(s);
    }
    e
}

/// Adds `managedFields` to `obj`: `manager` owns labels, annotations, owner references and every
/// top-level field but `status` (at creation); `status_manager` owns `status` through the
/// `/status` subresource since its last write.
pub fn add_managed(obj: &mut Value, manager: &str, status_manager: Option<(&str, Timestamp)>) {
    let api_version = obj["apiVersion"].as_str().unwrap_or("v1").to_string();
    let created = obj["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|s| s.parse::<Timestamp>().ok())
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let mut main = Map::new();
    let mut meta = Map::new();
    for k in ["labels", "annotations", "ownerReferences", "finalizers"] {
        if let Some(v) = obj["metadata"].get(k) {
            let f = if k == "ownerReferences" {
                owner_refs_fields(v)
            } else {
                fields_v1(v)
            };
            meta.insert(format!("f:{k}"), f);
        }
    }
    if !meta.is_empty() {
        main.insert("f:metadata".into(), Value::Object(meta));
    }
    if let Value::Object(m) = &*obj {
        for (k, v) in m {
            if !matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status") {
                main.insert(format!("f:{k}"), fields_v1(v));
            }
        }
    }
    let mut entries = vec![managed_entry(manager, &api_version, created, None, Value::Object(main))];
    if let Some((m, t)) = status_manager
        && let Some(st) = obj
            .get("status")
            .filter(|s| s.as_object().is_some_and(|m| !m.is_empty()))
    {
        entries.push(managed_entry(
            m,
            &api_version,
            t,
            Some("status"),
            json!({"f:status": fields_v1(st)}),
        ));
    }
    obj["metadata"]["managedFields"] = Value::Array(entries);
}

fn owner_refs_fields(v: &Value) -> Value {
    let mut out = Map::new();
    out.insert(".".into(), json!({}));
    for r in v.as_array().into_iter().flatten() {
        let key = json!({"uid": r["uid"]}).to_string();
        let mut f = fields_v1(r);
        if let Value::Object(fm) = &mut f {
            fm.insert(".".into(), json!({}));
            fm.remove("f:uid");
            fm.insert("f:uid".into(), json!({}));
        }
        out.insert(format!("k:{key}"), f);
    }
    Value::Object(out)
}

/// The merge key of a list of objects: `name`, else `type` (conditions, node addresses).
fn merge_key(items: &[Value]) -> Option<&'static str> {
    ["name", "type"]
        .into_iter()
        .find(|k| items.iter().all(|i| i.get(*k).is_some_and(Value::is_string)))
}

/// The latest RFC 3339 time anywhere in `v` (the last write of a status that records its times).
pub fn latest_time(v: &Value) -> Option<Timestamp> {
    match v {
        Value::String(s) if s.len() >= 20 && s.ends_with('Z') => s.parse().ok(),
        Value::Object(m) => m.values().filter_map(latest_time).max(),
        Value::Array(a) => a.iter().filter_map(latest_time).max(),
        _ => None,
    }
}

/// `managedFields` of an object a controller or client created and a controller keeps the status
/// of: `manager` owns what was written at creation, `status_manager` the status since its latest
/// recorded time (the creation when the status records none).
pub fn add_managed_status(obj: &mut Value, manager: &str, status_manager: &str) {
    let created = obj["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|s| s.parse().ok());
    let written = latest_time(&obj["status"])
        .max(created)
        .unwrap_or(Timestamp::UNIX_EPOCH);
    add_managed(obj, manager, Some((status_manager, written)));
}
