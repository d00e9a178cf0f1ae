// Citation links in rendered answers.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { answerNote, escapeHtml, renderAnswer, renderSources, sourceLabel } from "../../src/citations";
import { source } from "./fixtures";

describe("renderAnswer", () => {
  const sources = [source(1), source(2, "notes/design.md", 4)];

  it("turns [n] into a link to source n, with its place as the title", () => {
    const html = renderAnswer("Configs are parsed by `parse_config` [1] and merged later [2].", sources);
    assert.match(html, /<a href="#source-1" class="citation" data-source="1" title="src\/config_loader.py:12">\[1\]<\/a>/);
    assert.match(html, /<a href="#source-2" class="citation" data-source="2" title="notes\/design.md:5">\[2\]<\/a>/);
    assert.match(html, /<code>parse_config<\/code>/);
  });

  it("leaves citations of unknown sources, and brackets in code, as text", () => {
    const html = renderAnswer("See [3] and `list[1]`.\n\n```\nvalues[2]\n```", sources);
    assert.doesNotMatch(html, /data-source="3"/);
    assert.match(html, /<code>list\[1\]<\/code>/);
    assert.match(html, /values\[2\]/);
    assert.doesNotMatch(html, /<a[^>]*data-source="2"/);
  });

  it("renders the extractive answer's quotes and citation lines", () => {
    const answer = "No language model is configured, so this is an extractive answer:\n\n> def parse_config(path):\n\n[1] `src/config_loader.py:12`\n";
    const html = renderAnswer(answer, sources);
    assert.match(html, /<blockquote>/);
    assert.match(html, /data-source="1"[^>]*>\[1\]<\/a> <code>src\/config_loader.py:12<\/code>/);
  });

  it("keeps every space of a fenced code block", () => {
    const code = "def load(path):\n    try:\n        return parse(path)\n    except OSError:\n        return {}";
    const html = renderAnswer("Quoted:\n\n```python\n" + code + "\n```\n[1] `src/config_loader.py:12`\n", sources);
    assert.ok(html.includes(`<pre><code class="language-python">${code}\n</code></pre>`), html);
  });

  it("keeps the indentation of code quoted without a fence, in a paragraph or a block quote", () => {
    const html = renderAnswer("def load(path):\n    try:\n        return parse(path)\n\n> if x:\n>     y()", sources);
    const indent = (spaces: number): string => `<br>\n<span class="indent">${" ".repeat(spaces)}</span>`;
    assert.ok(html.includes(`def load(path):${indent(4)}try:${indent(8)}return parse(path)</p>`), html);
    assert.ok(html.includes(`if x:${indent(4)}y()</p>`), html);
  });

  it("keeps markdown-it's hard and soft breaks", () => {
    assert.equal(renderAnswer("one  \ntwo \nthree", sources), "<p>one<br>\ntwo<br>\nthree</p>\n");
  });

  it("shows raw HTML as text and refuses javascript links", () => {
    const html = renderAnswer('<img src=x onerror="alert(1)"> [x](javascript:alert(1))', sources);
    assert.doesNotMatch(html, /<img/);
    assert.match(html, /&lt;img/);
    assert.doesNotMatch(html, /href="javascript:/);
  });

  it("links each known number of a multiple citation, and skips index expressions", () => {
    const html = renderAnswer("Parsed and merged [1, 2]; args[1] and f(x)[2] are code-like; [2, 9] half known.", sources);
    assert.match(html, /\[<a [^>]*data-source="1"[^>]*>1<\/a>, <a [^>]*data-source="2"[^>]*>2<\/a>\]/);
    assert.match(html, /args\[1\] and f\(x\)\[2\]/);
    assert.match(html, /\[<a [^>]*data-source="2"[^>]*>2<\/a>, 9\]/);
  });

  it("does not nest a citation inside a link", () => {
    const html = renderAnswer("[see [1] here](https://example.org)", sources);
    assert.doesNotMatch(html, /data-source/);
  });
});

describe("renderSources", () => {
  it("lists each source as a link with its excerpt, escaped", () => {
    const html = renderSources([{ ...source(1), snippet: "a < b && c" }]);
    assert.match(html, /<a href="#source-1" class="citation source-link" data-source="1" title="src\/config_loader.py:12">\[1\] src\/config_loader.py:12<\/a>/);
    assert.match(html, /<pre class="excerpt">a &lt; b &amp;&amp; c<\/pre>/);
    assert.equal(renderSources([]), "");
  });

  it("labels and escapes", () => {
    assert.equal(sourceLabel(source(1, "a.md", 0)), "a.md:1");
    assert.equal(escapeHtml(`"<'&>"`), "&quot;&lt;&#39;&amp;&gt;&quot;");
  });
});

describe("answerNote", () => {
  it("names the model, or why the answer is extractive", () => {
    assert.equal(answerNote({ extractive: false, model: "smollm2" }), "Written by the language model smollm2 from the sources below.");
    assert.equal(answerNote({ extractive: false, model: "-" }), "Written by the language model from the sources below.");
    assert.equal(answerNote({ extractive: true, fallbackReason: "no LLM configured" }), "Extractive answer: no LLM configured");
    assert.equal(answerNote({ extractive: true }), "Extractive answer (quoted passages).");
    assert.equal(answerNote({ extractive: false }), "Written by the language model from the sources below.");
  });
});
