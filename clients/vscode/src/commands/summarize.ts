// Local Mind: Summarize This File — the server's summary of the active file, shown in the chat panel with
// its sources and the questions it suggests.

import * as vscode from "vscode";

import { ChatPanel } from "../chatPanel";
import { errorMessage } from "../format";
import { Commands } from "../lsp_ext";
import { summaryMarkdown } from "../questions";
import type { LocalMindServer } from "../server";

export async function summarizeFile(server: LocalMindServer, extensionUri: vscode.Uri, uri?: vscode.Uri): Promise<void> {
  const target = uri ?? vscode.window.activeTextEditor?.document.uri;
  if (target === undefined || target.scheme !== "file") {
    void vscode.window.showWarningMessage("Local Mind: Summarize This File needs a file open in the editor.");
    return;
  }
  const title = `Summary of ${vscode.workspace.asRelativePath(target, false)}`;
  const commands = server.requireClient().initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
  const panel = ChatPanel.show(server, extensionUri);
  if (!commands.includes(Commands.summarize)) {
    panel.showError(title, "This Local Mind server cannot summarize files yet (it has no localmind.summarize command): update Local Mind.");
    return;
  }
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: "Local Mind: summarizing" },
      () => server.command(Commands.summarize, { uri: target.toString() }),
    );
    panel.showSummary(title, summaryMarkdown(result), result.sources, result.questions, result.extractive);
  } catch (error) {
    panel.showError(title, errorMessage("summarize", error));
  }
}
