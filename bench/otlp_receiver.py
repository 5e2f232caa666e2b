"""A loopback OTLP/HTTP trace receiver: `POST /v1/traces` decoded with the official protocol
definitions (opentelemetry-proto's ExportTraceServiceRequest), answered as the spec says.

Anything else than a protobuf export request of traces is refused (415/404/400) and kept in
`refused`, so a wrong payload fails the test that reads the spans. The tracing tests run it
in their process; `bench/bench_server.py --tracing` runs it as a process of its own
(`python -m bench.otlp_receiver`, which prints its URL, then on SIGTERM the spans received).
"""
from __future__ import annotations

import gzip
import signal
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (ExportTraceServiceRequest,
                                                                      ExportTraceServiceResponse)

SPAN_KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


def value_of(any_value):
    """The Python value of an OTLP AnyValue."""
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def attributes_of(key_values) -> dict:
    """OTLP KeyValues as a dict."""
    return {item.key: value_of(item.value) for item in key_values}


@dataclass
class Span:
    """One received span with its resource's attributes."""
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: str
    attributes: dict
    resource: dict
    status_code: int


class OtlpReceiver:
    """Serve OTLP/HTTP on a free loopback port; `spans` holds what arrived, in order."""

    def __init__(self, keep_spans: bool = True):
        """Start serving in a background thread; without `keep_spans` only count them (cheap)."""
        self.keep_spans = keep_spans
        self.count = 0
        self.spans: list[Span] = []
        self.requests = 0
        self.refused: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.receive(self.path, self.headers, body)
                answer = ExportTraceServiceResponse().SerializeToString() if status == 200 else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def receive(self, path: str, headers, body: bytes) -> int:
        """Decode one export request and keep its spans; the HTTP status to answer."""
        if path != "/v1/traces":
            return self._refuse(404, f"path {path}")
        if headers.get("Content-Type") != "application/x-protobuf":
            return self._refuse(415, f"content type {headers.get('Content-Type')}")
        if headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            return self._refuse(400, f"undecodable body: {exc}")
        if not self.keep_spans:
            with self.lock:
                self.requests += 1
                self.count += sum(len(scope.spans) for resource in request.resource_spans
                                  for scope in resource.scope_spans)
            return 200
        spans = [Span(span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(), span.name,
                      SPAN_KINDS.get(span.kind, str(span.kind)), attributes_of(span.attributes),
                      attributes_of(resource_spans.resource.attributes), span.status.code)
                 for resource_spans in request.resource_spans
                 for scope_spans in resource_spans.scope_spans
                 for span in scope_spans.spans]
        with self.lock:
            self.requests += 1
            self.count += len(spans)
            self.spans.extend(spans)
        return 200

    def _refuse(self, status: int, why: str) -> int:
        """Remember a refused request."""
        with self.lock:
            self.refused.append(why)
        return status

    def received(self) -> list[Span]:
        """A copy of the spans received so far."""
        with self.lock:
            return list(self.spans)

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def main() -> int:
    """Serve until SIGTERM, counting spans; print the URL first and the number of spans (and
    refusals) last."""
    receiver = OtlpReceiver(keep_spans=False)
    print(receiver.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    receiver.stop()
    print(f"{receiver.count} spans, {len(receiver.refused)} refused", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
