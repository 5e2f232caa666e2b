"""Run loki/config.alloy's loki.process stages over log lines, as Alloy does, to get their labels.

stage.template runs in Go's own text/template: `alloy_template/main.go`, built here with Debian's
Go (`scripts/install-system-deps.sh`), hands the template the data Alloy's template stage hands
it. stage.json (field names as expressions) and stage.labels follow Alloy's stages
(grafana/alloy, internal/component/loki/process/stages: json.go, labels.go); stage.timestamp
sets no label. Any other stage or expression raises: there is no model of it.
"""
from __future__ import annotations

import atexit
import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from alloy_syntax import Block

PROGRAM = Path(__file__).resolve().parent / "alloy_template" / "main.go"
FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@functools.cache
def template_runner() -> str:
    """The built alloy_template program (once per process)."""
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("Go runs stage.template's templates: install Debian's golang-go "
                           "(make system-deps)")
    folder = tempfile.mkdtemp(prefix="alloy-template-")
    atexit.register(shutil.rmtree, folder, True)
    env = dict(os.environ)
    if not env.get("GOCACHE") and not env.get("HOME"):
        env["GOCACHE"] = os.path.join(folder, "cache")
    binary = os.path.join(folder, "alloy-template")
    subprocess.run([go, "build", "-o", binary, str(PROGRAM)], cwd=folder, env=env, check=True,
                   capture_output=True, timeout=300)
    return binary


def run_templates(requests: list[dict]) -> list[dict]:
    """Each {"template", "source", "extracted", "entry"} through the template stage: the extracted
    values after it. A template Go cannot parse raises (Alloy would refuse the file)."""
    lines = "".join(json.dumps(r) + "\n" for r in requests)
    done = subprocess.run([template_runner()], input=lines, capture_output=True, text=True,
                          timeout=120, check=True)
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    for answer in answers:
        if answer.get("error"):
            raise ValueError(answer["error"])
    return [answer["extracted"] or {} for answer in answers]


def render(template: str, values: list) -> list[str]:
    """What the stage leaves as the source for each value (None: the field is missing; "": removed)."""
    requests = [{"template": template, "source": "v", "extracted": {"v": value}, "entry": ""}
                for value in values]
    return [extracted.get("v") or "" for extracted in run_templates(requests)]


def json_stage(stage: Block, line: str) -> dict:
    """What stage.json extracts from `line`: nothing from a line that is not a JSON object."""
    try:
        data = json.loads(line)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    extracted = {}
    for name, expression in stage.attributes["expressions"].items():
        field = expression or name
        if not FIELD.fullmatch(field):
            raise ValueError(f"no model of the JMESPath expression {field!r}")
        value = data.get(field)
        # Objects and lists are marshalled back to JSON text; a missing field is nil.
        extracted[name] = json.dumps(value) if isinstance(value, (dict, list)) else value
    return extracted


def label_value(value) -> str | None:
    """The label stage.labels sets from an extracted value (None: no label)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):     # a float64 in Go, formatted without an exponent
        return str(int(value)) if value == int(value) else repr(float(value))
    return value or None


def labels(process: Block, static: dict, lines: list[str]) -> list[dict]:
    """The stream labels Alloy's `process` block gives each of `lines` (starting from `static`)."""
    extracted: list[dict] = [{} for _ in lines]
    result = [dict(static) for _ in lines]
    for stage in process.blocks:
        if stage.name == "stage.json":
            for values, line in zip(extracted, lines):
                values.update(json_stage(stage, line))
        elif stage.name == "stage.template":
            extracted = run_templates([{"template": stage.attributes["template"],
                                        "source": stage.attributes["source"], "extracted": values,
                                        "entry": line} for values, line in zip(extracted, lines)])
        elif stage.name == "stage.labels":
            for values, labelled in zip(extracted, result):
                for name, source in stage.attributes["values"].items():
                    value = label_value(values.get(source or name))
                    if value is not None:
                        labelled[name] = value
        elif stage.name != "stage.timestamp":
            raise ValueError(f"no model of {stage.name}")
    return result
