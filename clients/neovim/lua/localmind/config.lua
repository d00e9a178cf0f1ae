-- The plugin's options: their defaults, and the options of the last setup() call.

local M = {}

-- Every option with its default; clients/neovim/README.md documents each one.
M.defaults = {
  -- The command that starts the language server (stdio).
  cmd = { "localmind", "serve" },
  -- Extra environment variables for the server process.
  cmd_env = nil,
  -- The command line tool used by :checkhealth; nil derives it from cmd by dropping "serve" and what follows.
  cli = nil,
  -- A folder holding one of these is a workspace root; the nearest one above a file wins.
  root_markers = { ".git", ".localmind" },
  -- Attach only to buffers of these filetypes; nil attaches to every file buffer inside a root.
  filetypes = nil,
  -- Local Mind's settings (the section `localmind`, shaped like localmind.toml), answered through
  -- workspace/configuration.
  settings = {},
  -- initializationOptions; nil sends {localmind = settings}, so that the first indexing run already uses them.
  init_options = nil,
  -- Client capabilities; nil uses Neovim's defaults.
  capabilities = nil,
  -- Called as on_attach(client, bufnr) after the client attaches to a buffer.
  on_attach = nil,
  -- Buffer-local keymaps on attach: false sets none, true sets the defaults below, a table picks its own keys.
  keymaps = false,
  -- Number of hits for :LocalMindSearch and :LocalMindRelated; nil uses the server's retrieval.default_k.
  k = nil,
  -- How :LocalMindSearch shows hits: "quickfix" (fill and open the quickfix list) or "select" (vim.ui.select,
  -- the quickfix list is filled too).
  picker = "quickfix",
  -- vim.notify on indexing progress: "first" for the first run of each server, true for every run, false never.
  notify = "first",
  -- The Ex command that opens the answer window of :LocalMindAsk.
  ask_window = "botright vsplit",
  -- Number of sources :LocalMindAsk asks for; nil lets the server decide.
  ask_k = nil,
  -- How :LocalMindStatus shows the status: "float" or "echo".
  status_window = "float",
}

-- Keys set when keymaps = true; each maps to an action of require("localmind.lsp").keymap_actions.
M.default_keymaps = {
  hover = "K",
  definition = "gd",
  references = "gr",
  workspace_symbol = "<leader>lw",
  search = "<leader>ls",
  ask = "<leader>la",
  related = "<leader>lr",
}

M.options = vim.deepcopy(M.defaults)

local function check_type(name, value, expected)
  if value == nil then
    return
  end
  local types = type(expected) == "table" and expected or { expected }
  for _, t in ipairs(types) do
    if type(value) == t then
      return
    end
  end
  error(string.format("localmind: option %s must be a %s, got %s", name, table.concat(types, " or "), type(value)), 3)
end

-- Merges the user's options over the defaults and checks their types; returns the result.
function M.set(user)
  user = user or {}
  check_type("cmd", user.cmd, "table")
  check_type("cmd_env", user.cmd_env, "table")
  check_type("cli", user.cli, "table")
  check_type("root_markers", user.root_markers, "table")
  check_type("filetypes", user.filetypes, "table")
  check_type("settings", user.settings, "table")
  check_type("init_options", user.init_options, "table")
  check_type("capabilities", user.capabilities, "table")
  check_type("on_attach", user.on_attach, "function")
  check_type("keymaps", user.keymaps, { "boolean", "table" })
  check_type("k", user.k, "number")
  check_type("picker", user.picker, "string")
  check_type("notify", user.notify, { "boolean", "string" })
  check_type("ask_window", user.ask_window, "string")
  check_type("ask_k", user.ask_k, "number")
  check_type("status_window", user.status_window, "string")
  -- Lists replace the defaults rather than merging index by index.
  local merged = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), user)
  for _, list in ipairs({ "cmd", "root_markers", "filetypes" }) do
    if user[list] ~= nil then
      merged[list] = vim.deepcopy(user[list])
    end
  end
  M.options = merged
  return merged
end

-- The settings as a JSON object, even when empty (an empty Lua table would be sent as []).
function M.settings()
  local settings = M.options.settings
  if settings == nil or vim.tbl_isempty(settings) then
    return vim.empty_dict()
  end
  return settings
end

-- The command line tool: cli, or cmd without "serve" and what follows it.
function M.cli()
  if M.options.cli then
    return vim.deepcopy(M.options.cli)
  end
  local cli = {}
  for _, part in ipairs(M.options.cmd) do
    if part == "serve" then
      break
    end
    table.insert(cli, part)
  end
  return cli
end

return M
