//! The report as one self-contained HTML page: no network, charts drawn here as inline SVG,
//! the right-sizing table filtered and sorted by a few lines of inline script. Every string
//! from the cluster is escaped (names are user input).

use std::fmt::Write;

use super::build::{ContainerRow, GroupRow, NodeRow, Report};
use super::inventory::Amounts;
use super::text::{bytes, cpu, group_cells};

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#57606a;margin:0}.notes{color:#9a6700;margin:8px 0 0;padding-left:18px}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;min-width:260px}
.card b{display:block;margin-bottom:4px}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;border-bottom:1px solid #eaeef2;text-align:right;white-space:nowrap}
th{background:#f6f8fa;cursor:pointer;user-select:none;white-space:normal;vertical-align:bottom}th:first-child,td:first-child{text-align:left}
td.flags{color:#cf222e;text-align:left;white-space:normal}#containers{font-size:13px}.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
.filters{margin:8px 0;display:flex;gap:12px;align-items:center;flex-wrap:wrap}
svg text{font:12px system-ui,sans-serif;fill:#1b1f24}
"#;

const SCRIPT: &str = r#"
(function(){
  var table=document.getElementById('containers');if(!table)return;
  var rows=Array.prototype.slice.call(table.tBodies[0].rows);
  var text=document.getElementById('filter-text'),flag=document.getElementById('filter-flag'),
      rec=document.getElementById('filter-rec'),shown=document.getElementById('shown');
  function apply(){
    var q=text.value.toLowerCase(),f=flag.value,n=0;
    rows.forEach(function(r){
      var ok=r.dataset.name.indexOf(q)>=0&&(!f||r.dataset.flags.split(' ').indexOf(f)>=0)&&(!rec.checked||r.dataset.rec==='1');
      r.style.display=ok?'':'none';if(ok)n++;
    });
    shown.textContent=n+' of '+rows.length+' containers shown';
  }
  [text,flag,rec].forEach(function(e){e.addEventListener('input',apply);e.addEventListener('change',apply);});
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
    th.addEventListener('click',function(){
      var asc=th.dataset.dir!=='asc';th.dataset.dir=asc?'asc':'desc';
      rows.sort(function(a,b){
        var x=a.cells[i].dataset.v,y=b.cells[i].dataset.v;
        var c=(x!==undefined&&y!==undefined)?(parseFloat(x)-parseFloat(y)):a.cells[i].textContent.localeCompare(b.cells[i].textContent);
        return asc?c:-c;
      });
      rows.forEach(function(r){table.tBodies[0].appendChild(r);});
    });
  });
  apply();
})();
"#;

const USED: &str = "#0969da";
const REQUESTED: &str = "#80b3ff";
const LIMITED: &str = "#d6e6ff";

/// The whole page.
pub fn page(report: &Report) -> String {
    let mut out = String::new();
    let title = format!("Capacity report · {}", report.source);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(&title)
    );
    let mut window = match &report.window {
        Some(w) => format!("usage history over {}", escape(w)),
        None => "no usage history (current state only)".to_string(),
    };
    if let Some(at) = &report.as_of {
        window.push_str(&format!(", as of {}", escape(at)));
    }
    let _ = write!(
        out,
        "<header><h1>Capacity report</h1><p class=\"meta\">Source <code id=\"source\">{}</code> · generated {} · <span id=\"window\">{window}</span></p>",
        escape(&report.source),
        escape(&report.generated_at),
    );
    if !report.notes.is_empty() {
        out.push_str("<ul class=\"notes\">");
        for note in &report.notes {
            let _ = write!(out, "<li>{}</li>", escape(note));
        }
        out.push_str("</ul>");
    }
    out.push_str("</header>\n");
    cluster(&mut out, report);
    nodes(&mut out, &report.nodes);
    namespaces(&mut out, &report.namespaces);
    containers(&mut out, &report.containers, report.window.is_some());
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body></html>\n");
    out
}

fn cluster(out: &mut String, report: &Report) {
    let c = &report.cluster;
    let _ = write!(
        out,
        "<section id=\"cluster\"><h2>Cluster: {} nodes, {} active pods</h2><div class=\"cards\">",
        c.nodes, c.pods
    );
    for (label, fmt, pick) in [
        (
            "CPU",
            cpu as fn(Option<f64>) -> String,
            (|a: &Amounts| a.cpu) as fn(&Amounts) -> Option<f64>,
        ),
        ("Memory", bytes, |a: &Amounts| a.memory),
    ] {
        let _ = write!(
            out,
            "<div class=\"card\"><b>{label}</b>allocatable {} · requested {} · limited {} · used {}</div>",
            fmt(pick(&c.allocatable)),
            fmt(pick(&c.requested)),
            fmt(pick(&c.limited)),
            fmt(pick(&c.used)),
        );
    }
    out.push_str("</div></section>\n");
}

fn legend(out: &mut String, allocatable: bool) {
    let _ = write!(
        out,
        "<p class=\"legend\"><span><i style=\"background:{USED}\"></i>used</span><span><i style=\"background:{REQUESTED}\"></i>requested</span>\
         <span><i style=\"background:{LIMITED}\"></i>limited</span>"
    );
    if allocatable {
        out.push_str("<span><i style=\"border:2px solid #1b1f24;box-sizing:border-box\"></i>allocatable</span>");
    }
    out.push_str("</p>");
}

/// One bar: limited, requested and used drawn over each other, allocatable as an outline; the
/// scale leaves room for overcommit past allocatable.
fn bar(out: &mut String, x: f64, y: f64, width: f64, values: [Option<f64>; 4], label: &str) {
    let [allocatable, requested, limited, used] = values;
    let top = values.iter().flatten().fold(0.0f64, |a, b| a.max(*b));
    if top <= 0.0 {
        return;
    }
    let w = |v: Option<f64>| v.unwrap_or(0.0).max(0.0) / top * width;
    for (value, colour, height, kind) in [
        (limited, LIMITED, 14.0, "limited"),
        (requested, REQUESTED, 14.0, "requested"),
        (used, USED, 8.0, "used"),
    ] {
        if value.is_some() {
            let _ = write!(
                out,
                "<rect class=\"{kind}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{height}\" fill=\"{colour}\"><title>{}</title></rect>",
                y + (14.0 - height) / 2.0,
                w(value),
                escape(label)
            );
        }
    }
    if allocatable.is_some() {
        let _ = write!(
            out,
            "<rect class=\"allocatable\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"14\" fill=\"none\" stroke=\"#1b1f24\" stroke-width=\"1.5\"/>",
            w(allocatable)
        );
    }
}

/// Opens a chart of two bar columns, CPU at x = 220 and memory at x = 610.
fn chart_open(out: &mut String, id: &str, label: &str, height: f64) {
    let _ = write!(
        out,
        "<svg id=\"{id}\" role=\"img\" aria-label=\"{label}\" width=\"980\" height=\"{height}\" viewBox=\"0 0 980 {height}\">\
         <text x=\"220\" y=\"14\">CPU</text><text x=\"610\" y=\"14\">Memory</text>"
    );
}

fn nodes(out: &mut String, rows: &[NodeRow]) {
    out.push_str("<section id=\"nodes\"><h2>Nodes</h2>");
    legend(out, true);
    let row_height = 40.0;
    chart_open(
        out,
        "node-chart",
        "CPU and memory per node",
        24.0 + row_height * rows.len() as f64,
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 24.0 + row_height * i as f64;
        let _ = write!(
            out,
            "<g class=\"node\"><text x=\"0\" y=\"{:.1}\">{}</text>",
            y + 12.0,
            escape(&r.node)
        );
        let cpu_label = format!(
            "{}: cpu allocatable {}, requested {}, limited {}, used {}",
            r.node,
            cpu(r.allocatable.cpu),
            cpu(r.requested.cpu),
            cpu(r.limited.cpu),
            cpu(r.used.cpu)
        );
        bar(
            out,
            220.0,
            y,
            360.0,
            [r.allocatable.cpu, r.requested.cpu, r.limited.cpu, r.used.cpu],
            &cpu_label,
        );
        let memory_label = format!(
            "{}: memory allocatable {}, requested {}, limited {}, used {}",
            r.node,
            bytes(r.allocatable.memory),
            bytes(r.requested.memory),
            bytes(r.limited.memory),
            bytes(r.used.memory)
        );
        bar(
            out,
            610.0,
            y,
            360.0,
            [
                r.allocatable.memory,
                r.requested.memory,
                r.limited.memory,
                r.used.memory,
            ],
            &memory_label,
        );
        let fit = match (&r.largest_fit, r.closed.is_empty()) {
            (Some(f), _) => format!(
                "largest pod that still fits: {} ({}, {})",
                f.workload,
                cpu(f.requests.cpu),
                bytes(f.requests.memory)
            ),
            (None, false) => format!("closed: {}", r.closed.join(", ")),
            (None, true) => "no pod of the cluster's workloads fits".to_string(),
        };
        let over = if r.overcommitted.is_empty() {
            String::new()
        } else {
            format!(" · limits overcommit {}", r.overcommitted.join(", "))
        };
        let _ = write!(
            out,
            "<text x=\"220\" y=\"{:.1}\" fill=\"#57606a\">{}{}</text></g>",
            y + 28.0,
            escape(&fit),
            escape(&over)
        );
    }
    out.push_str("</svg></section>\n");
}

fn namespaces(out: &mut String, rows: &[GroupRow]) {
    out.push_str(
        "<section id=\"namespaces\"><h2>Namespaces</h2><p class=\"meta\">Bars against the largest namespace.</p>",
    );
    legend(out, false);
    let row_height = 22.0;
    let height = 24.0 + row_height * rows.len() as f64;
    chart_open(
        out,
        "namespace-chart",
        "requests, limits and usage per namespace",
        height,
    );
    // One scale per resource across namespaces, so bars compare.
    let top = |pick: fn(&GroupRow) -> [Option<f64>; 3]| rows.iter().flat_map(pick).flatten().fold(0.0f64, f64::max);
    let cpu_top = top(|r| [r.requests.cpu, r.limits.cpu, r.usage.cpu]);
    let memory_top = top(|r| [r.requests.memory, r.limits.memory, r.usage.memory]);
    for (i, r) in rows.iter().enumerate() {
        let y = 24.0 + row_height * i as f64;
        let _ = write!(
            out,
            "<g class=\"namespace\"><text x=\"0\" y=\"{:.1}\">{}</text>",
            y + 12.0,
            escape(&r.namespace)
        );
        let label = format!(
            "{}: cpu requests {}, used {}; memory requests {}, used {}",
            r.namespace,
            cpu(r.requests.cpu),
            cpu(r.usage.cpu),
            bytes(r.requests.memory),
            bytes(r.usage.memory)
        );
        for (x, top, [req, lim, used]) in [
            (220.0, cpu_top, [r.requests.cpu, r.limits.cpu, r.usage.cpu]),
            (610.0, memory_top, [r.requests.memory, r.limits.memory, r.usage.memory]),
        ] {
            // Scaled to the largest namespace: a namespace has no allocatable to draw.
            bar(
                out,
                x,
                y,
                360.0 * [req, lim, used].iter().flatten().fold(0.0f64, |a, v| a.max(*v)) / top.max(f64::MIN_POSITIVE),
                [None, req, lim, used],
                &label,
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out.push_str(
        "<table id=\"namespace-table\"><thead><tr><th>namespace</th><th>pods</th><th>CPU requests</th><th>CPU used</th><th>req ÷ used</th>\
         <th>memory requests</th><th>memory used</th><th>req ÷ used</th><th>Δ CPU</th><th>Δ memory</th></tr></thead><tbody>",
    );
    for r in rows {
        let _ = write!(out, "<tr><td>{}</td>", escape(&r.namespace));
        for cell in group_cells(r) {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></section>\n");
}

fn containers(out: &mut String, rows: &[ContainerRow], history: bool) {
    out.push_str(
        "<section id=\"rightsizing\"><h2>Right-sizing</h2><div class=\"filters\">\
         <input id=\"filter-text\" type=\"search\" placeholder=\"namespace/workload/container\">\
         <select id=\"filter-flag\"><option value=\"\">any flag</option>\
         <option value=\"no-requests\">no requests</option><option value=\"no-limits\">no limits</option>\
         <option value=\"oom-killed\">OOM-killed</option><option value=\"cpu-at-limit\">CPU at limit</option>\
         <option value=\"memory-at-limit\">memory at limit</option></select>\
         <label><input id=\"filter-rec\" type=\"checkbox\"> with a recommendation only</label>\
         <span id=\"shown\"></span></div>",
    );
    let seen = if history {
        ("CPU p95", "memory peak")
    } else {
        ("CPU used", "memory used")
    };
    let _ = write!(
        out,
        "<table id=\"containers\"><thead><tr><th>namespace/workload/container</th><th>pods</th><th>CPU request</th><th>{}</th>\
         <th>→ CPU request</th><th>memory request</th><th>{}</th><th>→ memory request</th><th>→ memory limit</th>\
         <th>Δ CPU</th><th>Δ memory</th><th>flags</th></tr></thead><tbody>",
        seen.0, seen.1
    );
    let cell = |out: &mut String, v: Option<f64>, fmt: fn(Option<f64>) -> String| {
        let _ = match v {
            Some(v) => write!(out, "<td data-v=\"{v}\">{}</td>", fmt(Some(v))),
            None => write!(out, "<td data-v=\"-1e300\">-</td>"),
        };
    };
    for r in rows {
        let name = format!(
            "{}/{}/{}/{}",
            r.namespace, r.workload.kind, r.workload.name, r.container
        );
        let flags: Vec<&str> = r.flags.iter().map(|f| f.name()).collect();
        let rec = r.recommendation.as_ref();
        let _ = write!(
            out,
            "<tr data-name=\"{}\" data-flags=\"{}\" data-rec=\"{}\"><td>{}</td><td data-v=\"{}\">{}</td>",
            escape(&name.to_lowercase()),
            flags.join(" "),
            u8::from(rec.is_some()),
            escape(&name),
            r.pods,
            r.pods
        );
        let (cpu_seen, memory_seen) = if history {
            (r.history.and_then(|h| h.cpu_p95), r.history.and_then(|h| h.memory_peak))
        } else {
            (r.usage.cpu, r.usage.memory)
        };
        cell(out, r.requests.cpu, cpu);
        cell(out, cpu_seen, cpu);
        cell(out, rec.and_then(|r| r.cpu_request), cpu);
        cell(out, r.requests.memory, bytes);
        cell(out, memory_seen, bytes);
        cell(out, rec.and_then(|r| r.memory_request), bytes);
        cell(out, rec.and_then(|r| r.memory_limit), bytes);
        cell(out, rec.and_then(|r| r.change.cpu), cpu);
        cell(out, rec.and_then(|r| r.change.memory), bytes);
        let reasons = rec.map(|r| r.reasons.join("\n")).unwrap_or_default();
        let _ = write!(
            out,
            "<td class=\"flags\" title=\"{}\">{}</td></tr>",
            escape(&reasons),
            escape(&flags.join(", "))
        );
    }
    out.push_str("</tbody></table></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_cluster_cannot_inject_markup() {
        use crate::report::build::{Filter, build};
        use crate::report::inventory::{FAMILIES, Inventory};
        use crate::report::samples::parse_text;
        let body = r#"
kube_node_status_allocatable{node="n<img src=x onerror=alert(1)>",resource="cpu",unit="core"} 4
kube_pod_info{namespace="ns\"><script>alert(1)</script>",pod="p",uid="u",node="n<img src=x onerror=alert(1)>"} 1
kube_pod_container_resource_requests{namespace="ns\"><script>alert(1)</script>",pod="p",uid="u",container="c'><b>",node="",resource="cpu",unit="core"} 1
"#;
        let samples = parse_text(body, |n| FAMILIES.contains(&n)).unwrap();
        let report = build(&Inventory::from_samples(&samples), None, &Filter::default(), "<src>");
        let page = page(&report);
        assert!(
            !page.contains("<script>alert"),
            "a namespace name is text, not a script"
        );
        assert!(!page.contains("<img"), "a node name is text, not an element");
        assert!(!page.contains("'><b>") && !page.contains("<src>"));
        assert!(page.contains("c&#39;&gt;&lt;b&gt;"), "a container name is text");
        assert!(page.contains("ns&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert_eq!(page.matches("<script>").count(), 1, "only the page's own script");
    }

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>\"a\" & 'b'"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;"
        );
    }
}
