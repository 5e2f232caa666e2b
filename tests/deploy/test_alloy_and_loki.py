"""Loki and Alloy configs: Loki's storage and limits, Alloy's pipeline wired and labelled as the push."""
from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import pytest
import yaml

from alloy_pipeline import labels, render
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
    templates = {t.attributes["source"]: t.attributes["template"]
                 for t in process.find("stage.template")}
    listed = {name: set(re.findall(r'"(\w+)"', templates[name])) for name in ("level", "event")}
    assert listed["event"] == set(KNOWN_EVENTS)
    assert listed["level"] == set(KNOWN_LEVELS)
    events, levels = list(KNOWN_EVENTS), list(KNOWN_LEVELS)
    assert render(templates["event"], events + ["surprise"]) == events + ["other"]
    assert render(templates["level"], [v.upper() for v in levels] + ["NOTICE"]) == levels + ["other"]
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
    'a = 1 b = 2',                                           # two statements on one line
    'a = [\n  1,\n  2\n]',                                    # a newline ends the last element
    'a = {\n  x = 1\n}',                                     # ... and the last field
    'loki.write "my-sink" { }',                              # a label is an identifier
    'a "x" = 1',                                             # an attribute has no label
    'a.b = 1',                                               # nor dots
])
def test_alloy_parser_rejects_what_alloys_parser_rejects(text):
    """Each is an error of Alloy's own parser (grafana/alloy, syntax/parser/internal.go:
    parseBody, parseExpressionList, parseFieldList, parseBlockName, parseStatement)."""
    with pytest.raises(AlloySyntaxError):
        parse(text)


@pytest.mark.parametrize("text", [
    'a = [\n  1,\n  2,\n]\nb = {\n  x = 1,\n}',                 # trailing commas before newlines
    'loki.write "x" { endpoint { url = "http://a" } }',       # one-line blocks
    'a = 1 // note\n/* a\n block */\nb = sys.env("B")',       # comments end lines too
    'loki.write "x" {\n}\n\n\nc = null',                      # blank lines
])
def test_alloy_parser_accepts_what_alloys_parser_accepts(text):
    """Layouts Alloy's parser accepts parse here too."""
    parse(text)


@pytest.mark.parametrize("text", ['a = 1 + 2', 'a = !true', 'a = b[0]', 'a = (1)', 'a = f().x',
                                  'a = b || c'])
def test_alloy_parser_refuses_alloy_syntax_it_does_not_read(text):
    """Operators, indexing, parentheses and access after a call are Alloy syntax the parser has
    no model of: a configuration using them fails here rather than being misread."""
    with pytest.raises(AlloySyntaxError):
        parse(text)


RECORDINGS = REPO / "tests/loki_recordings"
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


def stored_labels() -> dict[str, dict]:
    """Each recorded line's stream labels as real Loki answered them (tests/loki_recordings): from
    the answers that return the lines as stored (no parser stage), without Loki's own
    `detected_level`."""
    corpus = set(RECORDINGS.joinpath("lines.jsonl").read_text().splitlines())
    stored: dict[str, dict] = {}
    for request in json.loads(RECORDINGS.joinpath("queries.json").read_text())["queries"]:
        answer = json.loads(RECORDINGS.joinpath(request["response"]).read_text())
        if answer["status_code"] != 200 or answer["body"]["data"]["resultType"] != "streams":
            continue
        for stream in answer["body"]["data"]["result"]:
            found = {k: v for k, v in stream["stream"].items() if k != "detected_level"}
            if set(found) <= {"app", "level", "event"}:
                stored.update((line, found) for _, line in stream["values"] if line in corpus)
    return stored


def process_and_static(alloy: Block) -> tuple[Block, dict]:
    """The loki.process block and the labels loki.source.docker starts every line with."""
    process = next(b for b in alloy.blocks if b.name == "loki.process")
    return process, next(b for b in alloy.blocks if b.name == "loki.source.docker").attributes["labels"]


def test_alloy_labels_every_recorded_line_as_real_loki_stored_it(alloy):
    """The stages, run over every line of the recorded corpus, give each line exactly the stream
    labels real Loki 3.4 returned for it: the streams the recorded queries were answered over."""
    stored = stored_labels()
    lines = RECORDINGS.joinpath("lines.jsonl").read_text().splitlines()
    assert set(stored) == set(lines) and len(lines) == 265
    differ = [(line[:80], got, stored[line]) for line, got in zip(lines, labels(*process_and_static(alloy), lines))
              if got != stored[line]]
    assert not differ, differ


def test_alloy_and_the_direct_push_label_odd_lines_alike(alloy):
    """Lines the corpus lacks (no event, an unknown event or level, plain text) get the same stream
    labels from Alloy's stages as from the server's own push (license_server/loki_push.py)."""
    got = labels(*process_and_static(alloy), EXTRA_LINES)
    assert got == [push_labels(line) for line in EXTRA_LINES]
    assert got[0] == {"app": "license-server", "level": "info"}


def test_a_missing_field_is_no_value_for_the_templates(alloy):
    """Go's text/template: the old `eq .Value ""` template labels a line without an event "other"
    (a missing field is no value, not ""); the current templates give it no label."""
    old = ('{{ if eq .Value "" }}{{ else if eq .Value "borrow" }}{{ .Value }}'
           '{{ else }}other{{ end }}')
    assert render(old, [None, ""]) == ["other", ""]
    current = [t.attributes["template"] for t in process_and_static(alloy)[0].find("stage.template")]
    assert all(render(t, [None]) == [""] for t in current)
