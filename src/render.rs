//! `render -f FILE…`: the bytes `/metrics` would serve for objects read from files, produced by
//! the same store and writer as a scrape.

use std::io::Read;
use std::path::Path;

use crate::cli::FamilyOptions;
use crate::crs;
use crate::exposition::Format;
use crate::kinds::{self, KindHandle};

/// Result of a render: the exposition and what was skipped.
pub struct RenderOutput {
    /// Exposition bytes.
    pub body: Vec<u8>,
    /// Objects rendered.
    pub rendered: usize,
    /// One line per skipped document or object.
    pub problems: Vec<String>,
}

/// Splits file content into objects: JSON (an object or a list) or YAML (multi-document).
/// `kind: List` and `kind: FooList` are flattened into their items.
pub fn parse_documents(text: &str) -> Result<Vec<serde_json::Value>, String> {
    let trimmed = text.trim_start();
    let docs: Vec<serde_json::Value> = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        crate::decode::documents(text).map_err(|e| format!("invalid JSON: {e}"))?
    } else {
        serde_saphyr::from_multiple::<serde_json::Value>(text).map_err(|e| format!("invalid YAML: {e}"))?
    };
    let mut objects = Vec::new();
    for doc in docs {
        flatten(doc, &mut objects);
    }
    Ok(objects)
}

fn flatten(doc: serde_json::Value, out: &mut Vec<serde_json::Value>) {
    match doc {
        serde_json::Value::Null => {}
        serde_json::Value::Array(items) => items.into_iter().for_each(|i| flatten(i, out)),
        serde_json::Value::Object(mut map) => {
            let kind = map.get("kind").and_then(|k| k.as_str()).unwrap_or("").to_string();
            match map.remove("items") {
                Some(serde_json::Value::Array(items)) if kind.ends_with("List") => {
                    // Typed lists (`PodList`) omit kind/apiVersion on their items.
                    let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty()).map(str::to_string);
                    let api_version = map.get("apiVersion").cloned();
                    for mut item in items {
                        if let (Some(k), serde_json::Value::Object(obj)) = (&item_kind, &mut item) {
                            obj.entry("kind").or_insert_with(|| k.clone().into());
                            if let Some(v) = &api_version {
                                obj.entry("apiVersion").or_insert_with(|| v.clone());
                            }
                        }
                        flatten(item, out);
                    }
                }
                Some(items) => {
                    map.insert("items".into(), items);
                    out.push(serde_json::Value::Object(map));
                }
                None => out.push(serde_json::Value::Object(map)),
            }
        }
        other => out.push(other),
    }
}

fn describe(obj: &serde_json::Value) -> String {
    let kind = obj.get("kind").and_then(|v| v.as_str()).unwrap_or("<no kind>");
    let meta = obj.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(|v| v.as_str())
        .unwrap_or("<no name>");
    match meta.and_then(|m| m.get("namespace")).and_then(|v| v.as_str()) {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// Renders objects from already-read sources (`(label, content)` pairs).
pub fn render_sources(sources: &[(String, String)], options: &FamilyOptions, format: Format) -> RenderOutput {
    let mut parsed = Vec::new();
    let mut problems = Vec::new();
    for (label, content) in sources {
        match parse_documents(content) {
            Ok(objects) => parsed.push((label, objects)),
            Err(e) => problems.push(format!("{label}: {e}")),
        }
    }
    // Without an API server to ask, the files say which custom resources are served.
    let objects = parsed.iter().flat_map(|(_, objects)| objects.iter());
    let served = crs::kind::served_in_files(&options.custom_resources, objects);
    let resolved = crs::discovery::resolve(&options.custom_resources, &served);
    let mut handles = crs::kind::handles(&resolved, &options.filter, None);
    handles.extend(kinds::registry(
        &options.resources,
        &options.filter,
        &options.allowlists,
    ));
    let store = kinds::build_store(&handles, &[]);
    let mut rendered = 0;
    for (label, objects) in parsed {
        for obj in objects {
            let kind = obj.get("kind").and_then(|k| k.as_str()).unwrap_or("");
            let api_version = obj.get("apiVersion").and_then(|k| k.as_str()).unwrap_or("");
            // A built-in kind may also be configured as a custom resource: both render it.
            let matching: Vec<&Box<dyn KindHandle>> = handles.iter().filter(|h| h.matches(api_version, kind)).collect();
            if matching.is_empty() {
                problems.push(format!(
                    "{label}: {}: kind not exported (or not enabled); skipped",
                    describe(&obj)
                ));
                continue;
            }
            let what = describe(&obj);
            let mut stored = false;
            for handle in matching {
                match handle.store_json(&store, obj.clone()) {
                    Ok(()) => stored = true,
                    Err(e) => problems.push(format!("{label}: {what}: {e}; skipped")),
                }
            }
            rendered += usize::from(stored);
        }
    }
    let body = store.snapshot(|_| true).to_bytes(format);
    RenderOutput {
        body,
        rendered,
        problems,
    }
}

/// Reads a file (or stdin for `-`), replacing invalid UTF-8 so a bad byte costs one character.
pub fn read_source(path: &Path) -> Result<String, String> {
    let mut bytes = Vec::new();
    let result = if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map(|_| ())
    };
    result.map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::FamilyArgs;

    fn options() -> FamilyOptions {
        FamilyArgs::default().validate().unwrap()
    }

    #[test]
    fn yaml_multi_document_and_lists_are_flattened() {
        let yaml = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: a}\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: b\n";
        let docs = parse_documents(yaml).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["kind"], "Deployment");
        assert_eq!(docs[1]["metadata"]["name"], "b");
        let typed = r#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"p"}}]}"#;
        let docs = parse_documents(typed).unwrap();
        assert_eq!(docs[0]["kind"], "Pod");
        assert_eq!(docs[0]["apiVersion"], "v1");
    }

    #[test]
    fn example_manifests_are_valid_and_render() {
        use k8s_openapi::api::{apps, core, rbac};
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kubernetes");
        let mut kinds = Vec::new();
        for file in ["rbac.yaml", "deployment.yaml"] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            for doc in parse_documents(&text).unwrap() {
                let kind = doc["kind"].as_str().unwrap().to_string();
                let typed = match kind.as_str() {
                    "ServiceAccount" => serde_json::from_value::<core::v1::ServiceAccount>(doc).map(drop),
                    "Service" => serde_json::from_value::<core::v1::Service>(doc).map(drop),
                    "Deployment" => serde_json::from_value::<apps::v1::Deployment>(doc).map(drop),
                    "ClusterRole" => serde_json::from_value::<rbac::v1::ClusterRole>(doc).map(drop),
                    "ClusterRoleBinding" => serde_json::from_value::<rbac::v1::ClusterRoleBinding>(doc).map(drop),
                    other => panic!("unexpected kind {other} in {file}"),
                };
                typed.unwrap_or_else(|e| panic!("{file}: {kind}: {e}"));
                kinds.push(kind);
            }
        }
        assert_eq!(
            kinds,
            [
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "Deployment",
                "Service"
            ]
        );
        let text = std::fs::read_to_string(dir.join("deployment.yaml")).unwrap();
        let out = render_sources(&[("deployment.yaml".into(), text)], &options(), Format::Text);
        assert_eq!(out.rendered, 2, "{:?}", out.problems);
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        let body = String::from_utf8(out.body).unwrap();
        assert!(body.contains(
            "kube_deployment_spec_replicas{namespace=\"monitoring\",deployment=\"kube-state-exporter\"} 1\n"
        ));
        assert!(body.contains("kube_service_spec_type{namespace=\"monitoring\",service=\"kube-state-exporter\""));
    }

    #[test]
    fn custom_resources_render_through_their_config_and_do_not_shadow_built_in_kinds() {
        let config = "kind: CustomResourceStateMetrics\nspec:\n  resources:\n    - groupVersionKind: {group: serving.knative.dev, version: v1, kind: Service}\n      labelsFromPath:\n        name: [metadata, name]\n        namespace: [metadata, namespace]\n      metrics:\n        - name: ready\n          help: Whether the service is ready.\n          each:\n            type: Gauge\n            gauge:\n              path: [status, conditions, \"[type=Ready]\", status]\n";
        let options = FamilyArgs {
            custom_resource_state_config: Some(config.into()),
            resources: vec!["services".into()],
            ..FamilyArgs::default()
        }
        .validate()
        .unwrap();
        let src = r#"{"apiVersion":"serving.knative.dev/v1","kind":"Service","metadata":{"name":"hello","namespace":"web","uid":"k1"},"status":{"conditions":[{"type":"Ready","status":"True"}]}}
{"apiVersion":"serving.knative.dev/v1","kind":"Service","metadata":{"name":"down","namespace":"web","uid":"k2"},"status":{"conditions":[{"type":"Ready","status":"False"}]}}
{"apiVersion":"v1","kind":"Service","metadata":{"name":"core","namespace":"web","uid":"s1","creationTimestamp":"2026-11-24T05:00:00Z"},"spec":{"type":"ClusterIP"}}"#;
        let out = render_sources(&[("in.json".into(), src.into())], &options, Format::Text);
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        assert_eq!(out.rendered, 3);
        let body = String::from_utf8(out.body).unwrap();
        let gvk =
            r#"customresource_group="serving.knative.dev",customresource_kind="Service",customresource_version="v1""#;
        assert!(
            body.contains(&format!(
                "# HELP kube_customresource_ready Whether the service is ready.\n# TYPE kube_customresource_ready gauge\nkube_customresource_ready{{{gvk},name=\"down\",namespace=\"web\"}} 0\nkube_customresource_ready{{{gvk},name=\"hello\",namespace=\"web\"}} 1\n"
            )),
            "{body}"
        );
        assert!(
            body.contains(
                "kube_service_spec_type{namespace=\"web\",service=\"core\",uid=\"s1\",type=\"ClusterIP\"} 1\n"
            ),
            "{body}"
        );
        assert!(!body.contains("service=\"hello\""), "{body}");
    }

    #[test]
    fn wildcard_versions_and_kinds_render_every_matching_object_once() {
        let config = "kind: CustomResourceStateMetrics\nspec:\n  resources:\n    - groupVersionKind: {group: acme.example, version: \"*\", kind: \"*\"}\n      labelsFromPath:\n        name: [metadata, name]\n      metrics:\n        - name: ready\n          help: Ready.\n          each:\n            type: Gauge\n            gauge: {path: [status, ready]}\n";
        let options = FamilyArgs {
            custom_resource_state_config: Some(config.into()),
            custom_resource_state_only: true,
            ..FamilyArgs::default()
        }
        .validate()
        .unwrap();
        let src = r#"{"apiVersion":"acme.example/v1","kind":"Widget","metadata":{"name":"w1"},"status":{"ready":true}}
{"apiVersion":"acme.example/v2","kind":"Widget","metadata":{"name":"w2"},"status":{"ready":false}}
{"apiVersion":"acme.example/v1","kind":"Gadget","metadata":{"name":"g1"},"status":{"ready":true}}
{"apiVersion":"other.example/v1","kind":"Widget","metadata":{"name":"x"},"status":{"ready":true}}"#;
        let out = render_sources(&[("in.json".into(), src.into())], &options, Format::Text);
        assert_eq!(out.rendered, 3);
        assert_eq!(
            out.problems,
            ["in.json: Widget x: kind not exported (or not enabled); skipped"]
        );
        let line = |version: &str, kind: &str, name: &str, value: u8| {
            format!(
                "kube_customresource_ready{{customresource_group=\"acme.example\",customresource_kind=\"{kind}\",customresource_version=\"{version}\",name=\"{name}\"}} {value}\n"
            )
        };
        // Kinds in name order: gadgets.v1, widgets.v1, widgets.v2 (`{plural}.{version}.{group}`).
        assert_eq!(
            String::from_utf8(out.body).unwrap(),
            format!(
                "# HELP kube_customresource_ready Ready.\n# TYPE kube_customresource_ready gauge\n{}{}{}",
                line("v1", "Gadget", "g1", 1),
                line("v1", "Widget", "w1", 1),
                line("v2", "Widget", "w2", 0)
            )
        );
    }

    #[test]
    fn a_built_in_kind_configured_as_a_custom_resource_renders_in_both() {
        let config = "kind: CustomResourceStateMetrics\nspec:\n  resources:\n    - groupVersionKind: {group: \"\", version: v1, kind: Service}\n      metricNamePrefix: svc\n      metrics:\n        - {name: ports, help: Ports., each: {type: Gauge, gauge: {path: [spec, ports, \"0\", port]}}}\n";
        let options = FamilyArgs {
            custom_resource_state_config: Some(config.into()),
            resources: vec!["services".into()],
            ..FamilyArgs::default()
        }
        .validate()
        .unwrap();
        let src = r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"core","namespace":"web","uid":"s1"},"spec":{"type":"ClusterIP","ports":[{"port":443}]}}"#;
        let out = render_sources(&[("in.json".into(), src.into())], &options, Format::Text);
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        assert_eq!(out.rendered, 1);
        let body = String::from_utf8(out.body).unwrap();
        assert!(
            body.contains("svc_ports{customresource_group=\"\",customresource_kind=\"Service\",customresource_version=\"v1\"} 443\n"),
            "{body}"
        );
        assert!(
            body.contains(
                "kube_service_spec_type{namespace=\"web\",service=\"core\",uid=\"s1\",type=\"ClusterIP\"} 1\n"
            ),
            "{body}"
        );
    }

    #[test]
    fn custom_stateset_and_info_families_keep_their_type_in_openmetrics_only() {
        let config = "kind: CustomResourceStateMetrics\nspec:\n  resources:\n    - groupVersionKind: {group: acme.example, version: v1, kind: Widget}\n      metrics:\n        - name: phase\n          help: Phase.\n          each:\n            type: StateSet\n            stateSet: {path: [status], labelName: phase, valueFrom: [phase], list: [Ready, Failed]}\n        - name: version_info\n          help: Version.\n          each:\n            type: Info\n            info:\n              labelsFromPath: {version: [spec, version]}\n";
        let options = FamilyArgs {
            custom_resource_state_config: Some(config.into()),
            custom_resource_state_only: true,
            ..FamilyArgs::default()
        }
        .validate()
        .unwrap();
        let src = r#"{"apiVersion":"acme.example/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"version":"1.2"},"status":{"phase":"Ready"}}"#;
        let gvk = r#"customresource_group="acme.example",customresource_kind="Widget",customresource_version="v1""#;
        let samples = format!(
            "kube_customresource_phase{{{gvk},phase=\"Failed\"}} 0\nkube_customresource_phase{{{gvk},phase=\"Ready\"}} 1\n"
        );
        let info = format!("kube_customresource_version_info{{{gvk},version=\"1.2\"}} 1\n");
        for (format, stateset, info_type) in [
            (Format::Text, "gauge", "gauge"),
            (Format::OpenMetrics, "stateset", "info"),
        ] {
            let out = render_sources(&[("in.json".into(), src.into())], &options, format);
            assert!(out.problems.is_empty(), "{:?}", out.problems);
            let body = String::from_utf8(out.body).unwrap();
            let eof = if format == Format::OpenMetrics { "# EOF\n" } else { "" };
            assert_eq!(
                body,
                format!(
                    "# HELP kube_customresource_phase Phase.\n# TYPE kube_customresource_phase {stateset}\n{samples}# HELP kube_customresource_version_info Version.\n# TYPE kube_customresource_version_info {info_type}\n{info}{eof}"
                )
            );
        }
    }

    #[test]
    fn a_metric_name_two_custom_resources_share_is_one_family() {
        let config = "kind: CustomResourceStateMetrics\nspec:\n  resources:\n    - groupVersionKind: {group: acme.example, version: v1, kind: Widget}\n      metrics:\n        - {name: ready, help: Ready., each: {type: Gauge, gauge: {path: [status, ready]}}}\n    - groupVersionKind: {group: acme.example, version: v1, kind: Gadget}\n      metrics:\n        - {name: ready, help: Ready., each: {type: Gauge, gauge: {path: [status, ready]}}}\n";
        let options = FamilyArgs {
            custom_resource_state_config: Some(config.into()),
            custom_resource_state_only: true,
            ..FamilyArgs::default()
        }
        .validate()
        .unwrap();
        let src = r#"{"apiVersion":"acme.example/v1","kind":"Widget","metadata":{"name":"w"},"status":{"ready":true}}
{"apiVersion":"acme.example/v1","kind":"Gadget","metadata":{"name":"g"},"status":{"ready":false}}"#;
        let out = render_sources(&[("in.json".into(), src.into())], &options, Format::Text);
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        let group = r#"customresource_group="acme.example""#;
        assert_eq!(
            String::from_utf8(out.body).unwrap(),
            format!(
                "# HELP kube_customresource_ready Ready.\n# TYPE kube_customresource_ready gauge\n\
                 kube_customresource_ready{{{group},customresource_kind=\"Gadget\",customresource_version=\"v1\"}} 0\n\
                 kube_customresource_ready{{{group},customresource_kind=\"Widget\",customresource_version=\"v1\"}} 1\n"
            )
        );
    }

    #[test]
    fn unknown_kinds_and_bad_objects_are_reported_and_skipped() {
        let src = r#"{"apiVersion":"cert-manager.io/v1","kind":"Certificate","metadata":{"name":"c","namespace":"ns"}}
{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j","namespace":"ns","creationTimestamp":"2026-11-24T05:00:00Z"},"spec":{"parallelism":"lots"}}
{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"ok","namespace":"ns","creationTimestamp":"2026-11-24T05:00:00Z"}}"#;
        let out = render_sources(&[("in.json".into(), src.into())], &options(), Format::Text);
        assert_eq!(out.rendered, 1);
        assert_eq!(out.problems.len(), 2, "{:?}", out.problems);
        assert!(out.problems[0].contains("Certificate ns/c: kind not exported"));
        assert!(out.problems[1].contains("Job ns/j"));
        let body = String::from_utf8(out.body).unwrap();
        assert!(
            body.contains("kube_job_created{namespace=\"ns\",job_name=\"ok\"} 1.7954964e+09\n"),
            "{body}"
        );
    }
}
