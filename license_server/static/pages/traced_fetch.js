// fetch() with a W3C traceparent: each request of the page scripts starts a trace of its own,
// which the server continues (its spans, its log lines, its X-Trace-Id answer). The trace id
// rides on the response (`response.traceId`) and on a failed fetch's error (`error.traceId`),
// so an error report can name the request that failed. Loaded before the page's scripts.
"use strict";

(function () {
  /** `bytes` random bytes as lower-case hex. */
  function randomHex(bytes) {
    const values = new Uint8Array(bytes);
    crypto.getRandomValues(values);
    return Array.from(values, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** A traceparent header value: version 00, the trace, a new span of it, sampled. */
  function traceparent(traceId) {
    return `00-${traceId}-${randomHex(8)}-01`;
  }

  /** fetch(url, init) in a new trace; the server's X-Trace-Id wins when it answers one. */
  async function tracedFetch(url, init = {}) {
    const traceId = randomHex(16);
    const headers = new Headers(init.headers || {});
    headers.set("traceparent", traceparent(traceId));
    try {
      const response = await fetch(url, { ...init, headers });
      response.traceId = response.headers.get("X-Trace-Id") || traceId;
      return response;
    } catch (err) {
      err.traceId = traceId;
      throw err;
    }
  }

  window.tracing = { fetch: tracedFetch, traceparent };
})();
