//! Properties of the text every family writes: whatever a Kubernetes object holds (any Unicode
//! in a label value, any label key, any float or quantity), each line parses with a strict
//! parser, label names are valid and unique, and values come back exactly. A sample of the same
//! cases goes through `promtool check metrics` too.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::*;
use crate::families::meta::prometheus_label_pairs;
use crate::families::quantity::{Quantity, container_resource};

/// One parsed sample line.
#[derive(Debug, PartialEq)]
struct Line {
    name: String,
    labels: Vec<(String, String)>,
    value: String,
}

fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// A label name the text format accepts.
fn label_name_syntax(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A label name a family may write: `__` names are Prometheus's own.
fn valid_label_name(name: &str) -> bool {
    label_name_syntax(name) && !name.starts_with("__")
}

/// A value as Go's `FormatFloat(v, 'g', -1, 64)` writes one: `NaN`, `±Inf`, plain decimals, or
/// one digit, optional fraction and a signed exponent of at least two digits.
fn valid_value(text: &str) -> bool {
    if matches!(text, "NaN" | "+Inf" | "-Inf") {
        return true;
    }
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (mantissa, exponent) = match unsigned.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (unsigned, None),
    };
    let (whole, frac) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let whole_ok = digits(whole) && (whole == "0" || !whole.starts_with('0'));
    let frac_ok = frac.is_none_or(|f| digits(f) && !f.ends_with('0'));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).filter(|_| e.starts_with(['+', '-']));
        e.is_some_and(|e| digits(e) && e.len() >= 2) && whole.len() == 1
    });
    whole_ok && frac_ok && exponent_ok
}

/// Parses one sample line strictly: `name{label="value",...} value`, only the three escapes
/// of the text format, no trailing comma, no duplicate label name, nothing after the value.
fn parse_line(line: &str) -> Result<Line, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if !valid_metric_name(name) {
        return Err(format!("invalid metric name {name:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels: Vec<(String, String)> = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = after;
        loop {
            let eq = rest.find('=').ok_or("label without '='")?;
            let key = &rest[..eq];
            if !valid_label_name(key) {
                return Err(format!("invalid label name {key:?}"));
            }
            if labels.iter().any(|(k, _)| k == key) {
                return Err(format!("label {key:?} twice"));
            }
            let quoted = rest[eq + 1..].strip_prefix('"').ok_or("label value not quoted")?;
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next().ok_or("unterminated label value")? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next().map(|(_, c)| c) {
                        Some('n') => value.push('\n'),
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        other => return Err(format!("invalid escape \\{other:?}")),
                    },
                    (_, '\n') => return Err("raw newline in a label value".into()),
                    (_, c) => value.push(c),
                }
            };
            labels.push((key.to_string(), value));
            rest = &quoted[end + 1..];
            if let Some(after) = rest.strip_prefix(',') {
                if after.starts_with('}') {
                    return Err("trailing comma".into());
                }
                rest = after;
            } else {
                rest = rest.strip_prefix('}').ok_or("no ',' or '}' after a label")?;
                break;
            }
        }
    }
    let value = rest.strip_prefix(' ').ok_or("no space before the value")?;
    if !valid_value(value) {
        return Err(format!("invalid value {value:?}"));
    }
    Ok(Line {
        name: name.to_string(),
        labels,
        value: value.to_string(),
    })
}

/// Parses a body strictly: HELP and TYPE lines well formed and before their samples, every
/// line ended by `\n`, no label set twice in a family.
fn parse_body(body: &str) -> Result<Vec<Line>, String> {
    let body = body.strip_suffix('\n').ok_or("body not ended by a newline")?;
    let mut lines = Vec::new();
    let mut seen: BTreeSet<(String, Vec<(String, String)>)> = BTreeSet::new();
    let mut typed: BTreeSet<String> = BTreeSet::new();
    for (n, text) in body.split('\n').enumerate() {
        let fail = |e: String| format!("line {}: {e}: {text:?}", n + 1);
        if let Some(help) = text.strip_prefix("# HELP ") {
            let (name, doc) = help.split_once(' ').ok_or_else(|| fail("HELP without text".into()))?;
            if !valid_metric_name(name) || doc.replace("\\\\", "").replace("\\n", "").contains('\\') {
                return Err(fail("invalid HELP".into()));
            }
        } else if let Some(kind) = text.strip_prefix("# TYPE ") {
            let (name, word) = kind.split_once(' ').ok_or_else(|| fail("TYPE without type".into()))?;
            let known = [
                "counter",
                "gauge",
                "histogram",
                "summary",
                "untyped",
                "info",
                "stateset",
            ];
            if !valid_metric_name(name) || !known.contains(&word) || !typed.insert(name.to_string()) {
                return Err(fail("invalid or repeated TYPE".into()));
            }
        } else {
            let line = parse_line(text).map_err(fail)?;
            let mut set = line.labels.clone();
            set.sort();
            if !seen.insert((line.name.clone(), set)) {
                return Err(fail("label set repeated in its family".into()));
            }
            lines.push(line);
        }
    }
    Ok(lines)
}

/// Label values as objects carry them: anything, and the characters that break naive writers.
fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        1 => prop::collection::vec(
            prop::sample::select(vec!['\0', '\n', '\r', '\t', '"', '\\', '\u{2028}', '\u{2029}', '\u{fffd}', '\u{7f}', '\u{1b}', '}', '{', ',', '=', ' ', 'é', '𝄞']),
            0..40,
        )
        .prop_map(|chars| chars.into_iter().collect()),
    ]
}

/// Kubernetes label and annotation keys, hostile ones included: keys that sanitize to the same
/// name, keys that look like another key's `_conflictN` name, empty and non-ASCII keys.
fn label_key() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        2 => "[a-zA-Z0-9./_-]{0,12}",
        1 => prop::sample::select(vec!["a.b", "a/b", "a_b", "a-b", "a_b_conflict1", "a_b_conflict2", "A.B", "aB", "a_B", "1a", "", "é"])
            .prop_map(str::to_string),
    ]
}

/// Floats of every class: any bit pattern (NaN payloads, subnormals, ±0), and the integers at
/// the edges of i64 and u64.
fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        any::<u64>().prop_map(f64::from_bits),
        prop::sample::select(vec![
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            i64::MAX as f64,
            i64::MIN as f64,
            u64::MAX as f64,
            1e6,
            999_999.0,
            1e-4,
            1e-5,
            1e21,
        ]),
        any::<i64>().prop_map(|i| i as f64),
    ]
}

fn quantity_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[+-]?[0-9]{0,25}(\\.[0-9]{0,25})?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|e[+-]?[0-9]{1,4}|E[0-9]{1,3})?",
        prop::sample::select(vec![
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551615",
            "9223372036854775807Ei",
            "170141183460469231731687303715884105727",
            "1e-400",
            "1e400",
            "0.000000001n",
            "-0",
            "+1.5Gi",
            "8Ei",
        ])
        .prop_map(str::to_string),
    ]
}

/// One line with the given labels, written the way the families write them.
fn sample_line(name: &str, labels: &[(String, &str)], value: f64) -> String {
    let mut out = name.as_bytes().to_vec();
    if !labels.is_empty() {
        out.push(b'{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_label(&mut out, k, v);
        }
        out.push(b'}');
    }
    out.push(b' ');
    write_float(&mut out, value);
    out.push(b'\n');
    String::from_utf8(out).expect("the writers keep UTF-8")
}

/// Object labels through the allowlist path: `label_<key>` names, `_conflictN` on collisions.
fn labels_line(pairs: &[(String, String)], value: f64) -> String {
    let sorted: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut labels = vec![("namespace".to_string(), "default")];
    labels.extend(prometheus_label_pairs("label", &sorted));
    sample_line("kube_pod_labels", &labels, value)
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn sorted_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map(label_key(), label_value(), 0..12).prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(config())]

    /// Invariant: any label value is written so that a strict parser reads back exactly it.
    #[test]
    fn any_label_value_round_trips_through_a_strict_parser(value in label_value()) {
        let line = sample_line("m", &[("v".to_string(), &value)], 1.0);
        let parsed = parse_line(line.strip_suffix('\n').unwrap()).map_err(TestCaseError::fail)?;
        prop_assert_eq!(&parsed.labels[0].1, &value);
    }

    /// Invariant: any set of object label keys becomes valid, distinct label names, one per key,
    /// and every value comes back.
    #[test]
    fn any_label_keys_become_valid_distinct_names(pairs in sorted_pairs()) {
        let line = labels_line(&pairs, 1.0);
        let parsed = parse_line(line.strip_suffix('\n').unwrap()).map_err(TestCaseError::fail)?;
        prop_assert_eq!(parsed.labels.len(), pairs.len() + 1);
        let values: Vec<&str> = parsed.labels[1..].iter().map(|(_, v)| v.as_str()).collect();
        let wanted: Vec<&str> = pairs.iter().map(|(_, v)| v.as_str()).collect();
        prop_assert_eq!(values, wanted);
    }

    /// Invariant: any string becomes a label name the text format accepts (a `__` start, which
    /// Prometheus reserves for its own labels, is kept as KSM keeps it).
    #[test]
    fn any_string_sanitizes_to_a_valid_label_name(raw in any::<String>()) {
        let name = sanitize_label_name(&raw);
        prop_assert!(label_name_syntax(&name), "{:?} from {:?}", name, raw);
    }

    /// Invariant: any float is written in Go's shortest `'g'` form and reads back as the same
    /// number (sign of zero included; any NaN as NaN).
    #[test]
    fn any_float_is_written_in_go_form_and_reads_back(v in float()) {
        let text = format_float(v);
        prop_assert!(valid_value(&text), "{:?} written as {:?}", v, text);
        let back: f64 = match text.as_str() {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            t => t.parse().map_err(|e| TestCaseError::fail(format!("{t:?}: {e}")))?,
        };
        if v.is_nan() {
            prop_assert!(back.is_nan());
        } else {
            prop_assert_eq!(back.to_bits(), v.to_bits(), "{:?} written as {:?}", v, text);
        }
    }

    /// Invariant: any quantity string is parsed or refused without a panic, and a parsed one
    /// becomes a sample a strict parser accepts.
    #[test]
    fn any_quantity_is_parsed_or_refused_and_written_validly(raw in quantity_text()) {
        if let Some(q) = Quantity::parse(&raw) {
            for v in [q.ksm_float(), q.as_f64()] {
                let line = sample_line("m", &[], v);
                parse_line(line.strip_suffix('\n').unwrap()).map_err(TestCaseError::fail)?;
            }
        }
        for resource in ["cpu", "memory", "nvidia.com/gpu", "hugepages-2Mi"] {
            if let Some(sample) = container_resource(resource, &raw) {
                let line = sample_line("m", &[("resource".to_string(), &sample.resource)], sample.value);
                parse_line(line.strip_suffix('\n').unwrap()).map_err(TestCaseError::fail)?;
            }
        }
    }
}

/// A 1 MiB label value (an annotation at the API server's size limit) is written whole.
#[test]
fn a_one_mebibyte_label_value_round_trips() {
    let value: String = "ab\"\\\n\u{2028}".repeat((1 << 20) / 8);
    let line = sample_line("m", &[("v".to_string(), &value)], 1.0);
    let parsed = parse_line(line.strip_suffix('\n').unwrap()).unwrap();
    assert_eq!(parsed.labels[0].1, value);
}

/// The strict parser refuses what it must, so the properties above can fail.
#[test]
fn the_strict_parser_refuses_malformed_lines() {
    for bad in [
        "m{a=\"x\",} 1",
        "m{a=\"x\"",
        "m{a=\"x\\t\"} 1",
        "m{a=\"x\",a=\"y\"} 1",
        "m{__a=\"x\"} 1",
        "m{1a=\"x\"} 1",
        "m{a=x} 1",
        "1m 1",
        "m 1.50",
        "m 1e6",
        "m 1000000.0",
        "m inf",
        "m 1 2",
        "m  1",
    ] {
        assert!(parse_line(bad).is_err(), "{bad:?} was accepted");
    }
    assert!(parse_line("m{a=\"x\\\\\\\"\\n\"} -1.5e-07").is_ok());
    assert!(parse_body("m 1\nm 2\n").is_err(), "a repeated label set");
    assert!(
        parse_body("# TYPE m gauge\n# TYPE m gauge\nm 1\n").is_err(),
        "TYPE twice"
    );
}

/// A sample of the same hostile cases, as one body, passes `promtool check metrics` (the
/// parser Prometheus itself scrapes with) as well as the strict parser.
#[test]
fn promtool_accepts_a_sample_of_hostile_cases() {
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let mut body = String::from(
        "# HELP kube_pod_labels Kubernetes labels converted to Prometheus labels.\n# TYPE kube_pod_labels gauge\n",
    );
    let pairs = sorted_pairs();
    for i in 0..200 {
        let mut labels = pairs.new_tree(&mut runner).unwrap().current();
        // A distinct series per case, as each object's `pod` label makes it.
        labels.insert(0, ("0pod".to_string(), format!("p{i}")));
        body.push_str(&labels_line(&labels, 1.0));
    }
    body.push_str("# HELP m Values of every class.\n# TYPE m gauge\n");
    let floats = float();
    for i in 0..200 {
        let v = floats.new_tree(&mut runner).unwrap().current();
        body.push_str(&sample_line("m", &[("i".to_string(), &i.to_string())], v));
    }
    let lines = parse_body(&body).unwrap();
    assert_eq!(lines.len(), 400);
    let report = promtool_check(&body);
    assert!(report.is_ok(), "promtool refused the sample: {report:?}");
}

/// Runs `promtool check metrics` on `body`; lint findings pass, parse errors do not.
fn promtool_check(body: &str) -> Result<String, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool not found: install Debian's `prometheus` package (see .ci/run)");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = body.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("promtool runs");
    writer.join().expect("writer thread").expect("promtool reads its input");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed = matches!(out.status.code(), Some(0) | Some(3)) && !report.contains("error while linting");
    if parsed { Ok(report) } else { Err(report) }
}
