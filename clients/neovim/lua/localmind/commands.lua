-- :LocalMindSearch, :LocalMindRelated, :LocalMindReindex and :LocalMindStatus.

local client = require("localmind.client")
local config = require("localmind.config")
local locations = require("localmind.locations")

local M = {}

local function encoding(lsp_client)
  return lsp_client and lsp_client.offset_encoding or "utf-16"
end

-- Lets the user pick one hit with vim.ui.select and jumps to it.
local function pick(title, items)
  vim.ui.select(items, {
    prompt = title,
    format_item = function(item)
      return string.format("%s:%d  %s", vim.fn.fnamemodify(item.filename, ":."), item.lnum, item.text)
    end,
  }, function(item)
    if item ~= nil then
      locations.jump(item.filename, item.lnum, item.col)
    end
  end)
end

-- Shows hits in the quickfix list (opened, or with the picker on top); calls on_done(items) when given.
local function show_hits(title, hits, lsp_client, opts)
  local items = {}
  for _, hit in ipairs(hits or {}) do
    table.insert(items, locations.hit_item(hit, encoding(lsp_client)))
  end
  local use_picker = (opts.picker or config.options.picker) == "select"
  locations.set_quickfix(title, items, not use_picker and #items > 0)
  if #items == 0 then
    vim.notify(title .. ": nothing found", vim.log.levels.INFO)
  elseif use_picker then
    pick(title, items)
  end
  if opts.on_done then
    opts.on_done(items)
  end
end

-- localmind.search for query; the hits fill the quickfix list. opts: k, path, kind, picker, on_done.
function M.search(query, opts)
  opts = opts or {}
  if query == nil or vim.trim(query) == "" then
    vim.notify("Local Mind: :LocalMindSearch needs a query", vim.log.levels.WARN)
    return
  end
  local argument = { query = query, k = opts.k or config.options.k, path = opts.path, kind = opts.kind }
  return client.execute("localmind.search", argument, function(hits, lsp_client)
    show_hits("Local Mind: " .. query, hits, lsp_client, opts)
  end, { on_error = opts.on_error })
end

-- localmind.related for a buffer's file (the current one by default); the hits fill the quickfix list.
function M.related(bufnr, opts)
  opts = opts or {}
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" then
    vim.notify("Local Mind: :LocalMindRelated needs a buffer that shows a file", vim.log.levels.WARN)
    return
  end
  local argument = { uri = vim.uri_from_bufnr(bufnr), k = opts.k or config.options.k }
  local title = "Local Mind: related to " .. vim.fn.fnamemodify(name, ":~:.")
  return client.execute("localmind.related", argument, function(hits, lsp_client)
    show_hits(title, hits, lsp_client, opts)
  end, { bufnr = bufnr, on_error = opts.on_error })
end

-- localmind.reindex: an incremental pass over every folder, with progress as usual.
function M.reindex(opts)
  opts = opts or {}
  return client.execute("localmind.reindex", nil, function(result)
    vim.notify("Local Mind: re-indexing scheduled", vim.log.levels.INFO)
    if opts.on_done then
      opts.on_done(result)
    end
  end)
end

local function count(value)
  if type(value) == "number" then
    return tostring(value)
  end
  return "?"
end

-- The lines :LocalMindStatus shows for a localmind.status result.
function M.status_lines(status)
  local lines = { "# Local Mind" }
  if type(status.settings_problem) == "string" then
    table.insert(lines, "settings problem: " .. status.settings_problem)
  end
  if type(status.message) == "string" then
    table.insert(lines, status.message)
    return lines
  end
  if type(status.summary) == "string" then
    table.insert(lines, "status: " .. status.summary)
  end
  for _, folder in ipairs(status.roots or {}) do
    table.insert(lines, "root: " .. folder)
  end
  local index = status.index or {}
  table.insert(lines, string.format("index: %s files, %s chunks", count(index.files), count(index.chunks)))
  local indexing = status.indexing or {}
  if indexing.running == true then
    table.insert(
      lines,
      string.format("indexing: running, %s/%s files", count(indexing.files_done), count(indexing.files_total))
    )
  else
    table.insert(lines, string.format("indexing: idle after %s run(s)", count(indexing.runs)))
  end
  if type(indexing.last_error) == "string" then
    table.insert(lines, "last error: " .. indexing.last_error)
  end
  local model = status.model or {}
  if type(model.id) == "string" then
    table.insert(lines, string.format("model: %s on %s", model.id, tostring(model.provider)))
  end
  local names = vim.tbl_keys(status.backends or {})
  table.sort(names)
  for _, name in ipairs(names) do
    local backend = status.backends[name]
    if type(backend) ~= "table" then
      backend = { state = backend }
    end
    local line = string.format("%s: %s (%s)", name, tostring(backend.backend), tostring(backend.state))
    if backend.state == "degraded" then
      line = line .. string.format(" since %s: %s", tostring(backend.since), tostring(backend.error))
    end
    table.insert(lines, line)
  end
  if type(status.store) == "string" then
    table.insert(lines, "store: " .. status.store)
  end
  return lines
end

-- localmind.status, shown in a floating window (status_window = "float") or echoed.
function M.status(opts)
  opts = opts or {}
  return client.execute("localmind.status", nil, function(status)
    local lines = M.status_lines(status or {})
    if (opts.window or config.options.status_window) == "float" then
      vim.lsp.util.open_floating_preview(lines, "markdown", { border = "rounded", focus_id = "localmind-status" })
    else
      vim.api.nvim_echo({ { table.concat(lines, "\n") } }, true, {})
    end
    if opts.on_done then
      opts.on_done(status, lines)
    end
  end)
end

return M
