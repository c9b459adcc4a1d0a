//! Allowlists: values that look like secrets but are not. Known formats are
//! tested before any entropy threshold, so a digest never reaches one.

/// Lockfiles: their lines are never `generic-assignment` findings (they are
/// full of integrity hashes and package names such as `js-tokens`).
const LOCKFILES: &[&str] = &[
    "uv.lock",
    "poetry.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "Cargo.lock",
    "Pipfile.lock",
    "pdm.lock",
    "composer.lock",
    "Gemfile.lock",
    "go.sum",
    "conda-lock.yml",
];

pub(crate) fn is_lockfile(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    LOCKFILES.contains(&name)
}

/// Substrings (compared in lower case) that mark a documentation
/// placeholder rather than a real value.
const PLACEHOLDER_PARTS: &[&str] = &[
    "example",
    "changeme",
    "change_me",
    "change-me",
    "placeholder",
    "dummy",
    "redacted",
    "your",
    "xxx",
    "***",
    "...",
    "\u{2026}",
    "replace_me",
    "replace-me",
    "replaceme",
    "insert_",
    "insert-",
    "_here",
    "-here",
    "${",
    "{{",
    "}}",
    "%(",
    "<%",
    "{%",
    "#{",
];

/// Prefixes of values published in vendor documentation: Azurite's
/// development storage account key.
const PUBLIC_VALUE_PREFIXES: &[&str] = &["Eby8vdM02xNOcqFl"];

/// A placeholder: `EXAMPLE` anywhere, `changeme`, `<...>`, `${VAR}`, `$VAR`,
/// `{{ var }}`, `xxx…`, `***`, `your-…`, `dummy`, `placeholder`, `redacted`.
pub(crate) fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() || v.starts_with('$') || PUBLIC_VALUE_PREFIXES.iter().any(|p| v.starts_with(p)) {
        return true;
    }
    if let Some(open) = v.find('<') {
        if v.get(open..).is_some_and(|rest| rest.contains('>')) {
            return true;
        }
    }
    let lower = v.to_ascii_lowercase();
    if PLACEHOLDER_PARTS.iter().any(|p| lower.contains(p)) {
        return true;
    }
    if is_sequential(v) {
        return true;
    }
    // One character repeated (`aaaaaaaa`, `00000000`) or only masking chars.
    let mut chars = v.chars();
    let first = chars.next();
    first.is_some_and(|f| v.chars().all(|c| c == f))
        || v.chars().all(|c| matches!(c, '*' | 'x' | 'X' | '#' | '-' | '_' | '.'))
}

/// Runs like `abcd1234`, `AB1C2defGHijk`: at least 30% of adjacent pairs
/// are consecutive characters (case-insensitive). Random strings of 8 or
/// more characters almost never are (about 6% of pairs).
fn is_sequential(v: &str) -> bool {
    let b: Vec<u8> = v.bytes().filter(u8::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    if b.len() < 8 {
        return false;
    }
    let steps = b.windows(2).filter(|w| matches!(w, [x, y] if y.wrapping_sub(*x) == 1)).count();
    steps * 10 >= (b.len() - 1) * 3
}

/// Reads from the environment or a secret store rather than a literal:
/// `os.environ[...]`, `os.getenv(...)`, `os.environ.get(...)`, `env("X")`,
/// `process.env.X`, `${{ secrets.X }}`.
pub(crate) fn is_env_read(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    [
        "os.environ",
        "getenv",
        "environ.get",
        "env(",
        "env.",
        "process.env",
        "secrets.",
        "vault(",
        "ssm:",
        "secretsmanager",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `8-4-4-4-12` hex groups.
pub(crate) fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5 && parts.iter().map(|p| p.len()).eq([8usize, 4, 4, 4, 12]) && parts.iter().all(|p| is_hex(p))
}

/// Digests, integrity hashes, UUIDs, git commit ids and data URIs.
pub(crate) fn is_known_format(value: &str) -> bool {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    if is_hex(v) && matches!(v.len(), 32 | 40 | 64 | 128) {
        return true;
    }
    if is_uuid(v) {
        return true;
    }
    const PREFIXES: &[&str] = &[
        "sha1:",
        "sha224:",
        "sha256:",
        "sha384:",
        "sha512:",
        "md5:",
        "blake2b:",
        "blake2b_256:",
        "sha1-",
        "sha256-",
        "sha384-",
        "sha512-",
        "sha256=",
        "--hash=",
        "data:",
    ];
    PREFIXES.iter().any(|p| lower.starts_with(p)) || lower.contains("--hash=")
}

/// True when `[start, end)` of `line` lies inside the payload of a
/// `data:<type>;base64,` URI.
pub(crate) fn in_data_uri(line: &str, start: usize, end: usize) -> bool {
    let mut from = 0;
    while let Some(rel) = line.get(from..).and_then(|s| s.find(";base64,")) {
        let payload = from + rel + ";base64,".len();
        let run = line.get(payload..).map_or(0, |s| {
            s.bytes().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'%')).count()
        });
        let is_data = line.get(..from + rel).is_some_and(|head| head.rfind("data:").is_some());
        if is_data && start >= payload && end <= payload + run {
            return true;
        }
        from = payload;
    }
    false
}

/// Shannon entropy in bits per byte.
pub(crate) fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in s.bytes() {
        if let Some(c) = counts.get_mut(usize::from(b)) {
            *c += 1;
        }
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let total = f64::from(n);
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / total;
            -p * p.log2()
        })
        .sum()
}

/// Character classes present: lower, upper, digit, other.
pub(crate) fn classes(s: &str) -> (bool, bool, bool, bool) {
    let lower = s.bytes().any(|b| b.is_ascii_lowercase());
    let upper = s.bytes().any(|b| b.is_ascii_uppercase());
    let digit = s.bytes().any(|b| b.is_ascii_digit());
    let other = s.chars().any(|c| !c.is_ascii_alphanumeric());
    (lower, upper, digit, other)
}

/// A random-looking token: at least two character classes, not hex, and
/// entropy of at least `min_entropy` bits per character.
pub(crate) fn looks_random(s: &str, min_entropy: f64) -> bool {
    let (l, u, d, o) = classes(s);
    let n = [l, u, d, o].iter().filter(|x| **x).count();
    n >= 2 && !is_hex(s) && entropy(s) >= min_entropy
}

/// Base64url (or base64) without padding, for JWT segments.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4 + 1);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap_or(0));
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_bounds() {
        assert_eq!(entropy(""), 0.0);
        assert_eq!(entropy("aaaa"), 0.0);
        assert!((entropy("abcd") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decode("eyJhIjoxfQ").as_deref(), Some(&b"{\"a\":1}"[..]));
    }

    #[test]
    fn formats() {
        assert!(is_uuid("123e4567-e89b-12d3-a456-426614174000"));
        assert!(is_known_format(&"ab".repeat(20)));
        assert!(!is_known_format(&"ab".repeat(19)));
        assert!(is_placeholder("<token>"));
        assert!(is_placeholder("${TOKEN}"));
        assert!(!is_placeholder("hunter2hunter2"));
        assert!(is_placeholder("abcd1234defg5678"));
        assert!(is_placeholder("AB1C2defGHijkLMNo3PqQRstUvwxyz"));
        let line = format!("src=\"data:image/png;base64,{}\"", "iVBORw0KGgo".repeat(4));
        assert!(in_data_uri(&line, 30, 40));
        assert!(!in_data_uri(&line, 0, 4));
    }
}
