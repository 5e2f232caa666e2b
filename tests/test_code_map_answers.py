"""docs/code-map.md's "Where do I change ..." answers point at files and names that exist."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CODE_MAP = (REPO / "docs" / "code-map.md").read_text()
ANSWERS = CODE_MAP.split("\n## Where do I change ...\n", 1)[1].split("\n## ", 1)[0]
ROWS = [line for line in ANSWERS.splitlines() if line.startswith("| ") and not line.startswith("| to change")]


def test_the_five_questions_are_answered():
    """The overage threshold, a seventh tool, a new journey, incident resolution, a new fact."""
    asked = [row.split("|")[1].strip() for row in ROWS]
    for question in ("overage threshold", "seventh tool", "new journey", "incident is resolved",
                     "new fact for the investigator"):
        assert any(question in text for text in asked), (question, asked)


def test_every_path_and_name_of_an_answer_exists():
    """Each file named exists, each `NAME` of `file` is in that file, each make target is in the Makefile."""
    makefile = (REPO / "Makefile").read_text()
    checked = 0
    for row in ROWS:
        for path in re.findall(r"`([\w./<>-]+/[\w.<>-]*)`", row):
            if "<" not in path and "*" not in path:
                assert (REPO / path).exists(), (path, row)
                checked += 1
        for name, path in re.findall(r"`(\w+)` of `([\w./-]+)`", row):
            assert re.search(rf"\b{name}\b", (REPO / path).read_text()), (name, path)
        for target in re.findall(r"`make (\w+)`", row):
            assert re.search(rf"^{target}:", makefile, re.M), target
    assert checked >= 10, checked
    source = (REPO / "prometheus" / "rules.src.yml").read_text()
    for key in re.findall(r"`(\w+):` under `settings\.alert_series`", ANSWERS):
        assert re.search(rf"^      {key}:", source, re.M), key
