//! The rule table. Each rule names lowercase keywords (the prefilter: its
//! pattern runs only on lines where one occurs, ASCII case-insensitively)
//! and a pattern whose first participating capture group is the secret.

use super::allow;
use super::FileCtx;
use std::fmt;

/// What a pattern match still has to pass to become a finding.
pub(crate) struct Candidate<'a> {
    pub secret: &'a str,
    /// The (possibly truncated) line the match is on.
    pub line: &'a str,
    pub file: &'a FileCtx<'a>,
}

#[derive(Clone, Copy)]
pub(crate) enum Engine {
    /// Pattern match, then the validator.
    Pattern(fn(&Candidate<'_>) -> bool),
    /// PEM / OpenSSH: the BEGIN line plus the body that follows.
    PrivateKey,
    /// `name = "value"` assignments (see `generic.rs`).
    Generic,
}

/// A detection rule.
pub struct Rule {
    /// Stable identifier, used in fingerprints and waivers.
    pub id: &'static str,
    pub description: &'static str,
    /// Lowercase keywords; the rule's pattern runs only on lines containing
    /// one of them (ASCII case-insensitive).
    pub keywords: &'static [&'static str],
    /// The regular expression (Rust `regex` syntax).
    pub pattern: &'static str,
    pub(crate) engine: Engine,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule").field("id", &self.id).field("keywords", &self.keywords).finish_non_exhaustive()
    }
}

pub(crate) const AWS_ACCESS_KEY_ID: &str = "aws-access-key-id";
pub(crate) const AWS_SECRET_ACCESS_KEY: &str = "aws-secret-access-key";
pub(crate) const GCP_SERVICE_ACCOUNT: &str = "gcp-service-account";
pub(crate) const PRIVATE_KEY: &str = "private-key";
pub(crate) const GENERIC: &str = "generic-assignment";

/// A 40-character base64 string standing alone, for the AWS secret key near
/// an access key id.
pub(crate) const AWS_BARE_SECRET: &str = r"(?:^|[^A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)";

fn not_placeholder(c: &Candidate<'_>) -> bool {
    !allow::is_placeholder(c.secret)
}

fn aws_key_id(c: &Candidate<'_>) -> bool {
    c.secret.get(4..).is_some_and(|rest| allow::entropy(rest) >= 2.5)
}

/// An AWS secret access key: 40 base64 characters, mixed case, random.
pub(crate) fn aws_secret_shape(secret: &str) -> bool {
    let (l, u, _, _) = allow::classes(secret);
    l && u && allow::looks_random(secret, 3.8)
}

fn aws_secret(c: &Candidate<'_>) -> bool {
    aws_secret_shape(c.secret)
}

fn random_35(c: &Candidate<'_>) -> bool {
    allow::looks_random(c.secret, 3.5)
}

fn random_30(c: &Candidate<'_>) -> bool {
    allow::looks_random(c.secret, 3.0)
}

/// Hex keys (W&B): not a run of one or two digits.
fn hex_key(c: &Candidate<'_>) -> bool {
    allow::entropy(c.secret) >= 3.0
}

fn gcp_service_account(c: &Candidate<'_>) -> bool {
    c.file.is_service_account() && allow::entropy(c.secret) >= 3.0
}

fn azure_account_key(c: &Candidate<'_>) -> bool {
    allow::entropy(c.secret) >= 4.0
}

fn azure_sas(c: &Candidate<'_>) -> bool {
    let line = c.line.to_ascii_lowercase();
    line.contains("sv=")
        && (line.contains("se=") || line.contains("sp=") || line.contains("sr="))
        && allow::entropy(c.secret) >= 3.5
}

fn slack_token(c: &Candidate<'_>) -> bool {
    c.secret.len() >= 24 && c.secret.bytes().any(|b| b.is_ascii_digit()) && allow::entropy(c.secret) >= 3.0
}

fn huggingface(c: &Candidate<'_>) -> bool {
    let (l, u, _, _) = allow::classes(c.secret);
    l && u && allow::entropy(c.secret) >= 3.5
}

/// OpenAI keys carry `T3BlbkFJ` (base64 of "OpenAI"); other `sk-` strings
/// must be long, mixed-case and random.
fn openai(c: &Candidate<'_>) -> bool {
    if c.secret.starts_with("sk-ant-") {
        return false;
    }
    if c.secret.contains("T3BlbkFJ") {
        return true;
    }
    let (l, u, d, _) = allow::classes(c.secret);
    c.secret.len() >= 40 && l && u && d && allow::entropy(c.secret) >= 4.0
}

/// The header decodes to a JSON object with `alg`; jwt.io's sample token
/// (payload name "John Doe") is public.
fn jwt(c: &Candidate<'_>) -> bool {
    let mut parts = c.secret.split('.');
    let (Some(head), Some(body)) = (parts.next(), parts.next()) else { return false };
    let Some(header) = allow::base64_decode(head) else { return false };
    let header = String::from_utf8_lossy(&header);
    if !header.trim_start().starts_with('{') || !header.contains("\"alg\"") {
        return false;
    }
    let payload = allow::base64_decode(body).map(|p| String::from_utf8_lossy(&p).into_owned()).unwrap_or_default();
    !(payload.contains("John Doe") && payload.contains("1234567890"))
}

/// Common stand-ins for a password in URLs of documentation.
pub(crate) const PASSWORD_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "secret",
    "pw",
    "user",
    "username",
    "xxx",
    "null",
    "none",
    "required",
    "empty",
    "string",
    "undefined",
    "unset",
    "notset",
    "not_set",
    "test",
    "testing",
];

fn url_password(c: &Candidate<'_>) -> bool {
    let s = c.secret;
    let lower = s.to_ascii_lowercase();
    !(PASSWORD_WORDS.contains(&lower.as_str())
        || s.contains('{')
        || s.contains('}')
        || s.starts_with('%')
        || s.starts_with('*')
        || s.starts_with(':')
        || allow::is_env_read(s))
}

static RULES: [Rule; 18] = [
    Rule {
        id: AWS_ACCESS_KEY_ID,
        description: "AWS access key id",
        keywords: &["akia", "asia", "abia", "acca"],
        pattern: r"(?-u:\b)((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})(?-u:\b)",
        engine: Engine::Pattern(aws_key_id),
    },
    Rule {
        id: AWS_SECRET_ACCESS_KEY,
        description: "AWS secret access key",
        keywords: &[
            "secret_access",
            "secret-access",
            "secretaccess",
            "secret.access",
            "aws_secret",
            "aws-secret",
            "awssecret",
        ],
        pattern: r#"(?i)(?:aws[_.\-]?secret[_.\-]?(?:access[_.\-]?)?key|secret[_.\-]?access[_.\-]?key)[\\"'\]]*\s*(?::=|=>|=|:)\s*[\\"']*([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        engine: Engine::Pattern(aws_secret),
    },
    Rule {
        id: GCP_SERVICE_ACCOUNT,
        description: "Google Cloud service account key",
        keywords: &["private_key"],
        pattern: r#""private_key"\s*:\s*"-----BEGIN[A-Z ]*PRIVATE KEY-----(?:\\r)?\\n([A-Za-z0-9+/=]{16,})"#,
        engine: Engine::Pattern(gcp_service_account),
    },
    Rule {
        id: "gcp-api-key",
        description: "Google API key",
        keywords: &["aiza"],
        pattern: r"(?-u:\b)(AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$)",
        engine: Engine::Pattern(random_30),
    },
    Rule {
        id: "azure-storage-connection-string",
        description: "Azure storage account key in a connection string",
        keywords: &["accountkey"],
        pattern: r"(?i)AccountKey\s*=\s*([A-Za-z0-9+/]{40,}={0,2})",
        engine: Engine::Pattern(azure_account_key),
    },
    Rule {
        id: "azure-sas-token",
        description: "Azure shared access signature",
        keywords: &["sig="],
        pattern: r#"(?i)(?:^|[?&;"'\s])sig=([A-Za-z0-9%+/=]{30,})"#,
        engine: Engine::Pattern(azure_sas),
    },
    Rule {
        id: "github-token",
        description: "GitHub token",
        keywords: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        pattern: r"(?-u:\b)(gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{60,255})(?-u:\b)",
        engine: Engine::Pattern(random_30),
    },
    Rule {
        id: "gitlab-token",
        description: "GitLab token",
        keywords: &["glpat-", "gldt-", "glptt-", "glrt-", "glcbt-", "glagent-"],
        pattern: r"(?-u:\b)((?:glpat|gldt|glptt|glrt|glcbt|glagent)-[A-Za-z0-9_\-]{20,})",
        engine: Engine::Pattern(random_30),
    },
    Rule {
        id: "slack-token",
        description: "Slack token",
        keywords: &["xox", "xapp-"],
        pattern: r"(?-u:\b)(xox[abeoprs]-(?:[0-9]+-)*[A-Za-z0-9][A-Za-z0-9\-]{9,}|xapp-[0-9]-[A-Za-z0-9\-]{20,})",
        engine: Engine::Pattern(slack_token),
    },
    Rule {
        id: "slack-webhook",
        description: "Slack incoming webhook URL",
        keywords: &["hooks.slack.com"],
        pattern: r"(?i)https?://hooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9+/_\-]{20,})",
        engine: Engine::Pattern(not_placeholder),
    },
    Rule {
        id: "huggingface-token",
        description: "Hugging Face access token",
        keywords: &["hf_"],
        pattern: r"(?-u:\b)(hf_[A-Za-z0-9]{34,40})(?-u:\b)",
        engine: Engine::Pattern(huggingface),
    },
    Rule {
        id: "openai-api-key",
        description: "OpenAI API key",
        keywords: &["sk-"],
        pattern: r"(?-u:\b)(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,})",
        engine: Engine::Pattern(openai),
    },
    Rule {
        id: "anthropic-api-key",
        description: "Anthropic API key",
        keywords: &["sk-ant-"],
        pattern: r"(?-u:\b)(sk-ant-(?:api|admin|oat)[0-9]{2}-[A-Za-z0-9_\-]{32,})",
        engine: Engine::Pattern(random_35),
    },
    Rule {
        id: "wandb-api-key",
        description: "Weights & Biases API key",
        keywords: &["wandb"],
        pattern: r#"(?i)wandb[A-Za-z0-9_.\-]*?(?:api[_\-]?key|key)[\\"'\]]*\s*(?::=|=|:)\s*[\\"']*([0-9a-f]{40})(?:[^0-9a-f]|$)|wandb\.login\([^)]*?key\s*=\s*["']([0-9a-f]{40})["']"#,
        engine: Engine::Pattern(hex_key),
    },
    Rule {
        id: PRIVATE_KEY,
        description: "Private key (PEM or OpenSSH)",
        keywords: &["-----begin"],
        pattern: r"-----BEGIN[ A-Z0-9_\-]{0,100}PRIVATE KEY(?: BLOCK)?-----",
        engine: Engine::PrivateKey,
    },
    Rule {
        id: "jwt",
        description: "JSON Web Token",
        keywords: &["eyj"],
        pattern: r"(?-u:\b)(eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,})",
        engine: Engine::Pattern(jwt),
    },
    Rule {
        id: "database-url-password",
        description: "Password in a database or broker URL",
        keywords: &["postgres", "mysql", "mariadb", "mongodb", "redis", "amqp", "mssql"],
        pattern: r#"(?i)(?-u:\b)(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql)(?:\+[a-z0-9]+)?://[^\s:/@?#"'`]*:([^\s@/?#"'`]+)@"#,
        engine: Engine::Pattern(url_password),
    },
    Rule {
        id: GENERIC,
        description: "Secret-named variable assigned a literal",
        keywords: &["passw", "passphrase", "_pass", "-pass", "pwd", "secret", "token", "key"],
        pattern: r"[A-Za-z0-9_.\-]*(?i:pass|pwd|secret|token|key)[A-Za-z0-9_.\-]*",
        engine: Engine::Generic,
    },
];

/// All rules, in a fixed order.
pub fn rules() -> &'static [Rule] {
    &RULES
}
