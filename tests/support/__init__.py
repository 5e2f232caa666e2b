"""Helpers the test folders share: local processes, waiting, the PostgreSQL cluster, loopback peers.

tests/ is on sys.path (the rootdir conftest), so tests import them as `support.<module>`.
"""
