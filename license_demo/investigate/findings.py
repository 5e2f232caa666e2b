"""The investigation as text for a terminal (readable on a projector), as Markdown and as JSON."""
from __future__ import annotations

from license_demo.investigate import wording

ROWS_SHOWN = 5
PLURALS = {"expiry": "expiries"}


def _number(value) -> str:
    """A number without noise: 15.0 -> '15', 0.7512 -> '0.751'."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}" if abs(value) < 1 else f"{value:,.2f}"
    return str(value)


def with_unit(value, unit: str) -> str:
    """A number with its unit: '$2,250.00', '75%', '4 min', '15 seats', '1 checkout', '0.75 ratio' never."""
    if value is None:
        return "no data"
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    if unit == "ratio":
        return f"{value:.0%}"
    if unit == "$":
        return f"${value:,.2f}"
    if unit == "$/h":
        return f"${value:,.2f}/h"
    if unit == "s":
        return wording.duration(value)
    if unit == "up":
        return f"{_number(value)} ({'scraped' if value >= 1 else 'failing'})"
    if unit:
        return wording.plural(value, unit, PLURALS.get(unit))
    return _number(value)


def value_text(fact: dict) -> str:
    """A fact's value in one line: numbers with their unit, tables as 'a 1 seat, b 2 seats'."""
    value, unit = fact["value"], fact.get("unit", "")
    if isinstance(value, list):
        if not value:
            return "none"
        cells = []
        for row in value[:ROWS_SHOWN]:
            if isinstance(row, dict):
                name = " ".join(str(v) for k, v in row.items() if k not in ("value", "seats", "overage") and v)
                number = row.get("value", row.get("seats"))
                extra = f" ({row['overage']} overage)" if "overage" in row else ""
                cells.append(f"{name} {with_unit(number, unit)}{extra}" if number is not None else name)
            else:
                cells.append(str(row))
        more = f" … +{len(value) - ROWS_SHOWN} more" if len(value) > ROWS_SHOWN else ""
        return ", ".join(cells) + more
    return with_unit(value, unit)


def _headline(result: dict) -> str:
    """One line naming the alert, the subject and the time."""
    subject = result["evidence"]["subject"]
    parts = [result.get("alert") or "investigation"]
    parts += [p for p in (result.get("tool"), subject.get("user")) if p]
    return " · ".join(parts) + f" · {result['evidence']['at']}"


def _window_line(ev: dict) -> str:
    """How far back the facts look, and since when (a reset shortens the windows)."""
    base = ev.get("baseline_seconds", ev["window_seconds"])
    line = (f"Window: last {wording.duration(ev['window_seconds'])} (baseline: "
            f"{'the ' + wording.duration(base) + ' before' if base else 'none, the server was reset'}); "
            f"demand lookback {wording.duration(ev['lookback_seconds'])}")
    return line + (f"; nothing before the reset at {ev['since_reset']}" if ev.get("since_reset") else "")


def terminal(result: dict, show_queries: bool = True) -> str:
    """The report for a terminal: facts, hypotheses with confidence and evidence, ranked actions."""
    ev = result["evidence"]
    lines = [f"INVESTIGATION  {_headline(result)}"]
    if ev["subject"].get("text"):
        lines.append(f"Asked: {ev['subject']['text']!r}")
    lines.append(_window_line(ev))
    lines.append(f"Result: {result['summary']}")
    if result.get("error") and result["error"] != result["summary"]:
        lines.append(f"ERROR: {result['error']}")
    if result.get("incident_url"):
        lines.append(f"Incident {result['incident_id']}: {result['incident_url']}")
    lines += ["", "FACTS"]
    for fact in ev["facts"]:
        lines.append(f"  {fact['label']}: {value_text(fact)}")
        if show_queries:
            lines.append(f"      [{fact['source']}] {fact['query']}")
    lines += ["", "HYPOTHESES (confidence from the rules in license_demo/investigate/hypotheses.py)"]
    if not result["hypotheses"]:
        lines.append("  none: without the server the facts are too few to weigh causes")
    for i, h in enumerate(result["hypotheses"], 1):
        lines.append(f"  {i}. {h['confidence']:>4.0%}  {h['title']}")
        lines += [f"          + {s}" for s in h["supports"]]
        lines += [f"          - {w}" for w in h["weakens"]]
    lines += ["", "ACTIONS (nothing changes without approval)"]
    if not result["actions"]:
        lines.append("  none: nothing abnormal to fix" if result["status"] == "nothing_abnormal" else
                     "  none: no hypothesis is likely enough; watch the dashboard and re-run")
    for a in result["actions"]:
        lines.append(f"  {a['priority']}. [{a['id']}] {a['title']}")
        lines.append(f"       why:  {a['why']}")
        lines.append(f"       risk: {a['risk']}")
        lines.append(f"       $ {a['curl']}")
        lines.append(f"       $ {a['command']}")
    if ev["notes"] or result.get("notes"):
        lines += ["", "NOTES"] + [f"  - {n}" for n in ev["notes"] + result.get("notes", [])]
    return "\n".join(lines)


def markdown(result: dict) -> str:
    """The same report as Markdown, attached to the incident."""
    ev = result["evidence"]
    lines = [f"### {_headline(result)}", "", f"**{result['summary']}**", ""]
    if ev["subject"].get("text"):
        lines += [f"Asked: *{ev['subject']['text']}*", ""]
    lines += ["**Facts**", "", "| fact | value | query |", "|---|---|---|"]
    for fact in ev["facts"]:
        query = fact["query"].replace("|", "\\|")
        lines.append(f"| {fact['label']} | {value_text(fact).replace('|', '/')} | `{query}` |")
    lines += ["", "**Hypotheses**", ""]
    for i, h in enumerate(result["hypotheses"], 1):
        lines.append(f"{i}. **{h['confidence']:.0%}** {h['title']}")
        lines += [f"   - supports: {s}" for s in h["supports"]]
        lines += [f"   - weakens: {w}" for w in h["weakens"]]
    lines += ["", "**Actions**", ""]
    for a in result["actions"]:
        lines += [f"{a['priority']}. `{a['id']}` {a['title']}: {a['why']}. Risk: {a['risk']}",
                  "   ```", f"   {a['curl']}", f"   {a['command']}", "   ```"]
    return "\n".join(lines)
