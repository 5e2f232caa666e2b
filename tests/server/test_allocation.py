"""The seat-allocation rule (license_server/allocation.py), case by case."""
from __future__ import annotations

import pytest

from license_server.allocation import COMMIT, OVERAGE, allocate

CASES = [
    # commit, max_overage, in_use, commit_in_use, expected
    (5, 2, 0, 0, COMMIT),       # empty tool: commit first
    (5, 2, 4, 4, COMMIT),       # last commit seat
    (5, 2, 5, 5, OVERAGE),      # commit full: overage
    (5, 2, 6, 5, OVERAGE),      # last overage seat
    (5, 2, 7, 5, None),         # commit and overage full: exhausted
    (5, 0, 5, 5, None),         # no overage allowed
    (0, 3, 0, 0, OVERAGE),      # no commit: every seat is overage
    (0, 0, 0, 0, None),         # nothing to borrow
    (3, 2, 4, 2, COMMIT),       # a commit seat came back while overage seats are held
    (2, 2, 6, 4, None),         # lowered limits: more in use than allowed, nothing revoked, refused
    (2, 10, 6, 4, OVERAGE),     # commit lowered below its use: new seats are overage
]


@pytest.mark.parametrize("commit, max_overage, in_use, commit_in_use, expected", CASES)
def test_allocate(commit, max_overage, in_use, commit_in_use, expected):
    """Commit first, then overage, then refuse."""
    assert allocate(commit, max_overage, in_use, commit_in_use) == expected
