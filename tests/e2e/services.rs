//! The stdlib against real services: MLflow 2.22.5 with and without its
//! basic-auth app (and with the default admin password changed), BentoML
//! with and without an API-key middleware, moto's S3 buckets, and a TLS
//! endpoint whose certificate expires in 10 days. `.ci/run` starts the
//! servers (`.ci/servers.sh`) and exports their addresses; without them the
//! tests say so loudly and return, and under CI they fail.

use crate::{temp_dir, write, TODAY};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The address of a server started by .ci/servers.sh.
fn server(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(std::env::var("CI").is_err(), "{var} must be set by .ci/run (.ci/servers.sh)");
            eprintln!("SKIPPED: {var} is unset; run `bash .ci/servers.sh start && . .ci/cache/servers.env` first");
            None
        }
    }
}

/// `mlpol eval DIR --format json --only CHECK` with extra arguments and
/// environment; returns the check's result and the whole stdout.
fn eval_check(dir: &Path, check: &str, args: &[&str], env: &[(&str, &str)]) -> (Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlpol"));
    cmd.args(["eval", ".", "--format", "json", "--timeout", "20", "--only", check])
        .args(args)
        .current_dir(dir)
        .env("MLPOL_TODAY", TODAY)
        .env_remove("CI");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    let result = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == check)
        .unwrap_or_else(|| panic!("{check} not in the report: {stdout}"))
        .clone();
    (result, stdout)
}

fn messages(check: &Value) -> Vec<String> {
    check["findings"].as_array().unwrap().iter().map(|f| f["message"].as_str().unwrap().to_string()).collect()
}

#[test]
fn mlflow_with_the_default_admin_password_fails() {
    let Some(url) = server("MLPOL_TEST_MLFLOW_URL") else { return };
    let dir = temp_dir("mlflow-default");
    let (check, out) = eval_check(&dir, "mlflow.auth.server_probe", &["--param", &format!("mlflow_url={url}")], &[]);
    assert_eq!(check["status"], "fail", "{check}");
    let msgs = messages(&check);
    assert!(msgs.iter().any(|m| m.contains("accepts the default login `admin`")), "{msgs:?}");
    // Anonymous requests are refused, so that is not a finding.
    assert!(!msgs.iter().any(|m| m.contains("without credentials")), "{msgs:?}");
    // Findings point at the probed URL. The default password is public (it
    // is in the policy), but the Authorization header made of it is never
    // printed.
    assert!(check["findings"][0]["location"]["uri"].as_str().unwrap().starts_with(&url), "{check}");
    assert!(!out.contains("YWRtaW46cGFzc3dvcmQxMjM0"), "{out}");
}

#[test]
fn mlflow_without_the_auth_app_fails() {
    let Some(url) = server("MLPOL_TEST_MLFLOW_OPEN_URL") else { return };
    let dir = temp_dir("mlflow-open");
    let (check, _) = eval_check(&dir, "mlflow.auth.server_probe", &["--param", &format!("mlflow_url={url}")], &[]);
    assert_eq!(check["status"], "fail", "{check}");
    let msgs = messages(&check);
    assert!(msgs.iter().any(|m| m.contains("without credentials (HTTP 200)")), "{msgs:?}");
}

#[test]
fn mlflow_with_a_changed_admin_password_passes_and_its_credentials_work() {
    let (Some(url), Some(user), Some(password)) = (
        server("MLPOL_TEST_MLFLOW_STRONG_URL"),
        server("MLPOL_TEST_MLFLOW_STRONG_USER"),
        server("MLPOL_TEST_MLFLOW_STRONG_PASSWORD"),
    ) else {
        return;
    };
    let dir = temp_dir("mlflow-strong");
    let args = [
        "--param",
        &format!("mlflow_url={url}"),
        "--param",
        "mlflow_username_env=E2E_MLFLOW_USER",
        "--param",
        "mlflow_password_env=E2E_MLFLOW_PASSWORD",
    ];
    let env = [("E2E_MLFLOW_USER", user.as_str()), ("E2E_MLFLOW_PASSWORD", password.as_str())];
    let (check, out) = eval_check(&dir, "mlflow.auth.server_probe", &args, &env);
    assert_eq!(check["status"], "pass", "{check}");
    assert!(!out.contains(&password), "the password leaked: {out}");
    // A wrong password in the variable is reported, not passed.
    let env = [("E2E_MLFLOW_USER", user.as_str()), ("E2E_MLFLOW_PASSWORD", "not-the-password")];
    let (check, _) = eval_check(&dir, "mlflow.auth.server_probe", &args, &env);
    assert_eq!(check["status"], "fail", "{check}");
    assert!(messages(&check).iter().any(|m| m.contains("refuses the credentials in $E2E_MLFLOW_USER")), "{check}");
}

#[test]
fn mlflow_url_unset_skips_and_offline_skips() {
    let dir = temp_dir("mlflow-unset");
    let (check, _) = eval_check(&dir, "mlflow.auth.server_probe", &[], &[]);
    assert_eq!(check["status"], "skip", "{check}");
    assert!(check["message"].as_str().unwrap().contains("`mlflow_url` is not set"), "{check}");
    let (check, _) =
        eval_check(&dir, "mlflow.auth.server_probe", &["--offline", "--param", "mlflow_url=http://127.0.0.1:9"], &[]);
    assert_eq!(check["status"], "skip", "{check}");
}

#[test]
fn unreachable_mlflow_is_an_error_not_a_pass() {
    let dir = temp_dir("mlflow-refused");
    // Nothing listens on the discard port of loopback.
    let (check, _) = eval_check(&dir, "mlflow.auth.server_probe", &["--param", "mlflow_url=http://127.0.0.1:9"], &[]);
    assert_eq!(check["status"], "error", "{check}");
    assert!(check["message"].as_str().unwrap().contains("127.0.0.1:9"), "{check}");
}

#[test]
fn bentoml_without_an_api_key_middleware_fails_and_with_one_passes() {
    let (Some(open), Some(keyed), Some(key)) =
        (server("MLPOL_TEST_BENTOML_URL"), server("MLPOL_TEST_BENTOML_KEY_URL"), server("MLPOL_TEST_BENTOML_KEY"))
    else {
        return;
    };
    let dir = temp_dir("bentoml");
    let (check, _) = eval_check(&dir, "bentoml.auth.api_key", &["--param", &format!("bentoml_url={open}")], &[]);
    assert_eq!(check["status"], "fail", "{check}");
    assert!(messages(&check).iter().any(|m| m.contains("without credentials (HTTP 200)")), "{check}");
    let args = ["--param", &format!("bentoml_url={keyed}"), "--param", "bentoml_api_key_env=E2E_BENTO_KEY"];
    let (check, out) = eval_check(&dir, "bentoml.auth.api_key", &args, &[("E2E_BENTO_KEY", key.as_str())]);
    assert_eq!(check["status"], "pass", "{check}");
    assert!(!out.contains(&key), "{out}");
    let (check, _) = eval_check(&dir, "bentoml.auth.api_key", &args, &[("E2E_BENTO_KEY", "wrong-key")]);
    assert_eq!(check["status"], "fail", "{check}");
}

/// Arranges two buckets on moto with boto3: one public and unencrypted, one
/// private, encrypted, with Block Public Access and a TLS-only policy.
fn arrange_buckets(python: &str, endpoint: &str, open: &str, closed: &str) {
    let script = r#"
import json, sys, boto3
endpoint, open_name, closed_name = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
s3.create_bucket(Bucket=open_name)
s3.put_bucket_acl(Bucket=open_name, ACL="public-read")
s3.create_bucket(Bucket=closed_name)
s3.put_bucket_encryption(Bucket=closed_name, ServerSideEncryptionConfiguration={
    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
s3.put_public_access_block(Bucket=closed_name, PublicAccessBlockConfiguration={
    "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
s3.put_bucket_policy(Bucket=closed_name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": [f"arn:aws:s3:::{closed_name}", f"arn:aws:s3:::{closed_name}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
"#;
    let out = Command::new(python).args(["-c", script, endpoint, open, closed]).output().unwrap();
    assert!(out.status.success(), "arranging buckets failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn dvc_remotes_on_public_and_private_moto_buckets() {
    let (Some(endpoint), Some(python)) = (server("MLPOL_TEST_S3"), server("MLPOL_PYTHON")) else { return };
    let n = std::process::id();
    let (open, closed) = (format!("mlpol-e2e-open-{n}"), format!("mlpol-e2e-closed-{n}"));
    arrange_buckets(&python, &endpoint, &open, &closed);
    let aws = [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_REGION", "us-east-1")];
    let dvc = |bucket: &str| {
        format!("[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://{bucket}/data\n    endpointurl = {endpoint}\n")
    };

    let dir = temp_dir("buckets-open");
    write(&dir, &[(".dvc/config", &dvc(&open))]);
    let (check, out) = eval_check(&dir, "dvc.bucket.permissions", &[], &aws);
    assert_eq!(check["status"], "fail", "{check}");
    let msgs = messages(&check);
    assert!(msgs.iter().any(|m| m.contains("is public") && m.contains("AllUsers")), "{msgs:?}");
    assert_eq!(check["findings"][0]["location"]["uri"].as_str().unwrap(), format!("s3://{open}/data"), "{check}");
    assert!(!out.contains("testing\""), "{out}");
    let (check, _) = eval_check(&dir, "dvc.bucket.encryption", &[], &aws);
    assert_eq!(check["status"], "fail", "{check}");
    assert!(messages(&check)[0].contains("has no default encryption"), "{check}");
    let (check, _) = eval_check(&dir, "dvc.bucket.secure_transport", &[], &aws);
    assert_eq!(check["status"], "fail", "{check}");

    let dir = temp_dir("buckets-closed");
    let attestation = "[[attestation]]\ncheck = \"dvc.bucket.permissions\"\nby = \"Jane Roe\"\nrole = \"Security lead\"\ndate = 2026-11-01\nevidence = \"docs/bucket-review.md\"\nvalid_for = \"365d\"\n";
    write(
        &dir,
        &[
            (".dvc/config", &dvc(&closed)),
            ("mlpol.toml", attestation),
            ("docs/bucket-review.md", "# Bucket policy review\n"),
        ],
    );
    for id in ["dvc.bucket.permissions", "dvc.bucket.encryption", "dvc.bucket.secure_transport"] {
        let (check, _) = eval_check(&dir, id, &[], &aws);
        assert_eq!(check["status"], "pass", "{id}: {check}");
    }
    // Without credentials the bucket cannot be read: error, never pass.
    let (check, _) =
        eval_check(&dir, "dvc.bucket.encryption", &[], &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")]);
    assert_eq!(check["status"], "error", "{check}");
}

#[test]
fn an_mlflow_certificate_expiring_in_ten_days_fails() {
    let port = crate::hostile_net::tls_server(&["localhost"], -30, 10);
    let dir = temp_dir("tls-expiring");
    let (check, _) = eval_check(
        &dir,
        "mlflow.https.certificate",
        &["--param", &format!("mlflow_url=https://localhost:{port}")],
        &[],
    );
    assert_eq!(check["status"], "fail", "{check}");
    let msgs = messages(&check);
    assert!(msgs.iter().any(|m| m.contains("expires in 9 days") || m.contains("expires in 10 days")), "{msgs:?}");
    // A test certificate is self-signed, which is reported too.
    assert!(msgs.iter().any(|m| m.contains("self-signed")), "{msgs:?}");
    assert!(!msgs.iter().any(|m| m.contains("expired on")), "{msgs:?}");
}
