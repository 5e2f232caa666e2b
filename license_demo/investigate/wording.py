"""Words for figures: durations as durations, plurals that agree, shares that say of what; and the
sentences of a raise-commit proposal, whose numbers come from capacity_math."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from license_demo.investigate.capacity_math import CommitProposal


def duration(seconds: float | None) -> str:
    """Seconds as a reader says them: '45 s', '110 s', '4 min', '1 h 30 min', '8 h'."""
    if seconds is None:
        return "unknown"
    seconds = max(int(round(seconds)), 0)
    if seconds < 120:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def plural(count: float, one: str, many: str | None = None) -> str:
    """'1 seat', '3 seats', '1.5 seats': the noun agreeing with the number."""
    number = f"{count:,.0f}" if float(count).is_integer() else f"{count:,.1f}"
    return f"{number} {one if count == 1 else (many or one + 's')}"


def ordinal(n: float) -> str:
    """95 -> '95th', 1 -> '1st', 22 -> '22nd', 98.3 -> '98.3th'."""
    if not float(n).is_integer():
        return f"{n:.1f}th"
    n = int(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def raise_commit_title(p: CommitProposal) -> str:
    """'Raise commit of X: 5 → 13 (overage 15 → 7)'."""
    return (f"Raise commit of {p.tool}: {p.commit} → {p.new_commit} "
            f"(overage {p.max_overage} → {p.new_max_overage})")


def raise_commit_why(p: CommitProposal) -> str:
    """What the proposal is sized on, what it keeps under the threshold, and the money on both sides."""
    z, span = p.sizing, duration(p.window_seconds)
    # Under churn the peak is sized (the share swings around its average); held seats at a percentile.
    demand = ("with seats coming and going, the most seats in use at once" if z.churn_share >= 0.5
              else f"the {ordinal(round(z.quantile * 100, 1))} percentile of seats in use")
    # Money for the load that was seen, and how often it must recur to pay: a few minutes of load
    # are no basis for a monthly figure.
    per_hour, times = z.overage_cost_per_hour_of_load, z.episodes_to_break_even
    load = (f"The load ran {duration(z.load_seconds)} with seats in use and its overage cost "
            f"${z.overage_cost_observed:,.0f}" + (f" (${per_hour:,.0f} per hour of such load)" if per_hour else ""))
    recurrence = ("" if not times else
                  f"; one run like this one a month pays for them (it avoids {p.months_per_run:,.1f} months of the "
                  f"extra commit)" if times <= 1 else
                  f"; they pay for themselves only if a run like this one happens {times:,.1f} times a month or more")
    return (f"{demand} over the last {span} is {plural(z.demand, 'seat')} "
            f"({plural(p.busy_samples, 'sample')} with seats in use); at commit {p.commit} "
            f"{z.overage_share_before:.0%} of them are overage, at {p.new_commit} "
            f"{z.overage_share_after:.0%}, and the overage share of checkouts in every "
            f"{duration(p.rate_window_seconds)} rate window (but those the alert's {duration(p.alert_for_seconds)} "
            f"forgives) stays at {z.checkout_share_after:.0%} at most: both under the alert's {p.threshold:.0%}. "
            f"{plural(z.extra_seats, 'more commit seat')} cost ${z.extra_commit_monthly:,.0f}/month; "
            f"they would have absorbed about {plural(round(z.absorbed_checkouts), 'overage checkout')} of the "
            f"{p.overage_checkouts_window:,.0f} in the last {span} (${z.avoided_overage:,.0f} at "
            f"${p.overage_cost_per_checkout:,.0f} each). {load}. Break-even: "
            f"{plural(z.break_even_checkouts_per_month or 0, 'overage checkout')} a month{recurrence}.")


def raise_commit_risk(p: CommitProposal) -> str:
    """What raising the commit costs even when the demand goes away."""
    return (f"${p.sizing.extra_commit_monthly:,.0f} more every month even when the demand drops; total seats stay "
            f"{p.total}. Existing overage borrows stay billed until returned.")
