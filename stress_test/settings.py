"""What one run does: target, tools, mode, profile and limits, passed to every part of the run."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from stress_test.profiles import RETURNING_MODES, Pace, Profile

DEFAULT_SEED = 42
DEFAULT_MAX_SECONDS = 600.0
DEFAULT_MAX_FAIL_RATIO = 0.01
# Cycle modes borrow with a lease so seats come back even if this process is killed outright.
CYCLE_LEASE_SECONDS = 300


@dataclass
class RunSettings:
    """Every choice of a run, made by the menus or the flags."""

    target: str
    tools: list[str]
    mode: str
    profile: Profile
    tool_label: str = ""
    seed: int = DEFAULT_SEED
    team: str | None = None
    user_prefix: str | None = None
    max_seconds: float = DEFAULT_MAX_SECONDS
    max_fail_ratio: float = DEFAULT_MAX_FAIL_RATIO
    summary_path: Path | None = None
    interval: float = 1.0
    web: bool = False
    web_port: int = 8089
    request_timeout: float = 10.0

    @property
    def returns_seats(self) -> bool:
        """True when the mode gives seats back, so leftovers are returned when the run stops."""
        return self.mode in RETURNING_MODES

    @property
    def lease_seconds(self) -> int | None:
        """Lease sent with each borrow: cycle modes only; borrow-only keeps its seats."""
        return CYCLE_LEASE_SECONDS if self.returns_seats else None

    @property
    def planned_operations(self) -> int:
        """Borrow operations the run is meant to make: workers x operations each."""
        return self.profile.workers * self.profile.ops

    def to_dict(self) -> dict:
        """These settings as JSON-ready data (handed to the --web run's own process)."""
        data = asdict(self)
        data["summary_path"] = str(self.summary_path) if self.summary_path else None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "RunSettings":
        """The settings `to_dict` gave."""
        data = dict(data)
        profile = dict(data.pop("profile"))
        pace = profile.pop("pace")
        data["profile"] = Profile(**profile, pace=Pace(think=tuple(pace["think"]),
                                                       hold=tuple(pace["hold"]),
                                                       stagger=pace["stagger"]))
        data["summary_path"] = Path(data["summary_path"]) if data["summary_path"] else None
        return cls(**data)
