"""Records what the API answered that the incident story needs: refused and failed borrows
(the start of exhaustion and failure problems), the run id a borrow was sent with, and a
reset (which forgets those records and closes the open incidents).

A run id is optional: a client that marks its runs sends `X-Run-ID: <id>` with each borrow;
without it the dashboard splits runs at quiet gaps (see license_server/overview.py).
"""
from __future__ import annotations

import logging
import re
import time

from flask import Blueprint, current_app, request

from license_server import incident_tracking, story_store

log = logging.getLogger(__name__)
bp = Blueprint("api_outcomes", __name__)
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


@bp.after_app_request
def record(response):
    """After POST /api/borrow: note refusals, failures and run ids; after a reset, start afresh."""
    endpoint = request.endpoint or ""
    try:
        if endpoint == "api.borrow":
            _borrow(response)
        elif endpoint == "api.reset" and response.status_code == 200:
            store = current_app.extensions["store"]
            story_store.clear(store)
            incident_tracking.close_on_reset(store)
    except Exception:  # the answer is already decided; a missed record must not change it
        log.exception("could not record the borrow outcome")
    return response


def _borrow(response) -> None:
    """One borrow answer."""
    store = current_app.extensions["store"]
    body = request.get_json(silent=True) or {}
    tool = body.get("tool") if isinstance(body, dict) and isinstance(body.get("tool"), str) else None
    if response.status_code == 201:
        run_id = request.headers.get("X-Run-ID", "")
        if run_id and RUN_ID_RE.match(run_id):
            story_store.record_run(store, response.get_json()["id"], run_id)
    elif tool and response.status_code == 409:
        story_store.record_refusal(store, time.time(), tool, "exhausted")
    elif tool and response.status_code >= 500:
        story_store.record_refusal(store, time.time(), tool, "failed")
