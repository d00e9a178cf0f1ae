// The status bar item: starting, indexing (percentage), ready (chunk count) or degraded (which backend,
// since when); a click runs Show Status.

import * as vscode from "vscode";

import { type ServerView, statusBarView } from "./format";
import type { LocalMindServer } from "./server";

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscription: vscode.Disposable;
  private lastText = "";

  constructor(server: LocalMindServer) {
    this.item = vscode.window.createStatusBarItem("localmind.status", vscode.StatusBarAlignment.Left, 10);
    this.item.name = "Local Mind";
    this.item.command = "localmind.showStatus";
    this.show(server.view);
    this.item.show();
    this.subscription = server.onDidChange((view) => {
      this.show(view);
    });
  }

  /** The text shown now (for tests). */
  get text(): string {
    return this.lastText;
  }

  private show(view: ServerView): void {
    const shown = statusBarView(view);
    this.lastText = shown.text;
    this.item.text = shown.text;
    this.item.tooltip = shown.tooltip;
    this.item.accessibilityInformation = { label: shown.text.replace(/\$\([^)]*\)\s*/g, "") };
    if (shown.kind === "degraded") {
      this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.warningBackground");
    } else if (shown.kind === "error") {
      this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
    } else {
      this.item.backgroundColor = undefined;
    }
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
