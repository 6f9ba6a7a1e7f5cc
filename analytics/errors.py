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


def lookup(table, key, what: str, plural: str, *, code: str | None = None):
    """``table[key]``, or a :class:`CityBrainError` listing the keys that exist.

    Parameters
    ----------
    table : Mapping
        The known entries.
    key
        The entry asked for.
    what, plural : str
        The kind of entry, for the English message ("facility type", "types").
    code : str, optional
        The error's code; its parameters are ``key`` and ``choices``.

    Returns
    -------
    object
        ``table[key]``.

    Examples
    --------
    >>> lookup({"a": 1}, "a", "letter", "letters")
    1
    >>> lookup({"a": 1}, "b", "letter", "letters")
    Traceback (most recent call last):
    ...
    analytics.errors.CityBrainError: unknown letter 'b'; letters are a
    """
    try:
        return table[key]
    except KeyError:
        raise CityBrainError(f"unknown {what} {key!r}; {plural} are {', '.join(table)}",
                             code=code, key=key, choices=", ".join(table)) from None
