"""Access rules: typed once per view, checked at start-up, enforced per action, and documented."""

import io
import re
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import include, path, re_path
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from erp.access import ANY_ROLE, AUTHENTICATED, PUBLIC, Access, access_errors, rules_table

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- access-rules:start -->", "<!-- access-rules:end -->"


class OrderViewSet(viewsets.ViewSet):
    """Warehouse writes, but only sales may confirm."""

    access = Access(read=ANY_ROLE, write=("warehouse",), actions={"confirm": ("sales",)})

    def list(self, request, **kwargs):
        return Response([])

    def create(self, request, **kwargs):
        return Response({"created": True}, status=201)

    @action(detail=False, methods=["post"])
    def confirm(self, request, **kwargs):
        return Response({"confirmed": True})


class NoRule(APIView):
    def get(self, request, **kwargs):
        return Response({})


class UnknownAction(viewsets.ViewSet):
    access = Access(read=ANY_ROLE, actions={"confrim": ("sales",)})

    def list(self, request, **kwargs):
        return Response([])

    @action(detail=False, methods=["post"])
    def confirm(self, request, **kwargs):
        return Response({})


class NotEnforced(APIView):
    access = Access(read=("manager",))
    permission_classes = (AllowAny,)

    def get(self, request, **kwargs):
        return Response({})


class LegacyRoles(APIView):
    write_roles = ("sales",)

    def get(self, request, **kwargs):
        return Response({})


class Public(APIView):
    access = PUBLIC
    authentication_classes = ()
    permission_classes = ()

    def get(self, request, **kwargs):
        return Response({})


def _urlconf(*routes):
    """A URL conf (any hashable object with urlpatterns will do) mounting views under /api/v1/."""
    router = SimpleRouter()
    patterns = []
    for prefix, view in routes:
        if issubclass(view, viewsets.ViewSetMixin):
            router.register(prefix, view, basename=prefix)
        else:
            patterns.append(re_path(rf"^{prefix}/$", view.as_view()))
    api = [*patterns, *router.urls]
    # The admin too: middleware reverses its URL on every request.
    urlpatterns = [re_path(r"^api/(?P<version>v1)/", include(api)), path("admin/", admin.site.urls)]
    return type("URLConf", (), {"urlpatterns": urlpatterns})


ORDERS = _urlconf(("orders", OrderViewSet), ("open", Public))


def _ids(urlconf) -> dict[str, str]:
    return {error.id: error.msg for error in access_errors(urlconf)}


# --- the rule itself -----------------------------------------------------------------------


def test_an_unknown_role_fails_when_the_rule_is_built():
    with pytest.raises(ValueError, match="unknown role salse"):
        Access(read=ANY_ROLE, write=("salse",))
    with pytest.raises(ValueError, match=r"actions\['ship'\].*unknown role shipping"):
        Access(read=ANY_ROLE, actions={"ship": ("shipping",)})


def test_a_bare_string_is_refused_instead_of_read_as_letters():
    with pytest.raises(ValueError, match="tuple of role names"):
        Access(read="sales")


def test_admin_is_always_allowed_and_actions_replace_the_write_roles():
    rule = Access(read=("manager",), write=("warehouse",), actions={"confirm": ("sales",)})
    assert rule.roles_for("GET") == {"admin", "manager"}
    assert rule.roles_for("POST", "create") == {"admin", "warehouse"}
    assert rule.roles_for("POST", "confirm") == {"admin", "sales"}


# --- start-up check ------------------------------------------------------------------------


def test_the_project_passes_the_access_check():
    call_command("check", tag=["access"], stdout=io.StringIO())


def test_a_view_without_a_rule_fails_the_start_up_check():
    urlconf = _urlconf(("orders", OrderViewSet), ("bare", NoRule))
    assert _ids(urlconf).keys() == {"erp.E101"}
    assert "NoRule (/api/v1/bare/) declares no access rule" in _ids(urlconf)["erp.E101"]
    with override_settings(ROOT_URLCONF=urlconf):
        assert [e.id for e in run_checks(tags=["access"])] == ["erp.E101"]
        with pytest.raises(SystemCheckError, match=r"erp\.E101"):
            call_command("check", stdout=io.StringIO(), stderr=io.StringIO())


def test_an_action_the_viewset_does_not_have_fails_the_check():
    errors = _ids(_urlconf(("orders", UnknownAction)))
    assert errors.keys() == {"erp.E103"}
    assert "confrim" in errors["erp.E103"]


def test_a_rule_that_permission_classes_would_bypass_fails_the_check():
    assert _ids(_urlconf(("reports", NotEnforced))).keys() == {"erp.E104"}


def test_the_old_role_attributes_fail_the_check_instead_of_being_ignored():
    assert _ids(_urlconf(("legacy", LegacyRoles))).keys() == {"erp.E105"}


def test_public_views_opt_out_explicitly_and_pass():
    assert _ids(ORDERS) == {}


# --- enforcement ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_per_action_rule_is_enforced(client_as):
    clients = {role: client_as(role) for role in ("warehouse", "sales", "admin", "viewer")}
    with override_settings(ROOT_URLCONF=ORDERS):  # after logging in: the token endpoint is not mounted here
        assert clients["warehouse"].post("/api/v1/orders/", {}, format="json").status_code == 201
        refused = clients["warehouse"].post("/api/v1/orders/confirm/", {}, format="json")
        assert refused.status_code == 403
        assert refused["Content-Type"] == "application/problem+json"
        assert clients["sales"].post("/api/v1/orders/confirm/", {}, format="json").status_code == 200
        assert clients["sales"].post("/api/v1/orders/", {}, format="json").status_code == 403
        assert clients["admin"].post("/api/v1/orders/confirm/", {}, format="json").status_code == 200
        assert clients["viewer"].get("/api/v1/orders/").status_code == 200
        assert clients["viewer"].post("/api/v1/orders/", {}, format="json").status_code == 403


@pytest.mark.django_db
def test_authenticated_needs_a_token_but_no_role(client_as, api):
    assert AUTHENTICATED.allows(client_as().user, "GET")
    assert api.get("/api/v1/auth/me/").status_code == 401
    assert client_as().get("/api/v1/auth/me/").status_code == 200


# --- documentation -------------------------------------------------------------------------


def test_the_table_shows_per_action_rules():
    table = rules_table(ORDERS)
    assert "| `/api/v1/orders/` | GET, POST | every role | admin, warehouse | – |" in table
    assert "| `/api/v1/orders/confirm/` | POST | – | – | confirm (POST): admin, sales |" in table
    assert "| `/api/v1/open/` | GET | anyone (no token) | – | – |" in table


def test_the_command_prints_the_generated_table():
    out = io.StringIO()
    call_command("access_rules", stdout=out)
    assert out.getvalue() == rules_table()
    assert "| `/api/v1/core/users/` | GET, POST | admin | admin | – |" in out.getvalue()


def test_the_readme_shows_exactly_the_declared_rules():
    found = re.search(re.escape(START) + r"\n(.*?)" + re.escape(END), README.read_text(), re.S)
    assert found, f"README.md needs the access rules between {START} and {END} (manage.py access_rules)"
    assert found.group(1) == rules_table(), "README's access table is stale: paste `manage.py access_rules`"
