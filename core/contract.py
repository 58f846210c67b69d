"""Public surface of ``core``: what other apps may ask about identity and company.

Imports nothing of the app and no ORM, so a remote proxy can implement it.
"""

from dataclasses import dataclass
from datetime import date
from typing import Protocol
from uuid import UUID

from erp.errors import NotFoundError


@dataclass(frozen=True)
class CompanyInfo:
    name: str
    tax_id: str
    base_currency: str
    timezone: str


@dataclass(frozen=True)
class UserRef:
    id: UUID
    username: str
    roles: frozenset[str]
    is_active: bool


class UserNotFoundError(NotFoundError):
    """No user has this id."""

    code = "user_not_found"


class CoreService(Protocol):
    def company(self) -> CompanyInfo: ...

    def today(self) -> date:
        """The company's business date: today in its timezone (the server's if
        the stored zone is unknown)."""
        ...

    def user(self, *, user_id: UUID) -> UserRef:
        """Raises UserNotFoundError."""
        ...
