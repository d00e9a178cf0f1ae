// Local Mind: Ask and Ask about Selection — questions go to the chat panel, which streams the answers.

import * as vscode from "vscode";

import { ChatPanel } from "../chatPanel";
import { MAX_QUESTION_CHARS } from "../lsp_ext";
import { placeLabel } from "../questions";
import type { LocalMindServer } from "../server";

async function promptQuestion(prompt: string): Promise<string | undefined> {
  const question = await vscode.window.showInputBox({
    title: "Local Mind: Ask",
    prompt,
    placeHolder: "e.g. how are configuration files parsed?",
    ignoreFocusOut: true,
    validateInput: (value) => (value.length > MAX_QUESTION_CHARS ? `At most ${MAX_QUESTION_CHARS} characters.` : undefined),
  });
  return question === undefined || question.trim() === "" ? undefined : question;
}

/** Asks a question (the argument, or one typed in an input box) in the chat panel. */
export async function ask(server: LocalMindServer, extensionUri: vscode.Uri, question?: string): Promise<void> {
  const text = question ?? (await promptQuestion("Ask a question about this workspace"));
  if (text === undefined) {
    return;
  }
  await ChatPanel.show(server, extensionUri).ask(text);
}

/** Asks about the selected text: the server takes the selection as source [1], and the others from its file. */
export async function askAboutSelection(server: LocalMindServer, extensionUri: vscode.Uri, question?: string): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined || editor.selection.isEmpty || editor.document.uri.scheme !== "file") {
    void vscode.window.showWarningMessage("Local Mind: select some text in a workspace file first, then run Ask about Selection.");
    return;
  }
  const document = editor.document;
  const selection = editor.selection;
  const place = {
    path: vscode.workspace.asRelativePath(document.uri, false),
    startLine: selection.start.line + 1,
    endLine: selection.end.character === 0 && selection.end.line > selection.start.line ? selection.end.line : selection.end.line + 1,
  };
  const text = question ?? (await promptQuestion(`Ask about ${placeLabel(place)}`));
  if (text === undefined) {
    return;
  }
  const range = {
    start: { line: selection.start.line, character: selection.start.character },
    end: { line: selection.end.line, character: selection.end.character },
  };
  await ChatPanel.show(server, extensionUri).ask(text, { uri: document.uri.toString(), range }, `about ${placeLabel(place)}`);
}
