//! The report as a terminal table (100 columns, units humanised, colour only on a TTY) and as
//! CSV (one view, raw units: cores and bytes).

use std::fmt::Write;

use super::build::{ContainerRow, GroupRow, NodeRow, Report};
use super::inventory::Amounts;

/// Width every table line fits in.
pub const WIDTH: usize = 100;

/// CPU in cores, humanised: `250m`, `1.5`, `12.3`; `-` when absent.
pub fn cpu(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v.abs() < 1.0 => format!("{}m", (v * 1000.0).round() as i64),
        Some(v) if v.abs() < 10.0 => trim(format!("{v:.2}")),
        Some(v) => trim(format!("{v:.1}")),
    }
}

/// Bytes, humanised in binary units: `512Mi`, `1.5Gi`; `-` when absent.
pub fn bytes(v: Option<f64>) -> String {
    let Some(v) = v else { return "-".into() };
    let units = ["", "Ki", "Mi", "Gi", "Ti", "Pi"];
    let mut scaled = v;
    let mut unit = 0;
    while scaled.abs() >= 1024.0 && unit < units.len() - 1 {
        scaled /= 1024.0;
        unit += 1;
    }
    let number = if scaled.abs() < 10.0 && unit > 0 {
        trim(format!("{scaled:.1}"))
    } else {
        format!("{}", scaled.round() as i64)
    };
    format!("{number}{}", units[unit])
}

/// A ratio as `2.3x`; `-` when absent.
pub fn times(v: Option<f64>) -> String {
    v.map(|v| format!("{}x", trim(format!("{v:.1}"))))
        .unwrap_or_else(|| "-".into())
}

/// A share as `31%`; `-` when either side is absent.
fn share(part: Option<f64>, whole: Option<f64>) -> String {
    match (part, whole) {
        (Some(p), Some(w)) if w > 0.0 => format!("{}%", (100.0 * p / w).round() as i64),
        _ => "-".into(),
    }
}

/// Writes `text` after `prefix`, wrapped at [`WIDTH`] with continuation lines indented.
fn wrap(out: &mut String, prefix: &str, text: &str) {
    let indent = " ".repeat(prefix.chars().count());
    let mut line = prefix.to_string();
    let mut empty = true;
    for word in text.split(' ') {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            let _ = writeln!(out, "{line}");
            line = indent.clone();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    let _ = writeln!(out, "{line}");
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Cuts `s` to `width` characters, keeping both ends (`shop/Deployment/w…er/app`).
fn fit(s: &str, width: usize) -> String {
    let count = s.chars().count();
    if count <= width {
        return s.to_string();
    }
    let head = (width - 1) / 2;
    let tail = width - 1 - head;
    let start: String = s.chars().take(head).collect();
    let end: String = s.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

/// Terminal colours, used only when writing to a terminal (and `NO_COLOR` is unset).
#[derive(Clone, Copy)]
pub struct Style {
    colour: bool,
}

impl Style {
    /// Colour when stdout is a terminal and `NO_COLOR` is not set.
    pub fn for_stdout() -> Style {
        Style {
            colour: std::io::IsTerminal::is_terminal(&std::io::stdout()) && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// No colour.
    pub fn plain() -> Style {
        Style { colour: false }
    }

    fn paint(self, code: &str, s: &str) -> String {
        if self.colour && !s.is_empty() {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }

    fn warn(self, s: &str) -> String {
        self.paint("31", s)
    }
}

/// Columns: header, width, right-aligned.
struct Table {
    columns: Vec<(&'static str, usize, bool)>,
}

impl Table {
    fn header(&self, out: &mut String, style: Style) {
        let line = self.line(self.columns.iter().map(|(h, _, _)| h.to_string()).collect());
        let _ = writeln!(out, "{}", style.bold(line.trim_end()));
    }

    fn line(&self, cells: Vec<String>) -> String {
        let mut line = String::new();
        for ((_, width, right), cell) in self.columns.iter().zip(cells) {
            let cell = fit(&cell, *width);
            if *right {
                let _ = write!(line, "{cell:>width$} ");
            } else {
                let _ = write!(line, "{cell:<width$} ");
            }
        }
        line
    }

    /// Writes a row; `tail` (painted flags) goes in the last column, which the caller left empty.
    fn row(&self, out: &mut String, cells: Vec<String>, tail: Option<String>) {
        let line = self.line(cells);
        let _ = match tail {
            Some(tail) => {
                let last = self.columns.last().map_or(0, |(_, width, _)| width + 1);
                writeln!(out, "{}{tail}", &line[..line.len() - last])
            }
            None => writeln!(out, "{}", line.trim_end()),
        };
    }
}

/// The terminal report.
pub fn table(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let mut title = format!(
        "kube-state-exporter report · {} · {}",
        report.source, report.generated_at
    );
    if let Some(window) = &report.window {
        let _ = write!(title, " · history {window}");
    }
    if let Some(at) = &report.as_of {
        let _ = write!(title, " · as of {at}");
    }
    let _ = writeln!(out, "{}", style.bold(&fit(&title, WIDTH)));
    for note in &report.notes {
        wrap(&mut out, "note: ", note);
    }
    let c = &report.cluster;
    let _ = writeln!(
        out,
        "\n{} {} nodes, {} active pods",
        style.bold("CLUSTER"),
        c.nodes,
        c.pods
    );
    for (label, fmt, pick) in [
        (
            "cpu",
            cpu as fn(Option<f64>) -> String,
            (|a: &Amounts| a.cpu) as fn(&Amounts) -> Option<f64>,
        ),
        ("memory", bytes, |a: &Amounts| a.memory),
    ] {
        let total = pick(&c.allocatable);
        let _ = writeln!(
            out,
            "  {label:<7} allocatable {:>7}  requested {:>7} ({:>4})  limited {:>7} ({:>4})  used {:>7} ({:>4})",
            fmt(total),
            fmt(pick(&c.requested)),
            share(pick(&c.requested), total),
            fmt(pick(&c.limited)),
            share(pick(&c.limited), total),
            fmt(pick(&c.used)),
            share(pick(&c.used), total),
        );
    }
    nodes(&mut out, &report.nodes, style);
    groups(&mut out, "NAMESPACE", &report.namespaces, style);
    groups(&mut out, "WORKLOAD", &report.workloads, style);
    containers(&mut out, &report.containers, report.window.is_some(), style);
    out
}

fn nodes(out: &mut String, rows: &[NodeRow], style: Style) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let table = Table {
        columns: vec![
            ("NODE", 20, false),
            ("CPU", 6, true),
            ("REQ", 6, true),
            ("USED", 6, true),
            ("FREE", 6, true),
            ("MEMORY", 7, true),
            ("REQ", 7, true),
            ("USED", 7, true),
            ("FREE", 7, true),
            ("PODS", 8, false),
        ],
    };
    table.header(out, style);
    for r in rows {
        let pods = match r.allocatable_pods {
            Some(max) => format!("{}/{}", r.pods, max as i64),
            None => r.pods.to_string(),
        };
        table.row(
            out,
            vec![
                r.node.clone(),
                cpu(r.allocatable.cpu),
                cpu(r.requested.cpu),
                cpu(r.used.cpu),
                cpu(r.headroom.cpu),
                bytes(r.allocatable.memory),
                bytes(r.requested.memory),
                bytes(r.used.memory),
                bytes(r.headroom.memory),
                pods,
            ],
            None,
        );
    }
    let _ = writeln!(out);
    let table = Table {
        columns: vec![
            ("NODE", 20, false),
            ("CPU LIM", 7, true),
            ("MEM LIM", 7, true),
            ("OVERCOMMIT", 10, false),
            ("LARGEST POD THAT STILL FITS", 34, false),
            ("CPU", 6, true),
            ("MEMORY", 7, true),
        ],
    };
    table.header(out, style);
    for r in rows {
        let over = if r.overcommitted.is_empty() {
            "-".to_string()
        } else {
            r.overcommitted.join(",")
        };
        let (fit, fit_cpu, fit_memory) = match &r.largest_fit {
            Some(f) => (f.workload.clone(), cpu(f.requests.cpu), bytes(f.requests.memory)),
            None if !r.closed.is_empty() => (format!("closed: {}", r.closed.join(", ")), "-".into(), "-".into()),
            None => ("none".to_string(), "-".to_string(), "-".to_string()),
        };
        let line = table.line(vec![
            r.node.clone(),
            cpu(r.limited.cpu),
            bytes(r.limited.memory),
            over.clone(),
            fit,
            fit_cpu,
            fit_memory,
        ]);
        // Painted after alignment: escape codes must not count as width.
        let line = if r.overcommitted.is_empty() {
            line
        } else {
            line.replacen(
                &format!(" {over:<10} "),
                &format!(" {} ", style.warn(&format!("{over:<10}"))),
                1,
            )
        };
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn groups(out: &mut String, title: &'static str, rows: &[GroupRow], style: Style) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let name_width = if title == "WORKLOAD" { 32 } else { 26 };
    let table = Table {
        columns: vec![
            (title, name_width, false),
            ("PODS", 5, true),
            ("CPU REQ", 7, true),
            ("USED", 6, true),
            ("R/U", 5, true),
            ("MEM REQ", 7, true),
            ("USED", 7, true),
            ("R/U", 5, true),
            ("ΔCPU", 7, true),
            ("ΔMEM", 7, true),
        ],
    };
    table.header(out, style);
    for r in rows {
        let name = match &r.workload {
            Some(w) => format!("{}/{}/{}", r.namespace, w.kind, w.name),
            None => r.namespace.clone(),
        };
        table.row(out, [vec![name], group_cells(r).to_vec()].concat(), None);
    }
}

/// A namespace or workload row's figures after its name, humanised (table and page alike).
pub fn group_cells(r: &GroupRow) -> [String; 9] {
    [
        r.pods.to_string(),
        cpu(r.requests.cpu),
        cpu(r.usage.cpu),
        times(r.requests_per_usage.cpu),
        bytes(r.requests.memory),
        bytes(r.usage.memory),
        times(r.requests_per_usage.memory),
        cpu(r.change.and_then(|c| c.cpu)),
        bytes(r.change.and_then(|c| c.memory)),
    ]
}

fn containers(out: &mut String, rows: &[ContainerRow], history: bool, style: Style) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let table = Table {
        columns: vec![
            ("NAMESPACE/WORKLOAD/CONTAINER", 32, false),
            ("PODS", 4, true),
            ("CPU REQ", 7, true),
            (if history { "P95" } else { "USED" }, 6, true),
            ("→REQ", 6, true),
            ("MEM REQ", 7, true),
            (if history { "PEAK" } else { "USED" }, 7, true),
            ("→REQ", 7, true),
            ("→LIM", 7, true),
            ("FLAGS", 5, false),
        ],
    };
    table.header(out, style);
    let mut seen_flags = Vec::new();
    for r in rows {
        let rec = r.recommendation.as_ref();
        let cpu_seen = if history {
            r.history.and_then(|h| h.cpu_p95)
        } else {
            r.usage.cpu
        };
        let memory_seen = if history {
            r.history.and_then(|h| h.memory_peak)
        } else {
            r.usage.memory
        };
        let letters: String = r.flags.iter().map(|f| f.letter()).collect();
        for flag in &r.flags {
            if !seen_flags.contains(flag) {
                seen_flags.push(*flag);
            }
        }
        table.row(
            out,
            vec![
                format!("{}/{}/{}", r.namespace, r.workload.name, r.container),
                r.pods.to_string(),
                cpu(r.requests.cpu),
                cpu(cpu_seen),
                cpu(rec.and_then(|r| r.cpu_request)),
                bytes(r.requests.memory),
                bytes(memory_seen),
                bytes(rec.and_then(|r| r.memory_request)),
                bytes(rec.and_then(|r| r.memory_limit)),
                String::new(),
            ],
            (!letters.is_empty()).then(|| style.warn(&letters)),
        );
    }
    if !seen_flags.is_empty() {
        seen_flags.sort_by_key(|f| *f as u8);
        let legend: Vec<String> = seen_flags
            .iter()
            .map(|f| format!("{} {}", f.letter(), f.name()))
            .collect();
        let _ = writeln!(out, "flags: {}", legend.join(" · "));
    }
}

/// Which table `-o csv` writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum View {
    /// One row per node.
    Nodes,
    /// One row per namespace.
    Namespaces,
    /// One row per workload.
    Workloads,
    /// One row per workload container, with recommendations.
    #[default]
    Containers,
}

/// One CSV table, raw units (cores, bytes), empty cells where a figure is absent.
pub fn csv(report: &Report, view: View) -> String {
    let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let pair = |a: Amounts| [num(a.cpu), num(a.memory)];
    let mut rows: Vec<Vec<String>> = Vec::new();
    match view {
        View::Nodes => {
            rows.push(
                [
                    "node",
                    "allocatable_cpu_cores",
                    "allocatable_memory_bytes",
                    "allocatable_pods",
                    "requested_cpu_cores",
                    "requested_memory_bytes",
                    "limited_cpu_cores",
                    "limited_memory_bytes",
                    "used_cpu_cores",
                    "used_memory_bytes",
                    "pods",
                    "headroom_cpu_cores",
                    "headroom_memory_bytes",
                    "largest_fit",
                    "closed",
                    "overcommitted",
                ]
                .map(String::from)
                .to_vec(),
            );
            for r in &report.nodes {
                let mut row = vec![r.node.clone()];
                row.extend(pair(r.allocatable));
                row.push(num(r.allocatable_pods));
                row.extend(pair(r.requested));
                row.extend(pair(r.limited));
                row.extend(pair(r.used));
                row.push(r.pods.to_string());
                row.extend(pair(r.headroom));
                row.push(r.largest_fit.as_ref().map(|f| f.workload.clone()).unwrap_or_default());
                row.push(r.closed.join(" "));
                row.push(r.overcommitted.join(" "));
                rows.push(row);
            }
        }
        View::Namespaces | View::Workloads => {
            let workloads = view == View::Workloads;
            let mut header = vec!["namespace"];
            if workloads {
                header.extend(["kind", "name"]);
            }
            header.extend([
                "pods",
                "requests_cpu_cores",
                "requests_memory_bytes",
                "limits_cpu_cores",
                "limits_memory_bytes",
                "usage_cpu_cores",
                "usage_memory_bytes",
                "requests_per_usage_cpu",
                "requests_per_usage_memory",
                "change_cpu_cores",
                "change_memory_bytes",
            ]);
            rows.push(header.into_iter().map(String::from).collect());
            let source = if workloads {
                &report.workloads
            } else {
                &report.namespaces
            };
            for r in source {
                let mut row = vec![r.namespace.clone()];
                if let Some(w) = &r.workload {
                    row.extend([w.kind.clone(), w.name.clone()]);
                }
                row.push(r.pods.to_string());
                row.extend(pair(r.requests));
                row.extend(pair(r.limits));
                row.extend(pair(r.usage));
                row.extend(pair(r.requests_per_usage));
                row.extend(pair(r.change.unwrap_or_default()));
                rows.push(row);
            }
        }
        View::Containers => {
            rows.push(
                [
                    "namespace",
                    "workload_kind",
                    "workload",
                    "container",
                    "pods",
                    "requests_cpu_cores",
                    "requests_memory_bytes",
                    "limits_cpu_cores",
                    "limits_memory_bytes",
                    "usage_cpu_cores",
                    "usage_memory_bytes",
                    "cpu_p50",
                    "cpu_p95",
                    "cpu_p99",
                    "cpu_max",
                    "memory_peak_bytes",
                    "recommended_cpu_request_cores",
                    "recommended_memory_request_bytes",
                    "recommended_memory_limit_bytes",
                    "change_cpu_cores",
                    "change_memory_bytes",
                    "flags",
                ]
                .map(String::from)
                .to_vec(),
            );
            for r in &report.containers {
                let h = r.history.unwrap_or_default();
                let rec = r.recommendation.as_ref();
                let mut row = vec![
                    r.namespace.clone(),
                    r.workload.kind.clone(),
                    r.workload.name.clone(),
                    r.container.clone(),
                    r.pods.to_string(),
                ];
                row.extend(pair(r.requests));
                row.extend(pair(r.limits));
                row.extend(pair(r.usage));
                row.extend([h.cpu_p50, h.cpu_p95, h.cpu_p99, h.cpu_max, h.memory_peak].map(num));
                row.extend([
                    num(rec.and_then(|r| r.cpu_request)),
                    num(rec.and_then(|r| r.memory_request)),
                    num(rec.and_then(|r| r.memory_limit)),
                ]);
                row.extend(pair(rec.map(|r| r.change).unwrap_or_default()));
                row.push(r.flags.iter().map(|f| f.name()).collect::<Vec<_>>().join(" "));
                rows.push(row);
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        let _ = writeln!(out, "{}", cells.join(","));
    }
    out
}

fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_humanised() {
        assert_eq!(cpu(Some(0.25)), "250m");
        assert_eq!(cpu(Some(1.5)), "1.5");
        assert_eq!(cpu(Some(4.0)), "4");
        assert_eq!(cpu(Some(12.34)), "12.3");
        assert_eq!(cpu(Some(-0.5)), "-500m");
        assert_eq!(cpu(None), "-");
        assert_eq!(bytes(Some(268435456.0)), "256Mi");
        assert_eq!(bytes(Some(1.5 * 1024.0 * 1024.0 * 1024.0)), "1.5Gi");
        assert_eq!(bytes(Some(-64.0 * 1024.0 * 1024.0)), "-64Mi");
        assert_eq!(bytes(Some(512.0)), "512");
        assert_eq!(times(Some(2.26)), "2.3x");
        assert_eq!(fit("shop/Deployment/web/app", 11), "shop/…b/app");
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("plain"), "plain");
    }
}
