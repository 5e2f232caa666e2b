"""The arithmetic behind raise-commit: demand percentile, commit needed, cost against avoided overage.

Pure functions of numbers, so every figure in a recommendation can be checked by hand and by a
table-driven test. The investigator feeds them the seats-in-use samples from Prometheus and the
live prices; nothing here talks to a service.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from fractions import Fraction

def demand_quantile(samples_count: int, step_seconds: float, alert_for_seconds: float) -> float:
    """The share of samples the commit must cover: all but those the alert's `for` forgives.

    An alert fires only once its condition held for `for`; demand above the commit for fewer
    samples than that never pages anyone, so paying a month of seats for it is waste. With one
    sample per `step_seconds`, the top floor(for / step) samples may stay above.
    """
    if samples_count <= 0:
        return 1.0
    forgiven = int(alert_for_seconds // step_seconds) if step_seconds > 0 else 0
    forgiven = min(max(forgiven, 0), samples_count - 1)
    return (samples_count - forgiven) / samples_count


def percentile(samples: list[float], quantile: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least `quantile` of them at or below it."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(1, math.ceil(round(quantile * len(ordered), 9)))
    return ordered[min(rank, len(ordered)) - 1]


def overage_share(demand: float, commit: int) -> float:
    """The share of the seats in use that are overage when `demand` seats are in use."""
    return max(demand - commit, 0) / demand if demand > 0 else 0.0


def erlang_b(commit: int, load: float) -> float:
    """The share of borrows that find every commit seat taken, for `load` seats in use on average.

    Under churn (seats returned and borrowed again) the commit seats behave as a loss system: a
    borrow is overage when all commit seats are held, and overage seats stay overage until
    returned even when commit seats free up. Erlang's B formula gives that share; it matches the
    demo's full-cycle load (commit 12 at about 15 seats in use: 31% predicted, 32% measured).
    """
    if load <= 0:
        return 0.0
    blocked = 1.0
    for k in range(1, max(commit, 0) + 1):
        blocked = load * blocked / (k + load * blocked)
    return blocked


def commit_needed_churn(load: float, threshold: float) -> int:
    """The smallest commit whose Erlang B overage share at `load` is strictly under `threshold`."""
    commit = 0
    while erlang_b(commit, load) >= threshold and commit < 10 * max(load, 1):
        commit += 1
    return commit


def churn_share(occupancy: list[float], borrows: list[float]) -> float:
    """The share of the checkouts that replaced a returned seat rather than adding one."""
    total = sum(borrows[1:])
    if total <= 0:
        return 0.0
    rises = sum(min(max(occupancy[i] - occupancy[i - 1], 0.0), borrows[i]) for i in range(1, len(occupancy)))
    return max(0.0, 1 - rises / total)


def commit_needed(demand: float, threshold: float) -> int:
    """The smallest commit that keeps the overage share of `demand` strictly under `threshold`.

    Exact arithmetic (Fraction): 20 seats at a 0.3 threshold need 15, because 14 would leave
    exactly 30%, and the alert's own float comparison must not decide the outcome.
    """
    if demand <= 0:
        return 0
    seats, limit = Fraction(math.ceil(demand)), Fraction(str(threshold))
    # overage / demand < limit  <=>  commit > demand * (1 - limit)
    return int(math.floor(seats * (1 - limit))) + 1 if limit < 1 else 0


def overage_checkouts_in(prev: float, cur: float, borrows: float, commit: int) -> float:
    """How many of one interval's borrows were overage at `commit`, seats in use going from `prev` to `cur`.

    The rise is borrows taking seats prev+1 .. cur one by one: those numbered above the commit are
    overage. The other borrows replaced returned seats; the server lends a commit seat only when
    one is free, and commit and overage seats come back at the same pace, so a replacing borrow is
    overage as often as a borrow finds every commit seat taken (Erlang B at the higher level).
    """
    if borrows <= 0:
        return 0.0
    rise = min(max(cur - prev, 0.0), borrows)
    climbing = min(max(prev + rise - max(commit, prev), 0.0), rise)
    return climbing + (borrows - rise) * erlang_b(commit, max(prev, cur))


def checkout_shares(occupancy: list[float], borrows: list[float], commit: int, span: int) -> list[float]:
    """The overage share of checkouts at `commit` in every run of `span` intervals that had borrows.

    `occupancy[i]` is the seats in use at sample i and `borrows[i]` the checkouts between sample
    i-1 and i: the same windows the alert's rate ratio (overage checkouts / checkouts) reads.
    """
    over = [0.0] + [overage_checkouts_in(occupancy[i - 1], occupancy[i], borrows[i], commit)
                    for i in range(1, len(occupancy))]
    shares = []
    span = max(span, 1)
    for end in range(1, len(occupancy)):
        start = max(1, end - span + 1)
        taken = sum(borrows[start:end + 1])
        if taken > 0:
            shares.append(sum(over[start:end + 1]) / taken)
    return shares


def commit_for_checkouts(occupancy: list[float], borrows: list[float], threshold: float, span: int,
                         forgiven: int) -> int:
    """The smallest commit whose overage share of checkouts stays under `threshold` in all but
    `forgiven` of the rate windows (those the alert's `for` lets pass)."""
    top = math.ceil(max(occupancy, default=0))
    for commit in range(0, top + 1):
        if sum(1 for share in checkout_shares(occupancy, borrows, commit, span) if share >= threshold) <= forgiven:
            return commit
    return top


def overage_seat_time(samples: list[float], commit: int) -> float:
    """Seat-samples in overage: the sum over samples of the seats in use above `commit`."""
    return sum(max(s - commit, 0) for s in samples)


def absorbed_checkouts(samples: list[float], overage_checkouts: float, commit: int, new_commit: int) -> float:
    """How many of the observed overage checkouts the new commit would have taken as commit seats.

    Overage checkouts are spread in proportion to the seats in use above commit over time (each
    overage seat was one checkout held for a while), so the share absorbed is the share of that
    overage seat-time lying between the old and the new commit.
    """
    before = overage_seat_time(samples, commit)
    if before <= 0 or overage_checkouts <= 0:
        return 0.0
    after = overage_seat_time(samples, new_commit)
    return overage_checkouts * (before - after) / before


@dataclass
class Sizing:
    """A proposed commit and the money on both sides of it."""

    quantile: float
    demand: float
    commit: int
    new_commit: int
    extra_seats: int
    overage_share_before: float
    overage_share_after: float
    commit_for_seats: int
    commit_for_checkouts: int
    churn_share: float
    checkout_share_after: float
    extra_commit_monthly: float
    absorbed_checkouts: float
    avoided_overage: float
    break_even_checkouts_per_month: float | None
    load_seconds: float
    overage_cost_observed: float
    overage_cost_per_hour_of_load: float | None
    episodes_to_break_even: float | None
    pays_off: bool

    def to_dict(self) -> dict:
        """JSON-ready, with money to the cent."""
        out = asdict(self)
        for key in ("extra_commit_monthly", "avoided_overage", "overage_cost_observed",
                    "overage_cost_per_hour_of_load"):
            if out[key] is not None:
                out[key] = round(out[key], 2)
        for key in ("absorbed_checkouts", "break_even_checkouts_per_month", "quantile", "episodes_to_break_even",
                    "overage_share_before", "overage_share_after", "checkout_share_after", "churn_share"):
            if out[key] is not None:
                out[key] = round(out[key], 3)
        return out


def pays_off(avoided_per_run: float | None, extra_monthly: float) -> bool:
    """The extra commit pays off when one run like the observed one a month would avoid at least
    its monthly cost. A burst of a few minutes says nothing of how often it recurs, so it is never
    scaled up to a month as if the load ran all month."""
    return avoided_per_run is not None and avoided_per_run >= extra_monthly


def size_commit(samples: list[float], step_seconds: float, alert_for_seconds: float, threshold: float,
                commit: int, overage_checkouts: float, overage_cost: float, commit_cost_monthly: float,
                borrows: list[float] | None = None,
                rate_window_seconds: float = 0, load_seconds: float | None = None) -> Sizing:
    """Everything raise-commit states, from the seats-in-use samples of the window and the live prices.

    The alert fires on either of two shares, so the commit must keep both under the threshold:
    the overage share of the seats in use (at that percentile of the samples with seats in use, and at least the
    last sample: the seats still held when the window ends) and, when `borrows` per sample
    interval are given, the overage share of the checkouts in every rate window of
    `rate_window_seconds` but those the alert's `for` forgives. Money is stated for the observed
    load only: its overage cost, that per hour of such load (`load_seconds`, the time with seats in use; by default the samples with seats in
    use times the step), what the new commit would have avoided of it, and how many runs like it a
    month pay for the extra seats; never a month
    extrapolated from a few minutes.
    """
    # The demand while the tool was in use: idle stretches before or after a run say nothing of it.
    busy = [s for s in samples if s > 0]
    q = demand_quantile(len(busy), step_seconds, alert_for_seconds)
    # The seats in use at the end are still held: an ongoing demand is no short peak to forgive.
    demand = max(percentile(busy, q), samples[-1] if samples else 0.0)
    forgiven = int(alert_for_seconds // step_seconds) if step_seconds > 0 else 0
    churn = churn_share(samples, borrows) if borrows else 0.0
    if churn >= 0.5:
        # Seats that come and go leave overage seats held while commit seats are free (Erlang B).
        # The share then swings around B from scrape to scrape, and the alert fires on the swing,
        # so B is kept under the threshold at the highest demand seen, not at a percentile.
        demand = max(busy, default=demand)
        by_seats = commit_needed_churn(demand, threshold)
    else:
        # Seats held for the whole run are overage exactly above the commit.
        by_seats = commit_needed(demand, threshold)
    share = (lambda d, c: erlang_b(c, d)) if churn >= 0.5 else overage_share
    by_checkouts = commit_for_checkouts(samples, borrows, threshold, max(1, round(rate_window_seconds / step_seconds)),
                                        forgiven) if borrows else 0
    new_commit = max(commit, by_seats, by_checkouts)
    shares_after = checkout_shares(samples, borrows, new_commit, max(1, round(rate_window_seconds / step_seconds))) \
        if borrows else []
    extra = new_commit - commit
    extra_monthly = extra * commit_cost_monthly
    # Rounded as the report shows it, so the avoided cost is the count shown times the price.
    absorbed = round(absorbed_checkouts(samples, overage_checkouts, commit, new_commit), 3)
    avoided = absorbed * overage_cost
    break_even = extra_monthly / overage_cost if overage_cost > 0 else None
    if not load_seconds:
        load_seconds = len(busy) * step_seconds
    return Sizing(quantile=q, demand=demand, commit=commit, new_commit=new_commit, extra_seats=extra,
                  overage_share_before=share(demand, commit), overage_share_after=share(demand, new_commit),
                  commit_for_seats=by_seats, commit_for_checkouts=by_checkouts, churn_share=churn,
                  checkout_share_after=sorted(shares_after, reverse=True)[forgiven] if len(shares_after) > forgiven
                  else 0.0,
                  extra_commit_monthly=extra_monthly, absorbed_checkouts=absorbed, avoided_overage=avoided,
                  break_even_checkouts_per_month=break_even, load_seconds=load_seconds,
                  overage_cost_observed=overage_checkouts * overage_cost,
                  overage_cost_per_hour_of_load=(overage_checkouts * overage_cost * 3600 / load_seconds
                                                 if load_seconds > 0 else None),
                  episodes_to_break_even=extra_monthly / avoided if avoided > 0 else None,
                  pays_off=pays_off(avoided, extra_monthly) if extra else False)


@dataclass
class CommitProposal:
    """raise-commit in numbers: the tool's commit now and proposed, what it was sized on, the sizing.

    The total of commit and overage seats stays the same (`total`); `to_dict` is the action's
    `cost` in `--json`: the sizing's figures and the inputs they came from.
    """

    tool: str
    commit: int
    max_overage: int
    threshold: float
    alert_for_seconds: float
    rate_window_seconds: float
    overage_cost_per_checkout: float
    commit_cost_monthly_per_seat: float
    overage_checkouts_window: float
    window_seconds: float
    samples: list[float]
    step_seconds: float
    sizing: Sizing

    @property
    def total(self) -> int:
        """Commit and overage seats together, the same before and after."""
        return self.commit + self.max_overage

    @property
    def new_commit(self) -> int:
        """The commit proposed."""
        return self.sizing.new_commit

    @property
    def new_max_overage(self) -> int:
        """The overage seats left, so that the total stays the same."""
        return max(0, self.total - self.new_commit)

    @property
    def busy_samples(self) -> int:
        """The samples with seats in use, those the demand is read from."""
        return sum(1 for v in self.samples if v > 0)

    @property
    def months_per_run(self) -> float | None:
        """How many months of the extra commit one run like the observed one pays for."""
        times = self.sizing.episodes_to_break_even
        return 1 / times if times else None

    def to_dict(self) -> dict:
        """JSON-ready: the sizing (money to the cent) with the threshold, timing, prices and counts used."""
        return {**self.sizing.to_dict(), "alert_threshold": self.threshold,
                "alert_for_seconds": self.alert_for_seconds,
                "overage_cost_per_checkout": self.overage_cost_per_checkout,
                "commit_cost_monthly_per_seat": self.commit_cost_monthly_per_seat,
                "overage_checkouts_window": self.overage_checkouts_window, "window_seconds": self.window_seconds,
                "rate_window_seconds": self.rate_window_seconds, "samples": len(self.samples),
                "step_seconds": self.step_seconds}


def propose_commit(tool: str, commit: int, max_overage: int, samples: list[float], step_seconds: float,
                   threshold: float, alert_for_seconds: float, rate_window_seconds: float,
                   overage_checkouts: float, overage_cost: float, commit_cost_monthly: float,
                   window_seconds: float, borrows: list[float] | None = None,
                   load_seconds: float | None = None) -> CommitProposal | None:
    """The commit the observed demand needed to stay under `threshold` (size_commit), as a proposal
    that keeps the total of seats; None when the commit already suffices."""
    sizing = size_commit(samples, step_seconds, alert_for_seconds, threshold, commit, overage_checkouts,
                         overage_cost, commit_cost_monthly, borrows=borrows,
                         rate_window_seconds=rate_window_seconds, load_seconds=load_seconds)
    if sizing.extra_seats <= 0:
        return None
    return CommitProposal(tool=tool, commit=commit, max_overage=max_overage, threshold=threshold,
                          alert_for_seconds=alert_for_seconds, rate_window_seconds=rate_window_seconds,
                          overage_cost_per_checkout=overage_cost, commit_cost_monthly_per_seat=commit_cost_monthly,
                          overage_checkouts_window=overage_checkouts, window_seconds=window_seconds,
                          samples=samples, step_seconds=step_seconds, sizing=sizing)
