"""The simulated engineers: the roster's teams and users, drawn from with a seeded RNG."""
from __future__ import annotations

import random
from dataclasses import dataclass

from stress_test.roster import BUILD_TEAM, TEAMS as ROSTER

__all__ = ["BUILD_TEAM", "TEAMS", "TOOL_WEIGHTS", "Member", "Population"]

# Views of the one roster (stress_test/roster.py): the teams that have simulated engineers.
TEAMS: dict[str, tuple[str, ...]] = {name: team.engineers for name, team in ROSTER.items() if team.engineers}
TOOL_WEIGHTS: dict[str, dict[str, int]] = {name: team.tool_weights for name, team in ROSTER.items()
                                           if team.tool_weights}


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
