"""The one reader of the server's tool catalogue (GET /api/tools)."""
from __future__ import annotations

import requests

from stress_test.headers import request_headers


def read_tools(url: str, timeout: float = 10.0, session: requests.Session | None = None) -> list[dict]:
    """Every tool the server at `url` serves, with its seats and prices; requests' errors propagate."""
    response = (session or requests).get(f"{url.rstrip('/')}/api/tools", headers=request_headers(),
                                         timeout=timeout)
    response.raise_for_status()
    return response.json()
