//! `mlpol init`: a starter `mlpol.toml` and, on request, a CI job that runs
//! the gate on every push.

use crate::fail;
use std::path::Path;

const TEMPLATE: &str = include_str!("../../policies/templates/mlpol.toml");

const GITHUB: &str = r#"# Runs the MLOps security gate on every push and pull request.
name: mlpol
on: [push, pull_request]
jobs:
  mlpol:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      security-events: write
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0   # the history search needs the commits
      # Set MLPOL_GIT to the repository your organisation builds mlpol from.
      - run: cargo install --locked --git "$MLPOL_GIT" mlpol
        env:
          MLPOL_GIT: ${{ vars.MLPOL_GIT }}
      - run: mlpol eval . --offline --output sarif=mlpol.sarif --output junit=mlpol.xml
      - uses: github/codeql-action/upload-sarif@v3
        if: always()
        with:
          sarif_file: mlpol.sarif
"#;

const GITLAB: &str = r#"# Include from .gitlab-ci.yml: `include: local: .gitlab/mlpol.gitlab-ci.yml`
mlpol:
  image: rust:latest
  variables:
    GIT_DEPTH: "0"   # the history search needs the commits
    # MLPOL_GIT: set (as a CI/CD variable) to the repository your organisation builds mlpol from
  script:
    - cargo install --locked --git "$MLPOL_GIT" mlpol
    - mlpol eval . --offline --output junit=mlpol.xml --output markdown=mlpol.md
  artifacts:
    when: always
    reports:
      junit: mlpol.xml
    paths: [mlpol.md]
"#;

pub fn run(target: &Path, ci: Option<&str>, force: bool) -> u8 {
    let mut files: Vec<(std::path::PathBuf, &str)> = vec![(target.join("mlpol.toml"), TEMPLATE)];
    match ci {
        Some("github") => files.push((target.join(".github/workflows/mlpol.yml"), GITHUB)),
        Some("gitlab") => files.push((target.join(".gitlab/mlpol.gitlab-ci.yml"), GITLAB)),
        Some(other) => return fail(format!("unknown CI `{other}` (github, gitlab)")),
        None => {}
    }
    for (path, _) in &files {
        if path.exists() && !force {
            return fail(format!("{} exists; pass --force to overwrite it", path.display()));
        }
    }
    for (path, text) in files {
        if let Some(dir) = path.parent() {
            if let Err(e) = std::fs::create_dir_all(dir) {
                return fail(format!("{}: {e}", dir.display()));
            }
        }
        if let Err(e) = std::fs::write(&path, text) {
            return fail(format!("{}: {e}", path.display()));
        }
        println!("wrote {}", path.display());
    }
    0
}
