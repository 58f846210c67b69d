"""JSON bodies as the API accepts them: what Python's json module takes, minus
what would reach the database or the interpreter as a fault instead of a 400.

Python's parser recurses once per nesting level (a 2 KB body of brackets
raises RecursionError), accepts NaN, Infinity and 1e309 (as inf), and decodes
"\\udfff" into a lone surrogate that no UTF-8 encoder, PostgreSQL's included,
can write. ``load_json`` refuses all of these with an InvalidJSONError that says
why; the API's parser (a 400), the idempotency fingerprint and the product
import use it.
"""

from __future__ import annotations

import json
import math
import re

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# No API body nests anywhere near this deep, or has this many members per object.
MAX_DEPTH = 32
MAX_OBJECT_MEMBERS = 1000
# A NUL is left to the fields: DRF's CharField refuses it naming the field, and
# PostgreSQL refuses it in jsonb (a 400 too, erp/exceptions.py).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidJSONError(ValueError):
    """Not a JSON document the API takes; the message says why."""


def load_json(raw: bytes | str, *, parse_float=None) -> object:
    """The JSON document in ``raw``, or InvalidJSONError naming what is wrong with it.
    ``parse_float`` makes the numbers with a fraction or exponent (Decimal, say;
    float by default), once they are known to be finite."""
    exact = parse_float or float

    def finite(text: str):
        _finite_float(text)
        return exact(text)

    try:
        document = json.loads(raw, parse_constant=_refuse_constant, parse_float=finite)
    except RecursionError:
        raise InvalidJSONError(_too_deep()) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, and integers past 4,300 digits
        raise InvalidJSONError(_("JSON parse error: %(error)s") % {"error": exc}) from None
    _check(document)
    return document


def _refuse_constant(name: str):
    raise ValueError(_("%(name)s is not a JSON number") % {"name": name})


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(_("the number %(number)s is out of range") % {"number": text[:40]})
    return value


def _too_deep() -> str:
    return _("JSON nested more than %(depth)d levels deep.") % {"depth": MAX_DEPTH}


def _check(document: object) -> None:
    """Depth, object size and strings, without recursion."""
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_string(value)
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise InvalidJSONError(_too_deep())
        if isinstance(value, dict):
            if len(value) > MAX_OBJECT_MEMBERS:
                raise InvalidJSONError(
                    _("A JSON object has more than %(count)d members.") % {"count": MAX_OBJECT_MEMBERS}
                )
            for key in value:
                _check_string(key)
            value = value.values()
        pending.extend((item, depth + 1) for item in value)


def _check_string(text: str) -> None:
    found = _LONE_SURROGATE.search(text)
    if found is not None:
        raise InvalidJSONError(
            _("JSON string contains a lone surrogate (\\u%(code)04x): not valid Unicode text.")
            % {"code": ord(found.group())}
        )


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser on load_json."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(_("The body is not valid %(encoding)s text.") % {"encoding": encoding}) from exc
        try:
            return load_json(text)
        except InvalidJSONError as exc:
            raise ParseError(str(exc)) from None
