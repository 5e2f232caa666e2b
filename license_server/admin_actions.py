"""Admin actions shared by the JSON API and the incident page's approvals."""
from __future__ import annotations

from license_server import events


def force_return(store, user: str, actor: str) -> list[dict]:
    """Free every seat `user` holds, counting and logging each; the freed borrows."""
    freed = store.force_return(user)
    for seat in freed:
        events.force_returned(seat, user, actor)
    return freed
