"""The four demo journeys, by the name the `scenario` subcommand takes."""
from __future__ import annotations

from license_demo.scenarios.journeys import bug_journey, capacity_planning, friday_crisis, overage_crisis

SCENARIOS = {s.name: s for s in (overage_crisis.SCENARIO, bug_journey.SCENARIO,
                                 capacity_planning.SCENARIO, friday_crisis.SCENARIO)}
