// Reports uncaught JavaScript errors of the page to the server (POST /api/client-errors).
// Loaded before the page's other scripts so it sees their errors too.
"use strict";

(function () {
  const page = document.body.dataset.page || document.body.classList[0] || "other";
  let sent = 0;

  /** A request id the report travels with, so its log line can be found from the browser. */
  function newRequestId() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : "js-" + Date.now() + "-" + Math.random().toString(16).slice(2);
  }

  /** Send one report; at most 20 per page load so a throwing loop cannot flood the server. */
  function send(report) {
    if (sent >= 20) return;
    sent += 1;
    const requestId = newRequestId();
    const body = JSON.stringify({ page, ...report });
    fetch("/api/client-errors", {
      method: "POST", keepalive: true, body,
      headers: { "Content-Type": "application/json", "X-Request-ID": requestId },
    }).catch(() => {});
    document.body.dataset.lastErrorRequestId = requestId;
  }

  window.addEventListener("error", (event) => {
    send({ kind: "error", message: String(event.message || "error"), source: event.filename,
           line: event.lineno, column: event.colno, stack: event.error && event.error.stack });
  });
  window.addEventListener("unhandledrejection", (event) => {
    const reason = event.reason || {};
    send({ kind: "unhandledrejection", message: String(reason.message || reason), stack: reason.stack });
  });
})();
