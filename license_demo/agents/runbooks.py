"""The runbooks (docs/runbooks.md), one section per alert, for the MCP server's resources."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# The checkout's runbooks; `license-demo mcp --runbooks FILE` names another.
DEFAULT_FILE = Path(__file__).resolve().parents[2] / "docs" / "runbooks.md"


@dataclass
class Section:
    """One alert's runbook."""

    alert: str
    text: str

    @property
    def first_line(self) -> str:
        """The section's first sentence, as the resource's description."""
        body = " ".join(self.text.split("\n", 1)[-1].split())
        return body.split(". ")[0][:200]


def sections(path: Path | None = None) -> list[Section]:
    """The `## AlertName` sections of the runbooks file (none when it is missing)."""
    try:
        text = Path(path or DEFAULT_FILE).read_text(encoding="utf-8")
    except OSError:
        return []
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    return [Section(p.split("\n", 1)[0].strip(), "## " + p.strip()) for p in parts
            if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", p.split("\n", 1)[0].strip())]
