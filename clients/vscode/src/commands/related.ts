// Local Mind: Related to This File — the files closest in meaning to the active one, or linked with it.

import * as path from "node:path";
import * as vscode from "vscode";

import { searchResults } from "../config";
import { errorMessage } from "../format";
import { Commands } from "../lsp_ext";
import type { LocalMindServer } from "../server";
import { attachHitBehaviour, type HitItem, hitItem, messageItem } from "./hitPicker";

export async function relatedToFile(server: LocalMindServer, uri?: vscode.Uri): Promise<void> {
  const target = uri ?? vscode.window.activeTextEditor?.document.uri;
  if (target === undefined || target.scheme !== "file") {
    void vscode.window.showWarningMessage("Local Mind: Related to This File needs a file open in the editor.");
    return;
  }
  const pick = vscode.window.createQuickPick<HitItem>();
  pick.title = `Local Mind: Related to ${path.basename(target.fsPath)}`;
  pick.placeholder = "Files close in meaning, or linked to or from this one";
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  pick.busy = true;
  attachHitBehaviour(pick);
  pick.show();
  try {
    const hits = await server.command(Commands.related, { uri: target.toString(), k: Math.min(searchResults(), 100) });
    pick.items = hits.length > 0 ? hits.map(hitItem) : [messageItem("$(search-stop) Nothing related found")];
  } catch (error) {
    pick.items = [messageItem("$(error) Related failed", errorMessage("related", error))];
  } finally {
    pick.busy = false;
  }
}
