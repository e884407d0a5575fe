//! An object's identity as the store keeps it, sized for hundreds of thousands of objects: the
//! key in one allocation, the UID and resourceVersion inline in the forms every API server
//! writes them (a lower-case UUID, a decimal counter), text only for anything else. Each value
//! reads back exactly as it was given.

use std::cmp::Ordering;
use std::fmt;

/// Where an object sits in output order: (namespace, name), in one allocation.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    /// Namespace then name, unseparated.
    text: Box<str>,
    /// Length of the namespace in `text`.
    split: u32,
}

impl ObjectKey {
    /// Builds a key from metadata fields (a missing namespace is the empty one).
    pub fn new(namespace: Option<&str>, name: Option<&str>) -> Self {
        let (namespace, name) = (namespace.unwrap_or(""), name.unwrap_or(""));
        let mut text = String::with_capacity(namespace.len() + name.len());
        text.push_str(namespace);
        text.push_str(name);
        ObjectKey {
            text: text.into_boxed_str(),
            split: u32::try_from(namespace.len()).unwrap_or(u32::MAX),
        }
    }

    /// Namespace (empty for cluster-scoped objects).
    pub fn namespace(&self) -> &str {
        &self.text[..self.split as usize]
    }

    /// Object name.
    pub fn name(&self) -> &str {
        &self.text[self.split as usize..]
    }

    /// Bytes of its string on the heap.
    pub fn heap_size(&self) -> usize {
        self.text.len()
    }
}

impl Ord for ObjectKey {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.namespace(), self.name()).cmp(&(other.namespace(), other.name()))
    }
}

impl PartialOrd for ObjectKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace(), self.name())
    }
}

/// `metadata.uid`: 16 bytes for a canonical lower-case UUID, else its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Uid {
    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lower-case hex.
    Uuid([u8; 16]),
    /// Anything else (tests, unusual servers), kept as given.
    Text(Box<str>),
}

/// Offsets of the hyphens in a canonical UUID.
const HYPHENS: [usize; 4] = [8, 13, 18, 23];

impl Uid {
    /// The compact form of `uid`.
    pub fn new(uid: &str) -> Uid {
        parse_uuid(uid).map_or_else(|| Uid::Text(uid.into()), Uid::Uuid)
    }

    /// Whether this is `uid`.
    pub fn is(&self, uid: &str) -> bool {
        match self {
            Uid::Uuid(bytes) => parse_uuid(uid).as_ref() == Some(bytes),
            Uid::Text(text) => text.as_ref() == uid,
        }
    }

    /// Calls `f` with the UID's text (formatted on the stack for a UUID).
    pub fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self {
            Uid::Text(text) => f(text),
            Uid::Uuid(bytes) => {
                let mut out = [0u8; 36];
                let mut hex = bytes.iter().flat_map(|b| [b >> 4, b & 0xf]);
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot = if HYPHENS.contains(&i) {
                        b'-'
                    } else {
                        b"0123456789abcdef"[hex.next().unwrap_or(0) as usize]
                    };
                }
                f(std::str::from_utf8(&out).unwrap_or_default())
            }
        }
    }

    /// Bytes on the heap.
    pub fn heap_size(&self) -> usize {
        match self {
            Uid::Uuid(_) => 0,
            Uid::Text(text) => text.len(),
        }
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_str(|s| f.write_str(s))
    }
}

/// The 16 bytes of a canonical lower-case UUID (upper case or other shapes are not canonical:
/// they stay text, so they read back as given).
fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let raw = text.as_bytes();
    if raw.len() != 36 || HYPHENS.iter().any(|&i| raw[i] != b'-') {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut digits = raw
        .iter()
        .enumerate()
        .filter(|(i, _)| !HYPHENS.contains(i))
        .map(|(_, c)| *c);
    let mut out = [0u8; 16];
    for byte in &mut out {
        *byte = (nibble(digits.next()?)? << 4) | nibble(digits.next()?)?;
    }
    Some(out)
}

/// `metadata.resourceVersion`: a number when it is a canonical decimal (as on every
/// etcd-backed server), else its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Version {
    /// Decimal without leading zeros.
    Number(u64),
    /// Anything else, kept as given.
    Text(Box<str>),
}

impl Version {
    /// The compact form of `rv`.
    pub fn new(rv: &str) -> Version {
        match rv.parse::<u64>() {
            Ok(n) if n.to_string().len() == rv.len() && !rv.starts_with('+') => Version::Number(n),
            _ => Version::Text(rv.into()),
        }
    }

    /// Whether an update at `new` replaces this one: numerically newer when both are decimal,
    /// else any different version.
    pub fn is_older_than(&self, new: &str) -> bool {
        match (self, new.parse::<u64>()) {
            (Version::Number(held), Ok(n)) => n > *held,
            (Version::Text(held), Ok(n)) => held.parse::<u64>().map_or(true, |h| n > h),
            _ => !self.is(new),
        }
    }

    /// Whether this is `rv`.
    pub fn is(&self, rv: &str) -> bool {
        match self {
            Version::Number(n) => Version::new(rv) == Version::Number(*n),
            Version::Text(text) => text.as_ref() == rv,
        }
    }

    /// Bytes on the heap.
    pub fn heap_size(&self) -> usize {
        match self {
            Version::Number(_) => 0,
            Version::Text(text) => text.len(),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Number(n) => write!(f, "{n}"),
            Version::Text(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_by_namespace_then_name_whatever_their_lengths() {
        let key = |ns: &str, name: &str| ObjectKey::new(Some(ns), Some(name));
        // As one string "ab"+"c" < "a"+"bd" would compare "abc" < "abd"; as pairs "ab" > "a".
        assert!(key("ab", "c") > key("a", "bd"));
        assert!(key("", "z") < key("a", "a"));
        assert!(key("a", "a") < key("a", "b"));
        assert_ne!(key("ab", "c"), key("a", "bc"));
        let k = key("shop", "web-0");
        assert_eq!((k.namespace(), k.name(), k.heap_size()), ("shop", "web-0", 9));
        assert_eq!(ObjectKey::new(None, Some("node-1")).namespace(), "");
    }

    #[test]
    fn uids_read_back_as_given() {
        for uid in [
            "5b0e7c1a-3f52-4d8e-9a41-0c6f2d9b7e13",
            "5B0E7C1A-3F52-4D8E-9A41-0C6F2D9B7E13",
            "00000000-0000-0000-0000-000000000000",
            "u1",
            "",
            "5b0e7c1a-3f52-4d8e-9a41-0c6f2d9b7e1",
            "5b0e7c1a+3f52-4d8e-9a41-0c6f2d9b7e13",
        ] {
            let compact = Uid::new(uid);
            assert_eq!(compact.to_string(), uid);
            assert!(compact.is(uid), "{uid}");
            assert!(!compact.is("other"), "{uid}");
        }
        assert!(matches!(Uid::new("5b0e7c1a-3f52-4d8e-9a41-0c6f2d9b7e13"), Uid::Uuid(_)));
        assert!(matches!(Uid::new("5B0E7C1A-3F52-4D8E-9A41-0C6F2D9B7E13"), Uid::Text(_)));
        assert!(!Uid::new("5b0e7c1a-3f52-4d8e-9a41-0c6f2d9b7e13").is("5B0E7C1A-3F52-4D8E-9A41-0C6F2D9B7E13"));
    }

    #[test]
    fn versions_read_back_as_given_and_compare_numerically() {
        for rv in ["48213377", "0", "007", "+5", "", "abc", "18446744073709551616"] {
            assert_eq!(Version::new(rv).to_string(), rv);
            assert!(Version::new(rv).is(rv), "{rv}");
        }
        assert!(matches!(Version::new("48213377"), Version::Number(48213377)));
        assert!(matches!(Version::new("007"), Version::Text(_)));
        assert!(!Version::new("7").is("007"));
        assert!(Version::new("9").is_older_than("10"), "numeric, not textual");
        assert!(!Version::new("10").is_older_than("9"));
        assert!(!Version::new("10").is_older_than("10"));
        assert!(Version::new("abc").is_older_than("abd"), "opaque versions: any change");
        assert!(!Version::new("abc").is_older_than("abc"));
        assert!(Version::new("007").is_older_than("8"));
    }
}
