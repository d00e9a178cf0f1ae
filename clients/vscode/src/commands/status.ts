// Local Mind: Show Status, Reindex Workspace and Restart Server.

import * as vscode from "vscode";

import { errorMessage, statusLines, statusBarView } from "../format";
import { Commands } from "../lsp_ext";
import type { LocalMindServer } from "../server";

export async function reindexWorkspace(server: LocalMindServer): Promise<void> {
  try {
    await server.command(Commands.reindex);
    void server.refreshStatus();
    void vscode.window.showInformationMessage("Local Mind: re-indexing the workspace.");
  } catch (error) {
    void vscode.window.showErrorMessage(errorMessage("reindex", error));
  }
}

/** The status as a modal dialog, with the actions that fit it. */
export async function showStatus(server: LocalMindServer): Promise<void> {
  const status = server.view.lifecycle === "running" ? await server.refreshStatus() : undefined;
  const view = statusBarView(server.view);
  const detail = status !== undefined ? statusLines(status).join("\n") : view.tooltip.replace(/\n\nClick for .*$/s, "");
  const actions: string[] = [];
  if (server.view.lifecycle === "running") {
    actions.push(server.indexing ? "Cancel Indexing" : "Reindex Workspace");
  }
  actions.push("Restart Server", "Show Log");
  const title = `Local Mind: ${view.text.replace(/\$\([^)]*\)\s*/g, "").replace(/^Local Mind\s*/, "") || "status"}`;
  const picked = await vscode.window.showInformationMessage(title, { modal: true, detail }, ...actions);
  switch (picked) {
    case "Cancel Indexing":
      await server.cancelIndexing();
      break;
    case "Reindex Workspace":
      await reindexWorkspace(server);
      break;
    case "Restart Server":
      await server.restart();
      break;
    case "Show Log":
      server.output.show(true);
      break;
    default:
      break;
  }
}
