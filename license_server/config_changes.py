"""One way to change a tool's configuration: the API's PUT and the /config form both come here.

Each changed field is stored as a history row (which also moves the last-change gauge that
Grafana's annotations read), recorded by events.config_changed (counted in
`license_config_changes_total`, logged as `config_change`), and put on the timeline of the
tool's open incidents as the fix.
"""
from __future__ import annotations

from license_server import events
from license_server.errors import UnknownTool


def describe(before: dict, after: dict) -> str:
    """'commit 5 → 10, max_overage 15 → 10' for the fields that changed."""
    return ", ".join(f"{field} {_plain(before[field])} → {_plain(after[field])}"
                     for field in events.CONFIG_FIELDS if before[field] != after[field])


def apply(store, name: str, changes: dict, actor: str, source: str) -> tuple[dict, dict]:
    """Change tool `name` and record it everywhere; return (before, after). `source` says where
    the change was made ("api", "config form", "incident page")."""
    from license_server import incident_rule

    before = store.get_tool(name)
    if before is None:
        raise UnknownTool(f"No tool named {name!r}. GET /api/tools lists the catalog.")
    after = store.update_tool(name, changes, actor=actor)
    if events.config_changed(before, after, actor, source):
        incident_rule.record_fix(store, name, f"{describe(before, after)} ({source})", actor)
    return before, after


def _plain(value):
    """150.0 as 150: how a person writes a number."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
