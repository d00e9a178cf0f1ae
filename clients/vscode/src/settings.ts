// How VS Code's `localmind.*` settings become the server's settings (the section `localmind`, shaped like
// localmind.toml). Pure logic: no vscode import, so the unit tests run it in plain node.
//
// Only settings the user has set somewhere (user, workspace or folder settings) are sent. VS Code would
// otherwise report every contributed default, and editor settings override the environment and
// localmind.toml on the server, so sending defaults would silently hide a user's localmind.toml.

/** The id of the configuration block of the extension's own settings (interpreter, server environment, UI). */
export const CLIENT_CONFIGURATION_ID = "localmind";

/** One block of `contributes.configuration` in package.json. */
export interface ConfigurationBlock {
  id?: string;
  title?: string;
  properties?: Record<string, unknown>;
}

/** The parts of package.json this module reads. */
export interface ExtensionManifest {
  contributes?: { configuration?: ConfigurationBlock | ConfigurationBlock[] };
}

/** What VS Code's WorkspaceConfiguration.inspect() says about one key, reduced to what matters here. */
export interface InspectedValue {
  defaultValue?: unknown;
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

export type JsonObject = { [key: string]: unknown };

function blocks(manifest: ExtensionManifest): ConfigurationBlock[] {
  const configuration = manifest.contributes?.configuration;
  if (configuration === undefined) {
    return [];
  }
  return Array.isArray(configuration) ? configuration : [configuration];
}

/**
 * The keys (without the "localmind." prefix) of the settings that belong to the server: every contributed
 * setting outside the extension's own block, e.g. "indexing.exclude" or "resilience.neo4j.timeout".
 */
export function serverSettingKeys(manifest: ExtensionManifest): string[] {
  const keys: string[] = [];
  for (const block of blocks(manifest)) {
    if (block.id === CLIENT_CONFIGURATION_ID) {
      continue;
    }
    for (const name of Object.keys(block.properties ?? {})) {
      if (name.startsWith("localmind.")) {
        keys.push(name.slice("localmind.".length));
      }
    }
  }
  return keys;
}

/** The value the user chose for a key (the most specific scope wins), or undefined when none was set. */
export function explicitValue(inspected: InspectedValue | undefined): unknown {
  if (inspected === undefined) {
    return undefined;
  }
  for (const value of [inspected.workspaceFolderValue, inspected.workspaceValue, inspected.globalValue]) {
    if (value !== undefined) {
      return value;
    }
  }
  return undefined;
}

/** True for values that mean "not set": null and the empty string (the server then uses its default). */
function isUnset(value: unknown): boolean {
  return value === null || value === undefined || value === "";
}

/** Puts value at a dotted path inside target, creating the sections on the way. */
function setPath(target: JsonObject, dotted: string, value: unknown): void {
  const parts = dotted.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next === "object" && next !== null && !Array.isArray(next)) {
      node = next as JsonObject;
    } else {
      const created: JsonObject = {};
      node[part] = created;
      node = created;
    }
  }
  const last = parts[parts.length - 1];
  if (last !== undefined) {
    node[last] = value;
  }
}

/**
 * The server's settings: for each server key the user has set, its value, nested by section:
 * {"indexing": {"exclude": ["*.csv"]}, "llm": {"base_url": "http://127.0.0.1:8080/v1"}}.
 * Null and empty values are left out, so that the server falls back to the environment, localmind.toml
 * or its default.
 */
export function toServerSettings(keys: readonly string[], inspect: (key: string) => InspectedValue | undefined): JsonObject {
  const settings: JsonObject = {};
  for (const key of [...keys].sort()) {
    const value = explicitValue(inspect(key));
    if (!isUnset(value)) {
      setPath(settings, key, value);
    }
  }
  return settings;
}

/** The names of the server settings in a settings object, dotted ("llm.base_url"), for messages and logs. */
export function settingNames(settings: JsonObject, prefix = ""): string[] {
  const names: string[] = [];
  for (const [key, value] of Object.entries(settings)) {
    const name = prefix === "" ? key : `${prefix}.${key}`;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      names.push(...settingNames(value as JsonObject, name));
    } else {
      names.push(name);
    }
  }
  return names.sort();
}

/** Setting names whose values are secrets; they are sent to the server but never written to a log. */
export const SECRET_SETTINGS: readonly string[] = ["graph.password", "vectors.token", "llm.api_key"];

/** A copy of the settings with every secret replaced by "***", for the output channel. */
export function redactSecrets(settings: JsonObject): JsonObject {
  const copy = JSON.parse(JSON.stringify(settings)) as JsonObject;
  for (const secret of SECRET_SETTINGS) {
    const [section, key] = secret.split(".");
    if (section === undefined || key === undefined) {
      continue;
    }
    const node = copy[section];
    if (typeof node === "object" && node !== null && key in node) {
      (node as JsonObject)[key] = "***";
    }
  }
  return copy;
}
