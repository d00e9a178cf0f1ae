// The extension-API tests: run inside VS Code (code-server, payload extensionTestsPath) with the full
// vscode API, against the real server on the fixture workspace. A tiny runner: each test runs in turn with
// a time limit; the outcome goes to the file $LOCALMIND_VSCODE_TEST_RESULTS, and run() rejects when any
// test failed, which makes VS Code report a non-zero exit code.

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";

import type { LocalMindApi } from "../../src/main";

interface Outcome {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

type Test = { name: string; timeoutMs: number; run: () => Promise<void> };

const EXTENSION_ID = "localmind.localmind";
const tests: Test[] = [];

function test(name: string, run: () => Promise<void>, timeoutMs = 60_000): void {
  tests.push({ name, run, timeoutMs });
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) {
    throw new Error(message);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until probe returns a value that is not undefined, or fails after timeoutMs. */
async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

let api: LocalMindApi;
let activated = false;
const workspace = (): vscode.Uri => {
  const folder = vscode.workspace.workspaceFolders?.[0];
  check(folder !== undefined, "no workspace folder is open");
  return folder.uri;
};
const configLoader = (): vscode.Uri => vscode.Uri.joinPath(workspace(), "src", "config_loader.py");

interface Status {
  settings_problem: string | null;
  index?: { chunks?: number };
  indexing?: { running: boolean; runs: number };
}

const status = (): Promise<Status> => api.server.command("localmind.status");

test("the extension activates and returns its API", async () => {
  const extension = vscode.extensions.getExtension<LocalMindApi>(EXTENSION_ID);
  check(extension !== undefined, `${EXTENSION_ID} is not installed`);
  api = extension.isActive ? extension.exports : await extension.activate();
  check(typeof api.whenReady === "function", "activate() returned no API");
  activated = true;
});

test("the server starts and indexes the workspace; the status bar says ready", async () => {
  await api.whenReady();
  const text = await waitFor("a ready status bar", () => (/ready · \d+ chunks/.test(api.statusBarText()) ? api.statusBarText() : undefined));
  const current = await status();
  check((current.index?.chunks ?? 0) > 0, `no chunks indexed: ${JSON.stringify(current)}`);
  check(text.includes(`${current.index?.chunks ?? -1} chunks`), `the status bar (${text}) disagrees with the status (${JSON.stringify(current.index)})`);
}, 180_000);

test("every contributed command is registered, and so are the server's", async () => {
  const manifest = vscode.extensions.getExtension(EXTENSION_ID)?.packageJSON as { contributes: { commands: { command: string }[] } };
  const registered = new Set(await vscode.commands.getCommands(true));
  const missing = manifest.contributes.commands.map((entry) => entry.command).filter((command) => !registered.has(command));
  check(missing.length === 0, `not registered: ${missing.join(", ")}`);
  for (const command of ["localmind.search", "localmind.related", "localmind.reindex", "localmind.status", "localmind.ask"]) {
    check(registered.has(command), `the server's ${command} is not registered`);
  }
});

test("only the settings the user set are sent, nested by section", () => {
  const settings = api.serverSettings() as { indexing?: { data_dir?: string }; embeddings?: { cache_dir?: string }; retrieval?: unknown };
  check(typeof settings.indexing?.data_dir === "string", `indexing.data_dir is not sent: ${JSON.stringify(settings)}`);
  check(typeof settings.embeddings?.cache_dir === "string", `embeddings.cache_dir is not sent: ${JSON.stringify(settings)}`);
  check(settings.retrieval === undefined, `defaults are sent: ${JSON.stringify(settings)}`);
  check(!("pythonPath" in settings), "the extension's own settings are sent to the server");
  check(api.serverSettingNames().includes("llm.base_url"), "llm.base_url is not contributed");
  return Promise.resolve();
});

test("a changed setting reaches the server through workspace/configuration", async () => {
  const config = vscode.workspace.getConfiguration("localmind");
  const search = async (): Promise<unknown[]> => vscode.commands.executeCommand<unknown[]>("localmind.search", { query: "configuration" });
  await config.update("retrieval.default_k", 2, vscode.ConfigurationTarget.Workspace);
  try {
    check((api.serverSettings() as { retrieval?: { default_k?: number } }).retrieval?.default_k === 2, "retrieval.default_k is not sent");
    // Searches without k return retrieval.default_k hits: two, once the server has pulled the new settings.
    await waitFor("searches to return two hits", async () => ((await search()).length === 2 ? true : undefined));
  } finally {
    await config.update("retrieval.default_k", undefined, vscode.ConfigurationTarget.Workspace);
  }
  await waitFor("searches to return more hits again", async () => ((await search()).length > 2 ? true : undefined));
});

test("hover shows the knowledge card of a symbol", async () => {
  const document = await vscode.workspace.openTextDocument(configLoader());
  const line = document.getText().split("\n").findIndex((text) => text.startsWith("def parse_config"));
  check(line >= 0, "parse_config is not in the fixture");
  const hovers = await vscode.commands.executeCommand<vscode.Hover[]>("vscode.executeHoverProvider", document.uri, new vscode.Position(line, 6));
  const text = hovers
    .flatMap((hover) => hover.contents)
    .map((content) => (typeof content === "string" ? content : (content as vscode.MarkdownString).value))
    .join("\n")
    .replace(/\\(.)/g, "$1");
  check(text.includes(`src/config_loader.py:${line + 1}`), `the card does not point at the definition:\n${text}`);
});

test("hover works in Markdown and plain text too", async () => {
  const note = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(workspace(), "notes", "architecture.md"));
  const line = note.getText().split("\n").findIndex((text) => text.includes("`parse_config`"));
  const character = note.lineAt(line).text.indexOf("parse_config") + 2;
  const hovers = await vscode.commands.executeCommand<vscode.Hover[]>("vscode.executeHoverProvider", note.uri, new vscode.Position(line, character));
  check(hovers.length > 0, "no hover in a Markdown note");
});

test("the server's search command answers through the client", async () => {
  const hits = await vscode.commands.executeCommand<{ path: string; range: { start: { line: number } } }[]>("localmind.search", {
    query: "merge two configurations",
  });
  check(hits.length > 0, "no hits");
  check(hits[0]?.path === "src/config_loader.py", `first hit: ${JSON.stringify(hits[0])}`);
});

test("Ask streams an answer into the chat panel and its citation opens the cited range", async () => {
  await vscode.commands.executeCommand("localmind.askQuestion", "how are configuration files parsed?");
  const panel = api.chatPanel();
  check(panel !== undefined, "no chat panel");
  const turn = panel.transcript[panel.transcript.length - 1];
  check(turn !== undefined && turn.status === "done", `the answer did not finish: ${JSON.stringify(turn)}`);
  check(turn.deltas >= 1, "no delta arrived");
  check(turn.sources.length > 0, "the answer cites no source");
  // An extractive answer cites each quoted passage; a small local model may not, but its sources are listed.
  check(turn.extractive !== true || /\[\d+\]/.test(turn.markdown), `no citation in the extractive answer: ${turn.markdown}`);
  const source = turn.sources.find((candidate) => candidate.path === "src/config_loader.py") ?? turn.sources[0];
  check(source !== undefined, "no source");
  const editor = await panel.openSource(turn.id, source.n);
  check(editor !== undefined, "the source did not open");
  check(editor.document.uri.toString() === source.uri, `opened ${editor.document.uri.toString()}, cited ${source.uri}`);
  check(editor.selection.active.line === source.range.start.line, `the cursor is on line ${editor.selection.active.line}`);
}, 180_000);

test("a follow-up continues the conversation", async () => {
  const panel = api.chatPanel();
  check(panel !== undefined, "no chat panel");
  const before = panel.transcript.length;
  await vscode.commands.executeCommand("localmind.askQuestion", "and where are they merged?");
  const turn = panel.transcript[before];
  check(turn?.status === "done", `the follow-up did not finish: ${JSON.stringify(turn)}`);
}, 180_000);

test("an answer being written can be cancelled", async () => {
  const llm = (api.serverSettings() as { llm?: { base_url?: string } }).llm?.base_url;
  if (llm === undefined) {
    // Extractive answers are complete in milliseconds: there is nothing to cancel in time.
    return;
  }
  const panel = api.chatPanel();
  check(panel !== undefined, "no chat panel");
  const answering = panel.ask("explain everything about configuration files in great detail");
  const turn = await waitFor("the first piece of the answer", () => {
    const last = panel.transcript[panel.transcript.length - 1];
    return last !== undefined && last.deltas > 0 ? last : undefined;
  }, 60_000);
  panel.cancelAnswer();
  const finished = await answering;
  check(finished.id === turn.id && finished.status === "cancelled", `status after cancelling: ${finished.status}`);
}, 120_000);

test("Ask about Selection keeps the sources in the selected file", async () => {
  const editor = await vscode.window.showTextDocument(configLoader());
  const line = editor.document.getText().split("\n").findIndex((text) => text.startsWith("def parse_config"));
  editor.selection = new vscode.Selection(line, 0, line + 9, 0);
  await vscode.commands.executeCommand("localmind.askAboutSelection", "what does this function do?");
  const panel = api.chatPanel();
  check(panel !== undefined, "no chat panel");
  const turn = panel.transcript[panel.transcript.length - 1];
  check(turn?.status === "done", `the answer did not finish: ${JSON.stringify(turn)}`);
  check(turn.scopeLabel === `about src/config_loader.py:${line + 1}-${line + 9}`, `scope label: ${String(turn.scopeLabel)}`);
  const first = turn.sources[0];
  check(first?.range.start.line === line && first.path === "src/config_loader.py", `source [1] is not the selection: ${JSON.stringify(first)}`);
  const elsewhere = turn.sources.filter((source) => source.path !== "src/config_loader.py");
  check(elsewhere.length === 0, `sources outside the selection's file: ${JSON.stringify(elsewhere.map((s) => s.path))}`);
}, 180_000);

test("Summarize This File shows a summary, or says the server cannot summarize yet", async () => {
  await vscode.window.showTextDocument(configLoader());
  await vscode.commands.executeCommand("localmind.summarizeFile");
  const panel = api.chatPanel();
  check(panel !== undefined, "no chat panel");
  const turn = await waitFor("the summary", () => {
    const last = panel.transcript[panel.transcript.length - 1];
    return last?.question.startsWith("Summary of src/config_loader.py") === true ? last : undefined;
  }, 120_000);
  const supported = api.server.requireClient().initializeResult?.capabilities.executeCommandProvider?.commands.includes("localmind.summarize");
  if (supported === true) {
    check(turn.status === "done" && turn.markdown.trim() !== "", `no summary: ${JSON.stringify(turn)}`);
  } else {
    check(turn.status === "error" && /cannot summarize/.test(turn.error ?? ""), `unexpected: ${JSON.stringify(turn)}`);
  }
}, 180_000);

test("a backend that is down shows as degraded in the status bar, with since when", async () => {
  const config = vscode.workspace.getConfiguration("localmind");
  const target = vscode.ConfigurationTarget.Workspace;
  // Neo4j on a port where nothing listens: the graph backend fails, and the server says so.
  // The password and URI first, so that no moment has Neo4j selected without them.
  await config.update("graph.password", "not-a-real-neo4j-password-7f3a", target);
  await config.update("graph.uri", "bolt://127.0.0.1:9", target);
  await config.update("graph.backend", "neo4j", target);
  try {
    await vscode.commands.executeCommand("localmind.reindexWorkspace");
    // Related files walk the graph's links (search no longer weighs the graph walk by default).
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    check(folder !== undefined, "no workspace folder");
    const file = vscode.Uri.joinPath(folder, "src", "config_loader.py").toString();
    const related = (): Thenable<unknown> => vscode.commands.executeCommand("localmind.related", { uri: file });
    const text = await waitFor("a degraded status bar", async () => {
      await Promise.resolve(related()).catch(() => undefined);
      await api.server.refreshStatus();
      return /degraded: .*graph/.test(api.statusBarText()) ? api.statusBarText() : undefined;
    }, 90_000);
    check(text.includes("graph"), text);
    const status = api.server.view.status;
    check(status?.backends?.graph?.state === "degraded" && typeof status.backends.graph.since === "string", `status: ${JSON.stringify(status?.backends)}`);
  } finally {
    await config.update("graph.backend", undefined, target);
    await config.update("graph.uri", undefined, target);
    await config.update("graph.password", undefined, target);
  }
  await waitFor("ready again", async () => {
    await api.server.refreshStatus();
    return /ready · \d+ chunks/.test(api.statusBarText()) ? true : undefined;
  }, 90_000);
}, 200_000);

test("an interpreter without Local Mind is reported, and fixing the setting restarts the server", async () => {
  const bare = "/usr/bin/python3";
  if (!existsSync(bare) || spawnSync(bare, ["-c", "import localmind"]).status === 0) {
    // No interpreter without Local Mind on this machine to try it with.
    return;
  }
  const config = vscode.workspace.getConfiguration("localmind");
  const previous = config.inspect<string>("pythonPath")?.workspaceValue;
  await config.update("pythonPath", bare, vscode.ConfigurationTarget.Workspace);
  try {
    await waitFor("the failure in the status bar", () => (api.server.view.lifecycle === "failed" ? true : undefined), 60_000);
    check(/not-installed/.test(api.server.view.reason ?? ""), `reason: ${String(api.server.view.reason)}`);
    check(api.statusBarText().includes("Local Mind"), api.statusBarText());
  } finally {
    await config.update("pythonPath", previous, vscode.ConfigurationTarget.Workspace);
  }
  await waitFor("ready again", () => (api.server.view.lifecycle === "running" && /ready · \d+ chunks/.test(api.statusBarText()) ? true : undefined), 120_000);
}, 200_000);

/** The pid of the server: the one child of this extension host running `-m localmind serve`. While an
 * earlier server is still exiting (after a settings change or a restart) there are two, and which one the
 * client talks to is unknown, so there is no answer until only one is left. */
function serverPid(): number | undefined {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const stat = readFileSync(join("/proc", entry, "stat"), "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const parent = Number(fields[1]);
      const state = fields[0];
      const command = readFileSync(join("/proc", entry, "cmdline"), "utf8").split("\0");
      if (parent === process.pid && state !== "Z" && command.includes("localmind") && command.includes("serve")) {
        found.push(Number(entry));
      }
    } catch {
      // The process ended while it was read.
    }
  }
  return found.length === 1 ? found[0] : undefined;
}

test("a crashed server is restarted, and the status bar comes back to ready", async () => {
  const pid = await waitFor("the server's pid", serverPid);
  process.kill(pid, "SIGKILL");
  await waitFor("the client to notice", () => (api.server.view.lifecycle !== "running" ? true : undefined), 15_000);
  const next = await waitFor("a new server", () => {
    const found = serverPid();
    return found !== undefined && found !== pid ? found : undefined;
  }, 30_000);
  check(next !== pid, "the same server");
  await waitFor("ready again", () => (api.server.view.lifecycle === "running" && /ready · \d+ chunks/.test(api.statusBarText()) ? true : undefined), 120_000);
}, 180_000);

test("Restart Server starts a new server process", async () => {
  const before = await waitFor("the server's pid", serverPid);
  await vscode.commands.executeCommand("localmind.restartServer");
  const after = await waitFor("a new server", () => {
    const found = serverPid();
    return found !== undefined && found !== before ? found : undefined;
  }, 30_000);
  check(after !== before, "the same server");
  await waitFor("ready again", () => (/ready · \d+ chunks/.test(api.statusBarText()) ? true : undefined), 120_000);
}, 180_000);

async function runOne(entry: Test): Promise<Outcome> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      entry.run(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`timed out after ${entry.timeoutMs / 1000} s`));
        }, entry.timeoutMs);
      }),
    ]);
    return { name: entry.name, ok: true, ms: Date.now() - started };
  } catch (error) {
    const message = error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error);
    return { name: entry.name, ok: false, ms: Date.now() - started, error: message };
  } finally {
    clearTimeout(timer);
  }
}

export async function run(): Promise<void> {
  const outcomes: Outcome[] = [];
  const resultsPath = process.env.LOCALMIND_VSCODE_TEST_RESULTS;
  const write = (done: boolean): void => {
    if (resultsPath !== undefined && resultsPath !== "") {
      const passed = outcomes.filter((outcome) => outcome.ok).length;
      const summary = { done, total: tests.length, passed, failed: outcomes.length - passed, outcomes };
      writeFileSync(resultsPath, JSON.stringify(summary, null, 2));
    }
  };
  write(false);
  for (const entry of tests) {
    // After the first test fails (no API), the others cannot run: they are recorded as failed too.
    const outcome = !activated && outcomes.length > 0 ? { name: entry.name, ok: false, ms: 0, error: "the extension did not activate" } : await runOne(entry);
    outcomes.push(outcome);
    console.log(`${outcome.ok ? "ok" : "FAILED"} ${entry.name} (${outcome.ms} ms)${outcome.error !== undefined ? `\n${outcome.error}` : ""}`);
    write(false);
  }
  write(true);
  const failed = outcomes.filter((outcome) => !outcome.ok).length;
  console.log(`${outcomes.length - failed} passed, ${failed} failed`);
  if (failed > 0) {
    throw new Error(`${failed} of ${outcomes.length} extension tests failed`);
  }
}
