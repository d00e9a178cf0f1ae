// The chat panel's script: shows the turns the extension sends (already rendered to HTML there), sends
// questions, cancellations and clicks on citations back. It keeps no conversation state of its own.
(function () {
  "use strict";
  const vscode = acquireVsCodeApi();
  const turns = document.getElementById("turns");
  const empty = document.getElementById("empty");
  const form = document.getElementById("ask-form");
  const question = document.getElementById("question");
  const cancel = document.getElementById("cancel");
  const reset = document.getElementById("new");

  const STATUS_TEXT = {
    streaming: "Answering…",
    done: "",
    cancelled: "Cancelled.",
    error: "",
  };

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function nearBottom() {
    const scroller = document.scrollingElement || document.body;
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  function scrollToBottom() {
    const scroller = document.scrollingElement || document.body;
    scroller.scrollTop = scroller.scrollHeight;
  }

  // Creates the section of a turn on first sight, then fills it with each update.
  function showTurn(turn) {
    const follow = nearBottom();
    let section = turns.querySelector('section.turn[data-turn="' + String(turn.id) + '"]');
    if (!section) {
      section = element("section", "turn");
      section.dataset.turn = String(turn.id);
      const header = element("header", "question");
      header.appendChild(element("span", "question-text", turn.question));
      if (turn.scopeLabel) {
        header.appendChild(element("span", "scope", turn.scopeLabel));
      }
      section.appendChild(header);
      section.appendChild(element("div", "answer"));
      section.appendChild(element("div", "status"));
      section.appendChild(element("div", "sources-block"));
      section.appendChild(element("div", "extra"));
      turns.appendChild(section);
    }
    section.dataset.status = turn.status;
    section.dataset.deltas = String(turn.deltas);
    // How the answer arrived, for the end-to-end test: updates received, and whether part of it was shown early.
    section.dataset.updates = String(Number(section.dataset.updates || "0") + 1);
    if (turn.status === "streaming" && turn.html !== "") {
      section.dataset.partialSeen = "true";
    }
    if (turn.extractive !== undefined) {
      section.dataset.extractive = String(turn.extractive);
    }
    section.querySelector(".answer").innerHTML = turn.html;
    const status = section.querySelector(".status");
    status.textContent = turn.error || STATUS_TEXT[turn.status] || turn.note || "";
    status.classList.toggle("error", turn.status === "error");
    const sources = section.querySelector(".sources-block");
    sources.innerHTML = turn.sourcesHtml ? "<h4>Sources</h4>" + turn.sourcesHtml : "";
    section.querySelector(".extra").innerHTML = turn.extraHtml || "";
    empty.hidden = true;
    cancel.disabled = !turns.querySelector('section.turn[data-status="streaming"]');
    if (follow) {
      scrollToBottom();
    }
  }

  function send(text) {
    const trimmed = text.trim();
    if (trimmed === "") {
      return;
    }
    vscode.postMessage({ type: "ask", question: trimmed });
  }

  window.addEventListener("message", function (event) {
    const message = event.data;
    if (message.type === "turn") {
      showTurn(message.turn);
    } else if (message.type === "reset") {
      turns.textContent = "";
      empty.hidden = false;
      cancel.disabled = true;
    } else if (message.type === "focus") {
      question.focus();
    }
  });

  // Citations ([n] in an answer, and the source list) open the cited range; suggested questions are asked.
  document.addEventListener("click", function (event) {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) {
      return;
    }
    const link = target.closest("a");
    if (link) {
      event.preventDefault();
      const section = link.closest("section.turn");
      if (link.dataset.source && section) {
        vscode.postMessage({ type: "openSource", turn: Number(section.dataset.turn), n: Number(link.dataset.source) });
      }
      return;
    }
    const suggested = target.closest("button.suggested");
    if (suggested && suggested.dataset.question) {
      send(suggested.dataset.question);
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send(question.value);
    question.value = "";
  });
  question.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send(question.value);
      question.value = "";
    }
  });
  cancel.addEventListener("click", function () {
    vscode.postMessage({ type: "cancel" });
  });
  reset.addEventListener("click", function () {
    vscode.postMessage({ type: "newConversation" });
  });

  vscode.postMessage({ type: "ready" });
})();
