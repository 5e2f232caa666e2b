"""Tool and user names go into PromQL as string literals: a `"` or `\\` cannot break the query."""
from __future__ import annotations

import pytest

from license_demo.clients import DemoError
from rule_source.promql import quoted
import rule_source

ODD = 'MATLAB/Simulink (R2024b) "beta" C:\\tools\\'


def test_every_alert_reading_fills_names_as_literals():
    """The rule source's `investigate` templates get the quoted literal, placeholder quotes included."""
    readings = rule_source.load().readings
    assert len(readings) >= 6
    for reading in readings.values():
        query = reading.query(tool=ODD, user=ODD)
        assert "{tool}" not in query and "{user}" not in query
        if reading.needs:
            assert quoted(ODD) in query and f'"{ODD}"' not in query, query


def test_prometheus_reads_the_literal_back_as_the_name(native_stack):
    """Prometheus 2.42 parses the literal into exactly the name, and every selector built with it runs."""
    [series] = native_stack.query(f'label_replace(vector(1), "tool", {quoted(ODD)}, "", "")')
    assert series["metric"]["tool"] == ODD
    # The name pasted raw between quotes is not a query at all: what the literal prevents.
    with pytest.raises(DemoError):
        native_stack.query(f'sum(licenses_commit{{tool="{ODD}"}})')
    assert native_stack.query(f"sum(licenses_commit{{tool={quoted(ODD)}}})") == []
    for reading in rule_source.load().readings.values():
        native_stack.query(reading.query(tool=ODD, user=ODD))
