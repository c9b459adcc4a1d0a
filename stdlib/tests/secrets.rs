//! The secret scanner. Every fake secret is assembled at run time (random
//! strings from a fixed seed, prefixes glued on with `format!`), so no
//! scanner — this one included, see `own_sources_are_clean` — finds one in
//! this file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use mlpol_lang::value::mask;
use mlpol_stdlib::secrets::{
    finding_value, fingerprint, rules, Scanner, SecretFinding, MAX_FINDINGS_PER_FILE, MAX_LINE_BYTES,
};
use std::collections::BTreeSet;

const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const DIGITS: &str = "0123456789";
const HEX: &str = "0123456789abcdef";

/// A deterministic random string over `alphabet`.
fn rand(seed: u64, alphabet: &str, n: usize) -> String {
    let chars: Vec<char> = alphabet.chars().collect();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chars[(x % chars.len() as u64) as usize]
        })
        .collect()
}

/// Random letters and digits with all three classes present.
fn alnum(seed: u64, n: usize) -> String {
    let s = rand(seed, &format!("{UPPER}{LOWER}{DIGITS}"), n);
    format!("{}{}{}{}", rand(seed + 1, UPPER, 1), rand(seed + 2, LOWER, 1), rand(seed + 3, DIGITS, 1), &s[3..])
}

fn base64ish(seed: u64, n: usize) -> String {
    let s = rand(seed, &format!("{UPPER}{LOWER}{DIGITS}+/"), n);
    format!("{}{}{}{}", rand(seed + 1, UPPER, 1), rand(seed + 2, LOWER, 1), rand(seed + 3, DIGITS, 1), &s[3..])
}

fn b64url_encode(data: &[u8]) -> String {
    let table: Vec<char> = format!("{UPPER}{LOWER}{DIGITS}-_").chars().collect();
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(table[((n >> (18 - 6 * i)) & 63) as usize]);
        }
    }
    out
}

fn dashes() -> String {
    "-".repeat(5)
}

fn pem_begin(kind: &str) -> String {
    format!("{d}BEGIN {kind}PRIVATE KEY{d}", d = dashes())
}

fn pem_end(kind: &str) -> String {
    format!("{d}END {kind}PRIVATE KEY{d}", d = dashes())
}

fn aws_id(seed: u64) -> String {
    format!("{}{}{}", "AK", "IA", rand(seed, &format!("{UPPER}{DIGITS}"), 16))
}

fn aws_secret(seed: u64) -> String {
    base64ish(seed, 40)
}

fn github(seed: u64) -> String {
    format!("{}_{}", "ghp", alnum(seed, 36))
}

fn jwt(seed: u64) -> String {
    let head = b64url_encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = b64url_encode(br#"{"sub":"svc-trainer","iat":1700000000}"#);
    format!("{head}.{body}.{}", alnum(seed, 43))
}

fn scan(path: &str, text: &str) -> Vec<SecretFinding> {
    Scanner::shared().scan_text(path, text)
}

fn show(findings: &[SecretFinding]) -> String {
    findings
        .iter()
        .map(|f| format!("{}:{}:{} {} {}", f.path, f.line, f.column, f.rule, f.redacted))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A true positive: one finding of `rule` whose secret is `clear`.
struct Positive {
    rule: &'static str,
    path: &'static str,
    text: String,
    clear: String,
    /// Other rules that may report on the same text.
    also: &'static [&'static str],
}

/// For each rule: true positives, and near misses that yield no finding.
fn cases() -> (Vec<Positive>, Vec<(&'static str, &'static str, String)>) {
    let mut pos = Vec::new();
    let mut neg: Vec<(&'static str, &'static str, String)> = Vec::new();
    let mut p = |rule, path, text: String, clear: String| pos.push(Positive { rule, path, text, clear, also: &[] });

    // aws-access-key-id
    let id = aws_id(1);
    p("aws-access-key-id", "config.ini", format!("[default]\naws_access_key_id = {id}\n"), id.clone());
    neg.push(("aws-access-key-id", "config.ini", format!("aws_access_key_id = {}\n", &id[..19])));
    neg.push(("aws-access-key-id", "notes.txt", format!("build X{id}Y\n")));

    // aws-secret-access-key: by name, and next to an access key id.
    let sk = aws_secret(2);
    p(
        "aws-secret-access-key",
        "deploy.py",
        format!("client = boto3.client(\"s3\", aws_secret_access_key=\"{sk}\")\n"),
        sk.clone(),
    );
    let csv = format!("User name,Access key ID,Secret access key\nml-bot,{id},{sk}\n");
    neg.push(("aws-secret-access-key", "data.csv", format!("row,{}\n", aws_secret(3))));
    neg.push(("aws-secret-access-key", "deploy.py", format!("aws_secret_access_key = \"{}\"\n", rand(4, HEX, 40))));

    // gcp-service-account
    let body = base64ish(5, 64);
    let sa = format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"ml-prod\",\n  \"private_key\": \"{}\\n{body}\\n{}\\n{}\\n\",\n  \"client_email\": \"trainer@ml-prod.iam.gserviceaccount.com\"\n}}\n",
        pem_begin(""),
        base64ish(6, 64),
        pem_end("")
    );
    p("gcp-service-account", "sa.json", sa, body);
    neg.push((
        "gcp-service-account",
        "sa.json",
        format!(
            "{{\"type\": \"service_account\", \"private_key\": \"{}\\n...\\n{}\\n\"}}\n",
            pem_begin(""),
            pem_end("")
        ),
    ));

    // gcp-api-key
    let gkey = format!("{}{}{}", "AI", "za", alnum(7, 35));
    p("gcp-api-key", ".env", format!("GOOGLE_API_KEY={gkey}\n"), gkey.clone());
    neg.push(("gcp-api-key", "app.js", format!("const mapsJs = \"{}\";\n", &gkey[..38])));

    // azure-storage-connection-string
    let akey = format!("{}==", base64ish(8, 86));
    p(
        "azure-storage-connection-string",
        "settings.py",
        format!("CONN = \"DefaultEndpointsProtocol=https;AccountName=mlprod;AccountKey={akey};EndpointSuffix=core.windows.net\"\n"),
        akey.clone(),
    );
    let azurite =
        format!("{}{}", "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2", "UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==");
    neg.push((
        "azure-storage-connection-string",
        "docker-compose.yml",
        format!("  AZURE_STORAGE_CONNECTION_STRING: DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={azurite};BlobEndpoint=http://azurite:10000/devstoreaccount1;\n"),
    ));
    neg.push((
        "azure-storage-connection-string",
        "README.md",
        "Set `AccountKey=<your-account-key>` in the connection string.\n".to_string(),
    ));

    // azure-sas-token
    let sig = format!("{}%2B{}%3D", alnum(9, 20), alnum(10, 21));
    p(
        "azure-sas-token",
        "pipeline.yaml",
        format!("url: https://mlprod.blob.core.windows.net/models/m.onnx?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01T00:00:00Z&spr=https&sig={sig}\n"),
        sig.clone(),
    );
    neg.push(("azure-sas-token", "pipeline.yaml", format!("webhook: https://ci.internal/verify?sig={sig}\n")));

    // github-token
    let gh = github(11);
    p("github-token", ".env", format!("GITHUB_TOKEN={gh}\n"), gh.clone());
    let pat = format!("{}_{}_{}", "github_pat", alnum(12, 22), alnum(13, 59));
    p("github-token", "ci.sh", format!("curl -H \"Authorization: Bearer {pat}\" https://api.github.com\n"), pat);
    neg.push(("github-token", ".env", format!("GITHUB_TOKEN={}_{}\n", "ghp", "x".repeat(36))));
    neg.push((
        "github-token",
        "notes.md",
        format!("The prefix {}_ marks a classic token; {}_{} is too short.\n", "ghp", "ghp", alnum(14, 20)),
    ));

    // gitlab-token
    let gl = format!("{}-{}", "glpat", alnum(15, 20));
    p("gitlab-token", ".gitlab-ci.yml", format!("variables:\n  GL_API: {gl}\n"), gl.clone());
    neg.push(("gitlab-token", ".gitlab-ci.yml", format!("  GL_API: {}-{}\n", "glpat", "x".repeat(20))));
    neg.push(("gitlab-token", "docs.md", format!("Tokens start with `{}-`.\n", "glpat")));

    // slack-token
    let xb = format!("{}-{}-{}-{}", "xoxb", rand(16, DIGITS, 11), rand(17, DIGITS, 12), alnum(18, 24));
    p("slack-token", "alerts.py", format!("client = WebClient(\"{xb}\")\n"), xb.clone());
    neg.push(("slack-token", "alerts.py", format!("client = WebClient(\"{}-{}\")\n", "xoxb", "your-bot-token-here")));
    neg.push(("slack-token", "alerts.py", format!("# {}-{} is not enough\n", "xoxb", alnum(19, 9))));

    // slack-webhook
    let hook = format!(
        "T{}/B{}/{}",
        rand(20, &format!("{UPPER}{DIGITS}"), 8),
        rand(21, &format!("{UPPER}{DIGITS}"), 10),
        alnum(22, 24)
    );
    p(
        "slack-webhook",
        "notify.py",
        format!("URL = \"https://{}/services/{hook}\"\n", ["hooks", "slack", "com"].join(".")),
        hook,
    );
    neg.push((
        "slack-webhook",
        "notify.py",
        format!(
            "URL = \"https://{}/services/T00000000/B00000000/{}\"\n",
            ["hooks", "slack", "com"].join("."),
            "X".repeat(24)
        ),
    ));

    // huggingface-token
    let hf = format!("{}_{}", "hf", rand(23, &format!("{UPPER}{LOWER}"), 34));
    p("huggingface-token", "train.py", format!("login(\"{hf}\")\n"), hf.clone());
    neg.push(("huggingface-token", "train.py", format!("from x import {}_{}\n", "hf", rand(24, LOWER, 34))));

    // openai-api-key
    let oa = format!("{}-{}{}{}{}", "sk", alnum(25, 20), "T3Blbk", "FJ", alnum(26, 20));
    p("openai-api-key", ".env", format!("OPENAI_API_KEY={oa}\n"), oa.clone());
    let proj = format!("{}-{}-{}", "sk", "proj", alnum(27, 120));
    p("openai-api-key", "client.ts", format!("const c = new OpenAI({{ apiKey: '{proj}' }});\n"), proj);
    neg.push(("openai-api-key", "requirements.txt", "task-scheduler-plugin-extra-long==1.0\n".to_string()));
    neg.push((
        "openai-api-key",
        "Makefile",
        format!("install:\n\tpip install {}-learn-style-package-name-longer\n", "sk"),
    ));

    // anthropic-api-key
    let an = format!("{}-{}-{}", "sk", "ant-api03", alnum(28, 93));
    p("anthropic-api-key", "agent.py", format!("client = Anthropic(api_key=\"{an}\")\n"), an);
    neg.push((
        "anthropic-api-key",
        "agent.py",
        format!("client = Anthropic(api_key=\"{}-{}-{}\")\n", "sk", "ant-api03", "x".repeat(93)),
    ));

    // wandb-api-key
    let wb = rand(29, HEX, 40);
    p("wandb-api-key", ".env", format!("WANDB_API_KEY={wb}\n"), wb.clone());
    p("wandb-api-key", "train.py", format!("wandb.login(key=\"{wb}\")\n"), wb.clone());
    neg.push(("wandb-api-key", "train.py", format!("wandb_commit = \"{wb}\"\n")));

    // private-key: PEM and OpenSSH; the finding is the BEGIN line.
    let rsa1 = base64ish(30, 64);
    p(
        "private-key",
        "deploy/id_rsa",
        format!("{}\n{rsa1}\n{}\n{}\n", pem_begin("RSA "), base64ish(31, 64), pem_end("RSA ")),
        rsa1.clone(),
    );
    let ossh = format!("b3BlbnNzaC1rZXktdjEAAAAA{}", base64ish(32, 46));
    p(
        "private-key",
        "values.yaml",
        format!(
            "sshKey: |\n  {}\n  {ossh}\n  {}\n  {}\n",
            pem_begin("OPENSSH "),
            base64ish(33, 70),
            pem_end("OPENSSH ")
        ),
        ossh,
    );
    neg.push((
        "private-key",
        "keys/pub.pem",
        format!("{d}BEGIN PUBLIC KEY{d}\n{}\n{d}END PUBLIC KEY{d}\n", base64ish(34, 64), d = dashes()),
    ));
    neg.push((
        "private-key",
        "util.py",
        format!("if text.startswith(\"{}\"):\n    kind = \"rsa\"\n", pem_begin("RSA ")),
    ));
    neg.push(("private-key", "README.md", format!("```\n{}\n...\n{}\n```\n", pem_begin("RSA "), pem_end("RSA "))));
    neg.push((
        "private-key",
        "docs/greengrass.rst",
        format!(
            "  \"PrivateKey\": \"{}\\n{}...{}\\n{}\"\n",
            pem_begin("RSA "),
            base64ish(41, 50),
            alnum(42, 7),
            pem_end("RSA ")
        ),
    ));

    // jwt
    let tok = jwt(35);
    p("jwt", "tests/fixtures/request.http", format!("Authorization: Bearer {tok}\n"), tok);
    let not_jwt = format!("eyJ{}.eyJ{}.{}", alnum(36, 20), alnum(37, 30), alnum(38, 20));
    neg.push(("jwt", "data.txt", format!("blob {not_jwt}\n")));
    let jwt_io = format!(
        "{}.{}.{}{}",
        b64url_encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64url_encode(br#"{"sub":"1234567890","name":"John Doe","iat":1516239022}"#),
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6y",
        "JV_adQssw5c"
    );
    neg.push(("jwt", "docs/auth.md", format!("Example: `{jwt_io}`\n")));

    // database-url-password: the secret is the password only.
    let pw = alnum(39, 14);
    p(
        "database-url-password",
        "mlflow.env",
        format!("MLFLOW_BACKEND_STORE_URI=postgresql://mlflow:{pw}@db:5432/mlflow\n"),
        pw.clone(),
    );
    p("database-url-password", "settings.py", format!("BROKER = \"amqp://celery:{pw}@rabbitmq:5672//\"\n"), pw.clone());
    p("database-url-password", "cache.yaml", format!("url: redis://:{pw}@redis:6379/0\n"), pw.clone());
    neg.push((
        "database-url-password",
        "mlflow.env",
        "MLFLOW_BACKEND_STORE_URI=postgresql://mlflow:${DB_PASSWORD}@db:5432/mlflow\n".to_string(),
    ));
    neg.push((
        "database-url-password",
        "db.py",
        "URL = f\"postgresql://{user}:{password}@{host}/mlflow\"\n".to_string(),
    ));
    neg.push((
        "database-url-password",
        "mlflow.env",
        "MLFLOW_BACKEND_STORE_URI=postgresql://db:5432/mlflow\n".to_string(),
    ));

    // generic-assignment, one per syntax.
    let g = alnum(40, 18);
    for (path, text) in [
        ("app.py", format!("DB_PASSWORD = \"{g}\"\n")),
        ("app.py", format!("def connect(password: str = '{g}'):\n")),
        ("client.py", format!("conn = connect(host=\"db\", password=\"{g}\")\n")),
        ("main.go", format!("\tapiToken := \"{g}\"\n")),
        ("config.yaml", format!("mlflow:\n  tracking_password: {g}\n")),
        ("airflow.cfg", format!("[core]\nfernet_key = {g}\n")),
        (".env", format!("export CLIENT_SECRET={g}\n")),
        ("config.json", format!("{{\"api_key\": \"{g}\"}}\n")),
        ("pyproject.toml", format!("[tool.x]\nsecret_key = \"{g}\"\n")),
        ("Dockerfile", format!("ENV MLFLOW_TRACKING_TOKEN={g}\n")),
        ("docker-compose.yml", format!("    environment:\n      - POSTGRES_PASSWORD={g}\n")),
        ("nb.ipynb", format!("    \"hf_token = \\\"{g}\\\"\\n\",\n")),
    ] {
        p("generic-assignment", path, text, g.clone());
    }
    for (path, text) in [
        ("app.py", "password_file = \"/run/secrets/db\"\n".to_string()),
        ("app.py", "max_tokens = 4096\n".to_string()),
        ("app.py", "token = \"abc\"\n".to_string()),
        ("tokenizer_config.json", "{\"eos_token\": \"<|endoftext|>\", \"pad_token\": \"[PAD]\"}\n".to_string()),
        ("app.py", "SECRET_KEY = os.environ[\"SECRET_KEY\"]\n".to_string()),
        ("app.py", "api_key = \"my_api_key_name\"\n".to_string()),
        ("app.py", "password = settings.DB_PASSWORD\n".to_string()),
        ("app.py", "if password == \"correct-horse-battery\":\n".to_string()),
        ("config.yaml", "password: !vault |\n".to_string()),
        ("config.yaml", "secret_name: mlflow-db-credentials\n".to_string()),
        ("k8s.yaml", "      secretKeyRef:\n        name: db\n        key: password\n".to_string()),
        ("README.md", "Password: use the one from the team vault\n".to_string()),
        (".env", "MLFLOW_TRACKING_PASSWORD=changeme\n".to_string()),
        ("ci.yml", "      HF_TOKEN: ${{ secrets.HF_TOKEN }}\n".to_string()),
        ("settings.py", "SECRET_KEY = env(\"DJANGO_SECRET_KEY\")\n".to_string()),
        ("server.js", "const token = process.env.API_TOKEN;\n".to_string()),
        ("app.py", format!("session_token = \"{}\"\n", "123e4567-e89b-12d3-a456-426614174000")),
        ("models.py", "credentials = {\"username\": \"admin\", \"password\": \"mynewpassword1\"}\n".to_string()),
        ("oid.py", "    AttributeOID.CHALLENGE_PASSWORD: \"challengePassword\",\n".to_string()),
        (
            "example.json",
            "{\"token\": \"abcd1234defg5678\", \"nextForwardToken\": \"f/3196120912244748858305587\"}\n".to_string(),
        ),
        (
            "policies.json",
            "{\"IAMUserChangePassword\": \"arn:aws:iam::aws:policy/IAMUserChangePassword\"}\n".to_string(),
        ),
        ("types.py", "    \"AWS::ApiGateway::ApiKey\": \"48205d4ffd7feba3\",\n".to_string()),
        (
            "api.json",
            "{\"ClientToken\": \"cachedvol112233\", \"ExportToken\": \"export-token-cu4lg26ofcziixny\"}\n".to_string(),
        ),
    ] {
        neg.push(("generic-assignment", path, text));
    }
    pos.push(Positive {
        rule: "aws-secret-access-key",
        path: "credentials.csv",
        text: csv,
        clear: sk,
        also: &["aws-access-key-id"],
    });
    (pos, neg)
}

#[test]
fn every_rule_has_a_true_positive_and_a_near_miss() {
    let (pos, neg) = cases();
    for case in &pos {
        let all = scan(case.path, &case.text);
        let found: Vec<SecretFinding> = all.iter().filter(|f| f.rule == case.rule).cloned().collect();
        assert_eq!(found.len(), 1, "{} in {}:\n{}\ngot:\n{}", case.rule, case.path, case.text, show(&all));
        assert!(
            all.iter().all(|f| f.rule == case.rule || case.also.contains(&f.rule)),
            "{}:\n{}",
            case.path,
            show(&all)
        );
        assert_eq!(found[0].clear, case.clear, "{} in {}", case.rule, case.path);
        assert_eq!(found[0].path, case.path);
    }
    for (rule, path, text) in &neg {
        let found = scan(path, text);
        assert!(found.is_empty(), "near miss for {rule} in {path} was reported:\n{text}\n{}", show(&found));
    }
    let covered_pos: BTreeSet<&str> = pos.iter().map(|c| c.rule).collect();
    let covered_neg: BTreeSet<&str> = neg.iter().map(|c| c.0).collect();
    for rule in rules() {
        assert!(covered_pos.contains(rule.id), "no true positive for {}", rule.id);
        assert!(covered_neg.contains(rule.id), "no near miss for {}", rule.id);
    }
}

#[test]
fn rules_are_well_formed() {
    let mut ids = BTreeSet::new();
    for rule in rules() {
        assert!(ids.insert(rule.id), "duplicate id {}", rule.id);
        assert!(!rule.keywords.is_empty(), "{} has no keywords", rule.id);
        for kw in rule.keywords {
            assert_eq!(kw.to_lowercase(), *kw, "{}: keyword {kw} is not lowercase", rule.id);
        }
        assert!(regex::Regex::new(rule.pattern).is_ok(), "{}: pattern does not compile", rule.id);
        assert!(!rule.description.is_empty());
    }
    assert!(rules().len() <= 32, "rule masks are u32");
}

/// Lockfile hashes, UUIDs, digests, AWS's documented keys, reads from the
/// environment, placeholders and prose: nothing to report.
#[test]
fn traps_yield_no_findings() {
    let sha = rand(50, HEX, 64);
    let sri = format!("sha512-{}==", base64ish(51, 86));
    let aws_doc_id = format!("{}{}", "AKIAIOSFODNN7", "EXAMPLE");
    let aws_doc_secret = format!("{}{}", "wJalrXUtnFEMI/K7MDENG/bPxRfiCY", "EXAMPLEKEY");
    let png = format!("iVBORw0KGgoAAAANSUhEUgAA{}", base64ish(52, 400));
    let files: Vec<(&str, String)> = vec![
        (
            "uv.lock",
            format!(
                "[[package]]\nname = \"keyring\"\nsdist = {{ url = \"https://files.pythonhosted.org/packages/keyring-25.0.tar.gz\", hash = \"sha256:{sha}\", size = 1 }}\nwheels = [{{ url = \"https://x/secretstorage-3.3.3-py3-none-any.whl\", hash = \"sha256:{sha}\" }}]\n"
            ),
        ),
        (
            "package-lock.json",
            format!(
                "    \"node_modules/js-tokens\": {{\n      \"resolved\": \"https://registry.npmjs.org/js-tokens/-/js-tokens-4.0.0.tgz\",\n      \"integrity\": \"{sri}\"\n    }},\n    \"token\": \"{sri}\"\n"
            ),
        ),
        ("requirements.txt", format!("tokenizers==0.19.1 --hash=sha256:{sha}\n")),
        (
            "config.yaml",
            format!(
                "run_id: 123e4567-e89b-12d3-a456-426614174000\napi_key: 9b2c4d6e-1f3a-4b5c-8d7e-0a1b2c3d4e5f\ncommit: {}\nsecret_sha: {}\nimage: python@sha256:{sha}\n",
                rand(53, HEX, 40),
                rand(54, HEX, 40)
            ),
        ),
        ("index.html", format!("<img alt=\"token\" src=\"data:image/png;base64,{png}\">\n")),
        (
            "docs/aws.md",
            format!("```ini\n[default]\naws_access_key_id = {aws_doc_id}\naws_secret_access_key = {aws_doc_secret}\n```\n"),
        ),
        ("credentials.csv", format!("Access key ID,Secret access key\n{aws_doc_id},{aws_doc_secret}\n")),
        ("app/db.py", "import os\npassword = os.environ[\"DB_PASSWORD\"]\ntoken = os.getenv(\"API_TOKEN\")\nsecret = os.environ.get(\"SECRET\")\n".to_string()),
        ("config/db.yaml", "database:\n  password: ${DB_PASSWORD}\n  token: \"{{ vault_token }}\"\n".to_string()),
        ("docs/setup.md", "# Setup\n\nSet your password in the vault, then export the token.\nThe secret key is rotated monthly.\n".to_string()),
        ("Dockerfile", "FROM python:3.12\nENV PASSWORD_FILE=/run/secrets/db\nARG HF_TOKEN\nRUN --mount=type=secret,id=hf_token cat /run/secrets/hf_token\n".to_string()),
        (".env.example", "OPENAI_API_KEY=your-openai-key\nDB_PASSWORD=<db password>\nSECRET_KEY=********\nAPI_TOKEN=xxxxxxxxxxxxxxxx\nHF_TOKEN=dummy-token-value\n".to_string()),
    ];
    for (path, text) in &files {
        let found = scan(path, text);
        assert!(found.is_empty(), "{path}:\n{text}\n{}", show(&found));
    }
}

fn all_positive_findings() -> Vec<(SecretFinding, String)> {
    let (pos, _) = cases();
    pos.iter().flat_map(|c| scan(c.path, &c.text).into_iter().map(|f| (f, c.text.clone()))).collect()
}

#[test]
fn findings_are_redacted_everywhere() {
    let found = all_positive_findings();
    assert!(found.len() > 20);
    for (f, _) in &found {
        assert_eq!(f.redacted, mask(&f.clear));
        let debug = format!("{f:?}");
        let json = serde_json::to_string(f).unwrap();
        assert!(!debug.contains(&f.clear), "{debug}");
        assert!(!json.contains(&f.clear), "{json}");
        assert!(!json.contains("clear"), "{json}");
        assert!(json.contains(&f.redacted));
        let v = finding_value(f);
        let shown = format!("{v}");
        assert!(!shown.contains(&f.clear), "{shown}");
        let secret = v.get("secret").unwrap();
        assert!(secret.is_secret());
        assert_eq!(format!("{secret}"), f.redacted);
        assert!(!serde_json::to_string(&v).unwrap().contains(&f.clear));
        let origin = v.origin.as_deref().unwrap();
        assert_eq!(origin.path.as_deref(), Some(f.path.as_str()));
        assert_eq!(origin.line, Some(f.line));
        assert_eq!(v.get("rule").and_then(|r| r.as_str()), Some(f.rule));
        assert_eq!(v.get("fingerprint").and_then(|r| r.as_str()), Some(f.fingerprint.as_str()));
    }
}

/// Line and columns are 1-based; columns count characters, not bytes;
/// `end_column` is just past the secret.
#[test]
fn positions_are_exact() {
    let pw = alnum(60, 16);
    let text = format!("# café ☕ config\n\n  réglage = 1; db_password = \"{pw}\"\n");
    let found = scan("app.py", &text);
    assert_eq!(found.len(), 1, "{}", show(&found));
    let f = &found[0];
    assert_eq!(f.line, 3);
    let line = text.lines().nth(2).unwrap();
    let byte = line.find(&pw).unwrap();
    let col = line[..byte].chars().count() as u32 + 1;
    assert_eq!(f.column, col);
    assert_eq!(f.column, 31);
    assert_eq!(f.end_column, f.column + 16);

    // The URL rule spans only the password.
    let url = format!("x = \"mysql://root:{pw}@db/ml\"\n");
    let f = &scan("a.py", &url)[0];
    assert_eq!((f.line, f.column, f.end_column), (1, 19, 35));

    // A private key finding spans the BEGIN marker, on its own line.
    let body = base64ish(61, 64);
    let text = format!("key: |\n    {}\n    {body}\n    {}\n", pem_begin("EC "), pem_end("EC "));
    let f = &scan("values.yaml", &text)[0];
    assert_eq!((f.line, f.column), (2, 5));
    assert_eq!(f.end_column, 5 + pem_begin("EC ").len() as u32);
    assert_eq!(f.clear, body);

    // CRLF line endings.
    let gh = github(62);
    let f = &scan(".env", &format!("A=1\r\nGITHUB_TOKEN={gh}\r\n"))[0];
    assert_eq!((f.line, f.column, f.end_column), (2, 14, 14 + gh.len() as u32));
    assert_eq!(f.clear, gh);
}

#[test]
fn fingerprints_survive_line_moves() {
    let (pos, _) = cases();
    for case in &pos {
        let before = scan(case.path, &case.text);
        let moved = scan(case.path, &format!("\n\n\n{}", case.text));
        assert_eq!(before.len(), moved.len());
        for (a, b) in before.iter().zip(&moved) {
            assert_eq!(a.fingerprint, b.fingerprint);
            assert_eq!(a.line + 3, b.line);
        }
        // The path and the rule are part of the fingerprint.
        let elsewhere = scan(&format!("other/{}", case.path), &case.text);
        assert_eq!(before.len(), elsewhere.len(), "{}", case.path);
        assert!(before.iter().zip(&elsewhere).all(|(a, b)| a.fingerprint != b.fingerprint));
    }
    let f = fingerprint("github-token", "a/b.py", "x");
    assert_eq!(f.len(), 16);
    assert!(f.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(f, fingerprint("gitlab-token", "a/b.py", "x"));
}

#[test]
fn long_lines_are_scanned_up_to_the_cap() {
    let gh = github(70);
    let early = format!("GITHUB_TOKEN={gh} {}\n", "a".repeat(10_000));
    assert_eq!(scan(".env", &early).len(), 1);
    let late = format!("{} {gh}\n", "a".repeat(MAX_LINE_BYTES));
    assert!(scan("x.txt", &late).is_empty());
    // Multi-byte characters at the cap do not split.
    let wide = format!("{}{gh}\n", "é".repeat(MAX_LINE_BYTES / 2 + 1));
    assert!(scan("x.txt", &wide).is_empty());
    // The next line is scanned normally.
    let next = format!("{}\ntoken {gh}\n", "b".repeat(MAX_LINE_BYTES * 3));
    let found = scan("x.txt", &next);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, 2);
}

#[test]
fn stops_after_the_finding_cap() {
    let gh = github(80);
    let text = format!("t {gh}\n").repeat(MAX_FINDINGS_PER_FILE + 5);
    let found = scan("many.txt", &text);
    assert_eq!(found.len(), MAX_FINDINGS_PER_FILE);
    assert_eq!(found.last().unwrap().line as usize, MAX_FINDINGS_PER_FILE);
}

#[test]
fn scan_bytes_skips_binary_and_decodes_lossily() {
    let gh = github(90);
    let scanner = Scanner::new();
    let mut binary = vec![0u8, 1, 2];
    binary.extend_from_slice(format!("\nGITHUB_TOKEN={gh}\n").as_bytes());
    assert!(scanner.scan_bytes("model.bin", &binary).is_empty());
    let mut latin1 = b"caf\xe9 \xff\n".to_vec();
    latin1.extend_from_slice(format!("GITHUB_TOKEN={gh}\n").as_bytes());
    let found = scanner.scan_bytes("notes.txt", &latin1);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].line, found[0].column), (2, 14));
    // A NUL after the first 8 KiB does not make a file binary.
    let mut late_nul = format!("GITHUB_TOKEN={gh}\n").into_bytes();
    late_nul.extend(std::iter::repeat_n(b'a', 9000));
    late_nul.push(0);
    assert_eq!(scanner.scan_bytes("log.txt", &late_nul).len(), 1);
}

#[test]
fn several_findings_in_one_file_come_sorted() {
    let id = aws_id(100);
    let sk = aws_secret(101);
    let gh = github(102);
    let text = format!(
        "[default]\naws_access_key_id = {id}\naws_secret_access_key = {sk}\n\n[ci]\ntoken = {gh}\npassword = {}\n",
        alnum(103, 12)
    );
    let found = scan("credentials", &text);
    let got: Vec<(u32, &str)> = found.iter().map(|f| (f.line, f.rule)).collect();
    assert_eq!(
        got,
        [(2, "aws-access-key-id"), (3, "aws-secret-access-key"), (6, "github-token"), (7, "generic-assignment")],
        "{}",
        show(&found)
    );
}

/// The scanner's own sources, these tests and the benchmark script hold no
/// secret.
#[test]
fn own_sources_are_clean() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = vec!["tests/secrets.rs".to_string()];
    for entry in std::fs::read_dir(root.join("src/secrets")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        paths.push(format!("src/secrets/{name}"));
    }
    for extra in ["examples/scan.rs", "../tests/bench/secrets.sh"] {
        if root.join(extra).exists() {
            paths.push(extra.to_string());
        }
    }
    for rel in paths {
        let bytes = std::fs::read(root.join(&rel)).unwrap();
        let found = Scanner::shared().scan_bytes(&rel, &bytes);
        assert!(found.is_empty(), "{}", show(&found));
    }
}

/// Random mixtures of keywords, quotes, operators, escapes, multi-byte
/// characters and line endings: no panic, and every finding lies on a real
/// line within its bounds.
#[test]
fn random_inputs_do_not_break_the_scanner() {
    let fragments: Vec<String> = vec![
        format!("{}{}", "AK", "IA"),
        aws_id(7),
        aws_secret(8),
        pem_begin("RSA "),
        pem_end("RSA "),
        "password".into(),
        "_token".into(),
        "api_key".into(),
        "=".into(),
        ":".into(),
        " = ".into(),
        ": ".into(),
        "\"".into(),
        "'".into(),
        "\\".into(),
        "\\\"".into(),
        "\\n".into(),
        "\n".into(),
        "\r\n".into(),
        "é☕".into(),
        format!("{}-", "sk"),
        format!("{}_", "ghp"),
        "eyJ".into(),
        ".".into(),
        "postgres://".into(),
        "@".into(),
        "sig=".into(),
        "sv=".into(),
        " ".into(),
        "\t".into(),
        "data:image/png;base64,".into(),
        "${".into(),
        "}".into(),
        "ENV ".into(),
    ];
    let scanner = Scanner::shared();
    for seed in 0..3000u64 {
        let n = 1 + (seed % 40) as usize;
        let picks = rand(seed + 1000, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", n);
        let mut text = String::new();
        for (i, c) in picks.chars().enumerate() {
            let k = c as usize % (fragments.len() + 4);
            match fragments.get(k) {
                Some(f) => text.push_str(f),
                None => text.push_str(&alnum(seed * 100 + i as u64, 8 + k % 40)),
            }
        }
        for path in ["a.py", "b.yaml", "c.env", "uv.lock", "Dockerfile"] {
            let found = scanner.scan_text(path, &text);
            let lines: Vec<&str> = text.split('\n').collect();
            for f in &found {
                let line = lines.get(f.line as usize - 1).unwrap_or_else(|| panic!("{f:?} in {text:?}"));
                let width = line.chars().count() as u32 + 1;
                assert!(f.column >= 1 && f.column < f.end_column && f.end_column <= width, "{f:?} in {text:?}");
                assert_eq!(f.redacted, mask(&f.clear));
            }
            let _ = scanner.scan_bytes(path, text.as_bytes());
        }
    }
}
