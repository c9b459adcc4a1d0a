//! Semantic tokens from the logos lexer: the same tokens the item splitter
//! and the formatter see. Identifiers are classified by their neighbours
//! (`x.f(` is a method, `files.` a namespace, `-> T` a type, `key =` at the
//! start of a line a metadata key), which needs no parse and so also works
//! in a file that does not parse.

use crate::line_index::LineIndex;
use mlpol_lang::builtins;
use mlpol_lang::check::SEVERITIES;
use mlpol_lang::syntax::lexer::{lex, Lexeme, Token};
use mlpol_lang::types::Schema;
use tower_lsp_server::ls_types::{SemanticToken, SemanticTokenModifier, SemanticTokenType, SemanticTokensLegend};

const KEYWORD: u32 = 0;
const COMMENT: u32 = 1;
const STRING: u32 = 2;
const REGEXP: u32 = 3;
const NUMBER: u32 = 4;
const OPERATOR: u32 = 5;
const VARIABLE: u32 = 6;
const FUNCTION: u32 = 7;
const NAMESPACE: u32 = 8;
const PROPERTY: u32 = 9;
const TYPE: u32 = 10;
const ENUM_MEMBER: u32 = 11;
const METHOD: u32 = 12;

const DOCUMENTATION: u32 = 1;
const DEFAULT_LIBRARY: u32 = 1 << 1;
const DECLARATION: u32 = 1 << 2;

pub fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: vec![
            SemanticTokenType::KEYWORD,
            SemanticTokenType::COMMENT,
            SemanticTokenType::STRING,
            SemanticTokenType::REGEXP,
            SemanticTokenType::NUMBER,
            SemanticTokenType::OPERATOR,
            SemanticTokenType::VARIABLE,
            SemanticTokenType::FUNCTION,
            SemanticTokenType::NAMESPACE,
            SemanticTokenType::PROPERTY,
            SemanticTokenType::TYPE,
            SemanticTokenType::ENUM_MEMBER,
            SemanticTokenType::METHOD,
        ],
        token_modifiers: vec![
            SemanticTokenModifier::DOCUMENTATION,
            SemanticTokenModifier::DEFAULT_LIBRARY,
            SemanticTokenModifier::DECLARATION,
        ],
    }
}

/// A classified token: byte range, type and modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    pub start: usize,
    pub end: usize,
    pub ty: u32,
    pub modifiers: u32,
}

pub fn classify(text: &str, schema: &Schema) -> Vec<Classified> {
    let lexemes = lex(text);
    let code: Vec<&Lexeme> =
        lexemes.iter().filter(|l| !matches!(l.token, Token::Comment | Token::DocComment)).collect();
    let type_names = schema.type_names();
    let word = |l: &Lexeme| text.get(l.range()).unwrap_or("");
    let mut out = Vec::new();
    // Inside `check a.b.c`, `module a.b` or `import a.b` up to the end of the path.
    let mut in_path = false;
    // Index into `code` of the next non-comment token.
    let mut next_ci = 0usize;
    for l in &lexemes {
        let is_comment = matches!(l.token, Token::Comment | Token::DocComment);
        let ci = next_ci;
        if !is_comment {
            next_ci += 1;
        }
        let (ty, modifiers) = match l.token {
            Token::Newline => {
                in_path = false;
                continue;
            }
            Token::Comment => (COMMENT, 0),
            Token::DocComment => (COMMENT, DOCUMENTATION),
            Token::Str => (STRING, 0),
            Token::Regex => (REGEXP, 0),
            Token::Int | Token::Float | Token::Duration | Token::Size => (NUMBER, 0),
            Token::EqEq
            | Token::NotEq
            | Token::Lt
            | Token::LtEq
            | Token::Gt
            | Token::GtEq
            | Token::Plus
            | Token::Minus
            | Token::Star
            | Token::Slash
            | Token::Percent
            | Token::Coalesce
            | Token::Question
            | Token::Arrow
            | Token::Assign => (OPERATOR, 0),
            Token::Ident => {
                let prev = ci.checked_sub(1).and_then(|i| code.get(i)).map(|l| l.token);
                let prev2 = ci.checked_sub(2).and_then(|i| code.get(i));
                let next = code.get(ci + 1).map(|l| l.token);
                let name = word(l);
                if in_path {
                    (
                        NAMESPACE,
                        if matches!(code.get(ci.saturating_sub(1)).map(|l| l.token), Some(Token::Check)) {
                            DECLARATION
                        } else {
                            0
                        },
                    )
                } else if prev == Some(Token::Dot) {
                    if next == Some(Token::LParen) {
                        (METHOD, if builtins::lookup(name).is_some() { DEFAULT_LIBRARY } else { 0 })
                    } else {
                        (PROPERTY, 0)
                    }
                } else if next == Some(Token::LParen) {
                    let m = if prev == Some(Token::Fn) {
                        DECLARATION
                    } else if builtins::lookup(name).is_some() {
                        DEFAULT_LIBRARY
                    } else {
                        0
                    };
                    (FUNCTION, m)
                } else if next == Some(Token::Dot) && schema.is_namespace(name) {
                    (NAMESPACE, DEFAULT_LIBRARY)
                } else if prev == Some(Token::Arrow)
                    || (matches!(prev, Some(Token::Colon | Token::Lt | Token::Comma))
                        && type_names.iter().any(|t| t == name))
                {
                    (TYPE, 0)
                } else if prev == Some(Token::Assign)
                    && prev2.is_some_and(|p| word(p) == "severity")
                    && SEVERITIES.contains(&name)
                {
                    (ENUM_MEMBER, 0)
                } else if next == Some(Token::Assign) && matches!(prev, None | Some(Token::Newline | Token::LBrace)) {
                    (PROPERTY, DECLARATION)
                } else if matches!(prev, Some(Token::Let | Token::Param | Token::For | Token::Comma)) {
                    (VARIABLE, if prev == Some(Token::Comma) { 0 } else { DECLARATION })
                } else {
                    (VARIABLE, 0)
                }
            }
            t if t.is_keyword() => (KEYWORD, 0),
            _ => {
                // A path ends at the first token that is neither a name nor a dot.
                if !matches!(l.token, Token::Dot) {
                    in_path = false;
                }
                continue;
            }
        };
        if !is_comment {
            match l.token {
                Token::Check | Token::Module | Token::Import => in_path = true,
                Token::Ident | Token::Dot => {}
                _ => in_path = false,
            }
        }
        out.push(Classified { start: l.start, end: l.end, ty, modifiers });
    }
    out
}

/// The LSP encoding: relative lines and UTF-16 columns.
pub fn encode(text: &str, index: &LineIndex, tokens: &[Classified]) -> Vec<SemanticToken> {
    let mut out = Vec::with_capacity(tokens.len());
    let (mut line, mut col) = (0u32, 0u32);
    for t in tokens {
        let start = index.position(text, t.start);
        let end = index.position(text, t.end);
        if end.line != start.line || end.character <= start.character {
            continue;
        }
        let delta_line = start.line - line;
        let delta_start = if delta_line == 0 { start.character - col } else { start.character };
        out.push(SemanticToken {
            delta_line,
            delta_start,
            length: end.character - start.character,
            token_type: t.ty,
            token_modifiers_bitset: t.modifiers,
        });
        line = start.line;
        col = start.character;
    }
    out
}
