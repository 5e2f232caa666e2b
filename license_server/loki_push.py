"""Push log lines straight to Loki in the background, never slowing the request that logs."""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import Callable

import requests
from opentelemetry import trace

PUSH_PATH = "/loki/api/v1/push"
APP_LABEL = "license-server"
# Stream labels must stay bounded: every distinct label set is a new Loki stream.
KNOWN_EVENTS = frozenset({
    "borrow", "return", "borrow_rejected", "lease_expired", "config_change",
    "force_return", "reset", "alert_notification", "http_request",
    "client_error", "demo_act", "deployment", "fault_change", "incident",
})
KNOWN_LEVELS = frozenset({"debug", "info", "warning", "error", "critical"})
tracer = trace.get_tracer(__name__)
# Records from the HTTP client itself would feed back into the queue they are sent from.
IGNORED_LOGGERS = ("urllib3", "requests", "charset_normalizer")


class LokiHandler(logging.Handler):
    """A logging handler that batches formatted lines and pushes them to Loki's JSON push API."""

    def __init__(self, url: str, user: str | None = None, password: str | None = None,
                 labels: dict | None = None, on_drop: Callable[[int], None] | None = None,
                 batch_size: int = 500, flush_interval: float = 1.0, max_queue: int = 10_000,
                 timeout: float = 5.0, max_retries: int = 5, max_backoff: float = 30.0,
                 close_timeout: float = 5.0, level: int = logging.NOTSET):
        """Configure the target and the limits; the sending thread starts with the first line."""
        super().__init__(level)
        self.push_url = url.rstrip("/") + PUSH_PATH
        self.auth = (user, password or "") if user else None
        self.static_labels = {"app": APP_LABEL, **(labels or {})}
        self.on_drop = on_drop
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_queue = max_queue
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_backoff = max_backoff
        self.close_timeout = close_timeout
        self.dropped = 0
        self.sent = 0
        self._start_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._pid: int | None = None
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._stop = threading.Event()
        self._last_ts: dict[tuple, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        """Format the record and queue it; on a full queue drop it and count the drop."""
        if record.name.startswith(IGNORED_LOGGERS) or self._stop.is_set():
            return
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)
            return
        self._ensure_thread()
        try:
            self._queue.put_nowait((int(record.created * 1e9), self.stream_labels(record), line))
        except queue.Full:
            self._count_drop(1)

    def stream_labels(self, record: logging.LogRecord) -> tuple:
        """Return the record's stream labels (static ones plus bounded level and event)."""
        labels = dict(self.static_labels)
        level = record.levelname.lower()
        labels["level"] = level if level in KNOWN_LEVELS else "other"
        event = getattr(record, "event", None)
        if event:
            labels["event"] = event if event in KNOWN_EVENTS else "other"
        return tuple(sorted(labels.items()))

    def flush(self) -> None:
        """Nothing to do synchronously: the background thread sends on its own schedule."""

    def close(self) -> None:
        """Stop accepting lines, send what is queued (bounded by close_timeout) and stop."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            thread.join(self.close_timeout + self.timeout)
        leftover = self._queue.qsize()
        if leftover:
            self._drain_without_sending()
        super().close()

    def _ensure_thread(self) -> None:
        """Start the sender thread, again in a forked child (threads do not survive fork)."""
        if self._pid == os.getpid() and self._thread is not None:
            return
        with self._start_lock:
            if self._pid == os.getpid() and self._thread is not None:
                return
            if self._pid is not None:
                # A fork copied the parent's queue (and maybe a held lock): start clean.
                self._queue = queue.Queue(maxsize=self.max_queue)
                self._last_ts = {}
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="loki-push", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        """Collect batches (by size or age) and push them until closed and drained."""
        session = requests.Session()
        session.headers["Content-Type"] = "application/json"
        deadline = None
        while True:
            if self._stop.is_set():
                deadline = deadline or time.monotonic() + self.close_timeout
                if self._queue.empty() or time.monotonic() > deadline:
                    break
            batch = self._collect_batch()
            if batch:
                self._send(session, batch, deadline)
        session.close()

    def _collect_batch(self) -> list:
        """Wait up to flush_interval for lines and return at most batch_size of them."""
        batch = []
        started = time.monotonic()
        while len(batch) < self.batch_size:
            remaining = self.flush_interval - (time.monotonic() - started)
            if self._stop.is_set():
                remaining = 0
            try:
                item = self._queue.get(timeout=max(remaining, 0.0)) if remaining > 0 \
                    else self._queue.get_nowait()
            except queue.Empty:
                if self._stop.is_set() or remaining <= 0:
                    break
                continue
            batch.append(item)
        return batch

    def payload(self, batch: list) -> dict:
        """Group a batch into Loki streams with strictly increasing timestamps per stream."""
        streams: dict[tuple, list] = {}
        for ts, labels, line in sorted(batch, key=lambda item: item[0]):
            # Loki rejects or reorders equal and older timestamps in one stream; nudge by 1 ns.
            ts = max(ts, self._last_ts.get(labels, 0) + 1)
            self._last_ts[labels] = ts
            streams.setdefault(labels, []).append([str(ts), line])
        return {"streams": [{"stream": dict(labels), "values": values}
                            for labels, values in streams.items()]}

    def _send(self, session: requests.Session, batch: list, deadline: float | None) -> None:
        """Push one batch (a span of its own), retrying with exponential backoff; count it as
        dropped if it fails."""
        with tracer.start_as_current_span("loki push", attributes={"license.log_lines": len(batch)}):
            self._push(session, batch, deadline)

    def _push(self, session: requests.Session, batch: list, deadline: float | None) -> None:
        """The attempts of one push (see _send)."""
        body = self.payload(batch)
        delay = 0.5
        for attempt in range(self.max_retries + 1):
            timeout = self.timeout
            if deadline is not None:
                # Closing: whatever is left gets the remaining time budget, no more.
                timeout = min(timeout, deadline - time.monotonic())
                if timeout <= 0:
                    break
            try:
                response = session.post(self.push_url, json=body, auth=self.auth,
                                        timeout=timeout)
                if response.status_code < 300:
                    self.sent += len(batch)
                    return
                # 4xx other than 429 means Loki will never accept this batch: do not retry it.
                if 400 <= response.status_code < 500 and response.status_code != 429:
                    break
            except requests.RequestException:
                pass
            if attempt == self.max_retries or self._stop.is_set():
                break
            # The wait ends early on close, so shutdown never sits out a long backoff.
            self._stop.wait(delay)
            delay = min(delay * 2, self.max_backoff)
        self._count_drop(len(batch))

    def _drain_without_sending(self) -> None:
        """Empty the queue after a timed-out close, counting every line left as dropped."""
        count = 0
        while True:
            try:
                self._queue.get_nowait()
                count += 1
            except queue.Empty:
                break
        if count:
            self._count_drop(count)

    def _count_drop(self, n: int) -> None:
        """Record n lost lines and report them to the on_drop callback, which must not raise."""
        with self._count_lock:
            self.dropped += n
        if self.on_drop is not None:
            try:
                self.on_drop(n)
            except Exception:  # noqa: BLE001 - a failing metric must not break logging
                pass
