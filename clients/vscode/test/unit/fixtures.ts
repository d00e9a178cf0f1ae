// Shared sample data for the unit tests, shaped like the server's answers in docs/protocol.md.

import type { AskSource, SearchHit, StatusResult } from "../../src/lsp_ext";

export function hit(overrides: Partial<SearchHit> = {}): SearchHit {
  const range = { start: { line: 22, character: 0 }, end: { line: 25, character: 0 } };
  return {
    uri: "file:///work/ws/src/config_loader.py",
    path: "src/config_loader.py",
    root: "/work/ws",
    range,
    location: { uri: "file:///work/ws/src/config_loader.py", range },
    snippet: "def merge_configs(base, override):",
    snippet_line: 22,
    highlights: [[4, 17]],
    symbol: "merge_configs",
    symbol_kind: "function",
    definition: range,
    heading: [],
    kind: "code",
    language: "python",
    score: 0.032787,
    provenance: "dense+lexical+graph",
    ranks: { dense: 1, lexical: 2, graph: 1 },
    chunk_id: "c1",
    ...overrides,
  };
}

export function source(n: number, path = "src/config_loader.py", line = 11): AskSource {
  return {
    n,
    path,
    uri: `file:///work/ws/${path}`,
    range: { start: { line, character: 0 }, end: { line: line + 9, character: 17 } },
    snippet: "Read KEY=VALUE lines from a configuration file into a dictionary.",
  };
}

export function status(overrides: Partial<StatusResult> = {}): StatusResult {
  return {
    settings_problem: null,
    roots: ["/work/ws"],
    store: "/home/u/.local/share/localmind/workspaces/ws-1/index.sqlite3",
    index: { files: 12, chunks: 40 },
    indexing: { running: false, files_done: 12, files_total: 12, chunks: 40, runs: 1, last_error: null },
    model: { id: "all-MiniLM-L6-v2/fp32", provider: "CPUExecutionProvider", dimensions: 384 },
    backends: {
      graph: { backend: "sqlite", state: "ok" },
      vectors: { backend: "embedded", state: "ok" },
      embedder: { backend: "onnxruntime", state: "ok" },
    },
    health: "ok",
    summary: "ready: 40 chunks",
    ...overrides,
  };
}
