// The language server's lifecycle: starting `localmind serve` over stdio with the chosen interpreter,
// restarting it with backoff after a crash, and following its indexing progress and status for the UI.

import * as vscode from "vscode";
import {
  CloseAction,
  type CloseHandlerResult,
  DidChangeConfigurationNotification,
  ErrorAction,
  type ErrorHandlerResult,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ProgressToken,
  ProgressType,
  ResponseError,
  RevealOutputChannelOn,
  type ServerOptions,
  type StaticFeature,
  WorkDoneProgress,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressCreateRequest,
  type WorkDoneProgressCreateParams,
} from "vscode-languageclient/node";

import { RestartBackoff } from "./backoff";
import { serverEnvironment, settingsForServer } from "./config";
import type { ServerView } from "./format";
import {
  type CommandArgs,
  type CommandName,
  type CommandPartial,
  type CommandResult,
  Commands,
  INDEX_PROGRESS_PREFIX,
  type StatusResult,
} from "./lsp_ext";
import { probe, reportMissingServer, resolveInterpreter } from "./python";
import { redactSecrets } from "./settings";

/** How often the status is refreshed while indexing, and while idle, in milliseconds. */
const BUSY_POLL_MS = 2000;
const IDLE_POLL_MS = 15_000;

/**
 * Takes over window/workDoneProgress/create after the built-in handler is installed, so that indexing
 * progress feeds the status bar item instead of a second progress indicator.
 */
class IndexProgressFeature implements StaticFeature {
  constructor(
    private readonly client: LanguageClient,
    private readonly onCreate: (token: ProgressToken) => void,
  ) {}

  fillClientCapabilities(capabilities: { window?: { workDoneProgress?: boolean } }): void {
    capabilities.window = { ...capabilities.window, workDoneProgress: true };
  }

  initialize(): void {
    this.client.onRequest(WorkDoneProgressCreateRequest.type, (params: WorkDoneProgressCreateParams) => {
      this.onCreate(params.token);
    });
  }

  getState(): { kind: "static" } {
    return { kind: "static" };
  }

  clear(): void {
    // Nothing to clear: progress listeners go with the connection.
  }
}

export class LocalMindServer implements vscode.Disposable {
  readonly output: vscode.LogOutputChannel;
  private client: LanguageClient | undefined;
  private readonly changed = new vscode.EventEmitter<ServerView>();
  /** Fires whenever the lifecycle, the indexing progress or the status changes. */
  readonly onDidChange = this.changed.event;
  private current: ServerView = { lifecycle: "starting" };
  private readonly backoff = new RestartBackoff();
  private startedAt = 0;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private indexToken: ProgressToken | undefined;
  private generation = 0;
  private readonly ready: { promise: Promise<void>; resolve: () => void };

  constructor(private readonly extensionPath: string) {
    this.output = vscode.window.createOutputChannel("Local Mind", { log: true });
    let resolve = (): void => undefined;
    const promise = new Promise<void>((done) => {
      resolve = done;
    });
    this.ready = { promise, resolve };
  }

  /** What the UI shows now. */
  get view(): ServerView {
    return this.current;
  }

  /** Resolves once the server has been started and has reported a finished index at least once. */
  whenReady(): Promise<void> {
    return this.ready.promise;
  }

  private update(view: Partial<ServerView>, replace = false): void {
    this.current = replace ? { lifecycle: "starting", ...view } : { ...this.current, ...view };
    const status = this.current.status;
    if (this.current.lifecycle === "running" && status?.indexing?.running === false && status.indexing.runs > 0) {
      this.ready.resolve();
    }
    this.changed.fire(this.current);
  }

  /** Starts the server; failures are reported to the user and shown in the status bar, never thrown. */
  async start(): Promise<void> {
    const generation = ++this.generation;
    this.stopping = false;
    this.update({ lifecycle: "starting" }, true);
    const interpreter = await resolveInterpreter((line) => {
      this.output.info(line);
    });
    const env = serverEnvironment();
    this.output.info(`starting the server with ${interpreter.path} (from ${interpreter.source})`);
    const probed = await probe(interpreter.path, env);
    if (generation !== this.generation) {
      return;
    }
    if (probed.kind !== "ok") {
      this.output.error(`cannot start the server: ${probed.kind}: ${probed.detail}`);
      this.update({ lifecycle: "failed", reason: `cannot run Local Mind with ${interpreter.path} (${probed.kind})` });
      void reportMissingServer(interpreter, probed, this.extensionPath, () => {
        this.output.show(true);
      });
      return;
    }
    this.output.info(`Local Mind ${probed.version}; editor settings: ${JSON.stringify(redactSecrets(settingsForServer()))}`);
    const serverOptions: ServerOptions = {
      command: interpreter.path,
      args: ["-m", "localmind", "serve"],
      options: { env, cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath },
    };
    const client = new LanguageClient("localmind", "Local Mind", serverOptions, this.clientOptions());
    client.registerFeature(new IndexProgressFeature(client, (token) => {
        this.followProgress(client, token);
      }));
    this.client = client;
    this.startedAt = Date.now();
    try {
      await client.start();
    } catch (error) {
      if (generation === this.generation) {
        this.output.error(`the server did not start: ${String(error)}`);
        this.onClosed(client);
      }
      return;
    }
    if (generation !== this.generation) {
      return;
    }
    this.update({ lifecycle: "running" });
    void this.refreshStatus();
  }

  private clientOptions(): LanguageClientOptions {
    return {
      // Hovers, symbols and links for every file: code, Markdown and plain text alike.
      documentSelector: [{ scheme: "file" }],
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: { localmind: settingsForServer() },
      errorHandler: {
        error: (): ErrorHandlerResult => ({ action: ErrorAction.Continue, handled: true }),
        closed: (): CloseHandlerResult => {
          if (this.client !== undefined) {
            this.onClosed(this.client);
          }
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
      middleware: {
        workspace: {
          configuration: async (params, token, next) => {
            const answers = await next(params, token);
            if (answers instanceof ResponseError) {
              return answers;
            }
            return params.items.map((item, index) =>
              item.section === "localmind"
                ? settingsForServer(item.scopeUri !== undefined ? vscode.Uri.parse(item.scopeUri) : undefined)
                : (answers[index] as unknown),
            );
          },
        },
      },
    };
  }

  /** The connection closed: unless it was asked to stop, the server crashed and is restarted after a delay. */
  private onClosed(client: LanguageClient): void {
    if (this.stopping || client !== this.client) {
      return;
    }
    this.stopPolling();
    const ranMs = Date.now() - this.startedAt;
    const delay = this.backoff.onCrash(ranMs);
    if (delay === undefined) {
      const reason = `the server stopped ${this.backoff.crashCount} times in a row`;
      this.output.error(`${reason}; not restarting it again`);
      this.update({ lifecycle: "failed", reason });
      void vscode.window.showErrorMessage(`Local Mind: ${reason}.`, "Restart Server", "Show Log").then((picked) => {
        if (picked === "Restart Server") {
          void this.restart();
        } else if (picked === "Show Log") {
          this.output.show(true);
        }
      });
      return;
    }
    this.output.warn(`the server stopped after ${Math.round(ranMs / 1000)} s; restarting it in ${delay / 1000} s`);
    this.update({ lifecycle: "starting", reason: "restarting after a crash" });
    const generation = this.generation;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (generation === this.generation && !this.stopping) {
        void this.replaceClient().then(() => this.start());
      }
    }, delay);
  }

  private async replaceClient(): Promise<void> {
    const old = this.client;
    this.client = undefined;
    if (old !== undefined) {
      try {
        await old.dispose(5000);
      } catch (error) {
        this.output.warn(`stopping the old server: ${String(error)}`);
      }
    }
  }

  /** Stops the server and starts a new one (the "Restart server" command). */
  async restart(): Promise<void> {
    this.backoff.reset();
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.generation += 1;
    if (this.restartTimer !== undefined) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
    this.stopPolling();
    await this.replaceClient();
    this.update({ lifecycle: "stopped", reason: "the server is stopped" });
  }

  /** The running client, or an error that says why there is none. */
  requireClient(): LanguageClient {
    if (this.client === undefined || !this.client.isRunning()) {
      throw new Error(this.current.reason ?? "the Local Mind server is not running yet");
    }
    return this.client;
  }

  /** Runs one of the server's custom commands (workspace/executeCommand); the name picks its types. */
  async command<C extends CommandName>(
    command: C,
    args?: CommandArgs<C>,
    token?: vscode.CancellationToken,
  ): Promise<CommandResult<C>> {
    const client = this.requireClient();
    const params = { command, arguments: args === undefined ? [] : [args] };
    return (await client.sendRequest(ExecuteCommandRequest.type, params, token)) as CommandResult<C>;
  }

  /**
   * Runs a command whose partial results arrive as $/progress under a fresh token; onPartial receives each
   * batch. Returns the final result.
   */
  async commandWithPartials<C extends "localmind.search" | "localmind.ask">(
    command: C,
    makeArgs: (token: string) => CommandArgs<C>,
    onPartial: (value: CommandPartial<C>) => void,
    token?: vscode.CancellationToken,
  ): Promise<CommandResult<C>> {
    const client = this.requireClient();
    const partialToken = `${command}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    const listener = client.onProgress(new ProgressType<CommandPartial<C>>(), partialToken, onPartial);
    try {
      const params = { command, arguments: [makeArgs(partialToken)] };
      return (await client.sendRequest(ExecuteCommandRequest.type, params, token)) as CommandResult<C>;
    } finally {
      listener.dispose();
    }
  }

  /** Tells the server its settings changed; it pulls them again through workspace/configuration. */
  async settingsChanged(): Promise<void> {
    if (this.client?.isRunning() === true) {
      this.output.info(`editor settings changed: ${JSON.stringify(redactSecrets(settingsForServer()))}`);
      await this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
    }
  }

  /** Cancels the indexing run in progress, if any (window/workDoneProgress/cancel). */
  async cancelIndexing(): Promise<boolean> {
    if (this.indexToken === undefined || this.client?.isRunning() !== true) {
      return false;
    }
    await this.client.sendNotification(WorkDoneProgressCancelNotification.type, { token: this.indexToken });
    return true;
  }

  /** True while an indexing run reports progress. */
  get indexing(): boolean {
    return this.indexToken !== undefined;
  }

  private followProgress(client: LanguageClient, token: ProgressToken): void {
    if (typeof token !== "string" || !token.startsWith(INDEX_PROGRESS_PREFIX)) {
      return;
    }
    const listener = client.onProgress(WorkDoneProgress.type, token, (value) => {
      if (value.kind === "begin") {
        this.indexToken = token;
        this.update({ indexingPercent: value.percentage ?? 0 });
        this.schedulePoll(BUSY_POLL_MS);
      } else if (value.kind === "report") {
        if (value.percentage !== undefined) {
          this.update({ indexingPercent: value.percentage });
        }
      } else {
        listener.dispose();
        if (this.indexToken === token) {
          this.indexToken = undefined;
        }
        this.update({ indexingPercent: undefined });
        void this.refreshStatus();
      }
    });
  }

  /** Asks the server for its status and updates the view; polls again later. */
  async refreshStatus(): Promise<StatusResult | undefined> {
    if (this.client?.isRunning() !== true) {
      return undefined;
    }
    let status: StatusResult | undefined;
    try {
      status = await this.command(Commands.status);
      this.update({ status });
    } catch (error) {
      this.output.warn(`localmind.status failed: ${String(error)}`);
    }
    const busy = this.indexToken !== undefined || status?.indexing?.running === true || status === undefined;
    this.schedulePoll(busy ? BUSY_POLL_MS : IDLE_POLL_MS);
    return status;
  }

  private schedulePoll(delay: number): void {
    this.stopPolling();
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      void this.refreshStatus();
    }, delay);
  }

  private stopPolling(): void {
    if (this.pollTimer !== undefined) {
      clearTimeout(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  dispose(): void {
    void this.stop();
    this.changed.dispose();
    this.output.dispose();
  }
}
