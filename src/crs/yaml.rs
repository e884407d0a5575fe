//! The config file as a small YAML tree that keeps what KSM's Go decoder (`gopkg.in/yaml.v3`)
//! sees: every scalar's source text, and where each node and key sits.
//!
//! Go decodes a plain scalar into a `string` field as written: `list: [True, False]` gives
//! `"True"`, `version: 1.10` gives `"1.10"`. A YAML library that infers types would hand us
//! `true` and `1.1` instead, and a StateSet matching `"True"` conditions would silently never
//! match. So non-string scalars carry the exact text they were written with, cut from the input
//! by the parser's byte span. Locations let config errors say which line to fix.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{MessageFormatter, Spanned, UserMessageFormatter};

/// Where a node or key starts in the file (1-based).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    /// Line number.
    pub line: u64,
    /// Column number.
    pub column: u64,
}

/// A YAML node with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The node's content.
    pub value: NodeValue,
    /// Where it starts.
    pub pos: Pos,
}

/// What a node holds.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    /// `~`, `null`, or nothing.
    Null,
    /// Any scalar other than null.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, entries in file order.
    Map(Vec<(Key, Node)>),
}

/// A non-null scalar: what YAML resolved it to, and the text Go's decoder would put into a
/// `string` field.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    /// The string value: as written for plain scalars, unquoted/unescaped for quoted ones.
    pub text: String,
    /// The type YAML resolved it to.
    pub kind: ScalarKind,
}

/// The resolved type of a scalar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScalarKind {
    /// Quoted, block or plain text that is not a bool or number.
    Str,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A float.
    Float(f64),
}

/// A mapping key and its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where it starts.
    pub pos: Pos,
}

impl NodeValue {
    /// What the node is, for "expected X, got Y" messages.
    pub fn describe(&self) -> String {
        match self {
            NodeValue::Null => "null".to_string(),
            NodeValue::Scalar(s) => match s.kind {
                ScalarKind::Str => format!("string {:?}", s.text),
                ScalarKind::Bool(_) => format!("boolean {}", s.text),
                ScalarKind::Int(_) | ScalarKind::Float(_) => format!("number {}", s.text),
            },
            NodeValue::Seq(_) => "a list".to_string(),
            NodeValue::Map(_) => "a mapping".to_string(),
        }
    }
}

/// Parses the first YAML document of `input` into a tree (KSM's decoder reads only the first
/// one too); no document at all is `Null`.
pub fn parse(input: &str) -> Result<Node, ParseError> {
    let documents: Vec<Spanned<Raw>> = serde_saphyr::from_multiple(input).map_err(|e| ParseError {
        // The message alone: the position is reported separately, and the default rendering
        // adds a source snippet over several lines.
        message: UserMessageFormatter.format_message(e.without_snippet()).into_owned(),
        pos: e.location().map(|l| Pos {
            line: l.line(),
            column: l.column(),
        }),
    })?;
    Ok(match documents.into_iter().next() {
        Some(first) => convert(first, input),
        None => Node {
            value: NodeValue::Null,
            pos: Pos { line: 1, column: 1 },
        },
    })
}

/// A YAML syntax or structure error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The parser's message.
    pub message: String,
    /// Where it happened, when known.
    pub pos: Option<Pos>,
}

/// The tree as serde hands it over, before scalars get their source text.
enum Raw {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<String>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(i128::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Int(i128::from(v)))
    }

    fn visit_i128<E>(self, v: i128) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Raw, E> {
        i128::try_from(v)
            .map(Raw::Int)
            .map_err(|_| E::custom("integer out of range"))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }

    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }

    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<Raw>>()?;
            entries.push((key, value));
        }
        Ok(Raw::Map(entries))
    }
}

fn pos_of(loc: &serde_saphyr::Location) -> Pos {
    Pos {
        line: loc.line(),
        column: loc.column(),
    }
}

/// The source text of a plain scalar: the bytes its definition spans. `None` when the parser
/// gave no byte span (then the caller falls back to the resolved value's own spelling).
fn source_text<'a>(loc: &serde_saphyr::Location, input: &'a str) -> Option<&'a str> {
    let span = loc.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    let text = input.get(start..start.checked_add(len)?)?;
    (!text.is_empty()).then_some(text)
}

fn convert(node: Spanned<Raw>, input: &str) -> Node {
    let pos = pos_of(&node.referenced);
    // Aliases: the text lives where the anchored node is defined, not at the `*alias` token.
    let text_at = |fallback: String| {
        source_text(&node.defined, input)
            .map(str::to_string)
            .unwrap_or(fallback)
    };
    let value = match node.value {
        Raw::Null => NodeValue::Null,
        Raw::Str(text) => NodeValue::Scalar(Scalar {
            text,
            kind: ScalarKind::Str,
        }),
        Raw::Bool(b) => NodeValue::Scalar(Scalar {
            text: text_at(b.to_string()),
            kind: ScalarKind::Bool(b),
        }),
        Raw::Int(i) => NodeValue::Scalar(Scalar {
            text: text_at(i.to_string()),
            kind: ScalarKind::Int(i),
        }),
        Raw::Float(f) => NodeValue::Scalar(Scalar {
            text: text_at(f.to_string()),
            kind: ScalarKind::Float(f),
        }),
        Raw::Seq(items) => NodeValue::Seq(items.into_iter().map(|i| convert(i, input)).collect()),
        Raw::Map(entries) => NodeValue::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    (
                        Key {
                            pos: pos_of(&k.referenced),
                            name: k.value,
                        },
                        convert(v, input),
                    )
                })
                .collect(),
        ),
    };
    Node { value, pos }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(node: &Node) -> (&str, ScalarKind) {
        match &node.value {
            NodeValue::Scalar(s) => (&s.text, s.kind),
            other => panic!("not a scalar: {other:?}"),
        }
    }

    fn entries(node: &Node) -> &[(Key, Node)] {
        match &node.value {
            NodeValue::Map(e) => e,
            other => panic!("not a map: {other:?}"),
        }
    }

    fn items(node: &Node) -> &[Node] {
        match &node.value {
            NodeValue::Seq(i) => i,
            other => panic!("not a list: {other:?}"),
        }
    }

    #[test]
    fn plain_scalars_keep_their_source_text() {
        let doc = parse("list: [True, FALSE, yes, 1.10, 0x1F, 007, \"True\", 'a b', ~]\n").unwrap();
        let list = items(&entries(&doc)[0].1);
        let texts: Vec<&str> = list
            .iter()
            .filter(|n| n.value != NodeValue::Null)
            .map(|n| scalar(n).0)
            .collect();
        assert_eq!(texts, ["True", "FALSE", "yes", "1.10", "0x1F", "007", "True", "a b"]);
        assert_eq!(scalar(&list[0]).1, ScalarKind::Bool(true));
        assert_eq!(scalar(&list[3]).1, ScalarKind::Float(1.1));
        assert_eq!(scalar(&list[6]).1, ScalarKind::Str);
        assert_eq!(list[8].value, NodeValue::Null);
    }

    #[test]
    fn block_style_scalars_and_aliases_keep_their_text() {
        let doc = parse("a: &x True\nb: *x\nc:\n  - 2.50\n").unwrap();
        let e = entries(&doc);
        assert_eq!(scalar(&e[0].1).0, "True");
        assert_eq!(scalar(&e[1].1).0, "True");
        assert_eq!(scalar(&items(&e[2].1)[0]).0, "2.50");
    }

    #[test]
    fn positions_are_one_based_lines_and_columns() {
        let doc = parse("spec:\n  resources:\n    - metrics: 3\n").unwrap();
        let spec = &entries(&doc)[0];
        assert_eq!(spec.0.pos, Pos { line: 1, column: 1 });
        let resources = &entries(&spec.1)[0];
        assert_eq!(resources.0.pos, Pos { line: 2, column: 3 });
        let metrics = &entries(&items(&resources.1)[0])[0];
        assert_eq!(metrics.0.pos, Pos { line: 3, column: 7 });
        assert_eq!(metrics.1.pos, Pos { line: 3, column: 16 });
    }

    #[test]
    fn empty_document_is_null_and_syntax_errors_have_a_position() {
        assert_eq!(parse("").unwrap().value, NodeValue::Null);
        assert_eq!(parse("# only a comment\n").unwrap().value, NodeValue::Null);
        let first = parse("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(entries(&first).len(), 1);
        assert_eq!(entries(&first)[0].0.name, "a");
        let err = parse("a: [1, 2\n").unwrap_err();
        assert!(err.pos.is_some(), "{err:?}");
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.message, "duplicate mapping key `a` is not allowed here");
        assert_eq!(err.pos, Some(Pos { line: 2, column: 1 }));
    }
}
