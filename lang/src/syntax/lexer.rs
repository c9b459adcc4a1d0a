//! The logos lexer. It serves three masters that must agree on what a token
//! is: the item splitter (which cuts a file into top-level items before pest
//! sees any of it), semantic highlighting, and the formatter.
//!
//! Newlines are tokens (the formatter keeps line breaks); other whitespace is
//! skipped. The lexer never fails: bytes it does not understand become
//! [`Token::Error`] tokens.

use logos::Logos;
use std::ops::Range;

#[derive(Logos, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[logos(skip r"[ \t\r\f]+")]
pub enum Token {
    #[token("\n")]
    Newline,
    #[regex(r"///[^\n]*", allow_greedy = true)]
    DocComment,
    #[regex(r"//([^/\n][^\n]*)?", allow_greedy = true)]
    #[regex(r"////[^\n]*", allow_greedy = true)]
    Comment,

    #[token("module")]
    Module,
    #[token("import")]
    Import,
    #[token("as")]
    As,
    #[token("param")]
    Param,
    #[token("let")]
    Let,
    #[token("fn")]
    Fn,
    #[token("check")]
    Check,
    #[token("require")]
    Require,
    #[token("else")]
    Else,
    #[token("at")]
    At,
    #[token("skip")]
    Skip,
    #[token("when")]
    When,
    #[token("because")]
    Because,
    #[token("for")]
    For,
    #[token("in")]
    In,
    #[token("if")]
    If,
    #[token("then")]
    Then,
    #[token("all")]
    All,
    #[token("any")]
    Any,
    #[token("count")]
    Count,
    #[token("filter")]
    Filter,
    #[token("map")]
    Map,
    #[token("not")]
    Not,
    #[token("and")]
    And,
    #[token("or")]
    Or,
    #[token("matches")]
    Matches,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("null")]
    Null,

    #[regex(r"[A-Za-z_][A-Za-z0-9_]*")]
    Ident,
    #[regex(r"[0-9][0-9_]*", priority = 3)]
    #[regex(r"0o[0-7]+|0x[0-9a-fA-F]+", priority = 4)]
    Int,
    #[regex(r"[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9]+)?")]
    Float,
    #[regex(r"[0-9][0-9_]*(ms|s|m|h|d|w)")]
    Duration,
    #[regex(r"[0-9][0-9_]*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)")]
    Size,
    #[token("\"", lex_string)]
    Str,
    #[token("re\"", lex_regex)]
    Regex,

    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token(".")]
    Dot,
    #[token("->")]
    Arrow,
    #[token("=")]
    Assign,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    LtEq,
    #[token(">")]
    Gt,
    #[token(">=")]
    GtEq,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("??")]
    Coalesce,
    #[token("?")]
    Question,

    /// A byte sequence the lexer does not understand, or an unterminated
    /// string (which ends at the end of its line).
    Error,
}

impl Token {
    /// Keywords that begin a top-level item.
    pub fn starts_item(self) -> bool {
        matches!(self, Token::Module | Token::Import | Token::Param | Token::Let | Token::Fn | Token::Check)
    }

    pub fn is_keyword(self) -> bool {
        use Token::*;
        matches!(
            self,
            Module
                | Import
                | As
                | Param
                | Let
                | Fn
                | Check
                | Require
                | Else
                | At
                | Skip
                | When
                | Because
                | For
                | In
                | If
                | Then
                | All
                | Any
                | Count
                | Filter
                | Map
                | Not
                | And
                | Or
                | Matches
                | True
                | False
                | Null
        )
    }

    pub fn is_trivia(self) -> bool {
        matches!(self, Token::Newline | Token::Comment | Token::DocComment)
    }

    pub fn opens(self) -> bool {
        matches!(self, Token::LBrace | Token::LParen | Token::LBracket)
    }

    pub fn closes(self) -> bool {
        matches!(self, Token::RBrace | Token::RParen | Token::RBracket)
    }
}

/// Scans the rest of a string literal after its opening quote, including
/// interpolations `{expr}` that may themselves contain strings. An
/// unterminated string ends at the end of its line and lexes as an error.
fn lex_string(lex: &mut logos::Lexer<Token>) -> Result<(), ()> {
    let rest = lex.remainder();
    match scan_string_body(rest.as_bytes(), true) {
        Ok(len) => {
            lex.bump(len);
            Ok(())
        }
        Err(len) => {
            lex.bump(len);
            Err(())
        }
    }
}

fn lex_regex(lex: &mut logos::Lexer<Token>) -> Result<(), ()> {
    let rest = lex.remainder();
    match scan_string_body(rest.as_bytes(), false) {
        Ok(len) => {
            lex.bump(len);
            Ok(())
        }
        Err(len) => {
            lex.bump(len);
            Err(())
        }
    }
}

/// Returns the length up to and including the closing quote, or on error the
/// length up to (not including) the end of the line. Interpolation nesting is
/// bounded so hostile input cannot recurse deeply: the scan is iterative.
fn scan_string_body(bytes: &[u8], interpolate: bool) -> Result<usize, usize> {
    // A stack of contexts: `true` = inside a string, `false` = inside `{...}`
    // of an interpolation, counting nested braces.
    let mut stack: Vec<(bool, u32)> = vec![(true, 0)];
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or(b'\n');
        if b == b'\n' {
            return Err(i);
        }
        let Some(top) = stack.last_mut() else { return Ok(i) };
        if top.0 {
            match b {
                // An escape never swallows the end of the line.
                b'\\' if bytes.get(i + 1) != Some(&b'\n') => i += 1,
                b'"' => {
                    stack.pop();
                    if stack.is_empty() {
                        return Ok(i + 1);
                    }
                }
                b'{' if interpolate => stack.push((false, 0)),
                _ => {}
            }
        } else {
            match b {
                b'"' => stack.push((true, 0)),
                b'{' => top.1 += 1,
                b'}' if top.1 == 0 => {
                    stack.pop();
                }
                b'}' => top.1 -= 1,
                _ => {}
            }
        }
        i += 1;
    }
    Err(bytes.len())
}

/// One token with its byte range in the lexed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexeme {
    pub token: Token,
    pub start: usize,
    pub end: usize,
}

impl Lexeme {
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// Lexes a whole text. Never fails.
pub fn lex(text: &str) -> Vec<Lexeme> {
    let mut lexer = Token::lexer(text);
    let mut out = Vec::new();
    while let Some(result) = lexer.next() {
        let span = lexer.span();
        let token = result.unwrap_or(Token::Error);
        out.push(Lexeme { token, start: span.start, end: span.end });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Token> {
        lex(text).into_iter().map(|l| l.token).collect()
    }

    #[test]
    fn literals() {
        use Token::*;
        assert_eq!(kinds("90d 10MiB 1.5 42 5m"), vec![Duration, Size, Float, Int, Duration]);
        assert_eq!(kinds(r#"re"a{3}\"b" "x""#), vec![Regex, Str]);
    }

    #[test]
    fn strings_with_nested_interpolation_are_one_token() {
        let text = r#""a {cfg["api"]["x"]} b" + 1"#;
        assert_eq!(kinds(text), vec![Token::Str, Token::Plus, Token::Int]);
    }

    #[test]
    fn unterminated_string_stops_at_end_of_line() {
        assert_eq!(kinds("\"abc\ncheck"), vec![Token::Error, Token::Newline, Token::Check]);
    }

    #[test]
    fn comments() {
        assert_eq!(
            kinds("/// doc\n// c\n//// c\n//"),
            vec![
                Token::DocComment,
                Token::Newline,
                Token::Comment,
                Token::Newline,
                Token::Comment,
                Token::Newline,
                Token::Comment
            ]
        );
    }
}
