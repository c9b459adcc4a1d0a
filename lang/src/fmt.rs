//! The formatter for `.mlpol` files.
//!
//! It is gofmt-like and works on tokens, not on a syntax tree, so it formats
//! any input, even one that does not parse. It keeps the user's line breaks
//! and only decides two things:
//!
//! * **Indentation.** Every line gets two spaces per level. The level comes
//!   from the brackets `{ ( [` open at the start of the line: the contents of
//!   a bracket are one level deeper than the line that opened it (however many
//!   brackets that line opened), and a line that starts with a closer goes
//!   back to the level of the line that opened the bracket it closes. A
//!   continuation line gets one extra level: one that starts with an operator
//!   such as `else`, `at`, `and`, `==` or `.`, or whose previous code line ended
//!   with an operator, `=`, `:`, `else`, `then`, `because` or `when`. A line
//!   that starts with a closer or with a statement keyword (`let`, `require`,
//!   `skip`, `for`, `if`, `check`, `fn`, `param`, `import`, `module`) is never a
//!   continuation, nor is a test's `at = ...` setting, nor a line already
//!   indented by a bracket the previous code line opened.
//! * **Spacing** between the tokens of a line: canonical, see `gap`.
//!
//! Blank lines are collapsed to at most one and dropped at the start and the
//! end of the file, after a line ending with `{` and before a line starting
//! with `}`. Token texts are copied verbatim, except that the trailing
//! whitespace of comments and of unterminated strings is trimmed (a string
//! never spans lines, so this cannot change what is lexed).
//!
//! The formatter never changes the token sequence. Joining two tokens could
//! make the lexer see something else (`1 . 5` is not `1.5`, `- >` is not
//! `->`), so every tight join is checked by relexing, and every formatted
//! line is relexed as a whole; a line that does not relex to the same tokens
//! falls back to more spaces. As the layout is a function of the tokens
//! alone (plus, next to [`Token::Error`] tokens, whether the source had a
//! space), formatting is idempotent.

use crate::syntax::lexer::{lex, Token};
use std::borrow::Cow;

/// Indentation is capped so that pathological nesting cannot make the output
/// quadratic in the size of the input.
const MAX_LEVEL: usize = 64;

/// Formats the text of an `.mlpol` file. Never fails: text that does not lex
/// or parse is formatted as well as its tokens allow, and never dropped.
pub fn format(text: &str) -> String {
    let lines = split_lines(text);
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut layout = Layout::default();
    let mut pending_blank = false;
    let mut after_open_brace = false;
    for line in &lines {
        let Some(first) = line.first() else {
            if !out.is_empty() {
                pending_blank = true;
            }
            continue;
        };
        if pending_blank && !after_open_brace && first.kind != Token::RBrace {
            out.push('\n');
        }
        pending_blank = false;
        layout.line(line, &mut out);
        out.push('\n');
        after_open_brace = line.iter().rev().find(|t| !is_comment(t.kind)).is_some_and(|t| t.kind == Token::LBrace);
    }
    out
}

/// One token of a line, as it will be printed.
#[derive(Debug, Clone)]
struct Tok<'a> {
    kind: Token,
    text: Cow<'a, str>,
    /// Whether the source had whitespace between this token and the previous
    /// token of its line. Only consulted next to error tokens.
    spaced: bool,
}

/// What a token means for spacing, decided from its neighbours on its line.
#[derive(Debug, Clone, Copy, Default)]
struct Role {
    /// A `<` directly after `list` or `map`, opening type arguments.
    type_open: bool,
    /// The `>` matching a `type_open`.
    type_close: bool,
    /// A prefix `-`.
    unary: bool,
}

/// The space between two tokens of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gap {
    Space,
    Tight,
    /// As in the source (used next to error tokens).
    Keep,
}

/// How hard a line is rendered; each mode is the fallback of the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Canonical,
    /// Canonical, but with a space wherever a gap is [`Gap::Keep`].
    KeepAsSpace,
    /// A space between any two tokens; always relexes to the same tokens.
    AllSpace,
}

/// Lexes `text` into lines of tokens (newline tokens are the separators).
fn split_lines(text: &str) -> Vec<Vec<Tok<'_>>> {
    let mut lines: Vec<Vec<Tok<'_>>> = vec![Vec::new()];
    let mut prev_end: Option<usize> = None;
    for lexeme in lex(text) {
        if lexeme.token == Token::Newline {
            lines.push(Vec::new());
            prev_end = None;
            continue;
        }
        let raw = text.get(lexeme.start..lexeme.end).unwrap_or("");
        let tok = Tok {
            kind: lexeme.token,
            text: token_text(lexeme.token, raw),
            spaced: prev_end.is_some_and(|end| end < lexeme.start),
        };
        if let Some(line) = lines.last_mut() {
            line.push(tok);
        }
        prev_end = Some(lexeme.end);
    }
    lines
}

/// The printed text of a token: its source text, minus the trailing
/// whitespace of comments and unterminated strings (tokens that run to the
/// end of their line, so trimming them cannot change what is lexed: the
/// lexer never lets a backslash escape the end of a line).
fn token_text(kind: Token, raw: &str) -> Cow<'_, str> {
    match kind {
        Token::Comment | Token::DocComment => Cow::Borrowed(raw.trim_end()),
        Token::Error if raw.starts_with('"') || raw.starts_with("re\"") => Cow::Borrowed(raw.trim_end()),
        _ => Cow::Borrowed(raw),
    }
}

fn is_comment(kind: Token) -> bool {
    matches!(kind, Token::Comment | Token::DocComment)
}

/// A bracket open at the end of the lines seen so far.
#[derive(Debug)]
struct Open {
    /// The level of the lines inside the bracket.
    content: usize,
    /// The level of the line that opened it (and of a line closing it).
    opener: usize,
}

/// What the previous code line (one with a token that is not a comment)
/// tells about the next.
#[derive(Debug)]
struct PrevLine {
    level: usize,
    /// It ended with an operator: the next line continues the expression.
    ends_operator: bool,
    /// It ended with an operand: a `-` starting the next line is binary.
    ends_operand: bool,
}

#[derive(Debug, Default)]
struct Layout {
    stack: Vec<Open>,
    prev: Option<PrevLine>,
}

impl Layout {
    /// Formats one non-blank line (without its newline) onto `out`.
    fn line(&mut self, line: &[Tok<'_>], out: &mut String) {
        let Some(first) = line.first() else { return };
        let level = if first.kind.closes() {
            self.stack.last().map_or(0, |open| open.opener)
        } else {
            let base = self.stack.last().map_or(0, |open| open.content);
            // `at = [...]` is a test setting, not the `at` of a `require`.
            let setting = first.kind == Token::At && line.get(1).is_some_and(|t| t.kind == Token::Assign);
            base + usize::from(!setting && self.continues(first.kind, base))
        };
        let start_binary = self.prev.as_ref().is_some_and(|prev| prev.ends_operand);
        let roles = roles(line, start_binary);

        for _ in 0..level.min(MAX_LEVEL) {
            out.push_str("  ");
        }
        render_checked(line, &roles, out);

        for tok in line {
            if tok.kind.opens() {
                self.stack.push(Open { content: level + 1, opener: level });
            } else if tok.kind.closes() {
                self.stack.pop();
            }
        }
        let last_code = line.iter().zip(&roles).rev().find(|(tok, _)| !is_comment(tok.kind));
        if let Some((tok, role)) = last_code {
            self.prev = Some(PrevLine {
                level,
                ends_operator: ends_operator(tok.kind, *role),
                ends_operand: is_operand_end(tok.kind, *role) && !matches!(tok.kind, Token::RBrace | Token::Error),
            });
        }
    }

    /// Whether a line starting with `first`, inside brackets that put it at
    /// `base`, continues the previous line.
    fn continues(&self, first: Token, base: usize) -> bool {
        if is_statement_keyword(first) {
            return false;
        }
        match &self.prev {
            None => starts_continuation(first, false),
            Some(prev) => base <= prev.level && (prev.ends_operator || starts_continuation(first, prev.ends_operand)),
        }
    }
}

fn is_statement_keyword(kind: Token) -> bool {
    use Token::*;
    matches!(kind, Let | Require | Skip | For | If | Check | Fn | Param | Import | Module)
}

/// Whether a line starting with `kind` continues the previous line.
fn starts_continuation(kind: Token, prev_ends_operand: bool) -> bool {
    use Token::*;
    match kind {
        Minus => prev_ends_operand,
        _ => matches!(
            kind,
            Else | At
                | And
                | Or
                | Because
                | Then
                | Coalesce
                | Plus
                | Star
                | Slash
                | Percent
                | EqEq
                | NotEq
                | Lt
                | LtEq
                | Gt
                | GtEq
                | In
                | Matches
                | Dot
                | Arrow
        ),
    }
}

/// Whether a line ending with this token leaves its expression unfinished.
fn ends_operator(kind: Token, role: Role) -> bool {
    use Token::*;
    match kind {
        Gt => !role.type_close,
        _ => matches!(
            kind,
            Assign
                | EqEq
                | NotEq
                | Lt
                | LtEq
                | GtEq
                | Plus
                | Minus
                | Star
                | Slash
                | Percent
                | Coalesce
                | Arrow
                | Dot
                | Colon
                | And
                | Or
                | Not
                | In
                | Matches
                | Else
                | Then
                | Because
                | When
                | At
        ),
    }
}

/// Whether an expression can end with this token (so a `-` after it is
/// binary, not a prefix minus).
fn is_operand_end(kind: Token, role: Role) -> bool {
    use Token::*;
    match kind {
        Gt => role.type_close,
        _ => matches!(
            kind,
            Ident
                | Int
                | Float
                | Duration
                | Size
                | Str
                | Regex
                | True
                | False
                | Null
                | RParen
                | RBracket
                | RBrace
                | Question
                | Error
        ),
    }
}

/// A token that takes type arguments in angle brackets: `list<..>`, `map<..>`.
fn is_type_ctor(tok: &Tok<'_>) -> bool {
    tok.kind == Token::Map || (tok.kind == Token::Ident && tok.text == "list")
}

/// Tokens that may appear inside the angle brackets of a type.
fn fits_in_type(kind: Token) -> bool {
    use Token::*;
    matches!(kind, Ident | Map | Comma | Question | Dot | Lt | Gt)
}

/// The role of each token of a line. `start_binary`: whether a `-` starting
/// the line is a binary minus (the previous code line ended with an operand).
fn roles(line: &[Tok<'_>], start_binary: bool) -> Vec<Role> {
    let mut out: Vec<Role> = Vec::with_capacity(line.len());
    let mut type_depth = 0usize;
    let mut prev: Option<(&Tok<'_>, Role)> = None;
    for (i, tok) in line.iter().enumerate() {
        let mut role = Role::default();
        if type_depth > 0 && !fits_in_type(tok.kind) {
            type_depth = 0;
        }
        match tok.kind {
            Token::Lt
                if prev.is_some_and(|(p, _)| is_type_ctor(p))
                    && line.get(i + 1).is_some_and(|next| matches!(next.kind, Token::Ident | Token::Map)) =>
            {
                role.type_open = true;
                type_depth += 1;
            }
            Token::Lt => type_depth = 0,
            Token::Gt if type_depth > 0 => {
                role.type_close = true;
                type_depth -= 1;
            }
            Token::Minus => {
                role.unary = match prev {
                    None => !start_binary,
                    Some((p, p_role)) => !is_operand_end(p.kind, p_role),
                };
            }
            _ => {}
        }
        out.push(role);
        prev = Some((tok, role));
    }
    out
}

/// The canonical space between adjacent tokens `a` and `b` of a line.
fn gap(a: &Tok<'_>, a_role: Role, b: &Tok<'_>, b_role: Role) -> Gap {
    use Token::*;
    if is_comment(b.kind) {
        return Gap::Space;
    }
    if a.kind == Error || b.kind == Error {
        return Gap::Keep;
    }
    if matches!(b.kind, Comma | Colon | RParen | RBracket | Dot | Question) || b_role.type_close {
        return Gap::Tight;
    }
    if b.kind == RBrace {
        return if a.kind == LBrace { Gap::Tight } else { Gap::Space };
    }
    if matches!(a.kind, LParen | LBracket | Dot) || a_role.type_open || a_role.unary {
        return Gap::Tight;
    }
    if a.kind == LBrace {
        return Gap::Space;
    }
    if b_role.type_open {
        return Gap::Tight;
    }
    if matches!(b.kind, LParen | LBracket) && matches!(a.kind, Ident | RParen | RBracket | Str | Regex) {
        return Gap::Tight;
    }
    Gap::Space
}

/// Renders a line onto `out`, in the first mode whose text relexes to the
/// same tokens.
fn render_checked(line: &[Tok<'_>], roles: &[Role], out: &mut String) {
    let has_error = line.iter().any(|t| t.kind == Token::Error);
    let modes: &[Mode] = if has_error {
        &[Mode::Canonical, Mode::KeepAsSpace, Mode::AllSpace]
    } else {
        &[Mode::Canonical, Mode::AllSpace]
    };
    for &mode in modes {
        let text = render(line, roles, mode);
        if mode == Mode::AllSpace || relexes_to(&text, line) {
            out.push_str(&text);
            return;
        }
    }
}

fn render(line: &[Tok<'_>], roles: &[Role], mode: Mode) -> String {
    let mut text = String::new();
    let mut window = String::new();
    // The first token of the run of tightly joined tokens ending at the
    // previous token.
    let mut run_start = 0;
    let mut prev: Option<(&Tok<'_>, Role)> = None;
    for (i, (tok, role)) in line.iter().zip(roles).enumerate() {
        if let Some((p, p_role)) = prev {
            let wanted = mode != Mode::AllSpace
                && match gap(p, p_role, tok, *role) {
                    Gap::Space => false,
                    Gap::Tight => true,
                    Gap::Keep => mode == Mode::Canonical && !tok.spaced,
                };
            // Check the join on a window of the last few tokens of the run:
            // longer merges (`1` `.` `5` `e3`) are already visible in it, and
            // the whole line is checked again afterwards anyway.
            let tight = wanted && joins_cleanly(line.get(run_start.max(i.saturating_sub(3))..=i), &mut window);
            if !tight {
                text.push(' ');
                run_start = i;
            }
        }
        text.push_str(&tok.text);
        prev = Some((tok, *role));
    }
    text
}

/// Whether the texts of `toks`, written without spaces, relex to `toks`.
fn joins_cleanly(toks: Option<&[Tok<'_>]>, buf: &mut String) -> bool {
    let Some(toks) = toks else { return false };
    buf.clear();
    for tok in toks {
        buf.push_str(&tok.text);
    }
    relexes_to(buf, toks)
}

fn relexes_to(text: &str, toks: &[Tok<'_>]) -> bool {
    let lexed = lex(text);
    lexed.len() == toks.len()
        && lexed.iter().zip(toks).all(|(l, t)| l.token == t.kind && text.get(l.start..l.end) == Some(&*t.text))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// The tokens of a text without newlines, with their printed texts.
    fn signature(text: &str) -> Vec<(Token, String)> {
        lex(text)
            .into_iter()
            .filter(|l| l.token != Token::Newline)
            .map(|l| (l.token, text[l.start..l.end].trim_end().to_string()))
            .collect()
    }

    /// Formats, and checks idempotence and token preservation.
    fn check(input: &str) -> String {
        let once = format(input);
        let twice = format(&once);
        assert_eq!(once, twice, "not idempotent for {input:?}");
        assert_eq!(signature(input), signature(&once), "tokens changed for {input:?} -> {once:?}");
        assert!(once.is_empty() || once.ends_with('\n'));
        assert!(!once.ends_with("\n\n"), "blank lines at end for {input:?}");
        assert!(!once.starts_with('\n'), "blank line at start for {input:?}");
        assert!(!once.contains("\n\n\n"), "two blank lines for {input:?}");
        assert!(!once.contains('\r') || input.contains('\r'));
        once
    }

    fn assert_formats(input: &str, expected: &str) {
        assert_eq!(check(input), expected, "input: {input:?}");
        assert_eq!(check(expected), expected, "expected output is not stable");
    }

    const EXAMPLE: &str = r#"module  demo
import std.files   as f
param max_age : duration=90d
/// Doc for the check.
check  demo.example{
title="Example"
severity=critical
let xs=files.glob("**/*.yaml")
skip when len(xs)==0 because "none"
for x in xs{
require x.size<=10MiB and not(x.path matches re"\.bak$")
else at x: "{x.path} is too big"
}
let n = count y in xs: y.size > -1
}
"#;

    const EXAMPLE_FORMATTED: &str = r#"module demo
import std.files as f
param max_age: duration = 90d
/// Doc for the check.
check demo.example {
  title = "Example"
  severity = critical
  let xs = files.glob("**/*.yaml")
  skip when len(xs) == 0 because "none"
  for x in xs {
    require x.size <= 10MiB and not (x.path matches re"\.bak$")
      else at x: "{x.path} is too big"
  }
  let n = count y in xs: y.size > -1
}
"#;

    #[test]
    fn example() {
        assert_formats(EXAMPLE, EXAMPLE_FORMATTED);
    }

    #[test]
    fn empty_and_blank_inputs() {
        assert_formats("", "");
        assert_formats("\n\n  \n\t\r\n", "");
        assert_formats("x", "x\n");
        assert_formats("\n\nx\n\n\n", "x\n");
    }

    #[test]
    fn blank_lines() {
        assert_formats("a\n\n\n\nb\n", "a\n\nb\n");
        assert_formats("check c {\n\n\n  a\n\n  b\n\n}\n", "check c {\n  a\n\n  b\n}\n");
        assert_formats("check c { // c\n\n  a\n}\n", "check c { // c\n  a\n}\n");
        assert_formats("f(\n\n  a\n\n)\n", "f(\n\n  a\n\n)\n");
    }

    #[test]
    fn crlf_becomes_lf() {
        let input = "check c {\r\n  a = \"x\" // note  \r\n\r\n\r\n  b = \"unterminated  \r\n}\r\n";
        assert_formats(input, "check c {\n  a = \"x\" // note\n\n  b = \"unterminated\n}\n");
    }

    #[test]
    fn spacing() {
        assert_formats("f( a , b )[ 0 ]", "f(a, b)[0]\n");
        assert_formats("x = f ()", "x = f()\n");
        assert_formats("x = [ ] + { } + ( )", "x = [] + {} + ()\n");
        assert_formats("r = {a:1,b:[1,2]}", "r = { a: 1, b: [1, 2] }\n");
        assert_formats("x=a-1-(-b)*-2", "x = a - 1 - (-b) * -2\n");
        assert_formats("x = a in[1]and(b)or not c", "x = a in [1] and (b) or not c\n");
        assert_formats("x = \"a\"[0] + re\"b\" ( 1 )", "x = \"a\"[0] + re\"b\"(1)\n");
        assert_formats("param p : list < string > ? = null", "param p: list<string>? = null\n");
        assert_formats("param p:map<list<int>>", "param p: map<list<int>>\n");
        assert_formats("let c = list < 3", "let c = list < 3\n");
        assert_formats("fn f(x:int)->bool{x%2==0}", "fn f(x: int) -> bool { x % 2 == 0 }\n");
        assert_formats("x = a??b != c ?? d", "x = a ?? b != c ?? d\n");
        assert_formats("x = a.b . c(d).e", "x = a.b.c(d).e\n");
        assert_formats("f(a,)", "f(a,)\n");
        assert_formats("x = y// c", "x = y // c\n");
        assert_formats("x = y    ///   doc   ", "x = y ///   doc\n");
        assert_formats("let t = 1 >= -2 and 3 <= 4", "let t = 1 >= -2 and 3 <= 4\n");
    }

    #[test]
    fn spacing_never_merges_tokens() {
        // `1.5` would be a float, `->` an arrow, `??` a coalesce, `//` a comment.
        assert_formats("x = 1 . 5", "x = 1. 5\n");
        assert_formats("x = - > y", "x = - > y\n");
        assert_formats("x = y ? ?", "x = y? ?\n");
        assert_formats("x = a / / b", "x = a / / b\n");
        assert_formats("p: list < = x", "p: list < = x\n");
        assert_formats("p: list < x < = y", "p: list<x < = y\n");
        assert_formats("x = re \"a\"", "x = re \"a\"\n");
        assert_formats("x = 1.5 e3", "x = 1.5 e3\n");
        assert_formats("x = a . 0 . 5", "x = a.0. 5\n");
    }

    #[test]
    fn indentation() {
        assert_formats("f(g(\na\n))\n", "f(g(\n  a\n))\n");
        assert_formats("let x = f({\na: 1\n})\n", "let x = f({\n  a: 1\n})\n");
        assert_formats(
            "check c {\nif a then {\nb\n} else {\nc\n}\n}\n",
            "check c {\n  if a then {\n    b\n  } else {\n    c\n  }\n}\n",
        );
        assert_formats("require a and\nb and\nc\n.d\nlet y = 1\n", "require a and\n  b and\n  c\n  .d\nlet y = 1\n");
        assert_formats("let x = (a +\nb)\n", "let x = (a +\n  b)\n");
        assert_formats("let x = foo(a) +\nbar(\nb\n) +\nc\n", "let x = foo(a) +\n  bar(\n    b\n  ) +\n  c\n");
        assert_formats("let x =\n[\n1,\n-2\n]\n", "let x =\n  [\n    1,\n    -2\n  ]\n");
        assert_formats("let x = a\n- b\n", "let x = a\n  - b\n");
        assert_formats("require a and\n// why\nb\n", "require a and\n  // why\n  b\n");
        assert_formats("let p: list<int>\nlet q = 1\n", "let p: list<int>\nlet q = 1\n");
        assert_formats("x = a >\nb\n", "x = a >\n  b\n");
        assert_formats("  \t   let x = 1", "let x = 1\n");
    }

    #[test]
    fn unbalanced_and_broken_inputs() {
        assert_formats("}}}\nx\n", "} } }\nx\n");
        assert_formats("(((\nx\n", "(((\n  x\n");
        assert_formats("check c {\nx = \"abc\n}\n", "check c {\n  x = \"abc\n}\n");
        assert_formats("x = a#b  @ c", "x = a#b @ c\n");
        assert_formats("x = a ! = b", "x = a ! = b\n");
        assert_formats("x = café", "x = café\n");
        assert_formats("// only a comment", "// only a comment\n");
        assert_formats("x\n// comment at the end", "x\n// comment at the end\n");
        assert_formats("x = re\"abc", "x = re\"abc\n");
        // A backslash cannot escape the end of a line: the string ends there.
        assert_formats("x = \"abc\\", "x = \"abc\\\n");
        assert_formats("x = \"abc\\  \r\ny", "x = \"abc\\\ny\n");
        assert_formats("check c {\nx = \"a\\\n  b\"\n}", "check c {\n  x = \"a\\\n  b\"\n}\n");
        for input in [
            "}",
            ")",
            "]",
            "{",
            "(",
            "[",
            "\"",
            "re\"",
            "\"{",
            "\"{\"}",
            "\"a\\",
            "-",
            "--1",
            "- -",
            "\u{feff}module m",
            "a\u{b}",
            "\u{b}",
            "x = \"a\" \u{a0} ",
            "((((((((((\n)\n)\n",
            "}\n}\n{\n{\n",
            "\r",
            "\r\r\n\r",
            "//",
            "///",
            "////",
            "/// \r\n",
            "\"\\\"",
            "else\nat\n-1\n- 1\n",
            "a -\n-\n- b\n",
            "list<list<",
            "map<",
            "x>",
            "list<x>>=y",
        ] {
            check(input);
        }
    }

    #[test]
    fn token_preservation_on_samples() {
        for input in [
            EXAMPLE,
            EXAMPLE_FORMATTED,
            "let x = 1.5e3 + 2_000ms - 5KiB * 0.5",
            "check a.b { require all x in xs: x.ok else at x: \"{x[\"k\"]} {{}}\" }",
            "fn f(a: string?, b: map<list<int>>) -> int { a ?? b }",
            "x = y.z?.w ?? -1\n\tlet q=\"a\"+\"b\"",
            "a\n\n\n\n\n// c\n\n\n}\n\n\n",
            "let r = re\"\\d+\" matches \"x\"",
            "1 . 5 . e3 . 5e3 .5 5. 5..5",
            "x - - - 1 - -1 --1 - > -> - >= -=",
            "a ?? ? ?? ?? ?? ? ?",
            "/ / // / /// x\n/ // y",
            "< = > = = = ! = ! ! = =",
        ] {
            check(input);
        }
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const FRAGMENTS: &[&str] = &[
        "module",
        "import",
        "as",
        "param",
        "let",
        "fn",
        "check",
        "require",
        "else",
        "at",
        "skip",
        "when",
        "because",
        "for",
        "in",
        "if",
        "then",
        "all",
        "any",
        "count",
        "filter",
        "map",
        "not",
        "and",
        "or",
        "matches",
        "true",
        "false",
        "null",
        "x",
        "list",
        "re",
        "e",
        "e3",
        "B",
        "m",
        "Ki",
        "1",
        "0",
        "5",
        "1.5",
        "90d",
        "10MiB",
        "1_0",
        "\"s\"",
        "\"{x}\"",
        "\"a {b[\"c\"]} d\"",
        "\"unterminated",
        "re\"r\"",
        "re\"",
        "\"",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ",",
        ":",
        ".",
        "->",
        "=",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "+",
        "-",
        "*",
        "/",
        "%",
        "??",
        "?",
        "!",
        "#",
        "é",
        "\u{b}",
        "\\",
        "// c",
        "/// d",
        "//",
        "\n",
        "\n",
        "\r\n",
        "\n\n",
        "\"q\\",
        "\"a\\\n b\"",
        "re\"x\\",
        "\"{",
        "}\"",
    ];

    const SEPARATORS: &[&str] = &["", "", " ", "  ", "\t", "\n", "\r\n", " \n "];

    #[test]
    fn random_token_soups() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2000 {
            let len = 1 + rng.below(40);
            let mut input = String::new();
            for _ in 0..len {
                input.push_str(SEPARATORS[rng.below(SEPARATORS.len())]);
                input.push_str(FRAGMENTS[rng.below(FRAGMENTS.len())]);
            }
            check(&input);
        }
    }

    #[test]
    fn random_character_soups() {
        let alphabet: Vec<char> = "abre01259.eE_-+*/%?!=<>(){}[],:\"\\ \t\n\r#émdBKiM".chars().collect();
        let mut rng = XorShift(99);
        for _ in 0..2000 {
            let len = 1 + rng.below(60);
            let input: String = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
            check(&input);
        }
    }

    #[test]
    fn large_input_is_fast() {
        let nested = "f(\n".repeat(20_000) + &")\n".repeat(20_000);
        let once = check(&nested);
        assert!(once.len() < nested.len() * (2 * MAX_LEVEL + 1));
        let long_line = "a.b(1) + ".repeat(50_000);
        check(&long_line);
    }
}
