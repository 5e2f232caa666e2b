"""OpenTelemetry traces of the server: off until an OTLP endpoint is configured.

With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, each process
runs one tracer provider that batches spans to that endpoint (HTTP/protobuf unless
`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`); the exporter reads the other standard variables itself
(`OTEL_EXPORTER_OTLP_HEADERS` for credentials, timeouts, certificates). Under gunicorn the
provider starts in each worker after the fork (the batch thread does not survive fork,
gunicorn_conf.post_fork) and is flushed when the worker exits (gunicorn_conf.worker_exit).
Without an endpoint nothing is instrumented: no span is made, nothing is sent, nothing logged.

Spans: one per request (Flask instrumentation, W3C `traceparent` honoured), one per SQL
statement (sqlite3 and psycopg instrumentation), and the server's own (borrow transaction,
allocation, incident handling, Loki push) under the `license.` attribute prefix. Responses
carry `X-Trace-Id` and `traceresponse`; the request span carries `license.request_id`.
"""
from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler, TraceIdRatioBased

PROTOCOLS = ("http/protobuf", "grpc")
REQUEST_ID_ATTRIBUTE = "license.request_id"
TRACE_ID_HEADER = "X-Trace-Id"
# Scrapes and probes arrive every few seconds: traces of them would bury the borrows.
EXCLUDED_URLS = "/metrics$,/healthz$,/readyz$"

_started_in: int | None = None  # the pid whose provider runs (a forked child starts its own)


class NoLoneStatements(Sampler):
    """The root sampler: a SQL statement outside any request or span of ours (a worker's start-up
    check, the lease sweeps every 2 s) makes no trace; every other root goes to `roots` (all of
    them, or a share with OTEL_TRACES_SAMPLER=parentbased_traceidratio). Spans with a parent
    follow the parent's decision (ParentBased), so a client's sampled flag is honoured."""

    def __init__(self, roots: Sampler = ALWAYS_ON):
        """Keep the root spans `roots` keeps, statements never."""
        self.roots = roots

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None,
                      trace_state=None):
        """Drop a root span of kind CLIENT: in the server only the statement spans are."""
        chosen = ALWAYS_OFF if kind == trace.SpanKind.CLIENT else self.roots
        return chosen.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        """The sampler's name in the SDK's descriptions."""
        return f"NoLoneStatements{{{self.roots.get_description()}}}"


def root_sampler(settings) -> Sampler:
    """The share of new traces kept, from the standard OTEL_TRACES_SAMPLER(_ARG): all by default.

    `traceidratio` and `parentbased_traceidratio` keep OTEL_TRACES_SAMPLER_ARG of them (0 to 1),
    `always_off` and `parentbased_always_off` none; a sampled parent is always followed.
    """
    name = (settings.get("OTEL_TRACES_SAMPLER") or "parentbased_always_on").lower()
    if name.endswith("always_off"):
        return ALWAYS_OFF
    if name.endswith("traceidratio"):
        try:
            ratio = float(settings.get("OTEL_TRACES_SAMPLER_ARG") or 1.0)
        except ValueError as exc:
            raise ValueError(f"OTEL_TRACES_SAMPLER_ARG={settings.get('OTEL_TRACES_SAMPLER_ARG')} "
                             "is not a number: give the share of traces to keep, 0 to 1") from exc
        if not 0 <= ratio <= 1:
            raise ValueError(f"OTEL_TRACES_SAMPLER_ARG={ratio:g} is outside 0 to 1")
        return TraceIdRatioBased(ratio)
    if not name.endswith("always_on"):
        raise ValueError(f"OTEL_TRACES_SAMPLER={name} is not supported: use parentbased_always_on, "
                         "parentbased_traceidratio or parentbased_always_off")
    return ALWAYS_ON


def endpoint(settings) -> str | None:
    """The OTLP traces URL the settings name, or None (tracing off)."""
    if str(settings.get("OTEL_SDK_DISABLED") or "").lower() == "true":
        return None
    if settings.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return settings["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
    base = settings.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not base:
        return None
    # The signal path is appended to the base endpoint over HTTP only (the OTLP exporter spec).
    return base if protocol(settings) == "grpc" else base.rstrip("/") + "/v1/traces"


def protocol(settings) -> str:
    """The OTLP protocol; ValueError saying what to set when it is not one we export."""
    chosen = (settings.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
              or settings.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf")
    if chosen not in PROTOCOLS:
        raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL={chosen} is not supported: "
                         f"use {' or '.join(PROTOCOLS)}")
    return chosen


def check(settings) -> None:
    """Raise ValueError with what to do when tracing is configured but cannot export."""
    if endpoint(settings):
        root_sampler(settings)
    if endpoint(settings) and protocol(settings) == "grpc":
        try:
            import opentelemetry.exporter.otlp.proto.grpc  # noqa: F401
        except ModuleNotFoundError as exc:
            raise ValueError("OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs the gRPC exporter: "
                             "pip install 'license-demo[grpc]', or use http/protobuf") from exc


def exporter(settings):
    """The OTLP span exporter for the configured endpoint and protocol."""
    if protocol(settings) == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return OTLPSpanExporter(endpoint=endpoint(settings))


def start(settings, service_name: str | None = None) -> bool:
    """Start this process's tracer provider when an endpoint is set; whether tracing is on."""
    global _started_in
    if _started_in == os.getpid():
        return True
    if not endpoint(settings):
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({
        "service.name": service_name or settings.get("OTEL_SERVICE_NAME") or "license-server",
        "service.version": settings.get("APP_VERSION", ""), "process.pid": os.getpid()})
    # gunicorn's worker_exit flushes; an atexit hook would run a second shutdown.
    provider = TracerProvider(resource=resource, sampler=ParentBased(NoLoneStatements(root_sampler(settings))),
                              shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(exporter(settings)))
    trace.set_tracer_provider(provider)
    _started_in = os.getpid()
    return True


def active() -> bool:
    """Whether this process exports spans (its provider was started here)."""
    return _started_in == os.getpid()


def shutdown(timeout_millis: int = 5000) -> None:
    """Send the spans still batched and stop the exporter (a worker's last act)."""
    global _started_in
    if not active():
        return
    provider = trace.get_tracer_provider()
    provider.force_flush(timeout_millis)
    provider.shutdown()
    _started_in = None


def init_app(app) -> None:
    """Give each request of the app a server span when this process exports (call it before
    any before_request hook: the span must be current in all of them)."""
    if not active():
        return
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.instrumentation.propagators import (TraceResponsePropagator,
                                                           set_global_response_propagator)

    set_global_response_propagator(TraceResponsePropagator())
    FlaskInstrumentor().instrument_app(
        app, excluded_urls=app.config.get("OTEL_PYTHON_FLASK_EXCLUDED_URLS") or EXCLUDED_URLS)


def tag_request(request_id: str) -> None:
    """Put the request id on the current span: a trace leads to its log lines by either id."""
    trace.get_current_span().set_attribute(REQUEST_ID_ATTRIBUTE, request_id)


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span as lower-case hex, or None outside a trace."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)


def instrument_connection(conn, is_postgres: bool):
    """`conn` with a span per SQL statement when this process exports, else `conn` itself."""
    if not active():
        return conn
    if is_postgres:
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
        return PsycopgInstrumentor.instrument_connection(conn)
    from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor
    return SQLite3Instrumentor.instrument_connection(conn)
