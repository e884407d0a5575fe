//! Paths into an object, exactly as KSM's `compilePath` builds them and `valuePath.Get` walks
//! them.
//!
//! A path is a list of segments, each applied to what the previous one found:
//! - `"[key=value]"`: in a list, the first element that is a map whose `key` equals `value`,
//!   compared as a string, else as a number (both sides through `toFloat64`, so `[status=true]`
//!   matches `"True"` and `[size=1Gi]` matches `1073741824`), else as a bool (`strconv.ParseBool`
//!   of `value`). A bracketed segment without `=` is a config error.
//! - anything else, in a map: a segment with exactly one `=` (`name=foo`) is a filter that yields
//!   the value of `name` when it is the string `foo`; otherwise, and for every other segment, the
//!   map entry with that exact key. So `"0"`, `"*"`, `""` and `"a=b=c"` are plain keys in a map.
//! - anything else, in a list: a decimal index (`strconv.Atoi`: optional sign, digits), negative
//!   from the end. Out of range is nothing (KSM v2.20, #3066).
//!
//! Anything else (a segment applied to a scalar, a missing key, a non-numeric index) is nothing,
//! and so is a JSON `null`: Go's `nil`.

use serde_json::Value;

use super::value::to_float64;

/// A compiled path.
#[derive(Clone, Debug)]
pub struct ValuePath {
    segments: Vec<String>,
    ops: Vec<Op>,
}

/// Paths are equal when written the same way.
impl PartialEq for ValuePath {
    fn eq(&self, other: &Self) -> bool {
        self.segments == other.segments
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// A plain segment; `filter` is its `key=value` split when it has exactly one `=`.
    Key {
        part: String,
        filter: Option<(String, String)>,
    },
    /// `[key=value]`, with `value` pre-parsed the way the comparison needs it.
    Lookup {
        key: String,
        value: String,
        number: Option<f64>,
        boolean: Option<bool>,
    },
}

/// A segment `compilePath` rejects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathError {
    /// Index of the segment in the path.
    pub index: usize,
    /// The segment as written.
    pub segment: String,
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}]: invalid list lookup {:?} (expected \"[key=value]\")",
            self.index, self.segment
        )
    }
}

impl ValuePath {
    /// Compiles a path; the only invalid segments are bracketed ones without `=`.
    pub fn compile(segments: &[String]) -> Result<ValuePath, PathError> {
        let mut ops = Vec::with_capacity(segments.len());
        for (index, part) in segments.iter().enumerate() {
            if part.starts_with('[') && part.ends_with(']') {
                let inner = part.get(1..part.len() - 1);
                let Some((key, value)) = inner.and_then(|i| i.split_once('=')) else {
                    return Err(PathError {
                        index,
                        segment: part.clone(),
                    });
                };
                let as_string = Value::String(value.to_string());
                ops.push(Op::Lookup {
                    key: key.to_string(),
                    value: value.to_string(),
                    number: to_float64(Some(&as_string), false).ok(),
                    boolean: go_parse_bool(value),
                });
            } else {
                let mut pieces = part.split('=');
                let filter = match (pieces.next(), pieces.next(), pieces.next()) {
                    (Some(k), Some(v), None) => Some((k.to_string(), v.to_string())),
                    _ => None,
                };
                ops.push(Op::Key {
                    part: part.clone(),
                    filter,
                });
            }
        }
        Ok(ValuePath {
            segments: segments.to_vec(),
            ops,
        })
    }

    /// The empty path: resolves to its input.
    pub fn empty() -> ValuePath {
        ValuePath {
            segments: Vec::new(),
            ops: Vec::new(),
        }
    }

    /// The segments as written.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// Whether the path has no segments (it then resolves to its input).
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Walks the path from `obj`. `None` is Go's `nil`.
    pub fn get<'a>(&self, obj: Option<&'a Value>) -> Option<&'a Value> {
        let mut cur = non_null(obj);
        for op in &self.ops {
            cur = apply(op, cur?);
        }
        non_null(cur)
    }
}

/// KSM's `valuePath.String()`: `[a,b,c]`, used in log messages and in the gauge's map shortcut.
impl std::fmt::Display for ValuePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}]", self.segments.join(","))
    }
}

fn non_null(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

fn apply<'a>(op: &Op, obj: &'a Value) -> Option<&'a Value> {
    match (op, obj) {
        (Op::Key { part, filter }, Value::Object(map)) => {
            if let Some((key, want)) = filter
                && let Some(Value::String(found)) = map.get(key)
                && found == want
            {
                return map.get(key);
            }
            map.get(part)
        }
        (Op::Key { part, .. }, Value::Array(items)) => {
            let index: i64 = part.parse().ok()?;
            let len = i64::try_from(items.len()).ok()?;
            let index = if index < 0 { index + len } else { index };
            items.get(usize::try_from(index).ok()?)
        }
        (
            Op::Lookup {
                key,
                value,
                number,
                boolean,
            },
            Value::Array(items),
        ) => items.iter().find(|item| {
            let Value::Object(map) = item else {
                return false;
            };
            let Some(candidate) = map.get(key) else {
                return false;
            };
            if candidate.as_str() == Some(value.as_str()) {
                return true;
            }
            if let Some(number) = number
                && to_float64(Some(candidate), false).is_ok_and(|c| c == *number)
            {
                return true;
            }
            matches!((boolean, candidate), (Some(b), Value::Bool(c)) if b == c)
        }),
        _ => None,
    }
}

/// Go's `strconv.ParseBool`.
fn go_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn path(segments: &[&str]) -> ValuePath {
        ValuePath::compile(&segments.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    /// The object of KSM's registry_factory_test.go, with values of our own.
    fn object() -> Value {
        json!({
            "metadata": {
                "name": "disk-1",
                "labels": {"tier": "gold"},
                "annotations": {"owner": "team-a"},
                "0": "zero key",
                "a=b=c": "two equals",
                "*": "star key",
            },
            "spec": {
                "replicas": 4,
                "order": [
                    {"id": 1, "value": true, "size": "1Gi"},
                    {"id": 3, "value": false, "size": "512Mi"},
                ],
                "names": ["first", "second", "third"],
            },
            "status": {
                "conditions": [
                    {"type": "Synced", "status": "False"},
                    {"type": "Ready", "status": "True", "when": "2024-01-02T03:04:05Z"},
                ],
                "empty": null,
            },
        })
    }

    #[test]
    fn keys_indexes_and_lookups() {
        let obj = object();
        let cases: &[(&[&str], Value)] = &[
            (&["spec", "replicas"], json!(4)),
            (&["spec", "order", "0", "value"], json!(true)),
            (&["spec", "order", "-1", "id"], json!(3)),
            (&["spec", "order", "+1", "id"], json!(3)),
            (&["spec", "names", "-3"], json!("first")),
            (&["status", "conditions", "[type=Ready]", "status"], json!("True")),
            // Numbers compare as numbers, bools as bools.
            (&["spec", "order", "[id=3]", "value"], json!(false)),
            (&["spec", "order", "[id=3.0]", "value"], json!(false)),
            (&["spec", "order", "[value=false]", "id"], json!(3)),
            (&["spec", "order", "[value=0]", "id"], json!(3)),
            // Both sides go through toFloat64: "True" is 1, "1Gi" is 1073741824.
            (&["status", "conditions", "[status=true]", "type"], json!("Ready")),
            (&["spec", "order", "[size=1073741824]", "id"], json!(1)),
            (&["spec", "order", "[size=0.5Gi]", "id"], json!(3)),
            // A timestamp matches its unix seconds.
            (&["status", "conditions", "[when=1704164645]", "type"], json!("Ready")),
            // `name=value` in a map: the value when it matches.
            (&["metadata", "name=disk-1"], json!("disk-1")),
            (&["metadata", "labels", "tier=gold"], json!("gold")),
            // Plain keys that look special.
            (&["metadata", "0"], json!("zero key")),
            (&["metadata", "a=b=c"], json!("two equals")),
            (&["metadata", "*"], json!("star key")),
            (&[], obj.clone()),
        ];
        for (segments, want) in cases {
            assert_eq!(path(segments).get(Some(&obj)), Some(want), "{segments:?}");
        }
    }

    #[test]
    fn what_resolves_to_nothing() {
        let obj = object();
        let cases: &[&[&str]] = &[
            &["missing"],
            &["spec", "replicas", "deeper"],
            &["spec", "order", "2"],
            &["spec", "order", "-3"],
            &["spec", "order", "first"],
            &["spec", "order", "1_0"],
            &["spec", "order", " 1"],
            &["spec", "order", "99999999999999999999"],
            &["status", "conditions", "[type=Missing]"],
            &["status", "conditions", "[nokey=Ready]"],
            &["status", "empty"],
            &["status", "empty", "x"],
            // A filter that does not match falls back to the literal key, which is absent.
            &["metadata", "name=other"],
            // A list lookup on a map, an index on a map key that is not there.
            &["metadata", "[name=disk-1]"],
            &["spec", "1"],
        ];
        for segments in cases {
            assert_eq!(path(segments).get(Some(&obj)), None, "{segments:?}");
        }
        assert_eq!(path(&["spec"]).get(None), None);
        assert_eq!(path(&[]).get(Some(&Value::Null)), None);
    }

    #[test]
    fn lookups_skip_non_map_elements_and_take_the_first_match() {
        let obj = json!({"items": ["plain", 3, {"k": "v", "n": 1}, {"k": "v", "n": 2}]});
        assert_eq!(path(&["items", "[k=v]", "n"]).get(Some(&obj)), Some(&json!(1)));
    }

    #[test]
    fn bracketed_segments_need_an_equals_sign() {
        let segs = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for bad in ["[Ready]", "[]", "[name]"] {
            assert_eq!(
                ValuePath::compile(&segs(&["status", bad])),
                Err(PathError {
                    index: 1,
                    segment: bad.to_string()
                }),
                "{bad}"
            );
        }
        // "[" and "]" alone are not bracketed: plain keys.
        let lookup = ValuePath::compile(&segs(&["[=]", "[a=b=c]", "]", "["])).unwrap();
        assert_eq!(lookup.to_string(), "[[=],[a=b=c],],[]");
        assert_eq!(path(&["["]).get(Some(&json!({"[": 1}))), Some(&json!(1)));
        let obj = json!([{"": ""}]);
        assert_eq!(path(&["[=]"]).get(Some(&obj)), Some(&json!({"": ""})));
    }

    #[test]
    fn display_is_go_valuepath_string() {
        assert_eq!(
            path(&["status", "conditions", "[type=Ready]"]).to_string(),
            "[status,conditions,[type=Ready]]"
        );
        assert_eq!(path(&[]).to_string(), "[]");
    }
}
