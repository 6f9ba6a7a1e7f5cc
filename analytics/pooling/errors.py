"""The two ways a department file fails: unreadable, or read but against its contract."""

from __future__ import annotations

from analytics.errors import CityBrainError


class IngestError(CityBrainError):
    """The file cannot be read at all (one line: file, what is wrong, the fix)."""


class IngestRejected(CityBrainError):
    """The file was read but breaks its contract; ``report`` holds every problem."""

    def __init__(self, report):
        self.report = report
        first = report.problems.iloc[0]
        more = report.problem_count - 1
        tail = f" (and {more:,} more problem{'s' if more != 1 else ''}: see the problems table)" \
            if more else ""
        super().__init__(f"{first['message']}{tail}; nothing was loaded",
                         code="ingest_rejected", problem=first["message"], more=more)


