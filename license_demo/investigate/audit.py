"""The audit log: one JSON line per approval, decline, action and verification (who, when, what, result)."""
from __future__ import annotations

import getpass
import json
import os
import time
from pathlib import Path

DEFAULT_PATH = "investigator-audit.jsonl"


def default_path() -> str:
    """$INVESTIGATOR_AUDIT_LOG, else investigator-audit.jsonl in the current folder."""
    return os.environ.get("INVESTIGATOR_AUDIT_LOG") or DEFAULT_PATH


def operator() -> str:
    """The login name of whoever runs the command (recorded next to the approver)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class AuditLog:
    """Appends records to a JSON-lines file, creating its folder on first write."""

    def __init__(self, path: str | Path):
        """Write to `path`."""
        self.path = Path(path)

    def write(self, event: str, who: str, what: str, result: str, **details) -> dict:
        """Append one record and return it; each line is flushed before the call returns."""
        record = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "at_epoch": round(time.time(), 3),
                  "event": event, "who": who, "operator": operator(), "what": what, "result": result,
                  **details}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
        return record

    def read(self) -> list[dict]:
        """Every record so far (for tests and reports)."""
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
