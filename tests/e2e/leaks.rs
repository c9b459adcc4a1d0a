//! The secret-leak test (issue 9, item 4): more than twenty kinds of
//! secrets planted in a repository, in git history, in the environment
//! (credentials the probes send) and in a URL; then every output mlpol
//! has — each report format on stdout and in files, `mlpol secrets` in its
//! three formats and with `--history`, `mlpol explain --report`, the stderr
//! of every run (mlpol has no verbose flag or log variable: stderr is all
//! it logs), and the language server's messages (hover and code lenses
//! after an offline evaluation) — must not contain one of them in clear.
//! Secrets are assembled here from pieces; none is committed.

use crate::hostile_net::serve;
use crate::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A planted secret: its kind, and the clear text no output may contain.
struct Planted {
    kind: &'static str,
    clear: String,
}

fn p(kind: &'static str, parts: &[&str]) -> Planted {
    Planted { kind, clear: parts.concat() }
}

/// Secrets that go into files (each found by a rule of the scanner).
fn file_secrets() -> Vec<Planted> {
    vec![
        p("aws-access-key-id", &["AKIA", "R7VX", "3KQ9", "M2LW", "8PZT"]),
        p("aws-secret-access-key", &["vN3k", "Q8wL2xR7tZ5m", "Hp9sD4fG1jK6", "bY0cE3uA+7iO"]),
        p("gcp-service-account", &["MIIEvQIBADANBgkqhkiG9w0BAQEFAA", "SCBKcwggSjAgEAAoIBAQC7q"]),
        p("gcp-api-key", &["AIza", "SyD7kQ2mXw9Lp", "T4sZ8nB3cY6dF1g", "H5jK0aE"]),
        p(
            "azure-account-key",
            &[
                "Zk8vQ3mN7pL2xR9t",
                "W4yB6cD1fG5hJ0kS",
                "3aE8uI2oP7qT4nM9",
                "vX6zC1bV5gH0jK8l",
                "Q3wE7rT2yU6iO0pA4sD9fG3h==",
            ],
        ),
        p("azure-sas", &["Kq7Lm2Wx9Rt4Vb8N", "z3Pd6Fs1Gh5Jk0Ay", "7Ue2Io9Kw4Nr%3D"]),
        p("github-token", &["gh", "p_", "T5mK8qW3zL7x", "N2vB9tY4pD6s", "F1hJ5cG8aE3u"]),
        p("gitlab-token", &["gl", "pat-", "Xq4Lm8Wz2Rt6", "Vb1Nz7Pd3Fs9"]),
        p("slack-token", &["xo", "xb-", "1618033988-", "2236067977-", "Rq4Lm8Wx2Tz6", "Vb9Nz3Pd7Fs"]),
        p("slack-webhook", &["T07QF2L9M/", "B08R5KX1N4P/", "z4Wq8kL2vB6x", "N1mR7tY3pC9d"]),
        p("huggingface-token", &["hf", "_Wm3vR8qXz2Lp", "T7sK4nB9cY1d", "F6gH0jK5aE"]),
        p("openai-api-key", &["sk", "-proj-", "Tz8Lq3Vn6Rw1Xb5Y", "c9Mk2Pd7Fs4Gj8Ay", "3Ue6Io1Kw5Nr"]),
        p("anthropic-api-key", &["sk", "-ant-", "api03-", "Pq9Lm4Wx8Rt2Vb6N", "z1Pd5Fs9Gh3Jk7Ay", "2Ue8Io4Kw"]),
        p("wandb-api-key", &["3f9a1c7e5b2d8046", "a1e9c3f7b5d20486", "e3c1a9f7"]),
        p("openssh-private-key", &["b3BlbnNzaC1rZXktdjEAAAAABG5vbmUA", "AAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2g"]),
        p("jwt", &["eyJhbGciOiJIUzI1NiJ9", ".eyJzdWIiOiJtbHBvbC1sZWFrLXRlc3QifQ", ".Xq7Lm2Wz9Rt4Vb8Nz3Pd6Fs1Gh5"]),
        p("database-url-password", &["Dq8", "-Wm3", "-Lz7", "-Rx2"]),
        p("compose-password", &["Cp5", "Vn9", "Qw2", "Zk7"]),
        p("airflow-fernet-key", &["Fk3vN8xL2pR7", "tW0yB5mK9cF4", "hD6gS1aZuE8o", "J4nQ8kY="]),
        p("mlflow-admin-password", &["Ma7", "Kq2", "Wz9", "Lp4"]),
        p("dockerfile-env-token", &["Dt6", "Rq1", "Xn8", "Bv3", "Hm5"]),
    ]
}

/// Secrets that are never in a file: credentials in the environment (sent
/// by the probes), one in a URL, one only in git history.
fn other_secrets() -> Vec<Planted> {
    vec![
        p("mlflow-password-env", &["Ev7", "-Pw3", "-Kz9", "-Lq5"]),
        p("bentoml-api-key-env", &["bk", "_Yt4", "Rn8", "Wq2", "Zm6", "Xc1"]),
        p("password-in-url", &["Up3", "Wd8", "Kx2", "Nz6"]),
        p("history-slack-token", &["xo", "xb-", "2718281828-", "3141592653-", "Hq2Lm7Wx4Rt9", "Vb3Nz8Pd1Fs"]),
    ]
}

fn get<'a>(all: &'a [Planted], kind: &str) -> &'a str {
    &all.iter().find(|s| s.kind == kind).unwrap().clear
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=Leak Test", "-c", "user.email=leak@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A policy of the target that prints every secret finding with the whole
/// text of its file: only the report's redaction stands between them and
/// the outputs.
const PRINTER: &str = r#"check team.leak.printer {
  title = "Prints what it finds"
  section = ["Team"]
  severity = low
  for s in secrets.scan() {
    require false else at s: "{s.rule} {s.secret}: {files.text(files.get(s.path)) ?? ""}"
  }
}
"#;

fn planted_repo(s: &[Planted], history: &str) -> PathBuf {
    let dir = temp_dir("leaks");
    let sa = format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"mlpol-leak\",\n  \"private_key_id\": \"1a2b3c\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\",\n  \"client_email\": \"leak@mlpol-leak.iam.gserviceaccount.com\"\n}}\n",
        get(s, "gcp-service-account")
    );
    let dvc = format!(
        "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://bucket/data\n    access_key_id = {}\n    secret_access_key = {}\n",
        get(s, "aws-access-key-id"),
        get(s, "aws-secret-access-key")
    );
    let settings = format!(
        "GOOGLE_API_KEY = \"{}\"\nGITHUB_TOKEN = \"{}\"\nGITLAB = \"{}\"\nSLACK_BOT = \"{}\"\nSLACK_HOOK = \"https://hooks.slack.com/services/{}\"\nHF = \"{}\"\nOPENAI = \"{}\"\nANTHROPIC = \"{}\"\nwandb_api_key = \"{}\"\n",
        get(s, "gcp-api-key"),
        get(s, "github-token"),
        get(s, "gitlab-token"),
        get(s, "slack-token"),
        get(s, "slack-webhook"),
        get(s, "huggingface-token"),
        get(s, "openai-api-key"),
        get(s, "anthropic-api-key"),
        get(s, "wandb-api-key"),
    );
    let env = format!(
        "AZURE_STORAGE=DefaultEndpointsProtocol=https;AccountName=mlpolleak;AccountKey={};EndpointSuffix=core.windows.net\nSAS_URL=https://mlpolleak.blob.core.windows.net/models?sv=2022-11-02&ss=b&sp=r&sig={}\n",
        get(s, "azure-account-key"),
        get(s, "azure-sas")
    );
    let key = format!(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\nQyNTUxOQAAACBvZWxhdGVzdGtleWZvcm1scG9sbGVha3Rlc3Q=\n-----END OPENSSH PRIVATE KEY-----\n",
        get(s, "openssh-private-key")
    );
    let log = format!("2026-11-26 INFO request with Authorization: Bearer {}\n", get(s, "jwt"));
    let compose = format!(
        "services:\n  mlflow:\n    image: ghcr.io/mlflow/mlflow:v2.22.0\n    environment:\n      MLFLOW_BACKEND_STORE_URI: postgresql://mlflow:{}@db:5432/mlflow\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: {}\n",
        get(s, "database-url-password"),
        get(s, "compose-password")
    );
    let airflow = format!(
        "[core]\nfernet_key = {}\nexecutor = LocalExecutor\n[webserver]\nauthenticate = False\n",
        get(s, "airflow-fernet-key")
    );
    let basic_auth = format!(
        "[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///basic_auth.db\nadmin_username = admin\nadmin_password = {}\n",
        get(s, "mlflow-admin-password")
    );
    let dockerfile = format!(
        "FROM python:3.12-slim\nENV API_TOKEN={}\nCMD [\"mlflow\", \"server\"]\n",
        get(s, "dockerfile-env-token")
    );
    write(
        &dir,
        &[
            ("gcp-sa.json", &sa),
            (".dvc/config", &dvc),
            ("src/settings.py", &settings),
            (".env", &env),
            ("keys/deploy_key", &key),
            ("logs/app.log", &log),
            ("docker-compose.yml", &compose),
            ("airflow.cfg", &airflow),
            ("basic_auth.ini", &basic_auth),
            ("Dockerfile", &dockerfile),
            ("policies/printer.mlpol", PRINTER),
            ("mlpol.toml", ""),
        ],
    );
    // A token committed once and deleted: only history holds it.
    git(&dir, &["init", "-q"]);
    write(
        &dir,
        &[("scripts/notify.sh", &format!("curl -H 'Authorization: Bearer {history}' https://slack.com/api\n"))],
    );
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "add everything"]);
    std::fs::remove_file(dir.join("scripts/notify.sh")).unwrap();
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "remove the script"]);
    dir
}

/// Runs mlpol with the environment the probes read; returns its output.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlpol"));
    cmd.args(args).current_dir(dir).env("MLPOL_TODAY", TODAY).env_remove("CI");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every output whose name is given, searched for every planted secret.
fn leaks(outputs: &[(String, String)], secrets: &[Planted]) -> Vec<String> {
    let mut found = Vec::new();
    for (name, text) in outputs {
        for s in secrets {
            if text.contains(&s.clear) {
                found.push(format!("{name} prints the planted {} in clear", s.kind));
            }
        }
    }
    found
}

#[test]
fn no_planted_secret_appears_in_any_output_log_or_language_server_message() {
    let files = file_secrets();
    let others = other_secrets();
    assert!(files.len() + others.len() >= 20);
    let dir = planted_repo(&files, get(&others, "history-slack-token"));

    // A service that asks for credentials and takes any: the probes send
    // the environment's password and API key, and a URL with a password.
    let (port, heads) = serve(|s, head| {
        let authorized = head.is_some_and(|h| h.to_ascii_lowercase().contains("\nauthorization:"));
        let status = if authorized { "200 OK" } else { "401 Unauthorized" };
        let _ = s.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes());
    });
    let env = [
        ("E2E_LEAK_USER", "admin"),
        ("E2E_LEAK_PASSWORD", get(&others, "mlflow-password-env")),
        ("E2E_LEAK_KEY", get(&others, "bentoml-api-key-env")),
    ];
    let url = format!("http://127.0.0.1:{port}");
    let url_with_password = format!("http://admin:{}@127.0.0.1:{port}", get(&others, "password-in-url"));
    let params = [
        format!("mlflow_url={url}"),
        "mlflow_username_env=E2E_LEAK_USER".to_string(),
        "mlflow_password_env=E2E_LEAK_PASSWORD".to_string(),
        format!("bentoml_url={url}"),
        "bentoml_api_key_env=E2E_LEAK_KEY".to_string(),
        format!("airflow_url={url_with_password}"),
        "history_depth=10".to_string(),
    ];
    let mut eval_args: Vec<&str> = vec!["eval", ".", "--timeout", "5"];
    for p in &params {
        eval_args.extend(["--param", p.as_str()]);
    }

    let mut outputs: Vec<(String, String)> = Vec::new();
    let keep = |outputs: &mut Vec<(String, String)>, name: &str, out: &Output| {
        outputs.push((format!("{name} stdout"), out.stdout.clone()));
        outputs.push((format!("{name} stderr"), out.stderr.clone()));
    };
    let mut args = eval_args.clone();
    args.extend([
        "--format",
        "json",
        "--output",
        "human=r.txt",
        "--output",
        "sarif=r.sarif",
        "--output",
        "junit=r.xml",
        "--output",
        "markdown=r.md",
        "--output",
        "json=r.json",
    ]);
    let json = run(&dir, &args, &env);
    assert_eq!(json.code, 1, "{}", json.stderr);
    keep(&mut outputs, "eval --format json", &json);
    let report = json.json();
    for f in ["r.txt", "r.sarif", "r.xml", "r.md", "r.json"] {
        outputs.push((f.to_string(), std::fs::read_to_string(dir.join(f)).unwrap()));
    }
    for format in ["human", "sarif", "junit", "markdown"] {
        let mut args = eval_args.clone();
        args.extend(["--format", format]);
        let out = run(&dir, &args, &env);
        assert_eq!(out.code, 1, "{format}: {}", out.stderr);
        keep(&mut outputs, &format!("eval --format {format}"), &out);
    }
    let facts = run(&dir, &["facts", ".", "--out", "facts.json", "--timeout", "5"], &env);
    assert_eq!(facts.code, 0, "{}", facts.stderr);
    keep(&mut outputs, "facts", &facts);
    for format in ["human", "json", "sarif"] {
        let out = run(&dir, &["secrets", ".", "--history", "--format", format], &env);
        assert_eq!(out.code, 1, "secrets {format}: {}", out.stderr);
        keep(&mut outputs, &format!("secrets --history --format {format}"), &out);
    }
    for id in ["secrets.not_in_code", "team.leak.printer", "mlflow.auth.default_credentials", "airflow.security"] {
        let out = run(&dir, &["explain", id, "--report", "r.json"], &env);
        assert_eq!(out.code, 0, "explain {id}: {}", out.stderr);
        keep(&mut outputs, &format!("explain {id}"), &out);
    }
    let (lsp_transcript, hover) = lsp_session(&dir);
    outputs.push(("language server".to_string(), lsp_transcript));

    // The run did see the secrets: the scanner found every file kind, the
    // printer check fired, the probes sent the credentials, and the hover
    // shows the printer's last evaluation.
    let found: Vec<String> = check(&report, "secrets.not_in_code")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    let rules = [
        "aws-access-key-id",
        "aws-secret-access-key",
        "gcp-service-account",
        "gcp-api-key",
        "azure-storage-connection-string",
        "azure-sas-token",
        "github-token",
        "gitlab-token",
        "slack-token",
        "slack-webhook",
        "huggingface-token",
        "openai-api-key",
        "anthropic-api-key",
        "wandb-api-key",
        "private-key",
        "jwt",
        "database-url-password",
    ];
    let missed: Vec<&&str> = rules.iter().filter(|r| !found.iter().any(|m| m.contains(&format!("`{r}`")))).collect();
    assert!(missed.is_empty(), "the scanner missed planted kinds {missed:?}; it found:\n{found:#?}");
    assert_eq!(check(&report, "team.leak.printer")["status"], "fail");
    let heads = heads.lock().unwrap().clone();
    assert!(heads.iter().any(|h| h.contains(get(&others, "bentoml-api-key-env"))), "the API key was never sent");
    assert!(hover.contains("**Last evaluation:** fail"), "{hover}");

    let secrets: Vec<Planted> = files.into_iter().chain(others).collect();
    let found = leaks(&outputs, &secrets);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// `mlpol facts` writes what the collectors returned, and they return file
/// contents (`files.grep` lines, `doc.ini` values) as they are: the snapshot
/// redacts every string on the way to disk.
#[test]
fn the_facts_snapshot_holds_no_planted_secret_in_clear() {
    let files = file_secrets();
    let dir = planted_repo(&files, &["xo", "xb-", "1-", "2-", "Hq2Lm7Wx4Rt9Vb3Nz8"].concat());
    let out = run(&dir, &["facts", ".", "--out", "facts.json", "--offline"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(dir.join("facts.json")).unwrap();
    let found = leaks(&[("facts.json".to_string(), text)], &files);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The language server on the target: open the printer policy, evaluate
/// (offline), ask for the printer check's hover and the code lenses.
/// Returns every message the server sent, and the hover's text.
fn lsp_session(dir: &Path) -> (String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlpol"))
        .arg("lsp")
        .current_dir(dir)
        .env("XDG_CACHE_HOME", dir.join(".cache-lsp"))
        .env("MLPOL_TODAY", TODAY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(n) = line.strip_prefix("Content-Length: ") {
                    length = n.parse().unwrap();
                }
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                return;
            }
        }
    });
    let send = |stdin: &mut std::process::ChildStdin, message: Value| {
        let body = message.to_string();
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        stdin.flush().unwrap();
    };
    let mut transcript = String::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut request = |stdin: &mut std::process::ChildStdin, id: i64, method: &str, params: Value| -> Value {
        send(stdin, serde_json::json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = rx.recv_timeout(left).unwrap_or_else(|_| panic!("no answer to {method}:\n{transcript}"));
            transcript.push_str(&message.to_string());
            transcript.push('\n');
            if message["id"] == id && message.get("method").is_none() {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
            // A request of the server (code lens refresh): answer it.
            if let (Some(server_id), Some(_)) = (message.get("id"), message.get("method")) {
                send(stdin, serde_json::json!({ "jsonrpc": "2.0", "id": server_id, "result": null }));
            }
        }
    };
    let root = format!("file://{}", dir.display());
    let policy = dir.join("policies/printer.mlpol");
    let uri = format!("file://{}", policy.display());
    request(
        &mut stdin,
        1,
        "initialize",
        serde_json::json!({ "processId": null, "rootUri": root, "workspaceFolders": [{ "uri": root, "name": "leaks" }],
            "capabilities": { "workspace": { "codeLens": { "refreshSupport": true } } } }),
    );
    send(&mut stdin, serde_json::json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }));
    send(
        &mut stdin,
        serde_json::json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": { "textDocument": {
            "uri": uri, "languageId": "mlpol", "version": 1, "text": PRINTER } } }),
    );
    let evaluation = request(
        &mut stdin,
        2,
        "workspace/executeCommand",
        serde_json::json!({ "command": "mlpol.evaluate", "arguments": [] }),
    );
    assert_eq!(evaluation["checks"]["team.leak.printer"], "fail", "{evaluation}");
    let hover = request(
        &mut stdin,
        3,
        "textDocument/hover",
        serde_json::json!({ "textDocument": { "uri": uri }, "position": { "line": 0, "character": 8 } }),
    );
    let lenses = request(&mut stdin, 4, "textDocument/codeLens", serde_json::json!({ "textDocument": { "uri": uri } }));
    assert!(lenses.to_string().contains("fail"), "{lenses}");
    request(&mut stdin, 5, "shutdown", Value::Null);
    send(&mut stdin, serde_json::json!({ "jsonrpc": "2.0", "method": "exit" }));
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    transcript.push_str(&String::from_utf8_lossy(&output.stderr));
    (transcript, hover["contents"]["value"].as_str().unwrap_or_default().to_string())
}
