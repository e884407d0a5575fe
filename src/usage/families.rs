//! The usage and health families: their definitions (the contract in
//! `metric-families/usage.yaml` and `metric-families/metricsapi.yaml`), their headers, and
//! rendering of node and pod usage entries.
//!
//! Each group of families lives in its own store kind, one entry per object (node, pod, or
//! polled resource for health), rendered family by family like every other kind, so a scrape
//! writes them family-major with the rest. `--metric-allowlist` / `--metric-denylist` apply:
//! a disabled family has no header and no lines.

use crate::exposition::{self, MetricType};
use crate::families::{FamilyFilter, FamilyHeader, Rendered};
use crate::usage::parse::{NodeSample, PodSample, Usage};

/// How a family is typed on its `# TYPE` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A gauge.
    Gauge,
    /// A counter.
    Counter,
    /// A histogram (`_bucket`, `_sum`, `_count`).
    Histogram,
}

impl Kind {
    /// The word on the `# TYPE` line (and in the contract files).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        }
    }
}

/// One family: name, type, HELP and labels in output order.
#[derive(Clone, Copy, Debug)]
pub struct Family {
    /// Metric name.
    pub name: &'static str,
    /// TYPE.
    pub kind: Kind,
    /// HELP text.
    pub help: &'static str,
    /// Label names in order (for histograms, without `le`).
    pub labels: &'static [&'static str],
}

const fn gauge(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Family {
    Family {
        name,
        kind: Kind::Gauge,
        help,
        labels,
    }
}

/// Node usage families (store kind [`super::NODE_USAGE`]), in output order.
pub const NODE_FAMILIES: [Family; 3] = [
    gauge(
        "kube_node_resource_usage",
        "Resource usage of a node as reported by metrics.k8s.io (metrics-server): cpu in cores averaged over the window, memory working set in bytes.",
        &["node", "resource", "unit"],
    ),
    gauge(
        "kube_node_resource_usage_timestamp_seconds",
        "Unix time of the end of the node's metrics.k8s.io sample window.",
        &["node"],
    ),
    gauge(
        "kube_node_resource_usage_window_seconds",
        "Length of the window the node's metrics.k8s.io usage covers, in seconds.",
        &["node"],
    ),
];

/// Pod usage families (store kind [`super::POD_USAGE`]), in output order.
pub const POD_FAMILIES: [Family; 3] = [
    gauge(
        "kube_pod_container_resource_usage",
        "Resource usage of a container as reported by metrics.k8s.io (metrics-server): cpu in cores averaged over the window, memory working set in bytes.",
        &["namespace", "pod", "uid", "container", "node", "resource", "unit"],
    ),
    gauge(
        "kube_pod_resource_usage_timestamp_seconds",
        "Unix time of the end of the pod's metrics.k8s.io sample window (the earliest of its containers).",
        &["namespace", "pod", "uid"],
    ),
    gauge(
        "kube_pod_resource_usage_window_seconds",
        "Length of the window the pod's metrics.k8s.io usage covers, in seconds.",
        &["namespace", "pod", "uid"],
    ),
];

/// Health families (store kind [`super::HEALTH`]), in output order.
pub const HEALTH_FAMILIES: [Family; 10] = [
    gauge(
        "kube_metrics_api_up",
        "1 if the last poll of metrics.k8s.io for the resource returned 200 and decoded, else 0.",
        &["resource"],
    ),
    gauge(
        "kube_metrics_api_last_success_timestamp_seconds",
        "Unix time of the last successful poll of metrics.k8s.io for the resource.",
        &["resource"],
    ),
    Family {
        name: "kube_metrics_api_polls_total",
        kind: Kind::Counter,
        help: "Polls of metrics.k8s.io by resource and result (success or error).",
        labels: &["resource", "result"],
    },
    Family {
        name: "kube_metrics_api_errors_total",
        kind: Kind::Counter,
        help: "Errors reading metrics.k8s.io by resource and reason; Decode also counts single items and values skipped in an otherwise good response.",
        labels: &["resource", "reason"],
    },
    Family {
        name: "kube_metrics_api_poll_duration_seconds",
        kind: Kind::Histogram,
        help: "Time to request and decode one metrics.k8s.io list, failed polls included.",
        labels: &["resource"],
    },
    gauge(
        "kube_metrics_api_newest_sample_timestamp_seconds",
        "Newest sample timestamp in the last good metrics.k8s.io response; time() minus this is the age of the freshest data.",
        &["resource"],
    ),
    gauge(
        "kube_metrics_api_oldest_sample_timestamp_seconds",
        "Oldest sample timestamp in the last good metrics.k8s.io response.",
        &["resource"],
    ),
    gauge(
        "kube_metrics_api_expected_objects",
        "Objects metrics.k8s.io should report at the last good poll: Ready nodes older than the grace period; running pods older than it on such nodes.",
        &["resource"],
    ),
    gauge(
        "kube_metrics_api_reported_objects",
        "How many of the expected objects the last good metrics.k8s.io response contained.",
        &["resource"],
    ),
    gauge(
        "kube_metrics_api_unmatched_objects",
        "Items in the last good metrics.k8s.io response for objects the exporter's watches do not know; they are skipped.",
        &["resource"],
    ),
];

/// Upper bounds of the poll duration histogram, in seconds.
pub const DURATION_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0];

/// Which families of one group are generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask(Vec<bool>);

impl Mask {
    /// Applies the family filter to a group (none of these families is opt-in).
    pub fn new(families: &[Family], filter: &FamilyFilter) -> Self {
        Mask(families.iter().map(|f| filter.enabled(f.name, false)).collect())
    }

    /// Every family on.
    pub fn all(families: &[Family]) -> Self {
        Mask(vec![true; families.len()])
    }

    /// HELP/TYPE headers of the enabled families.
    pub fn headers(&self, families: &[Family]) -> Vec<FamilyHeader> {
        families
            .iter()
            .zip(&self.0)
            .filter(|(_, on)| **on)
            .map(|(f, _)| header(f))
            .collect()
    }
}

/// A family's HELP/TYPE lines (histograms included, which [`MetricType`] does not cover).
pub fn header(family: &Family) -> FamilyHeader {
    let metric_type = match family.kind {
        Kind::Counter => MetricType::Counter,
        _ => MetricType::Gauge,
    };
    let mut header = FamilyHeader::new(family.name, family.help, metric_type);
    if family.kind == Kind::Histogram {
        let mut text = Vec::new();
        text.extend_from_slice(b"# HELP ");
        text.extend_from_slice(family.name.as_bytes());
        text.push(b' ');
        exposition::escape_help(&mut text, family.help);
        text.extend_from_slice(b"\n# TYPE ");
        text.extend_from_slice(family.name.as_bytes());
        text.extend_from_slice(b" histogram\n");
        header.openmetrics = text.clone().into_boxed_slice();
        header.text = text.into_boxed_slice();
    }
    header
}

/// Builds one entry's [`Rendered`]: families are visited in order, disabled ones skipped.
pub struct EntryWriter<'a> {
    out: Vec<u8>,
    ends: Vec<u32>,
    mask: &'a Mask,
    next: usize,
}

impl<'a> EntryWriter<'a> {
    /// A writer for a group's mask.
    pub fn new(mask: &'a Mask) -> Self {
        EntryWriter {
            out: Vec::with_capacity(256),
            ends: Vec::with_capacity(mask.0.len()),
            mask,
            next: 0,
        }
    }

    /// Writes the next family's lines (skipped when the family is disabled).
    pub fn family(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        if self.mask.0.get(self.next).copied().unwrap_or(false) {
            write(&mut self.out);
            self.ends.push(u32::try_from(self.out.len()).unwrap_or(u32::MAX));
        }
        self.next += 1;
    }

    /// The finished rendering.
    pub fn finish(self) -> Rendered {
        Rendered {
            bytes: self.out.into_boxed_slice(),
            ends: self.ends.into_boxed_slice(),
            index: None,
        }
    }
}

/// Writes `name{l1="v1",…} value\n`.
pub fn sample(out: &mut Vec<u8>, name: &str, labels: &[(&str, &str)], value: f64) {
    out.extend_from_slice(name.as_bytes());
    if !labels.is_empty() {
        out.push(b'{');
        for (i, (n, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            exposition::write_label(out, n, v);
        }
        out.push(b'}');
    }
    out.push(b' ');
    exposition::write_float(out, value);
    out.push(b'\n');
}

fn usage_lines(out: &mut Vec<u8>, name: &str, base: &[(&str, &str)], usage: &[Usage]) {
    let mut labels: Vec<(&str, &str)> = base.to_vec();
    for u in usage {
        labels.truncate(base.len());
        labels.push(("resource", u.resource));
        labels.push(("unit", u.unit));
        sample(out, name, &labels, u.value);
    }
}

/// Renders one node's usage entry.
pub fn render_node(mask: &Mask, node: &NodeSample) -> Rendered {
    let base = [("node", node.name.as_str())];
    let mut w = EntryWriter::new(mask);
    w.family(|out| usage_lines(out, NODE_FAMILIES[0].name, &base, &node.usage));
    w.family(|out| {
        if let Some(ts) = node.timestamp {
            sample(out, NODE_FAMILIES[1].name, &base, ts);
        }
    });
    w.family(|out| {
        if let Some(window) = node.window {
            sample(out, NODE_FAMILIES[2].name, &base, window);
        }
    });
    w.finish()
}

/// Renders one pod's usage entry, with the `uid` and `node` joined from the pod watch.
pub fn render_pod(mask: &Mask, pod: &PodSample, uid: &str, node: &str) -> Rendered {
    let base = [
        ("namespace", pod.namespace.as_str()),
        ("pod", pod.name.as_str()),
        ("uid", uid),
    ];
    let mut w = EntryWriter::new(mask);
    w.family(|out| {
        for (container, usage) in &pod.containers {
            let labels = [
                base[0],
                base[1],
                base[2],
                ("container", container.as_str()),
                ("node", node),
            ];
            usage_lines(out, POD_FAMILIES[0].name, &labels, usage);
        }
    });
    w.family(|out| {
        if let Some(ts) = pod.timestamp {
            sample(out, POD_FAMILIES[1].name, &base, ts);
        }
    });
    w.family(|out| {
        if let Some(window) = pod.window {
            sample(out, POD_FAMILIES[2].name, &base, window);
        }
    });
    w.finish()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::contract::{self, ContractFile};

    /// `name{a="x",b="y"} 1` → name (suffixes `_bucket`/`_sum`/`_count` kept) and label names.
    pub(crate) fn line_labels(line: &str) -> (String, Vec<String>) {
        let (name, rest) = match line.find('{') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line.split(' ').next().unwrap_or(""), ""),
        };
        let mut labels = Vec::new();
        let mut in_value = false;
        let mut escaped = false;
        let mut current = String::new();
        for c in rest.chars() {
            if in_value {
                match (escaped, c) {
                    (false, '\\') => escaped = true,
                    (false, '"') => in_value = false,
                    _ => escaped = false,
                }
                continue;
            }
            match c {
                '=' => {
                    labels.push(std::mem::take(&mut current));
                }
                '"' => in_value = true,
                ',' => {}
                '}' => break,
                c => current.push(c),
            }
        }
        (name.to_string(), labels)
    }

    /// Checks rendered text against a contract file: every family in the file appears in the
    /// headers in order with its TYPE and HELP, and every line carries exactly its labels.
    pub(crate) fn assert_matches_contract(file: &str, families: &[Family], text: &str) {
        let contract: ContractFile = contract::load(&contract::contract_dir().join(file)).unwrap();
        assert!(contract.base_labels.is_empty(), "{file}: labels are listed per family");
        let declared: Vec<(String, String, String, Vec<String>)> = contract
            .families
            .iter()
            .map(|f| (f.name.clone(), f.metric_type.clone(), f.help.clone(), f.labels.clone()))
            .collect();
        let code: Vec<(String, String, String, Vec<String>)> = families
            .iter()
            .map(|f| {
                (
                    f.name.to_string(),
                    f.kind.as_str().to_string(),
                    f.help.to_string(),
                    f.labels.iter().map(|l| l.to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(code, declared, "{file}: code and contract differ");
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        let mut headers = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap();
                headers.push((name.to_string(), help.to_string()));
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                let f = families.iter().find(|f| f.name == name).unwrap();
                assert_eq!(kind, f.kind.as_str(), "{name}");
                continue;
            }
            let (name, labels) = line_labels(line);
            let family = families
                .iter()
                .find(|f| {
                    name == f.name
                        || (f.kind == Kind::Histogram
                            && ["_bucket", "_sum", "_count"]
                                .iter()
                                .any(|s| name == format!("{}{s}", f.name)))
                })
                .unwrap_or_else(|| panic!("{file}: {name} is not in the contract"));
            let mut want: Vec<String> = family.labels.iter().map(|l| l.to_string()).collect();
            if name.ends_with("_bucket") {
                want.push("le".into());
            }
            assert_eq!(labels, want, "{file}: {line}");
            *seen.entry(family.name).or_default() += 1;
        }
        let header_names: Vec<&str> = headers.iter().map(|h| h.0.as_str()).collect();
        let all: Vec<&str> = families.iter().map(|f| f.name).collect();
        assert_eq!(header_names, all, "{file}: every family is rendered, in order");
        for (name, help) in &headers {
            let f = families.iter().find(|f| f.name == name).unwrap();
            let mut escaped = Vec::new();
            exposition::escape_help(&mut escaped, f.help);
            assert_eq!(help.as_bytes(), escaped.as_slice(), "{name}");
        }
        for f in families {
            assert!(
                seen.get(f.name).copied().unwrap_or(0) > 0,
                "{file}: {} has no samples",
                f.name
            );
        }
    }

    pub(crate) fn render_text(headers: &[FamilyHeader], entries: &[Rendered]) -> String {
        let mut out = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            out.extend_from_slice(&h.text);
            for e in entries {
                out.extend_from_slice(e.family(i));
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn node() -> NodeSample {
        NodeSample {
            name: "node-a".into(),
            timestamp: Some(1_785_837_601.0),
            window: Some(15.012),
            usage: vec![
                Usage {
                    resource: "cpu",
                    unit: "core",
                    value: 0.154214749,
                },
                Usage {
                    resource: "memory",
                    unit: "byte",
                    value: 2_548_975_616.0,
                },
            ],
        }
    }

    fn pod() -> PodSample {
        PodSample {
            namespace: "shop".into(),
            name: "web".into(),
            timestamp: Some(1_785_837_600.0),
            window: Some(14.887),
            containers: vec![
                (
                    "app".into(),
                    vec![
                        Usage {
                            resource: "cpu",
                            unit: "core",
                            value: 0.002311974,
                        },
                        Usage {
                            resource: "memory",
                            unit: "byte",
                            value: 49_483_776.0,
                        },
                    ],
                ),
                (
                    "sidecar".into(),
                    vec![Usage {
                        resource: "memory",
                        unit: "byte",
                        value: 10_113_024.0,
                    }],
                ),
            ],
        }
    }

    #[test]
    fn usage_lines_are_exact() {
        let mask = Mask::all(&NODE_FAMILIES);
        let text = render_text(&mask.headers(&NODE_FAMILIES), &[render_node(&mask, &node())]);
        assert!(
            text.contains("kube_node_resource_usage{node=\"node-a\",resource=\"cpu\",unit=\"core\"} 0.154214749\n")
        );
        assert!(
            text.contains(
                "kube_node_resource_usage{node=\"node-a\",resource=\"memory\",unit=\"byte\"} 2.548975616e+09\n"
            )
        );
        assert!(text.contains("kube_node_resource_usage_timestamp_seconds{node=\"node-a\"} 1.785837601e+09\n"));
        assert!(text.contains("kube_node_resource_usage_window_seconds{node=\"node-a\"} 15.012\n"));

        let mask = Mask::all(&POD_FAMILIES);
        let text = render_text(
            &mask.headers(&POD_FAMILIES),
            &[render_pod(&mask, &pod(), "u-1", "node-a")],
        );
        assert!(text.contains(
            "kube_pod_container_resource_usage{namespace=\"shop\",pod=\"web\",uid=\"u-1\",container=\"app\",node=\"node-a\",resource=\"cpu\",unit=\"core\"} 0.002311974\n"
        ));
        assert!(text.contains(
            "kube_pod_container_resource_usage{namespace=\"shop\",pod=\"web\",uid=\"u-1\",container=\"sidecar\",node=\"node-a\",resource=\"memory\",unit=\"byte\"} 1.0113024e+07\n"
        ));
        assert!(
            text.contains(
                "kube_pod_resource_usage_window_seconds{namespace=\"shop\",pod=\"web\",uid=\"u-1\"} 14.887\n"
            )
        );
    }

    #[test]
    fn usage_families_match_the_contract() {
        let node_mask = Mask::all(&NODE_FAMILIES);
        let pod_mask = Mask::all(&POD_FAMILIES);
        let mut text = render_text(&node_mask.headers(&NODE_FAMILIES), &[render_node(&node_mask, &node())]);
        text.push_str(&render_text(
            &pod_mask.headers(&POD_FAMILIES),
            &[render_pod(&pod_mask, &pod(), "u-1", "node-a")],
        ));
        let all: Vec<Family> = NODE_FAMILIES.iter().chain(&POD_FAMILIES).copied().collect();
        assert_matches_contract("usage.yaml", &all, &text);
    }

    #[test]
    fn pod_usage_labels_line_up_with_resource_requests() {
        // `usage / requests` must match one to one without on(): same label names, same order.
        let pods = contract::load(&contract::contract_dir().join("pods.yaml")).unwrap();
        let requests = pods
            .families
            .iter()
            .find(|f| f.name == "kube_pod_container_resource_requests")
            .unwrap();
        let mut want: Vec<String> = pods.base_labels.clone();
        want.extend(requests.labels.iter().cloned());
        assert_eq!(
            POD_FAMILIES[0].labels,
            want.iter().map(String::as_str).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_family_filter_removes_headers_and_lines() {
        let filter = FamilyFilter {
            deny: vec![regex::Regex::new("^kube_pod_resource_usage_").unwrap()],
            ..Default::default()
        };
        let mask = Mask::new(&POD_FAMILIES, &filter);
        let headers = mask.headers(&POD_FAMILIES);
        assert_eq!(headers.len(), 1);
        let rendered = render_pod(&mask, &pod(), "u", "n");
        assert_eq!(rendered.ends.len(), 1);
        let text = render_text(&headers, &[rendered]);
        assert!(!text.contains("timestamp"), "{text}");
        assert!(text.contains("kube_pod_container_resource_usage{"));
    }

    #[test]
    fn histogram_headers_say_histogram() {
        let h = header(&HEALTH_FAMILIES[4]);
        let text = String::from_utf8(h.text.to_vec()).unwrap();
        assert!(
            text.ends_with("# TYPE kube_metrics_api_poll_duration_seconds histogram\n"),
            "{text}"
        );
    }
}
