// The writer's page (/editor): scores the draft through the JSON API when the writer
// pauses, and shows the score, what pulls it down and the suggestions. Every text
// from the server is put on the page as text, never as markup.
(() => {
  "use strict";
  const PAUSE_MS = 300; // no keystroke for this long is a pause
  const root = document.getElementById("editor");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const title = $("editor-title");
  const body = $("editor-body");
  const model = root.dataset.model;
  const good = root.dataset.good;
  const draft = "d-" + Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) =>
    b.toString(16).padStart(2, "0")).join("");
  const timings = []; // ms from a pause to the score on the page, one per update
  window.tandemEditor = { draft, timings };
  let timer = null;
  let sent = 0;
  let shown = 0;
  let current = null; // the prediction on the page

  function words(p) {
    if (p >= 0.7) return "probably clear";
    if (p >= 0.55) return "leaning clear";
    if (p > 0.45) return "hard to tell";
    if (p > 0.3) return "leaning unclear";
    return "probably unclear";
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function fmt(x) {
    return Number.isInteger(x) ? String(x) : x.toFixed(1);
  }

  function input() {
    const out = {};
    out[root.dataset.titleField] = title.value.trim();
    out[root.dataset.bodyField] = body.value.trim();
    return out;
  }

  async function score() {
    const data = input();
    if (!data[root.dataset.titleField] || !data[root.dataset.bodyField]) return;
    const started = performance.now();
    const mine = ++sent;
    let response;
    try {
      response = await fetch("/v1/predict", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ model, input: data, draft }),
        credentials: "same-origin",
      });
    } catch (err) {
      $("editor-status").textContent = "Could not reach the server; keep writing, it retries.";
      return;
    }
    if (mine < shown) return; // a later answer is already on the page
    if (!response.ok) {
      const problem = await response.json().catch(() => null);
      $("editor-status").textContent = problem && problem.error ? problem.error.message
        : "The server answered " + response.status + ".";
      return;
    }
    const answer = await response.json();
    if (mine < shown) return;
    shown = mine;
    render(answer, data);
    timings.push(performance.now() - started);
    root.dataset.revision = String(answer.revision);
  }

  function render(answer, data) {
    current = answer;
    const alt = answer.alternatives.find((a) => a.label === good);
    const p = alt ? alt.probability : 0;
    $("editor-score").textContent = p.toFixed(2);
    $("editor-words").textContent = words(p);
    $("editor-meter").style.width = Math.round(p * 100) + "%";
    $("editor-status").textContent = "Revision " + answer.revision +
      (answer.route === "fallback" ? " · scored by the fallback rules" : "");
    renderHighlights(answer.highlights || [], data);
    renderSuggestions(answer.suggestions || []);
  }

  function renderHighlights(found, data) {
    const list = $("editor-highlights");
    list.replaceChildren();
    const mirror = $("editor-mirror");
    const text = data[root.dataset.bodyField];
    const marks = found.filter((h) => h.field === root.dataset.bodyField)
      .sort((a, b) => a.start - b.start);
    if (!found.length) {
      list.append(el("li", "Nothing stands out.", "meta"));
      mirror.hidden = true;
      return;
    }
    for (const h of found) {
      const item = el("li");
      item.append(el("mark", h.text), el("span", " — " + h.reason, "meta"));
      list.append(item);
    }
    mirror.replaceChildren();
    let at = 0;
    for (const h of marks) {
      if (h.start < at) continue;
      mirror.append(document.createTextNode(text.slice(at, h.start)));
      const mark = el("mark", text.slice(h.start, h.end));
      mark.title = h.reason;
      mirror.append(mark);
      at = h.end;
    }
    mirror.append(document.createTextNode(text.slice(at)));
    mirror.hidden = false;
  }

  function renderSuggestions(suggestions) {
    const list = $("editor-suggestions");
    list.replaceChildren();
    if (!suggestions.length) {
      list.append(el("li", "No suggestions: every feature is where the good ones have it.", "meta"));
      return;
    }
    for (const s of suggestions) {
      const item = el("li");
      item.dataset.suggestion = s.id;
      item.append(el("div", s.text));
      if (s.feature && s.typical) {
        item.append(el("div", s.feature.replaceAll("_", " ") + ": " + fmt(s.value) +
          " here; typically " + fmt(s.typical.low) +
          (s.typical.high !== s.typical.low ? "–" + fmt(s.typical.high) : ""), "meta"));
      }
      const actions = el("div", undefined, "actions");
      const up = el("button", "👍");
      const down = el("button", "👎");
      up.type = down.type = "button";
      up.setAttribute("aria-label", "helpful");
      down.setAttribute("aria-label", "not helpful");
      up.addEventListener("click", () => rate(s.id, true, up, down));
      down.addEventListener("click", () => rate(s.id, false, down, up));
      actions.append(up, down);
      if (s.fix) {
        const apply = el("button", "apply");
        apply.type = "button";
        apply.addEventListener("click", () => applyFix(s.fix));
        actions.append(apply);
      }
      item.append(actions);
      list.append(item);
    }
  }

  async function rate(id, helpful, pressed, other) {
    if (!current) return;
    const response = await fetch("/v1/predictions/" + encodeURIComponent(current.id) + "/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ kind: "suggestion", suggestion: id, helpful }),
      credentials: "same-origin",
    });
    if (response.ok) {
      pressed.setAttribute("aria-pressed", "true");
      other.setAttribute("aria-pressed", "false");
      $("editor-status").textContent = "Thanks: your rating is saved.";
    }
  }

  function applyFix(fix) {
    const box = fix.field === root.dataset.titleField ? title : body;
    box.value = fix.value;
    changed(0);
  }

  function changed(wait) {
    clearTimeout(timer);
    timer = setTimeout(score, wait === undefined ? PAUSE_MS : wait);
  }

  title.addEventListener("input", () => changed());
  body.addEventListener("input", () => changed());
})();
