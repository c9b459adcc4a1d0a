//! `mlpol eval`: statuses, located findings, the score gate, exit codes,
//! fact snapshots and fail-closed behaviour.

use crate::*;
use serde_json::Value;

#[test]
fn the_demo_platform_passes_its_gate_with_its_waivers() {
    let out = mlpol(&repo_root(), &["eval", "tests/fixtures/demo-platform", "--offline", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = out.json();
    assert_eq!(report["version"], "0.1.0");
    assert_eq!(report["target"], "tests/fixtures/demo-platform");
    assert_eq!(check(&report, "dvc.credentials.not_hardcoded")["status"], "pass");
    assert_eq!(check(&report, "team.models.small")["status"], "pass");
    let compose = check(&report, "docker.compose.isolation");
    assert_eq!(compose["status"], "waived");
    assert_eq!(compose["title"], "Container Isolation");
    assert_eq!(compose["section"], serde_json::json!(["Infrastructure Security", "Docker Containers"]));
    assert_eq!(compose["suppressed"][0]["location"]["path"], "legacy/docker-compose.yml");
    assert_eq!(report["score"]["gate"], "pass");
    // The legacy compose file is waived for isolation and resource limits.
    assert_eq!(report["score"]["medium"]["waived"], 2);
}

#[test]
fn findings_point_at_the_offending_line() {
    let dir = broken_platform();
    let out = mlpol(&dir, &["eval", ".", "--format", "json"]);
    assert_eq!(out.code, 1, "gate fails: {}", out.stderr);
    let report = out.json();
    let creds = check(&report, "dvc.credentials.not_hardcoded");
    assert_eq!(creds["status"], "fail");
    assert_eq!(creds["severity"], "critical");
    let locations: Vec<String> = creds["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{}:{}", f["location"]["path"].as_str().unwrap(), f["location"]["line"]))
        .collect();
    assert_eq!(locations, vec![".dvc/config:5", "src/train.py:3"]);
    // The finding names the key, never its value.
    assert!(!out.stdout.contains(&fake_key_id()), "secret leaked into the report");

    let compose = check(&report, "docker.compose.isolation");
    let root = compose["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["message"].as_str().unwrap().contains("runs as root"))
        .unwrap();
    assert_eq!(root["location"]["line"], 4);
    assert_eq!(check(&report, "secrets.config_files.gitignored")["status"], "fail");
    assert_eq!(report["score"]["critical"]["percent"], 0.0);
    assert_eq!(report["score"]["gate"], "fail");
}

#[test]
fn replaying_recorded_facts_gives_the_same_report() {
    let dir = broken_platform();
    let live = mlpol(&dir, &["eval", ".", "--format", "json"]);
    let facts = mlpol(&dir, &["facts", ".", "--out", "facts.json"]);
    assert_eq!(facts.code, 0, "{}", facts.stderr);
    // Replay elsewhere: the target's files are gone, only the snapshot is left.
    let other = temp_dir("replay");
    std::fs::copy(dir.join("facts.json"), other.join("facts.json")).unwrap();
    let replay = mlpol(&other, &["eval", ".", "--facts", "facts.json", "--format", "json"]);
    assert_eq!(replay.code, live.code);
    assert_eq!(replay.stdout, live.stdout);
    let snapshot: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(other.join("facts.json")).unwrap()).unwrap();
    assert!(snapshot["facts"]["doc.ini(@\".dvc/config\")"]["ok"].is_object(), "the snapshot records parsed documents");
}

#[test]
fn when_every_collector_fails_no_check_passes() {
    let dir = broken_platform();
    assert_eq!(mlpol(&dir, &["facts", ".", "--out", "facts.json"]).code, 0);
    let mut snapshot: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("facts.json")).unwrap()).unwrap();
    let facts = snapshot["facts"].as_object_mut().unwrap();
    assert!(facts.len() >= 5, "the snapshot holds the facts the checks read");
    for (_, v) in facts.iter_mut() {
        *v = serde_json::json!({ "error": { "message": "collector failed on purpose" } });
    }
    std::fs::write(dir.join("broken.json"), serde_json::to_string(&snapshot).unwrap()).unwrap();
    let out = mlpol(&dir, &["eval", ".", "--facts", "broken.json", "--format", "json"]);
    assert_eq!(out.code, 1);
    let report = out.json();
    for c in report["checks"].as_array().unwrap() {
        // A check decided by its params alone (a service URL that is not
        // set, host checks turned off) reads no fact and may skip.
        if c["status"] == "skip" && c["facts"].as_array().unwrap().is_empty() {
            continue;
        }
        assert_eq!(c["status"], "error", "{} must be error, not {}", c["id"], c["status"]);
        assert!(c["message"].as_str().unwrap().contains("collector failed on purpose"), "{}", c["message"]);
    }
    assert!(report["checks"].as_array().unwrap().iter().filter(|c| c["status"] == "error").count() >= 30);
}

#[test]
fn a_malformed_config_file_is_an_error_with_its_line_not_a_pass() {
    let dir = temp_dir("malformed");
    write(&dir, &[("docker-compose.yml", "services:\n  web:\n    image: [unclosed\n    user: root\n")]);
    let out = mlpol(&dir, &["eval", ".", "--only", "docker.compose.isolation", "--format", "json"]);
    let report = out.json();
    let c = check(&report, "docker.compose.isolation");
    assert_eq!(c["status"], "error");
    assert!(c["message"].as_str().unwrap().contains("docker-compose.yml:"), "{}", c["message"]);
    assert_eq!(out.code, 1);
}

#[test]
fn only_and_severity_select_checks() {
    let dir = broken_platform();
    let out = mlpol(&dir, &["eval", ".", "--only", "docker.compose", "--format", "json"]);
    let report = out.json();
    let ids: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["docker.compose.isolation"]);
    let out = mlpol(&dir, &["eval", ".", "--only", "docker", "--format", "json"]);
    let report = out.json();
    assert!(report["checks"].as_array().unwrap().iter().all(|c| c["id"].as_str().unwrap().starts_with("docker.")));
    let out = mlpol(&dir, &["eval", ".", "--severity", "critical", "--format", "json"]);
    let report = out.json();
    assert!(report["checks"].as_array().unwrap().iter().all(|c| c["severity"] == "critical"));
    let out = mlpol(&dir, &["eval", ".", "--only", "dockr.compose.isolation"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("did you mean `docker.compose.isolation`"), "{}", out.stderr);
}

#[test]
fn policy_errors_stop_evaluation_with_exit_2() {
    let dir = temp_dir("policy-errors");
    write(&dir, &[("policies/bad.mlpol", "check bad.one {\n  title = \"x\"\n  severity = hihg\n  require nope\n}\n")]);
    let out = mlpol(&dir, &["eval", "."]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("unknown severity `hihg`"), "{}", out.stderr);
    assert!(out.stderr.contains("unknown name `nope`"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn params_come_from_the_command_line_and_mlpol_toml() {
    let dir = temp_dir("params");
    let model = vec![b'x'; 2048];
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::write(dir.join("models/m.pkl"), model).unwrap();
    write(&dir, &[("policies/p.mlpol", "param limit: size = 1MiB\ncheck p.size {\n  title = \"Model Protection\"\n  section = [\"S\"]\n  severity = low\n  for f in files.glob(\"*.pkl\") {\n    require f.size <= limit else at f: \"{f.path} is {f.size}\"\n  }\n}\n")]);
    let ok = mlpol(&dir, &["eval", ".", "--no-stdlib", "--format", "json"]);
    assert_eq!(check(&ok.json(), "p.size")["status"], "pass");
    let bad = mlpol(&dir, &["eval", ".", "--no-stdlib", "--param", "limit=1KiB", "--format", "json"]);
    let report = bad.json();
    assert_eq!(check(&report, "p.size")["findings"][0]["message"], "models/m.pkl is 2KiB");
    write(&dir, &[("mlpol.toml", "[params]\nlimit = \"1KiB\"\n")]);
    let from_toml = mlpol(&dir, &["eval", ".", "--no-stdlib", "--format", "json"]);
    assert_eq!(check(&from_toml.json(), "p.size")["status"], "fail");
    let typo = mlpol(&dir, &["eval", ".", "--no-stdlib", "--param", "limt=1"]);
    assert_eq!(typo.code, 2);
    assert!(typo.stderr.contains("did you mean `limit`"), "{}", typo.stderr);
}

#[test]
fn a_failing_requirement_without_message_names_the_values_it_saw() {
    let dir = temp_dir("explain");
    write(&dir, &[
        ("a.yaml", "replicas: 5\n"),
        ("policies/p.mlpol", "check p.replicas {\n  title = \"Resource Limits\"\n  section = [\"S\"]\n  severity = low\n  for f in files.glob(\"a.yaml\") {\n    let d = doc.yaml(f)\n    require d[\"replicas\"] <= 3\n  }\n}\n"),
    ]);
    let out = mlpol(&dir, &["eval", ".", "--no-stdlib", "--format", "json"]);
    let report = out.json();
    let f = &check(&report, "p.replicas")["findings"][0];
    assert_eq!(f["message"], "requirement `d[\"replicas\"] <= 3` is false (d[\"replicas\"] = 5)");
    assert_eq!(f["location"]["path"], "a.yaml");
}

#[test]
fn inline_ignores_suppress_a_finding_unless_disabled() {
    let dir = temp_dir("inline");
    write(&dir, &[("docker-compose.yml", "services:\n  web:\n    image: nginx\n    mem_limit: 1g\n    cpus: 1\n    read_only: true\n    # mlpol:ignore docker.compose.isolation needs root for port 80 until SEC-9\n    user: root\n")]);
    let out = mlpol(&dir, &["eval", ".", "--only", "docker.compose.isolation", "--format", "json"]);
    let report = out.json();
    let c = check(&report, "docker.compose.isolation");
    assert_eq!(c["status"], "pass");
    assert!(c["suppressed"][0]["suppressed_by"].as_str().unwrap().contains("needs root for port 80"));
    let strict =
        mlpol(&dir, &["eval", ".", "--only", "docker.compose.isolation", "--no-inline-ignores", "--format", "json"]);
    assert_eq!(check(&strict.json(), "docker.compose.isolation")["status"], "fail");
}

#[test]
fn mlpol_passes_on_its_own_repository() {
    // The fixtures under tests/fixtures are insecure on purpose; the
    // repository's mlpol.toml waives them the way a user would.
    let out = mlpol(&repo_root(), &["eval", ".", "--format", "json"]);
    let report = out.json();
    let failing: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "pass" && c["status"] != "waived" && c["status"] != "skip")
        .collect();
    assert!(failing.is_empty(), "{failing:#?}");
    assert_eq!(out.code, 0);
    // Only the history waiver may go unmatched (in a shallow clone).
    for w in report["warnings"].as_array().unwrap() {
        assert!(w.as_str().unwrap().contains("`secrets.not_in_code` matched no finding"), "{w}");
    }
}

#[test]
fn the_example_org_policy_flags_unpinned_base_images() {
    let dir = temp_dir("images");
    write(
        &dir,
        &[
            ("Dockerfile", "FROM python:3.11-slim AS build\nRUN pip wheel .\nFROM python:latest\nFROM --platform=linux/amd64 ubuntu\nFROM build\nFROM scratch\nFROM alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"),
        ],
    );
    let policy = repo_root().join("policies/org-images.mlpol");
    let out = mlpol(&dir, &["eval", ".", "--no-stdlib", "--policy", policy.to_str().unwrap(), "--format", "json"]);
    let report = out.json();
    let c = check(&report, "org.docker.base_images_pinned");
    let lines: Vec<u64> =
        c["findings"].as_array().unwrap().iter().map(|f| f["location"]["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, vec![3, 4], "{c:#}");
    assert_eq!(c["findings"][0]["message"], "`FROM python:latest` does not pin its base image");
}

#[test]
fn dockerfile_checks_report_each_problem_at_its_instruction() {
    let insecure = temp_dir("dockerfile-bad");
    let token = ["abc", "123", "def", "456"].concat();
    let dockerfile = format!(
        "ARG BASE=python\nFROM ${{BASE}}:3.11 AS build\nRUN pip wheel .\nFROM python\nENV API_TOKEN={token} DB_PASSWORD_FILE=/run/secrets/db HOME=/app\nADD https://example.com/x.tgz /x.tgz\nUSER root\n"
    );
    write(&insecure, &[("Dockerfile", &dockerfile)]);
    let out = mlpol(&insecure, &["eval", ".", "--only", "docker.image", "--format", "json"]);
    let report = out.json();
    let at = |id: &str| -> Vec<u64> {
        check(&report, id)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["location"]["line"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(at("docker.image.non_root"), vec![7]);
    assert_eq!(at("docker.image.pinned_base"), vec![4]);
    assert_eq!(at("docker.image.no_remote_add"), vec![6]);
    assert_eq!(at("docker.image.no_secrets_in_env"), vec![5]);
    assert!(!out.stdout.contains(&token));

    let hardened = temp_dir("dockerfile-good");
    write(&hardened, &[("Dockerfile", "FROM python:3.11-slim@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef AS build\nRUN pip wheel .\nFROM gcr.io/distroless/python3:nonroot\nENV DB_PASSWORD_FILE=/run/secrets/db\nADD --checksum=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef https://example.com/x.tgz /x.tgz\nUSER 10001\n")]);
    let out = mlpol(&hardened, &["eval", ".", "--only", "docker.image", "--format", "json"]);
    for c in out.json()["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "pass", "{c:#}");
    }
}

#[test]
fn files_skip_in_mlpol_toml_replaces_the_default_skipped_directories() {
    let dir = temp_dir("skip");
    let bad = "services:\n  web:\n    image: x\n    user: root\n";
    write(&dir, &[("vendor/docker-compose.yml", bad), (".venv/lib/docker-compose.yml", bad)]);
    let ids = |out: &Output| -> usize {
        check(&out.json(), "docker.compose.isolation")["findings"].as_array().unwrap().len()
    };
    let default = mlpol(&dir, &["eval", ".", "--only", "docker.compose.isolation", "--format", "json"]);
    assert_eq!(ids(&default), 4, "vendor/ is scanned, .venv/ is not");
    write(&dir, &[("mlpol.toml", "[files]\nskip = [\"vendor\"]\n")]);
    let configured = mlpol(&dir, &["eval", ".", "--only", "docker.compose.isolation", "--format", "json"]);
    let report = configured.json();
    let c = check(&report, "docker.compose.isolation");
    assert!(
        c["findings"].as_array().unwrap().iter().all(|f| f["location"]["path"] == ".venv/lib/docker-compose.yml"),
        "{c:#}"
    );
}

#[test]
fn mlflow_checks_find_default_credentials_and_unauthenticated_servers() {
    let insecure = temp_dir("mlflow-bad");
    // A well-known weak password (not the default, which the remediation names).
    let default_password = ["change", "me"].concat();
    write(
        &insecure,
        &[
            ("deploy/basic_auth.ini", &format!("[mlflow]\ndefault_permission = EDIT\ndatabase_uri = sqlite:///basic_auth.db\nadmin_username = admin\nadmin_password = {default_password}\n")),
            // Assembled so this file itself holds no plain-HTTP tracking URI.
            ("docker-compose.yml", &format!("services:\n  mlflow:\n    image: ghcr.io/mlflow/mlflow:v2.22.0\n    command: mlflow server --host 0.0.0.0 --port 5000\n    environment:\n      MLFLOW_TRACKING_URI: {}://mlflow.internal.example:5000\n", "http")),
        ],
    );
    let out = mlpol(&insecure, &["eval", ".", "--only", "mlflow", "--format", "json"]);
    let report = out.json();
    let at = |id: &str| locations(&report, id);
    // Well known, and shorter than 12 characters: two findings on its line.
    assert_eq!(at("mlflow.auth.default_credentials"), vec!["deploy/basic_auth.ini:5", "deploy/basic_auth.ini:5"]);
    assert_eq!(at("mlflow.auth.server_app"), vec!["docker-compose.yml:4"]);
    assert_eq!(at("mlflow.rbac.default_permission"), vec!["deploy/basic_auth.ini:2"]);
    assert_eq!(at("mlflow.https.tracking_uri"), vec!["docker-compose.yml:6"]);
    assert_eq!(check(&report, "mlflow.auth.default_credentials")["severity"], "critical");
    assert!(!out.stdout.contains(&default_password), "the password is never printed");

    let hardened = temp_dir("mlflow-good");
    let strong = ["Vq7", "-x9P", "-m2Lk", "-Wz4"].concat();
    write(
        &hardened,
        &[
            ("deploy/basic_auth.ini", &format!("[mlflow]\ndefault_permission = READ\nadmin_username = admin\nadmin_password = {strong}\n")),
            ("docker-compose.yml", "services:\n  mlflow:\n    command: mlflow server --app-name basic-auth --host 127.0.0.1\n    environment:\n      MLFLOW_TRACKING_URI: https://mlflow.internal.example\n"),
        ],
    );
    let out = mlpol(&hardened, &["eval", ".", "--only", "mlflow", "--format", "json"]);
    for c in
        out.json()["checks"].as_array().unwrap().iter().filter(|c| c["id"].as_str().unwrap().starts_with("mlflow."))
    {
        // The probes of a running server need `mlflow_url`.
        let probe = ["mlflow.auth.server_probe", "mlflow.https.certificate"].contains(&c["id"].as_str().unwrap());
        assert_eq!(c["status"], if probe { "skip" } else { "pass" }, "{c:#}");
    }
}

#[test]
fn dvc_and_airflow_checks_report_each_setting_at_its_line() {
    let dir = temp_dir("dvc-airflow");
    let fernet = ["zXk3QvN8yT2b", "W5mR7pL9sD1f", "G4hJ6kA0cE3u", "I8oP2qM="].concat();
    let password = ["Zq8Lx2", "Vb7Np4", "Kw9Tr5"].concat();
    write(
        &dir,
        &[
            (".dvc/config", &format!("[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://ml-data/project\n    endpointurl = {}://minio.internal:9000\n", "http")),
            ("airflow.cfg", &format!("[core]\nfernet_key = {fernet}\n\n[webserver]\nauthenticate = False\nexpose_config = True\n\n[api]\nauth_backends = airflow.api.auth.backend.default\n")),
            ("dags/etl.py", &format!("from airflow import DAG\nDB_PASSWORD = \"{password}\"\n")),
        ],
    );
    let out = mlpol(&dir, &["eval", ".", "--only", "dvc", "--only", "airflow", "--format", "json"]);
    let report = out.json();
    let lines = |id: &str| locations(&report, id);
    assert_eq!(lines("dvc.remote.encryption"), vec![".dvc/config:4"]);
    assert_eq!(lines("dvc.remote.tls"), vec![".dvc/config:5"]);
    assert_eq!(lines("dvc.versioning.ignores_and_secrets"), vec![".dvc/config:null"]);
    assert_eq!(lines("airflow.security"), vec!["airflow.cfg:5", "airflow.cfg:9", "airflow.cfg:6", "airflow.cfg:2"]);
    assert_eq!(lines("airflow.dags.secrets"), vec!["dags/etl.py:2", "airflow.cfg:null"]);
    assert!(!out.stdout.contains(&fernet) && !out.stdout.contains(&password));
}

#[test]
fn ports_pins_monitoring_logs_and_run_data_are_checked() {
    let dir = temp_dir("more-checks");
    let password = ["Zq8Lx2", "Vb7Np4", "Kw9"].concat();
    write(
        &dir,
        &[
            ("docker-compose.yml", "services:\n  mlflow:\n    image: x\n    ports:\n      - \"5000:5000\"\n      - \"127.0.0.1:5001:5001\"\n      - target: 3000\n        published: 3000\n        host_ip: 0.0.0.0\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n      - ./data:/data\n"),
            ("requirements.txt", "requests==2.31.0\nnumpy>=1.24\nmlflow\n"),
            ("pyproject.toml", "[project]\nname = \"x\"\ndependencies = [\"pandas\"]\n"),
            ("silicon/monitor.py", "import os, subprocess\nsubprocess.run(\"powermetrics -n 1\", shell=True)\nprint(os.environ)\n"),
            ("logs/app.log", &format!("login ok user=bob password={password}\n")),
            ("mlruns/0/abc/params/db_password", &password),
        ],
    );
    let out = mlpol(
        &dir,
        &[
            "eval",
            ".",
            "--only",
            "network",
            "--only",
            "deps",
            "--only",
            "monitoring",
            "--only",
            "logging",
            "--only",
            "artifacts",
            "--format",
            "json",
        ],
    );
    let report = out.json();
    let lines = |id: &str| locations(&report, id);
    assert_eq!(
        lines("network.ports.restricted"),
        vec!["docker-compose.yml:5", "docker-compose.yml:7", "docker-compose.yml:11"]
    );
    assert_eq!(lines("deps.python.pinned"), vec!["requirements.txt:2", "requirements.txt:3", "pyproject.toml:null"]);
    assert_eq!(lines("monitoring.scripts.sanitized"), vec!["silicon/monitor.py:2", "silicon/monitor.py:3"]);
    assert_eq!(lines("logging.redaction"), vec!["logs/app.log:1"]);
    assert_eq!(lines("artifacts.secrets"), vec!["mlruns/0/abc/params/db_password:null"]);
    assert!(!out.stdout.contains(&password));
}

#[test]
fn procedural_items_need_their_documents_and_a_valid_attestation() {
    let dir = temp_dir("incident");
    write(
        &dir,
        &[
            (".dvc/config", "[core]\n    remote = s\n"),
            ("docs/incident-response.md", "# Incident response\n\n## Contacts\n- on-call\n"),
        ],
    );
    let out = mlpol(&dir, &["eval", ".", "--only", "incident", "--format", "json"]);
    let report = out.json();
    let plan = check(&report, "incident.response_plan");
    assert_eq!(plan["status"], "fail");
    assert_eq!(plan["findings"][0]["message"], "`docs/incident-response.md` does not cover `escalat`");
    assert_eq!(plan["findings"][0]["location"]["path"], "docs/incident-response.md");
    assert_eq!(check(&report, "incident.disaster_recovery")["message"], "no disaster recovery plan in the repository");

    // The document complete but nobody vouching for it: still failing.
    write(
        &dir,
        &[("docs/incident-response.md", "# Incident response\n\n## Contacts\n- on-call\n\n## Escalation\n1. lead\n")],
    );
    let out = mlpol(&dir, &["eval", ".", "--only", "incident.response_plan", "--format", "json"]);
    let report = out.json();
    let plan = check(&report, "incident.response_plan");
    assert_eq!(plan["status"], "fail");
    assert!(plan["message"].as_str().unwrap().starts_with("needs an attestation"), "{plan:#}");

    // Not a platform: not applicable.
    let tool = temp_dir("not-a-platform");
    write(&tool, &[("src/main.rs", "fn main() {}\n")]);
    let out = mlpol(&tool, &["eval", ".", "--only", "incident", "--format", "json"]);
    assert!(out.json()["checks"].as_array().unwrap().iter().all(|c| c["status"] == "skip"));
}

#[test]
fn data_model_and_workspace_checks() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("data");
    let email = ["jane.doe", "@", "corp-mail", ".io"].concat();
    write(
        &dir,
        &[
            ("data/customers.csv", &format!("id,email,score\n1,{email},0.7\n2,anon@example.com,0.1\n")),
            ("models/model.pkl", "not really a pickle"),
            ("mlruns/0/r/artifacts/model/MLmodel", "artifact_path: model\nflavors:\n  sklearn: {}\n"),
            ("mlops/workspace/notes.txt", "x\n"),
        ],
    );
    std::fs::set_permissions(dir.join("mlops/workspace"), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(dir.join("mlops/workspace/notes.txt"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = mlpol(&dir, &["eval", ".", "--only", "data", "--only", "models", "--only", "local", "--format", "json"]);
    let report = out.json();
    let lines = |id: &str| locations(&report, id);
    assert_eq!(lines("data.pii.tracked_files"), vec!["data/customers.csv:2"]);
    assert!(!out.stdout.contains(&email), "the personal data itself is not printed");
    assert_eq!(lines("models.integrity"), vec!["models/model.pkl:null"]);
    assert_eq!(
        lines("models.lineage"),
        vec!["mlruns/0/r/artifacts/model/MLmodel:null", "mlruns/0/r/artifacts/model/MLmodel:null"]
    );
    assert_eq!(lines("local.workspace_permissions"), vec!["mlops/workspace:null", "mlops/workspace/notes.txt:null"]);
}
