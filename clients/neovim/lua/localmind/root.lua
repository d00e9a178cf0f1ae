-- Finding a buffer's workspace root by its markers, without vim.fs (which Neovim 0.7 lacks).

local M = {}

local function exists(path)
  return (vim.uv or vim.loop).fs_stat(path) ~= nil
end

-- The nearest folder at or above path that holds one of the markers, or nil.
function M.find(path, markers)
  if path == nil or path == "" then
    return nil
  end
  local dir = vim.fn.fnamemodify(path, ":p")
  if vim.fn.isdirectory(dir) == 0 then
    dir = vim.fn.fnamemodify(dir, ":h")
  end
  -- ":p" leaves a trailing separator on folders; drop it so the root is a plain path.
  dir = dir:gsub("(.)/+$", "%1")
  while true do
    for _, marker in ipairs(markers) do
      if exists(dir .. "/" .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then
      return nil
    end
    dir = parent
  end
end

-- The root of a buffer that shows a file, or nil for special buffers and files outside any workspace.
function M.of_buffer(bufnr, markers)
  if not vim.api.nvim_buf_is_valid(bufnr) or vim.api.nvim_buf_get_option(bufnr, "buftype") ~= "" then
    return nil
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" or name:match("^%a[%w+.-]*://") then
    return nil
  end
  -- Resolve symlinks, so that a root is the same whichever way a file was opened.
  local real = (vim.uv or vim.loop).fs_realpath(name) or name
  return M.find(real, markers)
end

return M
