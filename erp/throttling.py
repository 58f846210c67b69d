"""Request throttles that hold under concurrency and spoofing.

DRF's throttles read a request history from the cache and write it back, so
concurrent requests all read the same count and all pass; and without a proxy
count they key anonymous clients on whatever X-Forwarded-For the client sends.
These count fixed windows with one atomic increment (Redis INCR; the quick
start's local-memory cache locks), and take the client's address from
``client_ip``: the connection's, or the one the outermost of
TRUSTED_PROXY_COUNT proxies saw.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time

from django.conf import settings
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = N the
    N-th address from the right of X-Forwarded-For (each trusted proxy appends
    the address it was connected from; what the client wrote is further left)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [
        part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    if not proxies or not forwarded:
        return remote
    candidate = forwarded[-min(proxies, len(forwarded))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:  # not written by a proxy of ours: the connection's address is all we know
        return remote


class AtomicRateThrottle(SimpleRateThrottle):
    """A fixed window per key, counted with one atomic increment: at most the
    rate passes per window, however many requests arrive at once."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        count = self._count(f"{key}:{window}", ttl=self.duration + 1)
        self.seconds_left = (window + 1) * self.duration - now
        return count <= self.num_requests

    def _count(self, counter: str, ttl: int) -> int:
        """This request's number in its window, counted atomically."""
        if isinstance(self.cache, RedisCache):
            # One round trip: INCR creates the counter, EXPIRE NX dates it once.
            # Django's cache API would take three (add; incr = EXISTS + INCR).
            key = self.cache.make_and_validate_key(counter)
            pipeline = self.cache._cache.get_client(key, write=True).pipeline(transaction=False)
            count, _dated = pipeline.incr(key).expire(key, ttl, nx=True).execute()
            return count
        self.cache.add(counter, 0, timeout=ttl)  # the quick start's local-memory cache
        try:
            return self.cache.incr(counter)
        except ValueError:  # expired between add and incr: this request opens it again
            self.cache.add(counter, 1, timeout=ttl)
            return 1

    def wait(self) -> float:
        return self.seconds_left

    def get_ident(self, request) -> str:
        return client_ip(request)


class AnonThrottle(AtomicRateThrottle):
    """Per client address, for requests without a valid token."""

    scope = "anon"

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UserThrottle(AtomicRateThrottle):
    """Per user (per client address for anonymous requests)."""

    scope = "user"

    def get_cache_key(self, request, view) -> str:
        user = request.user
        ident = user.pk if user and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginThrottle(AtomicRateThrottle):
    """Per username a login names, whatever address it comes from: spraying
    one account's password from many addresses is bounded too."""

    scope = "login"

    def get_cache_key(self, request, view) -> str | None:
        data = request.data
        username = data.get("username") if isinstance(data, dict) else None
        if not isinstance(username, str) or not username:
            return None  # the view answers 400
        digest = hashlib.sha256(username.casefold().encode("utf-8", "replace")).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": digest}
