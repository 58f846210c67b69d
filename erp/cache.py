"""Django's Redis cache backend, reusing its redis-py clients.

Django's RedisCacheClient builds a new ``redis.Redis`` for every cache call,
and each one fills a table of some two hundred response callbacks: on an
authenticated API request (cached user, throttle counter) that was more of the
request's time than the round trips themselves. One client per connection
pool does the same work (redis-py clients are thread-safe and share the pool).
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _ReusingClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(index))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ReusingClient
