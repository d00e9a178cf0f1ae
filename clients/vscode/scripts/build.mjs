// Bundles the extension with esbuild into dist/extension.js (vscode stays external: the editor provides it),
// the extension-API tests into out/test/index.js (run inside VS Code) and the end-to-end driver into
// out/e2e/run.js (node with playwright-core). --production minifies the extension and drops its source map
// (what `npm run package` ships); --tests builds the unit tests into out/unit/ (plain node) as well.
import { build } from "esbuild";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const production = process.argv.includes("--production");
const tests = process.argv.includes("--tests");

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  logLevel: "warning",
  absWorkingDir: root,
};

await build({
  ...common,
  entryPoints: ["src/main.ts"],
  outfile: "dist/extension.js",
  external: ["vscode"],
  minify: production,
  sourcemap: !production,
});

await build({
  ...common,
  entryPoints: ["test/integration/index.ts"],
  outfile: "out/test/index.js",
  external: ["vscode"],
  sourcemap: true,
});

await build({
  ...common,
  entryPoints: ["test/e2e/run.ts"],
  outfile: "out/e2e/run.js",
  external: ["playwright-core"],
  sourcemap: true,
});

if (tests) {
  const unit = readdirSync(join(root, "test", "unit")).filter((name) => name.endsWith(".test.ts"));
  await build({
    ...common,
    entryPoints: unit.map((name) => join("test", "unit", name)),
    outdir: "out/unit",
    sourcemap: true,
  });
}
