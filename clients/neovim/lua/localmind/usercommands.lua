-- Local Mind's user commands. plugin/localmind.lua defines them at startup, and setup() again, for
-- configurations that put the plugin on the runtimepath too late for plugin/ to be sourced.

local M = {}

function M.define()
  local command = vim.api.nvim_create_user_command

  command("LocalMindSearch", function(args)
    require("localmind").search(args.args)
  end, { nargs = "+", desc = "Local Mind: semantic search into the quickfix list" })

  command("LocalMindAsk", function(args)
    require("localmind").ask(args.args, { continue = args.bang })
  end, { nargs = "+", bang = true, desc = "Local Mind: ask a question of the workspace (! follows up)" })

  command("LocalMindRelated", function()
    require("localmind").related()
  end, { nargs = 0, desc = "Local Mind: files related to the current one, into the quickfix list" })

  command("LocalMindReindex", function()
    require("localmind").reindex()
  end, { nargs = 0, desc = "Local Mind: re-index the workspace" })

  command("LocalMindStatus", function()
    require("localmind").show_status()
  end, { nargs = 0, desc = "Local Mind: index, model and backend status" })
end

return M
