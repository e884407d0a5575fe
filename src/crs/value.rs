//! What KSM does with the values it finds in an object: `toFloat64` (sample values, and the
//! numeric side of `[key=value]` list lookups) and `fmt.Sprintf("%v", v)` (label values).
//!
//! Objects are `serde_json::Value`s here; KSM sees the same data as apimachinery's unstructured
//! maps, where JSON integers are `int64`, other numbers `float64`, and `null` is Go's `nil`.

use serde_json::Value;

use super::quantity;
use super::time::rfc3339_unix;
use crate::exposition::format_float;

/// KSM's `toFloat64(value, nilIsZero)`. `None` is Go's `nil` (a path that resolved to nothing,
/// or a JSON `null`). The error text is what KSM would log.
///
/// Strings are tried in KSM's order: `true`/`yes` → 1 and `false`/`no`/`unknown` → 0 (any
/// case), an RFC 3339 timestamp → unix seconds, a Kubernetes quantity (`250m`, `5Gi`, `1e3`,
/// also plain decimals) → its approximate float, `NN%` with an integer `NN` → NN/100, and last
/// Go's `strconv.ParseFloat` (which adds `Inf`, `NaN`, hex floats and `_` digit separators).
pub fn to_float64(value: Option<&Value>, nil_is_zero: bool) -> Result<f64, String> {
    let value = match value {
        None | Some(Value::Null) if nil_is_zero => return Ok(0.0),
        None | Some(Value::Null) => return Err("expected number but found nil value".to_string()),
        Some(v) => v,
    };
    match value {
        Value::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
        Value::Number(n) => Ok(number_as_f64(n)),
        Value::String(s) => string_to_float64(s),
        other => Err(format!("expected number but was {}", go_sprint(other))),
    }
}

/// A JSON number as Go holds it: `int64` converted to `float64`, or the `float64` itself.
fn number_as_f64(n: &serde_json::Number) -> f64 {
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => i as f64,
        (None, Some(u)) => u as f64,
        _ => n.as_f64().unwrap_or(f64::NAN),
    }
}

fn string_to_float64(s: &str) -> Result<f64, String> {
    // Conditions' "True"/"False"/"Unknown" (metav1.Condition), and yes/no.
    match s.to_lowercase().as_str() {
        "true" | "yes" => return Ok(1.0),
        "false" | "no" | "unknown" => return Ok(0.0),
        _ => {}
    }
    if let Some(unix) = rfc3339_unix(s) {
        return Ok(unix as f64);
    }
    if let Some(q) = quantity::approximate_float(s) {
        return Ok(q);
    }
    // validation.IsValidPercent: ^[0-9]+%$.
    if let Some(digits) = s.strip_suffix('%')
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        let v: f64 = digits
            .parse()
            .map_err(|_| parse_float_error(digits, "invalid syntax"))?;
        if v.is_infinite() {
            return Err(parse_float_error(digits, "value out of range"));
        }
        return Ok(v / 100.0);
    }
    go_parse_float(s)
}

/// The error text of Go's `strconv.ParseFloat`.
fn parse_float_error(s: &str, why: &str) -> String {
    format!("strconv.ParseFloat: parsing {}: {why}", go_quote(s))
}

/// Go's `strconv.Quote`, enough for log messages: printable text as is, the rest escaped.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.ParseFloat(s, 64)` for what reaches it after the quantity parser: special
/// values (`inf`, `+Infinity`, `NaN`, any case), decimals with `_` separators, and hex floats
/// (`0x1.8p1`). Overflow is an error, as in Go.
pub fn go_parse_float(s: &str) -> Result<f64, String> {
    let invalid = || parse_float_error(s, "invalid syntax");
    let (negative, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Ok(if negative { f64::NEG_INFINITY } else { f64::INFINITY });
    }
    if lower == "nan" {
        // Go accepts "NaN" only without a sign.
        return if body.len() == s.len() {
            Ok(f64::NAN)
        } else {
            Err(invalid())
        };
    }
    if body.contains('_') && !underscore_ok(s) {
        return Err(invalid());
    }
    let digits: String = body.chars().filter(|&c| c != '_').collect();
    let magnitude = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        parse_hex_float(hex).ok_or_else(invalid)?
    } else {
        if !is_decimal_float(&digits) {
            return Err(invalid());
        }
        digits.parse::<f64>().map_err(|_| invalid())?
    };
    if magnitude.is_infinite() {
        return Err(parse_float_error(s, "value out of range"));
    }
    Ok(if negative { -magnitude } else { magnitude })
}

/// Go's decimal float syntax (sign already removed): digits with at most one point and at
/// least one digit, then optionally `e`/`E`, a sign and digits.
fn is_decimal_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut dots = 0;
    let mut digits = 0;
    for b in mantissa.bytes() {
        match b {
            b'.' => dots += 1,
            b'0'..=b'9' => digits += 1,
            _ => return false,
        }
    }
    if dots > 1 || digits == 0 {
        return false;
    }
    match exponent {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
        }
    }
}

/// Go's `underscoreOK`: `_` only between digits, or between a base prefix and a digit.
fn underscore_ok(s: &str) -> bool {
    let b = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    let mut i = 0;
    // '^' start, '0' digit or base prefix, '_' underscore, '!' anything else.
    let mut saw = b'^';
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// A hex float without its `0x` and sign: hex digits with at most one point, then a mandatory
/// `p` exponent. Rounded to nearest-even like Go's `atofHex`; `None` on bad syntax.
fn parse_hex_float(s: &str) -> Option<f64> {
    let p = s.find(['p', 'P'])?;
    let (mantissa, exponent) = (&s[..p], &s[p + 1..]);
    let exp_digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Saturate: anything this large over/underflows anyway.
    let exp_value: i64 = exp_digits
        .parse()
        .unwrap_or(i64::from(i32::MAX))
        .min(i64::from(i32::MAX));
    let mut exp2 = if exponent.starts_with('-') {
        -exp_value
    } else {
        exp_value
    };

    let mut bits: u128 = 0;
    let mut sticky = false;
    let mut seen_dot = false;
    let mut digits = 0;
    for c in mantissa.bytes() {
        if c == b'.' {
            if seen_dot {
                return None;
            }
            seen_dot = true;
            continue;
        }
        let d = u128::from((c as char).to_digit(16)?);
        digits += 1;
        if bits >> 120 == 0 {
            bits = bits << 4 | d;
            if seen_dot {
                exp2 -= 4;
            }
        } else {
            sticky |= d != 0;
            if !seen_dot {
                exp2 += 4;
            }
        }
    }
    if digits == 0 {
        return None;
    }
    Some(round_binary(bits, sticky, exp2))
}

/// `bits × 2^exp2` (plus a sticky "something non-zero below") rounded to the nearest f64, ties
/// to even, with subnormals and overflow to infinity.
fn round_binary(bits: u128, sticky: bool, exp2: i64) -> f64 {
    if bits == 0 {
        return 0.0;
    }
    let width = 128 - i64::from(bits.leading_zeros());
    let top = exp2 + width - 1;
    if top > 1023 {
        return f64::INFINITY;
    }
    // The exponent of the result's last mantissa bit: 53 significant bits for normals, a fixed
    // 2^-1074 for subnormals.
    let lsb = (top - 52).max(-1074);
    let shift = lsb - exp2;
    let mantissa = if shift <= 0 {
        // At most 53 bits wide after the shift, by the choice of `lsb`.
        bits << (-shift) as u32
    } else if shift > 128 {
        // Below half of the smallest unit: rounds to zero.
        0
    } else {
        let shift = shift as u32;
        let (kept, rest) = if shift == 128 {
            (0, bits)
        } else {
            (bits >> shift, bits & ((1u128 << shift) - 1))
        };
        let half = 1u128 << (shift - 1);
        let up = rest > half || rest == half && (sticky || kept & 1 == 1);
        kept + u128::from(up)
    };
    // Rounding up can carry into a new top bit.
    if mantissa != 0 && lsb + (128 - i64::from(mantissa.leading_zeros())) - 1 > 1023 {
        return f64::INFINITY;
    }
    compose(mantissa, lsb)
}

/// `mantissa × 2^exp` for a mantissa of at most 53 bits, scaled in exact steps.
fn compose(mantissa: u128, exp: i64) -> f64 {
    let mut v = mantissa as f64;
    let mut e = exp;
    while e > 0 {
        let step = e.min(1000);
        v *= 2f64.powi(step as i32);
        e -= step;
    }
    while e < 0 {
        let step = (-e).min(1000);
        v /= 2f64.powi(step as i32);
        e += step;
    }
    v
}

/// Go's `fmt.Sprintf("%v", v)` of an unstructured value, which is how KSM writes label values:
/// strings as they are, integers in decimal, floats in Go's shortest `%g` form (`1e+06`), `nil`
/// as `<nil>`, lists as `[a b]` and maps as `map[k:v]` with sorted keys.
pub fn go_sprint(v: &Value) -> String {
    let mut out = String::new();
    write_go(&mut out, v);
    out
}

fn write_go(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_i64() {
            Some(i) => out.push_str(&i.to_string()),
            None => out.push_str(&format_float(number_as_f64(n))),
        },
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_go(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push_str("map[");
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_go(out, &map[k]);
            }
            out.push(']');
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn float(v: Value) -> Result<f64, String> {
        to_float64(Some(&v), false)
    }

    #[test]
    fn numbers_and_bools() {
        assert_eq!(float(json!(3)), Ok(3.0));
        assert_eq!(float(json!(-7)), Ok(-7.0));
        assert_eq!(float(json!(43.21)), Ok(43.21));
        assert_eq!(float(json!(u64::MAX)), Ok(18446744073709551615.0));
        assert_eq!(float(json!(true)), Ok(1.0));
        assert_eq!(float(json!(false)), Ok(0.0));
    }

    #[test]
    fn condition_words_in_any_case() {
        for (s, want) in [
            ("True", 1.0),
            ("TRUE", 1.0),
            ("yes", 1.0),
            ("Yes", 1.0),
            ("False", 0.0),
            ("no", 0.0),
            ("NO", 0.0),
            ("Unknown", 0.0),
            ("unknown", 0.0),
        ] {
            assert_eq!(float(json!(s)), Ok(want), "{s}");
        }
        // "on"/"off"/"y" are not in KSM's set; "n" is, by accident: a bare nano suffix is a
        // zero quantity.
        for s in ["on", "off", "y", "Y"] {
            assert!(float(json!(s)).is_err(), "{s}");
        }
        assert_eq!(float(json!("n")), Ok(0.0));
    }

    #[test]
    fn timestamps_quantities_and_percentages() {
        assert_eq!(float(json!("2022-06-28T00:00:00Z")), Ok(1_656_374_400.0));
        assert_eq!(float(json!("2019-10-22T18:29:31.25+02:00")), Ok(1_571_761_771.0));
        assert_eq!(float(json!("250m")), Ok(0.25));
        assert_eq!(float(json!("5Gi")), Ok(5_368_709_120.0));
        assert_eq!(float(json!("1e3")), Ok(1000.0));
        assert_eq!(float(json!("1.5")), Ok(1.5));
        assert_eq!(float(json!("28%")), Ok(0.28));
        assert_eq!(float(json!("0%")), Ok(0.0));
        assert_eq!(float(json!("150%")), Ok(1.5));
    }

    #[test]
    fn percentages_must_be_whole_numbers() {
        assert_eq!(
            float(json!("12.5%")),
            Err("strconv.ParseFloat: parsing \"12.5%\": invalid syntax".to_string())
        );
        assert!(float(json!("-5%")).is_err());
        assert!(float(json!("%")).is_err());
    }

    #[test]
    fn go_parse_float_fallbacks() {
        assert_eq!(float(json!("Inf")), Ok(f64::INFINITY));
        assert_eq!(float(json!("-infinity")), Ok(f64::NEG_INFINITY));
        assert!(float(json!("NaN")).unwrap().is_nan());
        assert!(float(json!("+NaN")).is_err());
        assert_eq!(float(json!("1_000")), Ok(1000.0));
        assert_eq!(float(json!("1_000.5")), Ok(1000.5));
        assert!(float(json!("1__000")).is_err());
        assert!(float(json!("_1000")).is_err());
        assert_eq!(float(json!("0x1p-2")), Ok(0.25));
        assert_eq!(float(json!("0X1.8P1")), Ok(3.0));
        assert_eq!(float(json!("-0x_1p4")), Ok(-16.0));
        assert!(float(json!("0x10")).is_err(), "hex floats need a p exponent");
        assert_eq!(
            float(json!("0x1p2000")),
            Err("strconv.ParseFloat: parsing \"0x1p2000\": value out of range".to_string())
        );
        assert_eq!(float(json!("0x1p-1080")), Ok(0.0));
        assert_eq!(float(json!("0x1p-1074")), Ok(f64::from_bits(1)));
        assert_eq!(float(json!("0x1.0000000000000fp0")), Ok(1.0 + f64::EPSILON));
        assert_eq!(float(json!("0x1.00000000000008p0")), Ok(1.0), "tie rounds to even");
        assert_eq!(
            float(json!("0x1.00000000000018p0")),
            Ok(1.0 + 2.0 * f64::EPSILON),
            "tie rounds to even"
        );
        assert_eq!(
            float(json!("0x1.000000000000081p0")),
            Ok(1.0 + f64::EPSILON),
            "above the tie rounds up"
        );
    }

    #[test]
    fn nil_and_containers() {
        assert_eq!(to_float64(None, true), Ok(0.0));
        assert_eq!(to_float64(Some(&Value::Null), true), Ok(0.0));
        assert_eq!(
            to_float64(None, false),
            Err("expected number but found nil value".to_string())
        );
        assert_eq!(
            float(json!({"a": 1})),
            Err("expected number but was map[a:1]".to_string())
        );
        assert_eq!(float(json!([1, 2])), Err("expected number but was [1 2]".to_string()));
        assert_eq!(
            float(json!("Ready")),
            Err("strconv.ParseFloat: parsing \"Ready\": invalid syntax".to_string())
        );
        assert!(float(json!("")).is_err());
    }

    #[test]
    fn go_sprint_matches_fmt_v() {
        assert_eq!(go_sprint(&json!("a b")), "a b");
        assert_eq!(go_sprint(&json!(1)), "1");
        assert_eq!(go_sprint(&json!(-12)), "-12");
        assert_eq!(go_sprint(&json!(1.0)), "1");
        assert_eq!(go_sprint(&json!(43.21)), "43.21");
        assert_eq!(go_sprint(&json!(1234567.0)), "1.234567e+06");
        assert_eq!(go_sprint(&json!(0.00001)), "1e-05");
        assert_eq!(go_sprint(&json!(true)), "true");
        assert_eq!(go_sprint(&Value::Null), "<nil>");
        assert_eq!(go_sprint(&json!(["x", 2, null])), "[x 2 <nil>]");
        assert_eq!(go_sprint(&json!({"b": [1], "a": {"c": "d"}})), "map[a:map[c:d] b:[1]]");
    }
}
