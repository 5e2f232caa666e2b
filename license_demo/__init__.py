"""Tooling for the license-server demo: native stack, journeys, investigator."""
