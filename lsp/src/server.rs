//! The `LanguageServer` implementation.
//!
//! Concurrency: tower-lsp-server runs handlers concurrently and does not
//! promise their order. The whole state ([`World`], with the one salsa
//! database) sits behind one `std::sync::Mutex`. Every handler locks it
//! inside a closure run by `spawn_blocking`, so the lock is never held across
//! an `.await` and salsa's work never stalls the async workers. Documents
//! are synced in full; an edit whose version is not newer than the
//! document's is dropped.
//!
//! Diagnostics are published by one task. Handlers that change text only
//! wake it; it computes what changed for every file under the lock, then,
//! before sending each file's diagnostics, checks again (under the lock)
//! that the file's text is still the one they were computed for. A result
//! for an older text is dropped: the change that made it old has woken the
//! task again, and the next round publishes the latest. One task sends them
//! all, so they reach the client in order.

use crate::evaluate;
use crate::features::EVALUATE_COMMAND;
use crate::tokens;
use crate::world::{Rejected, World};
use mlpol_stdlib::config::Date;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

pub struct Backend {
    client: Client,
    world: Arc<Mutex<World>>,
    wake: mpsc::UnboundedSender<()>,
    /// Taken by `initialize`, which starts the publishing task.
    wake_rx: Mutex<Option<mpsc::UnboundedReceiver<()>>>,
    caps: Mutex<ClientCaps>,
}

#[derive(Debug, Clone, Copy, Default)]
struct ClientCaps {
    code_lens_refresh: bool,
    watch_files: bool,
}

/// The lock, also after a panic elsewhere poisoned it: the state is still
/// usable (every change to it is a single salsa input write).
pub fn lock(world: &Mutex<World>) -> MutexGuard<'_, World> {
    world.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Backend {
    pub fn new(client: Client, std_dir: PathBuf) -> Backend {
        let (wake, wake_rx) = mpsc::unbounded_channel();
        Backend {
            client,
            world: Arc::new(Mutex::new(World::new(std_dir))),
            wake,
            wake_rx: Mutex::new(Some(wake_rx)),
            caps: Mutex::new(ClientCaps::default()),
        }
    }

    /// The state, for in-process tests and benchmarks.
    pub fn world(&self) -> Arc<Mutex<World>> {
        self.world.clone()
    }

    /// Runs `f` on the state on a blocking thread.
    async fn with_world<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut World) -> T + Send + 'static,
    {
        let world = self.world.clone();
        tokio::task::spawn_blocking(move || f(&mut lock(&world))).await.map_err(|e| {
            let mut err = Error::internal_error();
            err.message = format!("the request failed: {e}").into();
            err
        })
    }

    fn changed(&self) {
        // The task is gone only when the server is shutting down.
        let _ = self.wake.send(());
    }

    fn caps(&self) -> ClientCaps {
        *self.caps.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The publishing task: see the module documentation.
async fn publish_loop(client: Client, world: Arc<Mutex<World>>, mut wake: mpsc::UnboundedReceiver<()>) {
    while wake.recv().await.is_some() {
        while wake.try_recv().is_ok() {}
        let w = world.clone();
        let Ok(batch) = tokio::task::spawn_blocking(move || lock(&w).pending_diagnostics()).await else { continue };
        for p in batch {
            if p.generation != 0 {
                let current = lock(&world).generation_of(&p.key);
                if current != Some(p.generation) {
                    continue;
                }
            }
            client.publish_diagnostics(p.uri, p.diagnostics, p.version).await;
        }
    }
}

#[allow(deprecated)] // `root_uri` is how older clients (Neovim 0.7) name the folder.
fn roots(params: &InitializeParams) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = params
        .workspace_folders
        .iter()
        .flatten()
        .filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()))
        .collect();
    if out.is_empty() {
        out.extend(params.root_uri.as_ref().and_then(|u| u.to_file_path()).map(|p| p.into_owned()));
    }
    out
}

pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::FULL),
            save: Some(TextDocumentSyncSaveOptions::Supported(true)),
            ..Default::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), " ".into(), "\"".into()]),
            ..Default::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        workspace_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..Default::default()
        })),
        code_lens_provider: Some(CodeLensOptions { resolve_provider: Some(false) }),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: vec![EVALUATE_COMMAND.to_string()],
            ..Default::default()
        }),
        semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
            SemanticTokensOptions {
                legend: tokens::legend(),
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: None,
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let caps = ClientCaps {
            code_lens_refresh: params
                .capabilities
                .workspace
                .as_ref()
                .and_then(|w| w.code_lens.as_ref())
                .and_then(|c| c.refresh_support)
                .unwrap_or(false),
            watch_files: params
                .capabilities
                .workspace
                .as_ref()
                .and_then(|w| w.did_change_watched_files.as_ref())
                .and_then(|c| c.dynamic_registration)
                .unwrap_or(false),
        };
        *self.caps.lock().unwrap_or_else(|p| p.into_inner()) = caps;
        let roots = roots(&params);
        let problems = self
            .with_world(move |w| {
                let mut problems = w.add_roots(roots);
                if let Err(e) = crate::world::write_bundled(&w.std_dir) {
                    problems.push(format!("cannot write the bundled modules: {e}"));
                }
                problems
            })
            .await?;
        for p in problems {
            self.client.log_message(MessageType::WARNING, p).await;
        }
        let rx = self.wake_rx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(rx) = rx {
            tokio::spawn(publish_loop(self.client.clone(), self.world.clone(), rx));
        }
        Ok(InitializeResult {
            capabilities: capabilities(),
            server_info: Some(ServerInfo { name: "mlpol".into(), version: Some(env!("CARGO_PKG_VERSION").into()) }),
            ..Default::default()
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        if self.caps().watch_files {
            let options = DidChangeWatchedFilesRegistrationOptions {
                watchers: vec![FileSystemWatcher {
                    glob_pattern: GlobPattern::String("**/*.mlpol".into()),
                    kind: None,
                }],
            };
            let registration = Registration {
                id: "mlpol-watch".into(),
                method: "workspace/didChangeWatchedFiles".into(),
                register_options: serde_json::to_value(options).ok(),
            };
            if let Err(e) = self.client.register_capability(vec![registration]).await {
                self.client.log_message(MessageType::WARNING, format!("cannot watch .mlpol files: {e}")).await;
            }
        }
        self.changed();
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        let _ = self.with_world(move |w| w.open(&doc.uri, doc.version, doc.text)).await;
        self.changed();
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        // Full sync: the last change holds the whole text.
        let Some(change) = params.content_changes.into_iter().next_back() else { return };
        let doc = params.text_document;
        let version = doc.version;
        let result = self.with_world(move |w| w.change(&doc.uri, version, change.text)).await;
        match result {
            Ok(Ok(_)) => self.changed(),
            Ok(Err(Rejected::Stale)) => {
                self.client
                    .log_message(MessageType::LOG, format!("ignored an out-of-order change (version {version})"))
                    .await;
            }
            Ok(Err(Rejected::Unknown)) | Err(_) => {}
        }
    }

    async fn did_save(&self, _: DidSaveTextDocumentParams) {}

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        let _ = self.with_world(move |w| w.close(&uri)).await;
        self.changed();
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        let _ = self
            .with_world(move |w| {
                for change in params.changes {
                    w.file_changed(&change.uri, change.typ == FileChangeType::DELETED);
                }
            })
            .await;
        self.changed();
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let p = params.text_document_position_params;
        self.with_world(move |w| w.hover(&p.text_document.uri, p.position)).await
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let p = params.text_document_position;
        let trigger = params.context.and_then(|c| c.trigger_character);
        let items =
            self.with_world(move |w| w.completion(&p.text_document.uri, p.position, trigger.as_deref())).await?;
        Ok(Some(CompletionResponse::Array(items)))
    }

    async fn goto_definition(&self, params: GotoDefinitionParams) -> Result<Option<GotoDefinitionResponse>> {
        let p = params.text_document_position_params;
        let location = self.with_world(move |w| w.definition(&p.text_document.uri, p.position)).await?;
        Ok(location.map(GotoDefinitionResponse::Scalar))
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let p = params.text_document_position;
        let include = params.context.include_declaration;
        let refs = self.with_world(move |w| w.references(&p.text_document.uri, p.position, include)).await?;
        Ok(Some(refs))
    }

    async fn document_symbol(&self, params: DocumentSymbolParams) -> Result<Option<DocumentSymbolResponse>> {
        let uri = params.text_document.uri;
        let symbols = self.with_world(move |w| w.document_symbols(&uri)).await?;
        Ok(Some(DocumentSymbolResponse::Nested(symbols)))
    }

    async fn symbol(&self, params: WorkspaceSymbolParams) -> Result<Option<WorkspaceSymbolResponse>> {
        let symbols = self.with_world(move |w| w.workspace_symbols(&params.query)).await?;
        Ok(Some(WorkspaceSymbolResponse::Nested(symbols)))
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let uri = params.text_document.uri;
        self.with_world(move |w| w.formatting(&uri)).await
    }

    async fn semantic_tokens_full(&self, params: SemanticTokensParams) -> Result<Option<SemanticTokensResult>> {
        let uri = params.text_document.uri;
        let data = self
            .with_world(move |w| {
                let view = w.view(&uri)?;
                let classified = tokens::classify(view.text, &w.schema);
                Some(tokens::encode(view.text, &view.index, &classified))
            })
            .await?;
        Ok(data.map(|data| SemanticTokensResult::Tokens(SemanticTokens { result_id: None, data })))
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let today = Date::today();
        let actions = self.with_world(move |w| w.code_actions(&params.text_document.uri, params.range, today)).await?;
        Ok(Some(actions))
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        let uri = params.text_document.uri;
        Ok(Some(self.with_world(move |w| w.code_lenses(&uri)).await?))
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        if params.command != EVALUATE_COMMAND {
            return Err(Error::invalid_params(format!("unknown command `{}`", params.command)));
        }
        let (root, sources) = self.with_world(|w| (w.roots.first().cloned(), w.sources())).await?;
        let root = root.or_else(|| std::env::current_dir().ok());
        let Some(root) = root else {
            return Err(Error::invalid_params("no workspace folder to evaluate"));
        };
        // The collectors run their own tokio runtime: on a thread of its own,
        // never inside this one.
        let (tx, rx) = tokio::sync::oneshot::channel();
        let today = Date::today();
        let eval_root = root.clone();
        let spawned = std::thread::Builder::new().name("mlpol-evaluate".into()).spawn(move || {
            let _ = tx.send(evaluate::evaluate(&eval_root, sources, today));
        });
        if let Err(e) = spawned {
            return Err(Error::invalid_params(format!("cannot start the evaluation: {e}")));
        }
        let outcome = rx.await.unwrap_or_else(|_| Err("the evaluation stopped".to_string()));
        match outcome {
            Ok(evaluation) => {
                let summary = evaluation.summary.clone();
                let statuses = evaluation.statuses.clone();
                let excluded = evaluation.excluded.iter().cloned().collect();
                let _ = self
                    .with_world(move |w| {
                        w.statuses = statuses;
                        w.not_evaluated = excluded;
                    })
                    .await;
                self.client.show_message(MessageType::INFO, format!("mlpol: {summary}")).await;
                if self.caps().code_lens_refresh {
                    let _ = self.client.code_lens_refresh().await;
                }
                let checks: serde_json::Map<String, serde_json::Value> = evaluation
                    .statuses
                    .iter()
                    .map(|(id, s)| (id.clone(), serde_json::Value::String(s.status.clone())))
                    .collect();
                Ok(Some(serde_json::json!({
                    "root": root.display().to_string(),
                    "summary": summary,
                    "gate": evaluation.gate,
                    "checks": checks,
                })))
            }
            Err(e) => {
                self.client.show_message(MessageType::ERROR, format!("mlpol: {e}")).await;
                Err(Error::invalid_params(e))
            }
        }
    }
}
