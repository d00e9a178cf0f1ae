// Local Mind for VS Code: starts the language server, registers the commands and the status bar item, and
// returns a small API that the extension-API tests use.

import * as vscode from "vscode";

import { ChatPanel } from "./chatPanel";
import { ask, askAboutSelection } from "./commands/ask";
import { relatedToFile } from "./commands/related";
import { searchWorkspace } from "./commands/search";
import { reindexWorkspace, showStatus } from "./commands/status";
import { summarizeFile } from "./commands/summarize";
import { initConfig, RESTART_SETTINGS, serverKeyNames, settingsForServer } from "./config";
import { errorMessage } from "./format";
import type { ExtensionManifest, JsonObject } from "./settings";
import { LocalMindServer } from "./server";
import { StatusBar } from "./statusBar";

/** What activate() returns: enough to drive and observe the extension from tests or other extensions. */
export interface LocalMindApi {
  server: LocalMindServer;
  /** Resolves once the server runs and has finished indexing at least once. */
  whenReady(): Promise<void>;
  /** The status bar item's text now. */
  statusBarText(): string;
  /** The server settings the extension sends now. */
  serverSettings(): JsonObject;
  /** The names of every server setting the extension contributes. */
  serverSettingNames(): readonly string[];
  /** The chat panel, when open. */
  chatPanel(): ChatPanel | undefined;
}

let server: LocalMindServer | undefined;

export function activate(context: vscode.ExtensionContext): LocalMindApi {
  initConfig(context.extension.packageJSON as ExtensionManifest);
  const localMind = new LocalMindServer(context.extensionPath);
  server = localMind;
  const statusBar = new StatusBar(localMind);
  context.subscriptions.push(localMind, statusBar);

  const register = (id: string, run: (...args: never[]) => Promise<unknown>): void => {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: never[]) => {
        try {
          return await run(...args);
        } catch (error) {
          void vscode.window.showErrorMessage(errorMessage(id.replace("localmind.", ""), error));
          return undefined;
        }
      }),
    );
  };
  const extensionUri = context.extensionUri;
  register("localmind.searchWorkspace", (query?: string) => Promise.resolve(searchWorkspace(localMind, query ?? "")));
  register("localmind.askQuestion", (question?: string) => ask(localMind, extensionUri, question));
  register("localmind.askAboutSelection", (question?: string) => askAboutSelection(localMind, extensionUri, question));
  register("localmind.relatedToFile", (uri?: vscode.Uri) => relatedToFile(localMind, uri));
  register("localmind.summarizeFile", (uri?: vscode.Uri) => summarizeFile(localMind, extensionUri, uri));
  register("localmind.reindexWorkspace", () => reindexWorkspace(localMind));
  register("localmind.showStatus", () => showStatus(localMind));
  register("localmind.restartServer", () => localMind.restart());
  register("localmind.showLog", () => {
    localMind.output.show(true);
    return Promise.resolve();
  });

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (RESTART_SETTINGS.some((name) => event.affectsConfiguration(name))) {
        void localMind.restart();
      } else if (event.affectsConfiguration("localmind")) {
        void localMind.settingsChanged();
      }
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => {
      // The server follows folder changes itself; its status (roots, chunks) is refreshed for the status bar.
      void localMind.refreshStatus();
    }),
  );

  void localMind.start();

  return {
    server: localMind,
    whenReady: () => localMind.whenReady(),
    statusBarText: () => statusBar.text,
    serverSettings: () => settingsForServer(),
    serverSettingNames: () => serverKeyNames(),
    chatPanel: () => ChatPanel.instance,
  };
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
