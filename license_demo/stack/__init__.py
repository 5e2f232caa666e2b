"""The native stack: the license server, Prometheus and Alertmanager as local processes, and the baseline load."""
