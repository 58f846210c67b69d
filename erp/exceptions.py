"""One exception handler for every API view: errors become problem+json, and
errors the database raises for bad input become client errors, never a 500."""

from django.conf import settings
from django.core import exceptions as django_exceptions
from django.db import DataError, IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.fields import get_error_detail
from rest_framework.views import exception_handler as drf_exception_handler

from erp import errors as domain
from erp.problems import PROBLEM_CONTENT_TYPE, problem_body


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("The current state of the resource forbids this request.")
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = gettext_lazy("The request body is too large.")


def body_too_large() -> PayloadTooLarge:
    """Past DATA_UPLOAD_MAX_MEMORY_SIZE: Django refuses to read the body."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return PayloadTooLarge(_("The request body is larger than %(mb).1f MB.") % {"mb": limit / (1024 * 1024)})


class _DomainProblem(exceptions.APIException):
    """A service's DomainError on its way to the response (see _translate)."""

    def __init__(self, error: domain.DomainError, status_code: int):
        self.error = error
        self.status_code = status_code
        super().__init__(detail=error.message, code=error.code)


_DOMAIN_STATUS = (
    (domain.NotFoundError, status.HTTP_404_NOT_FOUND),
    (domain.ConflictError, status.HTTP_409_CONFLICT),
    (domain.ForbiddenError, status.HTTP_403_FORBIDDEN),
    (domain.InvalidError, status.HTTP_400_BAD_REQUEST),
    (domain.DomainError, status.HTTP_400_BAD_REQUEST),
)


def _domain_status(error: domain.DomainError) -> int:
    return next(code for base, code in _DOMAIN_STATUS if isinstance(error, base))


def _constraint_name(exc: Exception) -> str | None:
    diag = getattr(getattr(exc, "__cause__", None), "diag", None)
    return getattr(diag, "constraint_name", None)


def _translate(exc: Exception) -> Exception:
    """Map domain, Django and database errors onto DRF exceptions with a client status."""
    if isinstance(exc, domain.DomainError):
        return _DomainProblem(exc, _domain_status(exc))
    if isinstance(exc, django_exceptions.RequestDataTooBig):
        return body_too_large()
    if isinstance(exc, django_exceptions.ValidationError):
        return exceptions.ValidationError(detail=get_error_detail(exc))
    if isinstance(exc, (ProtectedError, RestrictedError)):
        return Conflict(_("This record is still referenced by other records and cannot be deleted."))
    if isinstance(exc, IntegrityError):
        name = _constraint_name(exc)
        detail = _("The request conflicts with existing data")
        return Conflict(f"{detail} ({name})." if name else f"{detail}.")
    if isinstance(exc, DataError):
        return exceptions.ValidationError(
            {"non_field_errors": [_("A value is out of range or not valid for its field.")]},
        )
    if isinstance(exc, django_exceptions.ObjectDoesNotExist):
        return Http404()
    return exc


def _flatten(detail, path: str | None = None) -> list[dict]:
    """DRF's nested error detail as a flat list of {field, code, message}."""
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            field = None if key in ("non_field_errors", "__all__") else str(key)
            errors.extend(_flatten(value, f"{path}.{field}" if path and field else field or path))
        return errors
    if isinstance(detail, list):
        errors = []
        for index, item in enumerate(detail):
            nested = isinstance(item, (dict, list))
            item_path = (f"{path}.{index}" if path else str(index)) if nested else path
            errors.extend(_flatten(item, item_path))
        return errors
    return [{"field": path, "code": getattr(detail, "code", "invalid"), "message": str(detail)}]


# Keys of an exception's dict detail that are not extra problem members: "detail"
# is the detail itself; simplejwt's "messages" (token_not_valid) restates it per
# token class, and the 401 body has the shape of every other problem.
_NOT_EXTRA = frozenset({"detail", "messages"})


def problem_exception_handler(exc, context):
    exc = _translate(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    if isinstance(exc, _DomainProblem):
        body = _domain_body(exc.error, response.status_code)
    elif isinstance(exc, exceptions.ValidationError):
        errors = _flatten(detail)
        first = errors[0]["message"] if errors else ""
        body = problem_body(
            response.status_code,
            "invalid",
            _("Invalid input: %(first)s") % {"first": first} if first else _("Invalid input."),
            errors=errors,
        )
    else:
        message = detail.get("detail", "") if isinstance(detail, dict) else detail
        code = getattr(message, "code", None) or getattr(exc, "default_code", "error")
        body = problem_body(response.status_code, str(code), str(message))
        if isinstance(detail, dict):
            body.update({k: v for k, v in detail.items() if k not in body and k not in _NOT_EXTRA})
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _domain_body(error: domain.DomainError, status_code: int) -> dict:
    extra = dict(error.extra)
    if isinstance(error, domain.InvalidError):
        extra["errors"] = [e.as_dict() for e in error.errors]
    body = problem_body(status_code, error.code, error.message)
    # An extra field never replaces the problem's own (a "status" of the domain's
    # must not turn the body's HTTP status into text).
    body.update({key: value for key, value in extra.items() if key not in body})
    return body
