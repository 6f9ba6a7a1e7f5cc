"""Errors meant for people: each message names the problem and the fix in one line."""


class CityBrainError(Exception):
    """Bad input or an unusable state, explained. The CLI prints it without a traceback.

    ``code`` and ``params`` (optional) name the reason for a user interface that says it in
    another language; the message stays the English text, for the CLI and the logs.
    """

    def __init__(self, message: str, *, code: str | None = None, **params):
        super().__init__(message)
        self.code = code
        self.params = params


def lookup(table, key, what: str, plural: str):
    """``table[key]``, or a :class:`CityBrainError` listing the keys that exist."""
    try:
        return table[key]
    except KeyError:
        raise CityBrainError(f"unknown {what} {key!r}; {plural} are {', '.join(table)}") from None
