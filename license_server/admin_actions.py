"""Admin actions shared by the JSON API and the incident page's approvals."""
from __future__ import annotations

from license_server import metrics
from license_server.logs import log_event, seat_kind


def force_return(store, user: str, actor: str) -> list[dict]:
    """Free every seat `user` holds, counting and logging each; the freed borrows."""
    freed = store.force_return(user)
    for seat in freed:
        metrics.FORCE_RETURNS.labels(tool=seat["tool"]).inc()
        log_event("force_return", f"{actor} freed a seat of {seat['tool']} held by {user}",
                  tool=seat["tool"], user=user, team=seat["team"], seat=seat_kind(seat),
                  borrow_id=seat["id"], actor=actor)
    return freed
