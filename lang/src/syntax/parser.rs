//! Parsing: the logos lexer cuts a file into top-level items, then pest parses
//! each item on its own ([`parse_item`]), so one broken item never hides the
//! others. Inside a check body, a statement that does not parse becomes a
//! `junk` node whose error is explained by parsing it again on its own.
//!
//! Hostile input is bounded before pest sees it: bracket nesting deeper than
//! [`MAX_NESTING`] and items larger than [`MAX_ITEM_BYTES`] are reported, not
//! parsed, and the tree builder stops at [`MAX_TREE_DEPTH`].

use super::ast::*;
use super::lexer::{lex, Token};
use crate::diagnostic::Diagnostic;
use pest::iterators::Pair;
use pest::Parser as _;
use std::ops::Range;

#[derive(pest_derive::Parser)]
#[grammar = "syntax/grammar.pest"]
struct Grammar;

pub const MAX_NESTING: usize = 64;
pub const MAX_ITEM_BYTES: usize = 1 << 20;
pub const MAX_TREE_DEPTH: usize = 200;

/// The result of parsing one item: a tree *and* errors, never a failure.
/// Spans are relative to the start of the item's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Parse {
    pub ast: Item,
    pub errors: Vec<Diagnostic>,
}

/// Splits a file into the byte ranges of its top-level items. A new item
/// starts at a top-level keyword at bracket depth 0, or at any such keyword
/// (but `let`) in column 0 — so an unclosed brace does not swallow the rest of
/// the file. `///` lines directly above a keyword belong to its item.
pub fn split_items(text: &str) -> Vec<Range<usize>> {
    let tokens = lex(text);
    let mut starts: Vec<usize> = Vec::new();
    let mut depth: usize = 0;
    // Start of the run of doc comments directly above the current token.
    let mut doc_start: Option<usize> = None;
    let mut seen_code = false;
    let mut prev_code: Option<Token> = None;
    for (i, lexeme) in tokens.iter().enumerate() {
        let token = lexeme.token;
        let column0 = lexeme.start == 0 || text.as_bytes().get(lexeme.start - 1) == Some(&b'\n');
        match token {
            Token::DocComment => {
                if doc_start.is_none() {
                    doc_start = Some(lexeme.start);
                }
                continue;
            }
            Token::Newline => {
                // A blank line between doc comments and the item detaches them.
                let prev_newline = i > 0 && tokens.get(i - 1).map(|t| t.token) == Some(Token::Newline);
                if prev_newline {
                    doc_start = None;
                }
                continue;
            }
            Token::Comment => continue,
            _ => {}
        }
        // After `.` a keyword is a field or path segment (`check a.import.b`).
        let after_dot = prev_code == Some(Token::Dot);
        let starts_item = token.starts_item() || starts_test(text, &tokens, i);
        let forced = column0 && starts_item && token != Token::Let && !after_dot;
        if starts_item && !after_dot && (depth == 0 || forced) {
            depth = 0;
            starts.push(doc_start.unwrap_or(lexeme.start));
        } else if !seen_code {
            // Junk before the first item is an item of its own (an error).
            starts.push(doc_start.unwrap_or(lexeme.start));
        }
        seen_code = true;
        doc_start = None;
        prev_code = Some(token);
        if token.opens() {
            depth += 1;
        } else if token.closes() {
            depth = depth.saturating_sub(1);
        }
    }
    let mut ranges = Vec::with_capacity(starts.len());
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        ranges.push(start..end);
    }
    ranges
}

/// Whether the token at `i` is the `test` of `test "name"`: `test` is not a
/// keyword (`let test = 1` stays valid), so a test item is recognised by the
/// word followed by a string.
fn starts_test(text: &str, tokens: &[super::lexer::Lexeme], i: usize) -> bool {
    let Some(lexeme) = tokens.get(i) else { return false };
    if lexeme.token != Token::Ident || text.get(lexeme.range()) != Some("test") {
        return false;
    }
    tokens.get(i + 1..).unwrap_or(&[]).iter().find(|l| !l.token.is_trivia()).is_some_and(|l| l.token == Token::Str)
}

/// Parses one top-level item.
pub fn parse_item(text: &str) -> Parse {
    let error_item = |errors: Vec<Diagnostic>| Parse {
        ast: Item { doc: None, kind: ItemKind::Error, span: Span::new(0, text.len()) },
        errors,
    };
    if text.len() > MAX_ITEM_BYTES {
        return error_item(vec![Diagnostic::error(
            "E0003",
            0..first_line_end(text),
            format!("item is larger than {} KiB", MAX_ITEM_BYTES / 1024),
        )
        .with_help("split it into several checks or functions")]);
    }
    let tokens = lex(text);
    let mut depth = 0usize;
    for lexeme in &tokens {
        if lexeme.token.opens() {
            depth += 1;
            if depth > MAX_NESTING {
                return error_item(vec![Diagnostic::error(
                    "E0002",
                    lexeme.range(),
                    format!("brackets nested more than {MAX_NESTING} levels deep"),
                )]);
            }
        } else if lexeme.token.closes() {
            depth = depth.saturating_sub(1);
        }
    }
    let doc = leading_doc(text, &tokens);
    match Grammar::parse(Rule::item, text) {
        Ok(mut pairs) => {
            let mut builder = Builder { errors: Vec::new(), depth: 0, text };
            let kind = pairs
                .next()
                .and_then(|item| item.into_inner().next())
                .map_or(ItemKind::Error, |pair| builder.item_kind(pair));
            let span = Span::new(0, text.trim_end().len());
            Parse { ast: Item { doc, kind, span }, errors: builder.errors }
        }
        Err(error) => {
            let mut parse = error_item(vec![pest_error(text, &error, 0)]);
            parse.ast.doc = doc;
            if let Some((keyword, name)) = declared_name(text, &tokens) {
                parse.ast.kind = ItemKind::Broken { keyword, name };
            }
            parse
        }
    }
}

/// `fn NAME`, `let NAME` or `param NAME` at the start of a broken item or
/// statement.
fn declared_name(text: &str, tokens: &[super::lexer::Lexeme]) -> Option<(String, Name)> {
    let mut code = tokens.iter().filter(|l| !l.token.is_trivia());
    let (kw, name) = (code.next()?, code.next()?);
    if !matches!(kw.token, Token::Fn | Token::Let | Token::Param) || name.token != Token::Ident {
        return None;
    }
    let keyword = text.get(kw.range())?.to_string();
    let name = Name { text: text.get(name.range())?.to_string(), span: Span::new(name.start, name.end) };
    Some((keyword, name))
}

fn first_line_end(text: &str) -> usize {
    text.find('\n').unwrap_or(text.len()).min(200)
}

fn leading_doc(text: &str, tokens: &[super::lexer::Lexeme]) -> Option<String> {
    let mut lines = Vec::new();
    for lexeme in tokens {
        match lexeme.token {
            Token::DocComment => {
                let line = text.get(lexeme.range()).unwrap_or("");
                let line = line.trim_start_matches("///");
                lines.push(line.strip_prefix(' ').unwrap_or(line).trim_end().to_string());
            }
            Token::Newline | Token::Comment => {}
            _ => break,
        }
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// Turns a pest error into a diagnostic that names what was found and what
/// would have been accepted.
fn pest_error(text: &str, error: &pest::error::Error<Rule>, offset: usize) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let found = lex(text.get(pos..).unwrap_or(""))
        .into_iter()
        .find(|l| !matches!(l.token, Token::Newline | Token::Comment | Token::DocComment));
    let (found_text, span) = match found {
        Some(l) => {
            let t = text.get(pos + l.start..pos + l.end).unwrap_or("");
            (format!("`{}`", shorten(t)), pos + l.start..pos + l.end)
        }
        None => ("end of item".to_string(), pos..pos),
    };
    let expected = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().map(|r| rule_name(*r)).collect();
            names.sort_unstable();
            names.dedup();
            names.retain(|n| !n.is_empty());
            names
        }
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    if let ErrorVariant::CustomError { message } = &error.variant {
        // pest gives up before the stack runs out ("stack limit reached"):
        // the input nests too deeply in a way brackets do not count.
        if message.contains("limit reached") {
            return Diagnostic::error("E0002", span.start + offset..span.end + offset, "nested too deeply to parse");
        }
    }
    let message = if expected.is_empty() {
        format!("unexpected {found_text}")
    } else {
        format!("unexpected {found_text}, expected {}", join_or(&expected))
    };
    let mut d = Diagnostic::error("E0001", span.start + offset..span.end + offset, message);
    let in_string = lex(text).iter().any(|l| {
        let unterminated = l.token == Token::Error && text.get(l.range()).is_some_and(|t| t.starts_with('"'));
        (l.token == Token::Str || unterminated) && l.start < pos && pos <= l.end
    });
    if in_string {
        d = d.with_help("`{` in a string starts an interpolation; write `\\{` for a literal brace");
    }
    d
}

fn shorten(t: &str) -> String {
    let mut s: String = t.chars().take(40).collect();
    if s.len() < t.len() {
        s.push('…');
    }
    s
}

fn join_or(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn rule_name(rule: Rule) -> &'static str {
    match rule {
        Rule::item => "an item (`check`, `fn`, `let`, `param`, `import`, `module`)",
        Rule::module_decl
        | Rule::import_decl
        | Rule::param_decl
        | Rule::fn_decl
        | Rule::check_decl
        | Rule::test_decl => "an item (`check`, `fn`, `let`, `param`, `import`, `module`)",
        Rule::let_decl => "`let`",
        Rule::ident | Rule::path | Rule::field_name => "a name",
        Rule::type_expr | Rule::list_type | Rule::map_type => "a type",
        Rule::block => "`{`",
        Rule::meta | Rule::require_stmt | Rule::skip_stmt | Rule::for_stmt | Rule::if_stmt | Rule::junk => {
            "a statement"
        }
        Rule::at_clause => "`at`",
        Rule::binding => "a variable name",
        Rule::expr
        | Rule::quant
        | Rule::if_expr
        | Rule::or_expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::cmp_expr
        | Rule::coalesce
        | Rule::sum
        | Rule::product
        | Rule::unary
        | Rule::postfix
        | Rule::primary
        | Rule::literal
        | Rule::list
        | Rule::record
        | Rule::string
        | Rule::int
        | Rule::float
        | Rule::duration
        | Rule::size
        | Rule::regex
        | Rule::null_lit
        | Rule::bool_lit
        | Rule::quantifier
        | Rule::not_op
        | Rule::neg_op => "an expression",
        Rule::plain_string => "a string",
        Rule::or_op
        | Rule::and_op
        | Rule::cmp_op
        | Rule::coalesce_op
        | Rule::add_op
        | Rule::mul_op
        | Rule::in_op
        | Rule::matches_op
        | Rule::not_in => "an operator",
        Rule::field | Rule::index | Rule::call => "`.`, `[` or `(`",
        Rule::record_entry => "a record entry (`name: value`)",
        Rule::EOI => "end of item",
        _ => "",
    }
}

struct Builder<'t> {
    errors: Vec<Diagnostic>,
    depth: usize,
    text: &'t str,
}

/// The span of a node without the whitespace pest's implicit skipping leaves
/// at its end (a statement must not reach into the next line).
fn span_of(pair: &Pair<Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.start() + s.as_str().trim_end().len())
}

fn name(pair: Pair<Rule>) -> Name {
    Name { text: pair.as_str().to_string(), span: span_of(&pair) }
}

fn error_expr(span: Span) -> Expr {
    Expr { kind: ExprKind::Error, span }
}

impl Builder<'_> {
    fn item_kind(&mut self, pair: Pair<Rule>) -> ItemKind {
        let rule = pair.as_rule();
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        match rule {
            Rule::module_decl => inner.next().map_or(ItemKind::Error, |p| ItemKind::Module(path(p))),
            Rule::import_decl => {
                let Some(target) = inner.next() else { return ItemKind::Error };
                let target = if target.as_rule() == Rule::plain_string {
                    ImportTarget::File { path: self.plain_string(target.clone()), span: span_of(&target) }
                } else {
                    ImportTarget::Module(path(target))
                };
                ItemKind::Import(Import { target, alias: inner.next().map(name) })
            }
            Rule::param_decl => {
                let (Some(n), Some(ty)) = (inner.next(), inner.next()) else { return ItemKind::Error };
                let ty = self.type_expr(ty);
                let default = inner.next().map(|e| self.expr(e));
                ItemKind::Param(Param { name: name(n), ty, default })
            }
            Rule::let_decl => ItemKind::Let(self.let_decl(span, inner)),
            Rule::fn_decl => {
                let Some(n) = inner.next() else { return ItemKind::Error };
                let mut params = Vec::new();
                let mut ret = None;
                let mut lets = Vec::new();
                let mut body = None;
                for p in inner {
                    match p.as_rule() {
                        Rule::fn_param => {
                            let mut pi = p.into_inner();
                            if let (Some(pn), Some(pt)) = (pi.next(), pi.next()) {
                                let ty = self.type_expr(pt);
                                params.push((name(pn), ty));
                            }
                        }
                        Rule::type_expr => ret = Some(self.type_expr(p)),
                        Rule::let_decl => {
                            let s = span_of(&p);
                            lets.push(self.let_decl(s, p.into_inner()));
                        }
                        _ => body = Some(self.expr(p)),
                    }
                }
                let (Some(ret), Some(body)) = (ret, body) else { return ItemKind::Error };
                ItemKind::Fn(FnDecl { name: name(n), params, ret, lets, body })
            }
            Rule::check_decl => {
                let (Some(id), Some(block)) = (inner.next(), inner.next()) else { return ItemKind::Error };
                ItemKind::Check(Check { id: path(id), body: self.block(block) })
            }
            Rule::test_decl => {
                let (Some(n), Some(block)) = (inner.next(), inner.next()) else { return ItemKind::Error };
                let name_span = span_of(&n);
                let name = self.plain_string(n);
                ItemKind::Test(Test { name, name_span, body: self.block(block) })
            }
            _ => ItemKind::Error,
        }
    }

    fn let_decl(&mut self, span: Span, mut inner: pest::iterators::Pairs<Rule>) -> Let {
        let n = inner.next().map(name).unwrap_or(Name { text: String::new(), span });
        let mut ty = None;
        let mut value = error_expr(span);
        for p in inner {
            if p.as_rule() == Rule::type_expr {
                ty = Some(self.type_expr(p));
            } else {
                value = self.expr(p);
            }
        }
        Let { name: n, ty, value, span }
    }

    fn type_expr(&mut self, pair: Pair<Rule>) -> TypeExpr {
        let span = span_of(&pair);
        let mut kind = TypeExprKind::Named(Name { text: String::new(), span });
        let mut optional = false;
        if self.depth > MAX_TREE_DEPTH {
            self.too_deep(span);
            return TypeExpr { kind, optional, span };
        }
        self.depth += 1;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => kind = TypeExprKind::Named(name(p)),
                Rule::list_type | Rule::map_type => {
                    let is_list = p.as_rule() == Rule::list_type;
                    if let Some(t) = p.into_inner().next() {
                        let t = Box::new(self.type_expr(t));
                        kind = if is_list { TypeExprKind::List(t) } else { TypeExprKind::Map(t) };
                    }
                }
                Rule::optional => optional = true,
                _ => {}
            }
        }
        self.depth -= 1;
        TypeExpr { kind, optional, span }
    }

    /// The statements of a block. A statement followed on the same line by
    /// junk is a broken statement (`require 1 +` parses as `require 1` and a
    /// junk `+`): both become one error node, explained as a whole.
    fn block(&mut self, pair: Pair<Rule>) -> Vec<Stmt> {
        self.expect_closed(&pair);
        let pairs: Vec<Pair<Rule>> = pair.into_inner().collect();
        let mut out = Vec::with_capacity(pairs.len());
        let mut i = 0;
        while let Some(p) = pairs.get(i) {
            let end = span_of(p).end as usize;
            let next_is_same_line_junk = pairs.get(i + 1).is_some_and(|n| {
                n.as_rule() == Rule::junk && !self.text.get(end..n.as_span().start()).unwrap_or("\n").contains('\n')
            });
            if p.as_rule() != Rule::junk && next_is_same_line_junk {
                let end = pairs.get(i + 1).map_or(p.as_span().end(), |n| n.as_span().end());
                let span = Span::new(p.as_span().start(), end);
                self.junk(span);
                out.push(Stmt { kind: self.junk_kind(span), span });
                i += 2;
                continue;
            }
            out.push(self.stmt(p.clone()));
            i += 1;
        }
        out
    }

    /// A block that runs to the end of the item (see the grammar) lacks its
    /// `}`: what follows its last statement is only whitespace or comments.
    fn expect_closed(&mut self, block: &Pair<Rule>) {
        let span = block.as_span();
        let tail_start = block.clone().into_inner().last().map_or(span.start() + 1, |p| p.as_span().end());
        let tail = self.text.get(tail_start..span.end()).unwrap_or("");
        if !lex(tail).iter().any(|l| l.token == Token::RBrace) {
            self.errors.push(
                Diagnostic::error("E0001", span.start()..span.start() + 1, "unclosed `{`")
                    .with_help("add the `}` that ends this block"),
            );
        }
    }

    fn stmt(&mut self, pair: Pair<Rule>) -> Stmt {
        let span = span_of(&pair);
        let rule = pair.as_rule();
        if self.depth > MAX_TREE_DEPTH {
            self.too_deep(span);
            return Stmt { kind: StmtKind::Error, span };
        }
        self.depth += 1;
        let mut inner = pair.into_inner();
        let kind = match rule {
            Rule::meta => match (inner.next(), inner.next()) {
                (Some(k), Some(v)) if v.as_rule() == Rule::skip_word => {
                    let n = name(v);
                    StmtKind::Meta { key: name(k), value: Expr { span: n.span, kind: ExprKind::Name(n) } }
                }
                (Some(k), Some(v)) => StmtKind::Meta { key: name(k), value: self.expr(v) },
                _ => StmtKind::Error,
            },
            Rule::let_decl => StmtKind::Let(self.let_decl(span, inner)),
            Rule::require_stmt => {
                let cond = inner.next().map_or(error_expr(span), |p| self.expr(p));
                let mut at = None;
                let mut message = None;
                for p in inner {
                    if p.as_rule() == Rule::at_clause {
                        at = p.into_inner().next().map(|e| self.expr(e));
                    } else {
                        message = Some(self.expr(p));
                    }
                }
                StmtKind::Require { cond, at, message }
            }
            Rule::skip_stmt => {
                let cond = inner.next().map_or(error_expr(span), |p| self.expr(p));
                let reason = inner.next().map_or(error_expr(span), |p| self.expr(p));
                StmtKind::Skip { cond, reason }
            }
            Rule::for_stmt => {
                let binding = inner.next().map(binding);
                let iter = inner.next().map_or(error_expr(span), |p| self.expr(p));
                let body = inner.next().map(|b| self.block(b)).unwrap_or_default();
                match binding {
                    Some(binding) => StmtKind::For { binding, iter, body },
                    None => StmtKind::Error,
                }
            }
            Rule::if_stmt => {
                let cond = inner.next().map_or(error_expr(span), |p| self.expr(p));
                let then = inner.next().map(|b| self.block(b)).unwrap_or_default();
                let otherwise = match inner.next() {
                    Some(p) if p.as_rule() == Rule::if_stmt => vec![self.stmt(p)],
                    Some(p) => self.block(p),
                    None => Vec::new(),
                };
                StmtKind::If { cond, then, otherwise }
            }
            _ => {
                self.junk(span);
                self.junk_kind(span)
            }
        };
        self.depth -= 1;
        Stmt { kind, span }
    }

    /// A broken `let x = ...` still declares `x` (with an error value), so
    /// its uses are not reported again.
    fn junk_kind(&self, span: Span) -> StmtKind {
        let text = self.text.get(span.range()).unwrap_or("");
        match declared_name(text, &lex(text)) {
            Some((kw, mut name)) if kw == "let" => {
                name.span = name.span.shift(span.start as usize);
                StmtKind::Let(Let { name, ty: None, value: error_expr(span), span })
            }
            _ => StmtKind::Error,
        }
    }

    /// Explains a junk statement by parsing it alone.
    fn junk(&mut self, span: Span) {
        let text = self.text.get(span.range()).unwrap_or("");
        let diagnostic = if Grammar::parse(Rule::lone_expr, text).is_ok() {
            Diagnostic::error("E0001", span.range(), "an expression is not a statement")
                .with_help(format!("to require it, write `require {}`", shorten(text.trim())))
        } else {
            match Grammar::parse(Rule::lone_stmt, text) {
                Err(error) => pest_error(text, &error, span.start as usize),
                Ok(_) => Diagnostic::error("E0001", span.range(), "this statement is not valid here"),
            }
        };
        self.errors.push(diagnostic);
    }

    fn too_deep(&mut self, span: Span) {
        if !self.errors.iter().any(|e| e.code == "E0002") {
            self.errors.push(Diagnostic::error(
                "E0002",
                span.range(),
                format!("expression nested more than {MAX_TREE_DEPTH} levels deep"),
            ));
        }
    }

    fn plain_string(&mut self, pair: Pair<Rule>) -> String {
        let mut out = String::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::str_escape => self.escape(&p, &mut out),
                _ => out.push_str(p.as_str()),
            }
        }
        out
    }

    fn escape(&mut self, pair: &Pair<Rule>, out: &mut String) {
        match pair.as_str() {
            "\\n" => out.push('\n'),
            "\\t" => out.push('\t'),
            "\\r" => out.push('\r'),
            "\\\\" => out.push('\\'),
            "\\\"" => out.push('"'),
            "\\{" => out.push('{'),
            "\\}" => out.push('}'),
            other => {
                self.errors.push(
                    Diagnostic::error("E0004", span_of(pair).range(), format!("unknown escape `{other}`"))
                        .with_help("the escapes are \\n \\t \\r \\\\ \\\" \\{ \\}"),
                );
                out.push_str(other);
            }
        }
    }

    fn expr(&mut self, pair: Pair<Rule>) -> Expr {
        let (pair, parens) = skip_wrappers(pair);
        let span = span_of(&pair);
        if self.depth > MAX_TREE_DEPTH {
            self.too_deep(span);
            return error_expr(span);
        }
        self.depth += 1;
        let mut e = self.expr_inner(pair, span);
        self.depth -= 1;
        // `(a + b)` spans its parentheses, so quoting it quotes them.
        if let Some(parens) = parens {
            e.span = parens;
        }
        e
    }

    /// Dispatches on the node's rule. Every construct has a method of its
    /// own so that the frames on the recursive path stay small: unoptimised
    /// builds give a function one stack slot per local of every match arm.
    fn expr_inner(&mut self, pair: Pair<Rule>, span: Span) -> Expr {
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        match rule {
            Rule::expr | Rule::primary | Rule::literal => self.first(&mut inner, span),
            Rule::quant => self.quant(inner, span),
            Rule::if_expr => self.if_expr(inner, span),
            Rule::or_expr | Rule::and_expr | Rule::coalesce | Rule::sum | Rule::product | Rule::cmp_expr => {
                self.binary_chain(inner, span)
            }
            Rule::not_expr | Rule::unary => self.unary(rule, inner, span),
            Rule::postfix => self.postfix(inner, span),
            Rule::string => self.string(inner, span),
            Rule::list => self.list(inner, span),
            Rule::record => self.record(inner, span),
            _ => self.leaf(rule, inner, span),
        }
    }

    fn first(&mut self, inner: &mut pest::iterators::Pairs<Rule>, span: Span) -> Expr {
        match inner.next() {
            Some(p) => self.expr(p),
            None => error_expr(span),
        }
    }

    fn quant(&mut self, mut inner: pest::iterators::Pairs<Rule>, span: Span) -> Expr {
        let q = match inner.next().map(|p| p.as_str().to_string()).as_deref() {
            Some("all") => Quantifier::All,
            Some("any") => Quantifier::Any,
            Some("count") => Quantifier::Count,
            Some("filter") => Quantifier::Filter,
            _ => Quantifier::Map,
        };
        let Some(b) = inner.next().map(binding) else { return error_expr(span) };
        let iter = self.first(&mut inner, span);
        let body = self.first(&mut inner, span);
        Expr { kind: ExprKind::Quant { q, binding: b, iter: Box::new(iter), body: Box::new(body) }, span }
    }

    fn if_expr(&mut self, mut inner: pest::iterators::Pairs<Rule>, span: Span) -> Expr {
        let cond = self.first(&mut inner, span);
        let then = self.first(&mut inner, span);
        let otherwise = self.first(&mut inner, span);
        Expr { kind: ExprKind::If { cond: Box::new(cond), then: Box::new(then), otherwise: Box::new(otherwise) }, span }
    }

    fn string(&mut self, inner: pest::iterators::Pairs<Rule>, span: Span) -> Expr {
        let mut parts: Vec<StrPart> = Vec::new();
        for p in inner {
            match p.as_rule() {
                Rule::interp => {
                    let e = self.first(&mut p.into_inner(), span);
                    parts.push(StrPart::Expr(e));
                }
                Rule::str_escape => {
                    let mut s = String::new();
                    self.escape(&p, &mut s);
                    push_lit(&mut parts, &s);
                }
                _ => push_lit(&mut parts, p.as_str()),
            }
        }
        Expr { kind: ExprKind::Str(parts), span }
    }

    fn list(&mut self, inner: pest::iterators::Pairs<Rule>, span: Span) -> Expr {
        let mut items = Vec::new();
        for p in inner {
            items.push(self.expr(p));
        }
        Expr { kind: ExprKind::List(items), span }
    }

    fn record(&mut self, inner: pest::iterators::Pairs<Rule>, span: Span) -> Expr {
        let mut entries = Vec::new();
        for entry in inner {
            let mut e = entry.into_inner();
            let (Some(k), Some(v)) = (e.next(), e.next()) else { continue };
            let key = if k.as_rule() == Rule::plain_string {
                Name { text: self.plain_string(k.clone()), span: span_of(&k) }
            } else {
                name(k)
            };
            entries.push((key, self.expr(v)));
        }
        Expr { kind: ExprKind::Record(entries), span }
    }

    /// Names and literals: the nodes without sub-expressions.
    fn leaf(&mut self, rule: Rule, mut inner: pest::iterators::Pairs<Rule>, span: Span) -> Expr {
        match rule {
            Rule::ident => Expr { kind: ExprKind::Name(Name { text: self.slice(span), span }), span },
            Rule::null_lit => Expr { kind: ExprKind::Null, span },
            Rule::bool_lit => Expr { kind: ExprKind::Bool(self.slice(span) == "true"), span },
            Rule::int => {
                let digits = self.slice(span).replace('_', "");
                let parsed = match (digits.strip_prefix("0o"), digits.strip_prefix("0x")) {
                    (Some(oct), _) => i64::from_str_radix(oct, 8),
                    (_, Some(hex)) => i64::from_str_radix(hex, 16),
                    _ => digits.parse::<i64>(),
                };
                let n = parsed.unwrap_or_else(|_| {
                    self.errors.push(Diagnostic::error("E0005", span.range(), "integer literal is too large"));
                    0
                });
                Expr { kind: ExprKind::Int(n), span }
            }
            Rule::float => {
                let n = self.slice(span).replace('_', "").parse::<f64>().unwrap_or(0.0);
                Expr { kind: ExprKind::Float(n), span }
            }
            Rule::duration | Rule::size => {
                let (Some(d), Some(u)) = (inner.next(), inner.next()) else { return error_expr(span) };
                let n = d.as_str().replace('_', "").parse::<i64>().unwrap_or(i64::MAX);
                let unit: i64 = match u.as_str() {
                    "ms" => 0,
                    "s" | "B" => 1,
                    "m" => 60,
                    "h" => 3600,
                    "d" => 86_400,
                    "w" => 604_800,
                    "KB" => 1000,
                    "MB" => 1_000_000,
                    "GB" => 1_000_000_000,
                    "TB" => 1_000_000_000_000,
                    "KiB" => 1 << 10,
                    "MiB" => 1 << 20,
                    "GiB" => 1 << 30,
                    _ => 1 << 40,
                };
                if unit == 0 {
                    self.errors.push(
                        Diagnostic::error("E0005", span.range(), "durations are whole seconds")
                            .with_help("write the duration in `s`, `m`, `h`, `d` or `w`"),
                    );
                }
                let value = if unit == 0 { 0 } else { n.checked_mul(unit).unwrap_or(-1) };
                if value < 0 {
                    self.errors.push(Diagnostic::error("E0005", span.range(), "literal is too large"));
                }
                let kind = if rule == Rule::duration { ExprKind::Duration(value) } else { ExprKind::Size(value) };
                Expr { kind, span }
            }
            Rule::regex => {
                let body = inner.next().map(|p| p.as_str().to_string()).unwrap_or_default();
                // Only `\"` is an escape of the literal; every other backslash
                // belongs to the regex.
                let body = body.replace("\\\"", "\"");
                if let Err(e) = regex::Regex::new(&body) {
                    let first = e.to_string().lines().last().unwrap_or("").trim().to_string();
                    self.errors.push(Diagnostic::error(
                        "E0006",
                        span.range(),
                        format!("invalid regular expression: {}", first.trim_start_matches("error: ")),
                    ));
                }
                Expr { kind: ExprKind::Regex(body), span }
            }
            _ => error_expr(span),
        }
    }

    /// `a op b op c` → left-associated binary nodes.
    fn binary_chain(&mut self, mut inner: pest::iterators::Pairs<Rule>, span: Span) -> Expr {
        // Each link nests the first operand one level deeper.
        let links = inner.len() / 2;
        if !self.reserve(links, span) {
            return error_expr(span);
        }
        let Some(first) = inner.next() else {
            self.depth -= links;
            return error_expr(span);
        };
        let mut lhs = self.expr(first);
        while let (Some(op), Some(rhs)) = (inner.next(), inner.next()) {
            let op = binop(&op);
            let rhs = self.expr(rhs);
            let s = lhs.span.cover(rhs.span);
            lhs = Expr { kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span: s };
        }
        self.depth -= links;
        lhs
    }

    /// Takes `n` levels of the depth budget for a chain of `n` operators or
    /// suffixes, which nest their operand `n` levels deeper than the chain
    /// itself. Reports E0002 (and takes nothing) when they do not fit.
    fn reserve(&mut self, n: usize, span: Span) -> bool {
        if self.depth.saturating_add(n) > MAX_TREE_DEPTH {
            self.too_deep(span);
            return false;
        }
        self.depth += n;
        true
    }

    /// `not not x`, `- - x`.
    fn unary(&mut self, rule: Rule, inner: pest::iterators::Pairs<Rule>, span: Span) -> Expr {
        // Each operator nests the operand one level deeper.
        let ops = inner.clone().filter(|p| matches!(p.as_rule(), Rule::not_op | Rule::neg_op)).count();
        if !self.reserve(ops, span) {
            return error_expr(span);
        }
        let mut operand = None;
        for p in inner {
            if !matches!(p.as_rule(), Rule::not_op | Rule::neg_op) {
                operand = Some(self.expr(p));
            }
        }
        self.depth -= ops;
        let mut e = operand.unwrap_or(error_expr(span));
        let op = if rule == Rule::not_expr { UnOp::Not } else { UnOp::Neg };
        for _ in 0..ops {
            // Fold `-1` into a literal so `-1` and `- 1` are the same tree.
            e = match (op, e.kind) {
                (UnOp::Neg, ExprKind::Int(n)) => Expr { kind: ExprKind::Int(-n), span },
                (UnOp::Neg, ExprKind::Float(n)) => Expr { kind: ExprKind::Float(-n), span },
                (_, kind) => Expr { kind: ExprKind::Unary { op, expr: Box::new(Expr { kind, span: e.span }) }, span },
            };
        }
        e
    }

    /// `base.field[index](args)...`
    fn postfix(&mut self, inner: pest::iterators::Pairs<Rule>, span: Span) -> Expr {
        // Each suffix nests the base one level deeper.
        let suffixes = inner.len().saturating_sub(1);
        if !self.reserve(suffixes, span) {
            return error_expr(span);
        }
        let e = self.suffixes(inner, span);
        self.depth -= suffixes;
        e
    }

    fn suffixes(&mut self, mut inner: pest::iterators::Pairs<Rule>, span: Span) -> Expr {
        let Some(first) = inner.next() else { return error_expr(span) };
        let mut e = self.expr(first);
        for p in inner {
            let end = span_of(&p).end as usize;
            let whole = Span::new(span.start as usize, end);
            e = match p.as_rule() {
                Rule::field => {
                    let n = p.into_inner().next().map(name).unwrap_or(Name { text: String::new(), span: whole });
                    Expr { kind: ExprKind::Field { base: Box::new(e), name: n }, span: whole }
                }
                Rule::index => {
                    let index = p.into_inner().next().map_or(error_expr(whole), |i| self.expr(i));
                    Expr { kind: ExprKind::Index { base: Box::new(e), index: Box::new(index) }, span: whole }
                }
                _ => {
                    let mut args = Vec::new();
                    for a in p.into_inner() {
                        args.push(self.expr(a));
                    }
                    Expr { kind: ExprKind::Call { callee: Box::new(e), args }, span: whole }
                }
            };
        }
        e
    }

    fn slice(&self, span: Span) -> String {
        self.text.get(span.range()).unwrap_or("").to_string()
    }
}

/// Descends, without recursion, through the nodes that only wrap one child:
/// `expr`, `primary`, `literal`, and operator chains without an operator.
/// Recursion (and the depth budget) then follows the tree actually built,
/// not the grammar's dozen precedence levels per bracket.
fn skip_wrappers(mut pair: Pair<Rule>) -> (Pair<Rule>, Option<Span>) {
    let mut parens = None;
    loop {
        if pair.as_rule() == Rule::primary && pair.as_str().starts_with('(') && parens.is_none() {
            parens = Some(span_of(&pair));
        }
        match pair.as_rule() {
            Rule::expr
            | Rule::primary
            | Rule::literal
            | Rule::or_expr
            | Rule::and_expr
            | Rule::not_expr
            | Rule::cmp_expr
            | Rule::coalesce
            | Rule::sum
            | Rule::product
            | Rule::unary
            | Rule::postfix => {
                let mut inner = pair.clone().into_inner();
                match (inner.next(), inner.next()) {
                    (Some(only), None) => pair = only,
                    _ => return (pair, parens),
                }
            }
            _ => return (pair, parens),
        }
    }
}

fn push_lit(parts: &mut Vec<StrPart>, s: &str) {
    if let Some(StrPart::Lit(last)) = parts.last_mut() {
        last.push_str(s);
    } else {
        parts.push(StrPart::Lit(s.to_string()));
    }
}

fn binop(pair: &Pair<Rule>) -> BinOp {
    let text = pair.as_str();
    if pair.clone().into_inner().any(|p| p.as_rule() == Rule::not_in) {
        return BinOp::NotIn;
    }
    match text.split_whitespace().collect::<Vec<_>>().join(" ").as_str() {
        "or" => BinOp::Or,
        "and" => BinOp::And,
        "==" => BinOp::Eq,
        "!=" => BinOp::NotEq,
        "<" => BinOp::Lt,
        "<=" => BinOp::LtEq,
        ">" => BinOp::Gt,
        ">=" => BinOp::GtEq,
        "in" => BinOp::In,
        "matches" => BinOp::Matches,
        "??" => BinOp::Coalesce,
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "%" => BinOp::Rem,
        _ => BinOp::NotIn,
    }
}

fn path(pair: Pair<Rule>) -> Path {
    let span = span_of(&pair);
    Path { segments: pair.into_inner().map(name).collect(), span }
}

fn binding(pair: Pair<Rule>) -> Binding {
    let mut inner = pair.into_inner();
    let first = inner.next().map(name).unwrap_or(Name { text: String::new(), span: Span::default() });
    Binding { first, second: inner.next().map(name) }
}
