"""Refuse malformed requests before any view, parser or database sees them.

Every refusal is a 4xx in the API's `{"error", "detail"}` shape (through abort()) and
changes nothing. What is checked, in order:

- the body size against MAX_CONTENT_LENGTH (413; werkzeug enforces it again while reading);
- the path and the query string: no control characters (NUL included) or lone surrogates;
- a JSON body: valid UTF-8 JSON, nested at most MAX_JSON_DEPTH levels (deeper would exhaust
  Python's recursion), integers of at most MAX_INTEGER_DIGITS digits (Python refuses to read
  more than 4300), finite numbers only, and no NUL or lone surrogate in any string;
- a form body: no NUL or lone surrogate in any field.

Schemas refuse the other control characters in identifiers (tool, user, team, id).
"""
from __future__ import annotations

import json
import re

from flask import abort, current_app, request

# Strings or brackets: what the depth scan needs to see of a JSON text.
TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)
CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
NUL_OR_SURROGATE = re.compile(r"[\x00\ud800-\udfff]")


class Refused(ValueError):
    """A JSON number the server will not read."""


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text` (strings skipped)."""
    depth = deepest = 0
    for match in TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def bounded_int(max_digits: int):
    """A json parse_int refusing integers longer than `max_digits` digits."""

    def parse(digits: str) -> int:
        if len(digits.lstrip("-")) > max_digits:
            raise Refused(f"an integer has {len(digits.lstrip('-'))} digits; at most "
                          f"{max_digits} are accepted")
        return int(digits)

    return parse


def finite_float(text: str) -> float:
    """A json parse_float refusing numbers too large to be finite."""
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise Refused(f"the number {text[:40]} is too large")
    return value


def refuse_constant(name: str):
    """NaN and Infinity are not JSON."""
    raise Refused(f"{name} is not a JSON number")


def strings_of(value):
    """Every string (keys included) in a parsed JSON value."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def check_json_body(limits: dict) -> None:
    """Abort 400 unless the body is JSON the views can read safely."""
    raw = request.get_data(cache=True)
    if not raw:
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        abort(400, "The request body is not valid UTF-8: send JSON encoded as UTF-8.")
    if json_depth(text) > limits["MAX_JSON_DEPTH"]:
        abort(400, f"The JSON body is nested more than {limits['MAX_JSON_DEPTH']} levels deep; "
                   "send a flat object as the API documents (GET /openapi.json).")
    try:
        body = json.loads(text, parse_int=bounded_int(limits["MAX_INTEGER_DIGITS"]),
                          parse_float=finite_float, parse_constant=refuse_constant)
    except Refused as exc:
        abort(400, f"The JSON body is refused: {exc}.")
    except (ValueError, RecursionError) as exc:
        abort(400, f"The request body is not valid JSON ({str(exc)[:120]}); send a JSON object "
                   "with Content-Type: application/json.")
    if any(NUL_OR_SURROGATE.search(s) for s in strings_of(body)):
        abort(400, "The JSON body contains a NUL character or an unpaired surrogate (\\u0000, "
                   "\\ud800-\\udfff); remove it.")


# Paths with their own body limit: the setting (or bytes) and what to do when over it.
# Alertmanager groups alerts into one notification, hence its larger limit.
PATH_LIMITS = {
    "/api/alerts/webhook": ("WEBHOOK_MAX_CONTENT_LENGTH", "send fewer alerts per notification"),
    "/api/client-errors": (16_384, "send the message and a shortened stack"),
}


def guard() -> None:
    """The before_request hook: refuse what no view can handle, before any view runs."""
    config = current_app.config
    setting, advice = PATH_LIMITS.get(request.path, ("MAX_CONTENT_LENGTH", "send less"))
    limit = config.get(setting) if isinstance(setting, str) else setting
    if setting != "MAX_CONTENT_LENGTH":
        request.max_content_length = limit
    if limit and request.content_length and request.content_length > limit:
        where = f" ({setting})" if isinstance(setting, str) else ""
        abort(413, f"The request body is {request.content_length} bytes; the server accepts at "
                   f"most {limit}{where} here: {advice}.")
    if CONTROL.search(request.path) or any(CONTROL.search(key) or CONTROL.search(value)
                                           for key, value in request.args.items(multi=True)):
        abort(400, "The URL contains a control character (such as %00); remove it.")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.is_json:
            check_json_body(config)
        elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if any(NUL_OR_SURROGATE.search(key) or NUL_OR_SURROGATE.search(value)
                   for key, value in request.form.items(multi=True)):
                abort(400, "A form field contains a NUL character; remove it and submit again.")


def init_app(app) -> None:
    """Register the guard; create_app calls this before any blueprint adds its own hooks."""
    app.before_request(guard)
