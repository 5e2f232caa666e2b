"""The timeline report of a rehearsal: phases with elapsed times and the cloud-vs-automotive table."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from license_demo import pacing
from license_demo.timestamps import elapsed
from license_demo.journeys.journey_runner import Journey, Timeline

# The automotive column of the demo guide's comparison, one row per phase of a journey:
# field data upload, the L1 → L2 → L3 handoffs, the OTA rollout, field confirmation.
AUTOMOTIVE = {
    "detect": "Hours to days: vehicle data uploaded, aggregated, reviewed by L1",
    "investigate and fix": "Days to weeks: L1 → L2 → L3, analysis, a fix developed and tested",
    "fix effective": "Months: the OTA update scheduled and rolled out",
    "verify": "Months: field data confirms the fix",
}


def _iso(at: float | None) -> str:
    """Epoch seconds as ISO 8601 UTC (or a dash)."""
    if at is None:
        return "—"
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds")


def phase_rows(journey: Journey, timeline: Timeline) -> list[dict]:
    """Each phase of the journey with its start, end and elapsed seconds (None when missing)."""
    rows = []
    for label, start, end in journey.phases:
        t0 = timeline.events.get(start, {}).get("at")
        t1 = timeline.events.get(end, {}).get("at")
        rows.append({"phase": label, "from": start, "to": end, "started": t0, "ended": t1,
                     "seconds": (t1 - t0) if t0 is not None and t1 is not None else None})
    return rows


def to_json(journey: Journey, timeline: Timeline) -> dict:
    """The machine-readable report."""
    rows = phase_rows(journey, timeline)
    first = min((e["at"] for e in timeline.events.values()), default=None)
    last = max((e["at"] for e in timeline.events.values()), default=None)
    return {
        "journey": journey.name, "title": journey.title, "mode": timeline.mode,
        "seed": timeline.seed, "events": timeline.events, "acts": timeline.acts,
        "phases": rows, "total_seconds": (last - first) if first is not None else None,
        "complete": all(r["seconds"] is not None for r in rows),
        "measurements": timeline.measurements, "notes": timeline.notes,
        "comparison": comparison(rows, journey.automotive),
        "pacing": pacing.rows(journey.name, timeline.acts),
    }


def comparison(rows: list[dict], automotive: list[str] | None = None) -> list[dict]:
    """The guide's cloud-vs-automotive table, the cloud column filled with measured times."""
    column = automotive or list(AUTOMOTIVE.values())
    return [{"step": row["phase"], "cloud": elapsed(row["seconds"]), "automotive": text}
            for row, text in zip(rows, column)]


def to_markdown(journey: Journey, timeline: Timeline) -> str:
    """The report as Markdown: events, phases, measurements, the comparison table."""
    data = to_json(journey, timeline)
    lines = [f"# {journey.title}: rehearsal report", "",
             f"Mode {timeline.mode}, seed {timeline.seed}, total {elapsed(data['total_seconds'])}.", "",
             "## Timeline", "", "| moment | time (UTC) | seen via |", "|---|---|---|"]
    for name, event in sorted(timeline.events.items(), key=lambda kv: kv[1]["at"]):
        lines.append(f"| {name.replace('_', ' ')} | {_iso(event['at'])} | {event.get('source', '')} |")
    lines += ["", "## Phases", "", "| phase | from | to | elapsed |", "|---|---|---|---|"]
    for row in data["phases"]:
        lines.append(f"| {row['phase']} | {row['from'].replace('_', ' ')} | "
                     f"{row['to'].replace('_', ' ')} | {elapsed(row['seconds'])} |")
    if timeline.measurements:
        lines += ["", "## Measurements", "", "| measurement | value |", "|---|---|"]
        for key, value in timeline.measurements.items():
            lines.append(f"| {key.replace('_', ' ')} | {value} |")
    lines += ["", "## Cloud DevOps vs automotive (edge/IoT)", "",
              "| step | cloud DevOps (measured) | automotive |", "|---|---|---|"]
    for row in data["comparison"]:
        lines.append(f"| {row['step']} | {row['cloud']} | {row['automotive']} |")
    lines.append(f"| total | {elapsed(data['total_seconds'])}, one team, direct access | "
                 "weeks to months, 5+ teams, many handoffs |")
    lines += pacing.markdown(journey.name, timeline.acts)
    if timeline.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in timeline.notes]
    return "\n".join(lines) + "\n"


def write(journey: Journey, timeline: Timeline, directory: Path) -> tuple[Path, Path]:
    """Write `<journey>-<time>.md` and `.json` into `directory`; return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    md_path = directory / f"{journey.name}-{stamp}.md"
    json_path = directory / f"{journey.name}-{stamp}.json"
    md_path.write_text(to_markdown(journey, timeline))
    json_path.write_text(json.dumps(to_json(journey, timeline), indent=2, default=str) + "\n")
    return md_path, json_path
