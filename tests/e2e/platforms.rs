//! The fixture platforms: `tests/fixtures/insecure-platform` plants a problem
//! for every check of the bundled checklist that a repository can decide,
//! each at a known file and line, next to look-alikes that must not be
//! reported; `tests/fixtures/hardened-platform` is the same platform done
//! right and passes its gate offline. Each test evaluates a copy: secrets
//! are substituted for the `@@NAME@@` placeholders of the committed files
//! (their values are assembled here, so no scanner flags this file), and
//! the copy is made a git repository so that "committed" means something.

use crate::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The values substituted for `@@NAME@@` in the insecure fixture. Each is of
/// a shape the scanner reports (random, no placeholder words); each is
/// assembled from pieces so that this file holds none of them.
fn planted_secrets() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_KEY_ID", ["AKIA", "Q3ZK", "7M2X", "W9LP", "4TBN"].concat()),
        ("AWS_SECRET_KEY", ["qW8rT2yU6iO0", "pA4sD9fG3hJ7", "kL1zN5cV+bM/", "eR2t"].concat()),
        ("MLFLOW_PASSWORD", ["Vq7-", "Lm2-", "Rz9w", "Kp4s"].concat()),
        ("FERNET_KEY", ["Jq3vN8xL2pR7", "tW0yB5mK9cF4", "hD6gS1aZuE8o", "I3nQ8kY="].concat()),
        ("AIRFLOW_DB_PASSWORD", ["Ap9d", "Wk3z", "Lq7v"].concat()),
        ("HF_TOKEN", ["hf", "_kQ7vR2mXw9Lp", "T4sZ8nB3cY6d", "F1gH5jK0aE"].concat()),
        ("SLACK_WEBHOOK_PATH", ["T04QF2L7M/", "B06R8KX3N2P/", "q7Wz3kL9vB2x", "N8mR4tY6pC1d"].concat()),
        ("DB_PASSWORD", ["Zt5n", "Q8wL", "2xR7"].concat()),
        ("OPENAI_KEY", ["sk", "-proj-", "Hq7Lz2Vn9Rt4Wb8X", "c3Mk6Pd1Fs5Gj0Ay", "7Ue2Io9Kw4Nr"].concat()),
        ("GITHUB_TOKEN", ["gh", "p_", "R8mK2qW7zL4x", "N9vB3tY6pD1s", "F5hJ0cG2aE7u"].concat()),
        ("POSTGRES_PASSWORD", ["Pg4-", "Wz8q-", "Lm2x-", "Rt6v"].concat()),
    ]
}

/// The Slack bot token of `scripts/deploy_legacy.sh`, a file committed and
/// then deleted: only the history holds it.
fn history_secret() -> String {
    ["xo", "xb-", "2718281828-", "3141592653-", "Kq9Lm2Wx7Rt4", "Vb8Nz3Pd6Fs"].concat()
}

/// Every planted problem: (check id, `path:line`, or `path` for a finding on
/// a whole file, or `-` for a finding about the repository as a whole).
/// Each check's findings must be exactly these.
const PLANTED: &[(&str, &str)] = &[
    ("airflow.security", "airflow.cfg:13"),
    ("airflow.security", "airflow.cfg:14"),
    ("airflow.security", "airflow.cfg:18"),
    ("airflow.security", "airflow.cfg:6"),
    ("airflow.security", "airflow.cfg:15"),
    ("airflow.security", "airflow.cfg:5"),
    ("airflow.dags.secrets", "dags/train_pipeline.py:9"),
    ("airflow.dags.secrets", "airflow.cfg"),
    ("compliance.gdpr", "-"),
    ("compliance.data_residency", "-"),
    ("models.bias_fairness", "-"),
    ("models.bias_fairness", "-"),
    // Compose services: limits and read-only at the service, root and
    // privileged at their keys.
    ("docker.compose.isolation", "docker-compose.yml:2"),
    ("docker.compose.isolation", "docker-compose.yml:2"),
    ("docker.compose.isolation", "docker-compose.yml:2"),
    ("docker.compose.isolation", "docker-compose.yml:5"),
    ("docker.compose.isolation", "docker-compose.yml:6"),
    ("docker.compose.isolation", "docker-compose.yml:12"),
    ("docker.compose.isolation", "docker-compose.yml:12"),
    ("docker.compose.isolation", "docker-compose.yml:12"),
    ("docker.compose.isolation", "docker-compose.yml:19"),
    ("docker.compose.isolation", "docker-compose.yml:19"),
    ("docker.compose.isolation", "docker-compose.yml:19"),
    ("docker.compose.isolation", "docker-compose.yml:23"),
    ("docker.compose.isolation", "docker-compose.yml:23"),
    ("docker.compose.isolation", "docker-compose.yml:23"),
    ("docker.image.non_root", "Dockerfile:12"),
    ("docker.image.pinned_base", "Dockerfile:2"),
    ("docker.image.no_remote_add", "Dockerfile:5"),
    ("docker.image.no_secrets_in_env", "Dockerfile:9"),
    ("network.ports.restricted", "docker-compose.yml:8"),
    ("network.ports.restricted", "docker-compose.yml:10"),
    ("network.ports.restricted", "docker-compose.yml:16"),
    ("network.ports.restricted", "docker-compose.yml:22"),
    ("data.pii.tracked_files", "data/customers.csv:2"),
    ("data.pii.tracked_files", "data/customers.csv:3"),
    ("data.pii.tracked_files", "data/customers.csv:4"),
    ("models.integrity", "models/model.pkl"),
    ("models.integrity", "models/model.pkl"),
    ("models.lineage", "models/MLmodel"),
    ("models.lineage", "models/MLmodel"),
    ("local.workspace_permissions", "workspace"),
    ("local.workspace_permissions", "workspace/notes.md"),
    ("deps.python.pinned", "requirements.txt:1"),
    ("deps.python.pinned", "requirements.txt:2"),
    ("deps.python.pinned", "requirements.txt:4"),
    ("deps.python.pinned", "requirements.txt:6"),
    ("deps.python.pinned", "pyproject.toml"),
    // `requests==2.25.1` pinned at the root (which has no lock file) and in
    // the tools' lock.
    ("deps.python.vulnerabilities", "requirements.txt:5"),
    ("deps.python.vulnerabilities", "tools/uv.lock:30"),
    ("dvc.remote.encryption", ".dvc/config:5"),
    ("dvc.remote.encryption", ".dvc/config:12"),
    ("dvc.remote.tls", ".dvc/config:10"),
    ("dvc.remote.tls", ".dvc/config:13"),
    ("dvc.versioning.ignores_and_secrets", ".dvc/config"),
    ("dvc.versioning.ignores_and_secrets", "data/raw.dvc:9"),
    ("incident.response_plan", "-"),
    ("incident.disaster_recovery", "docs/disaster-recovery.md"),
    ("incident.backups", "docs/backup.md"),
    ("incident.security_testing", "-"),
    ("bentoml.network.exposure", "docker-compose.yml:16"),
    ("mlflow.auth.default_credentials", "basic_auth.ini:5"),
    ("mlflow.auth.server_app", "docker-compose.yml:4"),
    ("mlflow.auth.server_app", "Dockerfile:14"),
    ("mlflow.rbac.default_permission", "basic_auth.ini:2"),
    ("mlflow.https.tracking_uri", "Dockerfile:8"),
    ("mlflow.https.tracking_uri", "docker-compose.yml:18"),
    ("mlflow.https.tracking_uri", "src/train.py:9"),
    ("monitoring.scripts.sanitized", "monitoring/drift_monitor.py:11"),
    ("monitoring.scripts.sanitized", "monitoring/drift_monitor.py:17"),
    ("logging.redaction", "logs/serving.log:3"),
    ("artifacts.secrets", "mlruns/1/4f8e1c2a9b7d4e6f8a1b2c3d4e5f6a7b/artifacts/run_config.yaml:4"),
    ("artifacts.secrets", "mlruns/1/4f8e1c2a9b7d4e6f8a1b2c3d4e5f6a7b/params/db_password"),
    ("secrets.backend", "-"),
    ("secrets.backend", "airflow.cfg"),
    ("logging.operations", "loki-config.yaml:5"),
    ("logging.access", "bentoml_configuration.yaml:5"),
    ("logging.access", "docker-compose.yml:4"),
    ("logging.access", "Dockerfile:14"),
    ("monitoring.alerting", "-"),
    ("monitoring.dashboard", "-"),
    ("monitoring.dashboard", "-"),
    ("network.inter_service", "docker-compose.yml"),
    ("network.inter_service", "docker-compose.yml"),
    ("resources.limits", "docker-compose.yml:2"),
    ("resources.limits", "docker-compose.yml:12"),
    ("resources.limits", "docker-compose.yml:19"),
    ("resources.limits", "docker-compose.yml:23"),
    ("resources.limits", "k8s/deployment.yaml:17"),
    ("resources.limits", "-"),
    ("dvc.credentials.not_hardcoded", ".dvc/config:7"),
    ("dvc.credentials.not_hardcoded", ".dvc/config:8"),
    ("dvc.credentials.not_hardcoded", ".env:3"),
    ("dvc.credentials.not_hardcoded", "Dockerfile:9"),
    ("secrets.config_files.gitignored", "-"),
    ("secrets.config_files.gitignored", ".env"),
    ("secrets.config_files.gitignored", ".env"),
    ("secrets.not_in_code", ".dvc/config:7"),
    ("secrets.not_in_code", ".dvc/config:8"),
    ("secrets.not_in_code", ".env:2"),
    ("secrets.not_in_code", ".env:3"),
    ("secrets.not_in_code", "Dockerfile:9"),
    ("secrets.not_in_code", "airflow.cfg:5"),
    ("secrets.not_in_code", "airflow.cfg:9"),
    ("secrets.not_in_code", "dags/train_pipeline.py:9"),
    ("secrets.not_in_code", "data/raw.dvc:9"),
    ("secrets.not_in_code", "docker-compose.yml:27"),
    ("secrets.not_in_code", "logs/serving.log:3"),
    ("secrets.not_in_code", "mlruns/1/4f8e1c2a9b7d4e6f8a1b2c3d4e5f6a7b/artifacts/run_config.yaml:4"),
    // Committed, then deleted: in the history only, so no line today.
    ("secrets.not_in_code", "scripts/deploy_legacy.sh"),
];

/// Checks that a repository cannot decide, with why they are `skip` on both
/// platforms: network probes under `--offline`, parameters for servers that
/// are not set, the host, and installed packages (no `.venv` committed).
const NOT_DECIDABLE: &[(&str, &str)] = &[
    ("dvc.bucket.permissions", "--offline"),
    ("dvc.bucket.encryption", "--offline"),
    ("dvc.bucket.secure_transport", "--offline"),
    ("local.firewall", "host_checks"),
    ("network.ports.host", "host_checks"),
    ("deps.python.licenses", "virtualenv"),
    ("mlflow.auth.server_probe", "mlflow_url"),
    ("mlflow.https.certificate", "mlflow_url"),
    ("bentoml.auth.api_key", "bentoml_url"),
    ("services.unauthenticated_access", "evidently_url"),
    ("services.rate_limiting", "no service URL"),
];

/// Files that only look like they hold secrets or problems: lock-file
/// hashes, UUIDs, git commit ids, AWS's documented example key, `${VAR}`
/// and `{{ var }}` placeholders, reads from the environment, docs that
/// mention passwords.
const LOOKALIKE_FILES: &[&str] = &[
    "src/settings.py",
    "config/registry.yaml",
    "tools/pyproject.toml",
    "monitoring/ui/package-lock.json",
    "monitoring/ui/package.json",
    "docs/security-notes.md",
    "README.md",
    "mlruns/1/4f8e1c2a9b7d4e6f8a1b2c3d4e5f6a7b/meta.yaml",
    "mlruns/1/4f8e1c2a9b7d4e6f8a1b2c3d4e5f6a7b/params/learning_rate",
    "mlruns/1/4f8e1c2a9b7d4e6f8a1b2c3d4e5f6a7b/tags/mlflow.source.git.commit",
    "service.py",
];

/// Look-alike lines inside files that also hold planted problems: the
/// redacted log line, the `example.com` row of the CSV, the environment read
/// of the DAG, `ENV ..._FILE` and `ARG` without a default in the Dockerfile.
const LOOKALIKE_LINES: &[&str] = &[
    "logs/serving.log:2",
    "logs/serving.log:4",
    "data/customers.csv:5",
    "dags/train_pipeline.py:10",
    "Dockerfile:3",
    "Dockerfile:10",
];

fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(name)
}

/// Copies `src` into `dst`, replacing `@@NAME@@` in text files.
fn copy_tree(src: &Path, dst: &Path, secrets: &[(&str, String)]) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to, secrets);
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        match String::from_utf8(bytes) {
            Ok(mut text) => {
                for (name, value) in secrets {
                    text = text.replace(&format!("@@{name}@@"), value);
                }
                std::fs::write(&to, text).unwrap();
            }
            Err(e) => std::fs::write(&to, e.into_bytes()).unwrap(),
        }
    }
}

/// Runs git in `dir` with a fixed identity and date, so commit ids are the
/// same on every run.
fn git(dir: &Path, date: &str, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"])
        .args(args)
        .env("GIT_AUTHOR_NAME", "Fixture")
        .env("GIT_AUTHOR_EMAIL", "fixture@invalid")
        .env("GIT_COMMITTER_NAME", "Fixture")
        .env("GIT_COMMITTER_EMAIL", "fixture@invalid")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn head(dir: &Path, rev: &str) -> String {
    let out = Command::new("git").arg("-C").arg(dir).args(["rev-parse", rev]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A copy of the insecure platform with its secrets filled in, committed,
/// plus a second commit that deletes a script holding a token.
fn insecure_platform() -> PathBuf {
    let dir = temp_dir("insecure-platform");
    copy_tree(&fixture("insecure-platform"), &dir, &planted_secrets());
    chmod(&dir.join("workspace"), 0o777);
    chmod(&dir.join("workspace/notes.md"), 0o666);
    let script = format!("#!/bin/sh\nexport SLACK_BOT_TOKEN={}\n./deploy.sh\n", history_secret());
    write(&dir, &[("scripts/deploy_legacy.sh", script.as_str())]);
    git(&dir, "2026-10-01T12:00:00Z", &["init", "-q"]);
    git(&dir, "2026-10-01T12:00:00Z", &["add", "-A"]);
    git(&dir, "2026-10-01T12:00:00Z", &["commit", "-q", "-m", "fraud platform"]);
    std::fs::remove_file(dir.join("scripts/deploy_legacy.sh")).unwrap();
    git(&dir, "2026-10-02T12:00:00Z", &["add", "-A"]);
    git(&dir, "2026-10-02T12:00:00Z", &["commit", "-q", "-m", "remove the legacy deploy script"]);
    dir
}

/// A copy of the hardened platform, committed, with the model file DVC
/// tracks (ignored by git) and the workspace permissions git does not keep.
fn hardened_platform() -> PathBuf {
    let dir = temp_dir("hardened-platform");
    copy_tree(&fixture("hardened-platform"), &dir, &[]);
    std::fs::write(dir.join("models/model.pkl"), std::fs::read(fixture("insecure-platform/models/model.pkl")).unwrap())
        .unwrap();
    chmod(&dir.join("workspace"), 0o750);
    chmod(&dir.join("workspace/notes.md"), 0o640);
    git(&dir, "2026-10-01T12:00:00Z", &["init", "-q"]);
    git(&dir, "2026-10-01T12:00:00Z", &["add", "-A"]);
    git(&dir, "2026-10-01T12:00:00Z", &["commit", "-q", "-m", "fraud platform"]);
    dir
}

/// An OSV advisory database with one advisory: requests before 2.31.0.
fn advisory_db() -> PathBuf {
    let dir = temp_dir("advisories");
    let advisory = serde_json::json!({
        "id": "GHSA-j8r2-6x86-q33q",
        "summary": "Unintended leak of Proxy-Authorization header in requests",
        "affected": [{
            "package": { "ecosystem": "PyPI", "name": "requests" },
            "ranges": [{ "type": "ECOSYSTEM", "events": [{ "introduced": "2.3.0" }, { "fixed": "2.31.0" }] }]
        }]
    });
    std::fs::write(dir.join("GHSA-j8r2-6x86-q33q.json"), serde_json::to_string_pretty(&advisory).unwrap()).unwrap();
    dir
}

/// `mlpol eval . --offline --advisory-db DB` in `dir`, plus extra arguments.
fn eval(dir: &Path, db: &Path, extra: &[&str]) -> Output {
    let db = db.to_str().unwrap();
    let mut args = vec!["eval", ".", "--offline", "--advisory-db", db];
    args.extend_from_slice(extra);
    mlpol(dir, &args)
}

/// Where a finding points: `path:line`, `path`, or `-` (no location).
fn location(f: &Value) -> String {
    match (f["location"]["path"].as_str(), f["location"]["line"].as_u64()) {
        (Some(path), Some(line)) => format!("{path}:{line}"),
        (Some(path), None) => path.to_string(),
        _ => "-".to_string(),
    }
}

fn checks(report: &Value) -> &Vec<Value> {
    report["checks"].as_array().unwrap()
}

/// The report with the temporary paths replaced, volatile commit ids named,
/// and any timing field removed, pretty-printed for a snapshot.
fn normalised(report: &Value, replacements: &[(&str, &str)]) -> String {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.retain(|k, _| !(k.contains("duration") || k.contains("elapsed") || k.contains("timing")));
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut report = report.clone();
    strip(&mut report);
    let mut text = serde_json::to_string_pretty(&report).unwrap();
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    text
}

#[test]
fn the_insecure_platform_fails_every_check_a_repository_can_decide_where_the_problem_is() {
    let dir = insecure_platform();
    let db = advisory_db();
    let out = eval(&dir, &db, &["--format", "json"]);
    assert_eq!(out.code, 1, "the gate fails: {}", out.stderr);
    let report = out.json();

    // Every check the repository decides fails; the others are skipped for
    // the reason listed.
    for c in checks(&report) {
        let id = c["id"].as_str().unwrap();
        match NOT_DECIDABLE.iter().find(|(n, _)| *n == id) {
            Some((_, why)) => {
                assert_eq!(c["status"], "skip", "{id}: {}", c["message"]);
                assert!(
                    c["message"].as_str().unwrap().contains(why),
                    "{id} skipped for another reason: {}",
                    c["message"]
                );
            }
            None => assert_eq!(c["status"], "fail", "{id} is decidable from the repository: {}", c["message"]),
        }
    }

    // Each failing check reports exactly the planted problems, at their
    // file and line: none is missed, none is extra (a look-alike).
    let mut expected: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (id, at) in PLANTED {
        expected.entry(id).or_default().push(at.to_string());
    }
    for id in expected.keys() {
        assert!(checks(&report).iter().any(|c| c["id"] == *id), "planted problem for unknown check `{id}`");
    }
    for c in checks(&report).iter().filter(|c| c["status"] == "fail") {
        let id = c["id"].as_str().unwrap();
        let mut found: Vec<String> = c["findings"].as_array().unwrap().iter().map(location).collect();
        let mut want = expected.get(id).cloned().unwrap_or_default();
        found.sort();
        want.sort();
        assert_eq!(found, want, "findings of `{id}`:\n{:#}", c["findings"]);
    }

    // The look-alikes produce no finding in any check.
    for c in checks(&report) {
        for f in c["findings"].as_array().unwrap() {
            let at = location(f);
            for file in LOOKALIKE_FILES {
                assert!(
                    at != *file && !at.starts_with(&format!("{file}:")),
                    "`{}` reports a look-alike at {at}: {}",
                    c["id"],
                    f["message"]
                );
            }
            assert!(
                !LOOKALIKE_LINES.contains(&at.as_str()),
                "`{}` reports a look-alike at {at}: {}",
                c["id"],
                f["message"]
            );
        }
    }
    // The vulnerable pin is found through the advisory database.
    let vuln = check(&report, "deps.python.vulnerabilities");
    assert!(vuln["message"].as_str().unwrap().contains("GHSA-j8r2-6x86-q33q"), "{}", vuln["message"]);
}

#[test]
fn no_planted_secret_is_printed_in_any_format() {
    let dir = insecure_platform();
    let db = advisory_db();
    let out = eval(
        &dir,
        &db,
        &[
            "--format",
            "json",
            "--output",
            "human=report.txt",
            "--output",
            "sarif=report.sarif",
            "--output",
            "markdown=report.md",
            "--output",
            "junit=report.xml",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let human = mlpol(&dir, &["eval", ".", "--offline", "--advisory-db", db.to_str().unwrap()]);
    assert_eq!(human.code, 1, "{}", human.stderr);
    let mut outputs = vec![
        ("json", out.stdout.clone()),
        ("stderr", out.stderr.clone()),
        ("human (terminal)", human.stdout.clone()),
        ("human stderr", human.stderr.clone()),
    ];
    for file in ["report.txt", "report.sarif", "report.md", "report.xml"] {
        outputs.push((file, std::fs::read_to_string(dir.join(file)).unwrap()));
    }
    // The reports do list the secrets' findings (redacted), in every format.
    for (format, text) in &outputs {
        if !format.contains("stderr") {
            assert!(text.contains("secrets.not_in_code"), "{format} does not list the findings");
        }
    }
    let mut secrets: Vec<(&str, String)> = planted_secrets();
    secrets.push(("history", history_secret()));
    let mut leaks = Vec::new();
    for (format, text) in &outputs {
        for (name, value) in &secrets {
            if text.contains(value.as_str()) {
                leaks.push(format!("{format} prints the planted secret {name} in clear"));
            }
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

#[test]
fn the_hardened_platform_passes_its_gate_offline() {
    let dir = hardened_platform();
    let db = advisory_db();
    let out = eval(&dir, &db, &["--format", "json"]);
    let report = out.json();
    assert_eq!(out.code, 0, "the gate passes: {}\n{}", out.stderr, normalised(&report, &[]));
    assert_eq!(report["score"]["gate"], "pass");
    assert_eq!(report["warnings"], serde_json::json!([]));
    for c in checks(&report) {
        let id = c["id"].as_str().unwrap();
        match NOT_DECIDABLE.iter().find(|(n, _)| *n == id) {
            Some(_) => assert_eq!(c["status"], "skip", "{id}: {}", c["message"]),
            None => assert_eq!(c["status"], "pass", "{id}: {}\n{:#}", c["message"], c["findings"]),
        }
        if c["requires_attestation"] == true && c["status"] == "pass" {
            assert_eq!(c["attestation"]["state"], "valid", "{id} passes on a valid attestation");
            assert_eq!(c["attestation"]["expires"], "2028-10-31", "{id}");
        }
    }
    for a in report["attestations"].as_array().unwrap() {
        assert_eq!(a["state"], "valid", "{a}");
    }
}

#[test]
fn platform_reports_match_their_snapshots() {
    let db = advisory_db();
    let db_path = db.to_str().unwrap().to_string();

    let insecure = insecure_platform();
    let out = eval(&insecure, &db, &["--format", "json"]);
    let first = head(&insecure, "HEAD~1");
    let second = head(&insecure, "HEAD");
    let dir = insecure.to_str().unwrap().to_string();
    let text = normalised(
        &out.json(),
        &[(&dir, "[TARGET]"), (&db_path, "[ADVISORIES]"), (&first, "[COMMIT-1]"), (&second, "[COMMIT-2]")],
    );
    insta::assert_snapshot!("insecure_platform_report", text);

    let hardened = hardened_platform();
    let out = eval(&hardened, &db, &["--format", "json"]);
    let dir = hardened.to_str().unwrap().to_string();
    let text = normalised(&out.json(), &[(&dir, "[TARGET]"), (&db_path, "[ADVISORIES]")]);
    insta::assert_snapshot!("hardened_platform_report", text);
}
