"""Start-up checks: a typo or a missing entry in SERVICE_BACKENDS stops the
process with a clear message instead of failing on the first cross-app call;
so does a subscriber named after no app, or an app's subscribers.py that
nothing imports (its events would silently go unhandled)."""

import sys
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, register
from django.utils.module_loading import import_string

from erp.catalogue import our_apps
from erp.events import all_subscriptions
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


# Events ---------------------------------------------------------------------
# Subscriptions registered by a package of this repository that is no app
# (tests/, bench/) exist only in the processes that import them, with labels of
# their own; they are not deployed, so they are not held to these rules.


def is_repository_tooling(module: str) -> bool:
    """True for a module of this repository outside every installed app (tests, bench)."""
    if apps.get_containing_app_config(module) is not None:
        return False
    top = sys.modules.get(module.split(".", 1)[0])
    location = getattr(top, "__file__", None)
    return location is not None and Path(location).resolve().is_relative_to(Path(settings.BASE_DIR).resolve())


@register()
def check_subscriptions(app_configs=None, **kwargs) -> list[Error]:
    labels = {c.label for c in apps.get_app_configs()}
    errors = []
    for sub in all_subscriptions():
        if is_repository_tooling(sub.module):
            continue
        where = f"subscriber {sub.name!r} ({sub.module}.{sub.handler.__qualname__})"
        if sub.app_label not in labels:
            errors.append(
                Error(
                    f"{where}: {sub.app_label!r} is not an installed app label",
                    hint="name a subscriber '<app label>.<purpose>' after the app whose code handles it",
                    id="erp.E010",
                )
            )
        publisher = sub.event_type.split(".", 1)[0]
        if publisher not in labels:
            errors.append(
                Error(
                    f"{where}: event type {sub.event_type!r} names {publisher!r}, not an installed app label",
                    hint="event types are '<publishing app label>.<EventName>'",
                    id="erp.E011",
                )
            )
    return errors


@register()
def check_subscriber_modules(app_configs=None, **kwargs) -> list[Error]:
    """An app's subscribers.py registers its handlers only once imported (from
    its AppConfig.ready()); never imported, its events would go unhandled."""
    errors = []
    for config in our_apps(app_configs):
        module = f"{config.name}.subscribers"
        if (Path(config.path) / "subscribers.py").is_file() and module not in sys.modules:
            errors.append(
                Error(
                    f"{module} exists but was never imported: its subscribers are not registered",
                    hint=f"import it in {type(config).__qualname__}.ready(): "
                    f"`from {config.name} import subscribers  # noqa: F401`",
                    id="erp.E012",
                )
            )
    return errors
