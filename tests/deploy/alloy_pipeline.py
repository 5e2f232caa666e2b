"""Run loki/config.alloy's loki.process stages over a log line, as Alloy does, to get its labels.

Covers the stages the config uses: stage.json (top-level field expressions), stage.template
(Go text/template: `if`/`else if`/`else`/`end`, `not`, `eq` with several operands, `ToLower`,
`$var :=`, `.Value`) and stage.labels. Go's rules that matter here are kept: a field the json
stage did not find is nil for the template, `eq` with a nil operand is false, `ToLower` of nil
fails (the stage then keeps the value it had), a template rendering "" removes the value, and
stage.labels sets no label for a missing value.
"""
from __future__ import annotations

import json
import re

from alloy_syntax import Block

ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


class TemplateError(ValueError):
    """What makes Go's text/template fail at execution time."""


def _operand(token: str, scope: dict):
    """The value of one operand: a string literal, `.Value` or a `$variable`."""
    if token.startswith('"'):
        return json.loads(token)
    if token == ".Value":
        return scope.get(".Value")
    if token.startswith("$"):
        return scope[token]
    raise TemplateError(f"unsupported operand {token!r}")


def _call(expr: str, scope: dict):
    """Evaluate a pipeline such as `eq $l "a" "b"`, `not .Value` or `ToLower .Value`."""
    tokens = re.findall(r'"(?:[^"\\]|\\.)*"|\S+', expr)
    name, args = tokens[0], [_operand(t, scope) for t in tokens[1:]]
    if name == "not":
        return not args[0]
    if name == "eq":
        # Go: an operand that is nil compares unequal to everything, without an error.
        return args[0] is not None and any(args[0] == other for other in args[1:])
    if name == "ToLower":
        if not isinstance(args[0], str):
            raise TemplateError("wrong type for value; expected string")
        return args[0].lower()
    if not args:
        return _operand(name, scope)
    raise TemplateError(f"unsupported function {name!r}")


def render(template: str, value) -> str:
    """Execute `template` with `.Value` = `value` (None for a field that is missing)."""
    parts = []  # ("text", s) or ("action", s)
    pos = 0
    for match in ACTION.finditer(template):
        parts.append(("text", template[pos:match.start()]))
        parts.append(("action", match.group(1)))
        pos = match.end()
    parts.append(("text", template[pos:]))
    scope = {".Value": value}
    out: list[str] = []
    # A stack of (emitting, branch already taken) for nested ifs.
    stack: list[tuple[bool, bool]] = []

    def emitting() -> bool:
        return all(e for e, _ in stack)

    for kind, text in parts:
        if kind == "text":
            if emitting():
                out.append(text)
            continue
        if text.startswith("if "):
            outer = emitting()
            cond = bool(_call(text[3:], scope)) if outer else False
            stack.append((cond, cond))
        elif text.startswith("else if "):
            _, taken = stack.pop()
            outer = emitting()
            cond = (not taken) and outer and bool(_call(text[8:], scope))
            stack.append((cond, taken or cond))
        elif text == "else":
            _, taken = stack.pop()
            stack.append((not taken, True))
        elif text == "end":
            stack.pop()
        elif ":=" in text:
            if emitting():
                name, expr = (s.strip() for s in text.split(":=", 1))
                scope[name] = _call(expr, scope)
        elif emitting():
            out.append(str(_call(text, scope)))
    return "".join(out)


def labels(process: Block, static: dict, line: str) -> dict:
    """The stream labels Alloy's `process` block gives `line` (starting from `static`)."""
    extracted: dict = {}
    result = dict(static)
    for stage in process.blocks:
        if stage.name == "stage.json":
            try:
                data = json.loads(line)
            except ValueError:
                continue  # Alloy logs the parse error and passes the line on unchanged
            if isinstance(data, dict):
                for name, field in stage.attributes["expressions"].items():
                    extracted[name] = data.get(field)
        elif stage.name == "stage.template":
            source = stage.attributes["source"]
            try:
                text = render(stage.attributes["template"], extracted.get(source))
            except TemplateError:
                continue  # the stage keeps the value it had
            if text:
                extracted[source] = text
            else:
                extracted.pop(source, None)
        elif stage.name == "stage.labels":
            for name, source in stage.attributes["values"].items():
                value = extracted.get(source or name)
                if value not in (None, ""):
                    result[name] = str(value)
    return result
