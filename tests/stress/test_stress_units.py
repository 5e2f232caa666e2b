"""The parts of the stress test that need no server: budget, population, shape, percentiles."""
from __future__ import annotations

import random

from stress_test.population import TEAMS, Population
from stress_test.profiles import PROFILES, resolve_profile
from stress_test.run_summary import percentile
from stress_test.run_state import OperationQuota
from stress_test.spike import SPIKE, stage_at, users_at


def test_per_worker_budget_is_exact_and_extra_users_get_nothing():
    """Each of the planned workers gets exactly its operations; a 21st user gets no slot."""
    quota = OperationQuota(workers=20, ops=100)
    slots = [quota.claim_slot() for _ in range(21)]
    assert slots[:20] == list(range(20)) and slots[20] is None
    taken = sum(1 for slot in slots[:20] for _ in range(150) if quota.take(slot))
    assert taken == 2000 and not quota.take(None)
    for _ in range(taken):
        quota.finish()
    assert quota.done and quota.in_flight == 0


def test_pooled_budget_reuses_slots_and_stops_at_the_total():
    """Spike users share one budget; a stopped user's slot (its name) goes to the next user."""
    quota = OperationQuota(workers=3, ops=2, pooled=True)
    first, second = quota.claim_slot(), quota.claim_slot()
    quota.release_slot(first)
    assert quota.claim_slot() == first
    assert sum(quota.take(second) for _ in range(10)) == 6
    quota.close()
    assert not quota.take(first)


def test_population_is_fixed_by_the_seed():
    """Same seed, same engineers in the same order; another seed, another order."""
    names = lambda seed: [Population(seed).worker(i) for i in range(20)]  # noqa: E731
    assert names(42) == names(42) and names(42) != names(43)
    assert {m.team for m in names(42)} == set(TEAMS)
    prefixed = Population(42, team="adas", user_prefix="ci-build")
    assert prefixed.worker(0).user == "ci-build-01" and prefixed.worker(0).team == "adas"


def test_team_tool_habits_weight_the_draw():
    """Powertrain reaches for INCA far more often than for TargetLink."""
    member = Population(1, team="powertrain").worker(0)
    rng = random.Random(3)
    tools = ["ETAS - INCA", "dSPACE - TargetLink"]
    draws = [Population.tool_for(member, tools, rng) for _ in range(600)]
    assert draws.count("ETAS - INCA") > 3 * draws.count("dSPACE - TargetLink")


def test_profiles_and_overrides():
    """Heavy is 20 x 100; --workers/--ops make a custom run with the profile's pace."""
    assert (PROFILES["heavy"].workers, PROFILES["heavy"].ops) == (20, 100)
    custom = resolve_profile("heavy", None, 7)
    assert (custom.name, custom.workers, custom.ops) == ("custom", 20, 7)


def test_spike_stages_ramp_up_hold_and_down():
    """The spike: a quarter of the peak, ramp to the peak, hold, back down; then again."""
    assert [stage_at(SPIKE, t).name for t in (1, 9, 15, 26, 29)] == \
        ["baseline", "ramp-up", "hold", "ramp-down", "baseline"]
    assert users_at(SPIKE, 20, 1) == (5, 15.0)
    assert users_at(SPIKE, 20, 15)[0] == 20
    assert users_at(SPIKE, 20, 26) == (5, 15 / 4)


def test_nearest_rank_percentile():
    """p50/p95 of 1..100 are 50 and 95; no samples, no percentile."""
    values = [float(v) for v in range(100, 0, -1)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)) == (50, 95, 99)
    assert percentile([], 0.95) is None
