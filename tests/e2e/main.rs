//! End-to-end tests: the real `mlpol` binary on fixture repositories that
//! the tests write (fake secrets are assembled here, never committed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod cli;
mod eval;
mod formats;
mod hostile_net;
mod hostile_repo;
mod leaks;
mod lsp;
mod platforms;
mod secrets;
mod services;
mod test_cmd;
mod waivers;
mod watch;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const TODAY: &str = "2026-11-26";

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

/// Runs `mlpol` in `dir` with a fixed date.
pub fn mlpol(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_mlpol"))
        .args(args)
        .current_dir(dir)
        .env("MLPOL_TODAY", TODAY)
        .env_remove("CI")
        .output()
        .expect("run mlpol");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fresh directory under cargo's per-test temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes files (`path`, `text`) under `dir`.
pub fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

/// The repository root (for the committed demo fixture).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check `{id}` in report"))
}

/// `path:line` of each finding of a check (`path:null` without a line).
pub fn locations(report: &Value, id: &str) -> Vec<String> {
    check(report, id)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{}:{}", f["location"]["path"].as_str().unwrap(), f["location"]["line"]))
        .collect()
}

/// A fake AWS key id, assembled so no scanner flags this file.
pub fn fake_key_id() -> String {
    // Random-looking, so the scanner does not take it for a placeholder.
    ["AKIA", "Q7XK", "2M9P", "L4WB", "8ZT3"].concat()
}

/// A platform with problems in every bundled check.
pub fn broken_platform() -> PathBuf {
    let dir = temp_dir("broken");
    let dvc = format!(
        "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://bucket/data\n    access_key_id = {}\n",
        fake_key_id()
    );
    let train = format!("import boto3\n\naws_access_key_id = \"{}\"\n", fake_key_id());
    write(
        &dir,
        &[
            (".dvc/config", dvc.as_str()),
            ("src/train.py", train.as_str()),
            (".env", "MLFLOW_TRACKING_PASSWORD=not-a-real-password\n"),
            ("docker-compose.yml", "services:\n  web:\n    image: nginx\n    user: root\n    mem_limit: 1g\n"),
        ],
    );
    dir
}
