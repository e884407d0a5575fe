//! `--config FILE`: KSM's YAML options file.
//!
//! The file is a mapping of option keys: KSM's config keys for the options both tools share
//! (`resources`, `namespaces`, `labels_allow_list`, `port`, `shard`, …) and this exporter's own
//! flags by their long name with `_` for `-` (`usage_interval`, `watch_page_size`, …). As in KSM,
//! a value in the file overrides the command line, and list and map options are replaced, not
//! merged.
//!
//! The file is turned into the equivalent flags and parsed with the same clap definition as the
//! command line, so every flag is a config key and gets the same checks: the overridden flags
//! are taken out of the command line, the file's are appended, and the result is parsed again.
//! Errors name the file and the key.
//!
//! The file is read once, at start-up. KSM watches it and restarts in-process on a change; this
//! exporter does not (a restart re-lists everything anyway, and in Kubernetes the way to roll out a
//! changed ConfigMap is to restart the pod, e.g. with a checksum annotation on the pod template).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, CommandFactory, Parser};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::cli::{Cli, Command};

/// KSM config keys whose flag here is spelt differently. Every other key is a flag's long name
/// with `_` for `-`.
pub const RENAMED_KEYS: [(&str, &str); 7] = [
    ("labels_allow_list", "metric-labels-allowlist"),
    ("annotations_allow_list", "metric-annotations-allowlist"),
    ("namespace", "pod-namespace"),
    ("tls_config", "tls-config-file"),
    ("custom_resources_only", "custom-resource-state-only"),
    ("custom_resource_config", "custom-resource-state-config"),
    // KSM's deprecated spelling of `custom_resource_state_config_file`.
    ("custom_resource_config_file", "custom-resource-state-config-file"),
];

/// KSM config keys (and flags) this exporter does not implement, and why / what to use instead.
pub const UNSUPPORTED_KEYS: [(&str, &str); 9] = [
    (
        "enable_gzip_encoding",
        "gzip is always on: /metrics is compressed whenever the scraper sends Accept-Encoding: gzip; remove the key",
    ),
    (
        "use_api_server_cache",
        "not implemented: initial lists are paginated (--watch-page-size) reads of the current state",
    ),
    (
        "auth_filter",
        "not implemented: restrict /metrics with the TLS config's client certificates (tls_config), a NetworkPolicy, \
         or a proxy such as kube-rbac-proxy",
    ),
    (
        "object_limit",
        "not implemented: use namespaces, namespaces_denylist or resources to bound what is listed",
    ),
    (
        "node",
        "DaemonSet (per-node) pod sharding is not implemented: use shard/total_shards, or pod and namespace for \
         StatefulSet auto-sharding",
    ),
    (
        "track_unscheduled_pods",
        "DaemonSet (per-node) pod sharding is not implemented: use shard/total_shards, or pod and namespace for \
         StatefulSet auto-sharding",
    ),
    (
        "continue_without_config",
        "not implemented: a missing or invalid config file stops start-up",
    ),
    (
        "auto-gomemlimit",
        "a Go runtime setting; this exporter has no garbage collector to tune: memory follows the rendered data",
    ),
    (
        "auto-gomemlimit-ratio",
        "a Go runtime setting; this exporter has no garbage collector to tune: memory follows the rendered data",
    ),
];

/// Flags whose value is KSM's `resource=[key,…],…` grammar: in the file they may also be YAML
/// maps of resource to a list (or comma string) of keys.
const ALLOWLIST_FLAGS: [&str; 2] = ["metric-labels-allowlist", "metric-annotations-allowlist"];

/// Clap arguments that are not options (and so never config keys).
const NOT_KEYS: [&str; 3] = ["help", "version", "config"];

/// Options read from a config file: where, and which key set which flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The file.
    pub path: PathBuf,
    /// `(key, flag long name)` in file order.
    pub keys: Vec<(String, String)>,
}

impl Applied {
    /// Prefixes an error that starts with a flag set by the file (`--port: …`) with the file and
    /// the key that set it, so a value that parses but fails validation still points at the file.
    pub fn explain(&self, error: &str) -> String {
        let Some(rest) = error.strip_prefix("--") else {
            return error.to_string();
        };
        let flag: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        match self.keys.iter().find(|(_, f)| *f == flag) {
            Some((key, _)) => format!("{}: key `{key}`: {error}", self.path.display()),
            None => error.to_string(),
        }
    }

    /// The keys, comma-separated, for the start-up log line.
    pub fn key_list(&self) -> String {
        self.keys.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(",")
    }
}

/// Why the command line (with its config file) could not be used.
#[derive(Debug)]
pub enum ParseError {
    /// Clap's own error (bad flag, `--help`, `--version`): print it with `exit()`.
    Clap(clap::Error),
    /// A config file problem; the message names the file and, where there is one, the key.
    Config(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Clap(e) => write!(f, "{e}"),
            ParseError::Config(e) => f.write_str(e),
        }
    }
}

/// Parses the command line and, for `run` with `--config`, applies the file on top of it.
pub fn parse<I, T>(argv: I) -> Result<(Cli, Option<Applied>), ParseError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    let cli = Cli::try_parse_from(&argv).map_err(ParseError::Clap)?;
    let path = match &cli.command {
        None => cli.run.config.clone(),
        Some(Command::Run(run)) => run.config.clone(),
        Some(_) => None,
    };
    let Some(path) = path else {
        return Ok((cli, None));
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ParseError::Config(format!("--config: cannot read {}: {e}", path.display())))?;
    let (args, applied) = file_args(&path, &text)?;
    if applied.keys.is_empty() {
        return Ok((cli, Some(applied)));
    }
    let merged = merge_argv(&argv, &args, &applied);
    let cli = Cli::try_parse_from(&merged)
        .map_err(|e| ParseError::Config(format!("{}: {}", path.display(), clap_message(&e))))?;
    Ok((cli, Some(applied)))
}

/// The first line of a clap error without its `error: ` prefix.
fn clap_message(e: &clap::Error) -> String {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or("").trim();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// The options `run` accepts (its flags and the global ones), by long name, with their aliases.
struct Options {
    args: Vec<Arg>,
}

impl Options {
    fn new() -> Self {
        let mut cmd = Cli::command();
        cmd.build();
        let run = cmd
            .find_subcommand("run")
            .map(|c| c.get_arguments().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        let args = run
            .into_iter()
            .filter(|a| a.get_long().is_some() && !NOT_KEYS.contains(&a.get_id().as_str()))
            .collect();
        Options { args }
    }

    /// The option whose long name or alias is `name`.
    fn find(&self, name: &str) -> Option<&Arg> {
        self.args
            .iter()
            .find(|a| a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|aliases| aliases.contains(&name)))
    }

    /// Every key the file accepts, sorted.
    fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .args
            .iter()
            .filter(|a| !a.is_hide_set())
            .filter_map(|a| a.get_long())
            .map(|l| l.replace('-', "_"))
            .collect();
        for (key, flag) in RENAMED_KEYS {
            if self.find(flag).is_some() {
                keys.push(key.to_string());
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }
}

/// The file's keys in order (duplicates kept, to report them).
struct Entries(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of option keys to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    entries.push((k, v));
                }
                Ok(Entries(entries))
            }
            fn visit_unit<E>(self) -> Result<Entries, E> {
                Ok(Entries(Vec::new()))
            }
            fn visit_none<E>(self) -> Result<Entries, E> {
                Ok(Entries(Vec::new()))
            }
        }
        d.deserialize_any(EntriesVisitor)
    }
}

/// The flags a config file stands for, and which key set which flag. Errors name the file and
/// the key.
pub fn file_args(path: &Path, text: &str) -> Result<(Vec<String>, Applied), ParseError> {
    let file = path.display();
    let entries: Entries = if text.trim().is_empty() {
        Entries(Vec::new())
    } else {
        serde_saphyr::from_str(text)
            .map_err(|e| ParseError::Config(format!("{file}: invalid YAML: {}", yaml_error(&e))))?
    };
    let options = Options::new();
    let mut args = Vec::new();
    let mut keys: Vec<(String, String)> = Vec::new();
    for (key, value) in &entries.0 {
        let err = |msg: String| ParseError::Config(format!("{file}: key `{key}`: {msg}"));
        let arg = resolve(&options, key).map_err(err)?;
        let long = arg.get_long().unwrap_or_default().to_string();
        if let Some((other, _)) = keys.iter().find(|(_, f)| *f == long) {
            return Err(err(if other == key {
                "given twice".to_string()
            } else {
                format!("sets --{long}, as `{other}` does already")
            }));
        }
        let tokens = flag_tokens(arg, &long, value).map_err(err)?;
        check_tokens(&tokens).map_err(err)?;
        args.extend(tokens);
        keys.push((key.clone(), long));
    }
    Ok((
        args,
        Applied {
            path: path.to_path_buf(),
            keys,
        },
    ))
}

/// The YAML parser's message on one line: position and problem, without its source excerpt
/// and advice meant for programmers.
fn yaml_error(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or("").trim();
    let line = line.strip_prefix("error: ").unwrap_or(line);
    match line.find(", set DuplicateKeyPolicy") {
        Some(cut) => line[..cut].to_string(),
        None => line.to_string(),
    }
}

/// The option a key sets, or why the key is not accepted.
fn resolve<'a>(options: &'a Options, key: &str) -> Result<&'a Arg, String> {
    if key == "config" {
        return Err("a config file cannot name another config file".into());
    }
    if let Some((_, why)) = UNSUPPORTED_KEYS.iter().find(|(k, _)| *k == key) {
        return Err(format!("KSM option not supported: {why}"));
    }
    let flag = match RENAMED_KEYS.iter().find(|(k, _)| *k == key) {
        Some((_, flag)) => flag.to_string(),
        None if key.contains('-') => {
            let suggestion = key.replace('-', "_");
            return Err(if options.find(&key.replace('_', "-")).is_some() {
                format!("unknown key; keys use `_` for `-`: `{suggestion}`")
            } else {
                format!("unknown key; known keys: {}", options.keys().join(", "))
            });
        }
        None => key.replace('_', "-"),
    };
    options
        .find(&flag)
        .ok_or_else(|| format!("unknown key; known keys: {}", options.keys().join(", ")))
}

/// A scalar as a flag value.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
    }
}

/// The command-line tokens for one key's value.
fn flag_tokens(arg: &Arg, long: &str, value: &Value) -> Result<Vec<String>, String> {
    let flag = format!("--{long}");
    match arg.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse => {
            let on = match value {
                Value::Bool(b) => *b,
                Value::String(s) if s == "true" || s == "false" => s == "true",
                other => return Err(format!("expected true or false, got {}", type_name(other))),
            };
            // `SetFalse` flags are "off" switches: the switch is given when the value is false.
            let give = on == matches!(arg.get_action(), ArgAction::SetTrue);
            return Ok(if give { vec![flag] } else { Vec::new() });
        }
        ArgAction::Count => {
            let n = value
                .as_u64()
                .ok_or_else(|| format!("expected a count, got {}", type_name(value)))?;
            return Ok(vec![flag; n.min(16) as usize]);
        }
        _ => {}
    }
    let list_ok = matches!(arg.get_action(), ArgAction::Append) || arg.get_value_delimiter().is_some();
    match value {
        Value::Array(items) if list_ok => {
            let items = items
                .iter()
                .map(|v| scalar(v).ok_or_else(|| format!("expected a list of strings, found {} in it", type_name(v))))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if matches!(arg.get_action(), ArgAction::Append) {
                items.into_iter().map(|i| format!("{flag}={i}")).collect()
            } else {
                let delimiter = arg.get_value_delimiter().unwrap_or(',');
                vec![format!("{flag}={}", items.join(&delimiter.to_string()))]
            })
        }
        Value::Object(map) if ALLOWLIST_FLAGS.contains(&long) => Ok(vec![format!("{flag}={}", allowlist(map)?)]),
        Value::Array(_) | Value::Object(_) => Err(format!("expected a single value, got {}", type_name(value))),
        scalar_value => Ok(vec![format!("{flag}={}", scalar(scalar_value).unwrap_or_default())]),
    }
}

/// A YAML map `{pods: [app, team], deployments: ["*"]}` in KSM's flag grammar.
fn allowlist(map: &serde_json::Map<String, Value>) -> Result<String, String> {
    let mut entries = BTreeMap::new();
    for (resource, keys) in map {
        let keys: Vec<String> = match keys {
            Value::Array(items) => items
                .iter()
                .map(|k| match k {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(format!("{resource}: expected label keys, found {}", type_name(other))),
                })
                .collect::<Result<_, _>>()?,
            Value::String(s) => s.split(',').map(str::to_string).collect(),
            Value::Null => Vec::new(),
            other => {
                return Err(format!("{resource}: expected a list of keys, got {}", type_name(other)));
            }
        };
        if let Some(bad) = keys.iter().find(|k| k.contains(['[', ']', '='])) {
            return Err(format!("{resource}: invalid key {bad:?}"));
        }
        let keys: Vec<&str> = keys.iter().map(|k| k.trim()).filter(|k| !k.is_empty()).collect();
        entries.insert(resource.clone(), format!("{resource}=[{}]", keys.join(",")));
    }
    Ok(entries.into_values().collect::<Vec<_>>().join(","))
}

/// Parses one key's tokens alone, so clap's complaint (bad number, unknown enum value) is
/// reported against the key.
fn check_tokens(tokens: &[String]) -> Result<(), String> {
    let argv = ["kube-state-exporter", "run"]
        .into_iter()
        .map(str::to_string)
        .chain(tokens.iter().cloned());
    Cli::command()
        .try_get_matches_from(argv)
        .map(drop)
        .map_err(|e| clap_message(&e))
}

/// The command line without the flags the file overrides, with the file's flags appended (so
/// they land in the `run` subcommand when one is given).
fn merge_argv(argv: &[OsString], file_args: &[String], applied: &Applied) -> Vec<OsString> {
    let options = Options::new();
    let overridden = |arg: &Arg| {
        applied
            .keys
            .iter()
            .any(|(_, flag)| arg.get_long() == Some(flag.as_str()))
    };
    let mut out = Vec::with_capacity(argv.len() + file_args.len());
    let mut tokens = argv.iter();
    if let Some(bin) = tokens.next() {
        out.push(bin.clone());
    }
    while let Some(token) = tokens.next() {
        let Some(text) = token.to_str() else {
            out.push(token.clone());
            continue;
        };
        if text == "--" {
            out.push(token.clone());
            out.extend(tokens.by_ref().cloned());
            break;
        }
        let Some(name) = text.strip_prefix("--") else {
            out.push(token.clone());
            continue;
        };
        let (name, inline_value) = match name.split_once('=') {
            Some((n, _)) => (n, true),
            None => (name, false),
        };
        let Some(arg) = options.find(name) else {
            out.push(token.clone());
            continue;
        };
        // Whether the next token is this flag's value.
        let takes_next = !inline_value
            && arg.get_action().takes_values()
            && !arg.is_require_equals_set()
            && arg.get_num_args().is_none_or(|n| n.min_values() > 0);
        let drop = overridden(arg);
        if !drop {
            out.push(token.clone());
        }
        if takes_next
            && let Some(value) = tokens.next()
            && !drop
        {
            out.push(value.clone());
        }
    }
    out.extend(file_args.iter().map(OsString::from));
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// Writes `yaml` to a temporary file and parses `args` with `--config` pointing at it.
    fn with_config(yaml: &str, args: &[&str]) -> Result<(Cli, Option<Applied>), String> {
        let mut file = tempfile(yaml);
        file.flush().unwrap();
        let path = file.path.clone();
        let mut argv = vec!["kube-state-exporter".to_string()];
        argv.extend(args.iter().map(|s| s.to_string()));
        argv.push(format!("--config={}", path.display()));
        parse(argv).map_err(|e| e.to_string().replace(&path.display().to_string(), "FILE"))
    }

    struct TempFile {
        path: PathBuf,
        file: std::fs::File,
    }

    impl Write for TempFile {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.file.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.file.flush()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    fn tempfile(text: &str) -> TempFile {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "kse-config-test-{}-{}.yaml",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(text.as_bytes()).unwrap();
        TempFile { path, file }
    }

    fn run_args(cli: Cli) -> crate::cli::RunArgs {
        match cli.command {
            None => cli.run,
            Some(Command::Run(run)) => run,
            Some(other) => panic!("not run: {other:?}"),
        }
    }

    #[test]
    fn ksm_keys_set_the_shared_flags() {
        let yaml = r#"
resources: [pods, nodes, deployments]
namespaces: default,monitoring
namespaces_denylist: [kube-system]
metric_denylist:
  - ^kube_pod_container_status_last_terminated_.*
  - kube_secret_labels
metric_opt_in_list: [kube_pod_nodeselectors]
labels_allow_list:
  pods: [app, team]
  deployments: ["*"]
annotations_allow_list: "namespaces=[owner]"
host: 127.0.0.1
port: 9090
telemetry_host: "::1"
telemetry_port: 9091
apiserver: https://10.0.0.1:6443
kubeconfig: /etc/kube/config
"#;
        let (cli, applied) = with_config(yaml, &[]).unwrap();
        let applied = applied.unwrap();
        let run = run_args(cli);
        assert_eq!(run.families.resources, ["pods", "nodes", "deployments"]);
        assert_eq!(run.namespaces, ["default", "monitoring"]);
        assert_eq!(run.namespaces_denylist, ["kube-system"]);
        assert_eq!(
            run.families.metric_denylist,
            ["^kube_pod_container_status_last_terminated_.*", "kube_secret_labels"]
        );
        assert_eq!(run.families.metric_opt_in_list, ["kube_pod_nodeselectors"]);
        assert_eq!(run.families.metric_labels_allowlist, "deployments=[*],pods=[app,team]");
        assert_eq!(run.families.metric_annotations_allowlist, "namespaces=[owner]");
        assert_eq!((run.listen.host.as_str(), run.listen.port), ("127.0.0.1", 9090));
        assert_eq!(
            (run.listen.telemetry_host.as_str(), run.listen.telemetry_port),
            ("::1", 9091)
        );
        assert_eq!(run.apiserver.as_deref(), Some("https://10.0.0.1:6443"));
        assert_eq!(run.kubeconfig, Some(PathBuf::from("/etc/kube/config")));
        // The same validation as flags.
        let families = run.families.validate().unwrap();
        assert_eq!(families.resources, ["deployments", "nodes", "pods"]);
        assert_eq!(applied.keys[0], ("resources".to_string(), "resources".to_string()));
        assert!(
            applied
                .keys
                .contains(&("labels_allow_list".to_string(), "metric-labels-allowlist".to_string()))
        );
        assert_eq!(applied.key_list().split(',').count(), 13);
    }

    #[test]
    fn sharding_keys_including_ksm_namespace_for_the_pod_namespace() {
        let (cli, _) = with_config("shard: 2\ntotal_shards: 3\n", &[]).unwrap();
        let run = run_args(cli);
        assert_eq!((run.shard, run.total_shards), (2, 3));
        let (cli, _) = with_config(
            "pod: kse-1\nnamespace: monitoring\nserver_side_sharding: true\n",
            &["--server-side-sharding"],
        )
        .unwrap();
        let run = run_args(cli);
        assert_eq!((run.pod.as_str(), run.pod_namespace.as_str()), ("kse-1", "monitoring"));
        assert!(run.server_side_sharding);
        // A switch set to false in the file turns off the one on the command line.
        let (cli, _) = with_config("server_side_sharding: false\n", &["--server-side-sharding"]).unwrap();
        assert!(!run_args(cli).server_side_sharding);
        let err = with_config("namespace: a\npod_namespace: b\n", &[]).unwrap_err();
        assert_eq!(
            err,
            "FILE: key `pod_namespace`: sets --pod-namespace, as `namespace` does already"
        );
    }

    #[test]
    fn listener_keys() {
        let yaml = "tls_config: /etc/kse/web.yaml\nserver_read_timeout: 30s\nserver_write_timeout: 2m\n\
                    server_idle_timeout: 10m\nserver_read_header_timeout: 2s\nmax_concurrent_scrapes: 4\n\
                    shutdown_grace_period: 20s\n";
        let (cli, _) = with_config(yaml, &["--tls-config", "/cmdline/web.yaml"]).unwrap();
        let listen = run_args(cli).listen;
        assert_eq!(listen.tls_config_file, Some(PathBuf::from("/etc/kse/web.yaml")));
        assert_eq!(
            (
                listen.server_read_timeout.as_str(),
                listen.server_write_timeout.as_str(),
                listen.server_idle_timeout.as_str(),
                listen.server_read_header_timeout.as_str(),
                listen.shutdown_grace_period.as_str(),
            ),
            ("30s", "2m", "10m", "2s", "20s")
        );
        assert_eq!(listen.max_concurrent_scrapes, 4);
        let err = with_config("tls_config: a\ntls_config_file: b\n", &[]).unwrap_err();
        assert_eq!(
            err,
            "FILE: key `tls_config_file`: sets --tls-config-file, as `tls_config` does already"
        );
    }

    #[test]
    fn file_values_override_the_command_line_and_lists_are_replaced() {
        let (cli, _) = with_config(
            "port: 9999\nresources: [jobs]\nusage: false\n",
            &[
                "--port",
                "1234",
                "--resources=pods",
                "--resources",
                "nodes",
                "--namespaces",
                "a,b",
                "--usage=true",
            ],
        )
        .unwrap();
        let run = run_args(cli);
        assert_eq!(run.listen.port, 9999);
        assert_eq!(run.families.resources, ["jobs"], "replaced, not merged");
        assert_eq!(run.namespaces, ["a", "b"], "flags the file leaves alone stay");
        assert!(!run.usage);
        // With the `run` subcommand too.
        let (cli, _) = with_config("telemetry_port: 7000\n", &["run", "--telemetry-port", "1"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Run(_))));
        assert_eq!(run_args(cli).listen.telemetry_port, 7000);
        // The exporter's own flags by long name; an empty file changes nothing.
        let (cli, applied) = with_config("usage_interval: 1m\nwatch_page_size: 100\n", &[]).unwrap();
        let run = run_args(cli);
        assert_eq!((run.usage_interval.as_str(), run.watch_page_size), ("1m", 100));
        assert_eq!(applied.unwrap().key_list(), "usage_interval,watch_page_size");
        let (cli, applied) = with_config("", &["--port", "1"]).unwrap();
        assert_eq!(run_args(cli).listen.port, 1);
        assert!(applied.unwrap().keys.is_empty());
        let (cli, _) = with_config("# only a comment\n", &[]).unwrap();
        assert_eq!(run_args(cli).listen.port, 8080);
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        for (yaml, want) in [
            ("prot: 1\n", "FILE: key `prot`: unknown key; known keys: "),
            (
                "usage-interval: 1m\n",
                "FILE: key `usage-interval`: unknown key; keys use `_` for `-`: `usage_interval`",
            ),
            (
                "port: eighty\n",
                "FILE: key `port`: invalid value 'eighty' for '--port <PORT>'",
            ),
            (
                "port: [1, 2]\n",
                "FILE: key `port`: expected a single value, got a list",
            ),
            ("host: {a: b}\n", "FILE: key `host`: expected a single value, got a map"),
            (
                "resources: [pods, [nodes]]\n",
                "FILE: key `resources`: expected a list of strings, found a list",
            ),
            (
                "server_side_sharding: maybe\n",
                "FILE: key `server_side_sharding`: expected true or false",
            ),
            (
                "labels_allow_list: {pods: {app: 1}}\n",
                "FILE: key `labels_allow_list`: pods: expected a list of keys",
            ),
            (
                "enable_gzip_encoding: true\n",
                "FILE: key `enable_gzip_encoding`: KSM option not supported: gzip is always on",
            ),
            ("node: n1\n", "FILE: key `node`: KSM option not supported: DaemonSet"),
            (
                "use_api_server_cache: true\n",
                "FILE: key `use_api_server_cache`: KSM option not supported",
            ),
            (
                "auth_filter: true\n",
                "FILE: key `auth_filter`: KSM option not supported",
            ),
            (
                "object_limit: 10\n",
                "FILE: key `object_limit`: KSM option not supported",
            ),
            (
                "track_unscheduled_pods: true\n",
                "FILE: key `track_unscheduled_pods`: KSM option not supported",
            ),
            (
                "auto-gomemlimit: true\n",
                "FILE: key `auto-gomemlimit`: KSM option not supported: a Go runtime",
            ),
            (
                "config: other.yaml\n",
                "FILE: key `config`: a config file cannot name another",
            ),
            (
                "port: 1\nport: 2\n",
                "FILE: invalid YAML: line 2 column 1: duplicate mapping key: port",
            ),
            ("[pods]\n", "FILE: invalid YAML"),
            ("port: 1\n  bad: indent\n", "FILE: invalid YAML"),
        ] {
            let err = with_config(yaml, &[]).unwrap_err();
            assert!(err.starts_with(want), "{yaml:?}: {err}");
        }
        let err = with_config("prot: 1\n", &[]).unwrap_err();
        assert!(err.contains("port") && err.contains("labels_allow_list") && err.contains("usage_interval"));
        let listed: Vec<&str> = err.split("known keys: ").nth(1).unwrap().split(", ").collect();
        assert!(!listed.iter().any(|k| NOT_KEYS.contains(k)), "{err}");
        let err = parse(["kube-state-exporter", "--config", "/nonexistent/kse.yaml"]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("--config: cannot read /nonexistent/kse.yaml"),
            "{err}"
        );
    }

    #[test]
    fn validation_errors_point_at_the_key() {
        let (cli, applied) = with_config("metric_denylist: ['kube_pod_(']\nnamespaces: [Bad_NS]\n", &[]).unwrap();
        let applied = applied.unwrap();
        let run = run_args(cli);
        let err = run.families.validate().unwrap_err();
        let explained = applied
            .explain(&err)
            .replace(&applied.path.display().to_string(), "FILE");
        assert!(
            explained.starts_with("FILE: key `metric_denylist`: --metric-denylist: invalid regex"),
            "{explained}"
        );
        let err = run.validate_namespaces().unwrap_err();
        assert!(
            applied
                .explain(&err)
                .contains("key `namespaces`: --namespaces: \"Bad_NS\"")
        );
        // Errors about flags the file did not set are left as they are.
        assert_eq!(applied.explain("--port: taken"), "--port: taken");
        assert_eq!(applied.explain("something else"), "something else");
    }

    #[test]
    fn allowlists_as_maps_lists_or_strings() {
        let map: serde_json::Map<String, Value> =
            serde_json::from_str(r#"{"pods":["app","team"],"nodes":"kubernetes.io/arch, zone","jobs":[],"*":["x-*"]}"#)
                .unwrap();
        assert_eq!(
            allowlist(&map).unwrap(),
            "*=[x-*],jobs=[],nodes=[kubernetes.io/arch,zone],pods=[app,team]"
        );
        let bad: serde_json::Map<String, Value> = serde_json::from_str(r#"{"pods":["a]"]}"#).unwrap();
        assert!(allowlist(&bad).unwrap_err().contains("invalid key"));
    }

    #[test]
    fn merge_keeps_values_that_look_like_flags() {
        let applied = Applied {
            path: PathBuf::from("f"),
            keys: vec![("port".into(), "port".into())],
        };
        let argv: Vec<OsString> = ["kse", "--host", "--port", "--port", "1", "--usage", "--", "--port"]
            .iter()
            .map(OsString::from)
            .collect();
        let merged = merge_argv(&argv, &["--port=2".to_string()], &applied);
        assert_eq!(
            merged,
            ["kse", "--host", "--port", "--usage", "--", "--port", "--port=2"]
        );
    }

    #[test]
    fn other_subcommands_and_no_config_are_untouched() {
        let (cli, applied) = parse(["kube-state-exporter", "--port", "1"]).unwrap();
        assert!(applied.is_none());
        assert_eq!(cli.run.listen.port, 1);
        let (cli, applied) = parse(["kube-state-exporter", "version"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Version)) && applied.is_none());
        assert!(matches!(
            parse(["kube-state-exporter", "--nope"]),
            Err(ParseError::Clap(_))
        ));
    }

    #[test]
    fn migrating_guide_names_every_key() {
        let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/MIGRATING.md")).unwrap();
        let section = guide
            .split("## The config file")
            .nth(1)
            .unwrap()
            .split("\n## ")
            .next()
            .unwrap();
        for key in Options::new().keys() {
            assert!(
                section.contains(&format!("`{key}`")),
                "docs/MIGRATING.md: config key `{key}` not described"
            );
        }
        for (key, _) in UNSUPPORTED_KEYS {
            assert!(
                section.contains(&format!("`{key}`")),
                "docs/MIGRATING.md: unsupported key `{key}` not named"
            );
        }
    }

    #[test]
    fn every_run_flag_is_a_key() {
        let options = Options::new();
        let keys = options.keys();
        for key in [
            "resources",
            "namespaces",
            "namespaces_denylist",
            "metric_allowlist",
            "metric_denylist",
            "metric_opt_in_list",
            "labels_allow_list",
            "annotations_allow_list",
            "metric_labels_allowlist",
            "host",
            "port",
            "telemetry_host",
            "telemetry_port",
            "kubeconfig",
            "apiserver",
            "shard",
            "total_shards",
            "pod",
            "namespace",
            "pod_namespace",
            "server_side_sharding",
            "usage",
            "usage_interval",
            "watch_page_size",
            "log_format",
            "log_level",
            "tls_config",
            "server_read_timeout",
            "server_write_timeout",
            "server_idle_timeout",
            "server_read_header_timeout",
        ] {
            assert!(keys.contains(&key.to_string()), "{key} missing from {keys:?}");
        }
        assert!(!keys.iter().any(|k| NOT_KEYS.contains(&k.as_str())));
        // Unsupported KSM keys never shadow a flag this exporter has.
        for (key, _) in UNSUPPORTED_KEYS {
            assert!(!keys.contains(&key.to_string()), "{key}");
        }
    }
}
