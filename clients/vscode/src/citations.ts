// Answers as HTML for the chat panel: Markdown rendered by markdown-it with raw HTML disabled, and every
// citation "[n]" that names a source turned into a link the panel can open. Pure logic: no vscode import.

import MarkdownIt from "markdown-it";

import type { AskSource } from "./lsp_ext";

// "[1]" or "[1, 3]"; not right after a name or a bracket, so args[0] is no citation (as the server reads them).
const CITATION = /\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g;
const NOT_BEFORE = /[\p{L}\p{N}_\])]/u;

type StateCore = MarkdownIt.StateCore;
type Token = MarkdownIt.Token;

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** "path:line" of a source, with a 1-based line. */
export function sourceLabel(source: AskSource): string {
  return `${source.path}:${source.range.start.line + 1}`;
}

/** The source an [n] citation names, if the answer has one with that number. */
export function sourceFor(sources: readonly AskSource[], n: number): AskSource | undefined {
  return sources.find((source) => source.n === n);
}

function textToken(state: StateCore, content: string): Token {
  const token = new state.Token("text", "", 0);
  token.content = content;
  return token;
}

/** A link to one source, labelled with label. */
function linkTokens(state: StateCore, source: AskSource, label: string): Token[] {
  const open = new state.Token("link_open", "a", 1);
  open.attrs = [
    ["href", `#source-${source.n}`],
    ["class", "citation"],
    ["data-source", String(source.n)],
    ["title", sourceLabel(source)],
  ];
  return [open, textToken(state, label), new state.Token("link_close", "a", -1)];
}

/** The tokens of one citation: "[1]" as one link; "[1, 3]" with each known number a link of its own. */
function citationTokens(state: StateCore, whole: string, numbers: number[], sources: readonly AskSource[]): Token[] {
  const known = numbers.map((n) => sourceFor(sources, n));
  const [single] = known;
  if (known.length === 1 && single !== undefined) {
    return linkTokens(state, single, whole);
  }
  const tokens: Token[] = [textToken(state, "[")];
  numbers.forEach((n, index) => {
    if (index > 0) {
      tokens.push(textToken(state, ", "));
    }
    const source = known[index];
    tokens.push(...(source !== undefined ? linkTokens(state, source, String(n)) : [textToken(state, String(n))]));
  });
  tokens.push(textToken(state, "]"));
  return tokens;
}

/** Splits one text token at the citations that name known sources. */
function splitText(state: StateCore, token: Token, sources: readonly AskSource[]): Token[] {
  const text = token.content;
  const parts: Token[] = [];
  let last = 0;
  for (const match of text.matchAll(CITATION)) {
    const numbers = (match[1] ?? "").split(",").map((part) => Number(part.trim()));
    const before = match.index > 0 ? text.charAt(match.index - 1) : "";
    if (NOT_BEFORE.test(before) || !numbers.some((n) => sourceFor(sources, n) !== undefined)) {
      continue;
    }
    if (match.index > last) {
      parts.push(textToken(state, text.slice(last, match.index)));
    }
    parts.push(...citationTokens(state, match[0], numbers, sources));
    last = match.index + match[0].length;
  }
  if (parts.length === 0) {
    return [token];
  }
  if (last < text.length) {
    parts.push(textToken(state, text.slice(last)));
  }
  return parts;
}

/** A markdown-it plugin: [n] in ordinary text (not in code, not inside a link) becomes a citation link. */
export function citationPlugin(md: MarkdownIt, sources: readonly AskSource[]): void {
  md.core.ruler.push("localmind_citations", (state) => {
    for (const block of state.tokens) {
      if (block.type !== "inline" || block.children === null) {
        continue;
      }
      let linkDepth = 0;
      const children: Token[] = [];
      for (const child of block.children) {
        if (child.type === "link_open") {
          linkDepth += 1;
        } else if (child.type === "link_close") {
          linkDepth -= 1;
        }
        if (child.type === "text" && linkDepth === 0) {
          children.push(...splitText(state, child, sources));
        } else {
          children.push(child);
        }
      }
      block.children = children;
    }
  });
}

/**
 * A markdown-it plugin: a line break inside a paragraph keeps the next line's leading spaces, which Markdown
 * drops, so code an answer quotes without a fence (a model copying its sources) keeps its indentation. The
 * spaces go in a span that the panel's stylesheet shows as written. Otherwise the same as markdown-it's own
 * newline rule: two trailing spaces make a hard break, one is dropped.
 */
export function indentationPlugin(md: MarkdownIt): void {
  md.inline.ruler.at("newline", (state, silent) => {
    if (state.src.charCodeAt(state.pos) !== 0x0a) {
      return false;
    }
    let end = state.pos + 1;
    while (end < state.posMax && (state.src[end] === " " || state.src[end] === "\t")) {
      end += 1;
    }
    if (!silent) {
      const hard = state.pending.endsWith("  ");
      state.pending = state.pending.replace(/ +$/, "");
      state.push(hard ? "hardbreak" : "softbreak", "br", 0);
      if (end > state.pos + 1) {
        state.push("line_indent", "", 0).content = state.src.slice(state.pos + 1, end);
      }
    }
    state.pos = end;
    return true;
  });
  md.renderer.rules.line_indent = (tokens, index) => `<span class="indent">${escapeHtml(tokens[index]?.content ?? "")}</span>`;
}

/** The answer's Markdown as HTML, with its citations as links. Raw HTML in the answer is shown as text. */
export function renderAnswer(markdown: string, sources: readonly AskSource[]): string {
  // Line breaks are kept (breaks: true) with the indentation after them: quoted code and chat answers read
  // line by line. Fenced code blocks keep every space as they are.
  const md = new MarkdownIt({ html: false, linkify: false, breaks: true });
  md.use(citationPlugin, sources);
  md.use(indentationPlugin);
  return md.render(markdown);
}

/** The list of sources below an answer: "[n] path:line" links with the excerpt each was cited for. */
export function renderSources(sources: readonly AskSource[]): string {
  if (sources.length === 0) {
    return "";
  }
  const items = sources.map((source) => {
    const label = escapeHtml(sourceLabel(source));
    const excerpt = escapeHtml(source.snippet);
    return (
      `<li><a href="#source-${source.n}" class="citation source-link" data-source="${source.n}" title="${label}">` +
      `[${source.n}] ${label}</a>` +
      (excerpt !== "" ? `<pre class="excerpt">${excerpt}</pre>` : "") +
      `</li>`
    );
  });
  return `<ol class="sources">${items.join("")}</ol>`;
}

/** Who wrote an answer, for the line under it: the model, or why the answer is extractive. */
export function answerNote(result: { extractive: boolean; model?: string; fallbackReason?: string }): string | undefined {
  if (result.extractive) {
    return result.fallbackReason !== undefined && result.fallbackReason !== ""
      ? `Extractive answer: ${result.fallbackReason}`
      : "Extractive answer (quoted passages).";
  }
  // Some endpoints name no model ("-"): then the line says only that a model wrote it.
  const model = result.model !== undefined && /[\p{L}\p{N}]/u.test(result.model) ? `${result.model} ` : "";
  return `Written by the language model ${model}from the sources below.`;
}
