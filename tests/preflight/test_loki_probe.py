"""Preflight's Loki probe is a push the server itself could have made: same API, same stream labels."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import jsonschema

from license_demo.preflight import loki_checks
from license_server.loki_push import PUSH_PATH, LokiHandler

SCHEMA = json.loads((Path(__file__).parents[1] / "loki_push" / "loki_push_schema.json").read_text())


def test_the_probe_push_has_the_servers_shape_and_labels():
    """Preflight builds its push body itself (it never imports the server): the body validates as
    a Loki push, goes to the server's push path and carries the labels the server's handler
    gives a line of an event outside its known set."""
    body = loki_checks.push_body("probe123", 1_700_000_000_000_000_000)
    jsonschema.validate(body, SCHEMA)
    assert loki_checks.PUSH_PATH == PUSH_PATH
    record = logging.LogRecord("license_server", logging.INFO, __file__, 0, "preflight probe", None, None)
    record.event = "preflight_probe"
    (stream,) = body["streams"]
    assert stream["stream"] == dict(LokiHandler("http://127.0.0.1:1").stream_labels(record))
    ((at, line),) = stream["values"]
    assert at == "1700000000000000000" and json.loads(line)["probe"] == "probe123"
