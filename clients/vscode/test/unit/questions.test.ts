// Where a selection is, and summaries as Markdown.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { placeLabel, summaryMarkdown } from "../../src/questions";

describe("placeLabel", () => {
  it("names the file and its 1-based lines", () => {
    assert.equal(placeLabel({ path: "src/config_loader.py", startLine: 12, endLine: 20 }), "src/config_loader.py:12-20");
    assert.equal(placeLabel({ path: "src/config_loader.py", startLine: 12, endLine: 12 }), "src/config_loader.py:12");
  });
});

describe("summaryMarkdown", () => {
  it("shows the summary, the topics and whether it is extractive", () => {
    assert.equal(
      summaryMarkdown({ summary: "Parses configs. ", topics: ["config", "merge"], extractive: true }),
      "Parses configs.\n\n**Topics:** `config`, `merge`\n\n_No language model is configured, so this summary is extractive._",
    );
    assert.equal(summaryMarkdown({ summary: "S", topics: [], extractive: false }), "S");
  });
});
