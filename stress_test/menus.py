"""Numbered menus read from stdin: the presenter's way to choose a run."""
from __future__ import annotations

from dataclasses import dataclass

MAX_TRIES = 5


class NoAnswer(Exception):
    """stdin ended or kept giving unusable answers; the message says how to run without menus."""


@dataclass
class Prompter:
    """Asks questions on `out` and reads the answers from `stdin`."""

    stdin: object
    out: object

    def _read(self, prompt: str, what: str) -> str:
        """One answer line; NoAnswer when stdin is closed."""
        self.out.write(prompt)
        self.out.flush()
        answer = self.stdin.readline()
        if answer and not _is_tty(self.stdin):
            # Answers piped in do not echo; show them so the transcript reads like a session.
            self.out.write(answer if answer.endswith("\n") else answer + "\n")
        if not answer:
            self.out.write("\n")
            raise NoAnswer(f"stdin closed while asking for the {what}; give every choice as a "
                           "flag (see --help) or add --yes to take the defaults")
        return answer.strip()

    def choose(self, what: str, options: list[tuple[str, str]], default: str) -> str:
        """Show `options` (key, label) numbered from 1; return the chosen key.

        An empty answer takes `default`; a number or an option's key both work.
        """
        self.out.write(f"\n{what[:1].upper()}{what[1:]}:\n")
        for number, (key, label) in enumerate(options, start=1):
            marker = "  (default)" if key == default else ""
            self.out.write(f"  {number}) {label}{marker}\n")
        default_number = [key for key, _ in options].index(default) + 1
        for _ in range(MAX_TRIES):
            answer = self._read(f"Choose 1-{len(options)} [{default_number}]: ", what)
            if not answer:
                return default
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return options[int(answer) - 1][0]
            keys = {key.lower(): key for key, _ in options}
            if answer.lower() in keys:
                return keys[answer.lower()]
            self.out.write(f"  Please type a number from 1 to {len(options)}.\n")
        raise NoAnswer(f"no valid choice for the {what} after {MAX_TRIES} tries")

    def ask_int(self, what: str, default: int, minimum: int = 1, maximum: int = 10_000) -> int:
        """A whole number between `minimum` and `maximum`; empty takes `default`."""
        for _ in range(MAX_TRIES):
            answer = self._read(f"{what} [{default}]: ", what)
            if not answer:
                return default
            if answer.isdigit() and minimum <= int(answer) <= maximum:
                return int(answer)
            self.out.write(f"  Please type a whole number from {minimum} to {maximum}.\n")
        raise NoAnswer(f"no valid {what} after {MAX_TRIES} tries")

    def ask_text(self, what: str, check) -> str:
        """Free text accepted by `check` (which returns the cleaned value or raises ValueError)."""
        for _ in range(MAX_TRIES):
            answer = self._read(f"{what}: ", what)
            try:
                return check(answer)
            except ValueError as exc:
                self.out.write(f"  {exc}\n")
        raise NoAnswer(f"no valid {what} after {MAX_TRIES} tries")

    def confirm(self, question: str) -> bool:
        """Yes unless the answer starts with n."""
        return not self._read(f"{question} [Y/n]: ", "confirmation").lower().startswith("n")


def _is_tty(stream) -> bool:
    """True when `stream` is an interactive terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
