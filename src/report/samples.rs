//! Samples as the report reads them: the Prometheus text format (0.0.4, what `/metrics` of this
//! exporter or of KSM serves) parsed strictly, keeping only the families the report needs.

use std::collections::HashMap;

/// One sample: family name, labels, value (timestamps are not used by the report).
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The series' metric name.
    pub name: String,
    /// Label pairs in the order they were written.
    pub labels: Vec<(String, String)>,
    /// The value; `NaN` and `±Inf` as written.
    pub value: f64,
}

impl Sample {
    /// The value of label `key`, or `""` when absent (Prometheus treats both alike).
    pub fn label(&self, key: &str) -> &str {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// Samples grouped by family name.
#[derive(Default, Debug)]
pub struct Samples {
    by_name: HashMap<String, Vec<Sample>>,
}

impl Samples {
    /// Adds one sample.
    pub fn push(&mut self, sample: Sample) {
        self.by_name.entry(sample.name.clone()).or_default().push(sample);
    }

    /// The samples of family `name` (empty when the source had none).
    pub fn of(&self, name: &str) -> &[Sample] {
        self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether the source had any sample of `name`.
    pub fn has(&self, name: &str) -> bool {
        !self.of(name).is_empty()
    }

    /// Number of samples kept.
    pub fn len(&self) -> usize {
        self.by_name.values().map(Vec::len).sum()
    }

    /// Whether no sample was kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A line the parser refused, with its 1-based number.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}: {text:?}")]
pub struct ParseError {
    /// 1-based line number in the body.
    pub line: usize,
    /// What is wrong with it.
    pub reason: &'static str,
    /// The line, cut to 200 bytes.
    pub text: String,
}

/// Parses a text-format body, keeping the samples whose name `keep` accepts. Lines of other
/// families are skipped without being split, so a 100k-pod body costs a scan, not a parse.
pub fn parse_text(body: &str, keep: impl Fn(&str) -> bool) -> Result<Samples, ParseError> {
    let mut parser = LineParser::new(keep);
    parser.feed(body.as_bytes())?;
    parser.finish()
}

/// [`parse_text`] fed in pieces cut anywhere (a scrape's chunks), holding only the samples kept
/// and one unfinished line.
pub struct LineParser<F> {
    keep: F,
    /// Labels kept on the samples (all when absent): the rest are checked, not stored.
    keep_label: Option<fn(&str) -> bool>,
    /// Parsed samples kept (all when absent).
    keep_sample: Option<fn(&Sample) -> bool>,
    samples: Samples,
    carry: Vec<u8>,
    line: usize,
}

impl<F: Fn(&str) -> bool> LineParser<F> {
    /// A parser keeping the samples whose name `keep` accepts.
    pub fn new(keep: F) -> Self {
        LineParser {
            keep,
            keep_label: None,
            keep_sample: None,
            samples: Samples::default(),
            carry: Vec::new(),
            line: 0,
        }
    }

    /// Keeps only the labels `keep_label` accepts (a 100k-pod body has millions of label
    /// values the caller never reads).
    pub fn labels(self, keep_label: fn(&str) -> bool) -> Self {
        LineParser {
            keep_label: Some(keep_label),
            ..self
        }
    }

    /// Keeps only the samples `keep_sample` accepts once parsed (checked like every other).
    pub fn samples(self, keep_sample: fn(&Sample) -> bool) -> Self {
        LineParser {
            keep_sample: Some(keep_sample),
            ..self
        }
    }

    /// Parses the complete lines of `piece` (with what the last piece left unfinished).
    pub fn feed(&mut self, mut piece: &[u8]) -> Result<(), ParseError> {
        while let Some(end) = piece.iter().position(|b| *b == b'\n') {
            if self.carry.is_empty() {
                self.line_done(&piece[..end])?;
            } else {
                self.carry.extend_from_slice(&piece[..end]);
                let line = std::mem::take(&mut self.carry);
                self.line_done(&line)?;
            }
            piece = &piece[end + 1..];
        }
        self.carry.extend_from_slice(piece);
        Ok(())
    }

    /// Parses a last line without a newline and returns what was kept.
    pub fn finish(mut self) -> Result<Samples, ParseError> {
        if !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            self.line_done(&line)?;
        }
        Ok(self.samples)
    }

    fn line_done(&mut self, raw: &[u8]) -> Result<(), ParseError> {
        self.line += 1;
        let error = |line: usize, reason: &'static str, text: &[u8]| ParseError {
            line,
            reason,
            text: String::from_utf8_lossy(&text[..text.len().min(200)]).into_owned(),
        };
        let line = std::str::from_utf8(raw).map_err(|_| error(self.line, "not UTF-8", raw))?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            return Ok(());
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        if !(self.keep)(&line[..name_end]) {
            return Ok(());
        }
        let sample = parse_line(line, self.keep_label).map_err(|reason| error(self.line, reason, raw))?;
        if self.keep_sample.is_none_or(|keep| keep(&sample)) {
            self.samples.push(sample);
        }
        Ok(())
    }
}

fn parse_line(line: &str, keep_label: Option<fn(&str) -> bool>) -> Result<Sample, &'static str> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if !valid_name(name) {
        return Err("invalid metric name");
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = parse_labels(after, &mut labels, keep_label)?;
    }
    let rest = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let value_text = rest.split(' ').next().unwrap_or("");
    let value = parse_value(value_text).ok_or("invalid value")?;
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// Reads `k="v",...}` and returns what follows the closing brace.
fn parse_labels<'a>(
    mut rest: &'a str,
    labels: &mut Vec<(String, String)>,
    keep_label: Option<fn(&str) -> bool>,
) -> Result<&'a str, &'static str> {
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let eq = rest.find('=').ok_or("label without '='")?;
        let key = &rest[..eq];
        if !valid_label_name(key) {
            return Err("invalid label name");
        }
        let mut chars = rest[eq + 1..].char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err("label value not quoted");
        }
        let mut value = String::new();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    end = Some(eq + 1 + i + 1);
                    break;
                }
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => value.push('\n'),
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    _ => return Err("invalid escape in a label value"),
                },
                c => value.push(c),
            }
        }
        let end = end.ok_or("unterminated label value")?;
        if keep_label.is_none_or(|keep| keep(key)) {
            labels.push((key.to_string(), value));
        }
        rest = &rest[end..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ if text.is_empty() || text.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E') => None,
        _ => text.parse().ok(),
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_escapes_and_special_values() {
        let body = "# HELP x y\n# TYPE x gauge\n\
                    kube_x{a=\"1\",b=\"q\\\"uo\\\\te\\nd\"} 2.5\n\
                    kube_y 1e3 1700000000000\n\
                    kube_z{} NaN\n\
                    kube_w{a=\"}\",} -Inf\n\
                    other_family{a=\"garbage} 1\n";
        let samples = parse_text(body, |n| n.starts_with("kube_")).unwrap();
        assert_eq!(samples.len(), 4);
        let x = &samples.of("kube_x")[0];
        assert_eq!(x.label("a"), "1");
        assert_eq!(x.label("b"), "q\"uo\\te\nd");
        assert_eq!(x.label("absent"), "");
        assert_eq!(x.value, 2.5);
        assert_eq!(samples.of("kube_y")[0].value, 1000.0);
        assert!(samples.of("kube_z")[0].value.is_nan());
        assert_eq!(samples.of("kube_w")[0].label("a"), "}");
        assert_eq!(samples.of("kube_w")[0].value, f64::NEG_INFINITY);
        assert!(!samples.has("other_family"), "skipped families are not kept");
    }

    #[test]
    fn pieces_cut_anywhere_parse_as_the_whole() {
        let body = "kube_a{x=\"1\"} 1\n# HELP kube_b b\nkube_b 2\nkube_c{y=\"é\"} 3";
        let whole = parse_text(body, |_| true).unwrap();
        for cut in 0..body.len() {
            let mut parser = LineParser::new(|_: &str| true);
            parser.feed(&body.as_bytes()[..cut]).unwrap();
            parser.feed(&body.as_bytes()[cut..]).unwrap();
            let pieces = parser.finish().unwrap();
            for name in ["kube_a", "kube_b", "kube_c"] {
                assert_eq!(pieces.of(name), whole.of(name), "cut at {cut}");
            }
        }
        assert_eq!(whole.of("kube_c")[0].label("y"), "é");
    }

    #[test]
    fn only_the_labels_asked_for_are_kept_and_all_are_checked() {
        let mut parser = LineParser::new(|_: &str| true).labels(|k| k == "pod");
        parser.feed(b"kube_a{pod=\"p\",image=\"x\"} 1\n").unwrap();
        let samples = parser.finish().unwrap();
        assert_eq!(samples.of("kube_a")[0].labels, [("pod".to_string(), "p".to_string())]);
        let mut parser = LineParser::new(|_: &str| true).labels(|k| k == "pod");
        parser.feed(b"kube_a{pod=\"p\",image=x} 1\n").unwrap_err();
        let mut parser = LineParser::new(|_: &str| true).samples(|s| s.value != 0.0);
        parser.feed(b"kube_a 0\nkube_a 1\nkube_b one\n").unwrap_err();
        let mut parser = LineParser::new(|_: &str| true).samples(|s| s.value != 0.0);
        parser.feed(b"kube_a 0\nkube_a 1\n").unwrap();
        assert_eq!(parser.finish().unwrap().of("kube_a").len(), 1);
    }

    #[test]
    fn refuses_malformed_lines_with_their_number() {
        for (line, reason) in [
            ("kube_a{b=\"c\"}", "no space before the value"),
            ("kube_a{b=c} 1", "label value not quoted"),
            ("kube_a{b=\"c} 1", "unterminated label value"),
            ("kube_a{1b=\"c\"} 1", "invalid label name"),
            ("kube_a{b=\"\\t\"} 1", "invalid escape in a label value"),
            ("kube_a one", "invalid value"),
            ("kube_a 0x10", "invalid value"),
        ] {
            let body = format!("kube_ok 1\n{line}\n");
            let err = parse_text(&body, |_| true).unwrap_err();
            assert_eq!((err.line, err.reason), (2, reason), "{line}");
        }
    }
}
