// The text around questions and summaries: where a selection is, and a summary as Markdown. Pure logic:
// no vscode import, so the unit tests run it in plain node.

import type { SummarizeResult } from "./lsp_ext";

/** Where a selection is: a workspace-relative path and 1-based lines. */
export interface SelectionPlace {
  path: string;
  startLine: number;
  endLine: number;
}

/** "src/config_loader.py:12-20" (or ":12" for one line). */
export function placeLabel(place: SelectionPlace): string {
  const lines = place.startLine === place.endLine ? `${place.startLine}` : `${place.startLine}-${place.endLine}`;
  return `${place.path}:${lines}`;
}

/** A file's summary as Markdown: the summary, its topics, and a note when it is extractive. */
export function summaryMarkdown(result: Pick<SummarizeResult, "summary" | "topics" | "extractive">): string {
  const parts = [result.summary.trim()];
  if (result.topics.length > 0) {
    parts.push(`**Topics:** ${result.topics.map((topic) => `\`${topic.replace(/`/g, "'")}\``).join(", ")}`);
  }
  if (result.extractive) {
    parts.push("_No language model is configured, so this summary is extractive._");
  }
  return parts.join("\n\n");
}
