"""Who may call each API view, declared once on the view as ``access = Access(...)``.

    access = Access(read=ANY_ROLE, write=("warehouse",), actions={"confirm": ("sales",)})
    access = PUBLIC          # no token needed (login, refresh, logout)
    access = AUTHENTICATED   # any signed-in user, with or without a role

``admin`` may always do everything. ``read`` covers GET/HEAD/OPTIONS, ``write``
every other method, and ``actions`` replaces either for one viewset action.
Role names are checked when the rule is built (a typo fails at import), and a
start-up check (``manage.py check``, run by ``migrate`` and ``runserver``) fails on
any view under /api/v1/ without a rule, on actions the viewset does not have,
and on rules that ``RolePermission`` would not enforce. ``rules_table()`` renders
the rules as the Markdown the README shows (``manage.py access_rules``).
"""

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from django.core.checks import Error, register
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import SAFE_METHODS

from erp.permissions import ADMIN, ROLES, RolePermission, user_roles

API_PREFIX = "/api/v1/"
ANY_ROLE = ROLES
WRITE_METHODS = ("post", "put", "patch", "delete")
STANDARD_ACTIONS = ("list", "create", "retrieve", "update", "partial_update", "destroy")
LEGACY_ATTRIBUTES = ("read_roles", "write_roles", "write_roles_by_action")

# Who a rule is for: role holders (the usual case), everyone, or any signed-in user.
BY_ROLE, EVERYONE, SIGNED_IN = "roles", "public", "authenticated"


def _role_set(roles: Iterable[str], where: str) -> frozenset[str]:
    if isinstance(roles, str):
        # ("sales") is a string: iterating it would yield letters, not a role.
        raise ValueError(f"{where} must be a tuple of role names, not the string {roles!r}")
    names = frozenset(roles)
    unknown = names - set(ROLES)
    if unknown:
        raise ValueError(
            f"{where}: unknown role {', '.join(sorted(unknown))}; the roles are {', '.join(ROLES)}"
        )
    return names | {ADMIN}


@dataclass(frozen=True, kw_only=True)
class Access:
    """The roles that may read, write and call each action of one view (admin always may)."""

    read: frozenset[str]
    write: frozenset[str] = frozenset()
    actions: Mapping[str, frozenset[str]] = field(default_factory=dict)
    audience: str = BY_ROLE

    def __post_init__(self) -> None:
        if self.audience not in (BY_ROLE, EVERYONE, SIGNED_IN):
            raise ValueError(
                f"audience must be one of {BY_ROLE}, {EVERYONE}, {SIGNED_IN}; got {self.audience!r}"
            )
        object.__setattr__(self, "read", _role_set(self.read, "read"))
        object.__setattr__(self, "write", _role_set(self.write, "write"))
        actions = {name: _role_set(roles, f"actions[{name!r}]") for name, roles in dict(self.actions).items()}
        object.__setattr__(self, "actions", MappingProxyType(actions))

    def __hash__(self) -> int:
        return hash((self.read, self.write, tuple(sorted(self.actions.items())), self.audience))

    def roles_for(self, method: str, action: str | None = None) -> frozenset[str]:
        if action in self.actions:
            return self.actions[action]
        return self.read if method.upper() in SAFE_METHODS else self.write

    def allows(self, user, method: str, action: str | None = None) -> bool:
        if self.audience == EVERYONE:
            return True
        if self.audience == SIGNED_IN:
            return bool(user and user.is_authenticated)
        return bool(user_roles(user) & self.roles_for(method, action))


PUBLIC = Access(read=ROLES, write=ROLES, audience=EVERYONE)
AUTHENTICATED = Access(read=ROLES, write=ROLES, audience=SIGNED_IN)
ADMIN_ONLY = Access(read=(), write=())


# --- the API views, read from the URL resolver -------------------------------------------


@dataclass(frozen=True)
class Route:
    path: str  # /api/v1/workflows/{thread_id}/cancel/
    view: type
    methods: tuple[str, ...]  # lower case: get, post, ...
    method_actions: Mapping[str, str]  # viewset routes: method -> action name


def _display_path(regex: str) -> str:
    # path() escapes what a regex would read (a hyphen: "trial\\-balance").
    regex = regex.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\-", "-")
    regex = re.sub(r"\(\?P<version>[^)]*\)", "v1", regex)
    return "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", regex)


def _walk(patterns, prefix: str = "") -> Iterator[tuple[str, object]]:
    for entry in patterns:
        regex = prefix + entry.pattern.regex.pattern
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, regex)
        elif isinstance(entry, URLPattern):
            yield regex, entry.callback


def _view_methods(callback, view) -> tuple[str, ...]:
    if getattr(callback, "actions", None):
        return tuple(m for m in ("get", *WRITE_METHODS) if m in callback.actions)
    allowed = getattr(view, "http_method_names", ())
    return tuple(m for m in ("get", *WRITE_METHODS) if m in allowed and hasattr(view, m))


def api_routes(urlconf=None) -> list[Route]:
    """Every route under /api/v1/, sorted by path (routes of one path are kept apart)."""
    routes = []
    for regex, callback in _walk(get_resolver(urlconf).url_patterns):
        path = _display_path(regex)
        if not path.startswith(API_PREFIX):
            continue
        view = getattr(callback, "cls", None) or getattr(callback, "view_class", None) or callback
        method_actions = MappingProxyType(dict(getattr(callback, "actions", None) or {}))
        routes.append(Route(path, view, _view_methods(callback, view), method_actions))
    return sorted(routes, key=lambda r: r.path)


# --- start-up check ----------------------------------------------------------------------


def _view_actions(view) -> set[str]:
    if not hasattr(view, "get_extra_actions"):
        return set()  # not a viewset: view.action is never set
    standard = {name for name in STANDARD_ACTIONS if callable(getattr(view, name, None))}
    return standard | {extra.__name__ for extra in view.get_extra_actions()}


def _enforced(view) -> bool:
    return any(
        isinstance(cls, type) and issubclass(cls, RolePermission)
        for cls in getattr(view, "permission_classes", ())
    )


def _view_errors(view, where: str) -> list[Error]:
    name = getattr(view, "__qualname__", repr(view))
    legacy = [attr for attr in LEGACY_ATTRIBUTES if hasattr(view, attr)]
    if legacy:
        return [
            Error(
                f"{name} ({where}) still declares {', '.join(legacy)}, which nothing reads any more",
                hint="declare access = Access(read=..., write=..., actions=...) instead",
                obj=view,
                id="erp.E105",
            )
        ]
    rule = getattr(view, "access", None)
    if rule is None:
        return [
            Error(
                f"{name} ({where}) declares no access rule, so only admins could call it",
                hint="add access = Access(read=..., write=...), or access = PUBLIC / AUTHENTICATED from erp.access",
                obj=view,
                id="erp.E101",
            )
        ]
    if not isinstance(rule, Access):
        return [
            Error(
                f"{name}.access must be an erp.access.Access, not {rule!r}",
                obj=view,
                id="erp.E102",
            )
        ]
    errors = []
    unknown_roles = set().union(rule.read, rule.write, *rule.actions.values()) - set(ROLES)
    if unknown_roles:
        errors.append(
            Error(f"{name}.access names unknown roles {sorted(unknown_roles)}", obj=view, id="erp.E102")
        )
    known = _view_actions(view)
    unknown_actions = sorted(set(rule.actions) - known)
    if unknown_actions:
        errors.append(
            Error(
                f"{name}.access has rules for actions it does not have: {', '.join(unknown_actions)}",
                hint=f"its actions are: {', '.join(sorted(known)) or 'none (not a viewset)'}",
                obj=view,
                id="erp.E103",
            )
        )
    if rule.audience != EVERYONE and not _enforced(view):
        errors.append(
            Error(
                f"{name} ({where}) has an access rule but its permission_classes leave out RolePermission",
                hint="drop permission_classes so the default erp.permissions.RolePermission applies",
                obj=view,
                id="erp.E104",
            )
        )
    return errors


def access_errors(urlconf=None) -> list[Error]:
    errors, seen = [], set()
    for route in api_routes(urlconf):
        if route.view not in seen:
            seen.add(route.view)
            errors.extend(_view_errors(route.view, route.path))
    return errors


@register("urls", "access")
def check_access_rules(app_configs=None, **kwargs) -> list[Error]:
    return access_errors()


# --- the rules as documentation ----------------------------------------------------------


def _who(rule: Access, roles: frozenset[str]) -> str:
    if rule.audience == EVERYONE:
        return "anyone (no token)"
    if rule.audience == SIGNED_IN:
        return "any signed-in user"
    if roles == frozenset(ROLES):
        return "every role"
    return ", ".join(sorted(roles, key=lambda role: (role != ADMIN, role)))


def _cell(rule: Access, route: Route, methods: list[str]) -> str:
    groups: dict[str, list[str]] = {}
    for method in methods:
        who = _who(rule, rule.roles_for(method, route.method_actions.get(method)))
        groups.setdefault(who, []).append(method)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{'/'.join(m.upper() for m in ms)}: {who}" for who, ms in groups.items())


def _row(route: Route) -> list[str]:
    rule = getattr(route.view, "access", None)
    methods = ", ".join(m.upper() for m in route.methods)
    if not isinstance(rule, Access):
        return [f"`{route.path}`", methods, "**no rule**", "**no rule**", "–"]
    overridden = {m: a for m, a in route.method_actions.items() if a in rule.actions}
    plain = [m for m in route.methods if m not in overridden]
    reads = [m for m in plain if m.upper() in SAFE_METHODS]
    writes = [m for m in plain if m.upper() not in SAFE_METHODS]
    per_action = "; ".join(
        f"{action} ({method.upper()}): {_who(rule, rule.actions[action])}"
        for method, action in sorted(overridden.items())
    )
    return [
        f"`{route.path}`",
        methods,
        _cell(rule, route, reads) if reads else "–",
        _cell(rule, route, writes) if writes else "–",
        per_action or "–",
    ]


def rules_table(urlconf=None) -> str:
    """The access rules of every /api/v1/ endpoint as a Markdown table (admin may always call)."""
    lines = ["| Endpoint | Methods | Who reads | Who writes | Per action |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(_row(route)) + " |" for route in api_routes(urlconf)]
    return "\n".join(lines) + "\n"
