//! End-to-end checks: config text + object → exposition lines. The cases follow the worked
//! examples of KSM's `docs/metrics/extend/customresourcestate-metrics.md` and the tables of
//! `registry_factory_test.go`, on objects of our own.

use serde_json::{Value, json};

use super::*;
use crate::exposition::{write_float, write_label};

/// A custom resource exercising every path form the docs use.
fn widget() -> Value {
    json!({
        "apiVersion": "acme.example/v1",
        "kind": "Widget",
        "metadata": {
            "name": "w1",
            "namespace": "prod",
            "labels": {"app": "shop", "tier": "web"},
            "annotations": {"team": "blue", "acme.example/owner": "alice"},
            "creationTimestamp": "2023-03-04T05:06:07Z",
        },
        "spec": {
            "version": "2.4.1",
            "replicas": 3,
            "refs": ["beta", "alpha"],
            "order": [{"id": 7, "enabled": true}, {"id": 9, "enabled": false}],
            "weights": [1, 2.5, "3"],
        },
        "status": {
            "phase": "Running",
            "uptime": 12.5,
            "active": {"blue": 2, "green": 5},
            "sub": {
                "blue": {"active": 1, "ready": 2},
                "green": {"active": 3, "ready": 4},
            },
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-02T03:04:05Z"},
                {"type": "Synced", "status": "False"},
                {"type": "Degraded", "status": "Unknown"},
            ],
            "capacity": {"cpu": "250m", "memory": "512Gi"},
            "utilization": "75%",
        },
    })
}

/// The config's header for one Widget resource; `rest` continues the resource entry (indented
/// by six spaces).
fn widget_config(rest: &str) -> String {
    format!(
        "kind: CustomResourceStateMetrics\nspec:\n  resources:\n    - groupVersionKind:\n        group: acme.example\n        version: v1\n        kind: Widget\n{rest}"
    )
}

/// Every family of every resource of `config`, rendered for `obj` as exposition lines; also
/// what was skipped, summed.
fn render(config: &str, obj: &Value) -> (Vec<String>, Skipped) {
    let config = parse(config).unwrap_or_else(|e| panic!("config rejected: {e}"));
    let mut lines = Vec::new();
    let mut skipped = Skipped::default();
    for resource in &config.resources {
        for family in resource.families(&resource.group_version_kind) {
            let s = family.generate(obj, &mut |labels, value| lines.push(line(family.name(), labels, value)));
            skipped.errors.extend(s.errors);
            skipped.duplicates += s.duplicates;
        }
    }
    (lines, skipped)
}

/// `name{k="v",…} value`, written with the exporter's own escaping and number formatting.
fn line(name: &str, labels: &LabelSet, value: f64) -> String {
    let mut out = Vec::new();
    out.extend_from_slice(name.as_bytes());
    out.push(b'{');
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_label(&mut out, k, v);
    }
    out.extend_from_slice(b"} ");
    write_float(&mut out, value);
    String::from_utf8(out).unwrap()
}

const GVK: &str = r#"customresource_group="acme.example",customresource_kind="Widget",customresource_version="v1""#;

/// Renders a single metric entry (indented as a `metrics:` item) with no skips expected.
fn metric_lines(metric: &str) -> Vec<String> {
    let (lines, skipped) = render(&widget_config(&format!("      metrics:\n{metric}")), &widget());
    assert!(skipped.is_empty(), "unexpected skips: {skipped:?}");
    lines
}

#[test]
fn single_value() {
    let lines = metric_lines(
        "        - name: uptime\n          help: Widget uptime\n          each:\n            type: Gauge\n            gauge:\n              path: [status, uptime]\n",
    );
    assert_eq!(lines, [format!("kube_customresource_uptime{{{GVK}}} 12.5")]);
}

#[test]
fn kitchen_sink_labels() {
    let config = widget_config(
        r#"      commonLabels:
        crd_type: widget
      labelsFromPath:
        name: [metadata, name]
      metrics:
        - name: ready_count
          help: Widgets ready per pool
          each:
            type: Gauge
            gauge:
              path: [status, sub]
              labelFromKey: pool
              labelsFromPath:
                active: [active]
              valueFrom: [ready]
          commonLabels:
            custom_metric: "yes"
          labelsFromPath:
            "*": [metadata, labels]
            "note_*": [metadata, annotations]
            "**": [metadata, annotations]
            name: [metadata, name]
            app: [metadata, labels, app]
"#,
    );
    let (lines, skipped) = render(&config, &widget());
    assert!(skipped.is_empty());
    let base = r#"app="shop",crd_type="widget",custom_metric="yes",customresource_group="acme.example",customresource_kind="Widget",customresource_version="v1",name="w1",note_acme_example_owner="alice",note_team="blue""#;
    assert_eq!(
        lines,
        [
            format!(
                r#"kube_customresource_ready_count{{_acme_example_owner="alice",_team="blue",active="1",{base},pool="blue",tier="web"}} 2"#
            ),
            format!(
                r#"kube_customresource_ready_count{{_acme_example_owner="alice",_team="blue",active="3",{base},pool="green",tier="web"}} 4"#
            ),
        ]
    );
}

#[test]
fn non_map_arrays_into_info_labels() {
    let config = widget_config(
        "      labelsFromPath:\n        name: [metadata, name]\n      metrics:\n        - name: ref_info\n          help: Reference to other Widget\n          each:\n            type: Info\n            info:\n              path: [spec, refs]\n              labelsFromPath:\n                ref: []\n",
    );
    let (lines, skipped) = render(&config, &widget());
    assert!(skipped.is_empty());
    assert_eq!(
        lines,
        [
            format!(r#"kube_customresource_ref_info{{{GVK},name="w1",ref="alpha"}} 1"#),
            format!(r#"kube_customresource_ref_info{{{GVK},name="w1",ref="beta"}} 1"#),
        ]
    );
}

#[test]
fn same_name_with_different_labels_and_quantities() {
    let config = r#"kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind:
        group: autoscaling.k8s.io
        kind: "VerticalPodAutoscaler"
        version: "v1"
      labelsFromPath:
        verticalpodautoscaler: [metadata, name]
        namespace: [metadata, namespace]
        target_kind: [spec, targetRef, kind]
      metrics:
        - name: "vpa_lowerbound"
          help: "Minimum memory."
          commonLabels:
            unit: "byte"
            resource: "memory"
          each:
            type: Gauge
            gauge:
              path: [status, recommendation, containerRecommendations]
              labelsFromPath:
                container: [containerName]
              valueFrom: [lowerBound, memory]
        - name: "vpa_lowerbound"
          help: "Minimum cpu."
          commonLabels:
            unit: "core"
            resource: "cpu"
          each:
            type: Gauge
            gauge:
              path: [status, recommendation, containerRecommendations]
              labelsFromPath:
                container: [containerName]
              valueFrom: [lowerBound, cpu]
"#;
    let vpa = json!({
        "metadata": {"name": "api-vpa", "namespace": "shop"},
        "spec": {"targetRef": {"kind": "Deployment", "name": "api"}},
        "status": {"recommendation": {"containerRecommendations": [
            {"containerName": "api", "lowerBound": {"cpu": "150m", "memory": "262144k"}},
            {"containerName": "sidecar", "lowerBound": {"cpu": "25m"}},
        ]}},
    });
    let (lines, skipped) = render(config, &vpa);
    // The sidecar has no memory bound: skipped without an error, as in KSM.
    assert!(skipped.is_empty());
    let gvk = r#"customresource_group="autoscaling.k8s.io",customresource_kind="VerticalPodAutoscaler",customresource_version="v1",namespace="shop""#;
    assert_eq!(
        lines,
        [
            format!(
                r#"kube_customresource_vpa_lowerbound{{container="api",{gvk},resource="memory",target_kind="Deployment",unit="byte",verticalpodautoscaler="api-vpa"}} 2.62144e+08"#
            ),
            format!(
                r#"kube_customresource_vpa_lowerbound{{container="api",{gvk},resource="cpu",target_kind="Deployment",unit="core",verticalpodautoscaler="api-vpa"}} 0.15"#
            ),
            format!(
                r#"kube_customresource_vpa_lowerbound{{container="sidecar",{gvk},resource="cpu",target_kind="Deployment",unit="core",verticalpodautoscaler="api-vpa"}} 0.025"#
            ),
        ]
    );
}

#[test]
fn status_conditions_as_gauges() {
    let config = widget_config(
        "      labelsFromPath:\n        name: [metadata, name]\n      metrics:\n        - name: widget_status\n          help: status condition\n          each:\n            type: Gauge\n            gauge:\n              path: [status, conditions]\n              labelsFromPath:\n                type: [\"type\"]\n              valueFrom: [\"status\"]\n",
    );
    let (lines, skipped) = render(&config, &widget());
    assert!(skipped.is_empty());
    let name = r#"kube_customresource_widget_status"#;
    assert_eq!(
        lines,
        [
            format!(r#"{name}{{{GVK},name="w1",type="Degraded"}} 0"#),
            format!(r#"{name}{{{GVK},name="w1",type="Ready"}} 1"#),
            format!(r#"{name}{{{GVK},name="w1",type="Synced"}} 0"#),
        ]
    );
}

#[test]
fn stateset_phase() {
    let lines = metric_lines(
        "        - name: status_phase\n          help: Widget phase\n          each:\n            type: StateSet\n            stateSet:\n              labelName: phase\n              path: [status, phase]\n              list: [Pending, Running, Failed]\n",
    );
    let name = "kube_customresource_status_phase";
    assert_eq!(
        lines,
        [
            format!(r#"{name}{{{GVK},phase="Failed"}} 0"#),
            format!(r#"{name}{{{GVK},phase="Pending"}} 0"#),
            format!(r#"{name}{{{GVK},phase="Running"}} 1"#),
        ]
    );
}

#[test]
fn stateset_over_conditions_matches_unquoted_true() {
    // Unquoted True/False/Unknown are YAML booleans; KSM's decoder keeps their text, so they
    // still match the conditions' "True"/"False"/"Unknown" strings.
    let lines = metric_lines(
        "        - name: condition\n          each:\n            type: stateset\n            stateSet:\n              labelName: status\n              labelsFromPath:\n                type: [type]\n              list: [True, False, Unknown]\n              path: [status, conditions]\n              valueFrom: [status]\n",
    );
    let expected: Vec<String> = [
        ("False", "Degraded", 0),
        ("False", "Ready", 0),
        ("False", "Synced", 1),
        ("True", "Degraded", 0),
        ("True", "Ready", 1),
        ("True", "Synced", 0),
        ("Unknown", "Degraded", 1),
        ("Unknown", "Ready", 0),
        ("Unknown", "Synced", 0),
    ]
    .iter()
    .map(|(status, ty, v)| format!(r#"kube_customresource_condition{{{GVK},status="{status}",type="{ty}"}} {v}"#))
    .collect();
    assert_eq!(lines, expected);
}

#[test]
fn info_from_labels_only() {
    let lines = metric_lines(
        "        - name: version\n          help: Widget version\n          each:\n            type: Info\n            info:\n              labelsFromPath:\n                version: [spec, version]\n",
    );
    assert_eq!(
        lines,
        [format!(r#"kube_customresource_version{{{GVK},version="2.4.1"}} 1"#)]
    );
}

#[test]
fn info_label_from_key_and_labels_relative_to_entries() {
    let lines = metric_lines(
        "        - name: pool_info\n          each:\n            type: Info\n            info:\n              path: [status, active]\n              labelFromKey: pool\n",
    );
    assert_eq!(
        lines,
        [
            format!(r#"kube_customresource_pool_info{{{GVK},pool="blue"}} 1"#),
            format!(r#"kube_customresource_pool_info{{{GVK},pool="green"}} 1"#),
        ]
    );
    let lines = metric_lines(
        "        - name: sub_info\n          each:\n            type: Info\n            info:\n              path: [status, sub]\n              labelsFromPath:\n                active: [active]\n",
    );
    assert_eq!(
        lines,
        [
            format!(r#"kube_customresource_sub_info{{active="1",{GVK}}} 1"#),
            format!(r#"kube_customresource_sub_info{{active="3",{GVK}}} 1"#),
        ]
    );
}

#[test]
fn info_label_from_key_conflict_is_logged_but_written() {
    let (lines, skipped) = render(
        &widget_config(
            "      metrics:\n        - name: pool_info\n          each:\n            type: Info\n            info:\n              path: [status, active]\n              labelFromKey: pool\n              labelsFromPath:\n                pool: [blue]\n",
        ),
        &widget(),
    );
    assert_eq!(
        lines,
        [
            format!(r#"kube_customresource_pool_info{{{GVK},pool="2"}} 1"#),
            format!(r#"kube_customresource_pool_info{{{GVK},pool="blue"}} 1"#),
            format!(r#"kube_customresource_pool_info{{{GVK},pool="green"}} 1"#),
        ]
    );
    assert_eq!(
        skipped.errors,
        ["[status,active]: [labelFromKey (pool) generated labels conflict with labelsFromPath, consider renaming it]"]
    );
}

#[test]
fn wildcard_resolution_labels_the_resolved_gvk() {
    let config = parse(
        "spec:\n  resources:\n    - groupVersionKind: {group: acme.example, version: \"*\", kind: \"*\"}\n      metrics:\n        - name: myobject_info\n          help: Widget objects\n          each:\n            type: Info\n            info:\n              path: [metadata]\n              labelsFromPath:\n                object: [name]\n                namespace: [namespace]\n",
    )
    .unwrap();
    let resource = &config.resources[0];
    assert!(resource.group_version_kind.is_wildcard());
    let resolved = GroupVersionKind {
        group: "acme.example".into(),
        version: "v2".into(),
        kind: "Gadget".into(),
    };
    let families = resource.families(&resolved);
    let (samples, skipped) = families[0].samples(&widget());
    assert!(skipped.is_empty());
    assert_eq!(
        samples
            .iter()
            .map(|(l, v)| line(families[0].name(), l, *v))
            .collect::<Vec<_>>(),
        [
            r#"kube_customresource_myobject_info{customresource_group="acme.example",customresource_kind="Gadget",customresource_version="v2",namespace="prod",object="w1"} 1"#
        ]
    );
}

#[test]
fn metric_name_prefixes() {
    let metric = "      metrics:\n        - name: uptime\n          each:\n            type: Gauge\n            gauge:\n              path: [status, uptime]\n";
    let names = |prefix_line: &str| {
        let (lines, _) = render(&widget_config(&format!("{prefix_line}{metric}")), &widget());
        lines[0].split('{').next().unwrap().to_string()
    };
    assert_eq!(names(""), "kube_customresource_uptime");
    assert_eq!(names("      metricNamePrefix: acme_widgets\n"), "acme_widgets_uptime");
    assert_eq!(names("      metricNamePrefix: \"\"\n"), "uptime");
    // null is Go's nil pointer: the default prefix.
    assert_eq!(names("      metricNamePrefix: ~\n"), "kube_customresource_uptime");
}

#[test]
fn nil_is_zero() {
    let gauge = |extra: &str| {
        widget_config(&format!(
            "      metrics:\n        - name: paused\n          each:\n            type: Gauge\n            gauge:\n              path: [spec, paused]\n{extra}"
        ))
    };
    let (lines, skipped) = render(&gauge("              nilIsZero: true\n"), &widget());
    assert_eq!(lines, [format!("kube_customresource_paused{{{GVK}}} 0")]);
    assert!(skipped.is_empty());

    let (lines, skipped) = render(&gauge(""), &widget());
    assert!(lines.is_empty());
    assert_eq!(skipped.errors, ["[spec,paused]: got nil while resolving path"]);
}

#[test]
fn missing_value_from_is_skipped_silently() {
    let (lines, skipped) = render(
        &widget_config(
            "      metrics:\n        - name: x\n          each:\n            type: Gauge\n            gauge:\n              path: [status, conditions]\n              valueFrom: [observedGeneration]\n",
        ),
        &widget(),
    );
    assert!(lines.is_empty());
    assert!(skipped.is_empty());
}

#[test]
fn label_from_key_on_a_map_of_values() {
    let lines = metric_lines(
        "        - name: active\n          each:\n            type: Gauge\n            gauge:\n              path: [status, active]\n              labelFromKey: pool\n",
    );
    assert_eq!(
        lines,
        [
            format!(r#"kube_customresource_active{{{GVK},pool="blue"}} 2"#),
            format!(r#"kube_customresource_active{{{GVK},pool="green"}} 5"#),
        ]
    );
}

#[test]
fn list_selectors_timestamps_quantities_and_percentages() {
    let gauge = |name: &str, path: &str, extra: &str| {
        format!(
            "        - name: {name}\n          each:\n            type: Gauge\n            gauge:\n              path: {path}\n{extra}"
        )
    };
    let lines = metric_lines(
        &[
            gauge("ready", r#"[status, conditions, "[type=Ready]", status]"#, ""),
            gauge(
                "ready_since",
                r#"[status, conditions, "[type=Ready]", lastTransitionTime]"#,
                "",
            ),
            gauge("created", "[metadata, creationTimestamp]", ""),
            gauge(
                "capacity",
                "[status, capacity]",
                "              labelFromKey: resource\n",
            ),
            gauge("utilization", "[status, utilization]", ""),
            gauge("last_order", r#"[spec, order, "-1", id]"#, ""),
            gauge("enabled_order", r#"[spec, order, "[enabled=true]", id]"#, ""),
        ]
        .concat(),
    );
    assert_eq!(
        lines,
        [
            format!("kube_customresource_ready{{{GVK}}} 1"),
            format!("kube_customresource_ready_since{{{GVK}}} 1.704164645e+09"),
            format!("kube_customresource_created{{{GVK}}} 1.677906367e+09"),
            format!(r#"kube_customresource_capacity{{{GVK},resource="cpu"}} 0.25"#),
            format!(r#"kube_customresource_capacity{{{GVK},resource="memory"}} 5.49755813888e+11"#),
            format!("kube_customresource_utilization{{{GVK}}} 0.75"),
            format!("kube_customresource_last_order{{{GVK}}} 9"),
            format!("kube_customresource_enabled_order{{{GVK}}} 7"),
        ]
    );
}

#[test]
fn label_values_are_formatted_like_go() {
    let lines = metric_lines(
        "        - name: shape_info\n          each:\n            type: Info\n            info:\n              labelsFromPath:\n                replicas: [spec, replicas]\n                enabled: [spec, order, \"0\", enabled]\n                uptime: [status, uptime]\n                active: [status, active]\n                refs: [spec, refs]\n                missing: [spec, nothing]\n",
    );
    assert_eq!(
        lines,
        [format!(
            r#"kube_customresource_shape_info{{active="map[blue:2 green:5]",{GVK},enabled="true",refs="[beta alpha]",replicas="3",uptime="12.5"}} 1"#
        )]
    );
}

#[test]
fn value_errors_cost_the_sample_and_are_reported() {
    let (lines, skipped) = render(
        &widget_config(
            "      metrics:\n        - name: phase\n          each:\n            type: Gauge\n            gauge:\n              path: [status, phase]\n        - name: types\n          each:\n            type: Gauge\n            gauge:\n              path: [status, conditions]\n              valueFrom: [type]\n        - name: replicas_state\n          each:\n            type: StateSet\n            stateSet:\n              labelName: state\n              path: [spec, replicas]\n              list: [a]\n",
        ),
        &widget(),
    );
    assert!(lines.is_empty(), "{lines:?}");
    assert_eq!(
        skipped.errors,
        [
            r#"[status,phase]: []: strconv.ParseFloat: parsing "Running": invalid syntax"#,
            r#"[status,conditions]: [0]: [type]: strconv.ParseFloat: parsing "Ready": invalid syntax"#,
            r#"[status,conditions]: [1]: [type]: strconv.ParseFloat: parsing "Synced": invalid syntax"#,
            r#"[status,conditions]: [2]: [type]: strconv.ParseFloat: parsing "Degraded": invalid syntax"#,
            "[spec,replicas]: expected value for path [] to be string, got int64",
        ]
    );
}

#[test]
fn gauge_value_from_shortcut_on_maps() {
    // KSM reads a one-segment valueFrom naming one of the map's own keys directly; for the
    // other entries it looks inside them, and silently skips what is not there.
    let lines = metric_lines(
        "        - name: cpu\n          each:\n            type: Gauge\n            gauge:\n              path: [status, capacity]\n              valueFrom: [cpu]\n",
    );
    assert_eq!(lines, [format!("kube_customresource_cpu{{{GVK}}} 0.25")]);
    let (lines, skipped) = render(
        &widget_config(
            "      metrics:\n        - name: phase\n          each:\n            type: Gauge\n            gauge:\n              path: [status]\n              valueFrom: [phase]\n",
        ),
        &widget(),
    );
    assert!(lines.is_empty());
    assert_eq!(
        skipped.errors,
        [r#"[status]: [phase]: strconv.ParseFloat: parsing "Running": invalid syntax"#]
    );
}

#[test]
fn missing_state_or_info_path_is_silent() {
    let (lines, skipped) = render(
        &widget_config(
            "      metrics:\n        - name: health\n          each:\n            type: StateSet\n            stateSet:\n              labelName: health\n              path: [status, health]\n              list: [ok, bad]\n        - name: owner_info\n          each:\n            type: Info\n            info:\n              path: [status, owner]\n              labelsFromPath:\n                owner: [name]\n",
        ),
        &widget(),
    );
    assert!(lines.is_empty());
    assert!(skipped.is_empty());
}

#[test]
fn label_precedence() {
    // Resource commonLabels cannot replace the GVK labels; a metric's can; labelsFromPath beat
    // commonLabels; the each block's own labels beat everything.
    let lines = metric_lines(
        "        - name: cond\n          commonLabels:\n            customresource_kind: Gadget\n            source: metric\n          labelsFromPath:\n            source: [metadata, namespace]\n          each:\n            type: Gauge\n            gauge:\n              path: [status, conditions, \"0\"]\n              valueFrom: [status]\n              labelsFromPath:\n                name: [type]\n",
    );
    let resource_level = widget_config(
        "      commonLabels:\n        customresource_kind: Gizmo\n      labelsFromPath:\n        name: [metadata, name]\n      metrics:\n        - name: uptime\n          each:\n            type: Gauge\n            gauge:\n              path: [status, uptime]\n",
    );
    assert_eq!(
        lines,
        [
            r#"kube_customresource_cond{customresource_group="acme.example",customresource_kind="Gadget",customresource_version="v1",name="Ready",source="prod"} 1"#
        ]
    );
    let (lines, _) = render(&resource_level, &widget());
    assert_eq!(
        lines,
        [format!(r#"kube_customresource_uptime{{{GVK},name="w1"}} 12.5"#)]
    );
}

#[test]
fn identical_label_sets_are_written_once() {
    let (lines, skipped) = render(
        &widget_config(
            "      metrics:\n        - name: weight\n          each:\n            type: Gauge\n            gauge:\n              path: [spec, weights]\n",
        ),
        &widget(),
    );
    assert_eq!(lines, [format!("kube_customresource_weight{{{GVK}}} 1")]);
    assert_eq!(
        skipped,
        Skipped {
            errors: vec![],
            duplicates: 2
        }
    );
}

#[test]
fn label_names_from_objects_are_sanitized() {
    let obj = json!({"metadata": {"labels": {"app.kubernetes.io/name": "db", "1st": "x", "ok": "y"}}});
    let (lines, _) = render(
        &widget_config(
            "      metrics:\n        - name: labels_info\n          each:\n            type: Info\n            info:\n              labelsFromPath:\n                \"label_*\": [metadata, labels]\n                \"*\": [metadata, labels]\n                my-label: [metadata, labels, ok]\n",
        ),
        &obj,
    );
    assert_eq!(
        lines,
        [format!(
            r#"kube_customresource_labels_info{{_1st="x",app_kubernetes_io_name="db",{GVK},label_1st="x",label_app_kubernetes_io_name="db",label_ok="y",my_label="y",ok="y"}} 1"#
        )]
    );
}

#[test]
fn families_carry_name_help_type_and_error_verbosity() {
    let config = parse(&widget_config(
        "      errorLogV: 5\n      metrics:\n        - name: phase\n          help: Widget phase\n          each:\n            type: StateSet\n            stateSet:\n              labelName: phase\n              path: [status, phase]\n              list: [Running]\n        - name: version_info\n          errorLogV: 9\n          each:\n            type: Info\n            info:\n              labelsFromPath:\n                version: [spec, version]\n",
    ))
    .unwrap();
    let resource = &config.resources[0];
    let families = resource.families(&resource.group_version_kind);
    let summary: Vec<_> = families
        .iter()
        .map(|f| (f.name(), f.help(), f.metric_type().openmetrics_type(), f.error_log_v()))
        .collect();
    assert_eq!(
        summary,
        [
            ("kube_customresource_phase", "Widget phase", "stateset", 5),
            ("kube_customresource_version_info", "", "info", 9),
        ]
    );
    let hook: SkipHook = std::sync::Arc::new(|_: &Family, _: &Skipped| {});
    let defs: Vec<_> = families.into_iter().map(|f| f.into_family_def(hook.clone())).collect();
    assert_eq!(defs[0].name, "kube_customresource_phase");
    assert_eq!(defs[0].full_help(), "Widget phase");
    assert_eq!(defs[0].metric_type, crate::exposition::MetricType::StateSet);
    assert_eq!(defs[1].metric_type, crate::exposition::MetricType::Info);
    assert!(!defs[1].opt_in);
}

#[test]
fn huge_arrays() {
    let items: Vec<Value> = (0..20_000).map(|i| json!({"id": format!("{i:05}"), "v": i})).collect();
    let obj = json!({"items": items});
    let (lines, skipped) = render(
        &widget_config(
            "      metrics:\n        - name: item\n          each:\n            type: Gauge\n            gauge:\n              path: [items]\n              labelsFromPath:\n                id: [id]\n              valueFrom: [v]\n",
        ),
        &obj,
    );
    assert!(skipped.is_empty());
    assert_eq!(lines.len(), 20_000);
    assert_eq!(lines[0], format!(r#"kube_customresource_item{{{GVK},id="00000"}} 0"#));
    assert_eq!(
        lines[19_999],
        format!(r#"kube_customresource_item{{{GVK},id="19999"}} 19999"#)
    );
}

#[test]
fn family_defs_render_through_the_shared_renderer_and_report_skips() {
    let config = parse(&widget_config(
        "      metrics:\n        - name: phase\n          each:\n            type: StateSet\n            stateSet:\n              labelName: phase\n              path: [status, phase]\n              list: [Running, Failed]\n        - name: missing\n          each:\n            type: Gauge\n            gauge:\n              path: [status, nowhere]\n",
    ))
    .unwrap();
    let resource = &config.resources[0];
    let reported = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook: SkipHook = {
        let reported = reported.clone();
        std::sync::Arc::new(move |family: &Family, skipped: &Skipped| {
            reported
                .lock()
                .unwrap()
                .push((family.name().to_string(), skipped.count()));
        })
    };
    let defs: Vec<_> = resource
        .families(&resource.group_version_kind)
        .into_iter()
        .map(|f| f.into_family_def(hook.clone()))
        .collect();
    let rendered =
        crate::families::render_with(&defs, &widget(), &crate::families::RenderContext::default(), b"", None);
    assert_eq!(
        std::str::from_utf8(rendered.family(0)).unwrap(),
        format!(
            // KSM sorts a family's samples by their labels, so Failed comes before Running.
            "kube_customresource_phase{{{GVK},phase=\"Failed\"}} 0\nkube_customresource_phase{{{GVK},phase=\"Running\"}} 1\n"
        )
    );
    assert_eq!(rendered.family(1), b"");
    assert_eq!(
        *reported.lock().unwrap(),
        [("kube_customresource_missing".to_string(), 1)]
    );
}
