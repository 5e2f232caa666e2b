"""The seat-allocation rule, in one place: commit first, then overage, then refuse."""
from __future__ import annotations

COMMIT = "commit"
OVERAGE = "overage"


def allocate(commit: int, max_overage: int, in_use: int, commit_in_use: int) -> str | None:
    """Return the kind of seat a new borrow gets, or None when the tool is exhausted.

    Lowered limits never revoke seats: they only make this answer stricter.
    """
    if in_use >= commit + max_overage:
        return None
    if commit_in_use < commit:
        return COMMIT
    return OVERAGE
