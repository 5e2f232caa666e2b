"""The investigation as text for a terminal (readable on a projector), as Markdown and as JSON."""
from __future__ import annotations

ROWS_SHOWN = 5


def _number(value) -> str:
    """A number without noise: 15.0 -> '15', 0.7512 -> '0.751'."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}" if abs(value) < 1 else f"{value:,.2f}"
    return str(value)


def value_text(fact: dict) -> str:
    """A fact's value in one line: numbers with their unit, tables as 'a=1, b=2'."""
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
                cells.append(f"{name} {_number(number)}{extra}" if number is not None else name)
            else:
                cells.append(str(row))
        more = f" … +{len(value) - ROWS_SHOWN}" if len(value) > ROWS_SHOWN else ""
        return ", ".join(cells) + more
    if value is None:
        return "no data"
    if unit == "ratio" and isinstance(value, (int, float)):
        return f"{value:.0%}"
    if unit == "$" and isinstance(value, (int, float)):
        return f"${value:,.2f}"
    return _number(value) + (f" {unit}" if unit and unit not in ("ratio", "$") else "")


def _headline(result: dict) -> str:
    """One line naming the alert, the subject and the time."""
    subject = result["evidence"]["subject"]
    parts = [result.get("alert") or "investigation"]
    parts += [p for p in (result.get("tool"), subject.get("user")) if p]
    return " · ".join(parts) + f" · {result['evidence']['at']}"


def terminal(result: dict, show_queries: bool = True) -> str:
    """The report for a terminal: facts, hypotheses with confidence and evidence, ranked actions."""
    ev = result["evidence"]
    lines = [f"INVESTIGATION  {_headline(result)}"]
    if ev["subject"].get("text"):
        lines.append(f"Asked: {ev['subject']['text']!r}")
    lines.append(f"Window: last {ev['window_seconds'] // 60} min (baseline: the {ev['window_seconds'] // 60} min "
                 f"before); demand lookback {ev['lookback_seconds'] // 3600} h")
    if result.get("incident_url"):
        lines.append(f"Incident {result['incident_id']}: {result['incident_url']}")
    lines += ["", "FACTS"]
    for fact in ev["facts"]:
        lines.append(f"  {fact['label']}: {value_text(fact)}")
        if show_queries:
            lines.append(f"      [{fact['source']}] {fact['query']}")
    lines += ["", "HYPOTHESES (confidence from the rules in license_demo/investigate/hypotheses.py)"]
    for i, h in enumerate(result["hypotheses"], 1):
        lines.append(f"  {i}. {h['confidence']:>4.0%}  {h['title']}")
        lines += [f"          + {s}" for s in h["supports"]]
        lines += [f"          - {w}" for w in h["weakens"]]
    lines += ["", "ACTIONS (nothing changes without approval)"]
    if not result["actions"]:
        lines.append("  none: no hypothesis is likely enough; watch the dashboard and re-run")
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
    lines = [f"### {_headline(result)}", ""]
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
