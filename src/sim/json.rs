//! JSON helpers: object encoding in API-server key order, kind/apiVersion splicing, merge patch,
//! timestamps, UIDs and name validation.

use serde_json::{Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// ObjectMeta field order of a real API server (Go struct order).
const META_ORDER: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

fn write_value(out: &mut Vec<u8>, v: &Value) {
    // Serializing a `Value` into a Vec cannot fail (keys are strings, no I/O).
    let _ = serde_json::to_writer(&mut *out, v);
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *out, s);
}

fn write_key(out: &mut Vec<u8>, key: &str, first: &mut bool) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    write_str(out, key);
    out.push(b':');
}

fn write_meta(out: &mut Vec<u8>, meta: &Map<String, Value>) {
    out.push(b'{');
    let mut first = true;
    for k in META_ORDER {
        if let Some(v) = meta.get(*k) {
            write_key(out, k, &mut first);
            write_value(out, v);
        }
    }
    for (k, v) in meta {
        if !META_ORDER.contains(&k.as_str()) {
            write_key(out, k, &mut first);
            write_value(out, v);
        }
    }
    out.push(b'}');
}

/// Encodes an object without `apiVersion`/`kind`: `metadata` (fields in ObjectMeta order), `spec`,
/// `status`, then the other top-level keys. Returns the bytes and the offset just past the
/// metadata value (`bytes[..meta_end]` is `{"metadata":{…}`), or 1 when there is no metadata.
pub fn encode_object(obj: &Map<String, Value>) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(1024);
    out.push(b'{');
    let mut first = true;
    let mut meta_end = 1;
    if let Some(meta) = obj.get("metadata") {
        write_key(&mut out, "metadata", &mut first);
        match meta {
            Value::Object(m) => write_meta(&mut out, m),
            other => write_value(&mut out, other),
        }
        meta_end = out.len();
    }
    for k in ["spec", "status"] {
        if let Some(v) = obj.get(k) {
            write_key(&mut out, k, &mut first);
            write_value(&mut out, v);
        }
    }
    for (k, v) in obj {
        if matches!(k.as_str(), "metadata" | "spec" | "status" | "apiVersion" | "kind") {
            continue;
        }
        write_key(&mut out, k, &mut first);
        write_value(&mut out, v);
    }
    out.push(b'}');
    (out, meta_end)
}

/// Appends `type_prefix` (`{"kind":…,"apiVersion":…"`) joined with the body of `obj` (`{…}`).
pub fn splice_type(out: &mut Vec<u8>, type_prefix: &[u8], obj: &[u8]) {
    out.extend_from_slice(type_prefix);
    if obj.len() > 2 {
        out.push(b',');
        out.extend_from_slice(&obj[1..]);
    } else {
        out.push(b'}');
    }
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Seconds since the Unix epoch as RFC 3339 UTC with seconds precision (`2026-11-24T05:09:03Z`).
pub fn format_rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

/// Now, as [`format_rfc3339`].
pub fn now_rfc3339() -> String {
    format_rfc3339(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

/// A random UID in UUID v4 format.
pub fn random_uid() -> String {
    let mut x = fastrand::u128(..);
    x = (x & !(0xF << 76)) | (0x4 << 76);
    x = (x & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (x >> 96) as u32,
        ((x >> 80) & 0xFFFF) as u16,
        ((x >> 64) & 0xFFFF) as u16,
        ((x >> 48) & 0xFFFF) as u16,
        (x & 0xFFFF_FFFF_FFFF) as u64
    )
}

/// The 5-character suffix the API server appends to `generateName`.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Which rule a resource's object names follow on a real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 subdomain (most resources).
    Subdomain,
    /// RFC 1123 label (namespaces).
    Label,
    /// Any path segment (RBAC objects: `system:basic-user`).
    PathSegment,
}

/// Validates an object name; `Err` carries the validation message of a real server (without the
/// `Invalid value: "…": ` prefix).
pub fn validate_name(name: &str, rule: NameRule) -> Result<(), String> {
    if rule == NameRule::PathSegment {
        return if name == "." || name == ".." {
            Err(format!("may not be '{name}'"))
        } else if let Some(bad) = ["/", "%"].into_iter().find(|c| name.contains(c)) {
            Err(format!("may not contain '{bad}'"))
        } else {
            Ok(())
        };
    }
    if rule == NameRule::Label {
        if is_dns_label(name) {
            Ok(())
        } else if name.len() > 63 {
            Err("must be no more than 63 characters".to_string())
        } else {
            Err(DNS1123_LABEL_MSG.to_string())
        }
    } else if name.len() > 253 {
        Err("must be no more than 253 characters".to_string())
    } else if name.split('.').all(|part| {
        let b = part.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    }) {
        Ok(())
    } else {
        Err(DNS1123_SUBDOMAIN_MSG.to_string())
    }
}

/// Dotted path lookup (`spec.nodeName`) rendered as a field-selector value.
pub fn field_value(obj: &Map<String, Value>, path: &str, absent: &str) -> String {
    let mut parts = path.split('.');
    let Some(mut cur) = parts.next().and_then(|p| obj.get(p)) else {
        return absent.to_string();
    };
    for part in parts {
        match cur.get(part) {
            Some(v) => cur = v,
            None => return absent.to_string(),
        }
    }
    match cur {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => absent.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_795_496_943), "2026-11-24T05:09:03Z");
    }

    #[test]
    fn uid_is_v4_shaped() {
        let u = random_uid();
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![8, 4, 4, 4, 12]);
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn encode_orders_like_the_api_server() {
        let v = json!({"status": {"phase": "Running"}, "spec": {}, "apiVersion": "v1", "kind": "Pod",
            "metadata": {"labels": {"a": "b"}, "uid": "u", "name": "n", "namespace": "ns", "resourceVersion": "5"}});
        let (bytes, meta_end) = encode_object(v.as_object().unwrap());
        let s = String::from_utf8(bytes).unwrap();
        assert_eq!(
            s,
            r#"{"metadata":{"name":"n","namespace":"ns","uid":"u","resourceVersion":"5","labels":{"a":"b"}},"spec":{},"status":{"phase":"Running"}}"#
        );
        assert_eq!(
            &s[..meta_end],
            r#"{"metadata":{"name":"n","namespace":"ns","uid":"u","resourceVersion":"5","labels":{"a":"b"}}"#
        );
    }

    #[test]
    fn merge_patch_rfc7386() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
        let mut t = json!({"a": [1, 2]});
        merge_patch(&mut t, &json!({"a": [3]}));
        assert_eq!(t, json!({"a": [3]}));
    }

    #[test]
    fn names() {
        assert!(validate_name("web-7d9f8b6c5d-x2k4p", NameRule::Subdomain).is_ok());
        assert!(validate_name("v1beta1.metrics.k8s.io", NameRule::Subdomain).is_ok());
        assert!(validate_name("Bad_Name", NameRule::Subdomain).is_err());
        assert!(validate_name("a.b", NameRule::Label).is_err());
        assert!(validate_name("", NameRule::Subdomain).is_err());
        assert!(validate_name("system:basic-user", NameRule::Subdomain).is_err());
        assert!(validate_name("system:basic-user", NameRule::PathSegment).is_ok());
        assert_eq!(
            validate_name("a/b", NameRule::PathSegment),
            Err("may not contain '/'".into())
        );
    }
}
