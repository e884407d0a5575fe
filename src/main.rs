use std::process::ExitCode;

use kube_state_exporter::cli::Command;
use kube_state_exporter::config::{self, ParseError};
use kube_state_exporter::exposition::Format;
use kube_state_exporter::{app, bench, demo, logging, render, report, version};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    // The command line, with `--config FILE` applied on top of it for `run`.
    let (cli, config_file) = match config::parse(std::env::args_os()) {
        Ok(parsed) => parsed,
        Err(ParseError::Clap(e)) => e.exit(),
        Err(ParseError::Config(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    logging::init(cli.log_format, cli.log_level);
    if let Some(file) = &config_file {
        tracing::info!(
            file = %file.path.display(),
            keys = %file.key_list(),
            "options read from the config file (once: restart to apply a change)"
        );
    }
    let command = cli.command.unwrap_or(Command::Run(cli.run));
    match command {
        Command::Render(args) => return render_command(args),
        Command::Version => {
            print!("{}", version::report());
            return ExitCode::SUCCESS;
        }
        _ => {}
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
            Command::Report(args) => report::run(args).await,
            Command::Render(_) | Command::Version => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let message = format!("{e:#}");
            // A value from the config file that failed validation: name the file and key.
            let message = match &config_file {
                Some(file) => file.explain(&message),
                None => message,
            };
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
