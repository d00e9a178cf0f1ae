// Opening the places the server names (hits, sources) in an editor.

import * as vscode from "vscode";

import type { Range } from "./lsp_ext";

export function toRange(range: Range): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

export interface ShowOptions {
  /** Open in preview mode (a tab that the next preview replaces). */
  preview?: boolean;
  /** Keep the focus where it is (in the quick pick, in the chat panel). */
  preserveFocus?: boolean;
  viewColumn?: vscode.ViewColumn;
}

/** Opens uri with the cursor at the start of range and the range in view; returns the editor. */
export async function showRange(uri: string, range: Range, options: ShowOptions = {}): Promise<vscode.TextEditor> {
  const target = toRange(range);
  const editor = await vscode.window.showTextDocument(vscode.Uri.parse(uri), {
    preview: options.preview ?? false,
    preserveFocus: options.preserveFocus ?? false,
    viewColumn: options.viewColumn ?? vscode.ViewColumn.Active,
    selection: new vscode.Selection(target.start, target.start),
  });
  editor.revealRange(target, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  return editor;
}

/** The editor column for opening a source from a panel: the first one that is not the panel's. */
export function columnBeside(panelColumn: vscode.ViewColumn | undefined): vscode.ViewColumn {
  const editor = vscode.window.visibleTextEditors.find((candidate) => candidate.viewColumn !== panelColumn);
  if (editor?.viewColumn !== undefined) {
    return editor.viewColumn;
  }
  return panelColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Two : vscode.ViewColumn.One;
}
