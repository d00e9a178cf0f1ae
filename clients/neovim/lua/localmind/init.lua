-- Local Mind for Neovim: require("localmind").setup({...}) starts `localmind serve` for the buffers of a
-- workspace; the commands live in plugin/localmind.lua, the options in lua/localmind/config.lua.

local config = require("localmind.config")

local M = {}

local did_setup = false

-- Sets the options (see clients/neovim/README.md) and starts attaching the server to workspace buffers.
function M.setup(opts)
  config.set(opts)
  did_setup = true
  require("localmind.usercommands").define()
  require("localmind.lsp").enable()
end

-- True once setup() has run.
function M.is_setup()
  return did_setup
end

-- The current options.
function M.options()
  return config.options
end

-- A short statusline text: "LocalMind starting", "LocalMind 42%", "LocalMind ready", "LocalMind stopped" or "".
function M.status(bufnr)
  return require("localmind.progress").status(bufnr)
end

-- The indexing state of a client (the current buffer's when client_id is nil): {state, message, percentage,
-- runs, last_message}; state is "starting", "indexing", "ready" or "stopped". Nil when no client runs.
function M.progress(client_id)
  if client_id == nil then
    local client = require("localmind.client").for_buffer()
    if client == nil then
      return nil
    end
    client_id = client.id
  end
  return require("localmind.progress").state(client_id)
end

-- The commands as functions, for keymaps and scripts; opts.on_done receives the outcome.
function M.search(query, opts)
  return require("localmind.commands").search(query, opts)
end

function M.ask(question, opts)
  return require("localmind.ask").ask(question, opts)
end

function M.related(bufnr, opts)
  return require("localmind.commands").related(bufnr, opts)
end

function M.reindex(opts)
  return require("localmind.commands").reindex(opts)
end

function M.show_status(opts)
  return require("localmind.commands").status(opts)
end

return M
