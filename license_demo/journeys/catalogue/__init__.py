"""The four demo journeys, by the name the `journey` subcommand takes."""
from __future__ import annotations

from license_demo.journeys.catalogue import bug_journey, capacity_planning, friday_crisis, overage_crisis

JOURNEYS = {j.name: j for j in (overage_crisis.JOURNEY, bug_journey.JOURNEY,
                                capacity_planning.JOURNEY, friday_crisis.JOURNEY)}
