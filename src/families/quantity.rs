//! Kubernetes resource quantities (`250m`, `1Gi`, `1.5`, `2e3`, `154214749n`), parsed exactly.
//!
//! k8s-openapi keeps a `Quantity` as its unparsed string, so this is our own parser. Values are
//! held as an exact fraction so that KSM's `MilliValue()` / `Value()` rounding (up, away from
//! zero) is reproduced bit for bit.

use crate::exposition::sanitize_label_name;

/// A parsed quantity: `num / den`, exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    num: i128,
    den: i128,
}

/// Largest milli-value KSM converts through milli units before falling back to `Value()`.
const MAX_MILLI_VALUE: i128 = (i64::MAX / 1000) as i128;

impl Quantity {
    /// Parses a quantity string; `None` when it is not a valid Kubernetes quantity or does not
    /// fit in 128-bit arithmetic.
    pub fn parse(raw: &str) -> Option<Quantity> {
        let s = raw.trim();
        let (negative, s) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let number_end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
        let (number, suffix) = s.split_at(number_end);
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && frac.is_empty() || frac.contains('.') {
            return None;
        }
        let mut mantissa: i128 = 0;
        for d in whole.bytes().chain(frac.bytes()) {
            mantissa = mantissa.checked_mul(10)?.checked_add(i128::from(d - b'0'))?;
        }
        let mut num = mantissa;
        let mut den = pow10(u32::try_from(frac.len()).ok()?)?;
        match suffix {
            "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
                let shift = 10 * (1 + "KMGTPE".find(&suffix[..1])? as u32);
                num = num.checked_mul(1i128.checked_shl(shift)?)?;
            }
            _ => {
                let exp10: i32 = match suffix {
                    "" => 0,
                    "n" => -9,
                    "u" => -6,
                    "m" => -3,
                    "k" => 3,
                    "M" => 6,
                    "G" => 9,
                    "T" => 12,
                    "P" => 15,
                    "E" => 18,
                    _ => {
                        let e = suffix.strip_prefix(['e', 'E'])?;
                        if e.is_empty() || !e.trim_start_matches(['+', '-']).bytes().all(|b| b.is_ascii_digit()) {
                            return None;
                        }
                        e.parse().ok()?
                    }
                };
                if exp10 >= 0 {
                    num = num.checked_mul(pow10(exp10 as u32)?)?;
                } else {
                    den = den.checked_mul(pow10(exp10.unsigned_abs())?)?;
                }
            }
        }
        Some(Quantity {
            num: if negative { -num } else { num },
            den,
        })
    }

    /// The value in thousandths, rounded up (away from zero), like `Quantity.MilliValue()`.
    pub fn milli_value(&self) -> Option<i128> {
        Some(div_away_from_zero(self.num.checked_mul(1000)?, self.den))
    }

    /// The value rounded up to an integer, like `Quantity.Value()`.
    pub fn value(&self) -> i128 {
        div_away_from_zero(self.num, self.den)
    }

    /// KSM's `convertValueToFloat64`: milli-value / 1000, unless that would overflow, then
    /// `Value()`. Used for `unit="core"` samples.
    pub fn ksm_float(&self) -> f64 {
        let value = self.value();
        match self.milli_value() {
            Some(milli) if value <= MAX_MILLI_VALUE => milli as f64 / 1000.0,
            _ => value as f64,
        }
    }

    /// The exact value as a float (nano-cores stay nano-cores), for usage samples.
    pub fn as_f64(&self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

fn pow10(e: u32) -> Option<i128> {
    10i128.checked_pow(e)
}

fn div_away_from_zero(num: i128, den: i128) -> i128 {
    let q = num / den;
    if num % den == 0 {
        q
    } else if num > 0 {
        q + 1
    } else {
        q - 1
    }
}

/// KSM's resource `unit` label for a resource name, and whether the value is taken as
/// `Value()` (bytes and integers) rather than milli-value / 1000 (cores).
pub fn resource_unit(resource: &str) -> Option<&'static str> {
    match resource {
        "cpu" => Some("core"),
        "memory" | "storage" | "ephemeral-storage" => Some("byte"),
        r if r.starts_with("hugepages-") => Some("byte"),
        r if r.starts_with("attachable-volumes-") => Some("byte"),
        r if is_extended_resource(r) => Some("integer"),
        _ => None,
    }
}

/// One `resource`/`unit` sample of a resource-list entry, as KSM writes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceSample {
    /// The resource name as a label value, sanitized like a label name
    /// (`nvidia.com/gpu` → `nvidia_com_gpu`, `hugepages-2Mi` → `hugepages_2Mi`).
    pub resource: String,
    /// `core`, `byte` or `integer`.
    pub unit: &'static str,
    /// The quantity converted as KSM converts it for this kind of list.
    pub value: f64,
}

/// A container's request or limit (KSM's `pod.go`): cores are milli-value / 1000 (with
/// `convertValueToFloat64`'s overflow fallback), bytes and integers are `Value()`. `None` for
/// resources KSM has no unit for (`pods`, `kubernetes.io/…`) and for unparseable quantities.
pub fn container_resource(name: &str, raw: &str) -> Option<ResourceSample> {
    let unit = resource_unit(name)?;
    let q = Quantity::parse(raw)?;
    let value = if unit == "core" {
        q.ksm_float()
    } else {
        q.value() as f64
    };
    Some(ResourceSample {
        resource: sanitize_label_name(name),
        unit,
        value,
    })
}

/// A node's capacity or allocatable entry (KSM's `node.go`): the units of
/// [`container_resource`] plus `pods` as an `integer`, and every value is
/// `MilliValue()` / 1000, bytes included (`ksm_float`, which only differs from that where
/// Go's `MilliValue()` would overflow int64 and return garbage).
pub fn node_resource(name: &str, raw: &str) -> Option<ResourceSample> {
    let unit = match name {
        "pods" => "integer",
        _ => resource_unit(name)?,
    };
    let q = Quantity::parse(raw)?;
    Some(ResourceSample {
        resource: sanitize_label_name(name),
        unit,
        value: q.ksm_float(),
    })
}

/// KSM's `isExtendedResourceName`: a domain-prefixed name outside `kubernetes.io`, not a quota
/// `requests.` name, and a valid qualified name once prefixed with `requests.`.
pub fn is_extended_resource(name: &str) -> bool {
    let native = !name.contains('/') || name.contains("kubernetes.io/");
    if native || name.starts_with("requests.") {
        return false;
    }
    is_qualified_name(&format!("requests.{name}"))
}

/// Kubernetes `IsQualifiedName`: optional DNS-1123 subdomain prefix and `/`, then a name of at
/// most 63 characters: alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric.
fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        let subdomain_ok = !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if !subdomain_ok {
            return false;
        }
    }
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn parses_the_forms_kubernetes_writes() {
        assert_eq!(q("250m").ksm_float(), 0.25);
        assert_eq!(q("2").ksm_float(), 2.0);
        assert_eq!(q("1.5").ksm_float(), 1.5);
        assert_eq!(q("100m").ksm_float(), 0.1);
        assert_eq!(q("1Gi").value(), 1_073_741_824);
        assert_eq!(q("512Mi").value(), 536_870_912);
        assert_eq!(q("1.5Gi").value(), 1_610_612_736);
        assert_eq!(q("128974848").value(), 128_974_848);
        assert_eq!(q("129e6").value(), 129_000_000);
        assert_eq!(q("123E-1").value(), 13);
        assert_eq!(q("1k").value(), 1000);
        assert_eq!(q("2M").value(), 2_000_000);
        assert_eq!(q("0").ksm_float(), 0.0);
        assert_eq!(q(".5").ksm_float(), 0.5);
    }

    #[test]
    fn rounding_is_up_like_milli_value() {
        assert_eq!(q("1n").milli_value(), Some(1));
        assert_eq!(q("1n").ksm_float(), 0.001);
        assert_eq!(q("1500u").ksm_float(), 0.002);
        assert_eq!(q("100Mi").ksm_float(), 104_857_600.0);
    }

    #[test]
    fn exact_values_for_usage() {
        assert_eq!(q("154214749n").as_f64(), 0.154214749);
        assert_eq!(q("2489292Ki").as_f64(), 2_549_035_008.0);
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "abc", "1.2.3", "1Qi", "1e", "1e+", "m", "1 Gi", "--1", "1ee3"] {
            assert!(Quantity::parse(bad).is_none(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn units_follow_ksm() {
        assert_eq!(resource_unit("cpu"), Some("core"));
        assert_eq!(resource_unit("memory"), Some("byte"));
        assert_eq!(resource_unit("ephemeral-storage"), Some("byte"));
        assert_eq!(resource_unit("hugepages-2Mi"), Some("byte"));
        assert_eq!(resource_unit("nvidia.com/gpu"), Some("integer"));
        assert_eq!(resource_unit("kubernetes.io/something"), None);
        assert_eq!(resource_unit("pods"), None);
    }

    #[test]
    fn container_and_node_conversions_differ_like_ksm() {
        let sample = |resource: &str, unit, value| {
            Some(ResourceSample {
                resource: resource.to_string(),
                unit,
                value,
            })
        };
        // Containers: bytes are Value() (rounded up); nodes: MilliValue() / 1000.
        assert_eq!(container_resource("memory", "1500m"), sample("memory", "byte", 2.0));
        assert_eq!(node_resource("memory", "1500m"), sample("memory", "byte", 1.5));
        assert_eq!(container_resource("cpu", "250m"), sample("cpu", "core", 0.25));
        assert_eq!(node_resource("cpu", "7850m"), sample("cpu", "core", 7.85));
        assert_eq!(
            container_resource("hugepages-2Mi", "1Gi"),
            sample("hugepages_2Mi", "byte", 1_073_741_824.0)
        );
        assert_eq!(
            node_resource("nvidia.com/gpu", "4"),
            sample("nvidia_com_gpu", "integer", 4.0)
        );
        assert_eq!(
            node_resource("attachable-volumes-aws-ebs", "39"),
            sample("attachable_volumes_aws_ebs", "byte", 39.0)
        );
        // `pods` only has a unit on nodes.
        assert_eq!(container_resource("pods", "110"), None);
        assert_eq!(node_resource("pods", "110"), sample("pods", "integer", 110.0));
        assert_eq!(node_resource("example.com/thing", "a lot"), None);
        assert_eq!(node_resource("kubernetes.io/something", "1"), None);
    }
}
