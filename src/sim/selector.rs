//! Label selectors (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`,
//! comma = AND) and field selectors (`f=v`, `f==v`, `f!=v`, comma = AND, `\` escapes).

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
    Gt(i64),
    Lt(i64),
}

#[derive(Debug, Clone, PartialEq)]
struct Requirement {
    key: String,
    op: Op,
}

/// A parsed label selector. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    reqs: Vec<Requirement>,
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')
}

fn is_value_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Lexer<'a> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, t: &str) -> bool {
        self.skip_ws();
        if self.s[self.i..].starts_with(t.as_bytes()) {
            self.i += t.len();
            true
        } else {
            false
        }
    }
    fn word(&mut self, ok: fn(char) -> bool) -> String {
        self.skip_ws();
        let start = self.i;
        while self.i < self.s.len() && ok(self.s[self.i] as char) {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    /// Keyword `in`/`notin` followed by a non-key character.
    fn keyword(&mut self, kw: &str) -> bool {
        self.skip_ws();
        let rest = &self.s[self.i..];
        if rest.starts_with(kw.as_bytes()) && rest.get(kw.len()).is_none_or(|c| !is_key_char(*c as char)) {
            self.i += kw.len();
            true
        } else {
            false
        }
    }
    fn value_set(&mut self) -> Result<Vec<String>, String> {
        if !self.eat("(") {
            return Err("found '', expected: '('".into());
        }
        let mut vals = Vec::new();
        loop {
            vals.push(self.word(is_value_char));
            if self.eat(",") {
                continue;
            }
            if self.eat(")") {
                return Ok(vals);
            }
            return Err("found unexpected token in value set, expected: ',' or ')'".into());
        }
    }
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<LabelSelector, String> {
        let mut lx = Lexer { s: s.as_bytes(), i: 0 };
        let mut reqs = Vec::new();
        if lx.peek().is_none() {
            return Ok(LabelSelector { reqs });
        }
        loop {
            let negated = lx.eat("!");
            let key = lx.word(is_key_char);
            if key.is_empty() {
                return Err(format!(
                    "unable to parse requirement: found '{}', expected: identifier",
                    rest(&lx)
                ));
            }
            let op = if negated {
                Op::NotExists
            } else if lx.eat("==") || lx.eat("=") {
                Op::Eq(lx.word(is_value_char))
            } else if lx.eat("!=") {
                Op::NotEq(lx.word(is_value_char))
            } else if lx.keyword("notin") {
                Op::NotIn(lx.value_set()?)
            } else if lx.keyword("in") {
                Op::In(lx.value_set()?)
            } else if lx.eat(">") {
                let v = lx.word(is_value_char);
                Op::Gt(
                    v.parse()
                        .map_err(|_| format!("unable to parse requirement: invalid number {v:?}"))?,
                )
            } else if lx.eat("<") {
                let v = lx.word(is_value_char);
                Op::Lt(
                    v.parse()
                        .map_err(|_| format!("unable to parse requirement: invalid number {v:?}"))?,
                )
            } else {
                Op::Exists
            };
            reqs.push(Requirement { key, op });
            match lx.peek() {
                None => break,
                Some(b',') => {
                    lx.i += 1;
                }
                Some(_) => {
                    return Err(format!(
                        "unable to parse requirement: found '{}', expected: ','",
                        rest(&lx)
                    ));
                }
            }
        }
        Ok(LabelSelector { reqs })
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        let get = |k: &str| labels.iter().find(|(lk, _)| lk == k).map(|(_, v)| v.as_str());
        self.reqs.iter().all(|r| {
            let v = get(&r.key);
            match &r.op {
                Op::Eq(x) => v == Some(x.as_str()),
                Op::NotEq(x) => v != Some(x.as_str()),
                Op::In(xs) => v.is_some_and(|v| xs.iter().any(|x| x == v)),
                Op::NotIn(xs) => v.is_none_or(|v| !xs.iter().any(|x| x == v)),
                Op::Exists => v.is_some(),
                Op::NotExists => v.is_none(),
                Op::Gt(n) => v.and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v > *n),
                Op::Lt(n) => v.and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v < *n),
            }
        })
    }
}

fn rest(lx: &Lexer<'_>) -> String {
    String::from_utf8_lossy(&lx.s[lx.i..]).into_owned()
}

/// One field requirement: field path, wanted value, negated.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRequirement {
    pub field: String,
    pub value: String,
    pub not: bool,
}

/// A parsed field selector. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector {
    pub reqs: Vec<FieldRequirement>,
}

/// Splits on unescaped `sep`, keeping escapes.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut esc = false;
    for c in s.chars() {
        if esc {
            cur.push('\\');
            cur.push(c);
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if c == sep {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    if esc {
        cur.push('\\');
    }
    parts.push(cur);
    parts
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e @ ('\\' | ',' | '=' | '!')) => out.push(e),
                Some(e) => return Err(format!("invalid field selector: invalid escape sequence: \\{e}")),
                None => return Err("invalid field selector: unterminated escape sequence".into()),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

impl FieldSelector {
    pub fn parse(s: &str) -> Result<FieldSelector, String> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(FieldSelector { reqs });
        }
        for part in split_unescaped(s, ',') {
            let (field, value, not) = if let Some((f, v)) = split_op(&part, "!=") {
                (f, v, true)
            } else if let Some((f, v)) = split_op(&part, "==") {
                (f, v, false)
            } else if let Some((f, v)) = split_op(&part, "=") {
                (f, v, false)
            } else {
                return Err(format!("invalid selector: '{s}'; can't understand '{part}'"));
            };
            reqs.push(FieldRequirement {
                field: unescape(field.trim())?,
                value: unescape(value)?,
                not,
            });
        }
        Ok(FieldSelector { reqs })
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }
}

/// Splits `part` at the first unescaped occurrence of `op`.
fn split_op<'a>(part: &'a str, op: &str) -> Option<(&'a str, &'a str)> {
    let b = part.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i..].starts_with(op.as_bytes()) {
            return Some((&part[..i], &part[i + op.len()..]));
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn label_selector_forms() {
        let labels = l(&[("app", "web"), ("tier", "front"), ("n", "5")]);
        let m = |s: &str| LabelSelector::parse(s).unwrap().matches(&labels);
        assert!(m(""));
        assert!(m("app=web"));
        assert!(m("app==web"));
        assert!(!m("app!=web"));
        assert!(m("missing!=x"));
        assert!(m("app in (web, db)"));
        assert!(!m("app notin (web)"));
        assert!(m("missing notin (web)"));
        assert!(m("app"));
        assert!(m("!missing"));
        assert!(!m("!app"));
        assert!(m("app=web,tier=front"));
        assert!(!m("app=web,tier=back"));
        assert!(m("app in (web),tier notin (back),n>3,n<6"));
        assert!(m("example.com/x notin (a)"));
        assert!(LabelSelector::parse("app in web").is_err());
        assert!(LabelSelector::parse("=x").is_err());
    }

    #[test]
    fn field_selector_forms() {
        let f = FieldSelector::parse("metadata.name=a,spec.nodeName!=n1,status.phase==Running").unwrap();
        assert_eq!(f.reqs.len(), 3);
        assert_eq!(
            f.reqs[1],
            FieldRequirement {
                field: "spec.nodeName".into(),
                value: "n1".into(),
                not: true
            }
        );
        let e = FieldSelector::parse(r"metadata.name=a\,b").unwrap();
        assert_eq!(e.reqs[0].value, "a,b");
        assert!(FieldSelector::parse("metadata.name").is_err());
        assert!(FieldSelector::parse("").unwrap().is_empty());
        // Non-ASCII never panics.
        assert_eq!(
            FieldSelector::parse("metadata.name=grüße,ü!=ö").unwrap().reqs[1].value,
            "ö"
        );
        assert!(LabelSelector::parse("ä=ö").is_err());
        assert!(LabelSelector::parse("a=ö").is_err());
    }
}
