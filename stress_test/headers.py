"""Headers every request of the stress test carries: synthetic-traffic marker and a request id."""
from __future__ import annotations

import uuid

SYNTHETIC = {"X-Synthetic": "true"}


def request_headers() -> dict[str, str]:
    """Fresh headers for one request: `X-Synthetic: true` and a unique `X-Request-ID`."""
    return {**SYNTHETIC, "X-Request-ID": f"stress-{uuid.uuid4().hex}"}
