-- :checkhealth localmind: the server command, its version, the embedding model, and the running servers.

local compat = require("localmind.compat")
local config = require("localmind.config")

local M = {}

local RUN_TIMEOUT_MS = 20000
local STATUS_TIMEOUT_MS = 10000

-- Runs argv with the server's environment; returns stdout, or nil and a reason.
local function run(argv)
  local stdout, stderr = {}, {}
  local done, code = false, nil
  local ok, job = pcall(vim.fn.jobstart, argv, {
    env = config.options.cmd_env,
    stdout_buffered = true,
    stderr_buffered = true,
    on_stdout = function(_, data)
      stdout = data
    end,
    on_stderr = function(_, data)
      stderr = data
    end,
    on_exit = function(_, exit_code)
      code = exit_code
      done = true
    end,
  })
  if not ok or job <= 0 then
    return nil, "could not run " .. table.concat(argv, " ") .. (ok and "" or (": " .. tostring(job)))
  end
  if not vim.wait(RUN_TIMEOUT_MS, function()
    return done
  end, 20) then
    vim.fn.jobstop(job)
    return nil, string.format("%s did not finish within %d s", table.concat(argv, " "), RUN_TIMEOUT_MS / 1000)
  end
  if code ~= 0 then
    local message = vim.trim(table.concat(stderr, "\n"))
    return nil, string.format("%s exited with %d: %s", table.concat(argv, " "), code, message)
  end
  return table.concat(stdout, "\n")
end

local function with(argv, ...)
  local full = vim.deepcopy(argv)
  for _, part in ipairs({ ... }) do
    table.insert(full, part)
  end
  return full
end

local function check_neovim(health)
  local version = vim.version()
  local how = require("localmind.lsp").how
  if how ~= nil then
    health.ok(string.format("Neovim %d.%d.%d: servers start with %s", version.major, version.minor, version.patch, how))
  else
    health.info(string.format("Neovim %d.%d.%d", version.major, version.minor, version.patch))
  end
  if require("localmind").is_setup() then
    health.ok("require('localmind').setup() has run")
  else
    health.warn("require('localmind').setup() has not run: no server starts", {
      "Call require('localmind').setup({}) in your configuration; these checks use the default options.",
    })
  end
end

-- Returns true when the command line tool answers.
local function check_command(health)
  local cmd = config.options.cmd
  if vim.fn.executable(cmd[1]) == 1 then
    health.ok(string.format("cmd: %s (%s)", table.concat(cmd, " "), vim.fn.exepath(cmd[1])))
  else
    health.error(string.format("cmd: %s is not an executable", cmd[1]), {
      "Install Local Mind (bash scripts/install.sh) and put its .venv/bin on PATH, or set cmd in setup().",
    })
    return false
  end
  local output, reason = run(with(config.cli(), "--version"))
  if output == nil then
    health.error("localmind --version failed: " .. reason)
    return false
  end
  health.ok("version: " .. vim.trim(output))
  return true
end

local function check_model(health)
  local settings = config.options.settings or {}
  local embeddings = type(settings.embeddings) == "table" and settings.embeddings or {}
  if type(embeddings.model_dir) == "string" then
    health.info("model: your own model in " .. embeddings.model_dir .. " (not checked here)")
    return
  end
  local output, reason = run(with(config.cli(), "models", "list", "--json"))
  if output == nil then
    health.error("localmind models list failed: " .. reason)
    return
  end
  local ok, models = pcall(vim.fn.json_decode, output)
  if not ok or type(models) ~= "table" then
    health.error("localmind models list --json printed something that is not JSON: " .. output:sub(1, 200))
    return
  end
  local setting = type(embeddings.variant) == "string" and embeddings.variant or "auto"
  for _, model in ipairs(models) do
    local wanted = embeddings.model == nil and model.default == true or model.name == embeddings.model
    if wanted then
      -- "auto" is what the server picks on this machine: fp16 with the GPU build and a GPU, int8 otherwise.
      local variant = setting == "auto" and (model.auto_variant or "int8") or setting
      local built = type(model.variants) == "table" and model.variants[variant] or nil
      if built == "built" then
        health.ok(string.format("model: %s (%s) is built", model.name, variant))
      else
        health.warn(string.format("model: %s (%s): %s", model.name, variant, tostring(built or "unknown variant")), {
          "Run `localmind models build` (the server also builds it on first use, which takes a few seconds).",
        })
      end
      return
    end
  end
  health.error("model: " .. tostring(embeddings.model or "the default model") .. " is not in localmind models list")
end

local function request_status(client)
  local response, done = nil, false
  local params = { command = "localmind.status", arguments = {} }
  local ok = compat.request(client, "workspace/executeCommand", params, function(err, result)
    response = { err = err, result = result }
    done = true
  end)
  if not ok then
    return nil, "the request could not be sent"
  end
  if not vim.wait(STATUS_TIMEOUT_MS, function()
    return done
  end, 20) then
    return nil, "no answer within " .. STATUS_TIMEOUT_MS / 1000 .. " s"
  end
  if response.err ~= nil then
    return nil, tostring(response.err.message or vim.inspect(response.err))
  end
  return response.result
end

local function check_client(health, client)
  local folders = {}
  for _, folder in ipairs(client.workspace_folders or {}) do
    table.insert(folders, vim.uri_to_fname(folder.uri))
  end
  health.info(string.format("server %d for %s", client.id, table.concat(folders, ", ")))
  if not client.initialized then
    health.warn("the server is still starting")
    return
  end
  local status, reason = request_status(client)
  if status == nil then
    health.error("localmind.status failed: " .. reason)
    return
  end
  if type(status.settings_problem) == "string" then
    health.warn("settings: " .. status.settings_problem)
  end
  if type(status.message) == "string" then
    health.warn(status.message)
    return
  end
  local index = type(status.index) == "table" and status.index or {}
  health.ok(string.format("index: %s files, %s chunks", tostring(index.files), tostring(index.chunks)))
  local indexing = type(status.indexing) == "table" and status.indexing or {}
  if type(indexing.last_error) == "string" then
    health.error("last indexing error: " .. indexing.last_error)
  end
  local names = vim.tbl_keys(type(status.backends) == "table" and status.backends or {})
  table.sort(names)
  for _, name in ipairs(names) do
    local backend = status.backends[name]
    local state = type(backend) == "table" and backend.state or backend
    local kind = type(backend) == "table" and backend.backend or "?"
    local label = string.format("backend %s: %s (%s)", name, tostring(kind), tostring(state))
    if state == "ok" then
      health.ok(label)
    else
      health.warn(label)
    end
  end
end

local function check_clients(health)
  local clients = compat.clients()
  if #clients == 0 then
    health.info("no Local Mind server is running; open a file inside a workspace (a folder with .git or .localmind)")
    return
  end
  for _, client in ipairs(clients) do
    check_client(health, client)
  end
end

function M.check()
  local health = compat.health()
  health.start("Neovim")
  check_neovim(health)
  health.start("Server command")
  if check_command(health) then
    health.start("Embedding model")
    check_model(health)
  end
  health.start("Running servers")
  check_clients(health)
end

return M
