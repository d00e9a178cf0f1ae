// The mapping from VS Code's settings to the server's: only explicit values, nested by section.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

import {
  explicitValue,
  type ExtensionManifest,
  type InspectedValue,
  redactSecrets,
  serverSettingKeys,
  settingNames,
  toServerSettings,
} from "../../src/settings";

const manifest: ExtensionManifest = {
  contributes: {
    configuration: [
      { id: "localmind", properties: { "localmind.pythonPath": {}, "localmind.search.debounceMs": {} } },
      { id: "localmind.indexing", properties: { "localmind.indexing.exclude": {}, "localmind.indexing.data_dir": {} } },
      { id: "localmind.resilience", properties: { "localmind.resilience.neo4j.timeout": {} } },
      { id: "localmind.llm", properties: { "localmind.llm.base_url": {}, "localmind.llm.api_key": {} } },
    ],
  },
};

describe("serverSettingKeys", () => {
  it("lists every contributed setting outside the extension's own block", () => {
    assert.deepEqual(serverSettingKeys(manifest), [
      "indexing.exclude",
      "indexing.data_dir",
      "resilience.neo4j.timeout",
      "llm.base_url",
      "llm.api_key",
    ]);
  });

  it("reads the real package.json: server sections only, none of the client's settings", () => {
    const packageJson = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as ExtensionManifest;
    const keys = serverSettingKeys(packageJson);
    assert.ok(keys.includes("indexing.exclude"));
    assert.ok(keys.includes("llm.base_url"));
    assert.ok(keys.includes("limits.hover.per_minute"));
    assert.ok(!keys.includes("pythonPath"));
    assert.ok(!keys.some((key) => key.startsWith("search.") || key.startsWith("trace.")));
  });
});

describe("explicitValue", () => {
  it("prefers the folder, then the workspace, then the user, and ignores defaults", () => {
    assert.equal(explicitValue({ defaultValue: 1 }), undefined);
    assert.equal(explicitValue({ defaultValue: 1, globalValue: 2 }), 2);
    assert.equal(explicitValue({ globalValue: 2, workspaceValue: 3 }), 3);
    assert.equal(explicitValue({ globalValue: 2, workspaceValue: 3, workspaceFolderValue: 4 }), 4);
    assert.equal(explicitValue(undefined), undefined);
  });
});

describe("toServerSettings", () => {
  const values: Record<string, InspectedValue> = {
    "indexing.exclude": { defaultValue: [], workspaceValue: ["*.csv"] },
    "indexing.data_dir": { defaultValue: null, globalValue: "/tmp/data" },
    "resilience.neo4j.timeout": { defaultValue: 5, globalValue: 9.5 },
    "llm.base_url": { defaultValue: null, globalValue: "" },
    "llm.api_key": { defaultValue: null, workspaceValue: null },
  };
  const settings = toServerSettings(serverSettingKeys(manifest), (key) => values[key]);

  it("nests explicit values by section and leaves defaults out", () => {
    assert.deepEqual(settings, {
      indexing: { data_dir: "/tmp/data", exclude: ["*.csv"] },
      resilience: { neo4j: { timeout: 9.5 } },
    });
  });

  it("leaves out null and empty values, so the server falls back to its own sources", () => {
    assert.equal("llm" in settings, false);
  });

  it("sends nothing when nothing is set", () => {
    assert.deepEqual(toServerSettings(["indexing.exclude"], () => ({ defaultValue: [] })), {});
  });

  it("names the settings it sends", () => {
    assert.deepEqual(settingNames(settings), ["indexing.data_dir", "indexing.exclude", "resilience.neo4j.timeout"]);
  });
});

describe("redactSecrets", () => {
  it("hides passwords, tokens and API keys and leaves the rest", () => {
    const settings = { graph: { password: "hunter2hunter2", user: "neo4j" }, llm: { api_key: "sk-1", model: "m" } };
    assert.deepEqual(redactSecrets(settings), {
      graph: { password: "***", user: "neo4j" },
      llm: { api_key: "***", model: "m" },
    });
    assert.equal(settings.graph.password, "hunter2hunter2");
  });
});
