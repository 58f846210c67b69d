import re
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from core.models import User
from erp.permissions import ROLES

pytestmark = pytest.mark.django_db


def seed() -> dict[str, str]:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return {m[0]: m[2] for m in re.findall(r"^\s+(\S+)\s+(\S+)\s+(\S+)$", out.getvalue(), re.MULTILINE)}


def test_seed_creates_an_admin_and_one_user_per_role_who_can_log_in():
    passwords = seed()
    assert set(passwords) == {"admin", *(f"demo_{r}" for r in ROLES if r != "admin")}
    for username, password in passwords.items():
        response = APIClient().post(
            "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
        )
        assert response.status_code == 200, username
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.roles == ["admin"]
    assert User.objects.get(username="demo_viewer").roles == ["viewer"]


def test_reseeding_resets_passwords_without_duplicating_users():
    first = seed()
    second = seed()
    assert User.objects.count() == len(ROLES)
    assert first["admin"] != second["admin"]
    assert User.objects.get(username="admin").check_password(second["admin"])
