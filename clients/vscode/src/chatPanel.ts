// The chat panel behind Local Mind: Ask: a webview that streams each answer as it arrives, renders it as
// Markdown with its citations as links to the cited ranges, keeps the conversation for follow-ups, and can
// cancel an answer. The webview only displays; questions, answers and sources live here.

import { randomBytes } from "node:crypto";
import * as vscode from "vscode";

import { answerNote, escapeHtml, renderAnswer, renderSources, sourceFor } from "./citations";
import { askSources } from "./config";
import { errorMessage, errorParts } from "./format";
import { columnBeside, showRange } from "./locations";
import { type AskArgs, type AskScope, type AskSource, Commands, ErrorCodes, MAX_QUESTION_CHARS } from "./lsp_ext";
import type { LocalMindServer } from "./server";

type TurnStatus = "streaming" | "done" | "cancelled" | "error";

interface Turn {
  id: number;
  question: string;
  /** What the question was limited to, for the header ("about src/config_loader.py:12-20"). */
  scopeLabel?: string;
  markdown: string;
  sources: AskSource[];
  status: TurnStatus;
  /** Pieces of the answer received so far. */
  deltas: number;
  extractive?: boolean;
  /** Extra HTML below the answer, built here from escaped text (suggested questions of a summary). */
  extraHtml?: string;
  error?: string;
  /** Who wrote the answer: "Written by <model>", or why it is extractive. */
  note?: string;
}

/** What the webview receives for a turn. */
interface TurnMessage {
  id: number;
  question: string;
  scopeLabel?: string;
  html: string;
  sourcesHtml: string;
  extraHtml: string;
  status: TurnStatus;
  deltas: number;
  extractive?: boolean;
  error?: string;
  note?: string;
}

type FromWebview =
  | { type: "ready" }
  | { type: "ask"; question: string }
  | { type: "cancel" }
  | { type: "newConversation" }
  | { type: "openSource"; turn: number; n: number };

/** How often a streaming answer is re-rendered, at most, in milliseconds. */
const RENDER_INTERVAL_MS = 40;

export class ChatPanel implements vscode.Disposable {
  private static current: ChatPanel | undefined;

  private readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private turns: Turn[] = [];
  private conversationId: string | undefined;
  private cancel: vscode.CancellationTokenSource | undefined;
  private nextId = 1;
  private renderTimers = new Map<number, NodeJS.Timeout>();

  /** The panel, created (beside the editor) or revealed. */
  static show(server: LocalMindServer, extensionUri: vscode.Uri): ChatPanel {
    if (ChatPanel.current !== undefined) {
      ChatPanel.current.panel.reveal(undefined, true);
      return ChatPanel.current;
    }
    ChatPanel.current = new ChatPanel(server, extensionUri);
    return ChatPanel.current;
  }

  /** The open panel, if any (for tests). */
  static get instance(): ChatPanel | undefined {
    return ChatPanel.current;
  }

  private constructor(
    private readonly server: LocalMindServer,
    private readonly extensionUri: vscode.Uri,
  ) {
    this.panel = vscode.window.createWebviewPanel(
      "localmind.chat",
      "Local Mind: Ask",
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false },
      {
        enableScripts: true,
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(extensionUri, "media")],
      },
    );
    this.panel.webview.html = this.html();
    this.disposables.push(
      this.panel.onDidDispose(() => {
        this.dispose();
      }),
      this.panel.webview.onDidReceiveMessage((message: FromWebview) => {
        void this.onMessage(message);
      }),
    );
  }

  /** The turns so far, as plain data (for the extension-API tests). */
  get transcript(): readonly Readonly<Turn>[] {
    return this.turns;
  }

  private async onMessage(message: FromWebview): Promise<void> {
    switch (message.type) {
      case "ready":
        for (const turn of this.turns) {
          this.post(turn);
        }
        return;
      case "ask":
        await this.ask(message.question);
        return;
      case "cancel":
        this.cancelAnswer();
        return;
      case "newConversation":
        this.cancel?.cancel();
        this.turns = [];
        this.conversationId = undefined;
        void this.panel.webview.postMessage({ type: "reset" });
        return;
      case "openSource":
        await this.openSource(message.turn, message.n);
        return;
    }
  }

  /** Stops the answer being streamed, if any: the request is cancelled ($/cancelRequest). */
  cancelAnswer(): void {
    this.cancel?.cancel();
  }

  /** Opens source n of a turn in the editor column beside the panel. */
  async openSource(turnId: number, n: number): Promise<vscode.TextEditor | undefined> {
    const turn = this.turns.find((candidate) => candidate.id === turnId);
    const source = turn !== undefined ? sourceFor(turn.sources, n) : undefined;
    if (source === undefined) {
      void vscode.window.showWarningMessage(`Local Mind: the answer has no source [${n}].`);
      return undefined;
    }
    return showRange(source.uri, source.range, { viewColumn: columnBeside(this.panel.viewColumn) });
  }

  /**
   * Asks a question in the current conversation and streams the answer into the panel. An answer still
   * streaming is cancelled first. Resolves when the answer is complete (or failed, or was cancelled).
   */
  async ask(question: string, scope?: AskScope, scopeLabel?: string): Promise<Turn> {
    this.cancel?.cancel();
    const turn: Turn = { id: this.nextId++, question, markdown: "", sources: [], status: "streaming", deltas: 0 };
    if (scopeLabel !== undefined) {
      turn.scopeLabel = scopeLabel;
    }
    this.turns.push(turn);
    this.post(turn);
    const source = new vscode.CancellationTokenSource();
    this.cancel = source;
    try {
      const result = await this.server.commandWithPartials(
        Commands.ask,
        (token): AskArgs => {
          const args: AskArgs = { question: question.slice(0, MAX_QUESTION_CHARS), partialResultToken: token };
          if (this.conversationId !== undefined) {
            args.conversationId = this.conversationId;
          }
          const k = askSources();
          if (k !== undefined) {
            args.k = k;
          }
          if (scope !== undefined) {
            args.scope = scope;
          }
          return args;
        },
        (value) => {
          if (typeof value.delta === "string" && turn.status === "streaming") {
            turn.markdown += value.delta;
            turn.deltas += 1;
            this.schedule(turn);
          }
        },
        source.token,
      );
      if (source.token.isCancellationRequested) {
        turn.status = "cancelled";
      } else {
        turn.markdown = result.answer;
        turn.sources = result.sources;
        turn.extractive = result.extractive;
        turn.status = "done";
        const note = answerNote(result);
        if (note !== undefined) {
          turn.note = note;
        }
        this.conversationId = result.conversationId;
      }
    } catch (error) {
      if (source.token.isCancellationRequested || errorParts(error).code === ErrorCodes.requestCancelled) {
        turn.status = "cancelled";
      } else {
        turn.status = "error";
        turn.error = errorMessage("ask", error);
      }
    } finally {
      source.dispose();
      if (this.cancel === source) {
        this.cancel = undefined;
      }
    }
    this.post(turn);
    return turn;
  }

  /** Shows a summary of a file as a turn of its own, with its suggested questions as buttons. */
  showSummary(title: string, markdown: string, sources: AskSource[], questions: string[], extractive: boolean): Turn {
    const turn: Turn = { id: this.nextId++, question: title, markdown, sources, status: "done", deltas: 0, extractive };
    if (questions.length > 0) {
      const buttons = questions
        .map((question) => `<button class="suggested" data-question="${escapeHtml(question)}">${escapeHtml(question)}</button>`)
        .join("");
      turn.extraHtml = `<div class="suggestions"><div class="label">Ask next:</div>${buttons}</div>`;
    }
    this.turns.push(turn);
    this.post(turn);
    return turn;
  }

  /** Shows a failure as a turn (used when a summary cannot be made). */
  showError(title: string, message: string): void {
    const turn: Turn = { id: this.nextId++, question: title, markdown: "", sources: [], status: "error", deltas: 0, error: message };
    this.turns.push(turn);
    this.post(turn);
  }

  private schedule(turn: Turn): void {
    if (this.renderTimers.has(turn.id)) {
      return;
    }
    this.renderTimers.set(
      turn.id,
      setTimeout(() => {
        this.renderTimers.delete(turn.id);
        this.post(turn);
      }, RENDER_INTERVAL_MS),
    );
  }

  private post(turn: Turn): void {
    const pending = this.renderTimers.get(turn.id);
    if (pending !== undefined && turn.status !== "streaming") {
      clearTimeout(pending);
      this.renderTimers.delete(turn.id);
    }
    const message: TurnMessage = {
      id: turn.id,
      question: turn.question,
      html: renderAnswer(turn.markdown, turn.sources),
      sourcesHtml: renderSources(turn.sources),
      extraHtml: turn.extraHtml ?? "",
      status: turn.status,
      deltas: turn.deltas,
    };
    if (turn.scopeLabel !== undefined) {
      message.scopeLabel = turn.scopeLabel;
    }
    if (turn.extractive !== undefined) {
      message.extractive = turn.extractive;
    }
    if (turn.error !== undefined) {
      message.error = turn.error;
    }
    if (turn.note !== undefined) {
      message.note = turn.note;
    }
    void this.panel.webview.postMessage({ type: "turn", turn: message });
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString("base64");
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, "media", "chat.js"));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, "media", "chat.css"));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} data:`,
      `script-src 'nonce-${nonce}'`,
    ].join("; ");
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Local Mind: Ask</title>
</head>
<body>
<main id="turns" aria-live="polite"></main>
<p id="empty" class="empty">Ask a question about this workspace. Answers cite their sources: click [n] to open one.</p>
<form id="ask-form">
  <textarea id="question" rows="2" maxlength="${MAX_QUESTION_CHARS}" placeholder="Ask Local Mind… (Enter to send, Shift+Enter for a new line)" aria-label="Question"></textarea>
  <div class="actions">
    <button type="submit" id="send">Ask</button>
    <button type="button" id="cancel" class="secondary" disabled>Cancel</button>
    <button type="button" id="new" class="secondary" title="Start a new conversation">New</button>
  </div>
</form>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }

  dispose(): void {
    this.cancel?.cancel();
    for (const timer of this.renderTimers.values()) {
      clearTimeout(timer);
    }
    this.renderTimers.clear();
    if (ChatPanel.current === this) {
      ChatPanel.current = undefined;
    }
    this.panel.dispose();
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}
