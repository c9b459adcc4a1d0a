-- mlpol for Neovim: filetype, and the `mlpol lsp` language server attached
-- to every `.mlpol` buffer. Works on Neovim 0.7 (vim.lsp.start_client +
-- vim.lsp.buf_attach_client) and on 0.8 and later (vim.lsp.start).
--
--   require("mlpol").setup({
--     cmd = { "mlpol", "lsp" },              -- the server
--     root_markers = { "mlpol.toml", ".git" }, -- the workspace folder
--     on_attach = function(client, bufnr) end,
--   })

local M = {}

M.config = {
  cmd = { "mlpol", "lsp" },
  root_markers = { "mlpol.toml", ".git" },
  on_attach = nil,
  capabilities = nil,
}

-- Neovim 0.7 has no vim.lsp.start: one client per workspace folder, started
-- on the first buffer and attached to the others.
local clients = {}

local function root_dir(fname)
  local dir = vim.fn.fnamemodify(fname, ":p:h")
  for _, marker in ipairs(M.config.root_markers) do
    local file = vim.fn.findfile(marker, dir .. ";")
    if file ~= "" then
      return vim.fn.fnamemodify(file, ":p:h")
    end
    local found = vim.fn.finddir(marker, dir .. ";")
    if found ~= "" then
      -- ":p" of a directory ends with "/": ":h" twice is its parent.
      return vim.fn.fnamemodify(found, ":p:h:h")
    end
  end
  return dir
end

function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local fname = vim.api.nvim_buf_get_name(bufnr)
  if fname == "" then
    return nil
  end
  local root = root_dir(fname)
  local config = {
    name = "mlpol",
    cmd = M.config.cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
    on_attach = M.config.on_attach,
    capabilities = M.config.capabilities,
  }
  if vim.lsp.start then
    return vim.lsp.start(config, { bufnr = bufnr })
  end
  local id = clients[root]
  if not id or not vim.lsp.get_client_by_id(id) then
    id = vim.lsp.start_client(config)
    clients[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

function M.setup(opts)
  M.config = vim.tbl_extend("force", M.config, opts or {})
  local group = vim.api.nvim_create_augroup("mlpol", { clear = true })
  vim.api.nvim_create_autocmd({ "BufRead", "BufNewFile" }, {
    group = group,
    pattern = "*.mlpol",
    command = "setfiletype mlpol",
  })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = "mlpol",
    callback = function(args)
      vim.bo[args.buf].commentstring = "// %s"
      vim.bo[args.buf].shiftwidth = 2
      vim.bo[args.buf].expandtab = true
      M.attach(args.buf)
    end,
  })
  -- `:MlpolEvaluate` runs the checks and shows their status as code lenses.
  vim.api.nvim_create_user_command("MlpolEvaluate", function()
    local params = { command = "mlpol.evaluate", arguments = {} }
    vim.lsp.buf_request(0, "workspace/executeCommand", params, function(err, result)
      if err then
        vim.notify("mlpol: " .. tostring(err.message or err), vim.log.levels.ERROR)
        return
      end
      if result and result.summary then
        vim.notify("mlpol: " .. result.summary)
      end
      pcall(vim.lsp.codelens.refresh)
    end)
  end, {})
end

return M
