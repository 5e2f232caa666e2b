"""Turn what the operator typed into a subject: the tool, user, symptom and alert it names."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Symptom words and the alert each one points to; the first match in this order wins.
SYMPTOMS = (
    (("down", "unreachable", "not responding", "no metrics", "scrape", "offline"),
     "server down", "LicenseServerDown"),
    (("hoard", "one user", "holding", "runaway", "script"), "one user holds many seats",
     "SingleUserHoarding"),
    (("exhausted", "no seat", "no license", "all tools", "nobody can", "cannot borrow",
      "can't borrow", "cant borrow", "out of seats"), "no seats left", "LicensesExhausted"),
    (("fail", "error", "500", "503", "bug", "broken", "deploy"), "borrows failing",
     "BorrowFailureSpike"),
    (("cost", "burn", "bill", "expensive", "spend"), "overage cost", "HighOverageCostBurn"),
    (("overage", "over commit", "above commit"), "overage", "HighOverageRate"),
)
# Words too common in tool names or sentences to identify a tool on their own.
STOPWORDS = {"the", "and", "for", "on", "of", "in", "at", "is", "se", "spike", "alert"}
ALERT_SYMPTOMS = {alert: symptom for _, symptom, alert in SYMPTOMS}
ALERT_SYMPTOMS.update({"OverageLimitReached": "overage", "LicensesExhausted": "no seats left"})


@dataclass
class Subject:
    """What to investigate: the text typed, and the tool, user, team, symptom and alert found in it."""

    text: str = ""
    alert: str | None = None
    tool: str | None = None
    tool_candidates: list[str] = field(default_factory=list)
    user: str | None = None
    team: str | None = None
    symptom: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The subject as JSON-ready data."""
        return {"text": self.text, "alert": self.alert, "tool": self.tool,
                "tool_candidates": self.tool_candidates, "user": self.user, "team": self.team,
                "symptom": self.symptom, "notes": self.notes}


def words(text: str) -> list[str]:
    """Lower-case words of `text` (letters and digits)."""
    return re.findall(r"[a-z0-9]+", text.lower())


def match_tools(text: str, tools: list[str]) -> list[str]:
    """The tools `text` names: a full name wins, else those sharing the most distinctive words."""
    lowered = text.lower()
    full = [t for t in tools if t.lower() in lowered]
    if full:
        return full
    typed = set(words(text)) - STOPWORDS
    scores = {}
    for tool in tools:
        # "matlab/simulink" also answers to "matlab" and "simulink".
        shared = {w for w in words(tool) if len(w) > 2 and w not in STOPWORDS} & typed
        if shared:
            scores[tool] = len(shared)
    best = max(scores.values(), default=0)
    return [t for t, s in scores.items() if s == best] if best else []


def match_name(text: str, names: list[str]) -> str | None:
    """The longest of `names` that appears in `text` as a whole word (case-insensitive)."""
    lowered = text.lower()
    found = [n for n in names if n and re.search(rf"(?<![\w-]){re.escape(n.lower())}(?![\w-])", lowered)]
    return max(found, key=len) if found else None


def parse(text: str, tools: list[str], users: list[str], teams: list[str],
          alert: str | None = None, tool: str | None = None, user: str | None = None) -> Subject:
    """Build the subject from free text and explicit flags (flags win over the text)."""
    subject = Subject(text=text or "", alert=alert)
    if tool:
        exact = [t for t in tools if t.lower() == tool.lower()]
        subject.tool_candidates = exact or match_tools(tool, tools)
        if not subject.tool_candidates:
            subject.notes.append(f"no tool called {tool!r}; known tools: {', '.join(tools)}")
    elif text:
        subject.tool_candidates = match_tools(text, tools)
    if len(subject.tool_candidates) == 1:
        subject.tool = subject.tool_candidates[0]
    subject.user = user or match_name(text, users)
    subject.team = match_name(text, teams)
    lowered = (text or "").lower()
    for keywords, symptom, alert_name in SYMPTOMS:
        if any(k in lowered for k in keywords):
            subject.symptom = symptom
            subject.notes.append(f"read as the symptom {symptom!r}")
            break
    if subject.alert and not subject.symptom:
        subject.symptom = ALERT_SYMPTOMS.get(subject.alert)
    return subject


def symptom_alert(subject: Subject) -> str | None:
    """The alert the typed symptom points to, if any."""
    for _, symptom, alert_name in SYMPTOMS:
        if symptom == subject.symptom:
            return alert_name
    return None
