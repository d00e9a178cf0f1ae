-- Starting `localmind serve` and attaching it to the buffers of a workspace, on every supported Neovim:
-- vim.lsp.config/vim.lsp.enable (0.11+), vim.lsp.start (0.8-0.10), vim.lsp.start_client (0.7).

local compat = require("localmind.compat")
local config = require("localmind.config")
local progress = require("localmind.progress")
local root = require("localmind.root")

local M = {}

local GROUP = "localmind"

-- How clients are started on this Neovim, once enable() has run; :checkhealth reports it.
M.how = nil
-- On 0.7 one client serves each root: root folder -> client id.
local clients_by_root = {}

-- What each keymap name does; `search`, `ask` and `related` prompt or act like their commands.
M.keymap_actions = {
  hover = function()
    vim.lsp.buf.hover()
  end,
  definition = function()
    vim.lsp.buf.definition()
  end,
  references = function()
    vim.lsp.buf.references()
  end,
  workspace_symbol = function()
    vim.lsp.buf.workspace_symbol()
  end,
  search = function()
    vim.ui.input({ prompt = "Local Mind search: " }, function(query)
      if query ~= nil and query ~= "" then
        require("localmind.commands").search(query)
      end
    end)
  end,
  ask = function()
    vim.ui.input({ prompt = "Ask Local Mind: " }, function(question)
      if question ~= nil and question ~= "" then
        require("localmind.ask").ask(question)
      end
    end)
  end,
  related = function()
    require("localmind.commands").related()
  end,
}

local function set_keymaps(bufnr)
  local wanted = config.options.keymaps
  if wanted == false or wanted == nil then
    return
  end
  local keys = wanted == true and config.default_keymaps or wanted
  for name, lhs in pairs(keys) do
    local action = M.keymap_actions[name]
    if action ~= nil and lhs ~= false and lhs ~= "" then
      vim.keymap.set("n", lhs, action, { buffer = bufnr, desc = "Local Mind: " .. name:gsub("_", " ") })
    end
  end
end

local function on_attach(client, bufnr)
  set_keymaps(bufnr)
  if config.options.on_attach ~= nil then
    config.options.on_attach(client, bufnr)
  end
end

local function on_exit(code, _, client_id)
  progress.forget(client_id, code)
  for folder, id in pairs(clients_by_root) do
    if id == client_id then
      clients_by_root[folder] = nil
    end
  end
end

-- The client configuration shared by every Neovim version, without root_dir.
local function base_config()
  local opts = config.options
  local settings = config.settings()
  local init_options = opts.init_options
  if init_options == nil then
    init_options = { localmind = settings }
  end
  return {
    name = "localmind",
    cmd = vim.deepcopy(opts.cmd),
    cmd_env = opts.cmd_env,
    settings = { localmind = settings },
    init_options = init_options,
    capabilities = opts.capabilities,
    handlers = { ["$/progress"] = progress.handler },
    on_attach = on_attach,
    on_exit = on_exit,
  }
end

local function wanted_filetype(bufnr)
  local filetypes = config.options.filetypes
  if filetypes == nil then
    return true
  end
  return vim.tbl_contains(filetypes, vim.api.nvim_buf_get_option(bufnr, "filetype"))
end

local function folder_config(folder)
  local client_config = base_config()
  client_config.root_dir = folder
  client_config.workspace_folders = {
    { uri = vim.uri_from_fname(folder), name = vim.fn.fnamemodify(folder, ":t") },
  }
  return client_config
end

-- Neovim 0.7: start one client per root and attach it to the buffer.
local function attach_07(bufnr, folder)
  local client_id = clients_by_root[folder]
  if client_id ~= nil and vim.lsp.get_client_by_id(client_id) == nil then
    client_id = nil
  end
  if client_id == nil then
    client_id = vim.lsp.start_client(folder_config(folder))
    if client_id == nil then
      vim.notify("Local Mind: could not start " .. table.concat(config.options.cmd, " "), vim.log.levels.ERROR)
      return nil
    end
    clients_by_root[folder] = client_id
  end
  if not vim.lsp.buf_is_attached(bufnr, client_id) then
    vim.lsp.buf_attach_client(bufnr, client_id)
  end
  return client_id
end

-- Neovim 0.8 to 0.10: vim.lsp.start reuses the client of the same name and root.
local function attach_08(bufnr, folder)
  local client_id
  vim.api.nvim_buf_call(bufnr, function()
    client_id = vim.lsp.start(folder_config(folder), { bufnr = bufnr })
  end)
  return client_id
end

-- Attaches the workspace's client to a buffer (starting it when needed); returns the client id or nil.
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if not vim.api.nvim_buf_is_loaded(bufnr) or not wanted_filetype(bufnr) then
    return nil
  end
  local folder = root.of_buffer(bufnr, config.options.root_markers)
  if folder == nil then
    return nil
  end
  if vim.lsp.start ~= nil then
    return attach_08(bufnr, folder)
  end
  return attach_07(bufnr, folder)
end

-- Neovim 0.11 and later: a vim.lsp.config entry enabled for the workspace's buffers.
local function enable_011()
  local client_config = base_config()
  client_config.filetypes = config.options.filetypes
  client_config.root_dir = function(bufnr, on_dir)
    local folder = root.of_buffer(bufnr, config.options.root_markers)
    if folder ~= nil then
      on_dir(folder)
    end
  end
  vim.lsp.config("localmind", client_config)
  vim.lsp.enable("localmind")
end

-- Starts attaching: for buffers opened from now on, and for the file buffers already loaded.
function M.enable()
  if compat.has("0.11") and vim.lsp.config ~= nil and vim.lsp.enable ~= nil then
    M.how = "vim.lsp.config and vim.lsp.enable"
    enable_011()
    return
  end
  M.how = vim.lsp.start ~= nil and "vim.lsp.start" or "vim.lsp.start_client"
  local group = vim.api.nvim_create_augroup(GROUP, { clear = true })
  -- FileType covers buffers whose filetype is known; BufReadPost and BufNewFile cover the others.
  vim.api.nvim_create_autocmd({ "FileType", "BufReadPost", "BufNewFile" }, {
    group = group,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      M.attach(bufnr)
    end
  end
end

return M
