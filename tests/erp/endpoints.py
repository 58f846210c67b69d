"""Every API endpoint, read from the URL resolver, so new ones are never missed."""

import re
import uuid

from django.urls import URLPattern, URLResolver, get_resolver

WRITE_METHODS = ("post", "put", "patch", "delete")
SAMPLE_ID = str(uuid.UUID(int=1))


def _concrete(regex: str) -> str:
    # path() escapes what a regex would read (a hyphen: "trial\\-balance").
    regex = regex.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\-", "-")
    regex = re.sub(r"\(\?P<version>[^)]*\)", "v1", regex)
    return "/" + re.sub(r"\(\?P<\w+>[^)]*\)", SAMPLE_ID, regex)


def _methods(callback) -> list[str]:
    actions = getattr(callback, "actions", None)
    if actions:
        return sorted(actions)
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is None:
        return []
    allowed = getattr(view_class, "http_method_names", [])
    return sorted(m for m in ("get", *WRITE_METHODS) if m in allowed and hasattr(view_class, m))


def _walk(patterns, prefix=""):
    for entry in patterns:
        pattern_text = prefix + entry.pattern.regex.pattern
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, pattern_text)
        elif isinstance(entry, URLPattern):
            yield pattern_text, entry.callback


def api_endpoints() -> dict[str, list[str]]:
    """{concrete path: [methods]} for everything under /api/v1/."""
    found = {}
    for regex, callback in _walk(get_resolver().url_patterns):
        path = _concrete(regex)
        if path.startswith("/api/v1/"):
            found.setdefault(path, [])
            found[path] = sorted(set(found[path]) | set(_methods(callback)))
    return found
