"""Errors meant for people: each message names the problem and the fix in one line."""


class CityBrainError(Exception):
    """Bad input or an unusable state, explained. The CLI prints it without a traceback."""


def lookup(table, key, what: str, plural: str):
    """``table[key]``, or a :class:`CityBrainError` listing the keys that exist."""
    try:
        return table[key]
    except KeyError:
        raise CityBrainError(f"unknown {what} {key!r}; {plural} are {', '.join(table)}") from None
