//! Completion. The context comes from the text before the cursor (after
//! `import`, after `severity =`, at the start of a statement in a check,
//! after `.`); types and scopes come from the analysis of the item under
//! the cursor, re-parsed with a placeholder name at the cursor when nothing
//! has been typed yet (`f.` alone does not parse; `f.__complete` does).

use crate::analysis::{self, Receiver};
use crate::features::{meta_doc, severity_doc};
use crate::world::World;
use mlpol_lang::builtins;
use mlpol_lang::check::{GlobalKind, Globals, META_KEYS, SEVERITIES};
use mlpol_lang::db;
use mlpol_lang::syntax::lexer::{lex, Token};
use mlpol_lang::syntax::parse_item;
use mlpol_lang::types::Type;
use tower_lsp_server::ls_types::{self as lsp, CompletionItem, CompletionItemKind, Uri};

const PLACEHOLDER: &str = "__mlpol_complete";

const ITEM_KEYWORDS: &[&str] = &["module", "import", "param", "let", "fn", "check"];
const STMT_KEYWORDS: &[&str] = &["let", "require", "skip when", "for", "if"];
const EXPR_KEYWORDS: &[&str] = &[
    "not", "and", "or", "in", "matches", "if", "then", "else", "at", "all", "any", "count", "filter", "map", "true",
    "false", "null",
];

fn item(label: &str, kind: CompletionItemKind, detail: Option<String>, doc: Option<String>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail,
        documentation: doc.filter(|d| !d.trim().is_empty()).map(|d| {
            lsp::Documentation::MarkupContent(lsp::MarkupContent { kind: lsp::MarkupKind::Markdown, value: d })
        }),
        ..CompletionItem::default()
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl World {
    /// Completions at a position. `trigger` is the character that made the
    /// editor ask (`.`, a space, `"`), if one did: a space or a quote only
    /// completes after `import` and `severity =`, so typing does not pop up
    /// every name after every space.
    pub fn completion(&self, uri: &Uri, position: lsp::Position, trigger: Option<&str>) -> Vec<CompletionItem> {
        let Some(view) = self.view(uri) else { return Vec::new() };
        let offset = view.offset(position);
        let text = view.text;
        let line_start = text.get(..offset).and_then(|t| t.rfind('\n')).map_or(0, |i| i + 1);
        let prefix = text.get(line_start..offset).unwrap_or("");
        let partial_len = prefix.chars().rev().take_while(|c| is_word(*c)).map(char::len_utf8).sum::<usize>();
        let before_partial = prefix.get(..prefix.len() - partial_len).unwrap_or("");
        let trimmed = before_partial.trim_start();

        // `import ` and `import "`.
        if let Some(rest) = prefix.trim_start().strip_prefix("import") {
            if rest.starts_with([' ', '\t']) && !rest.trim_start().contains(' ') {
                return self.import_completions(view.file, rest.trim_start().starts_with('"'));
            }
        }
        let after_severity = trimmed.strip_prefix("severity").is_some_and(|r| r.trim() == "=");
        if matches!(trigger, Some(" " | "\"")) && !after_severity {
            return Vec::new();
        }
        // Nothing in comments and plain strings: both end at the end of
        // their line, so the line alone tells. A comment and an unterminated
        // string run to the end of the line, so a cursor at their end is
        // still inside them.
        let line_end = text.get(offset..).and_then(|t| t.find('\n')).map_or(text.len(), |i| offset + i);
        let line = text.get(line_start..line_end).unwrap_or("");
        let col = offset - line_start;
        let open_ended = |t: Token| matches!(t, Token::Comment | Token::DocComment | Token::Error);
        if let Some(l) =
            lex(line).into_iter().find(|l| l.start < col && (col < l.end || (col == l.end && open_ended(l.token))))
        {
            let inside = line.get(l.start..col).unwrap_or("");
            match l.token {
                Token::Comment | Token::DocComment | Token::Regex => return Vec::new(),
                // Inside an interpolation `{...}` names complete as usual.
                Token::Str | Token::Error
                    if inside.starts_with('"') && inside.matches('{').count() <= inside.matches('}').count() =>
                {
                    return Vec::new();
                }
                _ => {}
            }
        }
        let Some(at) = self.item_at(view.file, offset) else { return self.top_level() };
        let item_text = text.get(at.offset..at.end).unwrap_or("");
        let rel = offset - at.offset;
        let lexemes = lex(item_text);
        // `severity = `
        if after_severity {
            return SEVERITIES
                .iter()
                .map(|s| {
                    item(
                        s,
                        CompletionItemKind::ENUM_MEMBER,
                        Some("severity".into()),
                        severity_doc(s).map(str::to_string),
                    )
                })
                .collect();
        }
        let depth: i64 = lexemes
            .iter()
            .filter(|l| l.end <= rel)
            .map(|l| i64::from(l.token.opens()) - i64::from(l.token.closes()))
            .sum();
        let first = lexemes.iter().find(|l| !l.token.is_trivia()).map(|l| l.token);
        let at_line_start = trimmed.is_empty();

        // After a dot: the receiver's members.
        if before_partial.ends_with('.') {
            return self.member_completions(view.file, at.offset, item_text, rel, partial_len, before_partial);
        }
        if at_line_start && depth <= 0 {
            return self.top_level();
        }
        if at_line_start && first == Some(Token::Check) {
            let mut out: Vec<CompletionItem> = Vec::new();
            if depth == 1 {
                out.extend(META_KEYS.iter().map(|k| {
                    let mut c = item(
                        k,
                        CompletionItemKind::PROPERTY,
                        Some("check metadata".into()),
                        meta_doc(k).map(str::to_string),
                    );
                    c.insert_text = Some(format!("{k} = "));
                    c
                }));
            }
            out.extend(STMT_KEYWORDS.iter().map(|k| item(k, CompletionItemKind::KEYWORD, None, None)));
            return out;
        }
        self.name_completions(view.file, at.offset, item_text, rel, partial_len)
    }

    fn top_level(&self) -> Vec<CompletionItem> {
        ITEM_KEYWORDS.iter().map(|k| item(k, CompletionItemKind::KEYWORD, None, None)).collect()
    }

    fn import_completions(&self, file: mlpol_lang::db::SourceFile, quoted: bool) -> Vec<CompletionItem> {
        let mut out = Vec::new();
        let here = file.path(&self.db).clone();
        let dir = here.rsplit_once('/').map_or("", |(d, _)| d);
        for f in self.files() {
            if f == file {
                continue;
            }
            if quoted {
                let path = f.path(&self.db);
                if path.starts_with("std/") {
                    continue;
                }
                let rel = relative(dir, path);
                out.push(item(&rel, CompletionItemKind::FILE, None, None));
            } else if let Some(m) = db::module_name(&self.db, f) {
                out.push(item(&m, CompletionItemKind::MODULE, Some(f.path(&self.db).clone()), None));
            }
        }
        out.sort_by(|a, b| a.label.cmp(&b.label));
        out.dedup_by(|a, b| a.label == b.label);
        out
    }

    /// The item's text with a placeholder at the cursor when no name has
    /// been typed there, analysed.
    fn analyse_at(
        &self,
        file: mlpol_lang::db::SourceFile,
        item_offset: usize,
        item_text: &str,
        rel: usize,
        partial_len: usize,
    ) -> analysis::ItemAnalysis {
        let patched;
        let source = if partial_len == 0 {
            patched =
                format!("{}{PLACEHOLDER}{}", item_text.get(..rel).unwrap_or(""), item_text.get(rel..).unwrap_or(""));
            patched.as_str()
        } else {
            item_text
        };
        let parse = parse_item(source);
        self.analyse(file, &parse.ast, item_offset)
    }

    fn member_completions(
        &self,
        file: mlpol_lang::db::SourceFile,
        item_offset: usize,
        item_text: &str,
        rel: usize,
        partial_len: usize,
        before_partial: &str,
    ) -> Vec<CompletionItem> {
        let analysis = self.analyse_at(file, item_offset, item_text, rel, partial_len);
        let name_start = item_offset + rel - partial_len;
        let receiver =
            analysis.fields.iter().find(|f| f.name.start == name_start).map(|f| f.receiver.clone()).or_else(|| {
                // The tree did not say: the word before the dot may still name a
                // namespace or an import.
                let base = before_partial.strip_suffix('.')?;
                let word: String =
                    base.chars().rev().take_while(|c| is_word(*c)).collect::<Vec<_>>().into_iter().rev().collect();
                if self.schema.is_namespace(&word) {
                    return Some(Receiver::Namespace(word));
                }
                let imports = self.imports_of(file);
                let import = imports.get(&word)?;
                Some(Receiver::Module { alias: word, globals: import.globals.clone() })
            });
        match receiver {
            Some(Receiver::Namespace(ns)) => {
                let Some((_, fns)) = self.schema.namespaces.get(&ns) else { return Vec::new() };
                fns.values()
                    .map(|f| item(&f.name, CompletionItemKind::FUNCTION, Some(f.signature()), Some(f.doc.clone())))
                    .collect()
            }
            Some(Receiver::Module { globals, .. }) => globals.map(|g| global_items(&g)).unwrap_or_default(),
            Some(Receiver::Value(ty)) => self.value_members(&ty),
            None => self.value_members(&Type::Any),
        }
    }

    fn value_members(&self, ty: &Type) -> Vec<CompletionItem> {
        let mut out = Vec::new();
        match ty.strip_optional() {
            Type::Record(r) => {
                if let Some(def) = self.schema.records.get(r) {
                    for f in &def.fields {
                        out.push(item(
                            &f.name,
                            CompletionItemKind::FIELD,
                            Some(format!("{r}.{}: {}", f.name, f.ty)),
                            Some(f.doc.clone()),
                        ));
                    }
                }
            }
            Type::Struct(fields) => {
                for (name, t) in fields {
                    out.push(item(name, CompletionItemKind::FIELD, Some(t.to_string()), None));
                }
            }
            _ => {}
        }
        // Builtins whose first parameter takes the receiver, as methods
        // (unless a field has the name).
        for b in builtins::BUILTINS {
            if out.iter().any(|c| c.label == b.name) {
                continue;
            }
            let mut args = vec![ty.clone()];
            args.extend(std::iter::repeat_n(Type::Any, b.min_args.saturating_sub(1)));
            if b.min_args >= 1 && builtins::result_type(b.name, &args).is_ok() {
                out.push(item(
                    b.name,
                    CompletionItemKind::METHOD,
                    Some(b.signature.to_string()),
                    Some(b.doc.to_string()),
                ));
            }
        }
        out
    }

    fn name_completions(
        &self,
        file: mlpol_lang::db::SourceFile,
        item_offset: usize,
        item_text: &str,
        rel: usize,
        partial_len: usize,
    ) -> Vec<CompletionItem> {
        let mut out = Vec::new();
        let analysis = self.analyse_at(file, item_offset, item_text, rel, partial_len);
        let at = item_offset + rel;
        let mut seen = std::collections::BTreeSet::new();
        for local in analysis.locals.iter().rev() {
            if local.visible.start <= at
                && at <= local.visible.end
                && local.name != PLACEHOLDER
                && seen.insert(local.name.clone())
            {
                out.push(item(&local.name, CompletionItemKind::VARIABLE, Some(local.ty.to_string()), None));
            }
        }
        for c in global_items(&self.globals_of(file)) {
            if seen.insert(c.label.clone()) {
                out.push(c);
            }
        }
        for (alias, import) in self.imports_of(file) {
            if seen.insert(alias.clone()) {
                let detail = import.file.map(|f| f.path(&self.db).clone());
                out.push(item(&alias, CompletionItemKind::MODULE, detail, None));
            }
        }
        for (ns, (doc, _)) in &self.schema.namespaces {
            if seen.insert(ns.clone()) {
                out.push(item(ns, CompletionItemKind::MODULE, Some("collector".into()), Some(doc.clone())));
            }
        }
        for b in builtins::BUILTINS {
            if seen.insert(b.name.to_string()) {
                out.push(item(
                    b.name,
                    CompletionItemKind::FUNCTION,
                    Some(b.signature.to_string()),
                    Some(b.doc.to_string()),
                ));
            }
        }
        out.extend(EXPR_KEYWORDS.iter().map(|k| item(k, CompletionItemKind::KEYWORD, None, None)));
        out
    }
}

fn global_items(globals: &Globals) -> Vec<CompletionItem> {
    globals
        .iter()
        .map(|(name, g)| {
            let kind = match g.kind {
                GlobalKind::Fn => CompletionItemKind::FUNCTION,
                GlobalKind::Param => CompletionItemKind::CONSTANT,
                GlobalKind::Let => CompletionItemKind::VARIABLE,
            };
            item(name, kind, Some(g.signature(name)), g.doc.clone())
        })
        .collect()
}

/// `to` relative to the directory `from` (both `/`-separated).
fn relative(from: &str, to: &str) -> String {
    let a: Vec<&str> = from.split('/').filter(|s| !s.is_empty()).collect();
    let b: Vec<&str> = to.split('/').filter(|s| !s.is_empty()).collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<&str> = std::iter::repeat_n("..", a.len() - common).collect();
    parts.extend(b.iter().skip(common));
    parts.join("/")
}
