//! Hover, go to definition, references, symbols, formatting, code actions
//! and code lenses, computed from the database (synchronously, under the
//! server's lock).

use crate::analysis::{self, ImportInfo, ItemAnalysis, Occurrence, Target};
use crate::convert;
use crate::line_index::LineIndex;
use crate::world::{CheckStatus, Origin, World};
use mlpol_lang::check::{GlobalKind, Globals};
use mlpol_lang::db::{self, SourceFile};
use mlpol_lang::syntax::ast::{ExprKind, Item, ItemKind, StmtKind, StrPart};
use mlpol_lang::syntax::Parse;
use mlpol_lang::{builtins, fmt};
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::Arc;
use tower_lsp_server::ls_types::{self as lsp, Uri};

pub const EVALUATE_COMMAND: &str = "mlpol.evaluate";

/// One file, ready for position conversions.
pub struct View<'w> {
    pub file: SourceFile,
    pub uri: Uri,
    pub text: &'w str,
    pub index: LineIndex,
}

impl View<'_> {
    pub fn range(&self, r: Range<usize>) -> lsp::Range {
        self.index.range(self.text, r)
    }
    pub fn offset(&self, p: lsp::Position) -> usize {
        self.index.offset(self.text, p)
    }
}

/// An item of a file with its file-relative range.
pub struct ItemAt<'w> {
    pub offset: usize,
    pub end: usize,
    pub parse: &'w Parse,
}

impl World {
    pub fn view(&self, uri: &Uri) -> Option<View<'_>> {
        let entry = self.entry(uri)?;
        let text = self.text(entry.file);
        Some(View { file: entry.file, uri: entry.uri.clone(), text, index: LineIndex::new(text) })
    }

    pub fn view_of(&self, file: SourceFile) -> Option<View<'_>> {
        let entry = self.entry_of(file)?;
        let text = self.text(file);
        Some(View { file, uri: entry.uri.clone(), text, index: LineIndex::new(text) })
    }

    pub fn items(&self, file: SourceFile) -> Vec<ItemAt<'_>> {
        let parsed = db::items(&self.db, file);
        let len = self.text(file).len();
        let mut out: Vec<ItemAt<'_>> = Vec::with_capacity(parsed.len());
        for (i, (offset, parse)) in parsed.iter().enumerate() {
            let end = parsed.get(i + 1).map_or(len, |(next, _)| *next);
            out.push(ItemAt { offset: *offset, end, parse });
        }
        out
    }

    /// The item whose text contains `offset` (the end of the file belongs
    /// to the last item).
    pub fn item_at(&self, file: SourceFile, offset: usize) -> Option<ItemAt<'_>> {
        self.items(file).into_iter().rev().find(|i| i.offset <= offset)
    }

    pub fn imports_of(&self, file: SourceFile) -> BTreeMap<String, ImportInfo> {
        let files = db::import_files(&self.db, self.ws, file);
        let globals = db::file_imports(&self.db, self.ws, file);
        files
            .iter()
            .map(|(alias, f)| (alias.clone(), ImportInfo { file: *f, globals: globals.get(alias).cloned().flatten() }))
            .collect()
    }

    pub fn globals_of(&self, file: SourceFile) -> Arc<Globals> {
        db::module_globals(&self.db, file)
    }

    pub fn analyse(&self, file: SourceFile, item: &Item, offset: usize) -> ItemAnalysis {
        let globals = self.globals_of(file);
        let imports = self.imports_of(file);
        let cx = analysis::Context { schema: &self.schema, file, globals: &globals, imports: &imports };
        analysis::analyse(&cx, item, offset)
    }

    /// Every occurrence in a file.
    pub fn occurrences(&self, file: SourceFile) -> Vec<Occurrence> {
        let globals = self.globals_of(file);
        let imports = self.imports_of(file);
        let cx = analysis::Context { schema: &self.schema, file, globals: &globals, imports: &imports };
        self.items(file).iter().flat_map(|i| analysis::analyse(&cx, &i.parse.ast, i.offset).occurrences).collect()
    }

    /// The innermost occurrence at a cursor: a cursor just after a name
    /// still names it.
    pub fn occurrence_at(&self, file: SourceFile, offset: usize) -> Option<Occurrence> {
        let item = self.item_at(file, offset)?;
        let analysis = self.analyse(file, &item.parse.ast, item.offset);
        let hits = |o: &&Occurrence| o.span.start <= offset && offset < o.span.end;
        let touches = |o: &&Occurrence| o.span.start <= offset && offset <= o.span.end;
        let smallest = |v: Vec<&Occurrence>| v.into_iter().min_by_key(|o| o.span.len()).cloned();
        smallest(analysis.occurrences.iter().filter(hits).collect())
            .or_else(|| smallest(analysis.occurrences.iter().filter(touches).collect()))
    }

    fn module_label(&self, file: SourceFile) -> String {
        match db::module_name(&self.db, file) {
            Some(m) => format!("module `{m}`"),
            None => format!("`{}`", file_name(file.path(&self.db))),
        }
    }

    // ----- hover -----

    pub fn hover(&self, uri: &Uri, position: lsp::Position) -> Option<lsp::Hover> {
        let view = self.view(uri)?;
        let offset = view.offset(position);
        let occ = self.occurrence_at(view.file, offset)?;
        let value = self.describe(view.file, &occ.target)?;
        Some(lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent { kind: lsp::MarkupKind::Markdown, value }),
            range: Some(view.range(occ.span)),
        })
    }

    /// Markdown for what a target is.
    pub fn describe(&self, file: SourceFile, target: &Target) -> Option<String> {
        let code = |s: &str| format!("```mlpol\n{s}\n```");
        let with_doc = |head: String, doc: Option<&str>| match doc.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => format!("{head}\n\n{d}"),
            None => head,
        };
        Some(match target {
            Target::Local { name, ty, .. } => code(&format!("{name}: {ty}")),
            Target::Global { file: owner, name } => {
                let globals = self.globals_of(*owner);
                let g = globals.get(name)?;
                let mut head = code(&g.signature(name));
                if *owner != file {
                    head.push_str(&format!("\n\nfrom {}", self.module_label(*owner)));
                }
                if g.kind == GlobalKind::Param {
                    if let Some(default) = self.param_default(*owner, name) {
                        head.push_str(&format!("\n\ndefault: `{default}`"));
                    }
                }
                with_doc(head, g.doc.as_deref())
            }
            Target::Import { alias, file: imported } => match imported {
                Some(f) => {
                    let doc = self.items(*f).iter().find_map(|i| match &i.parse.ast.kind {
                        ItemKind::Module(_) => i.parse.ast.doc.clone(),
                        _ => None,
                    });
                    let head = match db::module_name(&self.db, *f) {
                        Some(m) => code(&format!("module {m}")),
                        None => code(&format!("import \"{}\"", f.path(&self.db))),
                    };
                    let place = match self.entry_of(*f) {
                        Some(e) if e.origin == Origin::Bundled => "bundled with mlpol".to_string(),
                        _ => format!("`{}`", f.path(&self.db)),
                    };
                    with_doc(format!("{head}\n\nimported as `{alias}` from {place}"), doc.as_deref())
                }
                None => code(&format!("import {alias}")) + "\n\n(not found)",
            },
            Target::Namespace(ns) => {
                let (doc, fns) = self.schema.namespaces.get(ns)?;
                let sigs: Vec<String> = fns.values().map(|f| f.signature()).collect();
                format!("{}\n\n{doc}\n\n{}", code(&format!("collector {ns}")), code(&sigs.join("\n")))
            }
            Target::FactFn { namespace, name } => {
                let f = self.schema.fact_fn(namespace, name)?;
                let mut s = with_doc(code(&f.signature()), Some(&f.doc));
                if f.network {
                    s.push_str("\n\nTouches the network (skipped with `--offline`).");
                }
                s
            }
            Target::Builtin(name) => {
                let b = builtins::lookup(name)?;
                with_doc(code(b.signature), Some(b.doc))
            }
            Target::Field { record, field, ty } => {
                let def = self.schema.records.get(record)?;
                let f = def.field(field)?;
                with_doc(code(&format!("{record}.{field}: {ty}")), Some(&f.doc))
            }
            Target::Record(name) => {
                let def = self.schema.records.get(name)?;
                let fields: Vec<String> = def.fields.iter().map(|f| format!("  {}: {}", f.name, f.ty)).collect();
                with_doc(code(&format!("record {name} {{\n{}\n}}", fields.join("\n"))), Some(&def.doc))
            }
            Target::Check(id) => self.describe_check(id)?,
            Target::MetaKey(key) => {
                let doc = meta_doc(key)?;
                format!("{}\n\n{doc}", code(&format!("{key} = ...")))
            }
            Target::Severity(s) => {
                let doc = severity_doc(s)?;
                format!("{}\n\n{doc}", code(&format!("severity = {s}")))
            }
        })
    }

    fn param_default(&self, file: SourceFile, name: &str) -> Option<String> {
        let items = self.items(file);
        let text = self.text(file);
        items.iter().find_map(|i| match &i.parse.ast.kind {
            ItemKind::Param(p) if p.name.text == name => {
                let d = p.default.as_ref()?;
                text.get(d.span.start as usize + i.offset..d.span.end as usize + i.offset).map(str::to_string)
            }
            _ => None,
        })
    }

    fn describe_check(&self, id: &str) -> Option<String> {
        let metas = mlpol_lang::eval::check_metas(&self.db, self.ws);
        let m = metas.iter().find(|m| m.id == id)?;
        let mut s = format!("**{}** · `{id}`", if m.title.is_empty() { "(no title)" } else { &m.title });
        if !m.severity.is_empty() {
            s.push_str(&format!("\n\nseverity: **{}**", m.severity));
        }
        if !m.section.is_empty() {
            s.push_str(&format!("  \nsection: {}", m.section.join(" › ")));
        }
        if !m.tags.is_empty() {
            s.push_str(&format!(
                "  \ntags: {}",
                m.tags.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some(doc) = m.doc.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            s.push_str(&format!("\n\n{doc}"));
        }
        if !m.remediation.is_empty() {
            s.push_str(&format!("\n\n**Remediation:** {}", m.remediation));
        }
        if let Some(st) = self.statuses.get(id) {
            s.push_str(&format!(
                "\n\n**Last evaluation:** {}{}",
                st.status,
                if st.message.is_empty() { String::new() } else { format!(" — {}", st.message) }
            ));
        }
        Some(s)
    }

    // ----- definition and references -----

    fn location(&self, file: SourceFile, span: Range<usize>) -> Option<lsp::Location> {
        let view = self.view_of(file)?;
        Some(lsp::Location { uri: view.uri.clone(), range: view.range(span) })
    }

    pub fn definition(&self, uri: &Uri, position: lsp::Position) -> Option<lsp::Location> {
        let view = self.view(uri)?;
        let occ = self.occurrence_at(view.file, view.offset(position))?;
        match &occ.target {
            Target::Local { decl, .. } => {
                Some(lsp::Location { uri: view.uri.clone(), range: view.range(decl.clone()) })
            }
            Target::Global { file, name } => {
                let span = self.globals_of(*file).get(name)?.span.clone();
                self.location(*file, span)
            }
            Target::Import { file: Some(f), .. } => {
                let header = self.items(*f).iter().find_map(|i| match &i.parse.ast.kind {
                    ItemKind::Module(p) => Some(p.span.start as usize + i.offset..p.span.end as usize + i.offset),
                    _ => None,
                });
                self.location(*f, header.unwrap_or(0..0))
            }
            Target::Check(id) => {
                let places = db::check_ids(&self.db, self.ws).get(id)?.clone();
                let (f, span) = places.first()?.clone();
                self.location(f, span)
            }
            _ => None,
        }
    }

    pub fn references(&self, uri: &Uri, position: lsp::Position, include_declaration: bool) -> Vec<lsp::Location> {
        let Some(view) = self.view(uri) else { return Vec::new() };
        let Some(occ) = self.occurrence_at(view.file, view.offset(position)) else { return Vec::new() };
        // Locals and import aliases are confined to their file.
        let files: Vec<SourceFile> = match &occ.target {
            Target::Local { .. } | Target::Import { .. } => vec![view.file],
            _ => self.files(),
        };
        let mut out = Vec::new();
        for f in files {
            let Some(v) = self.view_of(f) else { continue };
            for o in self.occurrences(f) {
                if (include_declaration || !o.decl) && same_target(&o.target, &occ.target) {
                    out.push(lsp::Location { uri: v.uri.clone(), range: v.range(o.span) });
                }
            }
        }
        out
    }

    // ----- symbols -----

    #[allow(deprecated)] // `DocumentSymbol::deprecated` must be written out.
    pub fn document_symbols(&self, uri: &Uri) -> Vec<lsp::DocumentSymbol> {
        let Some(view) = self.view(uri) else { return Vec::new() };
        let mut out = Vec::new();
        for item in self.items(view.file) {
            let Some((name, detail, kind, sel)) = symbol_of(&item.parse.ast) else { continue };
            let whole = item.parse.ast.span;
            let range = view.range(whole.start as usize + item.offset..whole.end as usize + item.offset);
            let selection = view.range(sel.start + item.offset..sel.end + item.offset);
            out.push(lsp::DocumentSymbol {
                name,
                detail,
                kind,
                tags: None,
                deprecated: None,
                range,
                selection_range: selection,
                children: None,
            });
        }
        out
    }

    pub fn workspace_symbols(&self, query: &str) -> Vec<lsp::WorkspaceSymbol> {
        let query = query.to_lowercase();
        let mut out = Vec::new();
        for file in self.files() {
            let Some(view) = self.view_of(file) else { continue };
            let container =
                db::module_name(&self.db, file).unwrap_or_else(|| file_name(file.path(&self.db)).to_string());
            for item in self.items(file) {
                let Some((name, detail, kind, sel)) = symbol_of(&item.parse.ast) else { continue };
                let haystack = format!("{name} {}", detail.as_deref().unwrap_or("")).to_lowercase();
                if !fuzzy(&query, &haystack) {
                    continue;
                }
                out.push(lsp::WorkspaceSymbol {
                    name: match &detail {
                        Some(d) if kind == lsp::SymbolKind::CLASS => format!("{name} — {d}"),
                        _ => name,
                    },
                    kind,
                    tags: None,
                    container_name: Some(container.clone()),
                    location: lsp::OneOf::Left(lsp::Location {
                        uri: view.uri.clone(),
                        range: view.range(sel.start + item.offset..sel.end + item.offset),
                    }),
                    data: None,
                });
            }
        }
        out
    }

    // ----- formatting -----

    pub fn formatting(&self, uri: &Uri) -> Option<Vec<lsp::TextEdit>> {
        let view = self.view(uri)?;
        if self.entry(uri).is_some_and(|e| e.origin == Origin::Bundled) {
            return Some(Vec::new());
        }
        let formatted = fmt::format(view.text);
        if formatted == view.text {
            return Some(Vec::new());
        }
        Some(vec![lsp::TextEdit { range: view.range(0..view.text.len()), new_text: formatted }])
    }

    // ----- code actions -----

    pub fn code_actions(
        &self,
        uri: &Uri,
        range: lsp::Range,
        today: mlpol_stdlib::config::Date,
    ) -> Vec<lsp::CodeActionOrCommand> {
        let Some(view) = self.view(uri) else { return Vec::new() };
        let (start, end) = (view.offset(range.start), view.offset(range.end));
        let mut out = Vec::new();
        for d in self.diagnostics_of(view.file) {
            let overlaps = d.span.start <= end && start <= d.span.end;
            let Some(replacement) = convert::suggestion(&d).filter(|_| overlaps) else { continue };
            // A quoted import path is not replaced by a module name.
            if view.text.get(d.span.clone()).is_none_or(|t| t.starts_with('"')) {
                continue;
            }
            let found = view.text.get(d.span.clone()).unwrap_or("");
            let edit = lsp::TextEdit { range: view.range(d.span.clone()), new_text: replacement.clone() };
            out.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                title: format!("Replace `{found}` with `{replacement}`"),
                kind: Some(lsp::CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![convert::diagnostic(&view.uri, view.text, &view.index, &d)]),
                edit: Some(lsp::WorkspaceEdit {
                    changes: Some(HashMap::from([(view.uri.clone(), vec![edit])])),
                    ..Default::default()
                }),
                is_preferred: Some(true),
                ..Default::default()
            }));
        }
        if let Some(action) = self.waiver_action(&view, start, today) {
            out.push(action);
        }
        out
    }

    /// "Add a waiver for this check to mlpol.toml", when the cursor is in a
    /// check.
    fn waiver_action(
        &self,
        view: &View,
        offset: usize,
        today: mlpol_stdlib::config::Date,
    ) -> Option<lsp::CodeActionOrCommand> {
        let item = self.item_at(view.file, offset)?;
        let ItemKind::Check(check) = &item.parse.ast.kind else { return None };
        let id = check.id.dotted();
        let key = self.entry(&view.uri).map(|_| crate::world::key_of(&view.uri))?;
        let root = self.root_for(&key)?;
        let toml = root.join("mlpol.toml");
        let toml_uri = Uri::from_file_path(&toml)?;
        let expires = mlpol_stdlib::config::Date::from_days(today.days() + 90);
        let block = format!(
            "[[waiver]]\ncheck = \"{id}\"\nreason = \"TODO: why this check does not apply\"\nowner = \"TODO: who answers for it\"\nexpires = {expires}\n"
        );
        let edit = match std::fs::read_to_string(&toml) {
            Ok(existing) => {
                let index = LineIndex::new(&existing);
                let end = index.end(&existing);
                let sep = if existing.is_empty() || existing.ends_with("\n\n") {
                    ""
                } else if existing.ends_with('\n') {
                    "\n"
                } else {
                    "\n\n"
                };
                let text_edit =
                    lsp::TextEdit { range: lsp::Range { start: end, end }, new_text: format!("{sep}{block}") };
                lsp::WorkspaceEdit { changes: Some(HashMap::from([(toml_uri, vec![text_edit])])), ..Default::default() }
            }
            Err(_) => {
                let create = lsp::DocumentChangeOperation::Op(lsp::ResourceOp::Create(lsp::CreateFile {
                    uri: toml_uri.clone(),
                    options: Some(lsp::CreateFileOptions { overwrite: Some(false), ignore_if_exists: Some(true) }),
                    annotation_id: None,
                }));
                let insert = lsp::DocumentChangeOperation::Edit(lsp::TextDocumentEdit {
                    text_document: lsp::OptionalVersionedTextDocumentIdentifier { uri: toml_uri, version: None },
                    edits: vec![lsp::OneOf::Left(lsp::TextEdit { range: lsp::Range::default(), new_text: block })],
                });
                lsp::WorkspaceEdit {
                    document_changes: Some(lsp::DocumentChanges::Operations(vec![create, insert])),
                    ..Default::default()
                }
            }
        };
        Some(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
            title: format!("Add a waiver for `{id}` to mlpol.toml"),
            kind: Some(lsp::CodeActionKind::QUICKFIX),
            edit: Some(edit),
            ..Default::default()
        }))
    }

    // ----- code lenses -----

    pub fn code_lenses(&self, uri: &Uri) -> Vec<lsp::CodeLens> {
        let Some(view) = self.view(uri) else { return Vec::new() };
        let mut out = Vec::new();
        for item in self.items(view.file) {
            let ItemKind::Check(check) = &item.parse.ast.kind else { continue };
            let id = check.id.dotted();
            let span = check.id.span.start as usize + item.offset..check.id.span.end as usize + item.offset;
            let title = match self.statuses.get(&id) {
                Some(st) => lens_title(st),
                None if self.not_evaluated.contains(view.file.path(&self.db)) => {
                    "⚠ not evaluated: this file has errors".to_string()
                }
                None => "▶ evaluate".to_string(),
            };
            out.push(lsp::CodeLens {
                range: view.range(span),
                command: Some(lsp::Command { title, command: EVALUATE_COMMAND.to_string(), arguments: None }),
                data: None,
            });
        }
        out
    }
}

pub fn lens_title(st: &CheckStatus) -> String {
    let mark = match st.status.as_str() {
        "pass" => "✔",
        "fail" => "✘",
        "error" => "⚠",
        "skip" => "○",
        _ => "◇",
    };
    let mut t = format!("{mark} {}", st.status);
    if st.findings > 0 {
        t.push_str(&format!(" · {} finding{}", st.findings, if st.findings == 1 { "" } else { "s" }));
    }
    if !st.message.is_empty() {
        let short: String = st.message.chars().take(80).collect();
        t.push_str(&format!(" — {short}"));
    }
    t
}

/// Whether two occurrences refer to the same thing (types aside).
fn same_target(a: &Target, b: &Target) -> bool {
    match (a, b) {
        (Target::Local { decl: x, .. }, Target::Local { decl: y, .. }) => x == y,
        (Target::Field { record: r1, field: f1, .. }, Target::Field { record: r2, field: f2, .. }) => {
            r1 == r2 && f1 == f2
        }
        (Target::Import { alias: a1, .. }, Target::Import { alias: a2, .. }) => a1 == a2,
        _ => a == b,
    }
}

/// Name, detail, kind and name span (item-relative) of an item's symbol.
fn symbol_of(item: &Item) -> Option<(String, Option<String>, lsp::SymbolKind, Range<usize>)> {
    Some(match &item.kind {
        ItemKind::Check(c) => {
            let title = c.body.iter().find_map(|s| match &s.kind {
                StmtKind::Meta { key, value } if key.text == "title" => match &value.kind {
                    ExprKind::Str(parts) => Some(
                        parts
                            .iter()
                            .map(|p| match p {
                                StrPart::Lit(s) => s.as_str(),
                                StrPart::Expr(_) => "…",
                            })
                            .collect::<String>(),
                    ),
                    _ => None,
                },
                _ => None,
            });
            (c.id.dotted(), title, lsp::SymbolKind::CLASS, c.id.span.range())
        }
        ItemKind::Fn(f) => (f.name.text.clone(), Some("fn".into()), lsp::SymbolKind::FUNCTION, f.name.span.range()),
        ItemKind::Let(l) => (l.name.text.clone(), Some("let".into()), lsp::SymbolKind::VARIABLE, l.name.span.range()),
        ItemKind::Param(p) => {
            (p.name.text.clone(), Some("param".into()), lsp::SymbolKind::CONSTANT, p.name.span.range())
        }
        ItemKind::Module(p) => (p.dotted(), Some("module".into()), lsp::SymbolKind::MODULE, p.span.range()),
        ItemKind::Import(i) => {
            let name = i.bound_name()?;
            (name.text, Some("import".into()), lsp::SymbolKind::NAMESPACE, name.span.range())
        }
        ItemKind::Broken { name, keyword } => {
            (name.text.clone(), Some(keyword.clone()), lsp::SymbolKind::VARIABLE, name.span.range())
        }
        ItemKind::Test(t) => (t.name.clone(), Some("test".into()), lsp::SymbolKind::METHOD, t.name_span.range()),
        ItemKind::Error => return None,
    })
}

/// Subsequence match: `sncod` finds `secrets.not_in_code`.
fn fuzzy(query: &str, haystack: &str) -> bool {
    let mut chars = haystack.chars();
    query.chars().filter(|c| !c.is_whitespace()).all(|q| chars.any(|h| h == q))
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

pub fn meta_doc(key: &str) -> Option<&'static str> {
    Some(match key {
        "title" => "The checklist item's title, verbatim (reports group and score by it). Required.",
        "section" => "The checklist heading path, e.g. `[\"Secrets Management\", \"Environment Variables\"]`.",
        "severity" => {
            "How much a failure weighs in the Security Score: `critical`, `high`, `medium` or `low`. Required."
        }
        "tags" => "Free-form tags; `mlpol eval --only TAG` selects by them.",
        "remediation" => "What to do when the check fails; shown with every failure.",
        "references" => "Links to standards or documentation.",
        "validation" => "How a person would verify the item by hand (the checklist's validation column).",
        "attestation" => "`true` when the item is procedural and is satisfied by a signed attestation in `mlpol.toml`.",
        _ => return None,
    })
}

pub fn severity_doc(s: &str) -> Option<&'static str> {
    Some(match s {
        "critical" => {
            "The Security Score gate requires 100% of critical checks to pass (by default; `[score]` in mlpol.toml)."
        }
        "high" => "The Security Score gate requires 100% of high checks to pass (by default; `[score]` in mlpol.toml).",
        "medium" => {
            "The Security Score gate requires 90% of medium checks to pass (by default; `[score]` in mlpol.toml)."
        }
        "low" => "The Security Score gate requires 75% of low checks to pass (by default; `[score]` in mlpol.toml).",
        _ => return None,
    })
}
