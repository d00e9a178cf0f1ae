// Result formatting: quick pick rows, status lines, the status bar item and error messages.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  clockTime,
  degradedBackends,
  describeProvenance,
  errorMessage,
  firstLine,
  hitRow,
  hitTitle,
  isRateLimited,
  statusBarView,
  statusLines,
} from "../../src/format";
import { hit, status } from "./fixtures";

describe("hitRow", () => {
  it("shows the symbol, the path with a 1-based line, the snippet and the provenance", () => {
    assert.deepEqual(hitRow(hit()), {
      label: "$(symbol-function) merge_configs",
      description: "src/config_loader.py:23",
      detail: "def merge_configs(base, override):  ·  found by meaning · words · graph",
    });
  });

  it("uses the heading path for notes, and the file name when there is neither", () => {
    const note = hit({ symbol: null, heading: ["Architecture", "Configuration"], kind: "notes", path: "notes/architecture.md" });
    assert.equal(hitRow(note).label, "$(note) Architecture › Configuration");
    assert.equal(hitTitle(hit({ symbol: null, heading: [], path: "docs/guide.rst" })), "guide.rst");
  });

  it("skips front matter fences and blank lines in snippets", () => {
    assert.equal(firstLine("---\n\n  title: Design notes  \nmore"), "title: Design notes");
    assert.equal(firstLine(""), "");
  });

  it("names the signals in words and keeps unknown ones", () => {
    assert.equal(describeProvenance("dense"), "meaning");
    assert.equal(describeProvenance("lexical+graph+rerank"), "words · graph · rerank");
    assert.equal(hitRow(hit({ provenance: "" })).detail, "def merge_configs(base, override):");
  });
});

describe("statusLines", () => {
  it("lists state, roots, index, model, backends and store", () => {
    assert.deepEqual(statusLines(status()), [
      "State: ready: 40 chunks",
      "Root: /work/ws",
      "Index: 12 files, 40 chunks",
      "Indexing: idle after 1 run(s)",
      "Model: all-MiniLM-L6-v2/fp32 on CPUExecutionProvider",
      "embedder: onnxruntime (ok)",
      "graph: sqlite (ok)",
      "vectors: embedded (ok)",
      "Store: /home/u/.local/share/localmind/workspaces/ws-1/index.sqlite3",
    ]);
  });

  it("says when no folder is open, and names a settings problem first", () => {
    assert.deepEqual(statusLines({ settings_problem: "setting k: bad", roots: [], message: "no workspace folder is open" }), [
      "Settings problem: setting k: bad",
      "no workspace folder is open",
    ]);
  });
});

describe("statusBarView", () => {
  it("shows starting until a status arrives", () => {
    assert.equal(statusBarView({ lifecycle: "starting" }).kind, "starting");
    assert.equal(statusBarView({ lifecycle: "running" }).kind, "starting");
  });

  it("shows the indexing percentage from progress, else from the status", () => {
    const view = statusBarView({ lifecycle: "running", indexingPercent: 40, status: status() });
    assert.equal(view.kind, "indexing");
    assert.equal(view.text, "$(sync~spin) Local Mind 40%");
    const running = status({ indexing: { running: true, files_done: 3, files_total: 12, chunks: 9, runs: 0, last_error: null } });
    assert.equal(statusBarView({ lifecycle: "running", status: running }).text, "$(sync~spin) Local Mind 25%");
  });

  it("says the workspace is searchable while the second phase embeds", () => {
    const indexing = { running: true, files_done: 12, files_total: 12, chunks: 40, runs: 0, last_error: null };
    const embedding = status({ indexing: { ...indexing, phase: "embedding" as const, embedded: 10, to_embed: 40 } });
    const view = statusBarView({ lifecycle: "running", status: embedding });
    assert.equal(view.kind, "indexing");
    assert.equal(view.text, "$(sync~spin) Local Mind searchable · embedding 25%");
    assert.match(view.tooltip, /searchable by words and links; .*10\/40 chunks/);
  });

  it("shows ready with the chunk count", () => {
    const view = statusBarView({ lifecycle: "running", status: status() });
    assert.equal(view.kind, "ready");
    assert.equal(view.text, "$(check) Local Mind ready · 40 chunks");
    assert.match(view.tooltip, /12 files and 40 chunks/);
  });

  it("shows which backend is degraded, and since when in the tooltip", () => {
    const since = new Date(2026, 10, 26, 12, 3).toISOString();
    const degraded = status({
      health: "degraded",
      summary: "degraded: graph unavailable since 12:03",
      backends: { graph: { backend: "neo4j", state: "degraded", since, error: "connection refused" }, vectors: { backend: "embedded", state: "ok" } },
    });
    const view = statusBarView({ lifecycle: "running", status: degraded });
    assert.equal(view.kind, "degraded");
    assert.equal(view.text, "$(warning) Local Mind degraded: graph");
    assert.match(view.tooltip, /graph \(neo4j\) since 12:03: connection refused/);
    assert.match(view.tooltip, /degraded: graph unavailable since 12:03/);
    assert.deepEqual(degradedBackends(degraded), ["graph (neo4j) since 12:03: connection refused"]);
  });

  it("shows a stopped or failed server with its reason", () => {
    const failed = statusBarView({ lifecycle: "failed", reason: "cannot run Local Mind with python3 (not-installed)" });
    assert.equal(failed.kind, "error");
    assert.match(failed.tooltip, /not-installed/);
    assert.equal(statusBarView({ lifecycle: "stopped" }).kind, "stopped");
  });
});

describe("errors", () => {
  it("recognises the server's rate limit", () => {
    const limited = { code: -32803, message: "rate limited, retry after 2 s (limit: search)" };
    assert.ok(isRateLimited(limited));
    assert.equal(errorMessage("search", limited), "Local Mind is busy (rate limited, retry after 2 s (limit: search)); try search again then.");
    assert.equal(errorMessage("ask", new Error("boom")), "Local Mind ask failed: boom");
    assert.equal(isRateLimited("nope"), false);
  });

  it("prints times as local HH:MM and leaves other text alone", () => {
    assert.equal(clockTime(new Date(2026, 0, 2, 7, 5).toISOString()), "07:05");
    assert.equal(clockTime("soon"), "soon");
  });
});
