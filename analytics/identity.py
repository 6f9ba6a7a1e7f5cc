"""Who is acting: the public or a signed-in member of staff, and what each role may do.

Accounts and sign-in (``analytics.opendata.accounts``) produce an :class:`Actor`; everything that
reads, exports, loads or acknowledges takes one and checks it here, so permission
decisions live in the library, never in pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.errors import CityBrainError

#: Staff roles, most privileged first; ``public`` is every anonymous visitor.
ROLES = ("administrator", "data_steward", "planner", "analyst", "leader", "public")


class PermissionDenied(CityBrainError):
    """The actor's role does not allow this; the message says which roles would."""


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    #: The department a data steward loads for (a contract's owner); None: every department.
    department: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; roles are {', '.join(ROLES)}")

    @property
    def is_public(self) -> bool:
        return self.role == "public"


PUBLIC = Actor("public", "public")


def require(actor: Actor, *roles: str, action: str = "do this") -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` has one of ``roles``."""
    if actor.role not in roles:
        raise PermissionDenied(f"{actor.name} ({actor.role}) may not {action}: "
                               f"it needs the role {' or '.join(roles)}",
                               code="permission_denied", user=actor.name, role=actor.role,
                               roles=" / ".join(roles))
