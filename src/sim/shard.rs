//! KEP-5866 sharded list and watch (Kubernetes 1.36, alpha, feature gate ShardedListAndWatch):
//! `shardSelector=shardRange(object.metadata.uid, '0x…', '0x…') || …` keeps the objects whose
//! FNV-1a 64 hash of the UID falls in one of the `[start, end)` ranges; a list echoes the
//! selector in `metadata.shardInfo.selector`. With the gate off the parameter is ignored, as an
//! unknown query parameter is by a real server.

/// A parsed shard selector.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardSelector {
    /// The selector as requested (echoed in `shardInfo`).
    pub text: String,
    ranges: Vec<(u64, u128)>,
}

impl ShardSelector {
    /// Parses `shardRange(object.metadata.uid, 'HEX', 'HEX')` terms joined by `||`.
    pub fn parse(text: &str) -> Result<ShardSelector, String> {
        let ranges = text
            .split("||")
            .map(|term| parse_range(term.trim()).map_err(|e| format!("invalid shard selector {text:?}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ShardSelector {
            text: text.to_string(),
            ranges,
        })
    }

    /// Whether an object whose UID hashes to `hash` is selected.
    pub fn matches(&self, hash: u64) -> bool {
        self.ranges
            .iter()
            .any(|(start, end)| hash >= *start && u128::from(hash) < *end)
    }
}

fn parse_range(term: &str) -> Result<(u64, u128), String> {
    let args = term
        .strip_prefix("shardRange(")
        .and_then(|t| t.strip_suffix(')'))
        .ok_or("expected shardRange(field, 'start', 'end')")?;
    let parts: Vec<&str> = args.split(',').map(str::trim).collect();
    let [field, start, end] = parts.as_slice() else {
        return Err("shardRange takes three arguments".into());
    };
    if *field != "object.metadata.uid" {
        return Err(format!("unsupported field {field}; supported: object.metadata.uid"));
    }
    let hex = |arg: &str| -> Result<u128, String> {
        let digits = arg
            .strip_prefix('\'')
            .and_then(|a| a.strip_suffix('\''))
            .and_then(|a| a.strip_prefix("0x"))
            .ok_or_else(|| format!("bound {arg} is not a quoted 0x-prefixed hex string"))?;
        u128::from_str_radix(digits, 16).map_err(|e| format!("bound {arg}: {e}"))
    };
    let (start, end) = (hex(start)?, hex(end)?);
    if start >= 1 << 64 || end > 1 << 64 || start >= end {
        return Err(format!("range [{start:#x}, {end:#x}) is empty or beyond 2^64"));
    }
    Ok((start as u64, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_match_half_open() {
        let s = ShardSelector::parse(
            "shardRange(object.metadata.uid, '0x0', '0x8000000000000000') || shardRange(object.metadata.uid, '0xc000000000000000', '0x10000000000000000')",
        )
        .unwrap();
        assert!(s.matches(0));
        assert!(s.matches(0x7fff_ffff_ffff_ffff));
        assert!(!s.matches(0x8000_0000_0000_0000));
        assert!(s.matches(0xc000_0000_0000_0000));
        assert!(s.matches(u64::MAX));
        for bad in [
            "shardRange(object.metadata.name, '0x0', '0x1')",
            "shardRange(object.metadata.uid, 0x0, '0x1')",
            "shardRange(object.metadata.uid, '0x2', '0x1')",
            "shardRange(object.metadata.uid, '0x0', '0x10000000000000001')",
            "shardRange(object.metadata.uid, '0x0')",
            "uid in (a)",
        ] {
            assert!(ShardSelector::parse(bad).is_err(), "{bad}");
        }
    }
}
