"""The parts of the stress test that need no server: budget, population, shape, percentiles."""
from __future__ import annotations

import random

from stress_test import live, run_summary
from stress_test.population import TEAMS, Population
from stress_test.profiles import PROFILES, resolve_profile
from stress_test.run_summary import percentile
from stress_test.run_state import OperationQuota, Retried, RunState
from stress_test.settings import RunSettings
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


def test_a_resent_borrow_is_a_retry_and_not_a_failed_request():
    """A lost send marked Retried counts as a retry; the run's fail ratio sees only failures."""
    settings = RunSettings("http://127.0.0.1:1", ["CANoe"], "full-cycle", PROFILES["light"])
    run = RunState.create(settings)
    context = {"tool": "CANoe"}
    run.observe("POST", "borrow", 3.0, 0, exception=Retried("no answer (reset)"), context=context)
    run.observe("POST", "borrow", 4.0, 0, exception=None, context=context)
    run.observe("POST", "return", 5.0, 0, exception="HTTP 503", context=context)
    assert (run.requests, run.retries, run.failures, run.fail_ratio) == (3, 1, 1, 1 / 3)
    data = run_summary.summary(run, "done")
    assert data["retries"] == 1 and data["per_tool"]["CANoe"]["retries"] == 1
    assert data["per_tool"]["CANoe"]["errors"] == 1
    assert list(data["failure_reasons"]) == ["return: HTTP 503"]
    assert list(data["retry_reasons"]) == ["borrow: no answer (reset)"]
    table = run_summary.table(data)
    assert "retries           1  (borrows sent again with the same key" in table
    assert "retry x1: borrow: no answer (reset)" in table
    assert "retries 1  " in live.line(run, 0, 1.0, None)


def test_a_distributed_workers_slots_come_from_the_master_and_capacity_has_no_budget():
    """A worker's users take the master's slots, each with the full ops; capacity never runs out."""
    master = OperationQuota(workers=3, ops=2)
    worker = OperationQuota(workers=3, ops=2, slot_source=master.claim_slot)
    other = OperationQuota(workers=3, ops=2, slot_source=master.claim_slot)
    slots = [worker.claim_slot(), other.claim_slot(), worker.claim_slot(), other.claim_slot()]
    assert slots == [0, 1, 2, None]
    assert sum(worker.take(slot) for slot in (0, 2) for _ in range(5)) == 4
    share = OperationQuota(workers=4, ops=5, pooled=True, total=7)
    assert sum(share.take(share.claim_slot()) for _ in range(20)) == 7
    unbounded = OperationQuota(workers=200, ops=0, open_ended=True)
    assert all(unbounded.take(unbounded.claim_slot()) for _ in range(1000)) and not unbounded.done


def test_exit_reasons_name_every_limit_the_run_passed():
    """Fail ratio, p95 and p99: each tripped limit is one sentence naming its flag."""
    from stress_test.criteria import exit_reasons
    settings = RunSettings("http://127.0.0.1:1", ["CANoe"], "full-cycle", PROFILES["light"],
                           max_p95_ms=50, max_p99_ms=500)
    run = RunState.create(settings)
    for value in range(1, 101):
        run.observe("POST", "borrow", float(value), 0)
    data = run_summary.summary(run, "done")
    assert exit_reasons(data, settings) == ["p95 of all 100 requests 95 ms, above --max-p95-ms 50"]
    run.observe("POST", "borrow", 900.0, 0, exception="HTTP 503")
    assert len(exit_reasons(run_summary.summary(run, "done"), settings)) == 1  # 0.99% <= 1%
    settings.max_fail_ratio = 0.001
    reasons = exit_reasons(run_summary.summary(run, "done"), settings)
    assert reasons == ["1 of 101 requests failed (0.99%), above --max-fail-ratio 0.10%",
                       "p95 of all 101 requests 96 ms, above --max-p95-ms 50"]


def test_capacity_verdict_is_the_last_stage_that_held():
    """Stages 10 and 20 users held, 30 passed the p99 bound: capacity is the 20-user stage."""
    from stress_test.capacity import capacity_lines, verdict
    from stress_test.profiles import CapacityLimits
    stages = [{"users": u, "borrows_per_s": r, "p50_ms": 5.0, "p95_ms": 9.0, "p99_ms": p99,
               "fail_ratio": 0.0, "held": p99 <= 100} for u, r, p99 in
              ((10, 300.0, 40.0), (20, 420.0, 90.0), (30, 430.0, 180.0))]
    result = verdict(stages, CapacityLimits(p99_ms=100))
    assert result["sustained"]["users"] == 20 and result["passed_bound"]["users"] == 30
    text = "\n".join(capacity_lines(result))
    assert "sustained         420 borrows/s at 20 users (p50 5 ms, p95 9 ms, p99 90 ms)" in text
    assert "next stage        30 users: 430 borrows/s, p99 180 ms" in text
