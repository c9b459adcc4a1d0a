//! `mlpol check`, `mlpol fmt`, `mlpol list`.

use crate::*;

#[test]
fn check_reports_json_diagnostics_with_positions_and_exit_2() {
    let dir = temp_dir("check");
    write(
        &dir,
        &[(
            "bad.mlpol",
            "check a.b {\n  title = \"T\"\n  severity = critical\n  section = [\"S\"]\n  require lenn([]) == 0\n}\n",
        )],
    );
    let out = mlpol(&dir, &["check", "bad.mlpol", "--format", "json"]);
    assert_eq!(out.code, 2);
    let diags = out.json();
    assert_eq!(
        diags,
        serde_json::json!([{
            "file": "bad.mlpol", "line": 5, "column": 11, "end_line": 5, "end_column": 15,
            "severity": "error", "code": "E0101", "message": "unknown name `lenn`"
        }])
    );
}

#[test]
fn the_bundled_checklist_and_the_repository_policies_check_clean() {
    let out = mlpol(&repo_root(), &["check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn fmt_check_finds_unformatted_files_and_fmt_fixes_them() {
    let dir = temp_dir("fmt");
    write(&dir, &[("policies/a.mlpol", "check a.b{\ntitle=\"T\"\n}\n")]);
    let out = mlpol(&dir, &["fmt", "--check"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("a.mlpol"));
    assert_eq!(mlpol(&dir, &["fmt"]).code, 0);
    assert_eq!(std::fs::read_to_string(dir.join("policies/a.mlpol")).unwrap(), "check a.b {\n  title = \"T\"\n}\n");
    assert_eq!(mlpol(&dir, &["fmt", "--check"]).code, 0);
}

#[test]
fn invalid_utf8_in_a_policy_is_a_diagnostic() {
    let dir = temp_dir("utf8");
    std::fs::write(dir.join("x.mlpol"), b"let a = \"\xff\"\n").unwrap();
    let out = mlpol(&dir, &["check", "x.mlpol", "--format", "json"]);
    assert_eq!(out.code, 2);
    assert_eq!(out.json()[0]["code"], "E0007");
}

#[test]
fn list_shows_every_check_with_its_title() {
    let out = mlpol(
        &repo_root(),
        &["list", "--format", "json", "--no-stdlib", "--policy", "tests/fixtures/demo-platform/policies"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let list = out.json();
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == "team.models.small" && m["title"] == "Model Protection"));
}

#[test]
fn explain_shows_documentation_source_and_last_evidence() {
    let dir = broken_platform();
    let report = mlpol(&dir, &["eval", ".", "--format", "json"]);
    std::fs::write(dir.join("report.json"), &report.stdout).unwrap();
    let out = mlpol(&dir, &["explain", "dvc.credentials.not_hardcoded", "--report", "report.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("dvc.credentials.not_hardcoded — Credentials Secured\n"), "{}", out.stdout);
    assert!(out.stdout.contains("remediation: Remove access keys"));
    assert!(out.stdout.contains("source: std/secrets.mlpol:"));
    assert!(out.stdout.contains("check dvc.credentials.not_hardcoded {"));
    assert!(out.stdout.contains("last result (report.json): fail"));
    assert!(out.stdout.contains("  - .dvc/config:5: `access_key_id`"));
    let typo = mlpol(&dir, &["explain", "dvc.credentials.not_hardcode"]);
    assert_eq!(typo.code, 2);
    assert!(typo.stderr.contains("did you mean `dvc.credentials.not_hardcoded`"), "{}", typo.stderr);
}

#[test]
fn init_writes_a_configuration_eval_accepts_and_never_overwrites() {
    let dir = temp_dir("init");
    let out = mlpol(&dir, &["init", ".", "--ci", "github"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(dir.join(".github/workflows/mlpol.yml").exists());
    let toml = std::fs::read_to_string(dir.join("mlpol.toml")).unwrap();
    assert!(toml.contains("[[waiver]]") && toml.contains("# [[attestation]]"));
    // The template's waiver is for a check that exists; eval accepts the file.
    let eval = mlpol(&dir, &["eval", ".", "--format", "json"]);
    assert_ne!(eval.code, 2, "{}", eval.stderr);
    let again = mlpol(&dir, &["init", "."]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("exists; pass --force"));
}
