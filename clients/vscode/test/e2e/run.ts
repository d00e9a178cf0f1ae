// The end-to-end driver: Debian's chromium, through playwright-core, uses the extension in a real VS Code
// (code-server). Phase "journey" (the default) does what a person would — waits for the status bar to say
// ready, searches and opens a hit, hovers a symbol, asks a question and follows a citation; phase
// "extension-tests" opens the workbench with the extension-API tests as its payload and waits for their
// exit code; phase "quotes" opens the journey's folder without an LLM, asks a question whose extractive
// answer quotes Python code and a note, reads what the chat panel rendered and follows both citations for
// the chat and note screenshots; phase "restricted" opens an untrusted folder (workspace trust on, no
// prompt, so VS Code's Restricted Mode) whose .vscode/settings.json names an LLM endpoint and a data folder
// of its own, and reads the status the server reports. tests/editors/test_vscode.py starts code-server,
// writes the spec this reads ($LOCALMIND_E2E_SPEC) and checks the results it writes; every step records
// whether its check held.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page } from "playwright-core";

interface Spec {
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  workspace: string;
  chromium: string;
  profile: string;
  artefacts: string;
  /** Where each phase writes its results; the phase's name is put before ".json". */
  results: string;
  searchQuery: string;
  /** The hit to open: "src/config_loader.py:23". */
  searchExpect: string;
  hoverFile: string;
  hoverLine: number;
  hoverWord: string;
  /** Text the knowledge card must contain. */
  hoverExpect: string;
  question: string;
  /** The cited file whose citation link is followed: "src/config_loader.py". */
  citedPath: string;
  /** The place preferred among its citations: "src/config_loader.py:12". */
  citedPlace: string;
  /** True when an LLM answers (so the answer must stream in visible pieces). */
  llm: boolean;
  /** Phase "quotes": a question answered by quoting code and a note, and the citations to follow. */
  quotes?: { question: string; codePlace: string; notePath: string };
  readyTimeoutMs: number;
  askTimeoutMs: number;
  /** The untrusted folder of phase "restricted". */
  untrustedWorkspace?: string;
  /** The extension-API tests: the folder of the extension under test and the compiled runner. */
  extensionTests?: { developmentPath: string; testsPath: string; timeoutMs: number; resultsFile: string };
}

interface Step {
  name: string;
  ok: boolean;
  detail: Record<string, unknown>;
  error?: string;
  ms: number;
}

const spec = JSON.parse(readFileSync(process.env.LOCALMIND_E2E_SPEC ?? "", "utf8")) as Spec;
const resultsPath = spec.results.replace(/\.json$/, `-${process.argv[2] ?? "journey"}.json`);
const steps: Step[] = [];
const workbenchLog: string[] = [];
const screenshotsDir = join(spec.artefacts, "screenshots");
mkdirSync(screenshotsDir, { recursive: true });

function save(extra: Record<string, unknown> = {}): void {
  writeFileSync(resultsPath, JSON.stringify({ steps, ...extra }, null, 2));
}

/** Runs one step: its check either holds (ok) or throws; a failing step stops the run. */
async function step(name: string, page: Page, run: (detail: Record<string, unknown>) => Promise<void>): Promise<void> {
  const started = Date.now();
  const detail: Record<string, unknown> = {};
  try {
    await run(detail);
    steps.push({ name, ok: true, detail, ms: Date.now() - started });
    save();
  } catch (error) {
    const message = error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error);
    steps.push({ name, ok: false, detail, error: message, ms: Date.now() - started });
    await page.screenshot({ path: join(spec.artefacts, `failed-${name}.png`) }).catch(() => undefined);
    save();
    throw error;
  }
}

function check(condition: boolean, message: string): void {
  if (!condition) {
    throw new Error(message);
  }
}

const statusItem = (page: Page): Locator => page.locator("footer .statusbar-item", { hasText: "Local Mind" }).first();

async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press("Escape");
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget .quick-input-box input");
  await input.waitFor({ state: "visible", timeout: 10_000 });
  await input.fill(`>${title}`);
  const row = page.locator(".quick-input-widget .monaco-list-row", { hasText: title }).first();
  await row.waitFor({ state: "visible", timeout: 10_000 });
  await input.press("Enter");
}

/** The label of the active tab of the active editor group ("config_loader.py, preview"), or "" when none. */
async function activeTab(page: Page): Promise<string> {
  const tab = page.locator(".editor-group-container.active .tabs-container .tab.active").first();
  if ((await tab.count()) === 0) {
    return "";
  }
  return (await tab.getAttribute("aria-label")) ?? "";
}

/** The 1-based cursor line of the active editor, from the status bar's "Ln 12, Col 1". */
async function cursorLine(page: Page): Promise<number> {
  const item = page.locator("footer .statusbar-item", { hasText: /Ln \d+, Col \d+/ }).first();
  if ((await item.count()) === 0) {
    return 0;
  }
  const text = (await item.textContent()) ?? "";
  return Number(/Ln (\d+)/.exec(text)?.[1] ?? "0");
}

async function waitForTab(page: Page, fileName: string, line: number, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout;
  let seen = "";
  while (Date.now() < deadline) {
    seen = `${await activeTab(page)} at line ${await cursorLine(page)}`;
    if ((await activeTab(page)).includes(fileName) && (await cursorLine(page)) === line) {
      return;
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`expected ${fileName} at line ${line} in the active editor, saw ${seen}`);
}

/** Waits until the active tab's label holds the text; gives up quietly after the timeout (not a check). */
async function waitForActiveTab(page: Page, label: string, timeout = 5_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline && !(await activeTab(page)).includes(label)) {
    await page.waitForTimeout(100);
  }
}

/** The chat panel's document: the webview's outer frame, then its active frame. */
function chatFrame(page: Page): FrameLocator {
  return page.frameLocator("iframe.webview.ready").frameLocator("iframe#active-frame");
}

async function workbench(context: BrowserContext, query: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(`${spec.baseUrl}/?${query}`);
  await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
  return page;
}

// What the driver reads of DOM nodes in the page (this file is compiled without the DOM's types).
interface ScrollableNode {
  scrollIntoView(options: { block: "center" }): void;
}
interface BoxNode {
  scrollHeight: number;
  clientHeight: number;
  clientWidth: number;
}
interface CodeNode {
  className: string;
  textContent: string | null;
}

/** Waits for the status bar to say ready with a chunk count; what it showed on the way goes in detail. */
async function waitReady(page: Page, detail: Record<string, unknown>): Promise<void> {
  const item = statusItem(page);
  await item.waitFor({ state: "visible", timeout: 60_000 });
  const seen = new Set<string>();
  const deadline = Date.now() + spec.readyTimeoutMs;
  let text = "";
  while (Date.now() < deadline) {
    text = ((await item.textContent()) ?? "").trim();
    seen.add(text);
    if (/Local Mind ready · \d+ chunks/.test(text)) {
      break;
    }
    await page.waitForTimeout(250);
  }
  detail.text = text;
  detail.seen = [...seen];
  detail.tooltip = await item.getAttribute("aria-label");
  const chunks = Number(/(\d+) chunks/.exec(text)?.[1] ?? "0");
  detail.chunks = chunks;
  check(chunks > 0, `the status bar never showed "ready · N chunks"; last text: ${text}`);
}

/** Asks a question through Local Mind: Ask and waits for its answer to end; the turn's section. */
async function askAndWait(page: Page, question: string): Promise<Locator> {
  await runCommand(page, "Local Mind: Ask");
  const input = page.locator(".quick-input-widget .quick-input-box input");
  await page.locator(".quick-input-widget", { hasText: "Ask a question about this workspace" }).waitFor({ state: "visible" });
  await input.fill(question);
  await input.press("Enter");
  const frame = chatFrame(page);
  const turn = frame.locator("section.turn").first();
  await turn.waitFor({ state: "attached", timeout: 30_000 });
  const done = frame.locator('section.turn[data-status="done"], section.turn[data-status="error"]').first();
  await done.waitFor({ state: "attached", timeout: spec.askTimeoutMs });
  return turn;
}

/**
 * Clicks a citation of the chat panel and waits for the cited place in the editor beside it. When an editor
 * has the focus, the panel is focused first and the click waits until the workbench shows it active: a click
 * that moves the focus into the webview tells the workbench so asynchronously, and under load that news can
 * arrive after the cited file was opened and take the focus back to the panel (seen once in CI). A person
 * clicking a citation has looked at the panel for far longer than that.
 */
async function followCitation(page: Page, citation: Locator): Promise<string> {
  const place = (await citation.getAttribute("title")) ?? "";
  const [path, line] = place.split(":");
  // A corner of the citation's own turn: padding, no link.
  await citation.locator("xpath=ancestor::section[1]").click({ position: { x: 2, y: 2 } });
  await waitForActiveTab(page, "Local Mind: Ask");
  await citation.click();
  await waitForTab(page, (path ?? "").split("/").pop() ?? "", Number(line));
  return place;
}

/**
 * Waits a little for the active editor to colour its text: a file type opened for the first time (Markdown)
 * is shown plain until its grammar has loaded. Only for the screenshot, so not a check.
 */
async function waitForColours(page: Page): Promise<void> {
  const coloured = page.locator(".editor-group-container.active .view-line span[class*='mtk']:not(.mtk1)").first();
  await coloured.waitFor({ state: "attached", timeout: 5_000 }).catch(() => undefined);
}

/** Scrolls the chat panel so that element stands in its middle, and lets the panel settle. */
async function scrollToMiddle(page: Page, element: Locator): Promise<void> {
  await element.evaluate((node: ScrollableNode) => {
    node.scrollIntoView({ block: "center" });
  });
  await page.mouse.move(5, 5);
  await page.waitForTimeout(400);
}

async function userJourney(context: BrowserContext): Promise<void> {
  const page = await workbench(context, `folder=${encodeURIComponent(spec.workspace)}`);

  await step("ready", page, async (detail) => {
    await waitReady(page, detail);
  });

  await step("search", page, async (detail) => {
    const before = await activeTab(page);
    await runCommand(page, "Local Mind: Search Workspace");
    const input = page.locator(".quick-input-widget .quick-input-box input");
    await page.locator(".quick-input-widget .quick-input-title", { hasText: "Local Mind: Search Workspace" }).waitFor({ state: "visible" });
    await input.pressSequentially(spec.searchQuery, { delay: 15 });
    const row = page.locator(".quick-input-widget .monaco-list-row", { hasText: spec.searchExpect }).first();
    await row.waitFor({ state: "visible", timeout: 30_000 });
    const rows = page.locator(".quick-input-widget .monaco-list-row");
    detail.rows = (await rows.allTextContents()).slice(0, 8);
    detail.firstRow = await rows.first().textContent();
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(screenshotsDir, "search.png") });
    await row.click();
    const [file, line] = spec.searchExpect.split(":");
    const fileName = (file ?? "").split("/").pop() ?? "";
    await waitForTab(page, fileName, Number(line));
    detail.activeBefore = before;
    detail.activeAfter = await activeTab(page);
    detail.line = await cursorLine(page);
    check(!before.includes(fileName), `the hit's file was already the active editor (${before})`);
  });

  await step("hover", page, async (detail) => {
    await page.keyboard.press("Escape");
    // The word is found in the rendered line and hovered with the mouse, as a person would.
    const line = page.locator(".monaco-editor .view-line", { hasText: spec.hoverWord }).first();
    await line.waitFor({ state: "visible" });
    const word = line.locator("span span", { hasText: new RegExp(`^${spec.hoverWord}$`) }).first();
    const target = (await word.count()) > 0 ? word : line;
    const box = await target.boundingBox();
    check(box !== null, `no box for ${spec.hoverWord}`);
    if (box === null) {
      return;
    }
    const x = target === word ? box.x + box.width / 2 : box.x + 60;
    await page.mouse.move(x, box.y + box.height / 2);
    await page.mouse.move(x + 2, box.y + box.height / 2);
    const hover = page.locator(".monaco-hover:not(.hidden)", { hasText: spec.hoverExpect }).first();
    await hover.waitFor({ state: "visible", timeout: 20_000 });
    detail.card = await hover.innerText();
    await page.waitForTimeout(300);
    // The card fits when its content needs no scrolling: VS Code shows a scrollbar exactly when it does.
    const content = hover.locator(".monaco-hover-content").first();
    detail.fit = (await content.count()) === 0 ? null : await content.evaluate((node: BoxNode) => ({
      scrollHeight: node.scrollHeight,
      clientHeight: node.clientHeight,
      clientWidth: node.clientWidth,
    }));
    await page.screenshot({ path: join(screenshotsDir, "hover.png") });
    check((detail.card as string).includes(spec.hoverExpect), `the hover lacks ${spec.hoverExpect}`);
  });

  await step("ask", page, async (detail) => {
    await page.mouse.move(5, 5);
    await runCommand(page, "View: Close All Editors");
    await page.waitForTimeout(300);
    const turn = await askAndWait(page, spec.question);
    detail.status = await turn.getAttribute("data-status");
    detail.deltas = Number(await turn.getAttribute("data-deltas"));
    detail.updates = Number(await turn.getAttribute("data-updates"));
    detail.partialSeen = (await turn.getAttribute("data-partial-seen")) === "true";
    detail.extractive = await turn.getAttribute("data-extractive");
    detail.answer = (await turn.locator(".answer").innerText()).slice(0, 3000);
    detail.statusText = await turn.locator(".status").innerText();
    check(detail.status === "done", `the answer ended with status ${String(detail.status)}: ${String(detail.statusText)}`);
    check((detail.deltas as number) >= 2, `the answer arrived in ${String(detail.deltas)} piece(s), expected a stream`);
    if (spec.llm) {
      check(detail.partialSeen === true, "no partial answer was shown before the answer was complete");
      check(detail.extractive === "false", "an LLM is configured but the answer is extractive");
    }
    const citations = turn.locator(".answer a.citation");
    detail.citations = await citations.count();
    // A citation in the answer's text when there is one, else the source list's; the cited place first.
    const candidates = [
      turn.locator(`.answer a.citation[title="${spec.citedPlace}"]`),
      turn.locator(`.answer a.citation[title^="${spec.citedPath}:"]`),
      turn.locator(`.sources a.citation[title="${spec.citedPlace}"]`),
      turn.locator(`.sources a.citation[title^="${spec.citedPath}:"]`),
    ];
    let chosen = turn.locator("a.citation").first();
    detail.followedFromAnswer = false;
    for (const [index, candidate] of candidates.entries()) {
      if ((await candidate.count()) > 0) {
        chosen = candidate.first();
        detail.followedFromAnswer = index < 2;
        break;
      }
    }
    detail.followed = (await chosen.count()) > 0 ? await chosen.getAttribute("title") : null;
    check(detail.followed !== null, `no citation link to ${spec.citedPath}; answer: ${String(detail.answer)}`);
    const [, line] = /:(\d+)$/.exec(String(detail.followed)) ?? [];
    await chosen.click();
    const fileName = spec.citedPath.split("/").pop() ?? "";
    await waitForTab(page, fileName, Number(line));
    detail.activeAfter = await activeTab(page);
    await page.waitForTimeout(500);
    // Kept with the artefacts only: with an LLM, what a small model writes differs from run to run.
    await page.screenshot({ path: join(screenshotsDir, "ask.png") });
  });

  await page.close();
}

/**
 * Phase "quotes": an extractive answer quotes Python code and a note. What the chat panel rendered is read
 * from its DOM (code blocks, headings, text); the note's citation is followed for the note screenshot
 * (front matter in the editor, none in the quote), then the code's for the chat screenshot.
 */
async function quotedAnswer(context: BrowserContext, quotes: NonNullable<Spec["quotes"]>): Promise<void> {
  const page = await workbench(context, `folder=${encodeURIComponent(spec.workspace)}`);
  await step("quotes", page, async (detail) => {
    await waitReady(page, {});
    // The explorer is closed so that the panel and the cited file share the window's width.
    await runCommand(page, "View: Toggle Primary Side Bar Visibility");
    const answer = (await askAndWait(page, quotes.question)).locator(".answer");
    await readAnswer(answer, detail);
    await showNoteQuote(page, answer, quotes.notePath, detail);
    await showCodeQuote(page, answer, quotes.codePlace, detail);
  });
  await page.close().catch(() => undefined);
}

/** What the chat panel rendered of an answer: its text, headings and code blocks (language and text). */
async function readAnswer(answer: Locator, detail: Record<string, unknown>): Promise<void> {
  const turn = answer.locator("xpath=ancestor::section[1]");
  detail.status = await turn.getAttribute("data-status");
  detail.extractive = await turn.getAttribute("data-extractive");
  detail.answer = await answer.innerText();
  detail.headings = await answer.locator("h1, h2, h3, h4, h5, h6").allInnerTexts();
  detail.codeBlocks = await answer.locator("pre > code").evaluateAll((nodes: CodeNode[]) =>
    nodes.map((node) => ({ language: node.className, text: node.textContent ?? "" })),
  );
  check(detail.status === "done", `the answer ended with status ${String(detail.status)}`);
}

/** Follows the note's citation and takes the note screenshot with its quote in the panel's middle. */
async function showNoteQuote(page: Page, answer: Locator, notePath: string, detail: Record<string, unknown>): Promise<void> {
  const citation = answer.locator(`a.citation[title^="${notePath}:"]`).first();
  check((await citation.count()) > 0, `the answer cites no ${notePath}: ${String(detail.answer)}`);
  detail.noteFollowed = await followCitation(page, citation);
  await waitForColours(page);
  const quote = citation.locator("xpath=ancestor::blockquote[1]");
  const quoted = (await quote.count()) > 0;
  detail.noteQuote = quoted ? await quote.innerText() : null;
  await scrollToMiddle(page, quoted ? quote : citation);
  await page.screenshot({ path: join(screenshotsDir, "note.png") });
}

/** Follows the code's citation and takes the chat screenshot with the quoted code in the panel's middle. */
async function showCodeQuote(page: Page, answer: Locator, codePlace: string, detail: Record<string, unknown>): Promise<void> {
  const citation = answer.locator(`a.citation[title="${codePlace}"]`).first();
  check((await citation.count()) > 0, `the answer cites no ${codePlace}: ${String(detail.answer)}`);
  detail.codeFollowed = await followCitation(page, citation);
  // The extractive answer writes each citation on the line after its quote: the code block before it.
  await scrollToMiddle(page, citation.locator("xpath=ancestor::p[1]/preceding-sibling::pre[1]"));
  await page.screenshot({ path: join(screenshotsDir, "chat.png") });
}

/** True once the extension-API test runner has written its results file with done: true. */
function runnerDone(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, "utf8")) as { done?: boolean }).done === true;
  } catch {
    return false;
  }
}

/** Opens the workbench with the extension-API tests as its payload and waits for codeAutomationExit. */
async function extensionTests(context: BrowserContext, tests: NonNullable<Spec["extensionTests"]>): Promise<void> {
  const remote = (path: string): string => `vscode-remote://${new URL(spec.baseUrl).host}${path}`;
  const payload = [
    ["extensionDevelopmentPath", remote(tests.developmentPath)],
    ["extensionTestsPath", remote(tests.testsPath)],
  ];
  let exitCode: number | undefined;
  const exited = new Promise<number>((resolve) => {
    void context.exposeFunction("codeAutomationExit", (code: number) => {
      exitCode = code;
      resolve(code);
    });
  });
  // The workbench sends its own log to codeAutomationLog when that exists: kept with the console's.
  await context.exposeFunction("codeAutomationLog", (level: string, message: string) => {
    workbenchLog.push(`${new Date().toISOString()} ${level}: ${message.slice(0, 500)}`);
  });
  const query = `folder=${encodeURIComponent(spec.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const page = await workbench(context, query);
  await step("extension-tests", page, async (detail) => {
    // The runner writes its results file as it goes; the workbench reports the exit code after stopping the
    // extension host. Waiting ends at the exit code, at the time limit, or a minute after the file says done.
    const started = Date.now();
    let doneAt: number | undefined;
    while (exitCode === undefined && Date.now() - started < tests.timeoutMs) {
      if (doneAt === undefined && runnerDone(tests.resultsFile)) {
        doneAt = Date.now();
      }
      if (doneAt !== undefined && Date.now() - doneAt > 60_000) {
        break;
      }
      await Promise.race([exited, page.waitForTimeout(500)]);
    }
    detail.exitCode = exitCode ?? null;
    detail.runnerDone = doneAt !== undefined;
    check(exitCode !== undefined || doneAt === undefined, "the tests finished but the workbench did not call codeAutomationExit within 60 s");
    check(exitCode !== undefined, `the extension tests did not finish within ${tests.timeoutMs / 1000} s`);
    check(exitCode === 0, `the extension tests exited with ${String(exitCode)}`);
  });
  await page.close().catch(() => undefined);
}

/** Restricted Mode: the server runs and indexes, and the status it reports shows none of the settings that the
 * untrusted folder's .vscode/settings.json may not make (VS Code drops them through restrictedConfigurations). */
async function restricted(context: BrowserContext, folder: string): Promise<void> {
  const page = await workbench(context, `folder=${encodeURIComponent(folder)}`);
  await step("restricted", page, async (detail) => {
    const indicator = page.locator("footer .statusbar-item", { hasText: "Restricted Mode" }).first();
    await indicator.waitFor({ state: "visible", timeout: 60_000 });
    detail.restrictedIndicator = true;
    const item = statusItem(page);
    const deadline = Date.now() + spec.readyTimeoutMs;
    let text = "";
    while (Date.now() < deadline && !/Local Mind ready · \d+ chunks/.test(text)) {
      text = ((await item.textContent().catch(() => "")) ?? "").trim();
      await page.waitForTimeout(250);
    }
    detail.statusBar = text;
    check(/Local Mind ready · \d+ chunks/.test(text), `the server never said ready in Restricted Mode; last text: ${text}`);
    await runCommand(page, "Local Mind: Show Status");
    const dialog = page.locator(".monaco-dialog-box").first();
    await dialog.waitFor({ state: "visible", timeout: 15_000 });
    const status = ((await dialog.textContent()) ?? "").replace(/\s+/g, " ");
    detail.status = status;
    await page.screenshot({ path: join(screenshotsDir, "restricted-status.png") });
    await page.keyboard.press("Escape");
  });
  await page.close().catch(() => undefined);
}

async function main(): Promise<number> {
  const context = await chromium.launchPersistentContext(spec.profile, {
    executablePath: spec.chromium,
    headless: true,
    viewport: { width: 1400, height: 860 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-crash-reporter",
      "--disable-breakpad",
    ],
  });
  const consoleErrors: string[] = [];
  const consoleLog: string[] = [];
  context.on("page", (page) => {
    page.on("console", (message) => {
      const line = `${new Date().toISOString()} ${message.type()}: ${message.text().slice(0, 500)}`;
      consoleLog.push(line);
      if (message.type() === "error") {
        consoleErrors.push(line);
      }
    });
  });
  let failed = false;
  const phase = process.argv[2] ?? "journey";
  if (phase === "journey") {
    try {
      await userJourney(context);
    } catch {
      failed = true;
    }
  } else if (phase === "quotes" && spec.quotes !== undefined) {
    try {
      await quotedAnswer(context, spec.quotes);
    } catch {
      failed = true;
    }
  } else if (phase === "restricted" && spec.untrustedWorkspace !== undefined) {
    try {
      await restricted(context, spec.untrustedWorkspace);
    } catch {
      failed = true;
    }
  } else if (spec.extensionTests !== undefined) {
    try {
      await extensionTests(context, spec.extensionTests);
    } catch {
      failed = true;
    }
  }
  save({ consoleErrors: consoleErrors.slice(-40) });
  writeFileSync(join(spec.artefacts, `console-${phase}.log`), [...consoleLog, "--- workbench log", ...workbenchLog].join("\n"));
  // A workbench that has just called codeAutomationExit can keep the browser from closing: wait a little only.
  await Promise.race([context.close(), new Promise((resolve) => setTimeout(resolve, 10_000))]);
  return failed ? 1 : 0;
}

// The exit is explicit: a browser process that outlives the context must not keep this driver alive.
main().then(
  (code) => {
    process.exit(code);
  },
  (error: unknown) => {
    steps.push({ name: "driver", ok: false, detail: {}, error: String(error), ms: 0 });
    save();
    process.exit(2);
  },
);
