"""Idempotency-Key for every POST, without per-view code.

The request runs inside one transaction that also stores its response, so the
effect and the record commit together or not at all. That transaction is the
one of the app that owns the view, on that app's database (``erp.db.atomic``):
the record lives beside the effect whether the app shares ``default`` or has a
database of its own, and another app the view calls commits on its own in both
layouts (erp/db.py). A transaction-scoped PostgreSQL advisory lock on
(user, key) tells a request still in flight (409) from one that finished
(replay); a crash releases the lock with the rollback, so no stale "in flight"
marker can block a retry.
"""

import hashlib
import json
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.db import connections, transaction
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import APIException
from rest_framework.settings import api_settings

from erp import db
from erp.models import IdempotencyRecord
from erp.parsers import InvalidJSONError, load_json
from erp.problems import problem_response

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
_REPLAYED_HEADERS = ("Content-Type", "Location")


def _view_class(request) -> type | None:
    try:
        view = resolve(request.path_info).func
    except Resolver404:
        return None
    return getattr(view, "cls", None)


def _takes_credentials(view_class: type | None) -> bool:
    """Views without authentication (the token endpoints) are never wrapped: a
    rolled-back transaction there could erase a recorded login failure."""
    return view_class is not None and bool(getattr(view_class, "authentication_classes", ()))


def owning_app(view_class: type) -> str:
    """The app whose transaction a view runs in: the app its module belongs to,
    or ``app_label`` declared on the view (a view defined outside its app)."""
    declared = getattr(view_class, "app_label", None)
    if declared:
        return declared
    config = apps.get_containing_app_config(view_class.__module__)
    return config.label if config is not None else "default"


def _authenticated_user_id(request) -> str | None:
    try:
        # The API's own authentication (settings), so an ended session is no user here either.
        result = next(
            (
                found
                for auth in api_settings.DEFAULT_AUTHENTICATION_CLASSES
                if (found := auth().authenticate(request))
            ),
            None,
        )
    except APIException:
        return None  # the view itself answers 401
    if not result:
        return None
    # As DRF would: the request log names the user of a 409, 422 or replay too.
    request.user = result[0]
    return str(result[0].pk)


def _canonical_body(raw: bytes) -> bytes:
    try:
        return json.dumps(load_json(raw), sort_keys=True, separators=(",", ":")).encode()
    except InvalidJSONError:  # not JSON the API takes: the view answers 400; the bytes are the body
        return raw


def fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), _canonical_body(request.body)):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _lock_id(user_id: str, key: str) -> int:
    digest = hashlib.sha256(f"{user_id}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _try_lock(alias: str, user_id: str, key: str) -> bool:
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return True  # SQLite (quick start) serialises writers by itself
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_lock_id(user_id, key)])
        return cursor.fetchone()[0]


def _is_storable(response) -> bool:
    # 5xx may succeed on retry; 429 never ran; streams cannot be stored.
    return response.status_code < 500 and response.status_code != 429 and not response.streaming


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.body), status=record.status_code)
    for name, value in record.headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _expiry_cutoff() -> datetime:
    return timezone.now() - settings.IDEMPOTENCY_TTL


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return self.get_response(request)
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            return problem_response(
                400, "invalid_idempotency_key", _("Idempotency-Key must be 1 to 255 characters.")
            )
        view_class = _view_class(request)
        user_id = _authenticated_user_id(request) if _takes_credentials(view_class) else None
        if user_id is None:
            return self.get_response(request)  # keys are scoped per user
        return self._handle(request, owning_app(view_class), user_id, key)

    def _handle(self, request, app_label: str, user_id: str, key: str):
        request_fingerprint = fingerprint(request)
        with db.atomic(app_label):
            alias = db.alias(app_label)
            if not _try_lock(alias, user_id, key):
                return problem_response(
                    409,
                    "idempotency_key_in_flight",
                    _("A request with this Idempotency-Key is still being processed."),
                )
            records = IdempotencyRecord.objects.using(alias).filter(user_id=user_id, key=key)
            records.filter(created_at__lt=_expiry_cutoff()).delete()
            record = records.first()
            if record is not None:
                if record.fingerprint != request_fingerprint:
                    return problem_response(
                        422,
                        "idempotency_key_reused",
                        _("This Idempotency-Key was already used with a different request."),
                    )
                return _replay(record)
            with transaction.atomic(using=alias):
                response = self.get_response(request)
                if response.status_code >= 400:
                    # An error leaves no partial effect; a 4xx is still stored below.
                    transaction.set_rollback(True, using=alias)
            if _is_storable(response):
                IdempotencyRecord.objects.using(alias).create(
                    user_id=user_id,
                    key=key,
                    fingerprint=request_fingerprint,
                    status_code=response.status_code,
                    headers={h: response[h] for h in _REPLAYED_HEADERS if response.has_header(h)},
                    body=response.content,
                )
            return response


def purge_expired() -> int:
    """Drop expired records on every database (each app keeps its own)."""
    cutoff = _expiry_cutoff()
    return sum(
        IdempotencyRecord.objects.using(alias).filter(created_at__lt=cutoff).delete()[0]
        for alias in connections
    )
