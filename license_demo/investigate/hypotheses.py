"""The explicit rules: each hypothesis scores its confidence from the evidence, points by points.

Every rule adds or removes a stated number of points when its condition holds; the
confidence is the sum clamped to 0..1. The reasons are kept, so the report shows what
supports and what weakens each hypothesis.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from license_demo.investigate.evidence import Evidence
from license_demo.investigate.wording import duration, plural


@dataclass
class Hypothesis:
    """A possible explanation with its confidence and the evidence for and against it."""

    key: str
    title: str
    confidence: float = 0.0
    supports: list[str] = field(default_factory=list)
    weakens: list[str] = field(default_factory=list)
    subject: dict = field(default_factory=dict)

    def rule(self, holds: bool, points: float, because: str) -> None:
        """Add `points` (negative: remove) and note `because` when `holds`."""
        if not holds:
            return
        self.confidence += points
        (self.supports if points > 0 else self.weakens).append(f"{because} ({points:+.2f})")

    def to_dict(self) -> dict:
        """The hypothesis as JSON-ready data."""
        return {"key": self.key, "title": self.title, "confidence": self.confidence,
                "supports": self.supports, "weakens": self.weakens, "subject": self.subject}


def _pct(value: float) -> str:
    """0.753 -> '75%'."""
    return f"{value:.0%}"


def _burst(ev: Evidence, overage_w: float, base: float) -> bool:
    """Overage at three times the baseline's; without a baseline (right after a reset) nothing is a burst."""
    return ev.settings.baseline_seconds > 0 and overage_w >= 3 and overage_w >= 3 * base


def build_job(ev: Evidence) -> Hypothesis:
    """One team's build job drives the overage of the tool in focus (a burst, not steady demand)."""
    tool, usage, who, demand = ev.tool, ev.usage, ev.borrowers, ev.demand
    h = Hypothesis("build_job", f"One team's build job drives overage on {tool or 'a tool'}")
    if not tool:
        h.weakens.append("no tool in focus")
        return h
    overage_now = usage.seats(tool).overage
    overage_w, base = usage.overage_window.get(tool, 0), usage.overage_baseline.get(tool, 0)
    team, share = who.top_team, who.top_team_share
    held_total = sum(v.seats for v in who.held_by_team.values())
    h.subject = {"tool": tool, "team": team}
    h.title = f"Team {team}'s build job drives overage on {tool}" if team else h.title
    h.rule(overage_w > 0 or overage_now > 0, 0.15,
           f"{plural(overage_w, 'overage checkout')} in the window, {plural(overage_now, 'overage seat')} held now")
    h.rule(share >= 0.6, 0.25, f"team {team} made {_pct(share)} of the checkouts in the window")
    h.rule(share >= 0.8, 0.1, "one team clearly dominates (80% or more)")
    h.rule(_burst(ev, overage_w, base), 0.2,
           f"a burst: {plural(overage_w, 'overage checkout')} against {base:.0f} in the "
           f"{duration(ev.settings.baseline_seconds)} before")
    top_held = who.held_by_team[team].seats if team in who.held_by_team else 0
    h.rule(held_total > 0 and top_held / held_total >= 0.6, 0.15,
           f"team {team} holds {top_held} of the {plural(held_total, 'seat')} in use now")
    users = who.by_user
    user_total = sum(r["value"] for r in users)
    h.rule(bool(users) and users[0]["value"] >= 0.8 * user_total, -0.2,
           f"one user ({users[0]['user'] if users else ''}) made 80% or more of them: a script, not a team's job")
    # Under churn (seats borrowed and returned) a scrape can catch no overage seat mid-run or just
    # after it; while the tool's overage alert still fires, the burst is not over.
    alerting = bool(ev.alerts.named("HighOverageRate", tool=tool))
    h.rule(overage_now == 0 and not alerting, -0.3, "no overage seat is held now: the burst is over")
    h.rule(who.teams_over_20pct >= 3, -0.2, f"{who.teams_over_20pct} teams each made 20% or more of the checkouts")
    h.rule(demand.above_commit_fraction >= 0.5 and demand.coverage_seconds >= 3600, -0.25,
           "usage was above commit for most of the lookback: demand looks steady")
    return h


def commit_too_low(ev: Evidence) -> Hypothesis:
    """The commit is too low for steady demand: usage above commit most of the working day."""
    tool, demand, usage = ev.tool, ev.demand, ev.usage
    h = Hypothesis("commit_too_low", f"Commit of {tool or 'a tool'} too low for steady demand",
                   subject={"tool": tool})
    if not tool:
        h.weakens.append("no tool in focus")
        return h
    fraction, covered, busy = demand.above_commit_fraction, demand.coverage_seconds, demand.busy_seconds
    h.rule(fraction >= 0.5, 0.4, f"seats in use exceeded commit {_pct(fraction)} of the {duration(busy)} "
                                 f"the tool was in use in the last {duration(ev.settings.lookback)}")
    h.rule(0.25 <= fraction < 0.5, 0.2, f"seats in use exceeded commit {_pct(fraction)} of the "
                                        f"{duration(busy)} the tool was in use")
    teams = ev.borrowers.teams_over_20pct
    h.rule(teams >= 2, 0.2, f"{teams} teams share the demand (20% or more each)")
    h.rule(covered >= 3600, 0.15, f"{duration(covered)} of history back the measure")
    h.rule(covered < 3600, -0.2, f"only {duration(covered)} of history: steady demand "
                                 "needs hours of data")
    overage_w, base = usage.overage_window.get(tool, 0), usage.overage_baseline.get(tool, 0)
    h.rule(_burst(ev, overage_w, base) and covered < 4 * ev.settings.window + 3600, -0.15,
           "the overage came as a sudden burst, not as steady use")
    h.rule(usage.seats(tool).overage == 0 and fraction < 0.25, -0.2,
           "no overage seat held now and usage rarely above commit")
    return h


def hoarding(ev: Evidence) -> Hypothesis:
    """One user or script holds far more seats than anyone should."""
    holder = ev.holder
    user, seats, share, tools = holder.user, holder.seats, holder.share, holder.tools
    h = Hypothesis("hoarding", f"{user or 'One user'} is hoarding seats", subject={"user": user, "team": holder.team})
    if not user:
        h.weakens.append("nobody holds a seat now")
        return h
    threshold = ev.settings.hoarding_seats
    h.rule(seats > threshold, 0.4, f"{user} holds {plural(seats, 'seat')}, above the threshold of {threshold}")
    h.rule(share >= 0.5, 0.25, f"that is {_pct(share)} of all seats in use")
    h.rule(len(tools) >= 3, 0.15, f"on {len(tools)} different tools")
    h.rule(holder.checkout_share >= 0.8, 0.1,
           f"{user} made {_pct(holder.checkout_share)} of all checkouts in the window")
    h.rule(holder.seats_available_total == 0, 0.1, "no seat is free on any tool")
    h.rule(seats <= 3, -0.3, f"{user} holds only {plural(seats, 'seat')}")
    return h


def bad_deployment(ev: Evidence) -> Hypothesis:
    """A fault after a deployment: failures rising right after a version change."""
    changes = ev.changes
    change = changes.change
    h = Hypothesis("bad_deployment", "A fault introduced by the last deployment")
    if not change:
        h.weakens.append("no version change in the window")
        return h
    version = change.version
    h.title = f"A fault introduced by deploying {version}" if change.action != "rollback" else \
        f"A fault around the rollback to {version}"
    h.subject = {"version": version, "commit": change.commit, "previous": change.previous}
    after, before, ok = changes.failures_after, changes.failures_before, changes.borrows_after
    h.rule(True, 0.3, f"version changed in the window ({change.action} {version})")
    h.rule(after >= 3 and after >= 3 * max(before, 0.5), 0.35,
           f"{plural(after, 'failed borrow')} since the change against {before:.0f} in as long before it")
    ratio = after / (after + ok) if after + ok else 0
    h.rule(ratio >= 0.1, 0.15, f"{_pct(ratio)} of borrow attempts since the change failed")
    h.rule(bool(ev.failures.ratio_now), 0.1, "borrows are failing right now (recording rule)")
    h.rule(change.action == "rollback", -0.4, "the last change was already a rollback")
    h.rule(after < 1, -0.3, "no borrow failed since the change")
    h.rule(before >= 3 and after < 2 * before, -0.2, "failures were as frequent before the change")
    return h


def server_down(ev: Evidence) -> Hypothesis:
    """The server is down, or Prometheus does not scrape it."""
    reachable, scrape = ev.server.reachable, ev.scrape
    up = scrape.up
    h = Hypothesis("server_down", "License server down")
    if reachable and up == 0:
        h.title = "License server up but Prometheus cannot scrape it"
    h.rule(up == 0, 0.5, f"up{{job=\"license-server\"}} is 0 (last error: {scrape.target_error or 'none'})")
    h.rule(up is None and scrape.prometheus_reachable, 0.4, "Prometheus has no license-server target at all")
    h.rule(not reachable, 0.35, "GET /healthz does not answer")
    h.rule(bool(ev.alerts.named("LicenseServerDown")), 0.1, "LicenseServerDown is firing")
    h.rule(reachable and up == 1, -0.5, "the server answers and Prometheus scrapes it")
    return h


RULES = (server_down, bad_deployment, hoarding, build_job, commit_too_low)


def rank(ev: Evidence) -> list[Hypothesis]:
    """Every hypothesis with its confidence, most likely first (ties: the order of RULES)."""
    hypotheses = [rule(ev) for rule in RULES]
    for h in hypotheses:
        h.confidence = round(min(1.0, max(0.0, h.confidence)), 2)
    order = {rule.__name__: i for i, rule in enumerate(RULES)}
    return sorted(hypotheses, key=lambda h: (-h.confidence, order[h.key]))
