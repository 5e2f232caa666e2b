"""Render the backup deck as one self-contained HTML file: images as data: URIs, inline CSS, no scripts."""
from __future__ import annotations

import base64
from datetime import datetime, timezone
from html import escape

from license_demo.pacing import clock_text
from license_demo.timestamps import elapsed

STYLE = """
body{font:16px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1320px;padding:24px;color:#1b1f24}
h1{margin:0 0 4px} .meta{color:#57606a;margin:0 0 24px}
section.act{border-top:2px solid #d0d7de;padding:16px 0;page-break-inside:avoid}
section.act h2{margin:0 0 4px;font-size:22px} .when{color:#57606a;font-size:14px}
figure{margin:12px 0} figure img{max-width:100%;border:1px solid #d0d7de}
figcaption{font-size:13px;color:#57606a} ul.say li{margin:2px 0}
.automotive{background:#fff8c5;padding:6px 10px;border-radius:4px}
table{border-collapse:collapse;margin:8px 0 20px} th,td{border:1px solid #d0d7de;padding:4px 10px;text-align:left}
th{background:#f6f8fa} .long{color:#cf222e}
"""


def _iso(at: float | None) -> str:
    """Epoch seconds as a UTC clock time."""
    return datetime.fromtimestamp(at, timezone.utc).strftime("%H:%M:%S UTC") if at else "—"


def _value(value) -> str:
    """A measured value as printed in the deck (numbers as the report holds them, yes/no)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return escape(f"{value:g}" if isinstance(value, float) else str(value))


def _image(shot) -> str:
    """One screenshot embedded as a data: URI."""
    data = base64.b64encode(shot.path.read_bytes()).decode()
    return (f'<figure data-page="{escape(shot.label)}"><img alt="{escape(shot.url)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{escape(shot.url)} at {_iso(shot.at)}'
            f"</figcaption></figure>")


def _acts(journey, report: dict, shots) -> list[str]:
    """One section per act: when, how long against the plan, what was said, the screenshots."""
    by_key = {act.key: act for act in journey.acts}
    pacing = {row["act"]: row for row in report.get("pacing", [])}
    html = []
    for number, entry in enumerate(report["acts"], start=1):
        act, pace = by_key.get(entry["act"]), pacing.get(entry["act"], {})
        planned = pace.get("planned_seconds")
        over = pace.get("over_seconds")
        timing = f"part took {clock_text(pace.get('actual_seconds'))}" + (
            f" of {clock_text(planned)} planned" if planned else "")
        html.append(f'<section class="act" data-act="{escape(entry["act"])}">'
                    f"<h2>{number}. {escape(entry['title'])}</h2>"
                    f'<p class="when">{_iso(entry["started"])} – {_iso(entry["ended"])}, '
                    f'<span class="{"long" if over and over > 0 else ""}">{timing}</span></p>')
        if act and act.say:
            html.append('<ul class="say">' + "".join(f"<li>{escape(line)}</li>" for line in act.say) + "</ul>")
        html += [_image(shot) for shot in shots if shot.act_key == entry["act"]]
        if act and act.automotive:
            html.append(f'<p class="automotive"><b>Automotive:</b> {escape(act.automotive)}</p>')
        html.append("</section>")
    return html


def _tables(report: dict) -> list[str]:
    """The measured numbers, the phases, the cloud-vs-automotive comparison and the pacing."""
    html = ['<h2>Measured numbers</h2><table id="measurements"><tr><th>measurement</th><th>value</th></tr>']
    html += [f'<tr data-measurement="{escape(key)}"><th>{escape(key.replace("_", " "))}</th>'
             f'<td class="value">{_value(value)}</td></tr>' for key, value in report["measurements"].items()]
    html.append('</table><h2>Phases</h2><table id="phases"><tr><th>phase</th><th>from</th><th>to</th>'
                "<th>elapsed</th></tr>")
    html += [f'<tr data-phase="{escape(row["phase"])}"><td>{escape(row["phase"])}</td>'
             f'<td>{_iso(row["started"])}</td><td>{_iso(row["ended"])}</td>'
             f'<td class="elapsed">{elapsed(row["seconds"])}</td></tr>' for row in report["phases"]]
    html.append('</table><h2>Cloud DevOps vs automotive (edge/IoT)</h2><table id="comparison">'
                "<tr><th>step</th><th>cloud DevOps (measured)</th><th>automotive</th></tr>")
    html += [f'<tr><td>{escape(row["step"])}</td><td class="cloud">{escape(row["cloud"])}</td>'
             f'<td>{escape(row["automotive"])}</td></tr>' for row in report["comparison"]]
    html.append(f"<tr><td>total</td><td>{elapsed(report['total_seconds'])}, one team, direct access</td>"
                "<td>weeks to months, 5+ teams, many handoffs</td></tr></table>")
    if report.get("pacing"):
        html.append('<h2>Pacing</h2><table id="pacing"><tr><th>part</th><th>planned</th><th>actual</th></tr>')
        html += [f"<tr><td>{escape(row['title'])}</td><td>{clock_text(row['planned_seconds'])}</td>"
                 f"<td>{clock_text(row['actual_seconds'])}</td></tr>" for row in report["pacing"]]
        html.append("</table>")
    return html


def render(journey, report: dict, shots, problems: list[str]) -> str:
    """The whole deck as one HTML document."""
    notes = report["notes"] + problems
    recorded = _iso(report["acts"][0]["started"]) if report["acts"] else "—"
    day = datetime.fromtimestamp(report["acts"][0]["started"], timezone.utc).date() if report["acts"] else ""
    parts = ["<!doctype html><html lang=en><head><meta charset=utf-8>",
             # No network: everything the page shows is in this file.
             "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; img-src data:; "
             "style-src 'unsafe-inline'\">",
             f"<title>{escape(journey.title)}: backup deck</title><style>{STYLE}</style></head><body>",
             f"<h1>{escape(journey.title)}</h1>",
             f'<p class="meta">Backup deck recorded from a rehearsal on {day} at {recorded} '
             f"({escape(report['mode'])} mode, seed {report['seed']}), total "
             f"{elapsed(report['total_seconds'])}. {escape(journey.story)}</p>",
             *_acts(journey, report, shots), *_tables(report)]
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
