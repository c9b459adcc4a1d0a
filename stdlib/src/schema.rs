//! The collector schema: every fact function a policy may call, with the
//! record types it returns. The checker types fact calls from this, the
//! language server completes from it, and `docs/language.md` lists it.

use mlpol_lang::types::{Schema, Type};

pub fn schema() -> Schema {
    let mut s = Schema::default();
    let file = || Type::record("File");
    s.record(
        "File",
        "A file or directory of the target, with its path relative to the target.",
        &[
            ("path", Type::Str, "Path relative to the target, `/`-separated."),
            ("name", Type::Str, "The last path component."),
            ("ext", Type::Str, "The extension without the dot (`yaml`), or empty."),
            ("dir", Type::Str, "The parent directory relative to the target (empty for the root)."),
            ("kind", Type::Str, "`file`, `dir`, `symlink` or `other`."),
            ("size", Type::Size, "Size in bytes."),
            ("mode", Type::Int, "Permission bits, e.g. `0o640` is 416."),
            ("uid", Type::Int, "Owner user id."),
            ("gid", Type::Int, "Owner group id."),
            ("link", Type::optional(Type::Str), "Target of a symbolic link."),
            ("binary", Type::Bool, "True when the first 8 KiB contain a NUL byte."),
            (
                "gitignored",
                Type::Bool,
                "True when the target's `.gitignore` files (and `.git/info/exclude`) ignore it.",
            ),
            ("dvcignored", Type::Bool, "True when the target's `.dvcignore` files ignore it."),
            (
                "tracked",
                Type::optional(Type::Bool),
                "True when git tracks it; null when the target is not in a git work tree.",
            ),
        ],
    );
    s.record(
        "Line",
        "One line of a text file.",
        &[
            ("path", Type::Str, "Path of the file."),
            ("line", Type::Int, "1-based line number."),
            ("text", Type::Str, "The line without its newline."),
        ],
    );
    s.record(
        "Match",
        "A regular-expression match in a text file.",
        &[
            ("path", Type::Str, "Path of the file."),
            ("line", Type::Int, "1-based line number."),
            ("text", Type::Str, "The whole line."),
            ("match", Type::Str, "The matched text."),
        ],
    );
    s.namespace("files", "The target's file tree. `.git/` is never listed; virtual environments, `node_modules` and build outputs are left out of globs.")
        .function("files", "glob", &[("pattern", Type::Str)], 1, Type::list(file()), false,
            "Regular files whose path matches the glob (`**/*.yaml`, `docker-compose*.yml`). A pattern without `/` matches the file name at any depth.")
        .function("files", "dirs", &[("pattern", Type::Str)], 1, Type::list(file()), false,
            "Directories whose path matches the glob.")
        .function("files", "get", &[("path", Type::Str)], 1, Type::optional(file()), false,
            "The file or directory at this path, or null.")
        .function("files", "exists", &[("path", Type::Str)], 1, Type::Bool, false,
            "Whether the path exists in the target.")
        .function("files", "gitignored", &[("path", Type::Str)], 1, Type::Bool, false,
            "Whether `.gitignore` would ignore this path, whether or not it exists (`files.gitignored(\".env\")`).")
        .function("files", "dvcignored", &[("path", Type::Str)], 1, Type::Bool, false,
            "Whether `.dvcignore` would ignore this path, whether or not it exists.")
        .function("files", "text", &[("file", file())], 1, Type::Str, false,
            "The file's text (UTF-8, lossily). An error for binary files and files over the size limit.")
        .function("files", "lines", &[("file", file())], 1, Type::list(Type::record("Line")), false,
            "The file's lines, each located at its line.")
        .function("files", "grep", &[("pattern", Type::Any), ("glob", Type::Str)], 1, Type::list(Type::record("Match")), false,
            "Every line of the text files matching the glob (default `**/*`) that matches the regular expression, located at its line. Binary files are skipped.");
    let secret_fields: &[(&str, Type, &str)] = &[
        ("rule", Type::Str, "The rule that matched, e.g. `aws-access-key-id`."),
        ("description", Type::Str, "What the rule finds."),
        ("path", Type::Str, "Path of the file."),
        ("line", Type::Int, "1-based line."),
        ("column", Type::Int, "1-based column (characters)."),
        ("fingerprint", Type::Str, "Stable under line moves: rule, path and secret, hashed."),
        ("secret", Type::Str, "The secret; it prints only redacted (`AKIA*************AM2`)."),
    ];
    s.record("Secret", "A secret found by the scanner.", secret_fields);
    let mut history_fields = secret_fields.to_vec();
    history_fields.extend([
        ("commit", Type::Str, "The oldest commit (of those searched) that added it."),
        ("date", Type::Str, "That commit's date (YYYY-MM-DD)."),
        ("subject", Type::Str, "That commit's subject line."),
        ("present", Type::Bool, "Whether the secret is still in the file today."),
    ]);
    s.record("HistorySecret", "A secret added by a commit, found in `git log -p`.", &history_fields);
    s.namespace("secrets", "The secret scanner: cloud keys, tokens, private keys, database URLs with passwords, hard-coded credential assignments. Placeholders, environment lookups, hashes and UUIDs are not reported. Values print redacted.")
        .function("secrets", "scan", &[("glob", Type::Str)], 0, Type::list(Type::record("Secret")), false,
            "Secrets in the target's text files matching the glob (default `**/*`; virtual environments, `node_modules` and build outputs are left out).")
        .function("secrets", "history", &[("depth", Type::Int)], 0, Type::list(Type::record("HistorySecret")), false,
            "Secrets added by the newest `depth` commits (default 1000) of every ref, including ones removed since (`present == false`). An error when the target is not a git repository.");
    s.namespace("git", "The target's git repository, through the git CLI.").function(
        "git",
        "is_repo",
        &[],
        0,
        Type::Bool,
        false,
        "Whether the target is inside a git work tree.",
    );
    s.namespace("doc", "Parsed configuration documents. Every value knows its file and line, so a finding at a value points at it. A file that does not parse makes the check `error`.")
        .function("doc", "parse", &[("file", file())], 1, Type::Doc, false,
            "The file parsed by its name: YAML (`.yaml`, `.yml`, `.dvc`, `MLmodel`), JSON, TOML (`.toml`, `uv.lock`, `poetry.lock`), INI (`.ini`, `.cfg`, `.dvc/config`), dotenv (`.env*`), Dockerfile, pip requirements (`requirements*.txt`) or Python (`.py`).")
        .function("doc", "yaml", &[("file", file())], 1, Type::Doc, false, "The file parsed as YAML.")
        .function("doc", "json", &[("file", file())], 1, Type::Doc, false, "The file parsed as JSON.")
        .function("doc", "toml", &[("file", file())], 1, Type::Doc, false, "The file parsed as TOML.")
        .function("doc", "ini", &[("file", file())], 1, Type::Doc, false, "The file parsed as INI (Python configparser rules): section → key → string.")
        .function("doc", "dotenv", &[("file", file())], 1, Type::Doc, false, "The file parsed as a dotenv file: name → string.")
        .function("doc", "dockerfile", &[("file", file())], 1, Type::Doc, false,
            "A Dockerfile as facts: `instructions`, `stages` (image, registry, repository, tag, digest, alias), `user` (of the final stage), `users`, `add_urls`, `env`, `healthcheck`, `exposed`.")
        .function("doc", "requirements", &[("file", file())], 1, Type::Doc, false,
            "A pip requirements file: `requirements` (name, specifier, pinned, hashes, marker, url, editable), `includes` (`-r`, `-c`), `options` (index URLs with passwords masked).")
        .function("doc", "python", &[("file", file())], 1, Type::Doc, false,
            "A Python source as facts: `assignments` of string literals (name, value, kind), `subprocess_shell` calls, `environ_dumps`, `imports`.");
    crate::http::schema(&mut s);
    crate::buckets::schema(&mut s);
    crate::host::schema(&mut s);
    crate::deps::schema(&mut s);
    s
}
