//! `report`: capacity per node, namespace and workload, and right-sizing per workload container,
//! from a running exporter's `/metrics` or from Prometheus (with usage history).
//!
//! The flow mirrors the exporter's: a source yields KSM [`samples`], an [`inventory`] rebuilds
//! the cluster from them, [`build`] computes the rows, [`text`] prints them.

pub mod build;
pub mod html;
pub mod inventory;
pub mod samples;
pub mod source;
pub mod text;

use anyhow::bail;

use crate::cli::{ReportArgs, ReportFormat};
use build::{Filter, Report, Selector};
use inventory::Inventory;

/// Gathers the figures `args` name and builds the report.
pub async fn make(args: &ReportArgs) -> anyhow::Result<Report> {
    let selector = args
        .label_selector
        .as_deref()
        .map(Selector::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let filter = Filter {
        namespaces: args.namespace.clone(),
        selector,
        sort: args.sort,
        top: args.top,
    };
    let sources = [
        args.metrics_url.is_some(),
        args.prometheus.is_some(),
        args.kubeconfig.is_some(),
    ];
    if sources.iter().filter(|s| **s).count() > 1 {
        bail!("give one source: --metrics-url, --prometheus or --kubeconfig");
    }
    if args.at.is_some() && args.prometheus.is_none() {
        bail!("--at needs --prometheus: the other sources have the present only");
    }
    if let Some(url) = &args.metrics_url {
        let samples = source::from_metrics_url(url).await?;
        return Ok(build::build(&Inventory::from_samples(&samples), None, &filter, url));
    }
    if let Some(url) = &args.prometheus {
        source::check_window(&args.window)?;
        let mut prometheus = source::Prometheus::new(url, args.selector.as_deref())?;
        let at = args.at.as_deref().map(source::parse_time).transpose()?;
        if let Some(at) = at {
            prometheus = prometheus.at(at);
        }
        let (current, history) = tokio::try_join!(prometheus.current(), prometheus.history(&args.window))?;
        let mut report = build::build(&Inventory::from_samples(&current), Some(&history), &filter, url);
        report.as_of = at
            .and_then(|at| jiff::Timestamp::from_millisecond((at * 1000.0).round() as i64).ok())
            .map(|t| t.to_string());
        return Ok(report);
    }
    let kube = crate::app::kube_config(args.kubeconfig.as_deref()).await?;
    let name = format!("cluster {}", kube.cluster_url);
    let samples = source::from_cluster(kube, &filter.namespaces).await?;
    Ok(build::build(&Inventory::from_samples(&samples), None, &filter, &name))
}

/// The report of this exporter's own store (`/report`): the state now, no history.
pub fn live(store: &crate::store::Store, filter: &Filter) -> anyhow::Result<Report> {
    let samples = source::from_store(store)?;
    Ok(build::build(
        &Inventory::from_samples(&samples),
        None,
        filter,
        "this exporter",
    ))
}

/// Renders `report` in `format`.
pub fn render(report: &Report, args: &ReportArgs) -> anyhow::Result<String> {
    Ok(match args.output {
        ReportFormat::Table => text::table(report, text::Style::for_stdout()),
        ReportFormat::Json => serde_json::to_string_pretty(report)? + "\n",
        ReportFormat::Yaml => serde_saphyr::to_string(report)?,
        ReportFormat::Csv => text::csv(report, args.view),
        ReportFormat::Html => html::page(report),
    })
}

/// `report`: prints the report on stdout.
pub async fn run(args: ReportArgs) -> anyhow::Result<()> {
    let report = make(&args).await?;
    print!("{}", render(&report, &args)?);
    Ok(())
}
