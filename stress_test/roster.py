"""The organisation's roster: its teams, their engineers and tool habits, leads, channels and growth.

The server knows teams only as the `team` of a borrow; the stress test, the baseline load,
the generated history and the investigator's contacts all take their teams from here.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Team:
    """One team: its simulated engineers (none: it appears only as a contact) and who to tell."""

    lead: str
    channel: str
    engineers: tuple[str, ...] = ()
    # How often the team reaches for each tool; tools missing here get weight 1 (new catalog entries).
    tool_weights: dict[str, int] = field(default_factory=dict)


TEAMS: dict[str, Team] = {
    "powertrain": Team(
        "Katrin Weber (powertrain lead)", "#team-powertrain",
        ("anna", "jonas", "lukas", "marie", "felix", "sofia", "tobias"),
        {"Vector - DaVinci Configurator SE": 5, "Vector - DaVinci Developer": 3, "Vector - CANoe": 3,
         "ETAS - INCA": 5, "MathWorks - MATLAB/Simulink": 2, "dSPACE - TargetLink": 1}),
    "adas": Team(
        "Raj Patel (ADAS lead)", "#team-adas",
        ("chen", "priya", "david", "lena", "omar", "julia"),
        {"MathWorks - MATLAB/Simulink": 6, "Vector - CANoe": 3, "dSPACE - TargetLink": 3,
         "Vector - DaVinci Developer": 1}),
    "body-electronics": Team(
        "Jana Novak (body electronics lead)", "#team-body-electronics",
        ("ben", "clara", "niklas", "emma", "paul"),
        {"Vector - DaVinci Configurator SE": 6, "Vector - DaVinci Developer": 4, "Vector - CANoe": 3}),
    "chassis": Team(
        "Tom Berger (chassis lead)", "#team-chassis",
        ("sarah", "max", "hannah", "elias", "mia"),
        {"ETAS - INCA": 4, "MathWorks - MATLAB/Simulink": 3, "Vector - CANoe": 2, "dSPACE - TargetLink": 2}),
    "infotainment": Team(
        "Mei Lin (infotainment lead)", "#team-infotainment",
        ("noah", "laura", "yuki", "leon", "amelie"),
        {"Vector - CANoe": 5, "Vector - DaVinci Developer": 2, "MathWorks - MATLAB/Simulink": 1}),
    "platform": Team("Oskar Lind (platform and CI lead)", "#platform-ci"),
}

# The team whose build job the story is about: it drives DaVinci Configurator SE into
# overage (its engineers use that tool most), so it is the stress test's default team.
BUILD_TEAM = "body-electronics"

# The generated thirty days of history: each team's size on day 0 and day 30 (one is hiring)
# and words naming the tools it uses, in the order the generator draws them.
HISTORY_TEAMS: dict[str, tuple[int, int, list[str]]] = {
    "powertrain": (8, 8, ["DaVinci Configurator SE", "CANoe", "TargetLink"]),
    "body-electronics": (6, 6, ["DaVinci Configurator SE", "CANoe", "Developer"]),
    "adas": (5, 12, ["DaVinci Configurator SE", "MATLAB", "Simulink"]),
    "chassis": (4, 4, ["INCA", "MATLAB", "TargetLink"]),
}
