//! Git facts, through the git CLI: it reads every repository format git
//! itself reads (packs, worktrees, partial clones), `git log -p` is exactly
//! the history question, and it costs no build time — gix would add a
//! hundred crates for the same answers. Output is bounded in commits and
//! bytes; no author names leave this module.

use crate::secrets::{Scanner, SecretFinding};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

/// Bytes of `git log -p` read at most.
pub const MAX_LOG_BYTES: u64 = 256 << 20;
/// Default number of commits searched.
pub const DEFAULT_DEPTH: usize = 1000;

fn git(root: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C").arg(root).args(["-c", "core.quotepath=off", "--no-pager"]);
    c.stdin(Stdio::null()).stderr(Stdio::piped());
    c
}

/// Whether the target is inside a git work tree.
pub fn is_repo(root: &Path) -> bool {
    git(root)
        .args(["rev-parse", "--is-inside-work-tree"])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"true"))
}

/// A secret added by some commit.
#[derive(Debug, Clone)]
pub struct HistoryFinding {
    pub finding: SecretFinding,
    pub commit: String,
    pub date: String,
    pub subject: String,
}

/// Secrets in lines added by the newest `depth` commits of every ref, the
/// oldest commit that added each (by fingerprint).
pub fn secret_history(root: &Path, depth: usize, scanner: &Scanner) -> Result<Vec<HistoryFinding>, String> {
    if !is_repo(root) {
        return Err("not a git repository".to_string());
    }
    let mut child = git(root)
        // `--relative` and `-- .`: only the target's part of the repository,
        // with paths relative to the target.
        .args([
            "log",
            "--all",
            "-p",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            "--relative",
            "--date=short",
        ])
        .arg("--format=%x01%H%x02%ad%x02%s")
        .arg(format!("-n{}", depth.max(1)))
        .args(["--", "."])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let mut bytes = Vec::new();
    if let Some(out) = child.stdout.take() {
        out.take(MAX_LOG_BYTES).read_to_end(&mut bytes).map_err(|e| format!("cannot read git log: {e}"))?;
    }
    if bytes.len() as u64 >= MAX_LOG_BYTES {
        // An incomplete history must not pass a check.
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "`git log -p` of {depth} commits is over {} MiB; search fewer commits",
            MAX_LOG_BYTES >> 20
        ));
    }
    let status = child.wait().map_err(|e| format!("git log failed: {e}"))?;
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        return Err(format!("git log failed: {}", err.trim()));
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut found: Vec<HistoryFinding> = Vec::new();
    let (mut commit, mut date, mut subject) = (String::new(), String::new(), String::new());
    let mut path: Option<String> = None;
    let mut line_no: u32 = 0;
    for line in text.lines() {
        if let Some(header) = line.strip_prefix('\u{1}') {
            let mut parts = header.splitn(3, '\u{2}');
            commit = parts.next().unwrap_or("").to_string();
            date = parts.next().unwrap_or("").to_string();
            subject = parts.next().unwrap_or("").to_string();
            path = None;
        } else if let Some(p) = line.strip_prefix("+++ ") {
            path = p.strip_prefix("b/").map(str::to_string);
        } else if line.starts_with("@@") {
            // `@@ -a,b +c,d @@`: added lines are numbered from c.
            line_no = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix('+'))
                .and_then(|w| w.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
        } else if let (Some(added), Some(p)) = (line.strip_prefix('+'), &path) {
            for mut f in scanner.scan_text(p, added) {
                f.line = line_no;
                // git log is newest first: a later entry is an older commit.
                found.retain(|h| h.finding.fingerprint != f.fingerprint);
                found.push(HistoryFinding {
                    finding: f,
                    commit: commit.clone(),
                    date: date.clone(),
                    subject: subject.clone(),
                });
            }
            line_no = line_no.saturating_add(1);
        }
    }
    Ok(found)
}
