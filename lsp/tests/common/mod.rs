//! An in-process LSP client: JSON-RPC requests into the server's
//! `LspService`, and the server's messages (notifications, and requests such
//! as `workspace/codeLens/refresh`, which are answered with `null`) read
//! from its `ClientSocket` by a background task.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use futures::{SinkExt, StreamExt};
use mlpol_lsp::Backend;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::{Request, Response};
use tower_lsp_server::ls_types::Uri;
use tower_lsp_server::LspService;

pub struct Client {
    service: LspService<Backend>,
    from_server: mpsc::UnboundedReceiver<Value>,
    next_id: i64,
    /// Every message the server sent so far, in order.
    pub log: Vec<Value>,
    /// Messages no `wait_for` has matched yet.
    unmatched: std::collections::VecDeque<Value>,
    pub root: PathBuf,
}

/// A fresh directory under cargo's per-test temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "lsp-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

pub fn uri(path: &Path) -> Uri {
    Uri::from_file_path(path).unwrap()
}

pub fn uri_str(path: &Path) -> String {
    uri(path).as_str().to_string()
}

impl Client {
    /// Starts a server whose bundled modules go to `root/.std`, and
    /// initializes it with `root` as the workspace folder.
    pub async fn start(root: &Path) -> Client {
        let (service, socket) = mlpol_lsp::service(root.join(".std"));
        let (tx, from_server) = mpsc::unbounded_channel();
        let (mut requests, mut responses) = socket.split();
        tokio::spawn(async move {
            while let Some(request) = requests.next().await {
                let message = serde_json::to_value(&request).unwrap();
                if let Some(id) = request.id().cloned() {
                    let _ = responses.send(Response::from_ok(id, Value::Null)).await;
                }
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        let mut client = Client {
            service,
            from_server,
            next_id: 0,
            log: Vec::new(),
            unmatched: Default::default(),
            root: root.to_path_buf(),
        };
        let init = client
            .request(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": uri_str(root),
                    "workspaceFolders": [{ "uri": uri_str(root), "name": "root" }],
                    "capabilities": {
                        "workspace": {
                            "codeLens": { "refreshSupport": true },
                            "didChangeWatchedFiles": { "dynamicRegistration": true }
                        }
                    }
                }),
            )
            .await;
        assert_eq!(init["serverInfo"]["name"], "mlpol");
        client.notify("initialized", json!({})).await;
        client
    }

    async fn send(&mut self, request: Request) -> Option<Response> {
        let service = self.service.ready().await.expect("service ready");
        service.call(request).await.expect("service call")
    }

    /// Sends a request; returns its result (panics on an error response).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.request_raw(method, params).await;
        if let Some(error) = response.get("error") {
            panic!("{method} failed: {error}");
        }
        response["result"].clone()
    }

    /// Sends a request; returns the whole response.
    pub async fn request_raw(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let request = Request::build(method.to_string()).id(self.next_id).params(params).finish();
        let response = self.send(request).await.expect("a response");
        serde_json::to_value(&response).unwrap()
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        let request = Request::build(method.to_string()).params(params).finish();
        assert!(self.send(request).await.is_none());
    }

    pub async fn open(&mut self, path: &Path, version: i32, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri_str(path), "languageId": "mlpol", "version": version, "text": text } }),
        )
        .await;
    }

    pub async fn change(&mut self, path: &Path, version: i32, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri_str(path), "version": version }, "contentChanges": [{ "text": text }] }),
        )
        .await;
    }

    /// Sends the changes all at once, without waiting for one before the
    /// next: the server's handlers run concurrently, in no set order.
    pub async fn concurrent_changes(&mut self, path: &Path, changes: &[(i32, String)]) {
        let mut pending = Vec::new();
        for (version, text) in changes {
            let params = json!({ "textDocument": { "uri": uri_str(path), "version": version }, "contentChanges": [{ "text": text }] });
            let request = Request::build("textDocument/didChange").params(params).finish();
            let service = self.service.ready().await.expect("service ready");
            pending.push(service.call(request));
        }
        for response in futures::future::join_all(pending).await {
            assert!(response.expect("service call").is_none());
        }
    }

    /// Waits for a message matching `pred` that no earlier wait matched (up
    /// to 60 s, a bound on liveness under a loaded test run, not a timing
    /// target); every message received goes to the log.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.unmatched.iter().position(&pred) {
            return self.unmatched.remove(i).unwrap();
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let message = tokio::time::timeout_at(deadline, self.from_server.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; messages so far: {:#?}", self.log))
                .expect("server messages");
            self.log.push(message.clone());
            if pred(&message) {
                return message;
            }
            self.unmatched.push_back(message);
        }
    }

    /// Reads the messages that have arrived, without waiting.
    pub fn drain(&mut self) {
        while let Ok(m) = self.from_server.try_recv() {
            self.log.push(m.clone());
            self.unmatched.push_back(m);
        }
    }

    /// The diagnostics published for `path` at `version` (a document
    /// version, or null for a file that is not open).
    pub async fn diagnostics(&mut self, path: &Path, version: Value) -> Value {
        let uri = uri_str(path);
        let message = self
            .wait_for(&format!("diagnostics of {uri} at {version}"), |m| {
                m["method"] == "textDocument/publishDiagnostics"
                    && m["params"]["uri"] == uri
                    && m["params"].get("version").cloned().unwrap_or(Value::Null) == version
            })
            .await;
        message["params"]["diagnostics"].clone()
    }

    /// Takes the messages received so far out of the log (and forgets the
    /// unmatched ones): long tests keep memory flat.
    pub fn take_log(&mut self) -> Vec<Value> {
        self.drain();
        self.unmatched.clear();
        std::mem::take(&mut self.log)
    }

    /// Every publication for `path`, in order.
    pub fn publications(&self, path: &Path) -> Vec<Value> {
        let uri = uri_str(path);
        self.log
            .iter()
            .filter(|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri)
            .map(|m| m["params"].clone())
            .collect()
    }

    pub async fn shutdown(mut self) {
        self.request("shutdown", Value::Null).await;
        self.notify("exit", Value::Null).await;
    }
}

/// `{"line": l, "character": c}`
pub fn pos(line: u32, character: u32) -> Value {
    json!({ "line": line, "character": character })
}

pub fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> Value {
    json!({ "start": pos(l1, c1), "end": pos(l2, c2) })
}

/// The position of the `n`-th (0-based) occurrence of `needle` in `text`,
/// plus `delta` characters (ASCII text only).
pub fn find(text: &str, needle: &str, n: usize, delta: u32) -> Value {
    let offset = text.match_indices(needle).nth(n).unwrap_or_else(|| panic!("`{needle}` #{n} not in text")).0;
    let line = text[..offset].matches('\n').count() as u32;
    let col = (offset - text[..offset].rfind('\n').map_or(0, |i| i + 1)) as u32;
    pos(line, col + delta)
}
