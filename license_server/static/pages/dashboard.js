// Keeps the dashboard live: polls /api/tools, the firing alerts and /api/overview (the open
// incident, the verification chart and the runs), updates everything in place.
"use strict";

const REFRESH_MS = Number(document.body.dataset.refreshMs) || 3000;
const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
const bigMoney = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", notation: "compact", maximumFractionDigits: 2 });
const STATUS_TEXT = { ok: "OK", overage: "IN OVERAGE", exhausted: "EXHAUSTED" };
const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 };
// Groups of alerts the banner lists one per line; the rest are summed up in one more line.
const MAX_ALERT_GROUPS = 4;
const MAX_TOOLS_PER_ALERT = 3;
let openIncident = null;

/** Dollars: whole dollars up to a million, then compact ($1.23M) so a card's figure never clips. */
function dollars(value) {
  return Math.abs(value) >= 1e6 ? bigMoney.format(value) : money.format(value);
}

/** A tool name that may break only between words or after a slash, never inside a word. */
function nameNode(name) {
  const node = el("h2", "tool-name");
  name.split("/").forEach((part, i) => {
    if (i) node.append("/", document.createElement("wbr"));
    node.append(part);
  });
  return node;
}

/** "Vector - CANoe" -> "CANoe": the banner lists many tools on one line. */
function shortName(tool) {
  const cut = tool.indexOf(" - ");
  return cut > 0 ? tool.slice(cut + 3) : tool;
}

/** Seconds for people: 75 -> "1 min 15 s". */
function duration(seconds) {
  if (seconds == null) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

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
  head.append(nameNode(name), el("span", "status"));
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
  cost.textContent = dollars(tool.overage_cost_total);
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
  document.getElementById("total-cost").textContent = dollars(total);
}

/** Firing alerts grouped by name: the incident's alert first, then the most severe, then the largest. */
function groupAlerts(alerts) {
  const groups = new Map();
  for (const alert of alerts) {
    const labels = alert.labels || {};
    if (String(labels.synthetic).toLowerCase() === "true") continue;   // a preflight check's
    const name = labels.alertname || "Alert";
    const group = groups.get(name) || { name, severity: labels.severity || "", tools: [], summary: "", since: null };
    if (SEVERITY_RANK[labels.severity] < (SEVERITY_RANK[group.severity] ?? 9)) group.severity = labels.severity;
    const subject = labels.tool || labels.user || "";
    if (subject && !group.tools.includes(subject)) group.tools.push(subject);
    group.summary = group.summary || (alert.annotations || {}).summary || "";
    const since = alert.startsAt ? new Date(alert.startsAt) : null;
    if (since && !isNaN(since) && since.getFullYear() > 2000 && (!group.since || since < group.since)) group.since = since;
    groups.set(name, group);
  }
  const incidentAlert = openIncident ? openIncident.alert : null;
  return [...groups.values()].sort((a, b) =>
    (b.name === incidentAlert) - (a.name === incidentAlert)
    || (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9)
    || b.tools.length - a.tools.length || a.name.localeCompare(b.name));
}

/** Show the firing alerts as a compact banner (one line per alert name), or hide it. */
function renderAlerts(alerts) {
  const section = document.getElementById("alerts");
  const list = document.getElementById("alert-list");
  const groups = groupAlerts(alerts);
  const shown = groups.slice(0, MAX_ALERT_GROUPS);
  const items = shown.map((group) => {
    const item = el("li");
    item.dataset.alertname = group.name;
    item.dataset.count = String(Math.max(1, group.tools.length));
    item.append(el("span", "severity " + group.severity, (group.severity || "alert").toUpperCase()),
                el("span", "alert-name", group.name));
    if (group.tools.length) {
      // One tool: its full name; several: short names, so the group keeps to one line.
      const names = group.tools.length === 1 ? group.tools
        : group.tools.slice(0, MAX_TOOLS_PER_ALERT).map(shortName);
      if (group.tools.length > MAX_TOOLS_PER_ALERT) names.push(`+${group.tools.length - MAX_TOOLS_PER_ALERT}`);
      const tools = el("span", "alert-tools", " · " + names.join(", "));
      tools.title = group.tools.join(", ");
      item.append(tools);
    }
    if (group.tools.length <= 1 && group.summary) item.append(el("span", "alert-summary", " · " + group.summary));
    if (group.since) item.append(el("span", "since", "since " + group.since.toLocaleTimeString([], { hour12: false })));
    return item;
  });
  const rest = groups.slice(MAX_ALERT_GROUPS);
  if (rest.length) {
    const more = el("li", "more", `+ ${rest.length} more: ` + rest.map((g) => g.name).join(", "));
    more.dataset.alertname = "";
    items.push(more);
  }
  list.replaceChildren(...items);
  section.hidden = groups.length === 0;
}

/** The open incident as a strip above everything: what is being investigated, even after the load. */
function renderIncident(incident) {
  openIncident = incident && incident.status !== "resolved" ? incident : null;
  const section = document.getElementById("incident");
  section.hidden = !incident;
  if (!incident) return;
  section.dataset.incident = incident.id;
  section.dataset.severity = incident.severity;
  section.dataset.status = incident.status;
  section.querySelector(".incident-badge").textContent = incident.status === "resolved" ? "Resolved" : "Incident";
  document.getElementById("incident-age-label").textContent = incident.status === "resolved" ? "was open" : "open for";
  document.getElementById("incident-link").href = "/incidents/" + encodeURIComponent(incident.id);
  document.getElementById("incident-alert").textContent = `${incident.id} ${incident.alert}`;
  document.getElementById("incident-tool").textContent = incident.tool || incident.user || "the server";
  section.querySelector(".incident-sep").hidden = false;
  document.getElementById("incident-team").textContent = incident.team || "–";
  document.getElementById("incident-age").textContent = duration(incident.open_seconds);
  document.getElementById("incident-detect").textContent = duration(incident.to_detect_seconds);
  // Alerts that joined the incident (same tool): the first one names it, these are listed.
  const others = incident.other_alerts || [];
  document.getElementById("incident-others").textContent = others.join(", ");
  document.getElementById("incident-others-fact").hidden = others.length === 0;
  const state = document.getElementById("incident-state");
  const check = incident.verification;
  let text = "alert firing: investigate";
  if (incident.status === "resolved") text = `fix verified, resolved in ${duration(incident.to_resolve_seconds)}`;
  else if (incident.fixed && check && check.share >= check.threshold) text = `fix applied, not holding yet: ${check.detail}`;
  else if (incident.fixed && check) text = `fix applied, verifying: ${check.detail}`;
  else if (incident.fixed) text = "fix applied, verifying";
  else if (incident.alert_resolved) text = "alert resolved without a fix: still open";
  if (incident.others_open) text += ` (+${incident.others_open} more open on /incidents)`;
  state.textContent = text;
  state.dataset.state = incident.status === "resolved" ? "resolved"
    : incident.fixed && check && check.share >= check.threshold ? "failing"
    : incident.fixed ? "verifying" : incident.alert_resolved ? "unfixed" : "firing";
}

/** The last two runs of the tool in focus. */
function renderRuns(overview) {
  document.getElementById("runs-tool").textContent = overview.focus_tool || "–";
  const body = document.querySelector("#runs-table tbody");
  const labels = ["this run", "previous run"];
  const rows = overview.runs.map((run, i) => {
    const row = el("tr");
    row.dataset.run = String(i);
    const started = new Date(run.started_at).toLocaleTimeString([], { hour12: false, hour: "2-digit", minute: "2-digit" });
    const label = el("td", "run-label", labels[i]);
    label.append(el("span", "run-time", "from " + started));
    row.append(label, el("td", "num", String(run.borrows)),
               el("td", "num share", (100 * run.overage_share).toFixed(1) + " %"),
               el("td", "num", dollars(run.overage_cost)));
    row.classList.toggle("above", run.overage_share >= overview.threshold);
    return row;
  });
  if (!rows.length) {
    const empty = el("tr");
    const cell = el("td", "hint", "No borrows yet.");
    cell.colSpan = 4;
    empty.append(cell);
    rows.push(empty);
  }
  body.replaceChildren(...rows);
}

/** Everything /api/overview feeds. */
function renderOverview(overview) {
  renderIncident(overview.incident);
  document.getElementById("threshold-text").textContent = Math.round(overview.threshold * 100) + " %";
  renderRuns(overview);
  if (window.uPlot) ShareChart.render(overview);
}

/** Show whether the last refresh reached the server. */
function setConnection(ok) {
  const node = document.getElementById("connection");
  node.classList.toggle("lost", !ok);
  node.textContent = ok ? "updated " + new Date().toLocaleTimeString([], { hour12: false }) : "server unreachable, retrying";
}

/** GET a JSON document in a trace of its own, failing on any non-2xx answer (the error names the trace). */
async function getJSON(url) {
  const response = await window.tracing.fetch(url, { cache: "no-store", headers: { Accept: "application/json" } });
  if (!response.ok) {
    throw Object.assign(new Error(`${url}: HTTP ${response.status} (trace ${response.traceId})`),
                        { traceId: response.traceId });
  }
  return response.json();
}

/** One polling round; the next one is scheduled whatever happens. */
async function refresh() {
  const [tools, alerts, overview] = await Promise.allSettled(
    [getJSON("/api/tools"), getJSON("/api/alerts?status=firing"), getJSON("/api/overview")]);
  if (tools.status === "fulfilled") renderTools(tools.value);
  if (overview.status === "fulfilled") renderOverview(overview.value);
  if (alerts.status === "fulfilled") renderAlerts(alerts.value);
  setConnection(tools.status === "fulfilled");
  setTimeout(refresh, REFRESH_MS);
}

renderTools(JSON.parse(document.getElementById("initial-tools").textContent));
setConnection(true);
refresh();
