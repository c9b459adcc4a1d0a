//! Edit-to-diagnostics latency of the language server on a 5 000-line
//! policy file, in-process.
//!
//!     cargo bench -p mlpol-lsp --bench latency
//!
//! The server runs as `mlpol lsp` does (tower-lsp-server's `LspService`,
//! the publishing task, JSON-RPC messages), minus the pipe: each sample is
//! the time from handing `textDocument/didChange` (version n, full text) to
//! the service until `textDocument/publishDiagnostics` for version n comes
//! out of its socket. Edits are keystrokes: a character typed, then deleted,
//! so the text (and so the diagnostics) alternate and every edit changes
//! the length of the file.
//!
//! (a) typing in a check in the middle of the file: every item after it
//!     moves;
//! (b) typing in the first item (a param's doc comment): every item moves;
//! (c) the same edits as (a) through the state alone, without JSON-RPC;
//! (d) the rebuild of the database the server does once every 2 000 edits
//!     (not an edit: listed apart, not in the worst p95).
//!
//! No benchmark framework: `std::time::Instant`, percentiles over the runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../tests/common/mod.rs"]
mod common;

use serde_json::json;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const LINES: usize = 5_000;
const EDITS: usize = 300;

fn policy() -> String {
    let mut s = String::from("module bench.lsp\n\n/// The largest file allowed.\nparam max_size: size = 10MiB\n\n");
    for i in 0..10 {
        writeln!(s, "/// Weak passwords, list {i}.\nlet weak_{i} = [\"password{i}\", \"admin\", \"changeme\"]\n")
            .unwrap();
        write!(
            s,
            "/// True for a weak password (variant {i}).\nfn is_weak_{i}(p: string) -> bool {{\n  p in weak_{i} or len(p) < 12 or p matches re\"^[a-z]+$\"\n}}\n\n"
        )
        .unwrap();
    }
    let mut i = 0;
    while s.lines().count() < LINES {
        let w = i % 10;
        write!(
            s,
            "/// Check number {i}: YAML files are small and hold no weak password.
check bench.c{i} {{
  title = \"Small YAML files {i}\"
  section = [\"Storage\", \"Files\"]
  severity = {sev}
  tags = [\"yaml\", \"n{i}\"]
  remediation = \"Shrink the files\"
  let xs = files.glob(\"config/{i}/**/*.yaml\")
  skip when is_empty(xs) because \"no YAML files under config/{i}\"
  for x in xs {{
    let d = doc.yaml(x)
    require x.size <= max_size and not (x.path matches re\"\\.bak$\")
      else at x: \"{{x.path}} is {{x.size}}, more than {{max_size}}\"
    require not is_weak_{w}(string(d[\"auth\"][\"password\"] ?? \"a-long-enough-password\"))
      else at d[\"auth\"]: \"weak password in {{x.path}}\"
  }}
  let big = count y in xs: y.size > 1MiB
  require big < 3 else \"{{big}} big files\"
}}

",
            sev = ["low", "medium", "high", "critical"][i % 4]
        )
        .unwrap();
        i += 1;
    }
    s
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Row {
    what: &'static str,
    p50: f64,
    p95: f64,
    max: f64,
    n: usize,
}

fn summarize(what: &'static str, mut runs: Vec<Duration>) -> Row {
    runs.sort();
    Row {
        what,
        p50: ms(percentile(&runs, 0.5)),
        p95: ms(percentile(&runs, 0.95)),
        max: ms(*runs.last().unwrap()),
        n: runs.len(),
    }
}

/// The edited texts: at `anchor`, a character typed then deleted, in turn.
fn edits(text: &str, anchor: &str) -> Vec<String> {
    let at = text.find(anchor).expect("anchor") + anchor.len();
    (0..EDITS)
        .map(|k| {
            if k % 2 == 0 {
                format!("{}{}{}", &text[..at], (b'a' + (k / 2 % 26) as u8) as char, &text[at..])
            } else {
                text.to_string()
            }
        })
        .collect()
}

async fn through_the_server(text: &str, anchor: &str, what: &'static str) -> Row {
    let root = common::temp_dir("bench");
    let path = root.join("policies/big.mlpol");
    common::write(&root, &[("policies/big.mlpol", text)]);
    let mut c = common::Client::start(&root).await;
    c.open(&path, 1, text).await;
    let first = c.diagnostics(&path, json!(1)).await;
    assert_eq!(first, json!([]), "the generated policy has diagnostics");
    let mut runs = Vec::new();
    for (k, edited) in edits(text, anchor).iter().enumerate() {
        let version = k as i32 + 2;
        let start = Instant::now();
        c.change(&path, version, edited).await;
        c.diagnostics(&path, json!(version)).await;
        runs.push(start.elapsed());
        c.take_log();
    }
    c.shutdown().await;
    summarize(what, runs)
}

fn through_the_state(text: &str, anchor: &str) -> Row {
    let root = common::temp_dir("bench-state");
    let path = root.join("big.mlpol");
    let uri = common::uri(&path);
    let mut world = mlpol_lsp::World::new(root.join(".std"));
    world.open(&uri, 1, text.to_string());
    assert!(world.pending_diagnostics().iter().all(|p| p.diagnostics.is_empty()));
    let mut runs = Vec::new();
    for (k, edited) in edits(text, anchor).into_iter().enumerate() {
        let start = Instant::now();
        world.change(&uri, k as i32 + 2, edited).unwrap();
        let published = world.pending_diagnostics();
        runs.push(start.elapsed());
        assert_eq!(published.len(), 1);
    }
    summarize("(c) typing in a check, state only (no JSON-RPC)", runs)
}

/// The database rebuilt from the texts (once every `COMPACT_EVERY` edits),
/// then the diagnostics from scratch.
fn compaction(text: &str) -> Row {
    let root = common::temp_dir("bench-compact");
    let uri = common::uri(&root.join("big.mlpol"));
    let mut world = mlpol_lsp::World::new(root.join(".std"));
    world.open(&uri, 1, text.to_string());
    world.pending_diagnostics();
    let mut runs = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        world.compact();
        let published = world.pending_diagnostics();
        runs.push(start.elapsed());
        assert!(published.is_empty(), "a rebuild changes no diagnostics");
    }
    summarize("(d) rebuild of the database (every 2 000 edits)", runs)
}

fn main() {
    let text = policy();
    let lines = text.lines().count();
    println!(
        "policy: {lines} lines, {} bytes, {} checks, {EDITS} edits per scenario",
        text.len(),
        text.matches("\ncheck ").count()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let middle = format!("check bench.c{} {{\n  title = \"", lines / 40);
    let rows = runtime.block_on(async {
        vec![
            through_the_server(&text, &middle, "(a) typing in a check in the middle").await,
            through_the_server(&text, "/// The largest", "(b) typing in the first item").await,
        ]
    });
    let mut rows = rows;
    rows.push(through_the_state(&text, &middle));
    let rebuild = compaction(&text);
    println!("| scenario | p50 ms | p95 ms | max ms | edits |");
    println!("|---|---:|---:|---:|---:|");
    for r in &rows {
        println!("| {} | {:.2} | {:.2} | {:.2} | {} |", r.what, r.p50, r.p95, r.max, r.n);
    }
    println!("| {} | {:.2} | {:.2} | {:.2} | {} |", rebuild.what, rebuild.p50, rebuild.p95, rebuild.max, rebuild.n);
    let worst = rows.iter().map(|r| r.p95).fold(0.0, f64::max);
    println!("worst p95: {worst:.2} ms (budget 30 ms): {}", if worst <= 30.0 { "ok" } else { "OVER BUDGET" });
}
