-- LSP locations as quickfix items and cursor jumps, with character offsets turned into byte columns.

local compat = require("localmind.compat")

local M = {}

-- One line (1-based) of a file: from its buffer when loaded, else from disk; "" when unreadable.
local function line_of(filename, lnum)
  local bufnr = vim.fn.bufnr(filename)
  if bufnr > 0 and vim.api.nvim_buf_is_loaded(bufnr) then
    return vim.api.nvim_buf_get_lines(bufnr, lnum - 1, lnum, false)[1] or ""
  end
  local ok, lines = pcall(vim.fn.readfile, filename, "", lnum)
  if ok and #lines >= lnum then
    return lines[lnum]
  end
  return ""
end

-- The file, 1-based line and 1-based byte column of an LSP position in uri.
function M.position(uri, position, encoding)
  local filename = vim.uri_to_fname(uri)
  local lnum = (position and position.line or 0) + 1
  local character = position and position.character or 0
  local col = character + 1
  if character > 0 then
    col = compat.byte_index(line_of(filename, lnum), character, encoding) + 1
  end
  return filename, lnum, col
end

-- The first line of a snippet with a letter or digit in it (so not a front matter fence), trimmed.
local function first_line(text)
  if type(text) ~= "string" then
    return ""
  end
  for line in text:gmatch("[^\n]+") do
    if line:find("%w") then
      return vim.trim(line)
    end
  end
  return vim.trim(text:match("[^\n]*"))
end

-- A quickfix item for a search hit: its location, and "symbol: snippet" (or the heading) as text.
function M.hit_item(hit, encoding)
  local location = hit.location or { uri = hit.uri, range = hit.range }
  local filename, lnum, col = M.position(location.uri, location.range and location.range.start, encoding)
  local label = hit.symbol
  if (label == nil or label == vim.NIL) and type(hit.heading) == "table" and #hit.heading > 0 then
    label = table.concat(hit.heading, " > ")
  end
  local text = first_line(hit.snippet)
  if type(label) == "string" and label ~= "" then
    text = label .. ": " .. text
  end
  return { filename = filename, lnum = lnum, col = col, text = text }
end

-- A quickfix item for a source of localmind.ask: "[n] snippet".
function M.source_item(source, encoding)
  local filename, lnum, col = M.position(source.uri, source.range and source.range.start, encoding)
  local text = string.format("[%d] %s", source.n, first_line(source.snippet))
  return { filename = filename, lnum = lnum, col = col, text = text }
end

-- Replaces the quickfix list with items under a title, and opens it when asked.
function M.set_quickfix(title, items, open)
  vim.fn.setqflist({}, " ", { title = title, items = items })
  if open then
    vim.cmd("copen")
  end
end

-- Shows filename at (lnum, col) in window win, or the current window.
function M.jump(filename, lnum, col, win)
  if win ~= nil and vim.api.nvim_win_is_valid(win) then
    vim.api.nvim_set_current_win(win)
  end
  -- Record the jump, so that <C-o> comes back.
  vim.cmd("normal! m'")
  vim.cmd("edit " .. vim.fn.fnameescape(filename))
  local last = vim.api.nvim_buf_line_count(0)
  lnum = math.max(1, math.min(lnum, last))
  vim.api.nvim_win_set_cursor(0, { lnum, math.max(0, col - 1) })
  vim.cmd("normal! zv")
end

return M
