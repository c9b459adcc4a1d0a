//! Robustness: 10 000 random edits (insertions and deletions of random text
//! at random places, from a deterministic xorshift generator) go through the
//! server in-process, with a random request every few edits.
//!
//! Asserted: no handler panics and no request fails; the diagnostics
//! published for the document only ever move to newer versions and end with
//! the final version; sampled publications (and the last) equal the
//! diagnostics a fresh database computes for that version's text; the
//! process's resident memory stays bounded (salsa's interned item texts
//! are collected, not accumulated).
//!
//! `MLPOL_LSP_EDITS=N` changes the number of edits, `MLPOL_LSP_SEED=S` the
//! seed. 10 000 edits take about 25 s in a debug build on 2 cores.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;
mod fixture;

use common::*;
use mlpol_lsp::line_index::LineIndex;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

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
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Pieces of text that make interesting (and broken) programs.
const FRAGMENTS: &[&str] = &[
    "check a.b ",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "\"",
    "\"{x}\"",
    "re\"[a-z]+\"",
    "let ",
    "let x = ",
    "require ",
    "skip when ",
    " because ",
    "for f in files.glob(\"*\") ",
    "f.",
    "f.path",
    "files.",
    "doc.yaml(f)",
    "title = \"T\"\n",
    "severity = high\n",
    "severity = hgih\n",
    "section = [\"S\"]\n",
    "fn g(x: File) -> bool { x.size > 1MiB }\n",
    "param p: int = 3\n",
    "import team.common\n",
    "import \"x.mlpol\"\n",
    "module m.n\n",
    "\n",
    "\n\n",
    "  ",
    " ",
    "x",
    "é",
    "😀",
    "// c\n",
    "/// d\n",
    "=",
    "==",
    "and ",
    "or ",
    "not ",
    ",",
    ":",
    ".",
    "?",
    "??",
    "90d",
    "1.5",
    "0o17",
    "len(",
    "any y in x: ",
    "if ",
    " then ",
    " else ",
    "null",
    "true",
    "at ",
];

fn statm_rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// What a fresh database says about `text` at `path`, as the server would
/// publish it (code, message, range).
fn fresh(common: &str, path: &str, text: &str) -> Vec<Value> {
    // The server's workspace: the bundled modules, then its files by path.
    let files = vec![(common.to_string(), fixture::COMMON.to_string()), (path.to_string(), text.to_string())];
    let program = mlpol_stdlib::program::Program::new(files, true);
    let (_, _, diags) = program.diagnostics().into_iter().find(|(p, _, _)| p == path).unwrap();
    let index = LineIndex::new(text);
    let uri = uri(std::path::Path::new(path));
    diags
        .iter()
        .map(|d| {
            let lsp = mlpol_lsp::convert::diagnostic(&uri, text, &index, d);
            json!({ "code": lsp.code, "message": lsp.message, "range": lsp.range })
        })
        .collect()
}

fn strip(diags: &Value) -> Vec<Value> {
    diags
        .as_array()
        .unwrap()
        .iter()
        .map(|d| json!({ "code": d["code"], "message": d["message"], "range": d["range"] }))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_edits_keep_the_server_consistent() {
    let panics = Arc::new(AtomicUsize::new(0));
    {
        let panics = panics.clone();
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            panics.fetch_add(1, Ordering::SeqCst);
            default(info);
        }));
    }
    let edits: usize = std::env::var("MLPOL_LSP_EDITS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let seed: u64 = std::env::var("MLPOL_LSP_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x9E37_79B9_7F4A_7C15);
    let mut rng = XorShift(seed.max(1));

    let root = temp_dir("random");
    fixture::write_workspace(&root);
    let path = root.join("policies/main.mlpol");
    let key = path.display().to_string();
    let common = root.join("lib/common.mlpol").display().to_string();
    let mut c = Client::start(&root).await;
    let mut text = format!("{}\n{}", fixture::MAIN, fixture::BAD);
    c.open(&path, 1, &text).await;
    c.diagnostics(&path, json!(1)).await;

    let started = std::time::Instant::now();
    let mut rss_warm = 0;
    let methods = [
        "textDocument/hover",
        "textDocument/completion",
        "textDocument/definition",
        "textDocument/references",
        "textDocument/documentSymbol",
        "textDocument/semanticTokens/full",
        "textDocument/formatting",
        "textDocument/codeAction",
        "textDocument/codeLens",
    ];
    // Texts of the versions that may still be published (published
    // versions only grow, so older ones are dropped as they come).
    let mut texts: BTreeMap<i64, String> = BTreeMap::from([(1, text.clone())]);
    let mut versions: Vec<i64> = Vec::new();
    let mut checked = 0;
    let uri = uri_str(&path);
    let take = |c: &mut Client, texts: &mut BTreeMap<i64, String>, versions: &mut Vec<i64>, checked: &mut usize| {
        for m in c.take_log() {
            if m["method"] != "textDocument/publishDiagnostics" || m["params"]["uri"] != uri.as_str() {
                continue;
            }
            // The file's publication from before it was opened has no version.
            let Some(v) = m["params"]["version"].as_i64() else { continue };
            // Every 100th publication is checked against a fresh database.
            if versions.len().is_multiple_of(100) {
                assert_eq!(
                    strip(&m["params"]["diagnostics"]),
                    fresh(&common, &key, &texts[&v]),
                    "version {v}:\n{}",
                    texts[&v]
                );
                *checked += 1;
            }
            versions.push(v);
            *texts = texts.split_off(&v);
        }
    };
    for i in 0..edits {
        let version = i as i32 + 2;
        let boundaries: Vec<usize> = text.char_indices().map(|(b, _)| b).chain([text.len()]).collect();
        let at = boundaries[rng.below(boundaries.len())];
        if text.len() > 6000 || (rng.below(5) < 2 && !text.is_empty()) {
            let end_index = boundaries.iter().position(|b| *b == at).unwrap() + 1 + rng.below(24);
            let end = boundaries[end_index.min(boundaries.len() - 1)];
            text.replace_range(at..end, "");
        } else {
            let mut piece = String::new();
            for _ in 0..1 + rng.below(3) {
                piece.push_str(FRAGMENTS[rng.below(FRAGMENTS.len())]);
            }
            text.insert_str(at, &piece);
        }
        texts.insert(i64::from(version), text.clone());
        c.change(&path, version, &text).await;
        if i.is_multiple_of(7) {
            let method = methods[rng.below(methods.len())];
            let index = LineIndex::new(&text);
            let p = index.position(&text, boundaries[rng.below(boundaries.len())].min(text.len()));
            let position = json!({ "line": p.line, "character": p.character });
            let mut params = json!({
                "textDocument": { "uri": uri_str(&path) },
                "position": position,
                "range": { "start": position, "end": position },
                "options": { "tabSize": 2, "insertSpaces": true },
            });
            params["context"] = match method {
                "textDocument/references" => json!({ "includeDeclaration": true }),
                "textDocument/codeAction" => json!({ "diagnostics": [] }),
                _ => json!({ "triggerKind": 1 }),
            };
            let response = c.request_raw(method, params).await;
            assert!(
                response.get("error").is_none(),
                "{method} at {position} failed on version {version}: {response}\n---\n{text}"
            );
        }
        if i.is_multiple_of(500) {
            c.diagnostics(&path, json!(version)).await;
        }
        take(&mut c, &mut texts, &mut versions, &mut checked);
        if i == 1000 {
            rss_warm = statm_rss_bytes().unwrap_or(0);
        }
    }
    let last = edits as i64 + 1;
    let final_diags = c.diagnostics(&path, json!(last)).await;
    take(&mut c, &mut texts, &mut versions, &mut checked);
    let elapsed = started.elapsed();

    // Versions only move forward, and end with the last one.
    if let Some(w) = versions.windows(2).find(|w| w[0] >= w[1]) {
        panic!("diagnostics of version {} were published after those of version {}", w[1], w[0]);
    }
    assert_eq!(versions.last().copied(), Some(last));
    // The last publication is what a fresh database computes.
    assert_eq!(strip(&final_diags), fresh(&common, &key, &text), "final text:\n{text}");
    let publications = versions;
    // Memory: resident size after the edits stays near where it was after
    // the first thousand.
    let rss_end = statm_rss_bytes().unwrap_or(0);
    eprintln!(
        "{edits} edits in {:.1}s, {} publications ({checked} checked against a fresh database); RSS {} MiB after 1000 edits, {} MiB at the end",
        elapsed.as_secs_f64(),
        publications.len(),
        rss_warm >> 20,
        rss_end >> 20
    );
    if edits > 1000 {
        assert!(rss_end < rss_warm + (64 << 20), "RSS grew from {} MiB to {} MiB", rss_warm >> 20, rss_end >> 20);
    }
    assert!(rss_end < 1 << 30, "RSS {} MiB", rss_end >> 20);
    assert_eq!(panics.load(Ordering::SeqCst), 0, "a handler panicked");
    c.shutdown().await;
}
