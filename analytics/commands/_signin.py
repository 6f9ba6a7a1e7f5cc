"""Reading a password on the command line: hidden at a terminal, one line from a pipe."""

from __future__ import annotations

import getpass
import sys

from analytics.errors import CityBrainError


def read_password(prompt: str, confirm: bool = False) -> str:
    if sys.stdin.isatty():
        password = getpass.getpass(prompt)
        if confirm and getpass.getpass("again: ") != password:
            raise CityBrainError("the two passwords differ; run the command again")
        return password
    line = sys.stdin.readline()
    if not line:
        raise CityBrainError("no password on standard input (pipe one line, or run at a terminal)")
    return line.rstrip("\n")
