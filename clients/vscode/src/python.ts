// Finding the Python interpreter that runs `localmind serve`, checking that Local Mind is installed in it,
// and offering the install command when it is not.

import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import * as vscode from "vscode";

import { chooseInterpreter, installCommand, type Interpreter, PROBE_SCRIPT, type ProbeResult, readProbe } from "./interpreter";

/** The subset of the Python extension's API used here (environments API, else the older settings API). */
interface PythonExtensionApi {
  environments?: { getActiveEnvironmentPath?: (resource?: vscode.Uri) => { path?: string } | undefined };
  settings?: { getExecutionDetails?: (resource?: vscode.Uri) => { execCommand?: string[] } | undefined };
}

async function fromPythonExtension(resource: vscode.Uri | undefined, log: (line: string) => void): Promise<string | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtensionApi>("ms-python.python");
  if (extension === undefined) {
    return undefined;
  }
  try {
    const api = extension.isActive ? extension.exports : await extension.activate();
    const active = api.environments?.getActiveEnvironmentPath?.(resource)?.path;
    if (typeof active === "string" && active !== "") {
      return active;
    }
    return api.settings?.getExecutionDetails?.(resource)?.execCommand?.[0];
  } catch (error) {
    log(`the Python extension did not name an interpreter: ${String(error)}`);
    return undefined;
  }
}

/** The interpreter for this window: localmind.pythonPath, the Python extension's, or python3. */
export async function resolveInterpreter(log: (line: string) => void): Promise<Interpreter> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const setting = vscode.workspace.getConfiguration("localmind", folder?.uri).get<string>("pythonPath");
  const hasSetting = setting !== undefined && setting.trim() !== "";
  return chooseInterpreter({
    setting,
    fromPythonExtension: hasSetting ? undefined : await fromPythonExtension(folder?.uri, log),
    home: homedir(),
    workspaceFolder: folder?.uri.fsPath,
  });
}

/** Runs the interpreter with a one-line script that imports localmind and prints its version. */
export function probe(python: string, env: NodeJS.ProcessEnv): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(python, ["-c", PROBE_SCRIPT], { env, timeout: 60_000, encoding: "utf8" }, (error, stdout, stderr) => {
      const spawnError = error !== null && typeof error.code === "string" ? `${error.code}: ${error.message}` : undefined;
      const exitCode = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      resolve(readProbe(spawnError !== undefined ? { spawnError, exitCode, stdout, stderr } : { exitCode, stdout, stderr }));
    });
  });
}

/** True when a folder is a checkout of Local Mind (its pyproject.toml names the project "localmind"). */
function isCheckout(folder: string): boolean {
  const pyproject = join(folder, "pyproject.toml");
  if (!existsSync(pyproject)) {
    return false;
  }
  try {
    return /^name\s*=\s*"localmind"\s*$/m.test(readFileSync(pyproject, "utf8"));
  } catch {
    return false;
  }
}

/**
 * A Local Mind checkout to install from, when one is known: the repository this extension was built in
 * (clients/vscode two levels down), or an open workspace folder that is one.
 */
export function findCheckout(extensionPath: string): string | undefined {
  const candidates = [dirname(dirname(extensionPath))];
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    if (folder.uri.scheme === "file") {
      candidates.push(folder.uri.fsPath);
    }
  }
  return candidates.find(isCheckout);
}

/** Tells the user that the server cannot run with this interpreter, and offers what fixes it. */
export async function reportMissingServer(
  interpreter: Interpreter,
  result: Exclude<ProbeResult, { kind: "ok" }>,
  extensionPath: string,
  showLog: () => void,
): Promise<void> {
  const command = installCommand(interpreter.path, findCheckout(extensionPath));
  let message: string;
  if (result.kind === "no-interpreter") {
    message = `Local Mind: the Python interpreter ${interpreter.path} (from ${interpreter.source}) could not be run. Set localmind.pythonPath to a Python 3.11+ that has Local Mind installed.`;
  } else if (result.kind === "not-installed") {
    message = `Local Mind is not installed for ${interpreter.path} (from ${interpreter.source}). Install it with: ${command}`;
  } else {
    message = `Local Mind could not be imported by ${interpreter.path} (from ${interpreter.source}): ${result.detail}. Reinstall it with: ${command}`;
  }
  const copy = "Copy Install Command";
  const terminal = "Open in Terminal";
  const choose = "Choose Interpreter";
  const log = "Show Log";
  const actions = result.kind === "no-interpreter" ? [choose, log] : [copy, terminal, choose, log];
  const picked = await vscode.window.showErrorMessage(message, ...actions);
  if (picked === copy) {
    await vscode.env.clipboard.writeText(command);
  } else if (picked === terminal) {
    const shell = vscode.window.createTerminal("Local Mind: install");
    shell.show();
    // The command is typed, not run: the user reads it and presses Enter.
    shell.sendText(command, false);
  } else if (picked === choose) {
    await vscode.commands.executeCommand("workbench.action.openSettings", "localmind.pythonPath");
  } else if (picked === log) {
    showLog();
  }
}
