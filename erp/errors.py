"""Domain errors: the bases every app's services and contract raise.

Framework-free on purpose (no Django, no DRF): ``contract.py`` modules import
this module and nothing else of the kernel, so a remote proxy can raise the same
errors. The API's exception handler (erp/exceptions.py) maps each base once to
an HTTP status and a problem+json body, so views never translate errors:

    ============== ====== ===============================================
    base           status when
    ============== ====== ===============================================
    NotFoundError  404    the id names nothing
    ConflictError  409    the current state forbids it (not enough stock)
    InvalidError   400    the input is wrong (``errors`` per field)
    ForbiddenError 403    this caller may not, whatever the input
    ============== ====== ===============================================

Every error carries a stable machine ``code`` (the body's ``code`` and the
``urn:erp:problem:<code>`` type): a class attribute per subclass, which an
instance may narrow. ``extra`` adds fields to the body (say, the short lines of
an order), so clients can act on an error without parsing its message.

    class InsufficientStockError(ConflictError):
        code = "insufficient_stock"

    raise InsufficientStockError(_("Not enough stock."), extra={"lines": [...]})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field; ``field`` is a dotted path
    (``lines.0.quantity``) or None for the request as a whole."""

    field: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    code: ClassVar[str] = "domain_error"
    default_message: ClassVar[str] = "The request cannot be carried out."

    def __init__(
        self, message: str | None = None, *, code: str | None = None, extra: Mapping[str, Any] | None = None
    ):
        self.message = message or self.default_message
        super().__init__(self.message)
        if code is not None:
            self.code = code
        self.extra = dict(extra or {})


class NotFoundError(DomainError, LookupError):
    code = "not_found"
    default_message = "Not found."


class ConflictError(DomainError):
    code = "conflict"
    default_message = "The current state forbids this."


class ForbiddenError(DomainError):
    code = "forbidden"
    default_message = "You may not do this."


class InvalidError(DomainError, ValueError):
    """Bad input; ``errors`` says which fields and why."""

    code = "invalid"
    default_message = "Invalid input."

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Sequence[FieldError] = (),
        code: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ):
        self.errors = list(errors)
        super().__init__(message or (self.errors[0].message if self.errors else None), code=code, extra=extra)

    @classmethod
    def for_field(cls, field: str | None, message: str, *, code: str = "invalid") -> InvalidError:
        return cls(message, errors=[FieldError(field=field, code=code, message=message)])
