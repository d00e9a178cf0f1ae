-- The `$/progress` handler of localmind clients: indexing progress for the statusline and vim.notify,
-- and partial results (such as the streamed answer of localmind.ask) routed to whoever asked for them.

local config = require("localmind.config")

local M = {}

-- Indexing state per client id: {state, title, message, percentage, runs, last_message}.
local states = {}
-- Partial-result listeners per token: function(value, ctx).
local listeners = {}
local next_token = 0

local INDEX_PREFIX = "localmind-index-"

-- The indexing state of a client; "starting" until its first run begins.
function M.state(client_id)
  local state = states[client_id]
  if state == nil then
    state = { state = "starting", runs = 0 }
    states[client_id] = state
  end
  return state
end

-- Forgets a client that exited.
function M.forget(client_id, code)
  local state = M.state(client_id)
  state.state = "stopped"
  state.exit_code = code
end

-- A fresh token for partial results; listener(value, ctx) receives each value sent under it.
function M.listen(prefix, listener)
  next_token = next_token + 1
  local token = string.format("%s%d-%d", prefix, (vim.uv or vim.loop).getpid(), next_token)
  listeners[token] = listener
  return token
end

-- Stops routing a token's partial results.
function M.unlisten(token)
  listeners[token] = nil
end

local function should_notify(state)
  local notify = config.options.notify
  return notify == true or (notify == "first" and state.runs == 1)
end

local function refresh()
  pcall(vim.api.nvim_exec_autocmds, "User", { pattern = "LocalMindProgress", modeline = false })
  pcall(vim.cmd, "redrawstatus")
end

local function on_index(value, client_id)
  local state = M.state(client_id)
  if value.kind == "begin" then
    state.runs = state.runs + 1
    state.state = "indexing"
    state.title = value.title
    state.message = value.message
    state.percentage = value.percentage
    if should_notify(state) then
      vim.notify("Local Mind: indexing the workspace", vim.log.levels.INFO, { title = "Local Mind" })
    end
  elseif value.kind == "report" then
    state.state = "indexing"
    state.message = value.message or state.message
    state.percentage = value.percentage or state.percentage
  elseif value.kind == "end" then
    state.state = "ready"
    state.message = value.message
    state.percentage = nil
    state.last_message = value.message
    if should_notify(state) then
      vim.notify("Local Mind: " .. (value.message or "indexing ended"), vim.log.levels.INFO, { title = "Local Mind" })
    end
  end
  refresh()
end

-- The `$/progress` handler installed on every localmind client.
function M.handler(err, result, ctx, handler_config)
  local token = result and result.token
  local listener = token ~= nil and listeners[token] or nil
  if listener ~= nil then
    listener(result.value, ctx)
    return
  end
  local value = result and result.value
  if type(token) == "string" and token:sub(1, #INDEX_PREFIX) == INDEX_PREFIX and type(value) == "table" then
    on_index(value, ctx.client_id)
  elseif type(value) ~= "table" or value.kind == nil then
    -- Partial results for a token nobody listens to any more (a cancelled request) are dropped.
    return
  end
  -- Work-done progress also goes to Neovim's own handler, for other plugins that show LSP progress.
  local default = vim.lsp.handlers["$/progress"]
  if default ~= nil and default ~= M.handler then
    return default(err, result, ctx, handler_config)
  end
end

-- A short text for the statusline: the indexing state of the current buffer's server, or "".
function M.status(bufnr)
  local compat = require("localmind.compat")
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local clients = compat.clients(bufnr)
  if #clients == 0 then
    clients = compat.clients()
  end
  if #clients == 0 then
    return ""
  end
  local state = M.state(clients[1].id)
  if state.state == "indexing" then
    if state.percentage ~= nil then
      return string.format("LocalMind %d%%", state.percentage)
    end
    return "LocalMind indexing"
  elseif state.state == "ready" then
    return "LocalMind ready"
  elseif state.state == "stopped" then
    return "LocalMind stopped"
  end
  return "LocalMind starting"
end

return M
