//! Where each object's lines end in each family's run of a packed block, held in 2 bytes an
//! offset instead of 4.
//!
//! Invariant: `end(i, f)` is the absolute end of object `i`'s lines in run `f` (ends grow with
//! `i` within a family). Objects are grouped by [`GROUP`]; a group keeps one 4-byte base per
//! family (the end before its first object) and each offset relative to it as a `u16`. A block
//! where some group's lines in one family reach 64 KiB (an object with huge annotations) keeps
//! plain 4-byte ends instead, so no size is refused.

/// Objects per group sharing one base per family.
const GROUP: usize = 32;

/// The ends of a block's objects, object-major (`i * families + f`) as the packing writes them.
#[derive(Clone, Debug)]
pub enum Offsets {
    /// Absolute ends.
    Wide {
        /// Families per object.
        families: usize,
        /// `ends[i * families + f]`: object `i`'s end in family `f`.
        ends: Box<[u32]>,
    },
    /// Ends relative to their group's base.
    Narrow {
        /// Families per object.
        families: usize,
        /// `bases[g * families + f]`: the end before group `g`'s first object in family `f`.
        bases: Box<[u32]>,
        /// `rel[i * families + f]`: object `i`'s end minus its group's base.
        rel: Box<[u16]>,
    },
}

impl Offsets {
    /// Packs absolute `ends` (object-major, `families` per object), narrow when they fit.
    pub fn pack(ends: Vec<u32>, families: usize) -> Offsets {
        let wide = |ends: Vec<u32>| Offsets::Wide {
            families,
            ends: ends.into_boxed_slice(),
        };
        if families == 0 {
            return wide(ends);
        }
        let objects = ends.len() / families;
        let groups = objects.div_ceil(GROUP);
        let mut bases = Vec::with_capacity(groups * families);
        let mut rel = Vec::with_capacity(ends.len());
        for g in 0..groups {
            let first = g * GROUP;
            for f in 0..families {
                bases.push(if first == 0 {
                    0
                } else {
                    ends[(first - 1) * families + f]
                });
            }
        }
        for (at, end) in ends.iter().enumerate() {
            let (i, f) = (at / families, at % families);
            let base = bases[(i / GROUP) * families + f];
            match end.checked_sub(base).and_then(|r| u16::try_from(r).ok()) {
                Some(r) => rel.push(r),
                None => return wide(ends),
            }
        }
        Offsets::Narrow {
            families,
            bases: bases.into_boxed_slice(),
            rel: rel.into_boxed_slice(),
        }
    }

    /// The end of object `i`'s lines in family `f`; 0 out of range.
    pub fn end(&self, i: usize, f: usize) -> usize {
        match self {
            Offsets::Wide { families, ends } => ends.get(i * families + f).copied().unwrap_or(0) as usize,
            Offsets::Narrow { families, bases, rel } => match rel.get(i * families + f) {
                Some(r) => bases[(i / GROUP) * families + f] as usize + *r as usize,
                None => 0,
            },
        }
    }

    /// The absolute ends again, for a repack that changes some of them.
    pub fn to_wide(&self) -> Vec<u32> {
        match self {
            Offsets::Wide { ends, .. } => ends.to_vec(),
            Offsets::Narrow { families, bases, rel } => rel
                .iter()
                .enumerate()
                .map(|(at, r)| bases[(at / families / GROUP) * families + at % families] + u32::from(*r))
                .collect(),
        }
    }

    /// Heap bytes held.
    pub fn heap_size(&self) -> usize {
        match self {
            Offsets::Wide { ends, .. } => ends.len() * 4,
            Offsets::Narrow { bases, rel, .. } => bases.len() * 4 + rel.len() * 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Absolute ends of `objects` objects whose family `f` lines are `len(i, f)` bytes.
    fn ends(objects: usize, families: usize, len: impl Fn(usize, usize) -> u32) -> Vec<u32> {
        let mut sums = vec![0u32; families];
        let mut out = Vec::new();
        for i in 0..objects {
            for (f, sum) in sums.iter_mut().enumerate() {
                *sum += len(i, f);
                out.push(*sum);
            }
        }
        out
    }

    #[test]
    fn narrow_offsets_give_back_every_end() {
        // 200 objects: groups of 32 with a partial last one; family 1 grows past 64 KiB in
        // total, which only its group bases carry.
        let abs = ends(200, 3, |i, f| [7, 1500, 0][f] + (i as u32 % 5));
        let packed = Offsets::pack(abs.clone(), 3);
        assert!(matches!(packed, Offsets::Narrow { .. }));
        assert!(*abs.iter().max().unwrap() > u16::MAX as u32);
        for i in 0..200 {
            for f in 0..3 {
                assert_eq!(packed.end(i, f), abs[i * 3 + f] as usize, "object {i} family {f}");
            }
        }
        assert_eq!(packed.end(200, 0), 0, "out of range");
        assert_eq!(packed.to_wide(), abs);
        assert_eq!(packed.heap_size(), 7 * 3 * 4 + 200 * 3 * 2);
    }

    #[test]
    fn a_group_past_64_kib_keeps_wide_ends() {
        let abs = ends(40, 2, |i, f| if i == 33 && f == 1 { 70_000 } else { 10 });
        let packed = Offsets::pack(abs.clone(), 2);
        assert!(matches!(packed, Offsets::Wide { .. }));
        assert_eq!(packed.end(33, 1), abs[33 * 2 + 1] as usize);
        assert_eq!(packed.to_wide(), abs);
        assert_eq!(packed.heap_size(), 40 * 2 * 4);
        assert!(matches!(Offsets::pack(Vec::new(), 0), Offsets::Wide { .. }));
    }
}
