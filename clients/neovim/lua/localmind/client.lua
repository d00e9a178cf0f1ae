-- Sending Local Mind's custom commands (workspace/executeCommand) to the right client.

local compat = require("localmind.compat")

local M = {}

-- How long a command waits for a client that is still initializing.
local READY_TIMEOUT_MS = 60000
local READY_POLL_MS = 50

local function report(message)
  vim.notify("Local Mind: " .. message, vim.log.levels.ERROR)
end

-- The client for a buffer: the one attached to it, else the only running one, else nil and a reason.
function M.for_buffer(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local attached = compat.clients(bufnr)
  if #attached > 0 then
    return attached[1]
  end
  -- An answer or quickfix window has no client; attach it to a workspace buffer's client instead.
  local alternate = vim.fn.bufnr("#")
  if alternate > 0 and alternate ~= bufnr then
    attached = compat.clients(alternate)
    if #attached > 0 then
      return attached[1]
    end
  end
  local running = compat.clients()
  if #running == 1 then
    return running[1]
  end
  if #running == 0 then
    return nil, "no server is running; open a file of a workspace (a folder with .git or .localmind) first"
  end
  return nil, "several workspaces are open; run the command from a buffer of the one you mean"
end

-- Calls fn(client) once the client is initialized, or reports that it never was.
local function when_ready(client, fn)
  local waited = 0
  local function poll()
    if client.initialized then
      fn(client)
    elseif vim.lsp.get_client_by_id(client.id) == nil or waited >= READY_TIMEOUT_MS then
      report("the server did not finish starting; see :LspLog and :checkhealth localmind")
    else
      waited = waited + READY_POLL_MS
      vim.defer_fn(poll, READY_POLL_MS)
    end
  end
  poll()
end

-- Sends `command` with one argument (nil for none) and calls callback(result, client) on success.
-- Errors are reported with vim.notify, and on_error(err) is called when given.
-- Returns a function that cancels the request.
function M.execute(command, argument, callback, opts)
  opts = opts or {}
  local client, reason = opts.client, nil
  if client == nil then
    client, reason = M.for_buffer(opts.bufnr)
  end
  if client == nil then
    report(reason)
    if opts.on_error then
      opts.on_error({ message = reason })
    end
    return function() end
  end
  local request_id = nil
  local cancelled = false
  when_ready(client, function(ready)
    if cancelled then
      return
    end
    local params = { command = command, arguments = argument ~= nil and { argument } or {} }
    local ok, id = compat.request(ready, "workspace/executeCommand", params, function(err, result)
      request_id = nil
      if cancelled then
        return
      end
      if err ~= nil then
        report(string.format("%s failed: %s", command, err.message or vim.inspect(err)))
        if opts.on_error then
          opts.on_error(err)
        end
        return
      end
      callback(result, ready)
    end, opts.bufnr)
    if ok then
      request_id = id
    else
      report(command .. " could not be sent: the server has stopped")
    end
  end)
  return function()
    cancelled = true
    if request_id ~= nil then
      pcall(compat.cancel, client, request_id)
    end
  end
end

return M
