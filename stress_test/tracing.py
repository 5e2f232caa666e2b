"""Traces of the stress test: a trace per borrow or return, each HTTP attempt a client span of it.

Every attempt sends its W3C `traceparent`, so the server's request span is a child of the
attempt that caused it and a retried borrow shows as two attempts of one trace. The spans go
to the OTLP endpoint of the standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, HTTP/protobuf unless `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`);
without one the ids are still made and sent (the server's log lines of one operation share a
trace id), and nothing is exported. The provider starts on first use in each process (Locust
workers included) and sends its last spans when the process exits.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagate import inject

SERVICE_NAME = "stress-test"
_lock = threading.Lock()
_provider = None
_provider_pid = None


def provider():
    """This process's tracer provider, started on first use (again in a forked child)."""
    global _provider, _provider_pid
    with _lock:
        if _provider_pid != os.getpid():
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider

            _provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
            if os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
                from opentelemetry.sdk.trace.export import BatchSpanProcessor
                _provider.add_span_processor(BatchSpanProcessor(exporter()))
            _provider_pid = os.getpid()
        return _provider


def exporter():
    """The OTLP exporter the standard variables choose (it reads the endpoint and headers itself)."""
    if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        except ModuleNotFoundError as exc:
            raise SystemExit("OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs the gRPC exporter: "
                             "pip install 'license-demo[grpc]', or use http/protobuf") from exc
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return OTLPSpanExporter()


class Attempt:
    """One HTTP attempt: the headers that carry its trace, and its answer."""

    def __init__(self, span):
        self.span = span
        self.headers: dict[str, str] = {}
        inject(self.headers)

    def answered(self, status_code: int) -> None:
        """Record the HTTP status (0: no answer at all); 5xx and no answer mark the span failed."""
        self.span.set_attribute("http.response.status_code", status_code)
        if status_code == 0 or status_code >= 500:
            self.span.set_status(trace.StatusCode.ERROR)


@contextmanager
def operation(name: str, **attributes):
    """A new trace for one borrow or return (`license.*` attributes from the keywords)."""
    tracer = provider().get_tracer(__name__)
    with tracer.start_as_current_span(name, context=Context(), attributes={
            f"license.{key}": value for key, value in attributes.items() if value is not None}) as span:
        yield span


@contextmanager
def attempt(method: str, path: str):
    """A client span for one request of the current operation; send `Attempt.headers` with it."""
    tracer = provider().get_tracer(__name__)
    with tracer.start_as_current_span(f"{method} {path}", kind=trace.SpanKind.CLIENT, attributes={
            "http.request.method": method, "url.path": path}) as span:
        yield Attempt(span)
