//! `mlpol eval --watch` on a real directory: an edit is picked up, only the
//! affected check is evaluated again, and a fix is reported.

use crate::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Watch {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Watch {
    /// Waits for a line containing `needle`, returning every line seen.
    fn until(&self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return seen;
                }
            }
        }
        panic!("no line with `{needle}` within 20 s; saw:\n{}", seen.join("\n"));
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Saves a file as many editors do: written beside the watched tree, then
/// renamed over the old one — the watcher sees one event and never a
/// half-written file (a plain write is a truncation, then a write, which a
/// loaded machine can split across the debounce).
fn save(dir: &std::path::Path, name: &str, text: &str) {
    let beside = dir.with_extension("saving");
    std::fs::write(&beside, text).unwrap();
    std::fs::rename(&beside, dir.join(name)).unwrap();
}

fn watch(dir: &std::path::Path) -> Watch {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlpol"))
        .args(["eval", ".", "--watch", "--only", "docker.compose", "--only", "secrets.config_files"])
        .current_dir(dir)
        .env("MLPOL_TODAY", TODAY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    Watch { child, lines: rx }
}

#[test]
fn watch_reports_what_became_failing_and_what_was_fixed() {
    let dir = temp_dir("watch");
    let good =
        "services:\n  web:\n    image: x\n    user: \"1000\"\n    read_only: true\n    mem_limit: 1g\n    cpus: 1\n";
    write(&dir, &[("docker-compose.yml", good), (".gitignore", ".env\n")]);
    let w = watch(&dir);
    w.until("watching");
    // Give the watcher a moment to be in place before the first edit.
    std::thread::sleep(Duration::from_millis(300));
    save(&dir, "docker-compose.yml", &good.replace("\"1000\"", "root"));
    let seen = w.until("checks evaluated again");
    assert!(seen.iter().any(|l| l.starts_with("failing   docker.compose.isolation (fail)")), "{seen:#?}");
    let summary = seen.last().unwrap();
    // Only the check that reads the edited file is evaluated again.
    assert!(summary.contains(", 1 of 2 checks evaluated again"), "{summary}");
    assert!(summary.ends_with("gate fail"), "{summary}");
    save(&dir, "docker-compose.yml", good);
    let seen = w.until("checks evaluated again");
    assert!(seen.iter().any(|l| l.starts_with("fixed     docker.compose.isolation (pass)")), "{seen:#?}");
    assert!(seen.last().unwrap().ends_with("gate pass"));

    // An inline ignore added as a trailing comment changes no parsed value,
    // so the check's result stays the same (the glob's file size changes,
    // so it runs again); the report applies the new marker all the same.
    save(&dir, "docker-compose.yml", &good.replace("\"1000\"", "root"));
    w.until("checks evaluated again");
    let ignored =
        good.replace("user: \"1000\"", "user: root  # mlpol:ignore docker.compose.isolation runs as root by design");
    save(&dir, "docker-compose.yml", &ignored);
    let seen = w.until("checks evaluated again");
    assert!(seen.iter().any(|l| l.starts_with("fixed     docker.compose.isolation (pass)")), "{seen:#?}");
    // And taking it away brings the finding back.
    save(&dir, "docker-compose.yml", &good.replace("\"1000\"", "root"));
    let seen = w.until("checks evaluated again");
    assert!(seen.iter().any(|l| l.starts_with("failing   docker.compose.isolation (fail)")), "{seen:#?}");
}
