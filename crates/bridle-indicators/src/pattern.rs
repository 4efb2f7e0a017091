//! The STIX 2.1 patterning subset bridle understands: a lexer, a recursive-descent parser and
//! the conversion to disjunctive normal form.
//!
//! # Why a hand-written recursive descent parser
//!
//! The grammar is small (two levels of `AND`/`OR` with parentheses, one comparison form), the
//! input is hostile (indicator files come from anywhere), and the errors must say *where* and
//! *why* a pattern cannot be used, so the investigator can fix the feed. A parser generator or
//! a combinator library would add a dependency and opaque errors for ~300 lines of code; a
//! hand-written parser lets every limit (length, nesting, number of comparisons, DNF size) be a
//! named constant checked before use, and never recurses deeper than [`MAX_NESTING`].
//!
//! # What is accepted
//!
//! ```text
//! pattern      := obs_or EOF
//! obs_or       := obs_and ( "OR" obs_and )*
//! obs_and      := obs_unit ( "AND" obs_unit )*
//! obs_unit     := "[" cmp_or "]" | "(" obs_or ")"
//! cmp_or       := cmp_and ( "OR" cmp_and )*
//! cmp_and      := cmp_unit ( "AND" cmp_unit )*
//! cmp_unit     := "(" cmp_or ")" | object_path "=" string
//! object_path  := word ":" component ( "." component )*
//! component    := word | string            (file:hashes.'SHA-256', file:hashes.SHA256)
//! string       := "'" ( [^'\\] | "\\'" | "\\\\" )* "'"
//! ```
//!
//! Keywords (`AND`, `OR`) are matched case-insensitively. Everything else STIX allows but
//! bridle cannot evaluate faithfully (`!=`, `<`, `LIKE`, `MATCHES`, `IN`, `ISSUBSET`, `NOT`,
//! `FOLLOWEDBY`, the `WITHIN`/`REPEATS`/`START`/`STOP` qualifiers, list indexes, typed
//! literals such as `t'…'` or `h'…'`, numbers) is a [`PatternErrorKind::Unsupported`] error:
//! the indicator is reported and skipped, never half-used.
//!
//! Observation expressions (`[…] AND […]`) and comparison expressions (`[… AND …]`) are
//! folded into the same boolean tree: bridle evaluates a conjunction over the observables of
//! one record (see `docs/matching.md`).

use std::borrow::Cow;
use std::fmt;

/// Longest pattern text accepted, in bytes. Real patterns are under 1 KiB.
pub const MAX_PATTERN_BYTES: usize = 64 * 1024;
/// Deepest nesting of brackets and parentheses.
pub const MAX_NESTING: usize = 32;
/// Most comparisons in one pattern.
pub const MAX_COMPARISONS: usize = 256;
/// Most conjunctive clauses a pattern may expand to in disjunctive normal form.
pub const MAX_DNF_CLAUSES: usize = 64;
/// Most comparisons in one conjunctive clause.
pub const MAX_CLAUSE_COMPARISONS: usize = 16;

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The boolean expression over comparisons.
    pub expr: Expr,
}

/// A boolean expression over comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// One `object:path = 'value'` comparison.
    Comparison(Comparison),
    /// All of the sub-expressions (two or more).
    And(Vec<Expr>),
    /// Any of the sub-expressions (two or more).
    Or(Vec<Expr>),
}

/// One `object-type:path.to.property = 'value'` comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The object type before the colon (`domain-name`, `file`, `app`...).
    pub object_type: String,
    /// The property path after the colon, one entry per component, quotes removed
    /// (`file:hashes.'SHA-256'` gives `["hashes", "SHA-256"]`).
    pub path: Vec<String>,
    /// The compared string, escapes resolved.
    pub value: String,
}

impl Comparison {
    /// The object path as text (`file:hashes.'SHA-256'`), quoting components that are not
    /// plain words.
    pub fn key(&self) -> String {
        let mut out = self.object_type.clone();
        out.push(':');
        for (i, part) in self.path.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            if !part.is_empty() && part.chars().all(is_word_char) {
                out.push_str(part);
            } else {
                out.push_str(&quote(part));
            }
        }
        out
    }
}

/// Why a pattern cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternErrorKind {
    /// The text is not a STIX pattern.
    Syntax,
    /// Valid STIX that bridle does not evaluate (an operator, qualifier or value type).
    Unsupported,
    /// Over one of the size limits (length, nesting, comparisons, DNF clauses).
    TooComplex,
}

impl fmt::Display for PatternErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PatternErrorKind::Syntax => "syntax error",
            PatternErrorKind::Unsupported => "unsupported",
            PatternErrorKind::TooComplex => "too complex",
        })
    }
}

/// A pattern that cannot be used, with the byte offset where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}: {message}")]
pub struct PatternError {
    /// What sort of problem.
    pub kind: PatternErrorKind,
    /// Byte offset in the pattern text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl PatternError {
    fn new(kind: PatternErrorKind, offset: usize, message: impl Into<String>) -> Self {
        PatternError {
            kind,
            offset,
            message: message.into(),
        }
    }
}

/// Quote a string as a STIX string literal: `'` and `\` are escaped with a backslash.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Parse a STIX pattern.
pub fn parse(text: &str) -> Result<Pattern, PatternError> {
    if text.len() > MAX_PATTERN_BYTES {
        return Err(PatternError::new(
            PatternErrorKind::TooComplex,
            0,
            format!("pattern longer than {MAX_PATTERN_BYTES} bytes"),
        ));
    }
    let tokens = lex(text)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
        comparisons: 0,
        end: text.len(),
    };
    let expr = parser.obs_or()?;
    match parser.peek() {
        Tok::End => Ok(Pattern { expr }),
        other => Err(parser.syntax(format!(
            "unexpected {} after the expression",
            other.describe()
        ))),
    }
}

impl Pattern {
    /// Expand to disjunctive normal form: a list of clauses, each a list of comparisons that
    /// must all hold. Fails when the expansion exceeds `max_clauses` clauses or a clause
    /// exceeds [`MAX_CLAUSE_COMPARISONS`] comparisons.
    pub fn to_dnf(&self, max_clauses: usize) -> Result<Vec<Vec<&Comparison>>, PatternError> {
        dnf(&self.expr, max_clauses)
    }

    /// Every comparison in the pattern, in text order.
    pub fn comparisons(&self) -> Vec<&Comparison> {
        let mut out = Vec::new();
        collect(&self.expr, &mut out);
        out
    }
}

fn collect<'a>(expr: &'a Expr, out: &mut Vec<&'a Comparison>) {
    match expr {
        Expr::Comparison(c) => out.push(c),
        Expr::And(items) | Expr::Or(items) => {
            for item in items {
                collect(item, out);
            }
        }
    }
}

fn too_many_clauses(max: usize) -> PatternError {
    PatternError::new(
        PatternErrorKind::TooComplex,
        0,
        format!("pattern expands to more than {max} clauses in disjunctive normal form"),
    )
}

// Recursion depth is bounded by the parser's nesting limit: an `And`/`Or` node only nests
// inside another through a bracket or parenthesis.
fn dnf(expr: &Expr, max: usize) -> Result<Vec<Vec<&Comparison>>, PatternError> {
    match expr {
        Expr::Comparison(c) => Ok(vec![vec![c]]),
        Expr::Or(items) => {
            let mut out = Vec::new();
            for item in items {
                let clauses = dnf(item, max)?;
                if out.len().saturating_add(clauses.len()) > max {
                    return Err(too_many_clauses(max));
                }
                out.extend(clauses);
            }
            Ok(out)
        }
        Expr::And(items) => {
            let mut acc: Vec<Vec<&Comparison>> = vec![Vec::new()];
            for item in items {
                let clauses = dnf(item, max)?;
                let n = acc
                    .len()
                    .checked_mul(clauses.len())
                    .filter(|n| *n <= max)
                    .ok_or_else(|| too_many_clauses(max))?;
                let mut next = Vec::with_capacity(n);
                for left in &acc {
                    for right in &clauses {
                        if left.len().saturating_add(right.len()) > MAX_CLAUSE_COMPARISONS {
                            return Err(PatternError::new(
                                PatternErrorKind::TooComplex,
                                0,
                                format!(
                                    "a clause needs more than {MAX_CLAUSE_COMPARISONS} comparisons"
                                ),
                            ));
                        }
                        let mut clause = left.clone();
                        clause.extend(right.iter().copied());
                        next.push(clause);
                    }
                }
                acc = next;
            }
            Ok(acc)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Lexer

/// A token, borrowing from the pattern's text (a string with escapes is the one copy).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok<'a> {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Colon,
    Dot,
    Comma,
    Star,
    Op(&'static str),
    Word(&'a str),
    Str(Cow<'a, str>),
    End,
}

impl Tok<'_> {
    fn describe(&self) -> String {
        match self {
            Tok::LBracket => "'['".into(),
            Tok::RBracket => "']'".into(),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Colon => "':'".into(),
            Tok::Dot => "'.'".into(),
            Tok::Comma => "','".into(),
            Tok::Star => "'*'".into(),
            Tok::Op(op) => format!("operator '{op}'"),
            Tok::Word(w) => format!("word '{w}'"),
            Tok::Str(_) => "a string".into(),
            Tok::End => "the end of the pattern".into(),
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn lex(text: &str) -> Result<Vec<(Tok<'_>, usize)>, PatternError> {
    // `[object-type:property = 'value']`, the common case, is seven tokens.
    let mut out = Vec::with_capacity(8);
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let tok = match c {
            c if c.is_whitespace() => continue,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ':' => Tok::Colon,
            '.' => Tok::Dot,
            ',' => Tok::Comma,
            '*' => Tok::Star,
            '=' => {
                // `==` is not STIX, but is a common slip; reject it as syntax.
                if chars.peek().map(|(_, c)| *c) == Some('=') {
                    return Err(PatternError::new(
                        PatternErrorKind::Syntax,
                        at,
                        "'==' is not a STIX operator (use '=')",
                    ));
                }
                Tok::Op("=")
            }
            '!' => match chars.next() {
                Some((_, '=')) => Tok::Op("!="),
                _ => {
                    return Err(PatternError::new(
                        PatternErrorKind::Syntax,
                        at,
                        "'!' must be followed by '='",
                    ));
                }
            },
            '<' | '>' => {
                if chars.peek().map(|(_, c)| *c) == Some('=') {
                    chars.next();
                    Tok::Op(if c == '<' { "<=" } else { ">=" })
                } else {
                    Tok::Op(if c == '<' { "<" } else { ">" })
                }
            }
            '\'' => {
                // Borrowed from the text until the first escape, copied from there on.
                let start = at.saturating_add(1);
                let mut value: Option<String> = None;
                let mut closed = false;
                while let Some((esc_at, c)) = chars.next() {
                    match c {
                        '\'' => {
                            closed = true;
                            let literal = match value {
                                Some(v) => Cow::Owned(v),
                                None => Cow::Borrowed(text.get(start..esc_at).unwrap_or_default()),
                            };
                            out.push((Tok::Str(literal), at));
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, e @ ('\'' | '\\'))) => value
                                .get_or_insert_with(|| {
                                    text.get(start..esc_at).unwrap_or_default().to_owned()
                                })
                                .push(e),
                            Some((_, other)) => {
                                return Err(PatternError::new(
                                    PatternErrorKind::Syntax,
                                    esc_at,
                                    format!(
                                        "invalid escape '\\{other}' in string (only \\' and \\\\ are allowed)"
                                    ),
                                ));
                            }
                            None => break,
                        },
                        c => {
                            if let Some(v) = value.as_mut() {
                                v.push(c);
                            }
                        }
                    }
                }
                if !closed {
                    return Err(PatternError::new(
                        PatternErrorKind::Syntax,
                        at,
                        "unterminated string",
                    ));
                }
                continue;
            }
            c if is_word_char(c) => {
                let mut end = at.saturating_add(c.len_utf8());
                while let Some((i, c)) = chars.peek() {
                    if !is_word_char(*c) {
                        break;
                    }
                    end = i.saturating_add(c.len_utf8());
                    chars.next();
                }
                Tok::Word(text.get(at..end).unwrap_or_default())
            }
            other => {
                return Err(PatternError::new(
                    PatternErrorKind::Syntax,
                    at,
                    format!("unexpected character {other:?}"),
                ));
            }
        };
        out.push((tok, at));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Parser

struct Parser<'a> {
    tokens: Vec<(Tok<'a>, usize)>,
    pos: usize,
    depth: usize,
    comparisons: usize,
    end: usize,
}

const UNSUPPORTED_OPERATORS: [&str; 6] = ["LIKE", "MATCHES", "IN", "ISSUBSET", "ISSUPERSET", "NOT"];
const QUALIFIERS: [&str; 4] = ["WITHIN", "REPEATS", "START", "STOP"];

impl<'a> Parser<'a> {
    fn peek(&self) -> &Tok<'a> {
        self.tokens.get(self.pos).map_or(&Tok::End, |(t, _)| t)
    }

    fn peek_at(&self, ahead: usize) -> &Tok<'a> {
        self.pos
            .checked_add(ahead)
            .and_then(|i| self.tokens.get(i))
            .map_or(&Tok::End, |(t, _)| t)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(_, at)| *at)
    }

    /// Moves past the current token, handing it over (the parser never looks back).
    fn bump(&mut self) -> Tok<'a> {
        let tok = self
            .tokens
            .get_mut(self.pos)
            .map_or(Tok::End, |(t, _)| std::mem::replace(t, Tok::End));
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        tok
    }

    fn is_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    fn syntax(&self, message: impl Into<String>) -> PatternError {
        PatternError::new(PatternErrorKind::Syntax, self.offset(), message)
    }

    fn unsupported(&self, message: impl Into<String>) -> PatternError {
        PatternError::new(PatternErrorKind::Unsupported, self.offset(), message)
    }

    fn expect(&mut self, want: &Tok<'_>) -> Result<(), PatternError> {
        if self.peek() == want {
            self.bump();
            Ok(())
        } else {
            Err(self.syntax(format!(
                "expected {}, found {}",
                want.describe(),
                self.peek().describe()
            )))
        }
    }

    fn enter(&mut self) -> Result<(), PatternError> {
        if self.depth >= MAX_NESTING {
            return Err(PatternError::new(
                PatternErrorKind::TooComplex,
                self.offset(),
                format!("nesting deeper than {MAX_NESTING}"),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn obs_or(&mut self) -> Result<Expr, PatternError> {
        let first = self.obs_and()?;
        if !self.is_keyword("OR") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.is_keyword("OR") {
            self.bump();
            items.push(self.obs_and()?);
        }
        Ok(Expr::Or(items))
    }

    fn obs_and(&mut self) -> Result<Expr, PatternError> {
        let first = self.obs_unit()?;
        if !self.is_keyword("AND") && !self.is_keyword("FOLLOWEDBY") {
            return Ok(first);
        }
        let mut items = vec![first];
        loop {
            if self.is_keyword("AND") {
                self.bump();
                items.push(self.obs_unit()?);
            } else if self.is_keyword("FOLLOWEDBY") {
                return Err(self.unsupported("FOLLOWEDBY (temporal ordering) is not supported"));
            } else {
                break;
            }
        }
        Ok(Expr::And(items))
    }

    fn obs_unit(&mut self) -> Result<Expr, PatternError> {
        self.enter()?;
        let expr = match self.peek() {
            Tok::LBracket => {
                self.bump();
                let e = self.cmp_or()?;
                self.expect(&Tok::RBracket)?;
                e
            }
            Tok::LParen => {
                self.bump();
                let e = self.obs_or()?;
                self.expect(&Tok::RParen)?;
                e
            }
            other => {
                return Err(self.syntax(format!(
                    "expected '[' or '(' to start an observation, found {}",
                    other.describe()
                )));
            }
        };
        self.leave();
        if let Some(q) = QUALIFIERS.iter().find(|q| self.is_keyword(q)) {
            return Err(self.unsupported(format!("qualifier {q} is not supported")));
        }
        Ok(expr)
    }

    fn cmp_or(&mut self) -> Result<Expr, PatternError> {
        let first = self.cmp_and()?;
        if !self.is_keyword("OR") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.is_keyword("OR") {
            self.bump();
            items.push(self.cmp_and()?);
        }
        Ok(Expr::Or(items))
    }

    fn cmp_and(&mut self) -> Result<Expr, PatternError> {
        let first = self.cmp_unit()?;
        if !self.is_keyword("AND") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.is_keyword("AND") {
            self.bump();
            items.push(self.cmp_unit()?);
        }
        Ok(Expr::And(items))
    }

    fn cmp_unit(&mut self) -> Result<Expr, PatternError> {
        if self.peek() == &Tok::LParen {
            self.enter()?;
            self.bump();
            let e = self.cmp_or()?;
            self.expect(&Tok::RParen)?;
            self.leave();
            return Ok(e);
        }
        self.comparison().map(Expr::Comparison)
    }

    fn comparison(&mut self) -> Result<Comparison, PatternError> {
        if self.is_keyword("NOT") {
            return Err(self.unsupported("negated comparisons (NOT) are not supported"));
        }
        let object_type = match self.peek() {
            Tok::Word(w) => {
                let w = (*w).to_owned();
                self.bump();
                w
            }
            other => {
                return Err(self.syntax(format!(
                    "expected an object type (like domain-name), found {}",
                    other.describe()
                )));
            }
        };
        self.expect(&Tok::Colon)?;
        let mut path = vec![self.path_component()?];
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.bump();
                    path.push(self.path_component()?);
                }
                Tok::LBracket => {
                    return Err(self.unsupported("list indexes in object paths are not supported"));
                }
                _ => break,
            }
        }
        match self.peek() {
            Tok::Op("=") => {
                self.bump();
            }
            Tok::Op(op) => {
                return Err(self.unsupported(format!("operator '{op}' is not supported")));
            }
            Tok::Word(w) => {
                let upper = w.to_ascii_uppercase();
                if UNSUPPORTED_OPERATORS.contains(&upper.as_str()) {
                    return Err(self.unsupported(format!("operator {upper} is not supported")));
                }
                return Err(self.syntax(format!("expected '=', found word '{w}'")));
            }
            other => {
                return Err(self.syntax(format!("expected '=', found {}", other.describe())));
            }
        }
        let value = match self.peek() {
            Tok::Str(_) => {
                let Tok::Str(s) = self.bump() else {
                    return Err(self.syntax("expected a value"));
                };
                s.into_owned()
            }
            Tok::Word(w) if matches!(self.peek_at(1), Tok::Str(_)) => {
                return Err(self.unsupported(format!(
                    "typed literal {w}'…' is not supported (only plain strings)"
                )));
            }
            Tok::Word(_) => {
                return Err(self.unsupported("only string values are supported"));
            }
            Tok::LParen => return Err(self.unsupported("set values are not supported")),
            other => {
                return Err(self.syntax(format!("expected a value, found {}", other.describe())));
            }
        };
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(PatternError::new(
                PatternErrorKind::TooComplex,
                self.offset(),
                format!("more than {MAX_COMPARISONS} comparisons"),
            ));
        }
        Ok(Comparison {
            object_type,
            path,
            value,
        })
    }

    fn path_component(&mut self) -> Result<String, PatternError> {
        match self.peek() {
            Tok::Word(_) | Tok::Str(_) => match self.bump() {
                Tok::Word(w) => Ok(w.to_owned()),
                Tok::Str(s) => Ok(s.into_owned()),
                other => Err(self.syntax(format!(
                    "expected a property name, found {}",
                    other.describe()
                ))),
            },
            other => Err(self.syntax(format!(
                "expected a property name, found {}",
                other.describe()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(t: &str, path: &[&str], v: &str) -> Expr {
        Expr::Comparison(Comparison {
            object_type: t.into(),
            path: path.iter().map(|s| s.to_string()).collect(),
            value: v.into(),
        })
    }

    #[test]
    fn simple_comparison() {
        let p = parse("[domain-name:value = 'example.org']").unwrap();
        assert_eq!(p.expr, cmp("domain-name", &["value"], "example.org"));
    }

    #[test]
    fn quoted_and_unquoted_hash_keys() {
        for (text, key) in [
            ("[file:hashes.'SHA-256' = 'aa']", vec!["hashes", "SHA-256"]),
            ("[file:hashes.SHA256 = 'aa']", vec!["hashes", "SHA256"]),
            ("[file:hashes.sha256='aa']", vec!["hashes", "sha256"]),
            ("[app:cert.'SHA-1' = 'aa']", vec!["cert", "SHA-1"]),
        ] {
            let p = parse(text).unwrap();
            let Expr::Comparison(c) = p.expr else {
                panic!("{text}: not a comparison")
            };
            assert_eq!(c.path, key, "{text}");
        }
    }

    #[test]
    fn escapes_and_equals_inside_values() {
        let p = parse(r"[url:value = 'http://x.org/a?b=c&d=\'e\'\\f']").unwrap();
        assert_eq!(
            p.expr,
            cmp("url", &["value"], r"http://x.org/a?b=c&d='e'\f")
        );
    }

    #[test]
    fn invalid_escape_is_a_syntax_error() {
        let e = parse(r"[file:path = 'C:\Windows']").unwrap_err();
        assert_eq!(e.kind, PatternErrorKind::Syntax);
        assert!(e.message.contains("invalid escape"), "{e}");
    }

    #[test]
    fn boolean_structure_and_precedence() {
        // AND binds tighter than OR, inside and between brackets.
        let p = parse(
            "[domain-name:value = 'a' OR domain-name:value = 'b' AND url:value = 'c'] or [email-addr:value = 'd']",
        )
        .unwrap();
        let expected = Expr::Or(vec![
            Expr::Or(vec![
                cmp("domain-name", &["value"], "a"),
                Expr::And(vec![
                    cmp("domain-name", &["value"], "b"),
                    cmp("url", &["value"], "c"),
                ]),
            ]),
            cmp("email-addr", &["value"], "d"),
        ]);
        assert_eq!(p.expr, expected);
        let dnf = p.to_dnf(MAX_DNF_CLAUSES).unwrap();
        let values: Vec<Vec<&str>> = dnf
            .iter()
            .map(|c| c.iter().map(|c| c.value.as_str()).collect())
            .collect();
        assert_eq!(values, vec![vec!["a"], vec!["b", "c"], vec!["d"]]);
    }

    #[test]
    fn parentheses_distribute_in_dnf() {
        let p = parse("([process:name='a'] OR [process:name='b']) AND [file:name='c']").unwrap();
        let dnf = p.to_dnf(MAX_DNF_CLAUSES).unwrap();
        let values: Vec<Vec<&str>> = dnf
            .iter()
            .map(|c| c.iter().map(|c| c.value.as_str()).collect())
            .collect();
        assert_eq!(values, vec![vec!["a", "c"], vec!["b", "c"]]);
    }

    #[test]
    fn dnf_expansion_is_capped() {
        // (a OR b) AND (c OR d) AND ... seven times: 2^7 = 128 clauses > 64.
        let unit = "[process:name='a' OR process:name='b']";
        let text = [unit; 7].join(" AND ");
        let p = parse(&text).unwrap();
        let e = p.to_dnf(MAX_DNF_CLAUSES).unwrap_err();
        assert_eq!(e.kind, PatternErrorKind::TooComplex);
        // Six times is 64: allowed.
        let text = [unit; 6].join(" AND ");
        assert_eq!(
            parse(&text).unwrap().to_dnf(MAX_DNF_CLAUSES).unwrap().len(),
            64
        );
    }

    #[test]
    fn unsupported_constructs_are_reported_as_such() {
        for text in [
            "[domain-name:value != 'a']",
            "[domain-name:value LIKE 'a%']",
            "[domain-name:value MATCHES '^a']",
            "[domain-name:value IN ('a', 'b')]",
            "[NOT domain-name:value = 'a']",
            "[domain-name:value = 'a'] WITHIN 300 SECONDS",
            "[domain-name:value = 'a'] REPEATS 5 TIMES",
            "[domain-name:value = 'a'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
            "[domain-name:value = 'a'] FOLLOWEDBY [domain-name:value = 'b']",
            "[file:size > 10]",
            "[file:hashes.MD5 = h'ffee']",
            "[file:extensions.'windows-pebinary-ext'.sections[*].name = 'x']",
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.kind, PatternErrorKind::Unsupported, "{text}: {e}");
        }
    }

    #[test]
    fn syntax_errors() {
        for text in [
            "",
            "domain-name:value = 'a'",
            "[domain-name:value = 'a'",
            "[domain-name:value = 'a]",
            "[domain-name value = 'a']",
            "[domain-name:value = 'a'] [url:value = 'b']",
            "[domain-name:value == 'a']",
            "[domain-name:value = 'a' AND]",
            "[:value = 'a']",
            "[domain-name:value = 'a'] ?",
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.kind, PatternErrorKind::Syntax, "{text:?}: {e}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}[process:name='a']{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(parse(&deep).unwrap_err().kind, PatternErrorKind::TooComplex);
        let ok = format!("{}[process:name='a']{}", "(".repeat(10), ")".repeat(10));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn key_renders_quoted_components() {
        let p = parse("[file:hashes.'SHA-256' = 'x']").unwrap();
        assert_eq!(p.comparisons()[0].key(), "file:hashes.SHA-256");
        let p = parse("[file:hashes.'SHA 256' = 'x']").unwrap();
        assert_eq!(p.comparisons()[0].key(), "file:hashes.'SHA 256'");
    }

    #[test]
    fn quote_escapes() {
        assert_eq!(quote(r"a'b\c"), r"'a\'b\\c'");
    }
}
