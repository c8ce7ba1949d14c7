//! SCIM 2.0 filters (RFC 7644 §3.4.2.2): a hand-written parser and the
//! evaluation of a parsed filter against a resource's attribute values
//! (ADR 0015). Pure: any input parses or is refused with an
//! [`InvalidFilter`], never a panic (nesting and length are bounded).

use std::cmp::Ordering;

/// The longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;
/// The deepest nesting of parentheses and `not` accepted.
pub const MAX_DEPTH: usize = 32;

/// Why a filter was refused (SCIM `scimType: invalidFilter`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter: {0}")]
pub struct InvalidFilter(pub String);

fn bad<T>(why: impl Into<String>) -> Result<T, InvalidFilter> {
    Err(InvalidFilter(why.into()))
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `co` (contains)
    Co,
    /// `sw` (starts with)
    Sw,
    /// `ew` (ends with)
    Ew,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }
}

/// A literal in a filter, or an attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A JSON string.
    Str(String),
    /// `true` / `false`.
    Bool(bool),
    /// A JSON number.
    Num(f64),
    /// `null`.
    Null,
}

/// A parsed filter. Attribute paths are lower-cased, without the schema
/// URN of the core schemas (`userName`, `emails.value`, `meta.lastModified`
/// become `username`, `emails.value`, `meta.lastmodified`).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `path op value`
    Compare(String, CompareOp, Value),
    /// `path pr`
    Present(String),
    /// `a and b`
    And(Box<Filter>, Box<Filter>),
    /// `a or b`
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`
    Not(Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    Str(String),
}

fn tokenize(input: &str) -> Result<Vec<Token>, InvalidFilter> {
    let mut out = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '"' => {
                chars.next();
                out.push(Token::Str(string_literal(&mut chars)?));
            }
            '[' | ']' => return bad(format!("complex attribute filters ([ at {i}) are not supported")),
            _ => {
                let mut w = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '"' | '[' | ']') {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                out.push(Token::Word(w));
            }
        }
    }
    Ok(out)
}

/// The rest of a JSON string after its opening quote.
fn string_literal(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> Result<String, InvalidFilter> {
    let mut s = String::new();
    loop {
        let Some((_, c)) = chars.next() else { return bad("unterminated string") };
        match c {
            '"' => return Ok(s),
            '\\' => {
                let Some((_, e)) = chars.next() else { return bad("unterminated string") };
                s.push(match e {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => {
                        let mut code = 0u32;
                        for _ in 0..4 {
                            let Some((_, h)) = chars.next() else { return bad("short \\u escape") };
                            let Some(d) = h.to_digit(16) else { return bad("bad \\u escape") };
                            code = code * 16 + d;
                        }
                        char::from_u32(code).unwrap_or('\u{fffd}')
                    }
                    _ => return bad("bad escape in string"),
                });
            }
            c if c.is_control() => return bad("control character in string"),
            c => s.push(c),
        }
    }
}

const CORE_URNS: [&str; 3] = [
    "urn:ietf:params:scim:schemas:core:2.0:user:",
    "urn:ietf:params:scim:schemas:core:2.0:group:",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:",
];

/// An attribute path, lower-cased and without a core schema URN.
///
/// # Errors
/// When it is not `ATTRNAME[.subAttr]` (RFC 7644 §3.10).
pub fn attribute_path(raw: &str) -> Result<String, InvalidFilter> {
    let lower = raw.to_ascii_lowercase();
    let path = CORE_URNS.iter().find_map(|u| lower.strip_prefix(u)).unwrap_or(&lower);
    let parts: Vec<&str> = path.split('.').collect();
    let name_ok = |p: &&str| {
        p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
    };
    if parts.len() > 2 || !parts.iter().all(name_ok) {
        return bad(format!("{raw:?} is not an attribute path"));
    }
    Ok(path.to_owned())
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self) -> Option<String> {
        match self.tokens.get(self.pos) {
            Some(Token::Word(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn or(&mut self, depth: usize) -> Result<Filter, InvalidFilter> {
        let mut left = self.and(depth)?;
        while self.peek_word().as_deref() == Some("or") {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and(depth)?));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Filter, InvalidFilter> {
        let mut left = self.unary(depth)?;
        while self.peek_word().as_deref() == Some("and") {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary(depth)?));
        }
        Ok(left)
    }

    fn group(&mut self, depth: usize) -> Result<Filter, InvalidFilter> {
        if depth >= MAX_DEPTH {
            return bad("the filter nests too deeply");
        }
        if self.tokens.get(self.pos) != Some(&Token::Open) {
            return bad("expected (");
        }
        self.pos += 1;
        let inner = self.or(depth + 1)?;
        if self.tokens.get(self.pos) != Some(&Token::Close) {
            return bad("expected )");
        }
        self.pos += 1;
        Ok(inner)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, InvalidFilter> {
        match self.tokens.get(self.pos).cloned() {
            Some(Token::Open) => self.group(depth),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("not") => {
                self.pos += 1;
                Ok(Filter::Not(Box::new(self.group(depth)?)))
            }
            Some(Token::Word(w)) => {
                self.pos += 1;
                let path = attribute_path(&w)?;
                let Some(op) = self.peek_word() else { return bad(format!("expected an operator after {w}")) };
                self.pos += 1;
                if op == "pr" {
                    return Ok(Filter::Present(path));
                }
                let op = CompareOp::parse(&op).ok_or_else(|| InvalidFilter(format!("unknown operator {op}")))?;
                let value = match self.tokens.get(self.pos).cloned() {
                    Some(Token::Str(s)) => Value::Str(s),
                    Some(Token::Word(v)) => literal(&v)?,
                    _ => return bad("expected a value"),
                };
                self.pos += 1;
                Ok(Filter::Compare(path, op, value))
            }
            _ => bad("expected an attribute, ( or not"),
        }
    }
}

fn literal(word: &str) -> Result<Value, InvalidFilter> {
    match word {
        "true" => Ok(Value::Bool(true)),
        "false" => Ok(Value::Bool(false)),
        "null" => Ok(Value::Null),
        w if w.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => w
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Value::Num)
            .ok_or_else(|| InvalidFilter(format!("{w} is not a number"))),
        w => bad(format!("{w} is not a value (strings are quoted)")),
    }
}

/// Parses a filter.
///
/// # Errors
/// [`InvalidFilter`] for anything that is not a filter this server evaluates.
pub fn parse_filter(input: &str) -> Result<Filter, InvalidFilter> {
    if input.len() > MAX_FILTER_LEN {
        return bad("the filter is too long");
    }
    let mut p = Parser { tokens: tokenize(input)?, pos: 0 };
    let f = p.or(0)?;
    if p.pos != p.tokens.len() {
        return bad("unexpected text after the filter");
    }
    Ok(f)
}

/// Attributes compared case-sensitively (RFC 7643 `caseExact`); every
/// other string attribute compares ignoring case.
fn case_exact(path: &str) -> bool {
    matches!(path, "id" | "externalid" | "meta.version")
}

fn compare(path: &str, op: CompareOp, have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Str(h), Value::Str(w)) => {
            let (h, w) = if case_exact(path) { (h.clone(), w.clone()) } else { (h.to_lowercase(), w.to_lowercase()) };
            match op {
                CompareOp::Eq => h == w,
                CompareOp::Ne => h != w,
                CompareOp::Co => h.contains(&w),
                CompareOp::Sw => h.starts_with(&w),
                CompareOp::Ew => h.ends_with(&w),
                CompareOp::Gt => h > w,
                CompareOp::Ge => h >= w,
                CompareOp::Lt => h < w,
                CompareOp::Le => h <= w,
            }
        }
        (Value::Num(h), Value::Num(w)) => {
            let o = h.partial_cmp(w);
            match op {
                CompareOp::Eq => o == Some(Ordering::Equal),
                CompareOp::Ne => o != Some(Ordering::Equal),
                CompareOp::Gt => o == Some(Ordering::Greater),
                CompareOp::Ge => matches!(o, Some(Ordering::Greater | Ordering::Equal)),
                CompareOp::Lt => o == Some(Ordering::Less),
                CompareOp::Le => matches!(o, Some(Ordering::Less | Ordering::Equal)),
                _ => false,
            }
        }
        (Value::Bool(h), Value::Bool(w)) => match op {
            CompareOp::Eq => h == w,
            CompareOp::Ne => h != w,
            _ => false,
        },
        _ => false,
    }
}

impl Filter {
    /// Whether a resource matches. `values(path)` gives the resource's
    /// values of an attribute path (several for a multi-valued attribute,
    /// none when absent or unknown).
    #[must_use]
    pub fn matches(&self, values: &dyn Fn(&str) -> Vec<Value>) -> bool {
        match self {
            Self::And(a, b) => a.matches(values) && b.matches(values),
            Self::Or(a, b) => a.matches(values) || b.matches(values),
            Self::Not(a) => !a.matches(values),
            Self::Present(path) => values(path).iter().any(|v| match v {
                Value::Null => false,
                Value::Str(s) => !s.is_empty(),
                _ => true,
            }),
            Self::Compare(path, op, want) => {
                let have = values(path);
                match (op, want) {
                    (CompareOp::Eq, Value::Null) => have.iter().all(|v| *v == Value::Null),
                    (CompareOp::Ne, Value::Null) => have.iter().any(|v| *v != Value::Null),
                    _ => have.iter().any(|h| compare(path, *op, h, want)),
                }
            }
        }
    }
}

/// A resource's version (`meta.version`, the `ETag`): a weak entity tag
/// from a 64-bit FNV-1a hash of its representation, so any change to what
/// a client sees gives a new version.
#[must_use]
pub fn version(representation: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in representation {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("W/\"{h:016x}\"")
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time (SCIM `dateTime`).
#[must_use]
pub fn date_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests;
