//! Prometheus text exposition (format 0.0.4, and the OpenMetrics header variant), byte-compatible
//! with kube-state-metrics: label escaping, HELP escaping, label-name sanitising and Go's
//! `strconv.FormatFloat(v, 'g', -1, 64)` number formatting.
//!
//! Everything here writes into a caller-owned `Vec<u8>` so rendering an object is a handful of
//! appends into one buffer, with no intermediate strings.

/// The declared Prometheus type of a metric family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    /// A value that can go up and down.
    Gauge,
    /// A monotonically increasing value (name ends in `_total`).
    Counter,
    /// One 0/1 series per state (custom resource StateSet families): `stateset` in OpenMetrics,
    /// `gauge` in text 0.0.4, which has no such type (KSM #2668).
    StateSet,
    /// A 1-valued series whose data is in labels (custom resource Info families): `info` in
    /// OpenMetrics, `gauge` in text 0.0.4.
    Info,
}

impl MetricType {
    /// The word used on the `# TYPE` line of text 0.0.4.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge | MetricType::StateSet | MetricType::Info => "gauge",
            MetricType::Counter => "counter",
        }
    }

    /// The word used on the `# TYPE` line of OpenMetrics.
    pub fn openmetrics_str(self) -> &'static str {
        match self {
            MetricType::StateSet => "stateset",
            MetricType::Info => "info",
            other => other.as_str(),
        }
    }
}

/// The wire format a scrape asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0`, terminated by `# EOF`.
    OpenMetrics,
}

impl Format {
    /// Picks the format from an `Accept` header the way Prometheus' expfmt negotiation does:
    /// OpenMetrics when the client lists it, plain text otherwise (protobuf is never served).
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    /// The `Content-Type` header value for this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Appends `# HELP` and `# TYPE` lines for one family.
pub fn write_header(out: &mut Vec<u8>, name: &str, help: &str, metric_type: MetricType) {
    write_header_typed(out, name, help, metric_type.as_str());
}

/// Appends `# HELP` and `# TYPE` lines with the given TYPE word.
pub fn write_header_typed(out: &mut Vec<u8>, name: &str, help: &str, type_word: &str) {
    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    escape_help(out, help);
    out.extend_from_slice(b"\n# TYPE ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    out.extend_from_slice(type_word.as_bytes());
    out.push(b'\n');
}

/// Escapes HELP text: backslash and newline, as the text format requires.
pub fn escape_help(out: &mut Vec<u8>, help: &str) {
    for &b in help.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

/// Escapes a label value: backslash, double quote and newline.
pub fn escape_label_value(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    if !bytes.iter().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

/// Appends `name="escaped value"`.
pub fn write_label(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    escape_label_value(out, value);
    out.push(b'"');
}

/// Turns any string into a valid Prometheus label name: every character outside
/// `[a-zA-Z0-9_]` becomes `_` (one per character, as Go's regexp replacement does per rune),
/// and a leading digit gets a `_` prefix.
pub fn sanitize_label_name(raw: &str) -> String {
    let mut name: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    if name.is_empty() {
        name.push('_');
    }
    name
}

/// Formats a float exactly like Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which is what
/// kube-state-metrics writes: the shortest round-tripping digits, in exponent form when the
/// decimal exponent is below -4 or at least 6 (`1e+06`, `1.7e+09`, `5e-05`), plus `+Inf`,
/// `-Inf` and `NaN`.
pub fn write_float(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
        return;
    }
    // Integers below 1e6 print the same in both notations; this is the common case.
    if v.fract() == 0.0 && v.abs() < 1e6 && !(v == 0.0 && v.is_sign_negative()) {
        write_int(out, v as i64);
        return;
    }
    // Rust's `{:e}` yields the shortest round-trip digits: "1.7e9", "-5e-5", "1.234567e6".
    // Formatted on the stack: this runs for every timestamp of every object rendered.
    let mut sci = [0u8; 40];
    let len = {
        let mut cursor = std::io::Cursor::new(&mut sci[..]);
        // 40 bytes hold any f64 in `{:e}` form (at most 24), so this cannot fail.
        let _ = std::io::Write::write_fmt(&mut cursor, format_args!("{v:e}"));
        cursor.position() as usize
    };
    let sci = &sci[..len];
    let split = sci.iter().position(|b| *b == b'e').unwrap_or(sci.len());
    let (mantissa, exp) = (&sci[..split], sci.get(split + 1..).unwrap_or(&[]));
    let exp: i32 = std::str::from_utf8(exp).ok().and_then(|e| e.parse().ok()).unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix(b"-") {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let mut digit_buf = [0u8; 24];
    let mut n = 0;
    for d in mantissa.iter().filter(|c| **c != b'.') {
        if let Some(slot) = digit_buf.get_mut(n) {
            *slot = *d;
            n += 1;
        }
    }
    let digits = &digit_buf[..n.max(1)];
    if negative {
        out.push(b'-');
    }
    if !(-4..6).contains(&exp) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        write_int(out, i64::from(e));
    } else if exp < 0 {
        out.extend_from_slice(b"0.");
        for _ in 0..(-exp - 1) {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            out.extend_from_slice(digits);
            for _ in digits.len()..point {
                out.push(b'0');
            }
        } else {
            out.extend_from_slice(&digits[..point]);
            out.push(b'.');
            out.extend_from_slice(&digits[point..]);
        }
    }
}

/// Writes an integer in decimal without allocating.
fn write_int(out: &mut Vec<u8>, n: i64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[at..]);
}

/// Formats a float as a `String` (see [`write_float`]).
pub fn format_float(v: f64) -> String {
    let mut out = Vec::new();
    write_float(&mut out, v);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_match_go_g_format() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (0.5, "0.5"),
            (0.25, "0.25"),
            (0.001, "0.001"),
            (0.0001, "0.0001"),
            (0.00005, "5e-05"),
            (123456.0, "123456"),
            (999999.0, "999999"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (1.7e9, "1.7e+09"),
            (1732430000.0, "1.73243e+09"),
            (1501569018.0, "1.501569018e+09"),
            (536870912.0, "5.36870912e+08"),
            (1073741824.0, "1.073741824e+09"),
            (123456.5, "123456.5"),
            (1.5e300, "1.5e+300"),
            (2.5e-300, "2.5e-300"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (0.1 + 0.2, "0.30000000000000004"),
        ];
        for (v, want) in cases {
            assert_eq!(format_float(*v), *want, "formatting {v:?}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = Vec::new();
        write_label(&mut out, "k", "a\"b\\c\nd");
        assert_eq!(String::from_utf8(out).unwrap(), r#"k="a\"b\\c\nd""#);
    }

    #[test]
    fn help_escapes_backslash_and_newline_but_not_quotes() {
        let mut out = Vec::new();
        write_header(&mut out, "m", "say \"hi\"\\\nbye", MetricType::Counter);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# HELP m say \"hi\"\\\\\\nbye\n# TYPE m counter\n"
        );
    }

    #[test]
    fn label_names_are_sanitized() {
        assert_eq!(sanitize_label_name("nvidia.com/gpu"), "nvidia_com_gpu");
        assert_eq!(sanitize_label_name("hugepages-2Mi"), "hugepages_2Mi");
        assert_eq!(sanitize_label_name("9lives"), "_9lives");
        assert_eq!(sanitize_label_name("é"), "_");
        assert_eq!(sanitize_label_name(""), "_");
    }

    #[test]
    fn format_negotiation() {
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5")),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily"
            )),
            Format::Text
        );
    }
}

#[cfg(test)]
mod properties;
