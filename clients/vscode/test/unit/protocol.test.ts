// lsp_ext.ts mirrors docs/protocol.md: the documented commands and the fields of the documented JSON.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

import {
  ASK_ARGS_FIELDS,
  ASK_RESULT_FIELDS,
  ASK_SOURCE_FIELDS,
  Commands,
  INDEX_PROGRESS_PREFIX,
  SEARCH_ARGS_FIELDS,
  SEARCH_HIT_FIELDS,
  SUMMARIZE_RESULT_FIELDS,
} from "../../src/lsp_ext";

// out/unit/ → clients/vscode → the repository root.
const protocol = readFileSync(join(__dirname, "..", "..", "..", "..", "docs", "protocol.md"), "utf8");

/** The section of protocol.md under a "### `command`" heading. */
function section(command: string): string {
  const start = protocol.indexOf(`### \`${command}\``);
  assert.notEqual(start, -1, `docs/protocol.md has no section for ${command}`);
  const next = protocol.indexOf("\n### ", start + 1);
  const end = protocol.indexOf("\n## ", start + 1);
  const stops = [next, end].filter((index) => index !== -1);
  return protocol.slice(start, stops.length > 0 ? Math.min(...stops) : undefined);
}

/** The JSON code blocks of a section. */
function jsonBlocks(text: string): string[] {
  return [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
}

/** The keys at the first level of a JSON example (which may hold "…" placeholders, so it is not parsed). */
function topKeys(block: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (const match of block.matchAll(/"((?:[^"\\]|\\.)*)"\s*:|[{}[\]]/g)) {
    const token = match[0];
    if (token === "{" || token === "[") {
      depth += 1;
    } else if (token === "}" || token === "]") {
      depth -= 1;
    } else if (depth === 1 && match[1] !== undefined) {
      keys.push(match[1]);
    }
  }
  return keys;
}

/**
 * Every field of a documented JSON example is mirrored, and every mirrored field is documented: in the
 * example, or (for optional ones such as fallbackReason) named in the section's prose.
 */
function assertSameFields(what: string, documented: string[], mirrored: readonly string[], text: string): void {
  for (const field of documented) {
    assert.ok(mirrored.includes(field), `the documented ${what} has ${field}, which lsp_ext.ts lacks`);
  }
  for (const field of mirrored) {
    assert.ok(documented.includes(field) || text.includes(`\`${field}\``), `lsp_ext.ts has ${what} field ${field}, which is not documented`);
  }
}

describe("lsp_ext.ts and docs/protocol.md", () => {
  it("know the same custom commands", () => {
    const documented = [...protocol.matchAll(/^### `(localmind\.[a-z]+)`/gm)].map((match) => match[1]);
    const mirrored: string[] = Object.values(Commands);
    for (const command of documented) {
      assert.ok(command !== undefined && mirrored.includes(command), `${String(command)} is documented but not in lsp_ext.ts`);
    }
    for (const command of mirrored) {
      assert.ok(documented.includes(command), `${command} is in lsp_ext.ts but not documented`);
    }
  });

  it("agree on the search argument and the fields of a hit", () => {
    const [args, hit] = jsonBlocks(section(Commands.search));
    assert.deepEqual(new Set(topKeys(args ?? "")), new Set(SEARCH_ARGS_FIELDS));
    assert.deepEqual(new Set(topKeys(hit ?? "")), new Set(SEARCH_HIT_FIELDS));
  });

  it("agree on the ask argument, its result and its sources", () => {
    const text = section(Commands.ask);
    const [args, result] = jsonBlocks(text);
    assert.deepEqual(new Set(topKeys(args ?? "")), new Set(ASK_ARGS_FIELDS));
    assertSameFields("ask result", topKeys(result ?? ""), ASK_RESULT_FIELDS, text);
    const sources = /"sources": \[(\{[\s\S]*?\})\]/.exec(result ?? "")?.[1] ?? "";
    assert.deepEqual(new Set(topKeys(sources)), new Set(ASK_SOURCE_FIELDS));
    assert.match(text, /\{"delta": "text"\}/);
  });

  it("agree on the summarize result", () => {
    const text = section(Commands.summarize);
    const [result] = jsonBlocks(text);
    assertSameFields("summarize result", topKeys(result ?? ""), SUMMARIZE_RESULT_FIELDS, text);
  });

  it("agree on the indexing progress token", () => {
    assert.match(protocol, new RegExp(`\`${INDEX_PROGRESS_PREFIX}<uuid>\``));
  });
});
