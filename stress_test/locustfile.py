"""Locust users: engineers borrowing and returning seats of the license server's tools.

`python -m stress_test` runs these classes as a library. They also run with plain Locust,
from the repository root (one class per behaviour, chosen on the command line):

    locust -f stress_test/locustfile.py --host http://localhost:8000 -u 20 FullCycleUser
    locust -f stress_test/locustfile.py,stress_test/shapes.py --host ... -u 20 SpikeUser

Options of their own: --license-tool, --license-ops, --license-pace, --license-seed,
--license-team, --license-user-prefix (see `locust -f stress_test/locustfile.py --help`).
"""
from __future__ import annotations

import random
import uuid

from locust import HttpUser, events, task
from locust.exception import StopUser

from stress_test import tracing
from stress_test.headers import SYNTHETIC, request_headers
from stress_test.run_state import Retried, RunState, Seat, run_of


# Sends of one borrow when the connection fails (the first one included).
BORROW_ATTEMPTS = 3


class LicenseUser(HttpUser):
    """Shared behaviour: claim a worker slot, count operations, borrow and return seats."""

    abstract = True
    mode = ""

    def on_start(self) -> None:
        """Take a worker slot (its name and team) and a seeded random generator of its own."""
        self.run: RunState = run_of(self.environment)
        self.slot = self.run.quota.claim_slot()
        # Seeded per slot, so a worker behaves alike whatever the scheduling order.
        self.rng = random.Random(f"{self.run.settings.seed}:{self.slot}")
        self.member = self.run.population.worker(self.slot) if self.slot is not None else None
        self.client.headers.update(SYNTHETIC)
        stagger = self.run.settings.profile.pace.stagger
        if stagger:
            self.run.stopping.wait(self.rng.uniform(0, stagger))

    def on_stop(self) -> None:
        """Free the slot for the next user of a pooled budget."""
        if getattr(self, "slot", None) is not None:
            self.run.quota.release_slot(self.slot)

    def wait_time(self) -> float:
        """Think time between two operations, from the profile's pace."""
        low, high = self.run.settings.profile.pace.think
        return self.rng.uniform(low, high)

    @task
    def operate(self) -> None:
        """One borrow operation of this worker's budget; stop the user when it is spent."""
        if not self.run.quota.take(self.slot):
            raise StopUser()
        try:
            self.operation()
        finally:
            self.run.quota.finish()

    def operation(self) -> None:
        """What one operation does; each behaviour defines it."""
        raise NotImplementedError

    def pick_tool(self, member) -> str:
        """The tool this operation borrows, weighted by the member's team habits."""
        return self.run.population.tool_for(member, self.run.settings.tools, self.rng)

    def borrow(self, member, tool: str, keep: bool) -> dict | None:
        """POST /api/borrow; a 409 (no seat left) is a refusal, not a failure.

        Each operation carries its own Idempotency-Key and is sent again (at most
        BORROW_ATTEMPTS times) when the connection fails: the server answers a retry with the
        seat the lost answer held, so no seat is orphaned and none is taken twice.
        """
        body = {"tool": tool, "user": member.user, "team": member.team}
        if self.run.settings.lease_seconds and not keep:
            body["lease_seconds"] = self.run.settings.lease_seconds
        key = uuid.uuid4().hex
        with tracing.operation("borrow", tool=tool, user=member.user, team=member.team):
            for attempt in range(1, BORROW_ATTEMPTS + 1):
                with tracing.attempt("POST", "/api/borrow") as sent, self.client.post(
                        "/api/borrow", json=body, name="borrow",
                        headers={**request_headers(), **sent.headers, "Idempotency-Key": key},
                        timeout=self.run.settings.request_timeout, catch_response=True,
                        context={"tool": tool}) as response:
                    sent.answered(response.status_code)
                    if response.status_code == 0 and attempt < BORROW_ATTEMPTS:
                        # No answer at all (connection refused, reset or timed out): send it again.
                        response.failure(Retried(f"no answer ({response.error}); sent again with the same key"))
                        continue
                    return self._borrowed(response, tool, keep)
        return None

    def _borrowed(self, response, tool: str, keep: bool) -> dict | None:
        """Book one borrow answer: a granted seat, a refusal or a failure."""
        if response.status_code == 201:
            try:
                seat = response.json()
                seat["id"]
            except (ValueError, KeyError, TypeError):
                response.failure(f"201 without a borrow in the body: {response.text[:120]!r}")
                return None
            response.success()
            self.run.granted(seat, keep)
            return seat
        if response.status_code == 409:
            response.success()
            self.run.refused(tool)
            return None
        response.failure(describe(response))
        return None

    def give_back(self, seat: dict) -> None:
        """POST /api/return; a seat the server already freed (lease, admin) counts as back."""
        held = Seat(seat["id"], seat["tool"], seat["user"], bool(seat.get("overage")))
        with tracing.operation("return", tool=held.tool, user=held.user), \
                tracing.attempt("POST", "/api/return") as sent, \
                self.client.post("/api/return", json={"id": held.id}, name="return",
                                 headers={**request_headers(), **sent.headers}, catch_response=True,
                                 timeout=self.run.settings.request_timeout,
                                 context={"tool": held.tool}) as response:
            sent.answered(response.status_code)
            if response.status_code in (200, 409):
                response.success()
                self.run.returned(held, already=response.status_code == 409)
            else:
                # The seat stays in the run's ledger; the end of the run tries again.
                response.failure(describe(response))

    def hold(self) -> None:
        """Keep the seat for a short random time; ends at once when the run is stopping."""
        low, high = self.run.settings.profile.pace.hold
        self.run.stopping.wait(self.rng.uniform(low, high))

    def cycle(self, member) -> None:
        """Borrow, hold, return: one engineer's short use of a tool."""
        seat = self.borrow(member, self.pick_tool(member), keep=False)
        if seat is not None:
            self.hold()
            self.give_back(seat)


class FullCycleUser(LicenseUser):
    """An engineer who borrows a seat, works a moment and returns it."""

    mode = "full-cycle"

    def operation(self) -> None:
        """One full cycle as this worker."""
        self.cycle(self.member)


class BorrowOnlyUser(LicenseUser):
    """A runaway build script: borrows seats and never gives them back."""

    mode = "borrow-only"

    def operation(self) -> None:
        """One borrow, kept."""
        self.borrow(self.member, self.pick_tool(self.member), keep=True)


class MixedTeamsUser(LicenseUser):
    """The floor of an engineering department: each operation is someone of any team."""

    mode = "mixed-teams"

    def operation(self) -> None:
        """One full cycle by a member drawn from the roster, on a tool of the team's habits."""
        self.cycle(self.run.population.draw(self.rng))


class SpikeUser(FullCycleUser):
    """Full cycles under the spike load shape (`stress_test.shapes.SpikeShape`)."""

    mode = "spike"


USER_CLASSES: dict[str, type[LicenseUser]] = {
    cls.mode: cls for cls in (FullCycleUser, BorrowOnlyUser, MixedTeamsUser, SpikeUser)
}


def describe(response) -> str:
    """A short reason for a failed request: transport error, or status and error code."""
    if not response.status_code:
        return f"transport error: {response.error}"
    try:
        error = response.json().get("error", "")
    except (ValueError, AttributeError):
        error = response.text[:80]
    return f"HTTP {response.status_code} {error}".strip()


@events.init_command_line_parser.add_listener
def add_license_arguments(parser) -> None:
    """Options of plain `locust -f stress_test/locustfile.py`."""
    from stress_test.plain_locust import add_arguments
    add_arguments(parser)


@events.test_start.add_listener
def start_plain_run(environment, **_kwargs) -> None:
    """Under plain Locust, build the run state from the command line on first start."""
    if run_of(environment) is None and environment.parsed_options is not None:
        from stress_test.plain_locust import create_run
        create_run(environment)


@events.test_stop.add_listener
def stop_plain_run(environment, **_kwargs) -> None:
    """Under plain Locust, give back seats of cycle modes and print the summary table."""
    run = run_of(environment)
    if run is not None and getattr(environment, "license_plain", False):
        from stress_test.plain_locust import finish_run
        finish_run(environment, run)


if __name__ == "__main__":
    from locust import run_single_user

    # Debug one engineer: python -m stress_test.locustfile --host http://localhost:8000 --license-ops 3
    run_single_user(FullCycleUser)
