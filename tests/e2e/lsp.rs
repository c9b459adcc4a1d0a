//! A real editor: headless Neovim (Debian's 0.7.2 in CI) loads the plugin
//! shipped in `editors/nvim`, which starts the real `mlpol lsp` binary for a
//! `.mlpol` buffer; the test reads the diagnostics Neovim received and the
//! result of a hover request.

use crate::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const POLICY: &str = r#"check team.nvim {
  title = "Neovim"
  section = ["Editors"]
  severity = high
  require lenn([]) == 0
  for f in files.glob("*.onnx") {
    require f.size <= 1MiB
  }
}
"#;

/// `nvim` on the PATH: missing is a failure in CI, a loud skip elsewhere.
fn nvim() -> Option<&'static str> {
    let found = Command::new("nvim")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some("nvim");
    }
    if std::env::var_os("CI").is_some() {
        panic!("nvim is not installed, and CI is set: .ci/run installs Debian's `neovim`");
    }
    eprintln!("\n!!!!!!!!!!\n!!! SKIPPED: the Neovim LSP test needs `nvim` (apt-get install -y neovim)\n!!!!!!!!!!\n");
    None
}

/// Lua long-bracket string: no escaping needed for paths.
fn lua_string(s: &str) -> String {
    format!("[==[{s}]==]")
}

#[test]
fn neovim_shows_diagnostics_and_hover_from_mlpol_lsp() {
    let Some(nvim) = nvim() else { return };
    let dir = temp_dir("nvim");
    write(&dir, &[("mlpol.toml", ""), ("policies/nvim.mlpol", POLICY)]);
    let out = dir.join("out.txt");
    let script = format!(
        r#"
local out = io.open({out}, "w")
local function log(s) out:write(s .. "\n") out:flush() end
vim.opt.runtimepath:prepend({plugin})
require("mlpol").setup({{ cmd = {{ {bin}, "lsp" }} }})
vim.cmd("edit " .. vim.fn.fnameescape({file}))
local bufnr = vim.api.nvim_get_current_buf()
log("filetype " .. vim.bo[bufnr].filetype)
local got = vim.wait(30000, function() return #vim.diagnostic.get(bufnr) > 0 end, 50)
log("diagnostics " .. tostring(got))
for _, d in ipairs(vim.diagnostic.get(bufnr)) do
  local first = vim.split(d.message, "\n")[1]
  log(string.format("diag %d:%d %s", d.lnum + 1, d.col + 1, first))
end
local params = {{ textDocument = {{ uri = vim.uri_from_bufnr(bufnr) }}, position = {{ line = 6, character = 15 }} }}
local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/hover", params, 20000)
for _, r in pairs(responses or {{}}) do
  if r.result then log("hover " .. r.result.contents.value:gsub("\n", "|")) end
  if r.err then log("hover error " .. vim.inspect(r.err)) end
end
for _, client in pairs(vim.lsp.get_active_clients()) do
  log("client " .. client.name)
  client.stop()
end
vim.wait(5000, function() return #vim.lsp.get_active_clients() == 0 end, 50)
out:close()
vim.cmd("qa!")
"#,
        out = lua_string(&out.display().to_string()),
        plugin = lua_string(&repo_root().join("editors/nvim").display().to_string()),
        bin = lua_string(env!("CARGO_BIN_EXE_mlpol")),
        file = lua_string(&dir.join("policies/nvim.mlpol").display().to_string()),
    );
    let script_path = dir.join("t.lua");
    std::fs::write(&script_path, script).unwrap();
    let mut child = Command::new(nvim)
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-c"])
        .arg(format!("luafile {}", script_path.display()))
        .current_dir(&dir)
        // The server's copy of the stdlib and Neovim's LSP log stay in the
        // test's folder.
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nvim");
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nvim did not finish in 90 s; it wrote:\n{}", std::fs::read_to_string(&out).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let written = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(status.success(), "nvim exited with {status}; it wrote:\n{written}");
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.first(), Some(&"filetype mlpol"), "{written}");
    assert!(lines.contains(&"diagnostics true"), "no diagnostics reached Neovim:\n{written}");
    // The one error, on its line and column (1-based).
    let diags: Vec<&&str> = lines.iter().filter(|l| l.starts_with("diag ")).collect();
    assert_eq!(diags, [&"diag 5:11 unknown name `lenn`"], "{written}");
    // Hover on `f.size`: the fact field, its type and its doc.
    assert!(lines.contains(&"hover ```mlpol|File.size: size|```||Size in bytes."), "unexpected hover:\n{written}");
    assert!(lines.contains(&"client mlpol"), "{written}");
    // The bundled stdlib was written where the server was told (read-only).
    let std_copy =
        std::fs::read_dir(dir.join("cache/mlpol")).unwrap().next().unwrap().unwrap().path().join("std/secrets.mlpol");
    assert!(std_copy.is_file(), "{}", std_copy.display());
}
