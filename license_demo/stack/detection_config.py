"""The deployments' Prometheus and Alertmanager configs under their former module name.

They are rendered by `license_demo.deploy_configs` (one module per configuration file); these
names stay importable from here for the native stack, and `python -m
license_demo.stack.detection_config` still runs `python -m license_demo.deploy_configs`.
"""
from __future__ import annotations

import sys

from license_demo.deploy_configs import *  # noqa: F403 - the same names, re-exported
from license_demo.deploy_configs import __all__ as _names
from license_demo.deploy_configs.__main__ import main

__all__ = [*_names, "main"]

if __name__ == "__main__":
    sys.exit(main())
