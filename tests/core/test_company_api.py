import pytest

from core.models import Company

pytestmark = pytest.mark.django_db

COMPANY = "/api/v1/core/company/"


def test_every_role_reads_the_company(client_as):
    response = client_as("viewer").get(COMPANY)
    assert response.status_code == 200
    assert set(response.json()) == {"name", "tax_id", "base_currency", "timezone"}


def test_admin_patches_the_company_and_the_change_is_audited(admin_api):
    response = admin_api.patch(
        COMPANY, {"name": "Acme Ltda", "base_currency": "EUR", "timezone": "Europe/Rome"}
    )
    assert response.status_code == 200
    assert response.json()["base_currency"] == "EUR"
    company = Company.objects.get()
    assert (company.name, company.timezone) == ("Acme Ltda", "Europe/Rome")
    assert company.history.latest().history_user_id == admin_api.user.pk


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"base_currency": "eur"}, "base_currency"),
        ({"base_currency": "EURO"}, "base_currency"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_company_values_are_field_errors_and_change_nothing(admin_api, payload, field):
    before = admin_api.get(COMPANY).json()
    response = admin_api.patch(COMPANY, payload)
    assert response.status_code == 400
    assert field in {e["field"] for e in response.json()["errors"]}
    assert admin_api.get(COMPANY).json() == before


def test_only_admin_changes_the_company(client_as):
    for role in ("sales", "finance", "manager", "viewer", "warehouse"):
        assert client_as(role).patch(COMPANY, {"name": "Nope"}).status_code == 403


def test_put_is_not_offered(admin_api):
    assert admin_api.put(COMPANY, {"name": "x"}).status_code == 405
