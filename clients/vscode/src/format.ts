// How the server's results read in VS Code: search hits as quick pick rows, the status as lines and as a
// status bar item, errors as messages. Pure logic: no vscode import, so the unit tests run it in plain node.

import { RATE_LIMIT_PREFIX, type SearchHit, type StatusResult } from "./lsp_ext";

/** A quick pick row for a hit, before it becomes a vscode.QuickPickItem. */
export interface HitRow {
  label: string;
  description: string;
  detail: string;
}

const KIND_ICONS: Record<string, string> = { code: "$(symbol-function)", notes: "$(note)", docs: "$(book)" };

/** The last part of a slash-separated path. */
export function baseName(path: string): string {
  const parts = path.split("/");
  return parts[parts.length - 1] ?? path;
}

/** The first line of a snippet that has a letter or digit in it (so not a front-matter fence), trimmed. */
export function firstLine(text: string): string {
  const lines = text.split("\n");
  const line = lines.find((candidate) => /[\p{L}\p{N}]/u.test(candidate)) ?? lines[0] ?? "";
  return line.trim();
}

/** What a hit is about: its symbol, else its heading path, else the file's name. */
export function hitTitle(hit: Pick<SearchHit, "symbol" | "heading" | "path">): string {
  if (hit.symbol !== null && hit.symbol !== "") {
    return hit.symbol;
  }
  if (hit.heading.length > 0) {
    return hit.heading.join(" › ");
  }
  return baseName(hit.path);
}

/** "dense+lexical+graph" as "meaning · words · graph", the words a reader understands. */
export function describeProvenance(provenance: string): string {
  const names: Record<string, string> = { dense: "meaning", lexical: "words", graph: "graph" };
  return provenance
    .split("+")
    .filter((signal) => signal !== "")
    .map((signal) => names[signal] ?? signal)
    .join(" · ");
}

/** The quick pick row of a hit: icon and title; path and 1-based line; snippet and provenance. */
export function hitRow(hit: SearchHit): HitRow {
  const icon = KIND_ICONS[hit.kind] ?? "$(file)";
  const line = hit.range.start.line + 1;
  const provenance = describeProvenance(hit.provenance);
  const snippet = firstLine(hit.snippet);
  return {
    label: `${icon} ${hitTitle(hit)}`,
    description: `${hit.path}:${line}`,
    detail: provenance === "" ? snippet : `${snippet}  ·  found by ${provenance}`,
  };
}

function count(value: unknown): string {
  return typeof value === "number" ? String(value) : "?";
}

/** An ISO-8601 time as HH:MM in the local time zone; the text itself when it is not a time. */
export function clockTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  return `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
}

/** The degraded backends of a status: "graph (neo4j) since 12:03: connection refused". */
export function degradedBackends(status: StatusResult): string[] {
  const lines: string[] = [];
  for (const [role, backend] of Object.entries(status.backends ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (backend.state !== "degraded") {
      continue;
    }
    let line = backend.backend !== undefined ? `${role} (${backend.backend})` : role;
    if (backend.since !== undefined) {
      line += ` since ${clockTime(backend.since)}`;
    }
    if (typeof backend.error === "string" && backend.error !== "") {
      line += `: ${backend.error}`;
    }
    lines.push(line);
  }
  return lines;
}

/** The lines Show Status displays for a localmind.status result (like the Neovim client's :LocalMindStatus). */
export function statusLines(status: StatusResult): string[] {
  const lines: string[] = [];
  if (typeof status.settings_problem === "string" && status.settings_problem !== "") {
    lines.push(`Settings problem: ${status.settings_problem}`);
  }
  if (typeof status.message === "string") {
    lines.push(status.message);
    return lines;
  }
  if (typeof status.summary === "string") {
    lines.push(`State: ${status.summary}`);
  }
  for (const folder of status.roots) {
    lines.push(`Root: ${folder}`);
  }
  lines.push(`Index: ${count(status.index?.files)} files, ${count(status.index?.chunks)} chunks`);
  const indexing = status.indexing;
  if (indexing?.running === true) {
    lines.push(`Indexing: running, ${count(indexing.files_done)}/${count(indexing.files_total)} files`);
  } else if (indexing !== undefined) {
    lines.push(`Indexing: idle after ${count(indexing.runs)} run(s)`);
  }
  if (typeof indexing?.last_error === "string") {
    lines.push(`Last indexing error: ${indexing.last_error}`);
  }
  if (typeof status.model?.id === "string") {
    lines.push(`Model: ${status.model.id} on ${status.model.provider ?? "?"}`);
  }
  for (const [role, backend] of Object.entries(status.backends ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    let line = `${role}: ${backend.backend ?? "?"} (${backend.state ?? "?"})`;
    if (backend.state === "degraded" && backend.since !== undefined) {
      line += ` since ${clockTime(backend.since)}`;
    }
    if (typeof backend.error === "string" && backend.error !== "") {
      line += ` — ${backend.error}`;
    }
    lines.push(line);
  }
  if (typeof status.store === "string") {
    lines.push(`Store: ${status.store}`);
  }
  return lines;
}

/** What the client knows about the server at a moment, from its lifecycle, progress and the last status. */
export interface ServerView {
  lifecycle: "starting" | "running" | "stopped" | "failed";
  /** The percentage of the indexing run in progress, when one is. */
  indexingPercent?: number;
  status?: StatusResult;
  /** Why the server stopped or failed. */
  reason?: string;
}

export type StatusBarKind = "starting" | "indexing" | "ready" | "degraded" | "stopped" | "error";

export interface StatusBarView {
  kind: StatusBarKind;
  text: string;
  tooltip: string;
}

function percentOf(status: StatusResult | undefined): number | undefined {
  const indexing = status?.indexing;
  if (indexing?.running !== true) {
    return undefined;
  }
  if (indexing.phase === "embedding") {
    const total = indexing.to_embed ?? 0;
    return total > 0 ? Math.floor((100 * (indexing.embedded ?? 0)) / total) : 0;
  }
  return indexing.files_total > 0 ? Math.floor((100 * indexing.files_done) / indexing.files_total) : 0;
}

/**
 * The status bar item: "Local Mind starting", "Local Mind 40%" while indexing, "Local Mind ready · 42 chunks",
 * or "Local Mind degraded: graph" (with which backend since when in the tooltip).
 */
export function statusBarView(view: ServerView): StatusBarView {
  const tooltipTail = "\n\nClick for Local Mind: Show Status.";
  if (view.lifecycle === "failed" || view.lifecycle === "stopped") {
    const reason = view.reason ?? (view.lifecycle === "failed" ? "the server could not start" : "the server is stopped");
    return {
      kind: view.lifecycle === "failed" ? "error" : "stopped",
      text: view.lifecycle === "failed" ? "$(error) Local Mind" : "$(circle-slash) Local Mind stopped",
      tooltip: `Local Mind: ${reason}${tooltipTail}`,
    };
  }
  const status = view.status;
  if (view.lifecycle === "starting" || status === undefined) {
    return { kind: "starting", text: "$(loading~spin) Local Mind", tooltip: `Local Mind: starting the server${tooltipTail}` };
  }
  if (typeof status.message === "string") {
    return { kind: "stopped", text: "$(circle-slash) Local Mind", tooltip: `Local Mind: ${status.message}${tooltipTail}` };
  }
  const degraded = degradedBackends(status);
  const summary = typeof status.summary === "string" ? `\n${status.summary}` : "";
  if (status.health === "degraded" || degraded.length > 0) {
    const roles = Object.entries(status.backends ?? {})
      .filter(([, backend]) => backend.state === "degraded")
      .map(([role]) => role)
      .sort();
    return {
      kind: "degraded",
      text: `$(warning) Local Mind degraded: ${roles.join(", ") || "backend"}`,
      tooltip: `Local Mind is degraded; answers come from the other backends.${summary}\n${degraded.join("\n")}${tooltipTail}`,
    };
  }
  const percent = view.indexingPercent ?? percentOf(status);
  if (percent !== undefined && status.indexing?.phase === "embedding") {
    const { embedded = 0, to_embed: total = 0 } = status.indexing;
    return {
      kind: "indexing",
      text: `$(sync~spin) Local Mind searchable · embedding ${percent}%`,
      tooltip:
        `Local Mind: every file is searchable by words and links; meaning search covers what is embedded so far ` +
        `(${embedded}/${total} chunks of this pass).${tooltipTail}`,
    };
  }
  if (percent !== undefined) {
    const files = status.indexing ? ` (${status.indexing.files_done}/${status.indexing.files_total} files)` : "";
    return {
      kind: "indexing",
      text: `$(sync~spin) Local Mind ${percent}%`,
      tooltip: `Local Mind: indexing ${percent}%${files}${tooltipTail}`,
    };
  }
  const chunks = status.index?.chunks ?? status.indexing?.chunks;
  const files = status.index?.files;
  const problem = status.settings_problem ? `\nSettings problem: ${status.settings_problem}` : "";
  return {
    kind: "ready",
    text: `$(check) Local Mind ready · ${count(chunks)} chunks`,
    tooltip: `Local Mind: ready, ${count(files)} files and ${count(chunks)} chunks indexed.${problem}${tooltipTail}`,
  };
}

/** A JSON-RPC error's message and code, however it arrived. */
export function errorParts(error: unknown): { message: string; code?: number } {
  if (typeof error === "object" && error !== null) {
    const record = error as { message?: unknown; code?: unknown };
    const message = typeof record.message === "string" ? record.message : JSON.stringify(error);
    return typeof record.code === "number" ? { message, code: record.code } : { message };
  }
  return { message: String(error) };
}

/** True when the server refused a request over its rate limit. */
export function isRateLimited(error: unknown): boolean {
  return errorParts(error).message.startsWith(RATE_LIMIT_PREFIX);
}

/** A message for the user about a failed request ("Local Mind search failed: …"). */
export function errorMessage(what: string, error: unknown): string {
  const { message } = errorParts(error);
  if (message.startsWith(RATE_LIMIT_PREFIX)) {
    return `Local Mind is busy (${message}); try ${what} again then.`;
  }
  return `Local Mind ${what} failed: ${message}`;
}
