"""Every shell command in README.md and docs/*.md that this machine can run, checked.

Commands are read from the fenced code blocks (continuation lines joined, `cd` followed
within a block). Each is checked in a dry form, so a moved module, a renamed flag or a
missing file fails here before a reader meets it:

- `license-demo ...`, `python -m MODULE ...`, `run_stress_test.sh ...`: the command's own
  `--help` answers, and every `--flag` the document uses appears in it;
- `make TARGET`: `make -n TARGET` knows the target;
- `pytest PATHS`: the paths exist; `promtool test rules FILES`: run for real;
- `locust -f FILES ... USER`: the files exist and `locust --list` names the user classes.

Commands of tools that do not run here (docker, fly, mimirtool, curl against a cloud
account, shell loops) are left out by name: a command of any other program fails the test
until it is given a check or a reason.
"""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
VENV_BIN = Path(sys.executable).parent
# Programs that need Docker, a Fly.io or Grafana Cloud account, or are shell syntax.
NOT_HERE = {"docker", "fly", "mimirtool", "curl", "jq", "for", "done", "export", "open", "git",
            "openssl"}
CHECKED = {"make", "license-demo", "python", "python3", "pytest", "promtool", "locust",
           "run_stress_test.sh", "compose-up.sh", "cd"}
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


@dataclass(frozen=True)
class Command:
    """One documented command: where it stands, the folder it runs in, its words."""

    where: str
    cwd: str
    words: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.where}: {' '.join(self.words)}"


def program(words: tuple[str, ...]) -> str:
    """The program's name: the first word after variable assignments, without its folder."""
    first = next((w for w in words if not ASSIGNMENT.match(w)), "")
    return first.rsplit("/", 1)[-1]


def documented_commands() -> list[Command]:
    """The shell commands of every fenced block in the documents."""
    commands = []
    for document in DOCUMENTS:
        text = document.read_text()
        for block in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
            if block.group(1) not in ("", "bash", "sh", "shell", "console"):
                continue
            line_no = text[:block.start()].count("\n") + 2
            cwd = "."
            for number, line in _joined(block.group(2), line_no):
                words = _words(line)
                name = program(words)
                if name not in CHECKED and name not in NOT_HERE:
                    continue  # output shown in the block, not a command
                if name == "cd":
                    cwd = str(Path(cwd) / words[1])
                    continue
                command = Command(f"{document.relative_to(REPO)}:{number}", cwd, words)
                commands.append(command)
    return commands


def _joined(block: str, first_line: int):
    """(line number, command) pairs: comments dropped, backslash continuations joined."""
    pending, start = "", first_line
    for offset, raw in enumerate(block.splitlines()):
        line = re.sub(r"(^|\s)#\s.*$", "", raw).rstrip()
        if not pending:
            start = first_line + offset
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        for part in re.split(r"\s(?:&&|\|\||;)\s", text):
            if part.strip():
                yield start, part.strip()


def _words(line: str) -> tuple[str, ...]:
    """The line split as a shell would, command substitutions kept as one word."""
    line = re.sub(r"\$\([^)]*\)", "SUBSTITUTED", line)
    try:
        return tuple(shlex.split(line))
    except ValueError:
        return tuple(line.split())


def flags(words) -> list[str]:
    """The long options a command uses (`--name` or `--name=value`)."""
    return [w.split("=", 1)[0] for w in words if re.match(r"^--[a-z]", w)]


@lru_cache(maxsize=None)
def help_text(argv: tuple[str, ...], cwd: str) -> str:
    """What `argv --help` prints; fails the test when it does not exit 0."""
    done = subprocess.run([*argv, "--help"], cwd=REPO / cwd, capture_output=True, text=True,
                          timeout=60, env={"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": "/tmp",
                                           "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, f"{' '.join(argv)} --help failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def check_help(command: Command, argv: tuple[str, ...]) -> None:
    """`argv --help` answers and names every flag the document uses."""
    text = help_text(argv, command.cwd)
    missing = [flag for flag in flags(command.words) if flag not in text and flag != "--help"]
    assert not missing, f"{command}: {missing} not in `{' '.join(argv)} --help`"


def subcommands(words: tuple[str, ...]) -> tuple[str, ...]:
    """`license-demo`'s subcommand words: the leading words its help lists as commands."""
    chosen: tuple[str, ...] = ()
    for word in words:
        if word.startswith("-"):
            break
        listing = help_text((str(VENV_BIN / "license-demo"), *chosen), ".")
        if not re.search(rf"[{{,\s]{re.escape(word)}[,}}\s]", listing):
            break
        chosen += (word,)
    return chosen


def check(command: Command) -> None:
    """Check one command in its dry form (see the module's docstring)."""
    words = tuple(w for w in command.words if not ASSIGNMENT.match(w))
    name = program(words)
    if name == "make":
        for target in [w for w in words[1:] if not w.startswith("-") and "=" not in w]:
            done = subprocess.run(["make", "-n", target], cwd=REPO / command.cwd,
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, f"{command}: {done.stderr}"
    elif name == "license-demo":
        check_help(command, (str(VENV_BIN / "license-demo"), *subcommands(words[1:])))
    elif name in ("python", "python3"):
        assert words[1] == "-m", f"{command}: document the module form, python -m MODULE"
        check_help(command, (sys.executable, "-m", words[2]))
    elif name == "run_stress_test.sh":
        script = REPO / command.cwd / words[0]
        assert script.is_file(), f"{command}: no {script}"
        check_help(command, (str(script),))
    elif name == "compose-up.sh":
        script = REPO / command.cwd / words[0]
        text = script.read_text()
        assert all(flag in text for flag in flags(words)), f"{command}: flag not in {script}"
    elif name == "pytest":
        paths = [w for w in words[1:] if w.startswith("tests")]
        assert all((REPO / command.cwd / p.split("::")[0]).exists() for p in paths), str(command)
    elif name == "promtool":
        done = subprocess.run(list(words), cwd=REPO / command.cwd, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
    elif name == "locust":
        files = next(words[i + 1] for i, w in enumerate(words) if w == "-f").split(",")
        assert all((REPO / command.cwd / f).is_file() for f in files), str(command)
        users = [w for w in words[1:] if re.match(r"^[A-Z]\w+User$", w)]
        listed = subprocess.run([str(VENV_BIN / "locust"), "-f", ",".join(files), "--list"],
                                cwd=REPO / command.cwd, capture_output=True, text=True, timeout=60)
        assert all(user in listed.stdout for user in users), f"{command}: {listed.stdout}"
    else:
        assert name in NOT_HERE, f"{command}: no check for {name!r}"


COMMANDS = documented_commands()


def test_the_documents_hold_the_commands_a_presenter_types():
    """The reader finds the README's own commands (so an empty list cannot pass)."""
    texts = {" ".join(c.words) for c in COMMANDS}
    for expected in ("make demo", "make test", "make stack", "license-demo preflight --reset",
                     "./run_stress_test.sh"):
        assert expected in texts, expected


@pytest.mark.parametrize("command", [c for c in COMMANDS if program(c.words) not in NOT_HERE],
                         ids=str)
def test_documented_command(command):
    """The command's dry form works and knows every flag the document uses."""
    check(command)


def test_a_renamed_flag_fails_the_check():
    """The check itself fails on a flag the command does not have."""
    wrong = Command("example", ".", ("license-demo", "preflight", "--resett"))
    with pytest.raises(AssertionError, match="--resett"):
        check(wrong)
    moved = Command("example", ".", ("python", "-m", "grafana.generate_all"))
    with pytest.raises(AssertionError, match="failed"):
        check(moved)
