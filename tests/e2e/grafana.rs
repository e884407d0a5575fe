//! The Grafana dashboards of examples/grafana: every PromQL query passes `promtool check rules`,
//! and the main panels compute the hand-worked values of the dashboard's `*.test.yaml`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Grafana's built-in variables a query may use, and what they become in the generated rules.
const BUILTINS: &[(&str, &str)] = &[
    ("__rate_interval", "5m"),
    ("__interval", "1m"),
    ("__range", "1h"),
    ("__range_s", "3600"),
];

/// The dashboards' own variables as an operator leaves them: All (`.*`, the `allValue`) except
/// the job. A variable missing here fails the test rather than reaching promtool as `$name`.
const VALUES: &[(&str, &str)] = &[
    ("cluster", ".*"),
    ("job", "kube-state-metrics"),
    ("node", ".*"),
    ("namespace", ".*"),
    ("workload", ".*"),
];

/// One query of a dashboard, named as the recording rule the `*.test.yaml` asserts on.
#[derive(Debug, PartialEq)]
struct Query {
    record: String,
    expr: String,
}

fn grafana_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/grafana")
}

/// A fresh directory per call: tests run in parallel and a stale rules file must never pass.
fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("kse-grafana-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every variable a query refers to: `$name`, `${name}`, `${name:format}`, `[[name]]`. `$1` in a
/// label_replace replacement is a regex group, not a variable.
fn variable_refs(expr: &str) -> Vec<String> {
    let mut refs = Vec::new();
    substitute(expr, |name| {
        refs.push(name.to_string());
        Some(String::new())
    })
    .unwrap();
    refs
}

/// `expr` with every variable reference replaced by `value(name)`; the first name `value`
/// has no answer for is the error.
fn substitute(expr: &str, mut value: impl FnMut(&str) -> Option<String>) -> Result<String, String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(at) = rest.find(['$', '[']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let (name, len) = if let Some(braced) = tail.strip_prefix("${") {
            let end = braced.find('}').ok_or_else(|| format!("unclosed ${{ in {expr}"))?;
            let name = braced[..end].split(':').next().unwrap();
            (Some(name), end + 3)
        } else if let Some(bracketed) = tail.strip_prefix("[[") {
            let end = bracketed.find("]]").ok_or_else(|| format!("unclosed [[ in {expr}"))?;
            let name = bracketed[..end].split(':').next().unwrap();
            (Some(name), end + 4)
        } else if tail.starts_with('$') && tail[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            let end = tail[1..].find(|c: char| !is_name(c)).unwrap_or(tail.len() - 1);
            (Some(&tail[1..1 + end]), end + 1)
        } else {
            (None, 1)
        };
        match name {
            Some(name) => out.push_str(&value(name).ok_or_else(|| name.to_string())?),
            None => out.push_str(&tail[..len]),
        }
        rest = &tail[len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The PromQL inside a query variable's definition: `label_values(EXPR, label)` and
/// `query_result(EXPR)` have one; `label_values(label)`, `label_names()`, `metrics(...)` none.
fn template_expr(query: &str) -> Option<&str> {
    let query = query.trim();
    if let Some(inner) = query.strip_prefix("query_result(") {
        return Some(inner.strip_suffix(')')?.trim());
    }
    let args = query.strip_prefix("label_values(")?.strip_suffix(')')?;
    // The label is after the last comma outside (), {}, [] and quotes.
    let (mut depth, mut quoted, mut split) = (0i32, false, None);
    let mut chars = args.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quoted => {
                chars.next();
            }
            '"' => quoted = !quoted,
            _ if quoted => {}
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            ',' if depth == 0 => split = Some(i),
            _ => {}
        }
    }
    split.map(|i| args[..i].trim())
}

/// Panels in layout order, those inside collapsed rows included.
fn walk_panels<'a>(panels: &'a [Value], out: &mut Vec<&'a Value>) {
    for panel in panels {
        out.push(panel);
        if let Some(nested) = panel["panels"].as_array() {
            walk_panels(nested, out);
        }
    }
}

/// Every query of the dashboard with variables substituted, or every problem found.
fn dashboard_queries(dashboard: &Value) -> Result<Vec<Query>, Vec<String>> {
    let mut problems = Vec::new();
    let uid = dashboard["uid"].as_str().unwrap_or_default();
    if uid.is_empty() {
        problems.push("no uid".to_string());
    }
    let prefix = uid.replace('-', "_");
    let variables = dashboard["templating"]["list"].as_array().cloned().unwrap_or_default();
    let defined: BTreeSet<&str> = variables.iter().filter_map(|v| v["name"].as_str()).collect();
    let values: BTreeMap<&str, &str> = BUILTINS.iter().chain(VALUES).copied().collect();

    let mut raw = Vec::new();
    let mut panels = Vec::new();
    walk_panels(
        dashboard["panels"].as_array().map(Vec::as_slice).unwrap_or_default(),
        &mut panels,
    );
    let mut ids = BTreeSet::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or_default();
        let Some(id) = panel["id"].as_u64() else {
            problems.push(format!("panel {title:?} has no numeric id"));
            continue;
        };
        if !ids.insert(id) {
            problems.push(format!("panel id {id} is used twice"));
        }
        let mut ref_ids = BTreeSet::new();
        for target in panel["targets"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let Some(ref_id) = target["refId"].as_str().filter(|r| !r.is_empty()) else {
                problems.push(format!("panel {id} ({title}): a target has no refId"));
                continue;
            };
            if !ref_ids.insert(ref_id.to_lowercase()) {
                problems.push(format!("panel {id} ({title}): refId {ref_id} is used twice"));
            }
            match target["expr"].as_str() {
                Some(expr) if !expr.trim().is_empty() => raw.push((
                    format!("{prefix}:panel_{id}:{}", ref_id.to_lowercase()),
                    expr.to_string(),
                )),
                _ => problems.push(format!("panel {id} ({title}) target {ref_id}: no expr")),
            }
        }
    }
    for variable in &variables {
        if variable["type"] != "query" {
            continue;
        }
        let name = variable["name"].as_str().unwrap_or_default();
        // Grafana stores a variable query as a string or, since 10.x, as {query, refId}.
        let query = variable["query"].as_str().or(variable["query"]["query"].as_str());
        match query {
            Some(query) => {
                if let Some(expr) = template_expr(query) {
                    raw.push((format!("{prefix}:var_{name}"), expr.to_string()));
                }
            }
            None => problems.push(format!("variable {name}: no query")),
        }
    }
    if raw.is_empty() {
        problems.push("no PromQL expression at all".to_string());
    }

    let mut queries = Vec::new();
    for (record, expr) in raw {
        for name in variable_refs(&expr) {
            if !defined.contains(name.as_str()) && !BUILTINS.iter().any(|(b, _)| *b == name) {
                problems.push(format!("{record}: ${name} is not a variable of the dashboard"));
            }
        }
        match substitute(&expr, |name| values.get(name).map(|v| v.to_string())) {
            Ok(expr) => queries.push(Query { record, expr }),
            Err(name) => problems.push(format!("{record}: no test value for ${name} in VALUES")),
        }
    }
    if problems.is_empty() {
        Ok(queries)
    } else {
        Err(problems)
    }
}

/// A rules file with one recording rule per query. JSON strings are valid YAML double-quoted
/// scalars, which keeps multi-line queries and their quotes intact.
fn rules_yaml(group: &str, queries: &[Query]) -> String {
    let mut yaml = format!("groups:\n  - name: {group}\n    rules:\n");
    for q in queries {
        yaml.push_str(&format!(
            "      - record: {}\n        expr: {}\n",
            q.record,
            serde_json::to_string(&q.expr).unwrap()
        ));
    }
    yaml
}

fn promtool(args: &[&str], dir: &Path) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool not found: install Debian's `prometheus` package (see .ci/run)");
    assert!(
        out.status.success(),
        "promtool {args:?} failed in {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `<name>.json` → `<name>.rules.yaml` checked by promtool, then `<name>.test.yaml` run on it.
fn check_dashboard(name: &str) -> usize {
    let src = grafana_dir();
    let text = std::fs::read_to_string(src.join(format!("{name}.json"))).unwrap();
    let dashboard: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}.json: {e}"));
    let queries =
        dashboard_queries(&dashboard).unwrap_or_else(|problems| panic!("{name}.json:\n  {}", problems.join("\n  ")));
    let records: BTreeSet<&str> = queries.iter().map(|q| q.record.as_str()).collect();
    assert_eq!(records.len(), queries.len(), "{name}.json: record names collide");

    let dir = temp_dir(name);
    let rules = format!("{name}.rules.yaml");
    let test = format!("{name}.test.yaml");
    let group = dashboard["uid"].as_str().unwrap().replace('-', "_");
    std::fs::write(dir.join(&rules), rules_yaml(&group, &queries)).unwrap();
    std::fs::copy(src.join(&test), dir.join(&test)).unwrap();
    promtool(&["check", "rules", &rules], &dir);
    promtool(&["test", "rules", &test], &dir);
    // Kept on failure (the panic above skips this) so the generated rules can be inspected.
    std::fs::remove_dir_all(&dir).unwrap();
    queries.len()
}

#[test]
fn grafana_capacity_dashboard_passes_promtool() {
    let checked = check_dashboard("capacity");
    eprintln!("capacity.json: {checked} expressions checked");
}

#[test]
fn grafana_metrics_server_dashboard_passes_promtool() {
    let checked = check_dashboard("metrics-server");
    eprintln!("metrics-server.json: {checked} expressions checked");
}

#[test]
fn grafana_dashboards_are_all_tested() {
    let mut dashboards: Vec<String> = std::fs::read_dir(grafana_dir())
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".json").map(str::to_string))
        .collect();
    dashboards.sort();
    assert_eq!(
        dashboards,
        ["capacity", "metrics-server"],
        "a new dashboard needs its own test"
    );
    for name in &dashboards {
        assert!(
            grafana_dir().join(format!("{name}.test.yaml")).exists(),
            "{name}.test.yaml"
        );
    }
}

#[test]
fn grafana_query_parsing() {
    assert_eq!(
        variable_refs(r#"rate(x{job=~"$job", a="${cluster:regex}", b="[[node]]"}[$__rate_interval])"#),
        ["job", "cluster", "node", "__rate_interval"]
    );
    assert!(variable_refs(r#"label_replace(x, "a", "$1", "b", "(.*)") [1m]"#).is_empty());
    assert_eq!(
        substitute(r#"x{job=~"$job",ns=~"${namespace}"}[$__rate_interval]"#, |n| {
            BUILTINS
                .iter()
                .chain(VALUES)
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        }),
        Ok(r#"x{job=~"kube-state-metrics",ns=~".*"}[5m]"#.to_string())
    );
    assert_eq!(substitute("x{a=\"$nope\"}", |_| None), Err("nope".to_string()));
    assert_eq!(
        template_expr(r#"label_values(kube_node_info{cluster=~"$cluster", a=",)"}, job)"#),
        Some(r#"kube_node_info{cluster=~"$cluster", a=",)"}"#)
    );
    assert_eq!(template_expr("label_values(job)"), None);
    assert_eq!(
        template_expr("query_result(count by (w) (x))"),
        Some("count by (w) (x)")
    );
    assert_eq!(template_expr("label_names()"), None);

    let dashboard = serde_json::json!({
        "uid": "t-1",
        "templating": {"list": [{"name": "job", "type": "query", "query": "label_values(up, job)"}]},
        "panels": [
            {"id": 1, "type": "row", "collapsed": true, "panels": [
                {"id": 2, "targets": [{"refId": "A", "expr": "up{job=~\"$job\"}"}]},
                {"id": 3, "targets": [{"expr": "up"}]},
                {"id": 4, "targets": [{"refId": "A", "expr": "up{node=~\"$node\"}"}]}
            ]}
        ]
    });
    let problems = dashboard_queries(&dashboard).unwrap_err();
    assert_eq!(
        problems,
        [
            "panel 3 (): a target has no refId",
            "t_1:panel_4:a: $node is not a variable of the dashboard",
        ]
    );
    let ok = serde_json::json!({"uid": "t-1", "panels": [{"id": 7, "targets": [{"refId": "B", "expr": "up"}]}]});
    assert_eq!(
        dashboard_queries(&ok).unwrap(),
        [Query {
            record: "t_1:panel_7:b".into(),
            expr: "up".into()
        }]
    );
    let empty = serde_json::json!({"uid": "t-1", "panels": []});
    assert_eq!(dashboard_queries(&empty).unwrap_err(), ["no PromQL expression at all"]);
}
