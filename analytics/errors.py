"""Errors meant for people: each message names the problem and the fix in one line."""


class CityBrainError(Exception):
    """Bad input or an unusable state, explained. The CLI prints it without a traceback."""
