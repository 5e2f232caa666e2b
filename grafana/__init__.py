"""The Grafana dashboards as Python (grafanalib) and the generator of their provisioned JSON."""
