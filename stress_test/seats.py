"""Give back the seats a run still holds when it stops, so nothing leaks into the next act."""
from __future__ import annotations

import time

import requests

from stress_test import tracing
from stress_test.headers import request_headers
from stress_test.run_state import RunState


def return_held(run: RunState, attempts: int = 3) -> int:
    """POST /api/return for every seat `run` still holds; return how many went back."""
    url = f"{run.settings.target.rstrip('/')}/api/return"
    back = 0
    with requests.Session() as session:
        for _ in range(attempts):
            for seat in list(run.held.values()):
                started = time.perf_counter()
                error = None
                try:
                    with tracing.operation("return", tool=seat.tool, user=seat.user), \
                            tracing.attempt("POST", "/api/return") as sent:
                        response = session.post(url, json={"id": seat.id},
                                                headers={**request_headers(), **sent.headers},
                                                timeout=run.settings.request_timeout)
                        sent.answered(response.status_code)
                    if response.status_code in (200, 409):
                        run.returned(seat, already=response.status_code == 409)
                        back += 1
                    else:
                        error = f"HTTP {response.status_code}"
                except requests.RequestException as exc:
                    error = f"transport error: {exc}"
                run.observe("POST", "return", (time.perf_counter() - started) * 1000, 0,
                            exception=error, context={"tool": seat.tool})
            if not run.held:
                break
            time.sleep(0.5)
    run.cleanup_returned += back
    return back
