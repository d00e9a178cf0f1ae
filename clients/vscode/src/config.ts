// The extension's view of VS Code's `localmind.*` settings: the server's part (sent through
// workspace/configuration and initializationOptions) and the client's own part (interpreter, server
// environment, search behaviour).

import * as vscode from "vscode";

import { type ExtensionManifest, type JsonObject, serverSettingKeys, toServerSettings } from "./settings";

let serverKeys: string[] = [];

/** Reads which contributed settings belong to the server; called once on activation. */
export function initConfig(manifest: ExtensionManifest): void {
  serverKeys = serverSettingKeys(manifest);
}

/** The names of the server's settings, without the "localmind." prefix. */
export function serverKeyNames(): readonly string[] {
  return serverKeys;
}

/** The server's settings the user has set, for a resource's folder (or the window). */
export function settingsForServer(scope?: vscode.Uri): JsonObject {
  const config = vscode.workspace.getConfiguration("localmind", scope ?? vscode.workspace.workspaceFolders?.[0]?.uri);
  return toServerSettings(serverKeys, (key) => config.inspect(key));
}

function clientConfig(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration("localmind", vscode.workspace.workspaceFolders?.[0]?.uri);
}

/** The server process's environment: VS Code's, plus localmind.serverEnv. */
export function serverEnvironment(): NodeJS.ProcessEnv {
  const extra = clientConfig().get<Record<string, unknown>>("serverEnv") ?? {};
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(extra)) {
    if (typeof value === "string") {
      env[name] = value;
    }
  }
  return env;
}

/** Milliseconds Search Workspace waits after the last keystroke before it searches. */
export function searchDebounceMs(): number {
  return clientConfig().get<number>("search.debounceMs") ?? 250;
}

/** Hits Search Workspace and Related to This File ask for. */
export function searchResults(): number {
  return clientConfig().get<number>("search.results") ?? 20;
}

/** Sources an answer of Ask may cite; undefined lets the server decide. */
export function askSources(): number | undefined {
  const value = clientConfig().get<number | null>("ask.sources");
  return typeof value === "number" ? value : undefined;
}

/** Settings whose change needs a new server process, not just a new pull of the settings. */
export const RESTART_SETTINGS = ["localmind.pythonPath", "localmind.serverEnv"];
