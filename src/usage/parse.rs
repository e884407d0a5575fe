//! Decoding metrics.k8s.io responses: the list envelope, NodeMetrics / PodMetrics items, Go
//! duration strings (`window`) and RFC 3339 timestamps.
//!
//! Every item is decoded on its own from a borrowed slice of the response body, so one malformed
//! item is skipped (and counted by the caller) without failing the list; a single unparseable
//! value inside a good item drops only that sample.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::families::quantity::Quantity;

/// One usage value of a node or container: `resource` is `cpu` or `memory`.
#[derive(Clone, Debug, PartialEq)]
pub struct Usage {
    /// `cpu` or `memory`.
    pub resource: &'static str,
    /// `core` or `byte`.
    pub unit: &'static str,
    /// Cores (mean over the window) or bytes (working set at `timestamp`).
    pub value: f64,
}

/// A decoded NodeMetrics item.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSample {
    /// Node name.
    pub name: String,
    /// `timestamp` as unix seconds, when it parsed.
    pub timestamp: Option<f64>,
    /// `window` in seconds, when it parsed.
    pub window: Option<f64>,
    /// cpu, then memory (each only when present and parseable).
    pub usage: Vec<Usage>,
}

/// A decoded PodMetrics item.
#[derive(Clone, Debug, PartialEq)]
pub struct PodSample {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// `timestamp` as unix seconds, when it parsed.
    pub timestamp: Option<f64>,
    /// `window` in seconds, when it parsed.
    pub window: Option<f64>,
    /// Containers in response order: name and usage values.
    pub containers: Vec<(String, Vec<Usage>)>,
}

/// A decoded item plus how many of its values (quantities, timestamp, window) were skipped.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded<T> {
    /// The item, minus the skipped values.
    pub item: T,
    /// Values that did not parse.
    pub bad_values: usize,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    /// `None` only when the field is absent (`null` arrives as the raw text `null`).
    #[serde(borrow, default, deserialize_with = "present")]
    items: Option<&'a RawValue>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(d).map(Some)
}

/// Splits a list response into its raw items (borrowed from `body`). An `items: null` list is
/// empty; a body that is not a JSON object with `items` is an error.
pub fn list_items(body: &[u8]) -> Result<Vec<&RawValue>, String> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| format!("list: {e}"))?;
    let Some(items) = envelope.items else {
        return Err("list: no \"items\" field".into());
    };
    if items.get() == "null" {
        return Ok(Vec::new());
    }
    serde_json::from_str(items.get()).map_err(|e| format!("list items: {e}"))
}

#[derive(Deserialize)]
struct Meta {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize)]
struct RawNode {
    metadata: Meta,
    #[serde(default)]
    timestamp: Option<serde_json::Value>,
    #[serde(default)]
    window: Option<serde_json::Value>,
    #[serde(default)]
    usage: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct RawContainer {
    name: String,
    #[serde(default)]
    usage: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct RawPod {
    metadata: Meta,
    #[serde(default)]
    timestamp: Option<serde_json::Value>,
    #[serde(default)]
    window: Option<serde_json::Value>,
    #[serde(default)]
    containers: Vec<RawContainer>,
}

/// Decodes one NodeMetrics item. `Err` = the item is malformed (no name, wrong shape).
pub fn node_item(raw: &RawValue) -> Result<Decoded<NodeSample>, String> {
    let node: RawNode = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    if node.metadata.name.is_empty() {
        return Err("metadata.name is empty".into());
    }
    let mut bad = 0;
    let timestamp = optional(node.timestamp.as_ref(), parse_timestamp, &mut bad);
    let window = optional(node.window.as_ref(), parse_go_duration, &mut bad);
    let usage = usage_values(&node.usage, &mut bad);
    Ok(Decoded {
        item: NodeSample {
            name: node.metadata.name,
            timestamp,
            window,
            usage,
        },
        bad_values: bad,
    })
}

/// Decodes one PodMetrics item. `Err` = the item is malformed (no name or namespace, wrong
/// shape).
pub fn pod_item(raw: &RawValue) -> Result<Decoded<PodSample>, String> {
    let pod: RawPod = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    let namespace = pod.metadata.namespace.unwrap_or_default();
    if pod.metadata.name.is_empty() || namespace.is_empty() {
        return Err("metadata.name or metadata.namespace is empty".into());
    }
    let mut bad = 0;
    let timestamp = optional(pod.timestamp.as_ref(), parse_timestamp, &mut bad);
    let window = optional(pod.window.as_ref(), parse_go_duration, &mut bad);
    let containers = pod
        .containers
        .into_iter()
        .map(|c| {
            let usage = usage_values(&c.usage, &mut bad);
            (c.name, usage)
        })
        .collect();
    Ok(Decoded {
        item: PodSample {
            namespace,
            name: pod.metadata.name,
            timestamp,
            window,
            containers,
        },
        bad_values: bad,
    })
}

/// A string field parsed by `parse`; absent → `None` silently, present but bad → `None` and
/// counted.
fn optional(value: Option<&serde_json::Value>, parse: fn(&str) -> Option<f64>, bad: &mut usize) -> Option<f64> {
    let value = value?;
    let parsed = value.as_str().and_then(parse);
    if parsed.is_none() && !value.is_null() {
        *bad += 1;
    }
    parsed
}

/// cpu (cores) and memory (bytes), in that order; other resources are ignored, bad values
/// counted.
fn usage_values(usage: &BTreeMap<String, serde_json::Value>, bad: &mut usize) -> Vec<Usage> {
    let mut out = Vec::with_capacity(2);
    for (resource, unit) in [("cpu", "core"), ("memory", "byte")] {
        let Some(raw) = usage.get(resource) else { continue };
        match raw.as_str().and_then(Quantity::parse) {
            Some(q) => out.push(Usage {
                resource,
                unit,
                value: q.as_f64(),
            }),
            None => *bad += 1,
        }
    }
    out
}

/// An RFC 3339 timestamp as unix seconds (fractional seconds kept).
pub fn parse_timestamp(raw: &str) -> Option<f64> {
    let ts: jiff::Timestamp = raw.trim().parse().ok()?;
    let nanos = ts.subsec_nanosecond();
    Some(if nanos == 0 {
        ts.as_second() as f64
    } else {
        ts.as_second() as f64 + f64::from(nanos) / 1e9
    })
}

/// A Go duration string (`"15.012s"`, `"1m0.5s"`, `"20s"`, `"500ms"`, `"1h2m"`, `"0"`) in seconds;
/// units `h`, `m`, `s`, `ms`, `us`/`µs`/`μs`, `ns`. Computed in whole nanoseconds as Go does,
/// so `"15.012s"` is exactly the float `15.012`.
pub fn parse_go_duration(raw: &str) -> Option<f64> {
    let s = raw.trim();
    let (negative, mut s) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if s == "0" {
        return Some(0.0);
    }
    if s.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !s.is_empty() {
        let number_end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
        let (number, rest) = s.split_at(number_end);
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && frac.is_empty() || frac.contains('.') {
            return None;
        }
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let (unit, tail) = rest.split_at(unit_end);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let mut whole_value: i128 = 0;
        for d in whole.bytes() {
            whole_value = whole_value.checked_mul(10)?.checked_add(i128::from(d - b'0'))?;
        }
        let mut nanos = whole_value.checked_mul(scale)?;
        // Fractional digits: Go keeps what fits in whole nanoseconds and drops the rest.
        let mut frac_scale = scale;
        for d in frac.bytes() {
            frac_scale /= 10;
            if frac_scale == 0 {
                break;
            }
            nanos = nanos.checked_add(i128::from(d - b'0') * frac_scale)?;
        }
        total = total.checked_add(nanos)?;
        s = tail;
    }
    let seconds = total as f64 / 1e9;
    Some(if negative { -seconds } else { seconds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let cases: &[(&str, f64)] = &[
            ("15.012s", 15.012),
            ("20s", 20.0),
            ("1m0.5s", 60.5),
            ("1m", 60.0),
            ("1h2m3s", 3723.0),
            ("500ms", 0.5),
            ("1.5ms", 0.0015),
            ("250us", 0.00025),
            ("250µs", 0.00025),
            ("250μs", 0.00025),
            ("10ns", 1e-8),
            ("0", 0.0),
            ("0s", 0.0),
            ("-1.5s", -1.5),
            (".5s", 0.5),
            ("14.887s", 14.887),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_go_duration(raw), Some(*want), "{raw}");
        }
        for bad in ["", "s", "15", "15x", "1.2.3s", "abc", "-", "1s2"] {
            assert_eq!(parse_go_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("2026-08-04T10:00:01Z"), Some(1_785_837_601.0));
        assert_eq!(parse_timestamp("2026-08-04T10:00:01.5Z"), Some(1_785_837_601.5));
        assert_eq!(parse_timestamp("2026-08-04T12:00:01+02:00"), Some(1_785_837_601.0));
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn node_items_from_the_reference_shape() {
        let body = br#"{ "kind": "NodeMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {},
          "items": [ {
            "metadata": { "name": "node-a", "creationTimestamp": "2026-08-04T10:00:07Z",
                          "labels": { "kubernetes.io/hostname": "node-a" } },
            "timestamp": "2026-08-04T10:00:01Z",
            "window": "15.012s",
            "usage": { "cpu": "154214749n", "memory": "2489292Ki" } } ] }"#;
        let items = list_items(body).unwrap();
        assert_eq!(items.len(), 1);
        let node = node_item(items[0]).unwrap();
        assert_eq!(node.bad_values, 0);
        assert_eq!(
            node.item,
            NodeSample {
                name: "node-a".into(),
                timestamp: Some(1_785_837_601.0),
                window: Some(15.012),
                usage: vec![
                    Usage {
                        resource: "cpu",
                        unit: "core",
                        value: 0.154214749
                    },
                    Usage {
                        resource: "memory",
                        unit: "byte",
                        value: 2_489_292.0 * 1024.0
                    },
                ],
            }
        );
    }

    #[test]
    fn pod_items_and_bad_values() {
        let body = br#"{"kind":"PodMetricsList","items":[
          {"metadata":{"name":"web","namespace":"shop"},"timestamp":"2026-08-04T10:00:00Z","window":"14.887s",
           "containers":[{"name":"app","usage":{"cpu":"2311974n","memory":"48324Ki"}},
                         {"name":"sidecar","usage":{"cpu":"lots","memory":"9876Ki"}}]},
          {"metadata":{"name":"broken"},"containers":"no"},
          {"metadata":{"name":"odd","namespace":"shop"},"timestamp":"never","window":15,
           "containers":[{"name":"c","usage":{"cpu":"154m","memory":123456789,"nvidia.com/gpu":"1"}}]}
        ]}"#;
        let items = list_items(body).unwrap();
        assert_eq!(items.len(), 3);
        let web = pod_item(items[0]).unwrap();
        assert_eq!(web.bad_values, 1, "the unparseable cpu only");
        assert_eq!(web.item.containers[0].1.len(), 2);
        assert_eq!(web.item.containers[0].1[0].value, 0.002311974);
        assert_eq!(web.item.containers[1].1.len(), 1);
        assert_eq!(web.item.containers[1].1[0].resource, "memory");
        assert!(pod_item(items[1]).is_err(), "no namespace and a bad shape");
        let odd = pod_item(items[2]).unwrap();
        assert_eq!(odd.bad_values, 3, "timestamp, window and the numeric memory");
        assert_eq!(odd.item.timestamp, None);
        assert_eq!(odd.item.window, None);
        assert_eq!(
            odd.item.containers[0].1,
            vec![Usage {
                resource: "cpu",
                unit: "core",
                value: 0.154
            }]
        );
    }

    #[test]
    fn list_envelopes() {
        assert_eq!(list_items(br#"{"items":null}"#).unwrap().len(), 0);
        assert_eq!(list_items(br#"{"items":[]}"#).unwrap().len(), 0);
        assert!(list_items(br#"{"kind":"Status"}"#).is_err());
        assert!(list_items(b"<html>").is_err());
        assert!(list_items(br#"{"items":{}}"#).is_err());
    }

    #[test]
    fn memory_suffixes_and_exponents() {
        let mut bad = 0;
        let mut usage = BTreeMap::new();
        for (raw, want) in [
            ("512Mi", 536_870_912.0),
            ("123456789", 123_456_789.0),
            ("1G", 1e9),
            ("1.5e3", 1500.0),
            ("1Ei", 1_152_921_504_606_846_976.0),
            ("0", 0.0),
        ] {
            usage.insert("memory".to_string(), serde_json::Value::from(raw));
            assert_eq!(usage_values(&usage, &mut bad)[0].value, want, "{raw}");
        }
        assert_eq!(bad, 0);
    }
}
