"""What one run does: target, tools, mode, profile and limits, passed to every part of the run."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from stress_test.profiles import RETURNING_MODES, CapacityLimits, Pace, Profile

DEFAULT_SEED = 42
DEFAULT_MAX_SECONDS = 600.0
DEFAULT_MAX_FAIL_RATIO = 0.01
DEFAULT_MASTER_PORT = 5557  # Locust's own default for --master-bind-port
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
    # One folder of reports per run (Locust's HTML report and CSVs, the summary); None: none.
    report_dir: Path | None = None
    max_p95_ms: float | None = None
    max_p99_ms: float | None = None
    # Distributed runs: this process is the master of `workers_expected` Locust workers
    # (forked here with --processes, or started elsewhere with --worker); 0: a local run.
    workers_expected: int = 0
    processes: int = 0  # of those, forked on this machine (--processes)
    master_bind_host: str = "127.0.0.1"
    master_port: int = DEFAULT_MASTER_PORT
    capacity: "CapacityLimits | None" = None

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
        for name in ("summary_path", "report_dir"):
            data[name] = str(data[name]) if data[name] else None
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
        for name in ("summary_path", "report_dir"):
            data[name] = Path(data[name]) if data.get(name) else None
        if data.get("capacity"):
            data["capacity"] = CapacityLimits(**data["capacity"])
        return cls(**data)
