-- :LocalMindAsk: a scratch buffer that fills as the answer of localmind.ask streams in, then lists its
-- sources as "[n] path:line" lines; <CR> on a source line, or on a [n] citation in the answer, jumps there.

local client = require("localmind.client")
local config = require("localmind.config")
local locations = require("localmind.locations")
local progress = require("localmind.progress")

local M = {}

local WAITING = "(waiting for the answer...)"

-- The one answer buffer and what it shows: question, answer_start (0-based line), text, deltas (pieces
-- streamed so far), sources by n, sources_start (0-based line), conversation_id, extractive, token (while
-- the answer is coming), cancel, origin_win, encoding.
local state = { bufnr = nil }

-- The answer state, for scripts and tests.
function M.state()
  return state
end

local function set_lines(first, last, lines)
  local bufnr = state.bufnr
  if bufnr == nil or not vim.api.nvim_buf_is_valid(bufnr) then
    return
  end
  vim.api.nvim_buf_set_option(bufnr, "modifiable", true)
  vim.api.nvim_buf_set_lines(bufnr, first, last, false, lines)
  vim.api.nvim_buf_set_option(bufnr, "modifiable", false)
end

local function answer_lines(text)
  if text == "" then
    return { WAITING }
  end
  return vim.split(text, "\n", { plain = true })
end

local function create_buffer()
  local bufnr = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_option(bufnr, "buftype", "nofile")
  vim.api.nvim_buf_set_option(bufnr, "bufhidden", "hide")
  vim.api.nvim_buf_set_option(bufnr, "swapfile", false)
  vim.api.nvim_buf_set_option(bufnr, "filetype", "markdown")
  pcall(vim.api.nvim_buf_set_name, bufnr, "LocalMind Answer")
  vim.keymap.set("n", "<CR>", M.follow, { buffer = bufnr, desc = "Local Mind: open the cited source" })
  vim.keymap.set("n", "q", "<cmd>close<CR>", { buffer = bufnr, desc = "Local Mind: close the answer" })
  return bufnr
end

-- Shows the answer buffer in a window (the one it is in, or a new one from ask_window) and returns it.
local function show_buffer()
  if state.bufnr == nil or not vim.api.nvim_buf_is_valid(state.bufnr) then
    state.bufnr = create_buffer()
  end
  local win = vim.fn.bufwinid(state.bufnr)
  if win == -1 then
    vim.cmd(config.options.ask_window)
    win = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(win, state.bufnr)
    vim.api.nvim_win_set_option(win, "wrap", true)
    vim.api.nvim_win_set_option(win, "linebreak", true)
  end
  return win
end

local function stop_current()
  if state.cancel ~= nil then
    state.cancel()
    state.cancel = nil
  end
  if state.token ~= nil then
    progress.unlisten(state.token)
    state.token = nil
  end
end

local function on_delta(token, value)
  if token ~= state.token or type(value) ~= "table" or type(value.delta) ~= "string" then
    return
  end
  state.text = state.text .. value.delta
  state.deltas = state.deltas + 1
  set_lines(state.answer_start, -1, answer_lines(state.text))
end

local function finish(token, result)
  if token ~= state.token then
    return
  end
  progress.unlisten(token)
  state.token = nil
  state.cancel = nil
  result = type(result) == "table" and result or {}
  if type(result.answer) == "string" then
    state.text = result.answer
  end
  -- Trailing blank lines would only push the sources down.
  state.text = (state.text:gsub("%s+$", ""))
  if type(result.conversationId) == "string" then
    state.conversation_id = result.conversationId
  end
  state.extractive = result.extractive == true
  local lines = answer_lines(state.text)
  if state.text == "" then
    lines = { "(no answer)" }
  end
  table.insert(lines, "")
  table.insert(lines, "## Sources")
  state.sources_start = state.answer_start + #lines
  state.sources = {}
  local items = {}
  for _, source in ipairs(type(result.sources) == "table" and result.sources or {}) do
    local item = locations.source_item(source, state.encoding)
    state.sources[source.n] = item
    table.insert(items, item)
    local path = type(source.path) == "string" and source.path or vim.fn.fnamemodify(item.filename, ":~:.")
    table.insert(lines, string.format("[%d] %s:%d", source.n, path, item.lnum))
  end
  if #items == 0 then
    table.insert(lines, "(none)")
  end
  set_lines(state.answer_start, -1, lines)
  locations.set_quickfix("Local Mind: " .. state.question, items, false)
  if state.on_done then
    state.on_done(result)
  end
end

-- Asks question; opts: continue (follow up in the same conversation), k, scope, on_done(result).
function M.ask(question, opts)
  opts = opts or {}
  if question == nil or vim.trim(question) == "" then
    vim.notify("Local Mind: :LocalMindAsk needs a question", vim.log.levels.WARN)
    return
  end
  -- The client is chosen from the buffer the question was asked in, before the answer window takes focus.
  local lsp_client, reason = client.for_buffer()
  if lsp_client == nil then
    vim.notify("Local Mind: " .. reason, vim.log.levels.ERROR)
    return
  end
  stop_current()
  local origin_win = vim.api.nvim_get_current_win()
  local win = show_buffer()
  if origin_win ~= win then
    state.origin_win = origin_win
  end
  state.question = question
  state.text = ""
  state.deltas = 0
  state.sources = {}
  state.sources_start = nil
  state.on_done = opts.on_done
  state.encoding = lsp_client.offset_encoding or "utf-16"
  if not opts.continue then
    state.conversation_id = nil
  end
  local header = { "# " .. question, "" }
  state.answer_start = #header
  set_lines(0, -1, vim.list_extend(header, answer_lines("")))

  local token
  token = progress.listen("localmind-ask-", function(value)
    on_delta(token, value)
  end)
  state.token = token
  local argument = {
    question = question,
    conversationId = state.conversation_id,
    k = opts.k or config.options.ask_k,
    scope = opts.scope,
    partialResultToken = token,
  }
  state.cancel = client.execute("localmind.ask", argument, function(result)
    finish(token, result)
  end, {
    client = lsp_client,
    on_error = function(err)
      if token == state.token then
        progress.unlisten(token)
        state.token = nil
        state.cancel = nil
        set_lines(state.answer_start, -1, { "Local Mind could not answer: " .. tostring(err.message or err) })
      end
    end,
  })
end

-- The source number under the cursor: the [n] of a source line, or the citation at (or nearest to) the cursor.
local function source_under_cursor()
  local cursor = vim.api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2] + 1
  local line = vim.api.nvim_get_current_line()
  if state.sources_start ~= nil and row >= state.sources_start then
    local n = line:match("^%[(%d+)%]")
    return n and tonumber(n) or nil
  end
  local best, best_distance = nil, math.huge
  for first, n, last in line:gmatch("()%[(%d+)%]()") do
    local distance = 0
    if col < first then
      distance = first - col
    elseif col >= last then
      distance = col - last + 1
    end
    if distance < best_distance then
      best, best_distance = tonumber(n), distance
    end
  end
  return best
end

-- Opens the source under the cursor, in the window the question was asked from (or a new split).
function M.follow()
  local n = source_under_cursor()
  local item = n and state.sources and state.sources[n] or nil
  if item == nil then
    vim.notify("Local Mind: no source under the cursor", vim.log.levels.INFO)
    return
  end
  local win = state.origin_win
  if win == nil or not vim.api.nvim_win_is_valid(win) or vim.api.nvim_win_get_buf(win) == state.bufnr then
    vim.cmd("aboveleft split")
    win = vim.api.nvim_get_current_win()
    state.origin_win = win
  end
  locations.jump(item.filename, item.lnum, item.col, win)
end

return M
