//! `metric-families/`: the contract, one YAML file per resource kind (plus `telemetry.yaml`).
//! Loaded here so the contract test (below) and tooling share one reader.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One `metric-families/<resource>.yaml` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractFile {
    /// KSM resource name (absent in `telemetry.yaml`).
    #[serde(default)]
    pub resource: Option<String>,
    /// Kubernetes kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// Labels on every series of the kind.
    #[serde(default)]
    pub base_labels: Vec<String>,
    /// The families, in output order.
    pub families: Vec<ContractFamily>,
}

/// One family of the contract.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractFamily {
    /// Metric name.
    pub name: String,
    /// `gauge`, `counter` or `histogram`.
    #[serde(rename = "type")]
    pub metric_type: String,
    /// `STABLE` or `ALPHA` (absent for telemetry).
    #[serde(default)]
    pub stability: Option<String>,
    /// HELP text without the stability prefix.
    pub help: String,
    /// Labels after the base labels, in order; `prefix_*` stands for dynamic keys and a
    /// trailing `?` marks a label only some series carry (as KSM does, e.g. HPA `container`).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Generated only when opted in.
    #[serde(default)]
    pub opt_in: bool,
}

/// The `metric-families/` directory of this crate.
pub fn contract_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("metric-families")
}

/// Reads and parses one contract file.
pub fn load(path: &Path) -> Result<ContractFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::cli::FamilyArgs;
    use crate::exposition::{Format, MetricType};
    use crate::families::{Allowlists, FamilyFilter, Stability, allowlist::Allowlist};
    use crate::kinds;
    use crate::render;

    /// Splits `name{a="x",b="y"} 1` into the name and label names, honouring escapes.
    fn label_names(line: &str) -> (String, Vec<String>) {
        let (name, rest) = match line.find('{') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line.split(' ').next().unwrap_or(""), ""),
        };
        let mut names = Vec::new();
        let mut chars = rest.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c == '}' {
                break;
            }
            let label: String = chars.by_ref().take_while(|c| *c != '=').collect();
            names.push(label.trim_start_matches(',').to_string());
            assert_eq!(chars.next(), Some('"'), "label value must be quoted in {line}");
            let mut escaped = false;
            for c in chars.by_ref() {
                match (escaped, c) {
                    (false, '\\') => escaped = true,
                    (false, '"') => break,
                    _ => escaped = false,
                }
            }
            if chars.peek() == Some(&',') {
                chars.next();
            }
        }
        (name.to_string(), names)
    }

    fn matches_contract(actual: &str, declared: &str) -> bool {
        match declared.strip_suffix('*') {
            Some(prefix) => actual.starts_with(prefix),
            None => actual == declared.trim_end_matches('?'),
        }
    }

    /// The non-dynamic labels of a line, in order, against the declaration (optional ones may be
    /// absent, nothing else may differ).
    fn fixed_labels_match(actual: &[&String], declared: &[String]) -> bool {
        let mut actual = actual.iter().peekable();
        for d in declared.iter().filter(|d| !d.ends_with('*')) {
            match actual.peek() {
                Some(a) if a.as_str() == d.trim_end_matches('?') => {
                    actual.next();
                }
                _ if d.ends_with('?') => {}
                _ => return false,
            }
        }
        actual.next().is_none()
    }

    #[test]
    fn code_and_contract_agree_for_every_kind() {
        let everything = FamilyFilter {
            opt_in: vec![regex::Regex::new(".*").unwrap()],
            ..Default::default()
        };
        let allow_all = Allowlists {
            labels: Allowlist::parse("*=[*]").unwrap(),
            annotations: Allowlist::parse("*=[*]").unwrap(),
        };
        let enabled: Vec<String> = kinds::resources().iter().map(|r| r.to_string()).collect();
        let handles = kinds::registry(&enabled, &everything, &allow_all);
        assert_eq!(handles.len(), kinds::resources().len());
        let options = crate::cli::FamilyOptions {
            resources: enabled.clone(),
            allowlists: allow_all,
            filter: everything,
            custom_resources: Vec::new(),
            custom_resource_file: None,
        };
        let mut problems = Vec::new();
        for resource in kinds::resources() {
            let contract = load(&contract_dir().join(format!("{resource}.yaml"))).unwrap();
            assert_eq!(contract.resource.as_deref(), Some(*resource));
            let store = kinds::build_store(&handles, &[]);
            let kind = store.kind(resource).unwrap();

            // 1. Names, TYPE, HELP (with the stability prefix) and order agree.
            let code: Vec<(String, String)> = kind
                .headers()
                .iter()
                .map(|h| (h.name.to_string(), String::from_utf8(h.text.to_vec()).unwrap()))
                .collect();
            let declared: Vec<(String, String)> = contract
                .families
                .iter()
                .map(|f| {
                    let stable = f.stability.as_deref() == Some(Stability::Stable.as_str());
                    let help = if stable {
                        format!("[STABLE] {}", f.help)
                    } else {
                        f.help.clone()
                    };
                    let mut header = Vec::new();
                    let t = if f.metric_type == "counter" {
                        MetricType::Counter
                    } else {
                        MetricType::Gauge
                    };
                    crate::exposition::write_header(&mut header, &f.name, &help, t);
                    (f.name.clone(), String::from_utf8(header).unwrap())
                })
                .collect();
            if code != declared {
                let code_names: BTreeSet<_> = code.iter().map(|c| c.0.clone()).collect();
                let declared_names: BTreeSet<_> = declared.iter().map(|c| c.0.clone()).collect();
                problems.push(format!(
                    "{resource}: families differ; only in code: {:?}; only in contract: {:?}; header/order mismatches: {:?}",
                    code_names.difference(&declared_names).collect::<Vec<_>>(),
                    declared_names.difference(&code_names).collect::<Vec<_>>(),
                    code.iter().zip(&declared).filter(|(a, b)| a != b).map(|(a, _)| a.0.clone()).collect::<Vec<_>>()
                ));
            }

            // 2. Opt-in flags agree: with the default filter only non-opt-in families are on.
            let default_opts = FamilyArgs::default().validate().unwrap();
            let default_handles = kinds::registry(&enabled, &default_opts.filter, &default_opts.allowlists);
            let default_store = kinds::build_store(&default_handles, &[]);
            let default_kind = default_store.kind(resource).unwrap();
            let on_by_default: Vec<&str> = default_kind.headers().iter().map(|h| &*h.name).collect();
            let declared_default: Vec<&str> = contract
                .families
                .iter()
                .filter(|f| !f.opt_in)
                .map(|f| f.name.as_str())
                .collect();
            if on_by_default != declared_default {
                problems.push(format!("{resource}: opt-in flags differ between code and contract"));
            }

            // 3. The fixture makes every family emit, with exactly the declared labels in order.
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/objects/{resource}.json"));
            let text = std::fs::read_to_string(&path).unwrap();
            let out = render::render_sources(&[(path.display().to_string(), text)], &options, Format::Text);
            assert!(out.problems.is_empty(), "{resource} fixture: {:?}", out.problems);
            let body = String::from_utf8(out.body).unwrap();
            let mut seen_labels: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for line in body.lines().filter(|l| !l.starts_with('#')) {
                let (name, labels) = label_names(line);
                let Some(family) = contract.families.iter().find(|f| f.name == name) else {
                    problems.push(format!("{resource}: emitted family {name} is not in the contract"));
                    continue;
                };
                let (base, extra) = labels.split_at(contract.base_labels.len().min(labels.len()));
                if base != contract.base_labels.as_slice() {
                    problems.push(format!(
                        "{resource}: {line}: base labels {base:?} != {:?}",
                        contract.base_labels
                    ));
                }
                let dynamic: Vec<&String> = family.labels.iter().filter(|l| l.ends_with('*')).collect();
                let extra_fixed: Vec<&String> = extra
                    .iter()
                    .filter(|l| !dynamic.iter().any(|d| matches_contract(l, d)))
                    .collect();
                if !fixed_labels_match(&extra_fixed, &family.labels) {
                    problems.push(format!(
                        "{resource}: {line}: labels {extra_fixed:?} != contract {:?}",
                        family.labels
                    ));
                }
                let seen = seen_labels.entry(name.clone()).or_default();
                for l in extra {
                    let declared = family.labels.iter().find(|d| matches_contract(l, d));
                    seen.insert(declared.cloned().unwrap_or_else(|| l.clone()));
                }
            }
            for family in &contract.families {
                match seen_labels.get(&family.name) {
                    None => problems.push(format!("{resource}: {} never emitted by the fixture", family.name)),
                    Some(seen) => {
                        for l in &family.labels {
                            if !seen.contains(l) {
                                problems.push(format!("{resource}: {} label {l} never emitted", family.name));
                            }
                        }
                    }
                }
            }
        }
        assert!(problems.is_empty(), "contract problems:\n{}", problems.join("\n"));
    }

    /// KSM v2.20's own TYPE and HELP lines, one family per row (`tests/fixtures/ksm-help.tsv`,
    /// taken from its `/metrics`).
    fn ksm_help() -> BTreeMap<String, (String, String)> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ksm-help.tsv");
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("family\t"))
            .map(|l| {
                let mut cols = l.splitn(3, '\t');
                let mut col = || cols.next().unwrap_or_else(|| panic!("short tsv row {l:?}")).to_string();
                (col(), (col(), col()))
            })
            .collect()
    }

    /// Every KSM family is served, with KSM's exact TYPE and HELP (stability prefix included), and
    /// every family a KSM kind serves is one of KSM's.
    #[test]
    fn contract_matches_ksm_type_and_help_for_every_family() {
        let ksm = ksm_help();
        assert_eq!(ksm.len(), 336, "KSM v2.20 has 336 families");
        // This exporter's own additions to KSM kinds: opt-in, so a default scrape is KSM's.
        const EXTENSIONS: &[&str] = &["kube_horizontalpodautoscaler_status_condition_reason"];
        let mut served = BTreeSet::new();
        let mut problems = Vec::new();
        // apiservices is this exporter's own kind, not KSM's.
        for resource in kinds::resources().iter().filter(|r| **r != "apiservices") {
            let contract = load(&contract_dir().join(format!("{resource}.yaml"))).unwrap();
            for f in &contract.families {
                served.insert(f.name.clone());
                let help = match f.stability.as_deref() {
                    Some("STABLE") => format!("[STABLE] {}", f.help),
                    _ => f.help.clone(),
                };
                match ksm.get(&f.name) {
                    None if EXTENSIONS.contains(&f.name.as_str()) && f.opt_in => {}
                    None => problems.push(format!("{resource}: {} is not a KSM family", f.name)),
                    Some((t, h)) if (t, h) != (&f.metric_type, &help) => problems.push(format!(
                        "{resource}: {}: contract says {} {help:?}, KSM prints {t} {h:?}",
                        f.name, f.metric_type
                    )),
                    Some(_) => {}
                }
            }
        }
        let missing: Vec<&String> = ksm.keys().filter(|k| !served.contains(*k)).collect();
        if !missing.is_empty() {
            problems.push(format!("KSM families not served: {missing:?}"));
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn every_contract_file_belongs_to_a_kind_or_telemetry() {
        for entry in std::fs::read_dir(contract_dir()).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            assert_eq!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml"),
                "{}",
                path.display()
            );
            // usage.yaml and metricsapi.yaml: the metrics.k8s.io families (checked in src/usage/).
            assert!(
                ["telemetry", "usage", "metricsapi"].contains(&stem.as_str())
                    || kinds::resources().contains(&stem.as_str()),
                "unexpected contract file {stem}"
            );
        }
    }

    #[test]
    fn telemetry_contract_matches_the_registry() {
        let telemetry = crate::telemetry::Telemetry::new().unwrap();
        let store = crate::store::Store::new(Vec::new());
        // Touch labelled families so they appear in the output.
        telemetry.events.with_label_values(&["pods", "apply"]).inc();
        telemetry.watch_errors.with_label_values(&["pods", "expired"]).inc();
        telemetry.decode_errors.with_label_values(&["pods"]).inc();
        telemetry.relists.with_label_values(&["pods"]).inc();
        telemetry.last_event.with_label_values(&["pods"]).set(1);
        telemetry
            .ksm_list_total
            .with_label_values(&["success", "*v1.Pod"])
            .inc();
        telemetry.ksm_watch_total.with_label_values(&["error", "*v1.Pod"]).inc();
        telemetry.server_side_sharding.with_label_values(&["pods"]).set(1);
        telemetry.set_shard(1, 3);
        let crs = &telemetry.crs;
        for gauge in [&crs.config_hash, &crs.reload_successful, &crs.reload_success_time] {
            gauge
                .with_label_values(&["customresourceconfig", "/etc/crs.yaml"])
                .set(1.0);
        }
        crs.reloads.with_label_values(&["success"]).inc();
        crs.samples_skipped
            .with_label_values(&["widgets.acme.example", "kube_customresource_up"])
            .inc();
        telemetry
            .http_duration
            .with_label_values(&["metrics", "get"])
            .observe(0.1);
        let kind = crate::store::KindStore::new("pods", Vec::new(), &[]);
        let store_with_kind = crate::store::Store::new(vec![kind]);
        let text = String::from_utf8(telemetry.render(&store_with_kind)).unwrap();
        let _ = telemetry.render(&store);
        let contract = load(&contract_dir().join("telemetry.yaml")).unwrap();
        let mut emitted = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split(' ');
                let name = parts.next().unwrap().to_string();
                if !name.starts_with("process_") {
                    emitted.insert(name, parts.next().unwrap().to_string());
                }
            }
        }
        let declared: BTreeMap<String, String> = contract
            .families
            .iter()
            .map(|f| (f.name.clone(), f.metric_type.clone()))
            .collect();
        assert_eq!(emitted, declared);
        for f in &contract.families {
            assert!(
                text.contains(&format!("# HELP {} {}\n", f.name, f.help)),
                "HELP of {} differs",
                f.name
            );
            for l in &f.labels {
                let labelled = text
                    .lines()
                    .any(|line| line.starts_with(&f.name) && line.contains(&format!("{l}=\"")));
                assert!(labelled, "{} has no label {l}", f.name);
            }
        }
    }
}
