-- Defines Local Mind's user commands; they need require("localmind").setup() to have started a server.

if vim.g.loaded_localmind == 1 then
  return
end
vim.g.loaded_localmind = 1

require("localmind.usercommands").define()
