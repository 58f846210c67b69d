import pytest
from django.contrib.auth.models import Group

from core.models import Company, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(client, make_user):
    admin = make_user("admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_admin_lists_users_with_their_roles(admin_browser, make_user):
    make_user("sales", username="vera")
    page = admin_browser.get("/admin/core/user/")
    assert page.status_code == 200
    assert b"vera" in page.content and b"sales" in page.content


def test_admin_assigns_roles_through_the_user_form(admin_browser, make_user):
    user = make_user("viewer", username="walt")
    form = admin_browser.get(f"/admin/core/user/{user.pk}/change/")
    assert form.status_code == 200
    data = {
        "username": "walt",
        "email": user.email,
        "is_active": "on",
        "groups": [Group.objects.get(name="finance").pk],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
    }
    response = admin_browser.post(f"/admin/core/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    assert User.objects.get(pk=user.pk).roles == ["finance"]


def test_company_history_is_visible_in_admin(admin_browser):
    company = Company.objects.get()
    assert admin_browser.get(f"/admin/core/company/{company.pk}/history/").status_code == 200


def test_roles_exist_as_groups_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "admin",
        "sales",
        "warehouse",
        "finance",
        "manager",
        "viewer",
    }
