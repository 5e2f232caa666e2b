"""Load simulator for the license server: engineering teams borrowing and returning tool seats.

Run it with `python -m stress_test` (numbered menus, or flags) or `./run_stress_test.sh`;
the Locust user classes live in `stress_test/locustfile.py`, which also runs with `locust -f`.
Importing the package loads neither Locust nor gevent, so other tools can look it up freely.
"""
