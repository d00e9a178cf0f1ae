-- Drives the Local Mind Neovim plugin (clients/neovim) as a user would, in headless Neovim 0.7, and writes
-- what it saw to a JSON file for tests/editors/test_neovim_plugin.py to check.
--
-- Run it as: nvim --headless -u NONE -i NONE -n -c "luafile tests/editors/neovim_plugin_driver.lua"
-- NVIM_LOCALMIND_SPEC names a JSON file with the inputs (python, plugin, root, files, queries, server_env,
-- timeouts); NVIM_LOCALMIND_RESULTS names the file this script writes. Every failure, a Lua error included,
-- ends up in that file as `error`, and the script always quits Neovim.

local results = {
  error = vim.NIL,
  failed_step = vim.NIL,
  notifications = {},
  statuses = {},
  exits = {},
}
local results_path = os.getenv("NVIM_LOCALMIND_RESULTS")
local step = "reading the spec"
local spec

local function write_results()
  local ok, encoded = pcall(vim.fn.json_encode, results)
  if not ok then
    encoded = vim.fn.json_encode({ error = "could not encode the results as JSON: " .. tostring(encoded) })
  end
  vim.fn.writefile({ encoded }, results_path)
end

-- Waits for condition, failing the step with what was awaited when it does not come true in time.
local function wait_for(what, timeout_ms, condition)
  if not vim.wait(timeout_ms, condition, 20) then
    error(string.format("%s: %s did not happen within %d ms", step, what, timeout_ms))
  end
end

local function localmind_clients(bufnr)
  return require("localmind.compat").clients(bufnr)
end

local function edit(path)
  vim.cmd("edit " .. vim.fn.fnameescape(path))
  return vim.api.nvim_get_current_buf()
end

-- The quickfix list as plain data: title, whether its window is open, and each item's file, line, column, text.
local function quickfix()
  local info = vim.fn.getqflist({ title = 1, items = 1, winid = 1 })
  local items = {}
  for _, item in ipairs(info.items) do
    table.insert(items, {
      filename = vim.fn.fnamemodify(vim.fn.bufname(item.bufnr), ":p"),
      lnum = item.lnum,
      col = item.col,
      text = item.text,
    })
  end
  return { title = info.title, open = info.winid ~= 0, items = items }
end

-- The first 0-based position of needle in a buffer, one character inside it.
local function position_of(bufnr, needle)
  for index, line in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    local start = line:find(needle, 1, true)
    if start ~= nil then
      return { line = index - 1, character = start }
    end
  end
  error(string.format("%q is not in buffer %d", needle, bufnr))
end

-- Presses <CR> (with mappings) at (row, col) of the answer window and records where the cursor landed.
local function follow(answer_win, row, col)
  vim.api.nvim_set_current_win(answer_win)
  vim.api.nvim_win_set_cursor(answer_win, { row, col })
  local line = vim.api.nvim_get_current_line()
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes("<CR>", true, false, true), "x", false)
  local cursor = vim.api.nvim_win_get_cursor(0)
  return {
    from_line = line,
    from_col = col,
    buffer = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(0), ":p"),
    lnum = cursor[1],
    col = cursor[2] + 1,
    line = vim.api.nvim_get_current_line(),
  }
end

local function floating_windows()
  local found = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= "" then
      table.insert(found, vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false))
    end
  end
  return found
end

local function main()
  spec = vim.fn.json_decode(table.concat(vim.fn.readfile(os.getenv("NVIM_LOCALMIND_SPEC")), "\n"))
  vim.lsp.set_log_level(spec.log_level)
  local timeout = spec.request_timeout_ms

  step = "loading the plugin"
  -- Keep what the plugin tells the user, errors included, for the test to show.
  local notify = vim.notify
  vim.notify = function(message, level, opts)
    table.insert(results.notifications, { message = tostring(message), level = level or vim.NIL })
    return notify(message, level, opts)
  end
  vim.opt.runtimepath:append(spec.plugin)
  vim.cmd("filetype on")
  vim.cmd("runtime plugin/localmind.lua")
  results.commands = vim.fn.exists(":LocalMindSearch") == 2 and vim.fn.exists(":LocalMindAsk") == 2
  local localmind = require("localmind")
  vim.api.nvim_create_autocmd("User", {
    pattern = "LocalMindProgress",
    callback = function()
      table.insert(results.statuses, localmind.status())
    end,
  })
  localmind.setup({ cmd = { spec.python, "-m", "localmind", "serve" }, cmd_env = spec.server_env, keymaps = true })

  step = "attaching to the note"
  local note = edit(spec.note)
  wait_for("a localmind client attaching to the note", timeout, function()
    return #localmind_clients(note) == 1
  end)
  local client = localmind_clients(note)[1]
  wait_for("the client's initialization", spec.start_timeout_ms, function()
    return client.initialized == true or vim.lsp.get_client_by_id(client.id) == nil
  end)
  results.initialized = client.initialized == true
  results.workspace_folders = client.workspace_folders or vim.NIL
  results.initial_status = localmind.status(note)
  -- keymaps = true maps K and gd in the attached buffer only.
  local function mapped(lhs)
    local map = vim.fn.maparg(lhs, "n", false, true)
    return type(map) == "table" and map.buffer == 1
  end
  results.keymaps = { K = mapped("K"), gd = mapped("gd") }

  step = "attaching to a second file of the same root"
  local second = edit(spec.second_file)
  wait_for("a localmind client attaching to the second file", timeout, function()
    return #localmind_clients(second) == 1
  end)
  results.same_client = localmind_clients(second)[1].id == client.id
  results.client_count = #localmind_clients()

  step = "opening a file outside any workspace"
  local outside = edit(spec.outside_file)
  vim.wait(300)
  results.outside_attached = #localmind_clients(outside)
  results.outside_keymaps = vim.fn.maparg("K", "n") ~= ""

  step = "waiting for the first indexing run"
  edit(spec.note)
  wait_for("indexing progress ending", spec.index_timeout_ms, function()
    return localmind.status(note) == "LocalMind ready"
  end)
  results.status_after_index = localmind.status(note)
  results.progress = vim.deepcopy(localmind.progress(client.id))

  step = "LocalMindSearch"
  vim.cmd("LocalMindSearch " .. spec.search_query)
  wait_for("the search results in the quickfix list", timeout, function()
    return vim.fn.getqflist({ title = 1 }).title == "Local Mind: " .. spec.search_query
  end)
  results.search = quickfix()
  vim.cmd("cclose")

  step = "search with the vim.ui.select picker"
  local offered = nil
  -- A user who picks the first entry.
  vim.ui.select = function(items, opts, on_choice)
    offered = { prompt = opts.prompt, first = opts.format_item(items[1]), count = #items }
    on_choice(items[1], 1)
  end
  localmind.search(spec.search_query, { picker = "select" })
  wait_for("the picker", timeout, function()
    return offered ~= nil
  end)
  results.picker = {
    offered = offered,
    quickfix_open = vim.fn.getqflist({ winid = 1 }).winid ~= 0,
    buffer = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(0), ":p"),
    lnum = vim.api.nvim_win_get_cursor(0)[1],
  }

  step = "LocalMindRelated"
  edit(spec.related_file)
  vim.cmd("LocalMindRelated")
  wait_for("the related files in the quickfix list", timeout, function()
    return vim.fn.getqflist({ title = 1 }).title:find("Local Mind: related to", 1, true) == 1
  end)
  results.related = quickfix()
  vim.cmd("cclose")

  step = "LocalMindAsk"
  edit(spec.note)
  local question_win = vim.api.nvim_get_current_win()
  local ask = require("localmind.ask")
  vim.cmd("LocalMindAsk " .. spec.question)
  local answer_buf = ask.state().bufnr
  -- The answer's first line each time the buffer changes while the answer is still coming.
  local streaming = {}
  vim.api.nvim_buf_attach(answer_buf, false, {
    on_lines = function(_, buf)
      if ask.state().token ~= nil then
        table.insert(streaming, vim.api.nvim_buf_get_lines(buf, 2, 3, false)[1] or "")
      end
    end,
  })
  wait_for("the answer with its sources", spec.ask_timeout_ms, function()
    return ask.state().token == nil
  end)
  local state = ask.state()
  local answer_win = vim.fn.bufwinid(answer_buf)
  results.ask = {
    lines = vim.api.nvim_buf_get_lines(answer_buf, 0, -1, false),
    deltas = state.deltas,
    streaming = streaming,
    text = state.text,
    extractive = state.extractive == true,
    conversation_id = state.conversation_id or vim.NIL,
    sources_start = state.sources_start or vim.NIL,
    answer_window = answer_win ~= -1 and answer_win ~= question_win,
    quickfix = quickfix(),
  }

  step = "following citations"
  results.follow_source = vim.NIL
  results.follow_citation = vim.NIL
  local lines = results.ask.lines
  if state.sources_start ~= nil then
    -- <CR> on the source line "[n] path:line" of the expected source.
    local cited_n = nil
    for row = state.sources_start + 1, #lines do
      local n, place = lines[row]:match("^%[(%d+)%] (.*)$")
      if place == spec.cited_source then
        cited_n = n
        results.follow_source = follow(answer_win, row, 0)
        break
      end
    end
    -- <CR> with the cursor on that source's [n] citation inside the answer text.
    for row = 2, state.sources_start do
      local first = cited_n and lines[row]:find("[" .. cited_n .. "]", 1, true)
      if first ~= nil then
        results.follow_citation = follow(answer_win, row, first)
        break
      end
    end
  end

  step = "LocalMindAsk! (a follow-up)"
  vim.api.nvim_set_current_win(question_win)
  vim.cmd("LocalMindAsk! " .. spec.follow_up)
  wait_for("the follow-up answer", spec.ask_timeout_ms, function()
    return ask.state().token == nil
  end)
  results.follow_up = {
    conversation_id = ask.state().conversation_id or vim.NIL,
    first_line = vim.api.nvim_buf_get_lines(answer_buf, 0, 1, false)[1],
    sources = vim.tbl_count(ask.state().sources or {}),
  }

  step = "hover"
  vim.api.nvim_set_current_win(question_win)
  note = edit(spec.note)
  local responses = vim.lsp.buf_request_sync(note, "textDocument/hover", {
    textDocument = { uri = vim.uri_from_bufnr(note) },
    position = position_of(note, "parse_config"),
  }, timeout)
  local response = responses and responses[client.id] or nil
  results.hover = {
    result = response and response.result or vim.NIL,
    error = response and (response.error or response.err) or vim.NIL,
  }

  step = "LocalMindReindex"
  local runs = localmind.progress(client.id).runs
  vim.cmd("LocalMindReindex")
  wait_for("a second indexing run ending", spec.index_timeout_ms, function()
    local progress = localmind.progress(client.id)
    return progress.runs > runs and progress.state == "ready"
  end)
  results.reindex_runs = localmind.progress(client.id).runs

  step = "LocalMindStatus"
  vim.cmd("LocalMindStatus")
  wait_for("the status window", timeout, function()
    return #floating_windows() > 0
  end)
  results.status_window = floating_windows()[1]

  step = "checkhealth"
  vim.cmd("checkhealth localmind")
  results.checkhealth = vim.api.nvim_buf_get_lines(0, 0, -1, false)

  step = "stopping the server"
  local client_id = client.id
  vim.lsp.stop_client(client_id)
  wait_for("the server's exit", spec.stop_timeout_ms, function()
    return vim.lsp.get_client_by_id(client_id) == nil
  end)
  results.final_status = localmind.progress(client_id).state
  results.exit_code = localmind.progress(client_id).exit_code or vim.NIL
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  results.error = tostring(err)
  results.failed_step = step
end
for _, client in ipairs(require("localmind.compat").clients()) do
  -- After a failure a server may still run; stop it by force so no process outlives the test.
  pcall(vim.lsp.stop_client, client.id, true)
end
write_results()
vim.cmd("qa!")
