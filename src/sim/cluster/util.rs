//! Small deterministic helpers of the generator: seeded hashes, ids and names, times,
//! quantities and merge patches.

use std::fmt::Write as _;

use jiff::Timestamp;
use serde_json::{Map, Value};

/// The alphabet of Kubernetes' random name suffixes and hashes (no vowels, no look-alikes).
pub(super) const ALPHANUM: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// SplitMix64 finalizer: a well-mixed 64-bit hash of `z`.
pub(in crate::sim) fn mix(z: u64) -> u64 {
    let mut z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a string, mixed.
pub(in crate::sim) fn hash_str(s: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

/// A UUID-v4-shaped string from 128 bits.
pub(super) fn uuid_from(a: u64, b: u64) -> String {
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x4000;
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// `len` lowercase hex digits derived from `seed`.
pub(super) fn hex_from(seed: u64, len: usize) -> String {
    let mut s = String::with_capacity(len + 16);
    let mut h = seed;
    while s.len() < len {
        h = mix(h);
        let _ = write!(s, "{h:016x}");
    }
    s.truncate(len);
    s
}

/// `len` characters of [`ALPHANUM`] derived from `seed`.
pub(super) fn suffix_from(seed: u64, len: usize) -> String {
    let mut h = mix(seed);
    (0..len)
        .map(|_| {
            let c = ALPHANUM[(h % ALPHANUM.len() as u64) as usize] as char;
            h = mix(h);
            c
        })
        .collect()
}

/// `t` moved by `secs` seconds, truncated to whole seconds.
pub(super) fn at(t: Timestamp, secs: i64) -> Timestamp {
    Timestamp::from_second(t.as_second().saturating_add(secs)).unwrap_or(t)
}

/// RFC 3339 with `Z` (whole seconds print without a fraction).
pub(super) fn ts(t: Timestamp) -> Value {
    Value::String(t.to_string())
}

/// Seconds from `a` to `b` (0 if `b` is earlier).
pub(super) fn span(a: Timestamp, b: Timestamp) -> i64 {
    (b.as_second() - a.as_second()).max(0)
}

pub(super) fn labels_json(labels: &[(String, String)]) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

pub(super) fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// CPU quantity in canonical form: `250m`, `1`, `2`.
pub fn cpu_quantity(millis: u32) -> String {
    if millis.is_multiple_of(1000) {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

/// Memory quantity in canonical form: `64Mi`, `1Gi`.
pub fn memory_quantity(mib: u32) -> String {
    if mib.is_multiple_of(1024) {
        format!("{}Gi", mib / 1024)
    } else {
        format!("{mib}Mi")
    }
}

/// The `pod-template-hash` of a deployment's ReplicaSet for a template revision (10 characters).
pub fn pod_template_hash(deployment_uid: &str, revision: u32) -> String {
    suffix_from(hash_str(deployment_uid) ^ mix(u64::from(revision) + 1), 10)
}

/// The uid of the (not created) ReplicaSet `<deployment>-<pod_template_hash>`.
pub fn replicaset_uid(deployment_uid: &str, pod_template_hash: &str) -> String {
    let h = hash_str(deployment_uid) ^ hash_str(pod_template_hash).rotate_left(17);
    uuid_from(mix(h), mix(h ^ 0x5bd1_e995))
}

/// `repo@sha256:…` as the kubelet reports it for an image reference.
pub(super) fn image_id(image: &str) -> String {
    let repo = image.split('@').next().unwrap_or(image);
    let last_slash = repo.rfind('/').map_or(0, |i| i + 1);
    let repo = match repo[last_slash..].rfind(':') {
        Some(i) => &repo[..last_slash + i],
        None => repo,
    };
    let repo = match repo.split_once('/') {
        None => format!("docker.io/library/{repo}"),
        Some((host, _)) if !host.contains('.') && !host.contains(':') && host != "localhost" => {
            format!("docker.io/{repo}")
        }
        Some(_) => repo.to_string(),
    };
    format!("{repo}@sha256:{}", hex_from(hash_str(image), 64))
}

pub(super) fn container_id(pod_seed: u64, container: usize, instance: u32) -> String {
    format!(
        "containerd://{}",
        hex_from(pod_seed ^ mix(container as u64 * 1_000_003 + u64::from(instance)), 64)
    )
}

pub(super) fn pull_policy(image: &str) -> &'static str {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        "IfNotPresent"
    } else if !last.contains(':') || last.ends_with(":latest") {
        "Always"
    } else {
        "IfNotPresent"
    }
}

/// RFC 7386 merge patch turning `old` into `new` (None when equal). Arrays are replaced wholesale,
/// removed keys become `null`.
pub fn merge_diff(old: &Value, new: &Value) -> Option<Value> {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for (k, ov) in o {
                match n.get(k) {
                    None => {
                        patch.insert(k.clone(), Value::Null);
                    }
                    Some(nv) => {
                        if let Some(d) = merge_diff(ov, nv) {
                            patch.insert(k.clone(), d);
                        }
                    }
                }
            }
            for (k, nv) in n {
                if !o.contains_key(k) {
                    patch.insert(k.clone(), nv.clone());
                }
            }
            (!patch.is_empty()).then_some(Value::Object(patch))
        }
        _ if old == new => None,
        _ => Some(new.clone()),
    }
}
