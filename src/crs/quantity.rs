//! Kubernetes quantities as KSM's `toFloat64` reads them: apimachinery's
//! `resource.ParseQuantity(s)` followed by `Quantity.AsApproximateFloat64()`, bit for bit.
//!
//! The approximation is part of the contract: `"0.3"` becomes `3 × 10⁻¹ = 0.30000000000000004`,
//! not `0.3`, because that is what KSM prints. So the value is kept the way apimachinery keeps it
//! (an integer with a decimal scale, or an exact decimal when that does not fit) and converted
//! with the same float operations, including Go's table-driven `math.Pow10`. ParseQuantity's
//! corners are reproduced too: a bare suffix (`"m"`, `"Gi"`) or sign (`"-"`) is a zero quantity,
//! values beyond 2⁶³−1 are capped, and exact decimals are rounded up to nanounits.

/// `resource.ParseQuantity(s).AsApproximateFloat64()`; `None` when ParseQuantity rejects `s`.
pub fn approximate_float(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    if s == "0" {
        return Some(0.0);
    }
    let parts = split(s)?;
    let (base, exponent, format) = interpret_suffix(parts.suffix)?;

    // The int64 fast path: small enough numbers are kept as value × 10^scale.
    let digits = parts.num.len() as i64 + parts.denom.len() as i64;
    let (precision, mut scale, mantissa) = match format {
        Format::Decimal => (MAX_INT64_FACTORS - digits, exponent, 1i64),
        Format::Binary if exponent >= 0 && parts.denom.is_empty() => {
            // Go: 15 - len(num) - int32(float32(exponent)*3/10) - 1.
            let digits_in_suffix = (exponent as f32 * 3.0 / 10.0) as i64;
            (15 - parts.num.len() as i64 - digits_in_suffix - 1, 0, 1i64 << exponent)
        }
        Format::Binary => (-1, 0, 1),
    };
    if precision >= 0 {
        // int32 arithmetic in Go; wrapping keeps absurd exponents behaving the same way.
        scale = scale.wrapping_sub(parts.denom.len() as i32);
        if scale >= NANO_SCALE {
            let shifted = format!("{}{}", parts.num, parts.denom);
            // ParseInt cannot overflow here (at most 18 digits), but a failure is ErrNumeric.
            let value: i64 = shifted.parse().ok()?;
            if let Some(result) = value.checked_mul(mantissa) {
                let result = if parts.positive { result } else { -result };
                return Some(scaled(result as f64, scale));
            }
        }
    }
    exact_decimal(&parts, base, exponent)
}

/// `maxInt64Factors`: decimal digits an int64 always holds.
const MAX_INT64_FACTORS: i64 = 18;
/// `resource.Nano`: the finest scale a quantity keeps.
const NANO_SCALE: i32 = -9;
/// `maxAllowed`: quantities are capped at 2⁶³−1 units.
const MAX_ALLOWED: u128 = i64::MAX as u128;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Decimal SI suffixes and `e`/`E` exponents.
    Decimal,
    /// `Ki` … `Ei`.
    Binary,
}

/// The pieces `parseQuantityString` cuts a quantity into.
struct Parts<'a> {
    positive: bool,
    /// Sign, digits and point as written (what an exact decimal is built from).
    value: &'a str,
    /// Integer digits without leading zeros ("0" when there are none).
    num: &'a str,
    /// Fraction digits.
    denom: &'a str,
    suffix: &'a str,
}

/// apimachinery's `parseQuantityString`, including its early returns: a string that is only a
/// sign and zeros is the number 0 with no suffix.
fn split(s: &str) -> Option<Parts<'_>> {
    let b = s.as_bytes();
    let end = b.len();
    let mut pos = 0;
    let mut positive = true;
    match b.first() {
        Some(b'-') => {
            positive = false;
            pos += 1;
        }
        Some(b'+') => pos += 1,
        _ => {}
    }
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Some(Parts {
            positive,
            value: "0",
            num: "0",
            denom: "",
            suffix: "",
        });
    }
    let num_start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let num = if pos == num_start { "0" } else { &s[num_start..pos] };
    if pos >= end {
        return Some(Parts {
            positive,
            value: s,
            num,
            denom: "",
            suffix: "",
        });
    }
    let mut denom = "";
    if b[pos] == b'.' {
        pos += 1;
        let denom_start = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &s[denom_start..pos];
        if pos >= end {
            return Some(Parts {
                positive,
                value: s,
                num,
                denom,
                suffix: "",
            });
        }
    }
    let value = &s[..pos];
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < end && matches!(b[pos], b'-' | b'+') {
        pos += 1;
    }
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    // Anything left over means the suffix is not a valid exponent.
    (pos == end).then_some(Parts {
        positive,
        value,
        num,
        denom,
        suffix: &s[suffix_start..],
    })
}

/// `quantitySuffixer.interpret`: decimal SI, then binary SI, then `e<int>` / `E<int>`.
fn interpret_suffix(suffix: &str) -> Option<(u32, i32, Format)> {
    let decimal = |e| Some((10, e, Format::Decimal));
    let binary = |e| Some((2, e, Format::Binary));
    match suffix {
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "" => decimal(0),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let exp = suffix.strip_prefix(['e', 'E']).filter(|e| !e.is_empty())?;
            // strconv.ParseInt(exp, 10, 64), then Go's int32() truncation.
            let parsed: i64 = exp.parse().ok()?;
            decimal(parsed as i32)
        }
    }
}

/// The exact-decimal path (`inf.Dec`): taken when the number has too many digits, a fraction
/// with a binary suffix, or a scale finer than nano. The value is rounded up (away from zero) to
/// nanounits and capped at 2⁶³−1 before it becomes a float.
fn exact_decimal(parts: &Parts, base: u32, exponent: i32) -> Option<f64> {
    // inf.Dec.SetString needs at least one digit.
    if !parts.value.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{}{}", parts.num, parts.denom);
    let mut unscaled = BigUint::from_decimal(digits.trim_start_matches('0'));
    let mut scale = parts.denom.len() as i32;
    if base == 10 {
        scale = scale.wrapping_sub(exponent);
    } else {
        unscaled.mul_pow2(exponent.unsigned_abs());
    }
    if unscaled.is_zero() {
        // Zero is not rounded: its scale survives into AsApproximateFloat64.
        return Some(scaled(0.0, scale.wrapping_neg()));
    }
    let value = match round_up_to_nano_capped(unscaled, scale) {
        Capped::Max => MAX_ALLOWED as f64,
        Capped::Nanos(n) => scaled(n as f64, NANO_SCALE),
    };
    Some(if parts.positive { value } else { -value })
}

enum Capped {
    /// The quantity hit `maxAllowed` (scale 0).
    Max,
    /// `ceil(|x| × 10⁹)` (scale 9).
    Nanos(u128),
}

/// `ceil(unscaled × 10^(9 − scale))`, or `Max` when that exceeds `maxAllowed × 10⁹`.
fn round_up_to_nano_capped(mut unscaled: BigUint, scale: i32) -> Capped {
    let limit = MAX_ALLOWED * 1_000_000_000;
    let shift = 9 - i64::from(scale);
    if shift >= 0 {
        // A non-zero integer times 10^41 is already beyond the limit (about 9.2 × 10²⁷).
        if shift > 41 {
            return Capped::Max;
        }
        unscaled.mul_pow10(shift as u32);
    } else {
        let rounded_off = unscaled.div_pow10((-shift) as u64);
        if rounded_off {
            unscaled.add_one();
        }
    }
    match unscaled.to_u128() {
        Some(n) if n <= limit => Capped::Nanos(n),
        _ => Capped::Max,
    }
}

/// `AsApproximateFloat64`: `base × math.Pow10(exponent)`, skipping the multiplication at 0.
fn scaled(base: f64, exponent: i32) -> f64 {
    if exponent == 0 { base } else { base * go_pow10(exponent) }
}

/// Go's `math.Pow10`, which builds the power from two table entries (so results can differ from
/// a correctly rounded 10ⁿ in the last bit, and KSM's values with them).
pub fn go_pow10(n: i32) -> f64 {
    const TAB: [f64; 32] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31,
    ];
    const POS32: [f64; 10] = [1e0, 1e32, 1e64, 1e96, 1e128, 1e160, 1e192, 1e224, 1e256, 1e288];
    const NEG32: [f64; 11] = [
        1e-0, 1e-32, 1e-64, 1e-96, 1e-128, 1e-160, 1e-192, 1e-224, 1e-256, 1e-288, 1e-320,
    ];
    if (0..=308).contains(&n) {
        let n = n as usize;
        POS32[n / 32] * TAB[n % 32]
    } else if (-323..=0).contains(&n) {
        let n = n.unsigned_abs() as usize;
        NEG32[n / 32] / TAB[n % 32]
    } else if n > 0 {
        f64::INFINITY
    } else {
        0.0
    }
}

/// Just enough of an unsigned big integer for the exact-decimal path: limbs of 10⁹,
/// least significant first.
struct BigUint {
    limbs: Vec<u32>,
}

const LIMB: u64 = 1_000_000_000;

impl BigUint {
    /// From ASCII digits (empty = 0).
    fn from_decimal(digits: &str) -> BigUint {
        let bytes = digits.as_bytes();
        let mut limbs = Vec::with_capacity(bytes.len() / 9 + 1);
        let mut end = bytes.len();
        while end > 0 {
            let start = end.saturating_sub(9);
            let limb = bytes[start..end]
                .iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
            limbs.push(limb);
            end = start;
        }
        let mut n = BigUint { limbs };
        n.trim();
        n
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    fn mul_small(&mut self, factor: u64) {
        let mut carry = 0u64;
        for limb in &mut self.limbs {
            let product = u64::from(*limb) * factor + carry;
            *limb = (product % LIMB) as u32;
            carry = product / LIMB;
        }
        while carry > 0 {
            self.limbs.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
    }

    fn mul_pow2(&mut self, mut exp: u32) {
        while exp > 0 {
            let step = exp.min(30);
            self.mul_small(1 << step);
            exp -= step;
        }
    }

    fn mul_pow10(&mut self, mut exp: u32) {
        while exp > 0 {
            let step = exp.min(9);
            self.mul_small(10u64.pow(step));
            exp -= step;
        }
    }

    /// Divides by 10^exp, truncating; returns whether anything non-zero was cut off. Stops as
    /// soon as the quotient is zero, so huge exponents cost nothing.
    fn div_pow10(&mut self, mut exp: u64) -> bool {
        let mut cut = false;
        while exp > 0 && !self.is_zero() {
            let step = exp.min(9) as u32;
            let divisor = 10u64.pow(step);
            let mut rem = 0u64;
            for limb in self.limbs.iter_mut().rev() {
                let cur = rem * LIMB + u64::from(*limb);
                *limb = (cur / divisor) as u32;
                rem = cur % divisor;
            }
            cut |= rem != 0;
            self.trim();
            exp -= u64::from(step);
        }
        cut
    }

    fn add_one(&mut self) {
        for limb in &mut self.limbs {
            if u64::from(*limb) + 1 < LIMB {
                *limb += 1;
                return;
            }
            *limb = 0;
        }
        self.limbs.push(1);
    }

    fn to_u128(&self) -> Option<u128> {
        let mut n: u128 = 0;
        for limb in self.limbs.iter().rev() {
            n = n.checked_mul(u128::from(LIMB))?.checked_add(u128::from(*limb))?;
        }
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_quantities() {
        let cases: &[(&str, f64)] = &[
            ("250m", 0.25),
            ("512Gi", 549755813888.0),
            ("5Gi", 5368709120.0),
            ("1.5", 1.5),
            ("1e3", 1000.0),
            ("1E3", 1000.0),
            ("1e+3", 1000.0),
            ("1.5e-3", 0.0015),
            ("100k", 100000.0),
            ("262144k", 262144000.0),
            ("2M", 2e6),
            ("-3", -3.0),
            ("+7", 7.0),
            ("0", 0.0),
            ("-0", 0.0),
            ("12", 12.0),
            ("1Ki", 1024.0),
            ("1Ei", 1152921504606846976.0),
            ("1.5Gi", 1610612736.0),
            ("0.5Ki", 512.0),
            ("154214749n", 154214749.0 * 1e-9),
        ];
        for &(s, want) in cases {
            assert_eq!(approximate_float(s), Some(want), "{s}");
        }
    }

    #[test]
    fn the_approximation_matches_go_not_decimal_arithmetic() {
        // 3 × Pow10(-1) in float64, as AsApproximateFloat64 computes it.
        assert_eq!(approximate_float("0.3"), Some(0.30000000000000004));
        assert_eq!(approximate_float("43.21"), Some(4321.0 * 0.01));
        assert_ne!(approximate_float("0.3"), Some(0.3));
    }

    #[test]
    fn bare_suffixes_signs_and_points_are_zero() {
        for s in ["m", "Gi", "E", "k", "-", "+", ".", "e5", "000"] {
            assert_eq!(approximate_float(s), Some(0.0), "{s}");
        }
    }

    #[test]
    fn rejected_strings() {
        for s in [
            "", "abc", "12%", "1.5x", "1e", "1K", "1e3.5", " 1", "1 ", "1_000", "0x10", "Inf", "NaN", "1.2.3", ".e-10",
            "1Mb", "--1",
        ] {
            assert_eq!(approximate_float(s), None, "{s:?}");
        }
    }

    #[test]
    fn fine_fractions_round_up_to_nanounits() {
        assert_eq!(approximate_float("0.1234567891"), Some(123456790.0 * go_pow10(-9)));
        assert_eq!(approximate_float("-0.0000000001"), Some(-1e-9));
        assert_eq!(approximate_float("1n"), Some(1e-9));
        assert_eq!(approximate_float("0.0000000000"), Some(0.0));
    }

    #[test]
    fn huge_values_are_capped_or_infinite_as_in_go() {
        // Exact path beyond 2^63-1: capped.
        assert_eq!(approximate_float("99999999999999999999"), Some(9223372036854775807.0));
        assert_eq!(approximate_float("20Ei"), Some(9223372036854775807.0));
        // The int64 fast path is not capped: 1 × Pow10(400) is +Inf, 0 × +Inf is NaN.
        assert_eq!(approximate_float("1e400"), Some(f64::INFINITY));
        assert!(approximate_float("0e400").unwrap().is_nan());
        // Beyond nano precision the exact path rounds up: the smallest quantity is 1n.
        assert_eq!(approximate_float("1e-400"), Some(1e-9));
    }

    #[test]
    fn go_pow10_uses_its_tables() {
        assert_eq!(go_pow10(0), 1.0);
        assert_eq!(go_pow10(-3), 0.001);
        assert_eq!(go_pow10(308), 1e308);
        assert_eq!(go_pow10(309), f64::INFINITY);
        assert_eq!(go_pow10(-324), 0.0);
        assert_eq!(go_pow10(40), 1e32 * 1e8);
    }
}
