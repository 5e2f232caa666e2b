// Keeps the dashboard live: polls /api/tools and the firing alerts, updates the cards in place.
"use strict";

const REFRESH_MS = Number(document.body.dataset.refreshMs) || 3000;
const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
const STATUS_TEXT = { ok: "OK", overage: "IN OVERAGE", exhausted: "EXHAUSTED" };

/** The tool's status: red when no seat is left, amber when overage seats are in use. */
function statusOf(tool) {
  if (tool.available <= 0) return "exhausted";
  if (tool.overage_in_use > 0) return "overage";
  return "ok";
}

/** Create an element with a class and optional text. */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Build the (empty) card for one tool; update() fills it. */
function buildCard(name) {
  const card = el("article", "tool");
  card.dataset.tool = name;
  const head = el("div", "tool-head");
  head.append(el("h2", "tool-name", name), el("span", "status"));
  const bar = el("div", "bar");
  for (const part of ["commit", "over"]) {
    const segment = el("div", "bar-part " + part);
    segment.append(el("div", "bar-fill"));
    bar.append(segment);
  }
  const scale = el("div", "bar-scale");
  scale.append(el("span", "scale-commit"), el("span", "scale-over"));
  const figures = el("div", "figures");
  for (const [key, label] of [["in-use", "In use"], ["available", "Available"], ["cost", "Overage cost"]]) {
    const figure = el("div", "figure");
    figure.append(el("span", "label", label), el("span", "value " + key));
    figures.append(figure);
  }
  card.append(head, bar, scale, figures);
  return card;
}

/** Fill a card from one /api/tools entry. */
function update(card, tool) {
  const status = statusOf(tool);
  const capacity = tool.commit + tool.max_overage;
  card.dataset.status = status;
  const badge = card.querySelector(".status");
  badge.className = "status " + status;
  badge.textContent = STATUS_TEXT[status];
  const [commitPart, overPart] = card.querySelectorAll(".bar-part");
  commitPart.style.flexBasis = capacity ? (100 * tool.commit / capacity) + "%" : "100%";
  overPart.style.flexBasis = capacity ? (100 * tool.max_overage / capacity) + "%" : "0%";
  overPart.hidden = tool.max_overage === 0;
  commitPart.firstChild.style.width = pct(tool.commit_in_use, tool.commit);
  overPart.firstChild.style.width = pct(tool.overage_in_use, tool.max_overage);
  card.querySelector(".scale-commit").textContent = `commit ${tool.commit_in_use} / ${tool.commit}`;
  card.querySelector(".scale-over").textContent = `overage ${tool.overage_in_use} / ${tool.max_overage}`;
  const inUse = card.querySelector(".value.in-use");
  inUse.replaceChildren(String(tool.in_use), el("span", "of", ` / ${capacity}`));
  card.querySelector(".value.available").textContent = String(tool.available);
  const cost = card.querySelector(".value.cost");
  cost.textContent = money.format(tool.overage_cost_total);
  cost.classList.toggle("zero", !tool.overage_cost_total);
}

/** A width in percent, capped at 100 (a lowered limit can leave more seats in use). */
function pct(part, whole) {
  return whole > 0 ? Math.min(100, 100 * part / whole) + "%" : "0%";
}

/** Render all tools in API order, adding and removing cards as the catalog changes. */
function renderTools(tools) {
  const container = document.getElementById("tools");
  const existing = new Map([...container.children].map((card) => [card.dataset.tool, card]));
  const ordered = tools.map((tool) => {
    const card = existing.get(tool.name) || buildCard(tool.name);
    existing.delete(tool.name);
    update(card, tool);
    return card;
  });
  existing.forEach((card) => card.remove());
  ordered.forEach((card) => container.append(card));
  const total = tools.reduce((sum, tool) => sum + (tool.overage_cost_total || 0), 0);
  document.getElementById("total-cost").textContent = money.format(total);
}

/** Show the firing alerts as a banner, or hide it when there are none. */
function renderAlerts(alerts) {
  const section = document.getElementById("alerts");
  const list = document.getElementById("alert-list");
  list.replaceChildren(...alerts.map((alert) => {
    const labels = alert.labels || {};
    const annotations = alert.annotations || {};
    const item = el("li");
    item.dataset.alertname = labels.alertname || "";
    item.append(el("span", "severity " + (labels.severity || ""), (labels.severity || "alert").toUpperCase()),
                el("span", "alert-name", labels.alertname || "Alert"));
    if (labels.tool) item.append(document.createTextNode(` · ${labels.tool}`));
    if (annotations.summary) item.append(document.createTextNode(` · ${annotations.summary}`));
    if (alert.startsAt) {
      const since = new Date(alert.startsAt);
      if (!isNaN(since)) item.append(el("span", "since", "since " + since.toLocaleTimeString([], { hour12: false })));
    }
    return item;
  }));
  section.hidden = alerts.length === 0;
}

/** Show whether the last refresh reached the server. */
function setConnection(ok) {
  const node = document.getElementById("connection");
  node.classList.toggle("lost", !ok);
  node.textContent = ok ? "updated " + new Date().toLocaleTimeString([], { hour12: false }) : "server unreachable, retrying";
}

/** GET a JSON document, failing on any non-2xx answer. */
async function getJSON(url) {
  const response = await fetch(url, { cache: "no-store", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/** One polling round; the next one is scheduled whatever happens. */
async function refresh() {
  const [tools, alerts] = await Promise.allSettled([getJSON("/api/tools"), getJSON("/api/alerts?status=firing")]);
  if (tools.status === "fulfilled") renderTools(tools.value);
  if (alerts.status === "fulfilled") renderAlerts(alerts.value);
  setConnection(tools.status === "fulfilled");
  setTimeout(refresh, REFRESH_MS);
}

renderTools(JSON.parse(document.getElementById("initial-tools").textContent));
setConnection(true);
setTimeout(refresh, REFRESH_MS);
