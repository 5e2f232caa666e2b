"""Loki and Alloy configs: Loki's storage and limits, Alloy's pipeline wired and labelled as the push."""
from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import pytest
import yaml

from alloy_syntax import AlloySyntaxError, Block, Ref, parse
from license_server.loki_push import KNOWN_EVENTS, KNOWN_LEVELS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    """The parsed docker-compose.yml."""
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def alloy() -> Block:
    """The parsed loki/config.alloy."""
    return parse((REPO / "loki/config.alloy").read_text())


def default_of(text: str) -> str:
    """`${VAR:-default}` replaced by its default, as compose does without the variable."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text)


def host_path(service: dict, container_path: str) -> Path | None:
    """The repository path mounted at `container_path` (or below a mounted folder)."""
    for volume in service.get("volumes", []):
        source, target = default_of(volume).split(":")[:2]
        if not source.startswith((".", "/")):
            continue
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            return REPO / source / container_path[len(target):].lstrip("/")
    return None


def test_loki_config():
    """Single binary, filesystem storage, retention applied by the compactor."""
    config = yaml.safe_load((REPO / "loki/loki-config.yaml").read_text())
    assert config["auth_enabled"] is False
    assert config["common"]["storage"]["filesystem"]
    assert config["common"]["ring"]["kvstore"]["store"] == "inmemory"
    schema = config["schema_config"]["configs"][-1]
    assert (schema["store"], schema["object_store"], schema["schema"]) == ("tsdb", "filesystem", "v13")
    assert config["compactor"]["retention_enabled"] is True
    assert config["compactor"]["delete_request_store"] == "filesystem"
    assert re.fullmatch(r"\d+h", config["limits_config"]["retention_period"])
    # Stream labels stay exactly app/level/event, as the server's direct push sends them.
    assert config["limits_config"]["discover_service_name"] == []


def test_alloy_config_parses_and_wires_components(alloy):
    """Every reference points at a declared component; the pipeline ends in loki.write."""
    declared = {f"{b.name}.{b.label}" for b in alloy.blocks}
    refs = []

    def collect(value):
        if isinstance(value, Ref):
            refs.append(value.path)
        elif isinstance(value, list):
            for item in value:
                collect(item)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)

    def walk(block):
        for value in block.attributes.values():
            collect(value)
        for child in block.blocks:
            walk(child)
    walk(alloy)
    assert refs
    for path in refs:
        assert any(path.startswith(component + ".") for component in declared), path
    kinds = {b.name for b in alloy.blocks}
    assert {"discovery.docker", "loki.source.docker", "loki.process", "loki.write"} <= kinds


def test_alloy_pipeline_labels_match_the_server_push(alloy, compose):
    """app="license-server", level and event only, with the same bounded values as loki_push.py."""
    source = next(b for b in alloy.blocks if b.name == "loki.source.docker")
    assert source.attributes["labels"] == {"app": "license-server"}
    assert source.attributes["host"] == "unix:///var/run/docker.sock"
    docker = next(b for b in alloy.blocks if b.name == "discovery.docker")
    assert docker.find("filter")[0].attributes["values"] == \
        ["com.docker.compose.service=license-server"]
    process = next(b for b in alloy.blocks if b.name == "loki.process")
    assert set(process.find("stage.labels")[0].attributes["values"]) == {"level", "event"}
    from alloy_pipeline import render
    templates = {t.attributes["source"]: t.attributes["template"]
                 for t in process.find("stage.template")}
    listed = {name: set(re.findall(r'"(\w+)"', templates[name])) for name in ("level", "event")}
    assert listed["event"] == set(KNOWN_EVENTS)
    assert listed["level"] == set(KNOWN_LEVELS)
    assert all(render(templates["event"], e) == e for e in KNOWN_EVENTS)
    assert render(templates["event"], "surprise") == "other"
    assert all(render(templates["level"], v.upper()) == v for v in KNOWN_LEVELS)
    write = next(b for b in alloy.blocks if b.name == "loki.write")
    url = urllib.parse.urlparse(write.find("endpoint")[0].attributes["url"])
    loki = yaml.safe_load((REPO / "loki/loki-config.yaml").read_text())
    assert url.hostname == "loki" and url.port == loki["server"]["http_listen_port"]
    assert url.path == "/loki/api/v1/push"
    mounted = host_path(compose["services"]["alloy"], compose["services"]["alloy"]["command"][-1])
    assert mounted == REPO / "loki/config.alloy"


@pytest.mark.parametrize("text", [
    'loki.write "x" { endpoint { url = "http://a" }',        # unclosed block
    'loki.write "x" { url = }',                              # missing value
    'a = [1, 2',                                             # unclosed list
    'loki.source.docker "x" { labels = {app = "a" "b"} }',   # missing comma
])
def test_alloy_parser_rejects_broken_syntax(text):
    """The parser is strict enough to catch typical mistakes."""
    with pytest.raises(AlloySyntaxError):
        parse(text)


RECORDED_LINES = REPO / "tests/loki_recordings/lines.jsonl"
EXTRA_LINES = [
    '{"level": "INFO", "message": "no event field", "timestamp": "2026-12-01T00:00:00+00:00"}',
    '{"level": "WARNING", "event": "something_new", "message": "an unknown event"}',
    '{"level": "NOTICE", "event": "borrow", "message": "an unknown level"}',
    "plain text, not JSON",
]


def push_labels(line: str) -> dict:
    """The labels license_server/loki_push.py's LokiHandler gives the record behind `line`."""
    import logging
    from license_server.loki_push import LokiHandler
    try:
        data = json.loads(line)
    except ValueError:
        # Not a log record (the startup banner is printed): only Alloy ships such a line,
        # and the recorded push gave it app alone.
        return {"app": "license-server"}
    record = logging.LogRecord("license_server", logging.INFO, __file__, 0, data["message"],
                               None, None)
    record.levelname = data["level"]
    if "event" in data:
        record.event = data["event"]
    return dict(LokiHandler("http://127.0.0.1:9").stream_labels(record))


def test_alloy_and_the_direct_push_label_every_line_alike(alloy):
    """Each recorded line and each odd one gets the same stream labels from both log paths."""
    from alloy_pipeline import labels
    process = next(b for b in alloy.blocks if b.name == "loki.process")
    static = next(b for b in alloy.blocks if b.name == "loki.source.docker").attributes["labels"]
    lines = RECORDED_LINES.read_text().splitlines() + EXTRA_LINES
    differ = [(line[:80], labels(process, static, line), push_labels(line)) for line in lines
              if labels(process, static, line) != push_labels(line)]
    assert not differ, differ
    no_event = labels(process, static, EXTRA_LINES[0])
    assert no_event == {"app": "license-server", "level": "info"}


def test_alloy_pipeline_model_reproduces_the_nil_value_case(alloy):
    """The old `eq .Value ""` template labels a line without an event "other": the model sees it."""
    from alloy_pipeline import render
    old = ('{{ if eq .Value "" }}{{ else if eq .Value "borrow" }}{{ .Value }}'
           '{{ else }}other{{ end }}')
    assert render(old, None) == "other" and render(old, "") == ""
    process = next(b for b in alloy.blocks if b.name == "loki.process")
    current = [t.attributes["template"] for t in process.find("stage.template")]
    assert all(render(t, None) == "" for t in current)
