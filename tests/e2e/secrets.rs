//! `mlpol secrets` and the `secrets.not_in_code` check on real git
//! repositories, with a secret added in one commit and removed in the next.

use crate::*;
use std::process::Command;

fn git(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A fake password of a shape the scanner reports, assembled here.
fn fake_password() -> String {
    ["Zq8", "Lx2", "Vb7", "Np4", "Kw9"].concat()
}

fn repo_with_history() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mlpol-e2e-secrets-{}-{}", std::process::id(), rand_suffix()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q"]);
    write(&dir, &[("src/settings.py", &format!("aws_access_key_id = \"{}\"\n", fake_key_id()))]);
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "add settings"]);
    write(&dir, &[("src/settings.py", "import os\naws_access_key_id = os.environ[\"AWS_ACCESS_KEY_ID\"]\n")]);
    git(&dir, &["commit", "-q", "-am", "read the key from the environment"]);
    write(&dir, &[("app/db.py", &format!("URL = \"postgresql://mlflow:{}@db:5432/mlflow\"\n", fake_password()))]);
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

#[test]
fn secrets_reports_redacted_findings_and_exits_1() {
    let dir = repo_with_history();
    let out = mlpol(&dir, &["secrets", ".", "--format", "json"]);
    assert_eq!(out.code, 1);
    let rows = out.json();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows:#}");
    let row = &rows[0];
    assert_eq!(
        (row["rule"].as_str(), row["path"].as_str(), row["line"].as_u64(), row["column"].as_u64()),
        (Some("database-url-password"), Some("app/db.py"), Some(1), Some(28))
    );
    assert_eq!(row["redacted"], "********");
    assert!(!out.stdout.contains(&fake_password()));

    let with_history = mlpol(&dir, &["secrets", ".", "--history", "--format", "json"]);
    let rows = with_history.json();
    let removed = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "aws-access-key-id")
        .expect("the removed key is found in history");
    assert_eq!(removed["path"], "src/settings.py");
    assert_eq!(removed["present"], false);
    assert_eq!(removed["redacted"], "AKIA*************ZT3");
    assert!(!with_history.stdout.contains(&fake_key_id()));
    for format in ["human", "sarif"] {
        let out = mlpol(&dir, &["secrets", ".", "--history", "--format", format]);
        assert_eq!(out.code, 1);
        assert!(!out.stdout.contains(&fake_key_id()) && !out.stdout.contains(&fake_password()), "{format} leaked");
    }
}

#[test]
fn a_clean_repository_exits_0() {
    let dir = temp_dir("clean");
    write(
        &dir,
        &[
            ("app.py", "import os\npassword = os.environ[\"DB_PASSWORD\"]\n"),
            ("README.md", "Set your password in the vault.\n"),
        ],
    );
    let out = mlpol(&dir, &["secrets", "."]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn the_checklist_fails_on_a_secret_removed_from_the_files_but_not_from_history() {
    let dir = repo_with_history();
    std::fs::remove_file(dir.join("app/db.py")).unwrap();
    let out = mlpol(&dir, &["eval", ".", "--only", "secrets.not_in_code", "--format", "json"]);
    let report = out.json();
    let c = check(&report, "secrets.not_in_code");
    assert_eq!(c["status"], "fail");
    let message = c["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("was committed to `src/settings.py`") && message.contains("AKIA*************ZT3"),
        "{message}"
    );
    assert!(!out.stdout.contains(&fake_key_id()));
    assert_eq!(out.code, 1);
}
