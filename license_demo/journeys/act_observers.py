"""The act observers a journey run gets from its command line: the pacing clock, the backup deck."""
from __future__ import annotations

import os
from pathlib import Path

from license_demo.pacing import PacingObserver
from license_demo.journeys import timeline_report


def add_arguments(parser) -> None:
    """Add --record to the journey subcommand."""
    parser.add_argument("--record", metavar="DIR",
                        help="record the backup deck into DIR: a screenshot of what the audience sees "
                             "at each act (headless Chromium), then DIR/deck.html with everything embedded")


def build(args, journey, ctx) -> list:
    """Observers for this run: pacing in guided mode, the deck recorder with --record.

    Raises license_demo.browser.BrowserMissing when --record cannot take screenshots.
    """
    observers = []
    if args.mode == "guided":
        observers.append(PacingObserver(journey.name, len(journey.acts), out=ctx.out))
    if getattr(args, "record", None):
        from license_demo.browser import require_playwright
        from license_demo.deck import DeckRecorder
        # Before the first act: a deck that cannot be recorded must not surface mid-rehearsal.
        require_playwright()
        observers.append(DeckRecorder(Path(args.record), ctx.server.url, ctx.server.admin_token,
                                      grafana_url=args.grafana, grafana_token=os.environ.get("GRAFANA_TOKEN"),
                                      out=ctx.out))
    return observers


def finish(observers: list, journey, ctx) -> None:
    """Stop the pacing clock; write the deck (also after a failed run) and close Chromium."""
    for observer in observers:
        if hasattr(observer, "write") and ctx.timeline is not None:
            path = observer.write(journey, timeline_report.to_json(journey, ctx.timeline))
            ctx.out(f"backup deck: {path} ({len(observer.shots)} screenshots)")
        observer.close()
