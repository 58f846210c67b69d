"""Start-up checks: a typo or a missing entry in SERVICE_BACKENDS stops the
process with a clear message instead of failing on the first cross-app call."""

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, register
from django.utils.module_loading import import_string

from erp.services import contract_protocol, protocol_methods


def _check_entry(name: str, config) -> list[Error]:
    where = f"SERVICE_BACKENDS[{name!r}]"
    if not isinstance(config, dict) or "BACKEND" not in config:
        return [Error(f"{where} must be a dict with a 'BACKEND' dotted path", id="erp.E002")]
    try:
        backend = import_string(config["BACKEND"])
    except ImportError as exc:
        return [Error(f"{where}: cannot import {config['BACKEND']!r}: {exc}", id="erp.E003")]
    protocol = contract_protocol(name)
    if protocol is None:
        return [Error(f"{where}: app {name!r} has no service Protocol in its contract.py", id="erp.E004")]
    missing = [m for m in protocol_methods(protocol) if not callable(getattr(backend, m, None))]
    if missing:
        return [
            Error(
                f"{where}: {config['BACKEND']} lacks {', '.join(missing)} of {protocol.__name__}",
                id="erp.E005",
            )
        ]
    return []


@register()
def check_service_backends(app_configs=None, **kwargs) -> list[Error]:
    configured = getattr(settings, "SERVICE_BACKENDS", {})
    errors = []
    for app_config in apps.get_app_configs():
        if contract_protocol(app_config.label) is not None and app_config.label not in configured:
            errors.append(
                Error(
                    f"SERVICE_BACKENDS has no entry for {app_config.label!r}, whose contract declares a service",
                    hint=f"add {app_config.label!r}: {{'BACKEND': '{app_config.label}.services.<Class>'}}",
                    id="erp.E001",
                )
            )
    for name, config in configured.items():
        errors.extend(_check_entry(name, config))
    return errors
