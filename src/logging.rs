//! Logging: `--log-format` (text or JSON lines), `--log-level`, and the default filter that keeps
//! kube's own per-request lines out of the way of the exporter's classified ones.
//!
//! Without `RUST_LOG` the filter is built from `--log-level` plus [`QUIET_TARGETS`]; a non-empty
//! `RUST_LOG` replaces it entirely (`RUST_LOG=debug`, `RUST_LOG=info,kube_runtime=debug`, …).

use std::fmt;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines: time, level, target, message, fields.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `message` and the event's
    /// fields at the top level), for log pipelines.
    Json,
}

/// The most verbose level logged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// Also changes of state (sync, relist, recovery): the default.
    #[default]
    Info,
    /// Also the exporter's and kube's details (every retry, every request).
    Debug,
    /// Everything.
    Trace,
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        })
    }
}

/// Targets of kube-rs whose lines the exporter replaces with its own, and the most verbose level
/// each is shown at (`None`: never) with `--log-level` info and below; `debug` and `trace` show
/// them all.
///
/// - `kube_runtime` and `kube_client` at WARN at most: their INFO and DEBUG lines are per request.
/// - `kube_runtime::watcher` logs every 403 at WARN with the `Debug` dump of the `Status` struct
///   (and everything else at DEBUG); the watch loop logs one classified line per kind and backoff
///   round instead ([`crate::watch`]). Its one ERROR ("deleted event during initial watch") stays.
/// - `kube_client::client` warns "eof in poll" / "timeout in poll" when a watch connection ends
///   (normal: kube resumes the watch) and dumps whole response bodies on decode errors (which
///   reach the exporter as errors and are logged there).
/// - `kube_client::client::tls` (a failed CA bundle reload) stays at WARN.
/// - `kube_client::client::builder` is the client's HTTP trace layer: one ERROR ("failed with
///   status 503") per failed request, e.g. every metrics.k8s.io poll during an outage. The
///   usage poller and the watch loop report the same failure once, classified.
pub const QUIET_TARGETS: [(&str, Option<LogLevel>); 6] = [
    ("kube_runtime", Some(LogLevel::Warn)),
    ("kube_client", Some(LogLevel::Warn)),
    ("kube_runtime::watcher", Some(LogLevel::Error)),
    ("kube_client::client", Some(LogLevel::Error)),
    ("kube_client::client::tls", Some(LogLevel::Warn)),
    ("kube_client::client::builder", None),
];

/// The filter directives used when `RUST_LOG` is not set.
pub fn default_directives(level: LogLevel) -> String {
    if level >= LogLevel::Debug {
        // Details of the exporter and kube, without hyper's and rustls' connection chatter.
        return format!("info,kube_state_exporter={level},kube_runtime={level},kube_client={level}");
    }
    let mut directives = level.to_string();
    for (target, most) in QUIET_TARGETS {
        match most {
            Some(most) => directives.push_str(&format!(",{target}={}", most.min(level))),
            None => directives.push_str(&format!(",{target}=off")),
        }
    }
    directives
}

/// The filter: `RUST_LOG` when set and non-empty (it wins over `--log-level`), else
/// [`default_directives`]. An unparsable `RUST_LOG` falls back to the default; the problem is
/// returned so it can be logged once logging works.
pub fn filter(level: LogLevel, rust_log: Option<&str>) -> (EnvFilter, Option<String>) {
    match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        Some(directives) => match EnvFilter::try_new(directives) {
            Ok(filter) => (filter, None),
            Err(e) => (
                EnvFilter::new(default_directives(level)),
                Some(format!("RUST_LOG={directives:?} ignored: {e}")),
            ),
        },
        None => (EnvFilter::new(default_directives(level)), None),
    }
}

/// A subscriber writing `format` lines through `writer`. `ansi` colours text lines.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync + 'static>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .finish(),
        ),
    }
}

/// Installs the global subscriber, writing to stderr. Colour only for text on a terminal.
pub fn init(format: LogFormat, level: LogLevel) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let (filter, problem) = filter(level, rust_log.as_deref());
    let ansi = format == LogFormat::Text && std::io::IsTerminal::is_terminal(&std::io::stderr());
    if tracing::subscriber::set_global_default(subscriber(format, filter, std::io::stderr, ansi)).is_err() {
        eprintln!("warning: a logger was already installed; --log-format/--log-level not applied");
    }
    if let Some(problem) = problem {
        tracing::warn!("{problem}");
    }
}

/// Runs `f` with a subscriber built as [`init`] builds it (without `RUST_LOG`) and returns what
/// it logged.
#[cfg(test)]
pub(crate) fn capture(format: LogFormat, level: LogLevel, f: impl FnOnce()) -> String {
    let buffer = tests::Buffer::default();
    let subscriber = subscriber(format, filter(level, None).0, buffer.clone(), false);
    tracing::subscriber::with_default(subscriber, f);
    buffer.text()
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A `MakeWriter` appending to a shared buffer.
    #[derive(Clone, Default)]
    pub(crate) struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'w self) -> Buffer {
            self.clone()
        }
    }

    impl Buffer {
        pub(crate) fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// Logs what the exporter and kube log during an outage, through a subscriber built as
    /// `init` builds it.
    fn log_sample(format: LogFormat, level: LogLevel, rust_log: Option<&str>) -> String {
        let buffer = Buffer::default();
        let (filter, problem) = filter(level, rust_log);
        assert_eq!(problem, None);
        let subscriber = subscriber(format, filter, buffer.clone(), false);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(resource = "pods", namespace = "", objects = 3u64, "initial list stored");
            tracing::warn!(
                resource = "nodes",
                error = "list failed: 403 Forbidden: no",
                "list/watch forbidden"
            );
            tracing::debug!(resource = "nodes", "list/watch still failing");
            tracing::warn!(target: "kube_runtime::watcher", "watch list error with 403: Api(Status {{ .. }})");
            tracing::error!(target: "kube_runtime::watcher", "got deleted event during initial watch");
            tracing::error!(target: "kube_client::client::builder", "failed with status 503 Service Unavailable");
            tracing::warn!(target: "kube_client::client", "eof in poll: ..");
            tracing::warn!(target: "kube_client::client::tls", "failed to reload CA bundle");
        });
        buffer.text()
    }

    #[test]
    fn json_format_writes_one_object_per_line_with_fields_at_the_top() {
        let out = log_sample(LogFormat::Json, LogLevel::Info, None);
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
            .collect();
        let messages: Vec<&str> = lines.iter().map(|l| l["message"].as_str().unwrap()).collect();
        assert_eq!(
            messages,
            [
                "initial list stored",
                "list/watch forbidden",
                "got deleted event during initial watch",
                "failed to reload CA bundle"
            ]
        );
        let first = &lines[0];
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["resource"], "pods");
        assert_eq!(first["objects"], 3);
        assert_eq!(first["target"], "kube_state_exporter::logging::tests");
        assert!(first["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{first}");
        assert_eq!(lines[1]["level"], "WARN");
        assert_eq!(lines[1]["error"], "list failed: 403 Forbidden: no");
    }

    #[test]
    fn text_format_and_levels() {
        let out = log_sample(LogFormat::Text, LogLevel::Info, None);
        assert_eq!(out.lines().count(), 4, "{out}");
        assert!(out.lines().next().unwrap().contains(" INFO "), "{out}");
        assert!(
            out.contains("resource=\"pods\"") || out.contains("resource=pods"),
            "{out}"
        );
        assert!(!out.contains("failed with status") && !out.contains("403: Api(") && !out.contains("eof in poll"));
        assert!(!out.starts_with('{'));

        let out = log_sample(LogFormat::Text, LogLevel::Warn, None);
        assert_eq!(out.lines().count(), 3, "{out}");
        assert!(!out.contains("initial list stored"));

        let out = log_sample(LogFormat::Text, LogLevel::Error, None);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains("got deleted event"));

        // Debug shows the exporter's repeats and kube's own lines.
        let out = log_sample(LogFormat::Text, LogLevel::Debug, None);
        assert!(
            out.contains("list/watch still failing") && out.contains("failed with status 503"),
            "{out}"
        );
    }

    #[test]
    fn rust_log_wins_over_the_level() {
        let out = log_sample(LogFormat::Text, LogLevel::Info, Some("error"));
        assert_eq!(out.lines().count(), 2, "{out}");
        let out = log_sample(LogFormat::Text, LogLevel::Error, Some("info,kube_client=error"));
        assert!(
            out.contains("initial list stored") && out.contains("failed with status 503"),
            "{out}"
        );
        let (_, problem) = filter(LogLevel::Info, Some("info,kube=notalevel"));
        assert!(problem.unwrap().starts_with("RUST_LOG=\"info,kube=notalevel\" ignored"));
        let (_, problem) = filter(LogLevel::Info, Some("  "));
        assert_eq!(problem, None);
    }

    #[test]
    fn default_directives_parse_at_every_level() {
        for level in LogLevel::value_variants() {
            let directives = default_directives(*level);
            EnvFilter::try_new(&directives).unwrap_or_else(|e| panic!("{directives}: {e}"));
        }
        assert_eq!(
            default_directives(LogLevel::Info),
            "info,kube_runtime=warn,kube_client=warn,kube_runtime::watcher=error,kube_client::client=error,\
             kube_client::client::tls=warn,kube_client::client::builder=off"
        );
    }
}
