//! Which objects this instance keeps when the work is split across shards.
//!
//! Two ways to split, never mixed within one fleet:
//! - **Jump hashing** (the default, KSM's): FNV-1a 64 over the UID string, then Lamping and
//!   Veach's jump consistent hash over the shard count. The same UID lands on the same shard as
//!   in KSM, so KSM shards can be replaced by these one at a time.
//! - **Hash ranges** (`--server-side-sharding`, KEP-5866): the 64-bit FNV-1a space cut into equal
//!   ranges, one per shard, which a v1.36+ API server can apply itself (`shardSelector`), so a
//!   shard stops downloading objects that are not its own. The filter is applied on our side
//!   too, so a server without the feature gate yields the same result at full transfer cost.
//!
//! A [`ShardFilter`] may hold two assignments while auto-sharding moves from one shard count to
//! another: objects of either are kept until the new assignment serves everywhere (see
//! [`autoshard`](crate::autoshard)).

use std::fmt;

/// FNV-1a, 64 bit (Go's `hash/fnv.New64a`).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Jump consistent hash (Lamping and Veach, 2014), exactly as `github.com/dgryski/go-jump`
/// computes it, floating point included: the bucket of `key` among `buckets`.
pub fn jump_hash(mut key: u64, buckets: u32) -> u32 {
    let mut b: i64 = -1;
    let mut j: i64 = 0;
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    // Zero buckets is rejected when options are validated; 0 keeps this total.
    b.max(0) as u32
}

/// How shards divide the objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// KSM's FNV-1a + jump hash (client-side only).
    Jump,
    /// Equal FNV-1a hash ranges, which the API server can apply (KEP-5866).
    Ranges,
}

/// One shard of a fleet: `ordinal` of `total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Assignment {
    /// Zero-based shard index.
    pub ordinal: u32,
    /// Number of shards (at least 1).
    pub total: u32,
}

impl Assignment {
    /// The unsharded assignment: everything.
    pub const ALL: Assignment = Assignment { ordinal: 0, total: 1 };

    /// Whether `ordinal` is one of `total`'s shards.
    pub fn is_valid(&self) -> bool {
        self.total >= 1 && self.ordinal < self.total
    }

    /// `[start, end)` of this shard's FNV-1a range; `end` may be 2^64.
    pub fn range(&self) -> (u64, u128) {
        // The split KSM's server-side sharding proposal uses: equal steps, the last range
        // reaching 2^64, so concatenated shards cover the space exactly once.
        let step = u64::MAX / u64::from(self.total) + 1;
        let start = step.wrapping_mul(u64::from(self.ordinal));
        let end = if self.ordinal + 1 >= self.total {
            1u128 << 64
        } else {
            u128::from(start) + u128::from(step)
        };
        (start, end)
    }

    /// Whether every object of `other` is also one of this assignment's. Jump hashing only
    /// moves keys to new buckets as the count grows, so shard `i` of `n` covers shard `i` of
    /// any larger count; ranges cover what they contain.
    fn covers(&self, method: Method, other: &Assignment) -> bool {
        if self == other || *self == Assignment::ALL || !other.is_valid() {
            return true;
        }
        match method {
            Method::Jump => self.ordinal == other.ordinal && other.total >= self.total,
            Method::Ranges => {
                let (start, end) = self.range();
                let (other_start, other_end) = other.range();
                other_start >= start && other_end <= end
            }
        }
    }

    fn keeps_hash(&self, method: Method, hash: u64) -> bool {
        match method {
            Method::Jump => jump_hash(hash, self.total) == self.ordinal,
            Method::Ranges => {
                let (start, end) = self.range();
                hash >= start && u128::from(hash) < end
            }
        }
    }
}

impl fmt::Display for Assignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard {} of {}", self.ordinal, self.total)
    }
}

/// Where this instance's assignment comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShardSource {
    /// `--shard` / `--total-shards` (the default is shard 0 of 1: everything).
    Static(Assignment),
    /// `--pod` / `--pod-namespace`: the ordinal of this pod in its StatefulSet, of
    /// `spec.replicas` shards, followed live.
    Auto {
        /// This pod's name.
        pod: String,
        /// This pod's namespace.
        namespace: String,
    },
}

/// Validated sharding options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardingOptions {
    /// Where the assignment comes from.
    pub source: ShardSource,
    /// How shards divide objects (`--server-side-sharding` = hash ranges).
    pub method: Method,
}

impl Default for ShardingOptions {
    fn default() -> Self {
        ShardingOptions {
            source: ShardSource::Static(Assignment::ALL),
            method: Method::Jump,
        }
    }
}

impl ShardingOptions {
    /// Whether the API server is asked to filter (KEP-5866).
    pub fn server_side(&self) -> bool {
        self.method == Method::Ranges
    }
}

/// The objects this instance keeps: those whose UID falls in any of its assignments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardFilter {
    method: Method,
    /// The current assignment first; a previous one follows while a re-shard hands over.
    assignments: Vec<Assignment>,
}

impl ShardFilter {
    /// Keeps everything.
    pub fn all() -> Self {
        ShardFilter::new(Method::Jump, Assignment::ALL)
    }

    /// Keeps one assignment's objects.
    pub fn new(method: Method, assignment: Assignment) -> Self {
        ShardFilter {
            method,
            assignments: vec![assignment],
        }
    }

    /// Keeps the objects of `current` and of `previous` (a re-shard handing over).
    pub fn handover(method: Method, current: Assignment, previous: Assignment) -> Self {
        let mut assignments = vec![current];
        if previous != current {
            assignments.push(previous);
        }
        ShardFilter { method, assignments }
    }

    /// The assignment this instance is moving to (or holds).
    pub fn current(&self) -> Assignment {
        self.assignments[0]
    }

    /// How shards divide the objects.
    pub fn method(&self) -> Method {
        self.method
    }

    /// True when no object is filtered out.
    pub fn keeps_everything(&self) -> bool {
        self.assignments.contains(&Assignment::ALL)
    }

    /// Whether the object with this UID is this instance's.
    pub fn keeps(&self, uid: &str) -> bool {
        if self.keeps_everything() {
            return true;
        }
        let hash = fnv1a64(uid.as_bytes());
        self.assignments
            .iter()
            .any(|a| a.is_valid() && a.keeps_hash(self.method, hash))
    }

    /// True when every object this filter keeps is kept by `other` too, so moving from `other`
    /// to `self` only drops objects and needs no new list.
    pub fn is_narrowing_of(&self, other: &ShardFilter) -> bool {
        other.keeps_everything()
            || (self.method == other.method
                && self
                    .assignments
                    .iter()
                    .all(|a| other.assignments.iter().any(|o| o.covers(self.method, a))))
    }

    /// The KEP-5866 `shardSelector` asking the API server for this filter's ranges; `None` when
    /// nothing is filtered or the method is jump hashing (which a server cannot compute).
    pub fn server_selector(&self) -> Option<String> {
        if self.method != Method::Ranges || self.keeps_everything() {
            return None;
        }
        let ranges: Vec<String> = self
            .assignments
            .iter()
            .filter(|a| a.is_valid())
            .map(|a| {
                let (start, end) = a.range();
                format!("shardRange(object.metadata.uid, '0x{start:016x}', '0x{end:x}')")
            })
            .collect();
        (!ranges.is_empty()).then(|| ranges.join(" || "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_reference_vectors() {
        // The FNV authors' published test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn jump_hash_matches_vectors_computed_from_the_definition() {
        // Computed with an independent implementation of the paper's algorithm (Python,
        // IEEE doubles as in Go's float64).
        for (key, buckets, bucket) in [
            (0u64, 1, 0),
            (1, 2, 0),
            (0xdead_beef, 1000, 285),
            (u64::MAX, 10, 9),
            (12_345_678_901_234_567_890, 3, 0),
        ] {
            assert_eq!(jump_hash(key, buckets), bucket, "jump({key:#x}, {buckets})");
        }
        for (uid, hash, buckets) in [
            ("", 0xcbf2_9ce4_8422_2325, [0, 1, 1, 1, 1, 1, 90]),
            ("a", 0xaf63_dc4c_8601_ec8c, [0, 1, 2, 2, 2, 2, 31]),
            ("foobar", 0x8594_4171_f739_67e8, [0, 1, 1, 1, 5, 5, 33]),
            (
                "0c2b8a5e-6d9a-4c7b-9a8e-1f2d3c4b5a69",
                0x444a_2088_52e2_cea4,
                [0, 1, 2, 2, 2, 2, 51],
            ),
            (
                "6e1e7f3c-2a4b-4d5e-8f9a-0b1c2d3e4f5a",
                0xf561_d0e9_a9cc_03ce,
                [0, 1, 1, 1, 1, 1, 1],
            ),
        ] {
            assert_eq!(fnv1a64(uid.as_bytes()), hash, "{uid:?}");
            let got: Vec<u32> = [1, 2, 3, 5, 7, 10, 100].iter().map(|n| jump_hash(hash, *n)).collect();
            assert_eq!(got, buckets, "{uid:?}");
        }
    }

    #[test]
    fn every_uid_lands_on_exactly_one_shard_in_both_methods() {
        for method in [Method::Jump, Method::Ranges] {
            for total in [1, 2, 3, 5, 16] {
                let filters: Vec<ShardFilter> = (0..total)
                    .map(|ordinal| ShardFilter::new(method, Assignment { ordinal, total }))
                    .collect();
                let mut counts = vec![0usize; total as usize];
                for i in 0..2000 {
                    let uid = format!("{i:08x}-1111-4222-8333-{i:012x}");
                    let owners: Vec<usize> = (0..filters.len()).filter(|s| filters[*s].keeps(&uid)).collect();
                    assert_eq!(owners.len(), 1, "{method:?} {total}: {uid} kept by {owners:?}");
                    counts[owners[0]] += 1;
                }
                let expected = 2000 / total as usize;
                assert!(
                    counts.iter().all(|c| c.abs_diff(expected) < expected / 4 + 30),
                    "{method:?} {total}: unbalanced {counts:?}"
                );
            }
        }
    }

    #[test]
    fn ranges_tile_the_hash_space() {
        let ranges: Vec<(u64, u128)> = (0..3).map(|ordinal| Assignment { ordinal, total: 3 }.range()).collect();
        assert_eq!(ranges[0].0, 0);
        assert_eq!(u128::from(ranges[1].0), ranges[0].1);
        assert_eq!(u128::from(ranges[2].0), ranges[1].1);
        assert_eq!(ranges[2].1, 1u128 << 64);
        let f = ShardFilter::new(Method::Ranges, Assignment { ordinal: 1, total: 2 });
        assert_eq!(
            f.server_selector().as_deref(),
            Some("shardRange(object.metadata.uid, '0x8000000000000000', '0x10000000000000000')")
        );
        let f = ShardFilter::handover(
            Method::Ranges,
            Assignment { ordinal: 0, total: 4 },
            Assignment { ordinal: 0, total: 2 },
        );
        assert_eq!(
            f.server_selector().as_deref(),
            Some(
                "shardRange(object.metadata.uid, '0x0000000000000000', '0x4000000000000000') || \
                 shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000')"
            )
        );
        assert_eq!(
            ShardFilter::new(Method::Jump, Assignment { ordinal: 0, total: 2 }).server_selector(),
            None
        );
        assert_eq!(
            ShardFilter::new(Method::Ranges, Assignment::ALL).server_selector(),
            None
        );
    }

    #[test]
    fn a_handover_keeps_both_assignments_and_narrows_to_the_new_one() {
        let old = Assignment { ordinal: 1, total: 3 };
        let new = Assignment { ordinal: 1, total: 5 };
        let handover = ShardFilter::handover(Method::Jump, new, old);
        let only_new = ShardFilter::new(Method::Jump, new);
        let only_old = ShardFilter::new(Method::Jump, old);
        for i in 0..500 {
            let uid = format!("uid-{i}");
            assert_eq!(handover.keeps(&uid), only_new.keeps(&uid) || only_old.keeps(&uid));
        }
        assert!(only_new.is_narrowing_of(&handover));
        // Growing from 3 to 5 shards only moves objects away from shard 1.
        assert!(handover.is_narrowing_of(&only_old));
        assert!(only_new.is_narrowing_of(&only_old));
        for i in 0..2000 {
            let uid = format!("uid-{i}");
            assert!(!only_new.keeps(&uid) || only_old.keeps(&uid), "{uid}");
        }
        // Shrinking gains objects, and another ordinal shares nothing.
        assert!(!only_old.is_narrowing_of(&only_new));
        let other = ShardFilter::new(Method::Jump, Assignment { ordinal: 2, total: 5 });
        assert!(!other.is_narrowing_of(&only_old));
        let half = ShardFilter::new(Method::Ranges, Assignment { ordinal: 1, total: 2 });
        let quarter = ShardFilter::new(Method::Ranges, Assignment { ordinal: 3, total: 4 });
        assert!(quarter.is_narrowing_of(&half));
        assert!(!half.is_narrowing_of(&quarter));
        assert!(only_new.is_narrowing_of(&ShardFilter::all()));
        assert!(!ShardFilter::all().is_narrowing_of(&only_new));
        assert!(ShardFilter::all().keeps_everything());
    }
}
