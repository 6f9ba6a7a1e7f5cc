"""``python -m analytics``: one entry point, one sub-command module each.

Each module in :data:`COMMAND_MODULES` has ``register(subparsers)``, which adds its
sub-command(s) and sets ``func`` to a function of the parsed arguments returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from analytics.errors import CityBrainError
from analytics.textsafe import printable

COMMAND_MODULES = [
    "analytics.commands.build",
    "analytics.commands.info",
    "analytics.commands.catalog",
    "analytics.commands.export",
    "analytics.commands.lake",
    "analytics.commands.users",
    "analytics.commands.sensors",
    "analytics.commands.plan",
    "analytics.commands.forecast",
    "analytics.commands.ingest",
    "analytics.commands.layers",
]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m analytics",
        description="City data brain: build the city store, inspect it, plan, forecast, "
        "export. Every command has --help.",
    )
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CityBrainError as exc:
        print(f"error: {printable(exc)}", file=sys.stderr)  # what a person typed, inert
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `... | head`
        return 0
