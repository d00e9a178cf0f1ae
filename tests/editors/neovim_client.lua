-- Drives `localmind serve` from Neovim 0.7's built-in LSP client, as a user's editor would, and writes
-- what the server answered to a JSON file for tests/editors/test_neovim.py to check.
--
-- Run it as: nvim --headless -u NONE -i NONE -n -c "luafile tests/editors/neovim_client.lua"
-- NVIM_LOCALMIND_SPEC names a JSON file with the inputs (python, root, note, server_env, timeouts);
-- NVIM_LOCALMIND_RESULTS names the file this script writes. Every failure, a Lua error included,
-- ends up in that file as `error`, and the script always quits Neovim.

local results = {
  error = vim.NIL,
  failed_step = vim.NIL,
  steps = {},
  progress = {},
  messages = {},
  initialized = false,
  exit = vim.NIL,
}
local results_path = os.getenv("NVIM_LOCALMIND_RESULTS")
local client_id = nil
local exited = nil
local step = "reading the spec"

local function write_results()
  local ok, encoded = pcall(vim.fn.json_encode, results)
  if not ok then
    encoded = vim.fn.json_encode({ error = "could not encode the results as JSON: " .. tostring(encoded) })
  end
  vim.fn.writefile({ encoded }, results_path)
end

-- Progress, log and show messages are kept as plain values, so that the test can print them.
local function message_handler(kind)
  return function(_, result, _, _)
    table.insert(results.messages, { kind = kind, type = result.type, message = result.message })
  end
end

local function progress_handler(err, result, ctx, config)
  local value = result.value
  if type(value) == "table" then
    table.insert(results.progress, {
      token = result.token,
      kind = value.kind or vim.NIL,
      title = value.title or vim.NIL,
      message = value.message or vim.NIL,
      percentage = value.percentage or vim.NIL,
    })
  end
  -- Neovim's own handler keeps client.messages.progress up to date, as it would in a user's editor.
  return vim.lsp.handlers["$/progress"](err, result, ctx, config)
end

-- Fails the current step when the server process has already gone.
local function check_running(waiting_for)
  if exited ~= nil then
    error(string.format("the server exited (code %d, signal %d) before %s", exited.code, exited.signal, waiting_for))
  end
end

local function index_ended()
  for _, event in ipairs(results.progress) do
    if event.kind == "end" and type(event.token) == "string" and event.token:find("^localmind%-index%-") then
      return true
    end
  end
  return false
end

-- An error object from the server (or none) as plain data.
local function plain_error(err)
  if err == nil then
    return vim.NIL
  end
  return { code = err.code or vim.NIL, message = err.message or tostring(err), data = err.data or vim.NIL }
end

-- One request through vim.lsp.buf_request_sync, recorded under results.steps[name] as {result, error}.
local function request(name, bufnr, method, params, timeout_ms)
  step = name
  check_running("the " .. name .. " request")
  local client = vim.lsp.get_client_by_id(client_id)
  if client == nil then
    error(string.format("%s: the client is gone before %s", name, method))
  end
  if not client.supports_method(method) then
    error(string.format("%s: the server does not advertise %s in its capabilities", name, method))
  end
  local responses, reason = vim.lsp.buf_request_sync(bufnr, method, params, timeout_ms)
  if responses == nil then
    error(string.format("%s: %s got no answer within %d ms (%s)", name, method, timeout_ms, tostring(reason)))
  end
  local response = responses[client_id]
  if response == nil then
    error(string.format("%s: %s was answered, but not by the localmind client", name, method))
  end
  -- Neovim 0.7 names the error `error`; 0.10 and later name it `err`.
  local err = response.error or response.err
  local recorded = { method = method, params = params, result = response.result, error = plain_error(err) }
  if recorded.result == nil then
    recorded.result = vim.NIL
  end
  results.steps[name] = recorded
  return recorded
end

-- The 0-based line and character of the first occurrence of needle in the buffer, one character inside it.
local function position_of(bufnr, needle)
  for index, line in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    local start = line:find(needle, 1, true)
    if start ~= nil then
      -- The notes are ASCII, so byte columns are also UTF-16 code units.
      return { line = index - 1, character = start }
    end
  end
  error(string.format("%q is not in buffer %d", needle, bufnr))
end

local function main()
  local spec_path = os.getenv("NVIM_LOCALMIND_SPEC")
  local spec = vim.fn.json_decode(table.concat(vim.fn.readfile(spec_path), "\n"))
  vim.lsp.set_log_level(spec.log_level)
  results.log_path = vim.lsp.get_log_path()

  step = "starting the client"
  local root_uri = vim.uri_from_fname(spec.root)
  client_id = vim.lsp.start_client({
    name = "localmind",
    cmd = { spec.python, "-m", "localmind", "serve" },
    cmd_env = spec.server_env,
    root_dir = spec.root,
    workspace_folders = { { uri = root_uri, name = vim.fn.fnamemodify(spec.root, ":t") } },
    settings = { localmind = vim.empty_dict() },
    handlers = {
      ["$/progress"] = progress_handler,
      ["window/logMessage"] = message_handler("log"),
      ["window/showMessage"] = message_handler("show"),
    },
    on_exit = function(code, signal)
      exited = { code = code, signal = signal }
    end,
  })
  if client_id == nil then
    error("vim.lsp.start_client returned no client id")
  end

  step = "opening the note"
  vim.cmd("edit " .. vim.fn.fnameescape(spec.note))
  local bufnr = vim.api.nvim_get_current_buf()
  -- With -u NONE there is no filetype detection; set it so didOpen carries a real languageId.
  vim.api.nvim_buf_set_option(bufnr, "filetype", "markdown")
  if not vim.lsp.buf_attach_client(bufnr, client_id) then
    error("vim.lsp.buf_attach_client refused the buffer")
  end

  step = "waiting for initialize"
  vim.wait(spec.start_timeout_ms, function()
    local client = vim.lsp.get_client_by_id(client_id)
    return exited ~= nil or (client ~= nil and client.initialized == true)
  end, 50)
  local client = vim.lsp.get_client_by_id(client_id)
  results.initialized = client ~= nil and client.initialized == true
  check_running("the client was initialized")
  if not results.initialized then
    error(string.format("the client was not initialized within %d ms", spec.start_timeout_ms))
  end

  step = "waiting for the first indexing run"
  vim.wait(spec.index_timeout_ms, function()
    return exited ~= nil or index_ended()
  end, 50)
  if not index_ended() then
    check_running("indexing ended")
    error(string.format("no $/progress end for a localmind-index-* token within %d ms", spec.index_timeout_ms))
  end

  local timeout = spec.request_timeout_ms
  step = "hover"
  local hover_position = position_of(bufnr, "parse_config")
  request("hover", bufnr, "textDocument/hover", {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = hover_position,
  }, timeout)
  request("workspace_symbol", bufnr, "workspace/symbol", { query = spec.symbol_query }, timeout)
  request("search", bufnr, "workspace/executeCommand", {
    command = "localmind.search",
    arguments = { { query = spec.search_query, k = 3 } },
  }, timeout)

  step = "shutting down"
  vim.lsp.get_client_by_id(client_id).stop()
  vim.wait(spec.stop_timeout_ms, function()
    return exited ~= nil
  end, 50)
  if exited == nil then
    error(string.format("the server did not exit within %d ms of client.stop()", spec.stop_timeout_ms))
  end
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  results.error = tostring(err)
  results.failed_step = step
end
if exited ~= nil then
  results.exit = exited
elseif client_id ~= nil then
  -- After a failure the server may still run; stop it by force so no process outlives the test.
  pcall(vim.lsp.stop_client, client_id, true)
end
write_results()
vim.cmd("qa!")
