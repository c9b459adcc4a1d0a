//! Waivers and attestations from mlpol.toml, in every output format.

use crate::*;

const FORMATS: [&str; 5] = ["human", "json", "sarif", "junit", "markdown"];

fn compose_platform(toml: &str) -> std::path::PathBuf {
    let dir = temp_dir("waivers");
    write(
        &dir,
        &[
            ("docker-compose.yml", "services:\n  web:\n    image: nginx\n    mem_limit: 1g\n    cpus: 1\n    read_only: true\n    user: root\n"),
            ("mlpol.toml", toml),
        ],
    );
    dir
}

fn waiver(expires: &str) -> String {
    format!("[[waiver]]\ncheck = \"docker.compose.isolation\"\nreason = \"vendor image, SEC-123\"\nowner = \"platform-team\"\nexpires = {expires}\n")
}

fn run_all(dir: &std::path::Path) -> Vec<(&'static str, Output)> {
    FORMATS
        .iter()
        .map(|f| (*f, mlpol(dir, &["eval", ".", "--only", "docker.compose.isolation", "--format", f])))
        .collect()
}

#[test]
fn an_unexpired_waiver_waives_in_every_format() {
    let dir = compose_platform(&waiver("2027-03-31"));
    for (format, out) in run_all(&dir) {
        assert_eq!(out.code, 0, "{format}: {}", out.stderr);
        let text = &out.stdout;
        match format {
            "json" => {
                let c = check(&out.json(), "docker.compose.isolation").clone();
                assert_eq!(c["status"], "waived");
                assert_eq!(c["waiver"]["owner"], "platform-team");
                assert_eq!(c["waiver"]["reason"], "vendor image, SEC-123");
            }
            "sarif" => assert!(text.contains("\"suppressions\"") && text.contains("vendor image, SEC-123"), "{text}"),
            "junit" => assert!(
                text.contains(
                    "<skipped message=\"waived: waived until 2027-03-31 by platform-team: vendor image, SEC-123\"/>"
                ),
                "{text}"
            ),
            _ => assert!(text.contains("waived") && text.contains("platform-team"), "{format}: {text}"),
        }
    }
}

#[test]
fn an_expired_waiver_fails_and_says_so_in_every_format() {
    let dir = compose_platform(&waiver("2026-01-31"));
    for (format, out) in run_all(&dir) {
        assert_eq!(out.code, 1, "{format}");
        assert!(out.stdout.contains("expired on 2026-01-31"), "{format} must say the waiver expired:\n{}", out.stdout);
        if format == "json" {
            let report = out.json();
            let c = check(&report, "docker.compose.isolation");
            assert_eq!(c["status"], "fail");
            assert_eq!(c["waiver"]["state"], "expired");
            assert_eq!(report["waivers"][0]["state"], "expired");
        }
    }
}

#[test]
fn a_waiver_that_matches_nothing_is_a_warning_in_every_format() {
    let dir = compose_platform(&format!("{}\n[[waiver]]\ncheck = \"dvc.credentials.not_hardcoded\"\nreason = \"old\"\nowner = \"me\"\nexpires = 2027-01-01\n", waiver("2027-03-31")));
    for (format, out) in FORMATS.iter().map(|f| (*f, mlpol(&dir, &["eval", ".", "--format", f]))) {
        assert!(
            out.stdout.contains("mlpol.toml:7: waiver for `dvc.credentials.not_hardcoded` matched no finding"),
            "{format} must warn about the unmatched waiver:\n{}",
            out.stdout
        );
    }
}

#[test]
fn a_path_scoped_waiver_only_covers_its_path() {
    let dir = temp_dir("scoped");
    write(
        &dir,
        &[
            ("legacy/docker-compose.yml", "services:\n  old:\n    image: x\n    user: root\n"),
            ("docker-compose.yml", "services:\n  new:\n    image: y\n    user: root\n"),
            ("mlpol.toml", "[[waiver]]\ncheck = \"docker.compose.isolation\"\npath = \"legacy\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-01\n"),
        ],
    );
    let out = mlpol(&dir, &["eval", ".", "--only", "docker.compose.isolation", "--format", "json"]);
    let report = out.json();
    let c = check(&report, "docker.compose.isolation");
    assert_eq!(c["status"], "fail");
    assert!(c["findings"].as_array().unwrap().iter().all(|f| f["location"]["path"] == "docker-compose.yml"));
    assert!(c["suppressed"].as_array().unwrap().iter().all(|f| f["location"]["path"] == "legacy/docker-compose.yml"));
    assert_eq!(c["suppressed"].as_array().unwrap().len(), 4);
}

#[test]
fn a_waiver_without_owner_is_a_config_error_naming_its_line() {
    let dir = compose_platform(
        "[params]\n\n[[waiver]]\ncheck = \"docker.compose.isolation\"\nreason = \"r\"\nexpires = 2027-01-01\n",
    );
    for format in FORMATS {
        let out = mlpol(&dir, &["eval", ".", "--format", format]);
        assert_eq!(out.code, 2);
        assert!(out.stderr.contains("mlpol.toml:3: [[waiver]] has no `owner`"), "{}", out.stderr);
        assert!(out.stdout.is_empty());
    }
}

fn attested_platform(attestation: &str, evidence: bool) -> std::path::PathBuf {
    let dir = temp_dir("attest");
    let policy = "check ir.plan {\n  title = \"Response Plan\"\n  section = [\"Incident Response\", \"Preparation\"]\n  severity = high\n  attestation = true\n  require files.exists(\"docs/incident-response.md\") else \"no incident response plan\"\n}\n";
    write(&dir, &[("policies/ir.mlpol", policy), ("mlpol.toml", attestation)]);
    if evidence {
        write(&dir, &[("docs/incident-response.md", "# Incident response\n")]);
    }
    dir
}

const ATTESTATION: &str = "[[attestation]]\ncheck = \"ir.plan\"\nby = \"Jane Roe\"\nrole = \"Security lead\"\ndate = 2026-10-01\nevidence = \"docs/incident-response.md\"\nvalid_for = \"365d\"\n";

#[test]
fn a_check_that_needs_an_attestation_passes_only_with_a_valid_one() {
    let ok = attested_platform(ATTESTATION, true);
    let out = mlpol(&ok, &["eval", ".", "--no-stdlib", "--format", "json"]);
    let report = out.json();
    assert_eq!(check(&report, "ir.plan")["status"], "pass");
    assert_eq!(check(&report, "ir.plan")["attestation"]["state"], "valid");
    let md = mlpol(&ok, &["eval", ".", "--no-stdlib", "--format", "markdown"]).stdout;
    assert!(md.contains("## Sign-off") && md.contains("| `ir.plan` | Jane Roe | Security lead | 2026-10-01 |"), "{md}");

    let missing = attested_platform("", true);
    let out = mlpol(&missing, &["eval", ".", "--no-stdlib", "--format", "json"]);
    assert_eq!(check(&out.json(), "ir.plan")["status"], "fail");

    let expired = attested_platform(&ATTESTATION.replace("2026-10-01", "2025-01-01"), true);
    let out = mlpol(&expired, &["eval", ".", "--no-stdlib", "--format", "json"]);
    let report = out.json();
    assert_eq!(check(&report, "ir.plan")["status"], "fail");
    assert!(check(&report, "ir.plan")["message"].as_str().unwrap().contains("expired on 2026-01-01"));

    let no_evidence = attested_platform(&ATTESTATION.replace("docs/incident-response.md", "docs/missing.md"), true);
    let out = mlpol(&no_evidence, &["eval", ".", "--no-stdlib", "--format", "json"]);
    assert_eq!(check(&out.json(), "ir.plan")["attestation"]["state"], "missing-evidence");

    // The requirement still has to hold: an attestation does not excuse a failure.
    let without_file = attested_platform(ATTESTATION, false);
    let out = mlpol(&without_file, &["eval", ".", "--no-stdlib", "--format", "json"]);
    assert_eq!(check(&out.json(), "ir.plan")["message"], "no incident response plan");
}
