"""RFC 9457 problem documents, shared by the DRF handler and plain Django views."""

from http import HTTPStatus

from django.http import JsonResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:erp:problem:"


def problem_body(status: int, code: str, detail: str, **extra) -> dict:
    return {
        "type": f"{PROBLEM_TYPE_PREFIX}{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def problem_response(status: int, code: str, detail: str, **extra) -> JsonResponse:
    return JsonResponse(
        problem_body(status, code, detail, **extra),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
