// The InteraRec console: the session list, and one session's event log as it happens (server-sent
// events from /api/sessions/ID/events). Every text from a session goes in through textContent.
"use strict";

const SUMMARY_FIELDS = [
  ["product_characteristics", "Product characteristics"],
  ["lowest_price", "Lowest price"],
  ["highest_price", "Highest price"],
  ["brand_preference", "Brand"],
  ["product_specifications", "Specifications"],
  ["user_reviews", "Reviews"],
  ["comparisons", "Comparisons"],
  ["promotions", "Promotions"],
];
const FRAMES_SHOWN = 8;
let source = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function show(id) {
  for (const section of ["login", "sessions", "session"]) {
    document.getElementById(section).hidden = section !== id;
  }
}

function setLive(on, text) {
  const live = document.getElementById("live");
  live.className = on ? "live" : "live off";
  live.textContent = text;
}

async function api(path) {
  const answer = await fetch(path, { credentials: "same-origin" });
  if (answer.status === 401) {
    show("login");
    throw new Error("the admin token is needed");
  }
  if (!answer.ok) throw new Error(await answer.text());
  return answer.json();
}

function when(ms) {
  return ms ? new Date(ms).toLocaleString() : "";
}

function plain(value) {
  if (value == null) return "";
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.map(plain).filter(Boolean).join(", ");
  if (typeof value === "object" && "value" in value) return plain(value.value);
  return Object.entries(value).map(([k, v]) => `${k}: ${plain(v)}`).join("; ");
}

function money(value) {
  return typeof value === "number" ? value.toFixed(2) : plain(value);
}

// The session list.
async function listSessions() {
  if (source) { source.close(); source = null; }
  setLive(false, "session list");
  document.getElementById("where").textContent = "";
  const sessions = await api("/api/sessions");
  show("sessions");
  const rows = document.getElementById("session-rows");
  rows.replaceChildren(...sessions.map((s) => {
    const row = el("tr", { "data-session": s.id },
      el("td", {}, el("a", { href: `#session/${encodeURIComponent(s.id)}`, text: s.id })),
      el("td", { text: s.catalog_id }), el("td", { text: s.model_id }),
      el("td", { text: String(s.frames_accepted) }), el("td", { text: String(s.batches) }),
      el("td", { text: String(s.events) }), el("td", { text: s.ended ? "ended" : "open" }),
      el("td", { text: when(s.created_at_unix_ms) }));
    row.addEventListener("click", () => { location.hash = `session/${encodeURIComponent(s.id)}`; });
    return row;
  }));
  document.getElementById("no-sessions").hidden = sessions.length > 0;
}

// One session.
function batchCard(batches, number) {
  let card = batches.get(number);
  if (!card) {
    card = {
      root: el("div", { class: "batch", "data-batch": String(number) }),
      summary: el("div"), constraints: el("div"), validation: el("div"), recommendation: el("div"),
      audit: el("div"),
    };
    // What the shopper is offered first; how it was reached below it.
    card.root.append(el("h3", { text: `Batch ${number}` }), card.recommendation, card.summary, card.constraints,
      card.validation, el("details", {}, el("summary", { text: "Planner steps and tool calls" }), card.audit));
    batches.set(number, card);
    document.getElementById("batches").prepend(card.root);
  }
  return card;
}

function renderSummary(card, payload) {
  const summary = payload.summary;
  if (!summary) {
    card.summary.replaceChildren(el("p", { class: "error", text: `summary failed: ${plain(payload.error)}` }));
    return;
  }
  const facts = SUMMARY_FIELDS.map(([key, label]) => {
    const text = key.endsWith("price") ? (summary[key] == null ? "" : money(summary[key])) : plain(summary[key]);
    return el("div", { class: "fact" }, el("b", { text: label }), el("span", { text: text || "–" }));
  });
  card.summary.replaceChildren(el("h4", { text: `What the shopper looked at (${payload.frames.length} frames, ${payload.millis} ms)` }),
    el("div", { class: "grid summary" }, ...facts));
}

function renderConstraints(card, payload) {
  const changes = Array.isArray(payload.changes) ? payload.changes : Object.entries(payload.changes || {}).map(([k, v]) => ({ field: k, ...((typeof v === "object" && v) || { value: v }) }));
  card.constraints.replaceChildren(el("h4", { text: "Constraints" }),
    el("pre", { text: JSON.stringify(payload.arguments, null, 2) }),
    el("div", {}, ...changes.map((c) => el("div", { class: "change", text: plain(c) }))),
    el("p", { class: "muted", text: payload.policy || "" }));
}

function renderValidation(card, payload) {
  const line = el("p", {},
    el("span", { class: payload.valid ? "ok" : "not-ok", text: payload.valid ? "valid" : "repaired" }),
    ` — ${payload.tool} (${payload.stage}): ${payload.outcome}`);
  const violations = Array.isArray(payload.violations) ? payload.violations : [];
  const list = el("ul", {}, ...violations.map((v) => el("li", { text: plain(v) })));
  if (!card.validation.firstChild) card.validation.append(el("h4", { text: "Validation" }));
  card.validation.append(line, list);
}

function renderRecommendation(card, payload, catalog) {
  const picture = (item) => {
    const img = el("img", { src: `/api/pictures/${encodeURIComponent(catalog)}/${encodeURIComponent(item.id)}`, alt: item.title || item.id });
    // The product says whether its picture came (the browser test waits for `.pictured`).
    img.addEventListener("load", () => img.parentElement.classList.add("pictured"));
    img.addEventListener("error", () => img.parentElement.classList.add("unpictured"));
    return img;
  };
  const products = (payload.items || []).map((item) => el("div", { class: "product", "data-item": item.id },
    picture(item),
    el("div", { text: item.title || item.id }),
    el("div", { class: "price", text: money(item.price) }),
    el("div", { class: "muted", text: `buys with p = ${(Number(item.probability) * 100).toFixed(1)}%` })));
  card.recommendation.replaceChildren(el("h4", { text: "Recommended" }),
    el("div", { class: "products" }, ...products),
    el("p", {}, `Expected revenue ${money(payload.expected_revenue)}; no purchase ${(Number(payload.no_purchase_probability) * 100).toFixed(1)}%; planner ${payload.planner}${payload.fallback ? ` (fell back: ${payload.fallback.cause})` : ""}`),
    el("div", { class: "answer", text: payload.answer || "" }));
}

function renderFrames(sessionId, sequences) {
  // Only the newest frames are fetched.
  sequences = sequences.slice(-FRAMES_SHOWN);
  const strip = document.getElementById("frames");
  for (const sequence of sequences) {
    strip.append(el("figure", {},
      el("img", { src: `/api/sessions/${encodeURIComponent(sessionId)}/frames/${sequence}`, alt: `frame ${sequence}` }),
      el("figcaption", { text: `frame ${sequence}` })));
  }
  while (strip.children.length > FRAMES_SHOWN) strip.firstChild.remove();
  strip.scrollLeft = strip.scrollWidth;
}

async function openSession(id) {
  if (source) source.close();
  const info = await api(`/api/sessions/${encodeURIComponent(id)}`);
  show("session");
  document.getElementById("where").textContent = `session ${info.id}`;
  document.getElementById("session-head").replaceChildren(
    el("h2", { text: info.id }),
    el("p", { id: "meta", class: "muted" }),
    el("p", { id: "counts", class: "muted" }));
  const meta = (ended) => {
    document.getElementById("meta").textContent = `catalog ${info.catalog_id || "–"} · model ${info.model_id || "– (summaries only)"} · planner ${info.planner || "default"} · ${ended ? "ended" : "open"} · created ${when(info.created_at_unix_ms)}`;
  };
  meta(info.ended);
  document.getElementById("frames").replaceChildren();
  document.getElementById("batches").replaceChildren();
  const batches = new Map();
  let batchNumber = 0;
  let events = 0;
  source = new EventSource(`/api/sessions/${encodeURIComponent(id)}/events`);
  source.onopen = () => setLive(true, "live");
  source.onerror = () => setLive(false, source.readyState === EventSource.CLOSED ? "closed" : "reconnecting…");
  source.addEventListener("watch-error", (message) => setLive(false, message.data));
  source.addEventListener("session-event", (message) => {
    const event = JSON.parse(message.data);
    const payload = event.payload || {};
    events = event.sequence;
    document.getElementById("counts").textContent = `${events} events`;
    if (event.kind === "batch") {
      batchNumber += 1;
      renderFrames(id, payload.frames || []);
    }
    const number = payload.batch || batchNumber;
    const card = number ? batchCard(batches, number) : null;
    switch (event.kind) {
      case "summary": renderSummary(card, payload); break;
      case "constraints": renderConstraints(card, payload); break;
      case "validation": renderValidation(card, payload); break;
      case "recommendation": renderRecommendation(card, payload, info.catalog_id); break;
      case "session-ended": setLive(false, "session ended"); meta(true); source.close(); break;
      default: break;
    }
    if (card && event.kind !== "summary") {
      card.audit.append(el("details", {}, el("summary", { text: `#${event.sequence} ${event.kind}` }),
        el("pre", { text: JSON.stringify(payload, null, 2) })));
    }
  });
}

async function route() {
  const match = location.hash.match(/^#session\/(.+)$/);
  try {
    if (match) await openSession(decodeURIComponent(match[1]));
    else await listSessions();
  } catch (error) {
    if (document.getElementById("login").hidden) {
      show("sessions");
      document.getElementById("no-sessions").hidden = false;
      document.getElementById("no-sessions").textContent = String(error.message || error);
    }
  }
}

document.getElementById("login-form").addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const token = document.getElementById("token").value;
  const answer = await fetch("/login", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  if (answer.ok) route();
  else document.getElementById("login-error").textContent = await answer.text();
});
window.addEventListener("hashchange", route);
setInterval(() => { if (!document.getElementById("sessions").hidden) listSessions().catch(() => {}); }, 5000);
route();
