use std::process::ExitCode;

use clap::Parser;
use kube_state_exporter::cli::{Cli, Command};
use kube_state_exporter::exposition::Format;
use kube_state_exporter::{app, bench, demo, render};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,kube_runtime=warn,kube_client=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn render_command(args: kube_state_exporter::cli::RenderArgs) -> ExitCode {
    let options = match args.families.validate_for_render() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut sources = Vec::new();
    let mut read_problems = 0;
    for path in &args.files {
        match render::read_source(path) {
            Ok(text) => sources.push((path.display().to_string(), text)),
            Err(e) => {
                eprintln!("error: {e}");
                read_problems += 1;
            }
        }
    }
    let format = if args.format == "openmetrics" {
        Format::OpenMetrics
    } else {
        Format::Text
    };
    let out = render::render_sources(&sources, &options, format);
    for p in &out.problems {
        eprintln!("warning: {p}");
    }
    if let Err(e) = std::io::Write::write_all(&mut std::io::stdout().lock(), &out.body) {
        eprintln!("error: writing output: {e}");
        return ExitCode::FAILURE;
    }
    if out.rendered == 0 {
        eprintln!(
            "error: no object could be rendered ({} problems, {read_problems} unreadable inputs)",
            out.problems.len()
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let command = cli.command.unwrap_or(Command::Run(cli.run));
    if let Command::Render(args) = command {
        return render_command(args);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Run(args) => app::run(args).await,
            Command::Demo(args) => demo::run_demo(args).await,
            Command::Sim(args) => demo::run_sim(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Render(_) => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
