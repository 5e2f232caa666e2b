"""The answer every investigator gives the evaluation (docs/agents.md documents it), and how the
built-in investigator's result reads as one.

    {"detection":    {"alert": "HighOverageRate" | null},
     "localisation": {"tool": "..." | null, "team": "..." | null, "user": "..." | null},
     "root_cause":   "build_job" | "commit_too_low" | "hoarding" | "bad_deployment" | "server_down" | null,
     "mitigation":   {"action": "raise-commit" | "notify-team" | "force-return" | "rollback" |
                                "restart-server" | "check-scrape" | null,
                      "parameters": {...}},
     "actions":      [{"action": ..., "parameters": {...}}, ...],   # optional: every proposal, in order
     "summary":      "..."}                                         # optional
"""
from __future__ import annotations

STEPS = ("detection", "localisation", "root_cause", "mitigation")
ROOT_CAUSES = ("build_job", "commit_too_low", "hoarding", "bad_deployment", "server_down")


class AnswerError(ValueError):
    """An answer that does not follow the schema; the message says which field and what to send."""


def _name(value, field: str) -> str | None:
    """A name field: a non-empty string or null."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise AnswerError(f"{field} must be a string or null, not {type(value).__name__}")
    return value


def _action(entry, field: str) -> dict:
    """One {"action", "parameters"} entry."""
    if not isinstance(entry, dict):
        raise AnswerError(f'{field} must be an object like {{"action": "raise-commit", "parameters": {{}}}}')
    params = entry.get("parameters") or {}
    if not isinstance(params, dict):
        raise AnswerError(f"{field}.parameters must be an object")
    return {"action": _name(entry.get("action"), f"{field}.action"), "parameters": params}


def normalise(raw) -> dict:
    """The answer with every field present (missing ones null); AnswerError when a field has the wrong shape."""
    if not isinstance(raw, dict):
        raise AnswerError("the answer must be a JSON object with detection, localisation, root_cause, mitigation")
    detection = raw.get("detection") or {}
    place = raw.get("localisation") or {}
    if not isinstance(detection, dict) or not isinstance(place, dict):
        raise AnswerError('detection and localisation must be objects, e.g. {"alert": null}, {"tool": "..."}')
    mitigation = _action(raw.get("mitigation") or {}, "mitigation")
    actions = raw.get("actions") or ([mitigation] if mitigation["action"] else [])
    if not isinstance(actions, list):
        raise AnswerError("actions must be a list of {action, parameters}")
    return {"detection": {"alert": _name(detection.get("alert"), "detection.alert")},
            "localisation": {k: _name(place.get(k), f"localisation.{k}") for k in ("tool", "team", "user")},
            "root_cause": _name(raw.get("root_cause"), "root_cause"), "mitigation": mitigation,
            "actions": [_action(a, f"actions[{i}]") for i, a in enumerate(actions)],
            "summary": str(raw.get("summary") or "")[:500]}


def _parameters(action: dict, hypotheses: list[dict]) -> dict:
    """What an action acts on, from its admin request, target or hypothesis."""
    request, target = action.get("request") or {}, action.get("target") or {}
    if action["id"] == "raise-commit":
        return dict(request.get("json") or {})
    if action["id"] == "force-return":
        return {"user": target.get("user")}
    if action["id"] == "notify-team":
        subject = next((h["subject"] for h in hypotheses if h["key"] == action.get("hypothesis")), {})
        return {"team": subject.get("team")}
    return {}


def from_result(result: dict) -> dict:
    """The built-in investigator's result (its JSON, or the MCP investigate tool's) as an answer."""
    hypotheses = result.get("hypotheses") or []
    top = result.get("top_hypothesis")
    subject = next((h.get("subject") or {} for h in hypotheses if h["key"] == top), {}) if top else {}
    actions = [{"action": a["id"], "parameters": _parameters(a, hypotheses)} for a in result.get("actions") or []]
    return normalise({
        "detection": {"alert": result.get("alert") if result.get("alert_firing") else None},
        "localisation": {"tool": result.get("tool") or subject.get("tool"), "team": subject.get("team"),
                         "user": subject.get("user")},
        "root_cause": top, "mitigation": actions[0] if actions else {}, "actions": actions,
        "summary": result.get("summary")})
