// The dashboard's demo strip: running version, active fault switches, and a borrow widget.
"use strict";

(function () {
  const REFRESH_MS = Number(document.body.dataset.refreshMs) || 3000;
  let faults = {};

  /** GET a JSON document in a trace of its own, failing on any non-2xx answer (the error names the trace). */
  async function getJSON(url) {
    const response = await window.tracing.fetch(url, { cache: "no-store", headers: { Accept: "application/json" } });
    if (!response.ok) {
      throw Object.assign(new Error(`${url}: HTTP ${response.status} (trace ${response.traceId})`),
                          { traceId: response.traceId });
    }
    return response.json();
  }

  /** Show the running version and every active fault switch. */
  function renderState(deployments, faultList) {
    faults = Object.fromEntries(faultList.map((f) => [f.name, f.variant]));
    const current = deployments.current || {};
    document.getElementById("demo-version").textContent = `${current.version} (${current.commit})`;
    const active = faultList.filter((f) => f.variant !== "off");
    const list = document.getElementById("demo-faults");
    list.replaceChildren(...active.map((f) => {
      const item = document.createElement("li");
      item.dataset.fault = f.name;
      item.textContent = `${f.name}: ${f.variant}`;
      return item;
    }));
    document.getElementById("demo-faults-none").hidden = active.length > 0;
  }

  /** One refresh of the strip; the next is scheduled whatever happens. */
  async function refresh() {
    try {
      const [deployments, faultList] = await Promise.all([getJSON("/api/deployments"), getJSON("/api/faults")]);
      renderState(deployments, faultList);
    } catch (err) {
      // The main cards already show a lost connection; the strip just keeps its last state.
    }
    setTimeout(refresh, REFRESH_MS);
  }

  /** The borrow as the released widget reads it; the faulty build reads a field that does not exist. */
  function borrowedId(result) {
    if (faults.dashboard_js_error && faults.dashboard_js_error !== "off") {
      return result.seat.id;  // the bug: /api/borrow has no "seat" object, so this throws a TypeError
    }
    return result.id;
  }

  /** Borrow a seat from the widget's form and show the outcome. */
  async function borrow(event) {
    event.preventDefault();
    const form = event.target;
    const outcome = document.getElementById("demo-borrow-outcome");
    const response = await window.tracing.fetch("/api/borrow", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tool: form.tool.value, user: form.user.value || "dashboard-user" }),
    });
    const result = await response.json();
    if (!response.ok) {
      outcome.textContent = `Refused: ${result.detail || result.error}`;
      return;
    }
    let id;
    try {
      id = borrowedId(result);
    } catch (err) {
      err.traceId = response.traceId;  // the error report names the borrow it broke on
      throw err;
    }
    outcome.textContent = `Borrowed seat ${id} of ${result.tool}`;
    await window.tracing.fetch("/api/return", { method: "POST", headers: { "Content-Type": "application/json" },
                                                body: JSON.stringify({ id }) });
  }

  /** Fill the tool choices from the cards' initial data. */
  function fillTools() {
    const tools = JSON.parse(document.getElementById("initial-tools").textContent);
    const select = document.getElementById("demo-borrow-tool");
    select.replaceChildren(...tools.map((t) => new Option(t.name, t.name)));
  }

  fillTools();
  document.getElementById("demo-borrow").addEventListener("submit", borrow);
  refresh();
})();
