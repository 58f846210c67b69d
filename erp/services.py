"""Service registry: how one app reaches another.

``erp.services.get("estoque")`` returns the implementation of ``estoque``'s
contract that ``settings.SERVICE_BACKENDS`` names: the in-process services class
by default, and later a remote proxy of the same contract (its ``OPTIONS`` carry
the URL, timeouts and credentials). Callers depend only on the contract, so
extracting an app into its own service is a settings change.

    SERVICE_BACKENDS = {
        "core": {"BACKEND": "core.services.CoreServiceImpl"},
        # "estoque": {"BACKEND": "erp.remote.HttpService", "OPTIONS": {"base_url": ...}},
    }
"""

from __future__ import annotations

import importlib
import inspect
from functools import cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string


class ServiceNotConfiguredError(LookupError):
    pass


def contract_protocol(app_label: str) -> type | None:
    """The service Protocol an app's contract.py declares, if any."""
    try:
        contract = importlib.import_module(f"{app_label}.contract")
    except ModuleNotFoundError:
        return None
    for value in vars(contract).values():
        if (
            inspect.isclass(value)
            and getattr(value, "_is_protocol", False)
            and value.__module__ == contract.__name__
        ):
            return value
    return None


def protocol_methods(protocol: type) -> list[str]:
    return [name for name, value in vars(protocol).items() if callable(value) and not name.startswith("_")]


@cache
def get(name: str) -> Any:
    """The configured implementation of app ``name``'s contract (one per process)."""
    try:
        config = settings.SERVICE_BACKENDS[name]
    except KeyError as exc:
        raise ServiceNotConfiguredError(f"SERVICE_BACKENDS has no entry for {name!r}") from exc
    backend = import_string(config["BACKEND"])
    return backend(**config.get("OPTIONS", {}))


def reset() -> None:
    """Forget built services (tests that change SERVICE_BACKENDS)."""
    get.cache_clear()
