//! Decoding watched objects without the parts no family reads.
//!
//! A real API server sends every object with `metadata.managedFields`: one entry per field
//! manager, each with a `fieldsV1` tree that the typed structs hold as a `serde_json::Value`, a
//! map allocation per node. No family reads it, and on a pod it is often the largest part of
//! the object. [`from_str`] wraps the JSON deserializer so that the fields listed in
//! [`SKIPPED_FIELDS`] are scanned past (`IgnoredAny`, no allocation) before the typed struct sees
//! them; everything else reaches the k8s-openapi deserializers unchanged, so the rendered bytes
//! are the same (the families' fixtures and the e2e tests check that).

use std::borrow::Cow;
use std::fmt;

use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// (struct, field) pairs skipped: only in that struct (by its serde name), so a label or an
/// annotation with the same key is kept. Only fields that no family reads belong here (a test
/// renders every kind with pod templates both ways), grouped by struct. A container's
/// environment, probes and mounts and a pod's scheduling details are most of a pod's bytes
/// after `managedFields`, and each would otherwise be a tree of allocations per event.
pub const SKIPPED_FIELDS: &[(&str, &str)] = &[
    ("Container", "args"),
    ("Container", "command"),
    ("Container", "env"),
    ("Container", "envFrom"),
    ("Container", "lifecycle"),
    ("Container", "livenessProbe"),
    ("Container", "readinessProbe"),
    ("Container", "resizePolicy"),
    ("Container", "securityContext"),
    ("Container", "startupProbe"),
    ("Container", "terminationMessagePath"),
    ("Container", "terminationMessagePolicy"),
    ("Container", "volumeDevices"),
    ("Container", "volumeMounts"),
    ("Container", "workingDir"),
    ("ObjectMeta", "managedFields"),
    ("PodSpec", "affinity"),
    ("PodSpec", "dnsConfig"),
    ("PodSpec", "hostAliases"),
    ("PodSpec", "readinessGates"),
    ("PodSpec", "securityContext"),
    ("PodSpec", "topologySpreadConstraints"),
];

/// The fields skipped in a struct of this name.
fn skipped_in(name: &str) -> &'static [(&'static str, &'static str)] {
    let start = SKIPPED_FIELDS.iter().position(|(s, _)| *s == name);
    match start {
        Some(i) => {
            let n = SKIPPED_FIELDS[i..].iter().take_while(|(s, _)| *s == name).count();
            &SKIPPED_FIELDS[i..i + n]
        }
        None => &[],
    }
}

/// `serde_json::from_str`, skipping [`SKIPPED_KEYS`].
pub fn from_str<T: DeserializeOwned>(json: &str) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = T::deserialize(Skip(&mut de))?;
    de.end()?;
    Ok(value)
}

/// Deepest nesting [`documents`] accepts: far beyond any real object (custom resources may
/// nest deeper than serde_json's default limit of 128), shallow enough that dropping or
/// converting the parsed `Value`, which recurse, stays well within a thread's stack.
pub const MAX_DEPTH: usize = 1000;

/// Every JSON document in `json` (whitespace-separated), each nested up to [`MAX_DEPTH`]
/// levels; the parse grows its stack on the heap. Deeper input is refused as a whole.
pub fn documents<T: DeserializeOwned>(json: &str) -> serde_json::Result<Vec<T>> {
    let depth = nesting_depth(json.as_bytes());
    if depth > MAX_DEPTH {
        return Err(de::Error::custom(format!(
            "nested {depth} levels deep, deeper than the {MAX_DEPTH} accepted"
        )));
    }
    let mut de = serde_json::Deserializer::from_str(json);
    de.disable_recursion_limit();
    let mut out = Vec::new();
    // `end` skips whitespace and succeeds only at the end of the input.
    while de.end().is_err() {
        out.push(T::deserialize(serde_stacker::Deserializer::new(&mut de))?);
    }
    Ok(out)
}

/// The deepest bracket nesting outside strings (malformed input gives some number; the parse
/// reports what is wrong with it).
fn nesting_depth(json: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for &b in json {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A deserializer whose structs (at any depth) lose their skipped fields.
struct Skip<D>(D);

/// A visitor that hands its maps and sequences on wrapped, dropping `skip`'s fields from its map.
struct Wrap<V> {
    visitor: V,
    skip: &'static [(&'static str, &'static str)],
}

fn wrap<V>(visitor: V) -> Wrap<V> {
    Wrap { visitor, skip: &[] }
}

/// A seed that deserializes through [`Skip`].
struct SkipSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for SkipSeed<S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Skip(deserializer))
    }
}

macro_rules! forward_deserialize {
    ($($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(wrap(visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Skip<D> {
    type Error = D::Error;

    forward_deserialize!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, wrap(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, wrap(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, wrap(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, wrap(visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let skip = skipped_in(name);
        self.0.deserialize_struct(name, fields, Wrap { visitor, skip })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        // Enums are not where skipped keys live; they pass through unwrapped.
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.visitor.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    forward_visit!(
        visit_bool: bool,
        visit_i8: i8,
        visit_i16: i16,
        visit_i32: i32,
        visit_i64: i64,
        visit_i128: i128,
        visit_u8: u8,
        visit_u16: u16,
        visit_u32: u32,
        visit_u64: u64,
        visit_u128: u128,
        visit_f32: f32,
        visit_f64: f64,
        visit_char: char,
        visit_str: &str,
        visit_borrowed_str: &'de str,
        visit_string: String,
        visit_bytes: &[u8],
        visit_borrowed_bytes: &'de [u8],
        visit_byte_buf: Vec<u8>
    );

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(Skip(deserializer))
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(Skip(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_seq(SkipSeq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(SkipMap { map, skip: self.skip })
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_enum(data)
    }
}

struct SkipSeq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for SkipSeq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(SkipSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct SkipMap<A> {
    map: A,
    skip: &'static [(&'static str, &'static str)],
}

/// Reads a map key as a string, borrowed from the input when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(KeySeed)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for SkipMap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        if self.skip.is_empty() {
            return self.map.next_key_seed(seed);
        }
        loop {
            let Some(key) = self.map.next_key_seed(KeySeed)? else {
                return Ok(None);
            };
            if self.skip.iter().any(|(_, field)| *field == key) {
                self.map.next_value::<IgnoredAny>()?;
                continue;
            }
            return match key {
                Cow::Borrowed(k) => seed.deserialize(BorrowedStrDeserializer::new(k)).map(Some),
                Cow::Owned(k) => seed.deserialize(StringDeserializer::new(k)).map(Some),
            };
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(SkipSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Pod;

    use super::*;

    const POD: &str = r#"{"kind":"Pod","apiVersion":"v1",
        "metadata":{"name":"web-0","namespace":"shop","uid":"u1","resourceVersion":"7",
            "labels":{"app":"web","managedFields":"a label may be called anything"},
            "annotations":{"note":"caf\u00e9"},
            "managedFields":[{"manager":"kubelet","operation":"Update","apiVersion":"v1",
                "time":"2026-11-24T05:00:00Z","fieldsType":"FieldsV1",
                "fieldsV1":{"f:status":{"f:conditions":{"k:{\"type\":\"Ready\"}":{".":{},"f:status":{}}}}}}]},
        "spec":{"containers":[{"name":"c","image":"nginx","resources":{"requests":{"cpu":"250m"}}}],
                "nodeName":"n1"},
        "status":{"phase":"Running","podIP":"10.0.0.7"}}"#;

    #[test]
    fn managed_fields_are_skipped_and_everything_else_decodes_as_before() {
        let skipped: Pod = from_str(POD).unwrap();
        let mut full: Pod = serde_json::from_str(POD).unwrap();
        assert_eq!(full.metadata.managed_fields.as_ref().map(Vec::len), Some(1));
        assert_eq!(skipped.metadata.managed_fields, None);
        full.metadata.managed_fields = None;
        // Only ObjectMeta's field goes: `managedFields` is a valid label key, and stays.
        assert_eq!(
            skipped.metadata.labels.as_ref().unwrap()["managedFields"],
            "a label may be called anything"
        );
        assert_eq!(skipped, full);
    }

    /// Every kind carrying containers renders the same bytes whether the skipped fields were
    /// decoded or not: no family reads them. The fixtures' containers get every skipped field.
    #[test]
    fn no_family_reads_a_skipped_field() {
        use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
        use k8s_openapi::api::batch::v1::{CronJob, Job};
        use k8s_openapi::api::core::v1::ReplicationController;

        use crate::families::{EnabledFamilies, ObjectFamilies, RenderContext};

        fn fill(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(map) => {
                    if let Some(serde_json::Value::Array(containers)) = map.get_mut("containers") {
                        for c in containers {
                            let extra = serde_json::json!({
                                "args": ["--port=8080"], "command": ["/app"], "workingDir": "/srv",
                                "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                                "envFrom": [{"configMapRef": {"name": "cfg"}}],
                                "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
                                "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
                                "readinessProbe": {"tcpSocket": {"port": 8080}},
                                "startupProbe": {"exec": {"command": ["true"]}},
                                "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}],
                                "securityContext": {"runAsNonRoot": true},
                                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                                "volumeDevices": [{"name": "raw", "devicePath": "/dev/xvda"}],
                                "volumeMounts": [{"name": "data", "mountPath": "/data"}]
                            });
                            for (k, v) in extra.as_object().unwrap() {
                                c[k] = v.clone();
                            }
                        }
                        let spec = serde_json::json!({
                            "affinity": {"nodeAffinity": {}}, "dnsConfig": {"nameservers": ["1.1.1.1"]},
                            "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["db"]}],
                            "readinessGates": [{"conditionType": "x"}], "securityContext": {"fsGroup": 2000},
                            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]
                        });
                        for (k, v) in spec.as_object().unwrap() {
                            map.insert(k.clone(), v.clone());
                        }
                    }
                    map.values_mut().for_each(fill);
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(fill),
                _ => {}
            }
        }

        fn same_bytes<K: ObjectFamilies + DeserializeOwned>(resource: &str) -> usize {
            let path = format!("{}/tests/fixtures/objects/{resource}.json", env!("CARGO_MANIFEST_DIR"));
            let mut list: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            fill(&mut list);
            let families = EnabledFamilies::<K>::all();
            let ctx = RenderContext::default();
            let items = list["items"].as_array().unwrap();
            for item in items {
                let text = item.to_string();
                assert!(text.contains("livenessProbe"), "{resource}: the fixture got the fields");
                let full: K = serde_json::from_str(&text).unwrap();
                let skipped: K = from_str(&text).unwrap();
                let (full, skipped) = (families.render(&full, &ctx), families.render(&skipped, &ctx));
                for i in 0..families.defs().len() {
                    assert_eq!(
                        full.family(i),
                        skipped.family(i),
                        "{resource}: {}",
                        families.defs()[i].name
                    );
                }
            }
            items.len()
        }

        // The fields are really dropped (struct names as k8s-openapi gives them to serde).
        let mut pod: serde_json::Value = serde_json::from_str(POD).unwrap();
        fill(&mut pod);
        let skipped: Pod = from_str(&pod.to_string()).unwrap();
        let spec = skipped.spec.unwrap();
        let c = &spec.containers[0];
        assert!(c.env.is_none() && c.liveness_probe.is_none() && c.volume_mounts.is_none() && c.command.is_none());
        assert!(spec.affinity.is_none() && spec.topology_spread_constraints.is_none());
        assert_eq!(c.image.as_deref(), Some("nginx"), "the rest stays");

        let rendered = same_bytes::<Pod>("pods")
            + same_bytes::<Deployment>("deployments")
            + same_bytes::<StatefulSet>("statefulsets")
            + same_bytes::<DaemonSet>("daemonsets")
            + same_bytes::<ReplicaSet>("replicasets")
            + same_bytes::<Job>("jobs")
            + same_bytes::<CronJob>("cronjobs")
            + same_bytes::<ReplicationController>("replicationcontrollers");
        assert!(rendered >= 8);
    }

    #[test]
    fn documents_nest_to_max_depth_and_no_deeper() {
        let nested = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let deep = nested(MAX_DEPTH);
        let docs: Vec<serde_json::Value> = documents(&format!("{deep}\n {{\"a\": \"[[[\\\"\"}} ")).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1]["a"], "[[[\"", "brackets in strings do not nest");
        let err = documents::<serde_json::Value>(&nested(MAX_DEPTH + 1)).unwrap_err();
        assert!(err.to_string().contains("1001 levels deep"), "{err}");
        assert_eq!(documents::<serde_json::Value>("  ").unwrap().len(), 0);
        assert!(documents::<serde_json::Value>("{} }").is_err());
        assert!(documents::<serde_json::Value>(&deep[1..]).is_err());
    }

    #[test]
    fn errors_and_trailing_garbage_are_still_errors() {
        assert!(from_str::<Pod>(r#"{"spec":{"containers":"oops"}}"#).is_err());
        assert!(from_str::<Pod>(r#"{"metadata":{}} trailing"#).is_err());
        assert!(from_str::<Pod>(r#"{"metadata":{"managedFields":[{"oops"}]}}"#).is_err());
    }
}
