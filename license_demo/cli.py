"""The `license-demo` command: one subcommand per module, each registering itself."""
from __future__ import annotations

import argparse
import importlib
import sys

# Each module listed here defines `register(subparsers)`, which adds its subcommand with
# `parser.set_defaults(func=run)`; adding a subcommand is one line in this tuple.
SUBCOMMAND_MODULES = (
    "license_demo.stack.stack",
    "license_demo.journeys.journey_cli",
    "license_demo.investigate.cli",
    "license_demo.preflight.cli",
    "license_demo.cloud.cli",
    "license_demo.agents.mcp_cli",
    "license_demo.evaluation.eval_cli",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="license-demo",
        description="Run and drive the license-server observability demo.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen subcommand."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
