"""The simulated engineers: a fixed roster of teams and users, drawn from with a seeded RNG."""
from __future__ import annotations

import random
from dataclasses import dataclass

TEAMS: dict[str, tuple[str, ...]] = {
    "powertrain": ("anna", "jonas", "lukas", "marie", "felix", "sofia", "tobias"),
    "adas": ("chen", "priya", "david", "lena", "omar", "julia"),
    "body-electronics": ("ben", "clara", "niklas", "emma", "paul"),
    "chassis": ("sarah", "max", "hannah", "elias", "mia"),
    "infotainment": ("noah", "laura", "yuki", "leon", "amelie"),
}

# The team whose build job the story is about: it drives DaVinci Configurator SE into
# overage (its engineers use that tool most), so it is the stress test's default team.
BUILD_TEAM = "body-electronics"

# How often each team reaches for each tool; tools missing here get weight 1 (new catalog entries).
TOOL_WEIGHTS: dict[str, dict[str, int]] = {
    "powertrain": {"Vector - DaVinci Configurator SE": 5, "Vector - DaVinci Developer": 3,
                   "Vector - CANoe": 3, "ETAS - INCA": 5, "MathWorks - MATLAB/Simulink": 2,
                   "dSPACE - TargetLink": 1},
    "adas": {"MathWorks - MATLAB/Simulink": 6, "Vector - CANoe": 3, "dSPACE - TargetLink": 3,
             "Vector - DaVinci Developer": 1},
    "body-electronics": {"Vector - DaVinci Configurator SE": 6, "Vector - DaVinci Developer": 4,
                         "Vector - CANoe": 3},
    "chassis": {"ETAS - INCA": 4, "MathWorks - MATLAB/Simulink": 3, "Vector - CANoe": 2,
                "dSPACE - TargetLink": 2},
    "infotainment": {"Vector - CANoe": 5, "Vector - DaVinci Developer": 2,
                     "MathWorks - MATLAB/Simulink": 1},
}


@dataclass(frozen=True)
class Member:
    """One simulated engineer."""

    user: str
    team: str


class Population:
    """The roster for one run: fixed names, order and draws decided by `seed`."""

    def __init__(self, seed: int, team: str | None = None, user_prefix: str | None = None):
        """Shuffle the roster (of one team when `team` is given) with `seed`."""
        if team is not None and team not in TEAMS:
            raise ValueError(f"unknown team {team!r}; choose one of {', '.join(TEAMS)}")
        teams = [team] if team else list(TEAMS)
        self.seed = seed
        self.user_prefix = user_prefix
        self.members = [Member(user, name) for name in teams for user in TEAMS[name]]
        random.Random(seed).shuffle(self.members)

    def worker(self, slot: int) -> Member:
        """The engineer behind worker `slot`: a roster member, or `<prefix>-NN` when a prefix is set."""
        member = self.members[slot % len(self.members)]
        if self.user_prefix:
            return Member(f"{self.user_prefix}-{slot + 1:02d}", member.team)
        return member

    def draw(self, rng: random.Random) -> Member:
        """Any engineer of the roster, for modes where each operation is someone else."""
        return rng.choice(self.members)

    @staticmethod
    def tool_for(member: Member, tools: list[str], rng: random.Random) -> str:
        """A tool `member` would use, weighted by the team's habits, among `tools`."""
        if len(tools) == 1:
            return tools[0]
        habits = TOOL_WEIGHTS.get(member.team, {})
        return rng.choices(tools, weights=[habits.get(tool, 1) for tool in tools])[0]
