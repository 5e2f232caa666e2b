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

  /** Send one report; at most 20 per page load so a throwing loop cannot flood the server.
   *  An error that names the trace of the request it broke on (`traceId`, set by
   *  tracing.fetch) sends it along, and the report itself joins that trace. */
  function send(report, traceId) {
    if (sent >= 20) return;
    sent += 1;
    const requestId = newRequestId();
    const body = JSON.stringify({ page, ...report, ...(traceId ? { trace_id: traceId } : {}) });
    const headers = { "Content-Type": "application/json", "X-Request-ID": requestId };
    if (traceId && window.tracing) headers.traceparent = window.tracing.traceparent(traceId);
    fetch("/api/client-errors", { method: "POST", keepalive: true, body, headers }).catch(() => {});
    document.body.dataset.lastErrorRequestId = requestId;
    if (traceId) document.body.dataset.lastErrorTraceId = traceId;
  }

  window.addEventListener("error", (event) => {
    send({ kind: "error", message: String(event.message || "error"), source: event.filename,
           line: event.lineno, column: event.colno, stack: event.error && event.error.stack },
         event.error && event.error.traceId);
  });
  window.addEventListener("unhandledrejection", (event) => {
    const reason = event.reason || {};
    send({ kind: "unhandledrejection", message: String(reason.message || reason), stack: reason.stack },
         reason.traceId);
  });
})();
