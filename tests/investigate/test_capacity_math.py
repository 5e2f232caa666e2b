"""The raise-commit arithmetic, case by case: percentile, commit needed, cost, avoided overage, break-even."""
from __future__ import annotations

import pytest

from license_demo.investigate import capacity_math as cm

# samples, step s, alert for s, threshold, commit, overage checkouts, $ per overage checkout, $ per commit
# seat a month, seconds of load -> demand, new commit, extra monthly $, absorbed, avoided $,
# break-even checkouts a month, pays off (one run like it a month avoids at least the extra cost)
CASES = {
    # 20 seats held for 10 minutes, 15 of them overage at $150, commit seats $600: the $1,500 it
    # avoids is a quarter of a month of the extra seats. (Scaled to a month of working hours at
    # this pace, it would have read as $1,584,000 a month and "pays off".)
    "steady 20 seats, demo alert": (
        [20.0] * 120, 5, 10, 0.3, 5, 15, 150, 600, 600,
        dict(demand=20, new_commit=15, extra=10, extra_monthly=6000, absorbed=10, avoided=1500,
             break_even=40, pays_off=False)),
    # The same seats with 1,500 overage checkouts (seats churning through a build): one such run
    # avoids $150,000, 25 months of the extra seats.
    "a heavy run pays for the extra seats": (
        [20.0] * 120, 5, 10, 0.3, 5, 1500, 150, 600, 600,
        dict(demand=20, new_commit=15, extra=10, extra_monthly=6000, absorbed=1000, avoided=150000,
             break_even=40, pays_off=True)),
    # Two samples above 20 fit in the alert's 10 s: they are forgiven and buy no seat.
    "short spike forgiven by the alert's for": (
        [12.0] * 29 + [30.0, 30.0] + [12.0] * 29, 5, 10, 0.3, 5, 8, 150, 600, 300,
        # overage seat-samples: 7 x 58 + 25 x 2 at commit 5, 3 x 58 + 21 x 2 at commit 9
        dict(demand=12, new_commit=9, extra=4, extra_monthly=2400,
             absorbed=8 * (7 * 58 + 50 - 3 * 58 - 42) / (7 * 58 + 50), avoided=None, break_even=16, pays_off=False)),
    # A spike that lasts longer than `for` must be covered.
    "spike longer than for is covered": (
        [12.0] * 50 + [30.0] * 10, 5, 10, 0.3, 5, 20, 150, 600, 300,
        dict(demand=30, new_commit=22, extra=17, extra_monthly=10200, absorbed=None, avoided=None,
             break_even=68, pays_off=False)),
    # The load just started: two samples only, both forgiven by `for`, but the seats are still held.
    "ongoing demand at the end of the window": (
        [0.0, 20.0, 20.0], 5, 10, 0.3, 5, 15, 150, 600, 10,
        dict(demand=20, new_commit=15, extra=10, extra_monthly=6000, absorbed=10, avoided=1500,
             break_even=40, pays_off=False)),
    # Demand already under the threshold: nothing to buy, nothing pays off.
    "commit already enough": (
        [6.0] * 40, 5, 10, 0.3, 5, 2, 150, 600, 200,
        dict(demand=6, new_commit=5, extra=0, extra_monthly=0, absorbed=0, avoided=0,
             break_even=0, pays_off=False)),
    # Cheap overage, dear commit, little of it over a long day: the extra seats do not pay off.
    "expensive commit over a long quiet day": (
        [5.0] * 900 + [9.0] * 60, 30, 300, 0.3, 5, 4, 10, 2000, 8 * 3600,
        dict(demand=9, new_commit=7, extra=2, extra_monthly=4000, absorbed=None, avoided=None,
             break_even=400, pays_off=False)),
    # 0.3 of 10 seats is exactly 3: 7 commit seats would leave 30%, not under it.
    "exact threshold boundary needs one more seat": (
        [10.0] * 10, 5, 0, 0.3, 2, 8, 100, 500, 50,
        dict(demand=10, new_commit=8, extra=6, extra_monthly=3000, absorbed=6, avoided=600,
             break_even=30, pays_off=False)),
}


@pytest.mark.parametrize("name", CASES)
def test_sizing(name):
    samples, step, alert_for, threshold, commit, overage, per_checkout, per_seat, load, want = CASES[name]
    s = cm.size_commit(samples, step, alert_for, threshold, commit, overage, per_checkout, per_seat,
                       load_seconds=load)
    assert s.demand == want["demand"]
    assert s.new_commit == want["new_commit"] and s.extra_seats == want["extra"]
    assert s.extra_commit_monthly == want["extra_monthly"]
    assert s.break_even_checkouts_per_month == want["break_even"]
    if want["absorbed"] is not None:
        assert s.absorbed_checkouts == pytest.approx(want["absorbed"], abs=0.0005)   # to 3 decimals
    if want["avoided"] is not None:
        assert s.avoided_overage == pytest.approx(want["avoided"])
    assert s.avoided_overage == pytest.approx(s.absorbed_checkouts * per_checkout)
    # As the report shows them: the count shown times the price is the avoided cost, to the cent.
    shown = s.to_dict()
    assert shown["avoided_overage"] == pytest.approx(shown["absorbed_checkouts"] * per_checkout, abs=0.005)
    assert s.pays_off is want["pays_off"]
    # Money of the observed load only: its overage bill, per hour of such load, runs a month to pay.
    assert s.load_seconds == load
    assert s.overage_cost_observed == pytest.approx(overage * per_checkout)
    assert s.overage_cost_per_hour_of_load == pytest.approx(overage * per_checkout * 3600 / load)
    if s.avoided_overage:
        assert s.episodes_to_break_even == pytest.approx(s.extra_commit_monthly / s.avoided_overage)
    # The new commit keeps the sized demand strictly under the threshold; one seat fewer would not.
    assert s.overage_share_after < threshold
    if s.extra_seats:
        assert cm.overage_share(s.demand, s.new_commit - 1) >= threshold


PAYS_OFF = [  # avoided by one run, extra a month -> pays off
    (1000.0, 999.0, True), (1000.0, 1000.0, True), (999.0, 1000.0, False), (None, 10.0, False), (0.0, 0.0, True)]


@pytest.mark.parametrize("avoided, extra, expected", PAYS_OFF)
def test_break_even_comparison(avoided, extra, expected):
    assert cm.pays_off(avoided, extra) is expected


PERCENTILES = [  # samples, quantile -> value
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95, 10), ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, 9),
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5, 5), ([7], 0.1, 7), ([], 0.9, 0)]


@pytest.mark.parametrize("samples, quantile, expected", PERCENTILES)
def test_percentile_nearest_rank(samples, quantile, expected):
    assert cm.percentile(samples, quantile) == expected


QUANTILES = [  # samples, step, for -> quantile
    (120, 5, 10, 118 / 120), (120, 5, 0, 1.0), (10, 30, 300, 0.1), (0, 5, 10, 1.0), (96, 300, 300, 95 / 96)]


@pytest.mark.parametrize("count, step, alert_for, expected", QUANTILES)
def test_demand_quantile_forgives_what_the_alert_forgives(count, step, alert_for, expected):
    assert cm.demand_quantile(count, step, alert_for) == pytest.approx(expected)


COMMITS = [(20, 0.3, 15), (10, 0.3, 8), (16, 0.3, 12), (20, 0.5, 11), (1, 0.3, 1), (0, 0.3, 0), (19.2, 0.3, 15)]


@pytest.mark.parametrize("demand, threshold, expected", COMMITS)
def test_commit_needed(demand, threshold, expected):
    assert cm.commit_needed(demand, threshold) == expected


ERLANG = [(1, 1, 0.5), (2, 1, 0.2), (10, 10, 0.2146), (12, 15, 0.3096), (0, 5, 1.0), (5, 0, 0.0)]


@pytest.mark.parametrize("commit, load, expected", ERLANG)
def test_erlang_b(commit, load, expected):
    assert cm.erlang_b(commit, load) == pytest.approx(expected, abs=5e-4)


def test_commit_needed_under_churn():
    # About 17 seats coming and going: 14 commit seats leave 28.5% of the borrows overage, 13 leave 32.8%.
    assert cm.commit_needed_churn(17, 0.3) == 14
    assert cm.commit_needed_churn(0, 0.3) == 0


INTERVALS = [  # seats in use before, after, checkouts in between, commit -> overage checkouts
    (0, 20, 20, 15, 5),  # a ramp: seats 16..20 are overage, nothing replaced
    (17, 17, 10, 12, 10 * 0.37293),  # churn at 17 seats: overage as often as all commit seats are taken
    (10, 14, 6, 12, 2 + 2 * 0.2746),  # a rise to 14 (seats 13, 14 overage) and two replacing borrows
    (14, 10, 3, 12, 3 * 0.2746),  # a fall: the borrows replaced seats at the higher level
    (4, 4, 0, 5, 0),  # no borrow, no overage
]


@pytest.mark.parametrize("prev, cur, borrows, commit, expected", INTERVALS)
def test_overage_checkouts_of_an_interval(prev, cur, borrows, commit, expected):
    assert cm.overage_checkouts_in(prev, cur, borrows, commit) == pytest.approx(expected, abs=1e-3)


def test_commit_for_checkouts_keeps_every_rate_window_under_the_threshold():
    # 20 seats taken at once, then held: 15 commit seats leave 25% of the checkouts overage, 14 leave 30%.
    assert cm.commit_for_checkouts([0, 20, 20, 20], [0, 20, 0, 0], 0.3, 6, 0) == 15
    # Churn at 10 seats after the ramp: Erlang B(8, 10) = 32% is too many, B(9, 10) = 26% fits.
    occupancy, borrows = [0] + [10] * 12, [0, 10] + [5] * 11
    assert cm.commit_for_checkouts(occupancy, borrows, 0.3, 6, 0) == 9
    # One window above the threshold is forgiven when the alert's `for` covers it.
    assert cm.commit_for_checkouts([0, 10, 0, 0, 0], [0, 10, 0, 0, 0], 0.3, 1, 1) == 0


def test_churn_sizing_uses_erlang_b_at_the_peak():
    """A full-cycle load at 17 seats with one scrape at 19: Erlang B at the peak, not seats above commit."""
    samples, borrows = [0.0] + [17.0] * 12 + [19.0] + [17.0] * 11, [0.0, 17.0] + [120.0] * 23
    s = cm.size_commit(samples, 5, 10, 0.3, 5, 1900, 150, 600, borrows=borrows, rate_window_seconds=30)
    assert s.churn_share > 0.9
    assert s.demand == 19 and s.new_commit == 16 and s.commit_for_seats == 16
    assert s.overage_share_after == pytest.approx(cm.erlang_b(16, 19))
    assert cm.erlang_b(16, 19) < 0.3 <= cm.erlang_b(15, 19)


def test_a_proposal_keeps_the_total_and_states_its_numbers():
    """propose_commit: the sizing kept apart from its sentences; the sentences carry its numbers."""
    from license_demo.investigate import wording

    samples = [0.0] + [20.0] * 119
    p = cm.propose_commit("DaVinci", 5, 15, samples, 5, 0.3, 10, 30, 15, 150, 600, 600,
                          borrows=[0.0, 20.0] + [0.0] * 118)
    assert (p.new_commit, p.new_max_overage, p.total, p.busy_samples) == (15, 5, 20, 119)
    assert p.months_per_run == pytest.approx(1500 / 6000)
    cost = p.to_dict()
    assert cost["new_commit"] == 15 and cost["alert_threshold"] == 0.3 and cost["samples"] == 120
    assert cost["extra_commit_monthly"] == 6000 and cost["overage_checkouts_window"] == 15
    assert wording.raise_commit_title(p) == "Raise commit of DaVinci: 5 → 15 (overage 15 → 5)"
    why = wording.raise_commit_why(p)
    assert "is 20 seats (119 samples with seats in use); at commit 5 75% of them are overage, at 15 25%" in why
    assert "10 more commit seats cost $6,000/month" in why and "times a month or more" in why
    assert wording.raise_commit_risk(p).startswith("$6,000 more every month") and "total seats stay 20" in \
        wording.raise_commit_risk(p)
    # Demand the commit already covers: nothing to propose.
    assert cm.propose_commit("DaVinci", 5, 15, [4.0] * 10, 5, 0.3, 10, 30, 0, 150, 600, 600) is None
