"""The preflight's findings: one line per check, ✓ or ✗, and for every ✗ what to do."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

PASS, FAIL, SKIP = "✓", "✗", "–"


@dataclass
class Line:
    """One finding: a stable key (for tests and scripts), its mark, what was seen, the fix."""

    key: str
    mark: str
    detail: str
    fix: str = ""

    def render(self) -> str:
        """The line as printed: mark, detail and, under a ✗, the fix."""
        text = f"{self.mark} {self.detail}"
        return text + (f"\n    fix: {self.fix}" if self.fix else "")


@dataclass
class Report:
    """The findings in the order they were made, printed as they come in."""

    out: Callable[[str], None] = print
    lines: list[Line] = field(default_factory=list)

    def _add(self, line: Line) -> Line:
        """Store and print one finding."""
        self.lines.append(line)
        self.out(line.render())
        return line

    def ok(self, key: str, detail: str) -> Line:
        """A check that passed."""
        return self._add(Line(key, PASS, detail))

    def fail(self, key: str, detail: str, fix: str) -> Line:
        """A check that failed, with what to do about it."""
        return self._add(Line(key, FAIL, detail, fix))

    def skip(self, key: str, detail: str) -> Line:
        """A check not run: not configured, or what it needs already failed above."""
        return self._add(Line(key, SKIP, detail))

    def section(self, title: str) -> None:
        """Print a heading for the checks that follow."""
        self.out(f"\n{title}")

    def passed(self, key: str) -> bool:
        """Whether the check `key` ran and passed."""
        return any(line.key == key and line.mark == PASS for line in self.lines)

    def failures(self) -> list[Line]:
        """Every ✗ so far."""
        return [line for line in self.lines if line.mark == FAIL]
