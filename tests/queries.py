"""How many SQL statements a page costs, on every database."""

from django.db import connections
from django.test.utils import CaptureQueriesContext


def queries_for(browser, url: str) -> int:
    """The statements of one GET of ``url`` (200), all databases together.

    The page is fetched once first, unmeasured: per-process caches with a
    time to live (the company's timezone) would otherwise add a statement to
    whichever measurement comes after they expire."""
    assert browser.get(url).status_code == 200
    contexts = [CaptureQueriesContext(connections[name]) for name in connections]
    for context in contexts:
        context.__enter__()
    try:
        assert browser.get(url).status_code == 200
    finally:
        for context in contexts:
            context.__exit__(None, None, None)
    return sum(len(context) for context in contexts)
