import re
import stat
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from core.management.commands.seed_demo_users import read_credentials
from core.models import User
from erp.permissions import ROLES

pytestmark = pytest.mark.django_db

DEMO_USERS = {"admin", *(f"demo_{r}" for r in ROLES if r != "admin")}


def seed(credentials_file) -> tuple[dict[str, str], str]:
    out = StringIO()
    call_command("seed_demo_users", credentials_file=credentials_file, stdout=out)
    text = out.getvalue()
    return {m[0]: m[2] for m in re.findall(r"^\s+(\S+)\s+(\S+)\s+(\S+)$", text, re.MULTILINE)}, text


def logs_in(username: str, password: str) -> bool:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )
    return response.status_code == 200


def test_seed_creates_an_admin_and_one_user_per_role_who_can_log_in(tmp_path):
    passwords, _ = seed(tmp_path / ".demo-credentials")
    assert set(passwords) == DEMO_USERS
    for username, password in passwords.items():
        assert logs_in(username, password), username
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.roles == ["admin"]
    assert User.objects.get(username="demo_viewer").roles == ["viewer"]


def test_the_printed_passwords_are_kept_in_a_file_only_its_owner_reads(tmp_path):
    path = tmp_path / ".demo-credentials"
    passwords, output = seed(path)
    assert str(path) in output or path.name in output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert {user: password for user, (_role, password) in read_credentials(path).items()} == passwords


def test_reseeding_keeps_passwords_and_says_where_they_are(tmp_path):
    path = tmp_path / ".demo-credentials"
    first, _ = seed(path)
    kept = path.read_text()

    second, output = seed(path)

    assert second == {}  # nothing new to print
    assert "already exist" in output and path.name in output
    assert User.objects.count() == len(ROLES)
    assert all(logs_in(username, password) for username, password in first.items())
    assert path.read_text() == kept


def test_a_user_someone_changed_is_left_alone(tmp_path, make_user):
    changed = make_user("manager", username="demo_sales")
    changed.set_password("Their-Own-Pass-7")
    changed.save()
    passwords, _ = seed(tmp_path / ".demo-credentials")
    assert "demo_sales" not in passwords  # not recreated, not printed
    demo_sales = User.objects.get(username="demo_sales")
    assert demo_sales.check_password("Their-Own-Pass-7") and demo_sales.roles == ["manager"]
    assert set(passwords) == DEMO_USERS - {"demo_sales"}


def test_a_missing_user_is_added_to_the_kept_credentials(tmp_path):
    path = tmp_path / ".demo-credentials"
    first, _ = seed(path)
    User.objects.filter(username="demo_finance").delete()

    second, _ = seed(path)

    assert set(second) == {"demo_finance"}
    kept = read_credentials(path)
    assert kept["demo_finance"] == ("finance", second["demo_finance"])
    assert kept["admin"] == ("admin", first["admin"])
    assert logs_in("demo_finance", second["demo_finance"])
