-- What differs between Neovim 0.7 and later versions, in one place.

local M = {}

-- True when the running Neovim is at least the given version, such as "0.11".
function M.has(version)
  return vim.fn.has("nvim-" .. version) == 1
end

-- The running localmind clients, optionally only those attached to bufnr.
function M.clients(bufnr)
  local found = {}
  local all
  if vim.lsp.get_clients then
    all = vim.lsp.get_clients({ name = "localmind" })
  else
    all = vim.lsp.get_active_clients()
  end
  for _, client in ipairs(all) do
    if client.name == "localmind" and (bufnr == nil or vim.lsp.buf_is_attached(bufnr, client.id)) then
      table.insert(found, client)
    end
  end
  return found
end

-- client:request on 0.11 and later, client.request before (the method form does not exist there).
function M.request(client, method, params, handler, bufnr)
  if M.has("0.11") then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

-- Cancels a request sent with M.request.
function M.cancel(client, request_id)
  if M.has("0.11") then
    return client:cancel_request(request_id)
  end
  return client.cancel_request(request_id)
end

-- The error of a response: Neovim 0.7 names it `error`, later versions `err`.
function M.response_error(response)
  return response and (response.err or response.error) or nil
end

-- The byte index of an LSP character offset in a line, for the client's position encoding.
function M.byte_index(line, character, encoding)
  if encoding == "utf-8" then
    return math.min(character, #line)
  end
  local ok, index
  if M.has("0.11") then
    ok, index = pcall(vim.str_byteindex, line, encoding or "utf-16", character, false)
  else
    ok, index = pcall(vim.str_byteindex, line, character, encoding ~= "utf-32")
  end
  if ok and index then
    return index
  end
  return math.min(character, #line)
end

-- vim.health on 0.8 and later (report_* before 0.10), health#report_* functions on 0.7.
function M.health()
  local health = vim.health
  if health and health.start then
    return health
  end
  if health and health.report_start then
    return {
      start = health.report_start,
      ok = health.report_ok,
      info = health.report_info,
      warn = health.report_warn,
      error = health.report_error,
    }
  end
  local function reporter(name)
    return function(message, advice)
      if advice ~= nil and (name == "warn" or name == "error") then
        vim.fn["health#report_" .. name](message, type(advice) == "table" and advice or { advice })
      else
        vim.fn["health#report_" .. name](message)
      end
    end
  end
  return {
    start = reporter("start"),
    ok = reporter("ok"),
    info = reporter("info"),
    warn = reporter("warn"),
    error = reporter("error"),
  }
end

return M
