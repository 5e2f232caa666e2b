"""`license-demo cloud`: set up a Grafana Cloud stack for the license server on Fly.io.

Through the documented HTTP APIs only: the production rules into the Prometheus-compatible
ruler, the Alertmanager configuration and templates, a folder and the three dashboards in
Grafana. `settings.py` reads the endpoints and tokens, one module per API does its part, and
`setup.py` runs them in order; `license-demo preflight --cloud` checks the result.
"""
