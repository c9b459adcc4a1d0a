//! `mlpol test`: the runner on copies of the bundled checklist and on small
//! policies written here.

use crate::*;

/// A copy of the bundled std.mlflow module and its tests, with `edit`
/// applied to the module.
fn mlflow_copy(edit: impl Fn(String) -> String) -> PathBuf {
    let dir = temp_dir("test-cmd");
    let checklist = repo_root().join("stdlib/checklist");
    let module = std::fs::read_to_string(checklist.join("mlflow.mlpol")).unwrap();
    let tests = std::fs::read_to_string(checklist.join("mlflow_test.mlpol")).unwrap();
    write(&dir, &[("std/mlflow.mlpol", edit(module).as_str()), ("std/mlflow_test.mlpol", tests.as_str())]);
    dir
}

#[test]
fn the_bundled_mlflow_tests_pass_on_a_copy_of_the_module() {
    let dir = mlflow_copy(|m| m);
    let out = mlpol(&dir, &["test", "--no-stdlib", "std"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.ends_with("10 passed, 0 failed\n"), "{}", out.stdout);
}

#[test]
fn an_inverted_condition_fails_its_tests_with_a_readable_diff() {
    // Break the password-length requirement: `>= 12` becomes `< 12`.
    let dir = mlflow_copy(|m| {
        assert!(m.contains("len(string(password)) >= 12"));
        m.replace("len(string(password)) >= 12", "len(string(password)) < 12")
    });
    let out = mlpol(&dir, &["test", "--no-stdlib", "std"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let stdout = &out.stdout;
    // The test that expected a pass now fails, with expected vs actual.
    assert!(stdout.contains("FAIL std/mlflow_test.mlpol:16: mlflow: a long unknown admin password passes"), "{stdout}");
    assert!(stdout.contains("    mlflow.auth.default_credentials status:\n      - expected: pass\n      + actual:   fail — the MLflow admin password in `basic_auth.ini` is shorter than 12 characters\n"), "{stdout}");
    // The trace shows the deciding requirement, with the value it saw, and the facts read.
    assert!(
        stdout.contains(": requirement `len(string(password)) < 12` is false (len(string(password)) = 21)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("facts read: doc.ini(@\"basic_auth.ini\"), files.glob(\"basic_auth.ini\")"), "{stdout}");
    // The test that counted findings sees one fewer.
    assert!(
        stdout.contains("    mlflow.auth.default_credentials findings:\n      - expected: 2\n      + actual:   1\n"),
        "{stdout}"
    );
    assert!(stdout.ends_with("8 passed, 2 failed\n"), "{stdout}");
}

fn team_policies() -> PathBuf {
    let dir = temp_dir("test-team");
    write(
        &dir,
        &[
            (
                "policies/team.mlpol",
                "check team.models.small {\n  title = \"Model Protection\"\n  section = [\"Data\"]\n  severity = low\n  skip when is_empty(files.glob(\"**/*.pkl\")) because \"no models\"\n  for f in files.glob(\"**/*.pkl\") {\n    require f.size < 10MiB else at f: \"`{f.path}` is too big\"\n  }\n}\n",
            ),
            (
                "policies/team_test.mlpol",
                "test \"a big model fails\" {\n  check = team.models.small\n  facts = { \"files.glob(\\\"**/*.pkl\\\")\": [{ path: \"models/a.pkl\", size: 20MiB }] }\n  status = fail\n  at = [\"models/a.pkl\"]\n}\n\ntest \"wrong expectation\" {\n  check = team.models.small\n  facts = { \"files.glob(\\\"**/*.pkl\\\")\": [{ path: \"b.pkl\", size: 1KiB }] }\n  status = fail\n  message = \"too big\"\n}\n\ntest \"a missing fact is an error\" {\n  check = team.models.small\n  status = error\n  message = \"fact `files.glob(\\\"**/*.pkl\\\")` is not in the test\"\n}\n",
            ),
        ],
    );
    dir
}

#[test]
fn json_reports_each_test_with_its_mismatches_and_coverage() {
    let dir = team_policies();
    let out = mlpol(&dir, &["test", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let json = out.json();
    assert_eq!(json["passed"], 2);
    assert_eq!(json["failed"], 1);
    let wrong = json["outcomes"].as_array().unwrap().iter().find(|o| o["name"] == "wrong expectation").unwrap();
    assert_eq!(wrong["passed"], false);
    assert_eq!(wrong["mismatches"][0]["what"], "status");
    assert_eq!(wrong["mismatches"][0]["expected"][0], "fail");
    assert_eq!(wrong["mismatches"][0]["actual"][0], "pass — every requirement holds");
    assert_eq!(wrong["mismatches"][1]["what"], "message");
    let coverage = &json["coverage"]["checks"][0];
    assert_eq!(coverage["check"], "team.models.small");
    assert_eq!(coverage["tests"], 3);
    // skip (2 arms), for (1), require (2): all but "skipped" were taken.
    assert_eq!(coverage["branches"], 5);
    assert_eq!(coverage["branches_covered"], 4);
    assert_eq!(coverage["missed"][0], "policies/team.mlpol:5: `skip when` never skipped");
}

#[test]
fn junit_is_parsed_by_a_junit_consumer() {
    let dir = team_policies();
    let out = mlpol(&dir, &["test", "--format", "junit"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("<testsuites name=\"mlpol test\" tests=\"3\" failures=\"1\">"), "{}", out.stdout);
    assert!(out.stdout.contains("<failure message=\"team.models.small status: expected fail\""), "{}", out.stdout);
    let Ok(python) = std::env::var("MLPOL_PYTHON") else {
        assert!(std::env::var("CI").is_err(), "MLPOL_PYTHON must be set by .ci/run");
        eprintln!("SKIPPED: junitparser not available (MLPOL_PYTHON unset)");
        return;
    };
    std::fs::write(dir.join("junit.xml"), &out.stdout).unwrap();
    let script = "import sys\nfrom junitparser import JUnitXml\nxml = JUnitXml.fromfile(sys.argv[1])\nfor suite in xml:\n    for case in suite:\n        print(case.name, 'failed' if case.result else 'passed')\n";
    let parsed =
        std::process::Command::new(python).args(["-c", script, "junit.xml"]).current_dir(&dir).output().unwrap();
    assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
    let text = String::from_utf8_lossy(&parsed.stdout);
    assert!(text.contains("wrong expectation failed"), "{text}");
    assert!(text.contains("a big model fails passed"), "{text}");
}

#[test]
fn filter_runs_only_the_matching_tests() {
    let dir = team_policies();
    let out = mlpol(&dir, &["test", "--filter", "big model"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("PASS policies/team_test.mlpol:1: a big model fails"), "{}", out.stdout);
    assert!(out.stdout.ends_with("1 passed, 0 failed\n"), "{}", out.stdout);
    let none = mlpol(&dir, &["test", "--filter", "nothing like this"]);
    assert_eq!(none.code, 2);
    assert!(none.stderr.contains("no test matches `--filter nothing like this`"), "{}", none.stderr);
}

#[test]
fn coverage_threshold_fails_below_it_and_lists_untested_checks() {
    let dir = team_policies();
    write(
        &dir,
        &[(
            "policies/other.mlpol",
            "check team.other {\n  title = \"Other\"\n  section = [\"Data\"]\n  severity = low\n  require true\n}\n",
        )],
    );
    let out = mlpol(&dir, &["test", "--filter", "big model", "--coverage", "--coverage-threshold", "80"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("checks with no test: team.other"), "{}", out.stdout);
    assert!(out.stdout.contains("branches 3/7 (42.9%)"), "{}", out.stdout);
    assert!(out.stderr.contains("branch coverage 42.9% is below the threshold 80%"), "{}", out.stderr);
    let low = mlpol(&dir, &["test", "--filter", "big model", "--coverage-threshold", "40"]);
    assert_eq!(low.code, 0, "{}{}", low.stdout, low.stderr);
}

#[test]
fn eval_and_check_ignore_test_files_in_the_policy_directory() {
    let dir = team_policies();
    write(&dir, &[("models/a.pkl", "x")]);
    let out = mlpol(&dir, &["eval", ".", "--no-stdlib", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = out.json();
    let ids: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["team.models.small"]);
    assert_eq!(mlpol(&dir, &["check", "--no-stdlib", "policies"]).code, 0);
    assert_eq!(mlpol(&dir, &["fmt", "--check", "policies"]).code, 0);
}
