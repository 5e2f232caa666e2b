"""Who to tell about a team's usage: the team lead and the team's channel (overridable by a YAML file)."""
from __future__ import annotations

from pathlib import Path

import yaml

from stress_test.roster import TEAMS as ROSTER

# The roster's leads and channels; a YAML file with the same shape (`teams: {name: {lead, channel}}`)
# replaces them.
TEAMS = {name: {"lead": team.lead, "channel": team.channel} for name, team in ROSTER.items()}


def load(path: str | None) -> dict:
    """The team contacts: the built-in ones, or those of the YAML file at `path`."""
    if not path:
        return TEAMS
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read contacts file {path}: {exc}") from exc
    teams = data.get("teams") if isinstance(data, dict) else None
    if not isinstance(teams, dict):
        raise ValueError(f"{path} must hold `teams: {{name: {{lead: ..., channel: ...}}}}`")
    return teams


def contact(teams: dict, team: str | None) -> dict:
    """The lead and channel for `team`; unknown teams get a channel named after them."""
    name = team or "unknown"
    return teams.get(name) or {"lead": f"the lead of team {name}", "channel": f"#team-{name}"}
