"""The investigator: from an alert to facts, hypotheses and an approved, verified fix.

A client of the license server, Prometheus, Alertmanager and (optionally) Loki: it reads
their HTTP APIs, classifies the incident with explicit rules and changes nothing without
a human's approval.
"""
