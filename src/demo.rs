//! `demo` and `sim`: a generated, churning cluster in the simulated API server; `demo` also runs
//! the exporter against it.

use std::time::Duration;

use anyhow::Context;

use crate::app::{self, ExporterConfig, RunningExporter};
use crate::cli::{DemoArgs, FamilyArgs, ListenArgs, SimArgs};
use crate::sim::cluster::custom::CustomResources;
use crate::sim::cluster::{ClusterModel, ClusterSpec, Op};
use crate::sim::{Sim, SimConfig, SimError};
use crate::usage::{self, UsageConfig, UsageSettings};

/// Applies one churn operation to the simulated API server.
pub fn apply_op(sim: &Sim, op: Op) -> Result<(), SimError> {
    match op {
        Op::Create(obj) => sim.create(obj).map(drop),
        Op::Replace(obj) => sim.replace(obj).map(drop),
        Op::Patch {
            resource,
            namespace,
            name,
            patch,
        } => sim.patch(resource, namespace.as_deref(), &name, &patch).map(drop),
        Op::Delete {
            resource,
            namespace,
            name,
        } => sim.delete(resource, namespace.as_deref(), &name).map(drop),
    }
}

/// Creates the initial objects of a generated cluster; returns the model for churning it.
pub fn populate(sim: &Sim, pods: usize, seed: u64) -> anyhow::Result<ClusterModel> {
    let model = ClusterModel::new(ClusterSpec::for_pods(pods, seed), jiff::Timestamp::now());
    for obj in model.objects() {
        sim.create(obj).context("creating the generated cluster")?;
    }
    Ok(model)
}

/// Applies about `per_second` operations per second until the task is dropped.
pub async fn churn(sim: &Sim, model: &mut ClusterModel, per_second: usize) {
    if per_second == 0 {
        return std::future::pending().await;
    }
    let tick = Duration::from_millis(100);
    let mut interval = tokio::time::interval(tick);
    let mut owed = 0.0f64;
    loop {
        interval.tick().await;
        owed += per_second as f64 / 10.0;
        let events = owed.floor() as usize;
        if events == 0 {
            continue;
        }
        owed -= events as f64;
        for op in model.churn(jiff::Timestamp::now(), events) {
            // The model may race its own deletes; a refused op is harmless to the demo.
            if let Err(e) = apply_op(sim, op) {
                tracing::debug!(error = %e, "churn operation refused");
            }
        }
    }
}

/// The Custom Resource State config for the demo's Certificates and Kustomizations.
const EXAMPLE_CRS_CONFIG: &str = include_str!("../examples/custom-resources/crs-config.yaml");

/// `families` with the example Custom Resource State config when it names none (neither
/// `--custom-resource-state-config` nor `--custom-resource-state-config-file`), so the demo
/// serves its custom resources; it is then parsed like the inline flag.
pub fn with_example_crs_config(families: &FamilyArgs) -> FamilyArgs {
    let mut families = families.clone();
    if families.custom_resource_state_config.is_none() && families.custom_resource_state_config_file.is_none() {
        families.custom_resource_state_config = Some(EXAMPLE_CRS_CONFIG.to_string());
    }
    families
}

/// Creates the generated cluster's custom resources, their definitions first.
pub fn populate_custom(sim: &Sim, model: &ClusterModel) -> anyhow::Result<CustomResources> {
    let custom = CustomResources::new(model, jiff::Timestamp::now());
    for obj in custom.definitions().into_iter().chain(custom.objects()) {
        sim.create(obj).context("creating the generated custom resources")?;
    }
    Ok(custom)
}

/// Churns the custom resources one step a second (their controllers act on their own clock,
/// not at the workloads' rate) until the task is dropped; never, when `enabled` is false.
pub async fn churn_custom(sim: &Sim, custom: &mut CustomResources, enabled: bool) {
    if !enabled {
        return std::future::pending().await;
    }
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    loop {
        interval.tick().await;
        for op in custom.churn(jiff::Timestamp::now()) {
            if let Err(e) = apply_op(sim, op) {
                tracing::debug!(error = %e, "custom resource churn operation refused");
            }
        }
    }
}

/// `demo`: simulated cluster + exporter, until Ctrl-C/SIGTERM.
pub async fn run_demo(args: DemoArgs) -> anyhow::Result<()> {
    let families = with_example_crs_config(&args.families)
        .validate()
        .map_err(anyhow::Error::msg)?;
    let sim = Sim::start().await.context("starting the simulated API server")?;
    let mut model = populate(&sim, args.objects, args.seed)?;
    let mut custom = populate_custom(&sim, &model)?;
    let kube_config = kube::Config::new(sim.url().parse()?);
    // Usage from the simulator's metrics.k8s.io, polled at metrics-server's own resolution.
    let usage = match usage::check_resources(&families.resources) {
        Ok(()) => Some(UsageConfig {
            client: usage::no_retry_client(kube_config.clone())?,
            settings: UsageSettings {
                interval: Duration::from_secs(15),
                ..UsageSettings::default()
            },
        }),
        Err(_) => {
            println!("resource usage off: it needs the pods and nodes resources");
            None
        }
    };
    let exporter = RunningExporter::start(ExporterConfig {
        kube: kube_config,
        sharding: Default::default(),
        usage,
        families,
        namespaces: Vec::new(),
        page_size: 500,
        namespaces_denylist: Vec::new(),
        listen: ListenArgs {
            host: args.host.clone(),
            port: args.port,
            telemetry_host: args.telemetry_host.clone(),
            telemetry_port: args.telemetry_port,
            report: true,
            ..ListenArgs::default()
        },
        cache_plain_lines: false,
        max_hot_lines_bytes: crate::store::precompress::DEFAULT_HOT_BUDGET,
        api_timeout: Some(crate::app::DEFAULT_API_TIMEOUT),
    })
    .await?;
    let host = match exporter.metrics_addr.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    println!("kube-state-exporter demo: simulated API server at {}", sim.url());
    println!("metrics:   http://{host}:{}/metrics", exporter.metrics_addr.port());
    println!("readiness: http://{host}:{}/readyz", exporter.metrics_addr.port());
    println!("report:    http://{host}:{}/report", exporter.metrics_addr.port());
    println!("telemetry: http://{host}:{}/metrics", exporter.telemetry_addr.port());
    println!("press Ctrl-C to stop");
    tokio::select! {
        _ = churn(&sim, &mut model, args.churn) => {}
        _ = churn_custom(&sim, &mut custom, args.churn > 0) => {}
        _ = app::shutdown_signal() => {}
    }
    tracing::info!("shutting down");
    exporter.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

/// `sim`: the simulated API server alone, optionally populated and churning.
pub async fn run_sim(args: SimArgs) -> anyhow::Result<()> {
    let sim = Sim::start_with(args.listen, SimConfig::default())
        .await
        .with_context(|| format!("--listen: cannot serve on {}", args.listen))?;
    std::fs::write(&args.kubeconfig_out, sim.kubeconfig_yaml())
        .with_context(|| format!("--kubeconfig-out: cannot write {}", args.kubeconfig_out.display()))?;
    let mut model = populate(&sim, args.objects, args.seed)?;
    println!("simulated API server at {}", sim.url());
    println!("kubeconfig written to {}", args.kubeconfig_out.display());
    tokio::select! {
        _ = churn(&sim, &mut model, args.churn) => {}
        _ = app::shutdown_signal() => {}
    }
    sim.shutdown().await;
    Ok(())
}
