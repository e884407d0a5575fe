//! `report`: capacity per node, namespace and workload, and right-sizing per workload container,
//! from a running exporter's `/metrics` or from Prometheus (with usage history).
//!
//! The flow mirrors the exporter's: a source yields KSM [`samples`], an [`inventory`] rebuilds
//! the cluster from them, [`build`] computes the rows, [`text`] prints them.

pub mod build;
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
    match (&args.metrics_url, &args.prometheus) {
        (Some(url), None) => {
            let samples = source::from_metrics_url(url).await?;
            Ok(build::build(&Inventory::from_samples(&samples), None, &filter, url))
        }
        (None, Some(url)) => {
            source::check_window(&args.window)?;
            let prometheus = source::Prometheus::new(url, args.selector.as_deref())?;
            let (current, history) = tokio::try_join!(prometheus.current(), prometheus.history(&args.window))?;
            Ok(build::build(
                &Inventory::from_samples(&current),
                Some(&history),
                &filter,
                url,
            ))
        }
        (Some(_), Some(_)) => bail!("give one source: --metrics-url or --prometheus, not both"),
        (None, None) => bail!(
            "give a source: --metrics-url http://HOST:8080/metrics (a running kube-state-exporter or KSM) \
             or --prometheus http://HOST:9090 (with usage history over --window)"
        ),
    }
}

/// Renders `report` in `format`.
pub fn render(report: &Report, args: &ReportArgs) -> anyhow::Result<String> {
    Ok(match args.output {
        ReportFormat::Table => text::table(report, text::Style::for_stdout()),
        ReportFormat::Json => serde_json::to_string_pretty(report)? + "\n",
        ReportFormat::Yaml => serde_saphyr::to_string(report)?,
        ReportFormat::Csv => text::csv(report, args.view),
    })
}

/// `report`: prints the report on stdout.
pub async fn run(args: ReportArgs) -> anyhow::Result<()> {
    let report = make(&args).await?;
    print!("{}", render(&report, &args)?);
    Ok(())
}
