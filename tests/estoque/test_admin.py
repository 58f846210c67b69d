"""estoque in the Django admin: products and warehouses written by the services
(their rules hold here too), valuation and the ledger read-only, and the
lists a warehouse manager filters."""

import re
import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.models import Company
from estoque import services
from estoque.contract import CountLine, Line
from estoque.models import Product, Replenishment, Reservation, StockCommand, StockLevel, StockMove, Warehouse
from tests.estoque.factories import ProductFactory, WarehouseFactory, stocked
from tests.queries import queries_for

pytestmark = pytest.mark.django_db(databases="__all__")

PRODUCTS = "/admin/estoque/product/"
WAREHOUSES = "/admin/estoque/warehouse/"
LEVELS = "/admin/estoque/stocklevel/"
MOVES = "/admin/estoque/stockmove/"
RESERVATIONS = "/admin/estoque/reservation/"
COMMANDS = "/admin/estoque/stockcommand/"


@pytest.fixture
def admin_browser(client, make_user):
    client.force_login(make_user("admin"))
    return client


@pytest.fixture
def stock():
    """Paper and pens in MAIN, some paper moved to STORE and reserved there."""
    main, store = WarehouseFactory(code="MAIN"), WarehouseFactory(code="STORE")
    paper = stocked(
        main,
        quantity=20,
        unit_cost="3.0000",
        sku="PAPER-A4",
        name="Copy paper",
        reorder_point=5,
        reorder_quantity=20,
    )
    pens = stocked(main, quantity=3, unit_cost="1.5000", sku="PEN-BLUE", name="Blue pens", reorder_point=10)
    services.transfer(
        from_warehouse_id=main.pk,
        to_warehouse_id=store.pk,
        lines=[Line(product_id=paper.pk, quantity=Decimal("8"))],
        reference="to-store",
    )
    services.reserve(
        order_ref="SO-1", warehouse_id=store.pk, lines=[Line(product_id=paper.pk, quantity=Decimal("4"))]
    )
    return {"main": main, "store": store, "paper": paper, "pens": pens}


def hidden_inputs(page) -> dict[str, str]:
    """The form's hidden fields (the read-only inlines' management forms), as a browser posts them."""
    html = page.content.decode()
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def product_form(**fields) -> dict:
    data = {"sku": "TONER-26A", "name": "Toner 26A", "description": "", "unit": "un"}
    data |= {"reorder_point": "2", "reorder_quantity": "10", "is_active": "on"}
    return data | fields


def post_product(browser, url: str, **fields):
    page = browser.get(url)
    assert page.status_code == 200
    return browser.post(url, {**hidden_inputs(page), **product_form(**fields)})


def errors_in(page) -> str:
    return " ".join(
        re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page.content.decode(), re.DOTALL)
    )


# --- Products and warehouses, through the services -------------------------------------


def test_a_product_added_in_the_admin_starts_with_no_stock(admin_browser):
    response = post_product(admin_browser, f"{PRODUCTS}add/")

    assert response.status_code == 302, errors_in(response)
    product = Product.objects.get(sku="TONER-26A")
    message = admin_browser.get(response["Location"]).content.decode()
    assert f'href="{PRODUCTS}{product.pk}/change/"' in message  # "… was added successfully", linked
    assert (product.name, product.reorder_quantity, product.on_hand, product.stock_value) == (
        "Toner 26A",
        Decimal("10.000"),
        Decimal("0.000"),
        Decimal("0.00"),
    )


def test_the_admin_refuses_what_the_service_refuses_and_changes_nothing(admin_browser, stock):
    taken = post_product(admin_browser, f"{PRODUCTS}add/", sku="PAPER-A4")
    assert taken.status_code == 200 and "already" in errors_in(taken)

    negative = post_product(admin_browser, f"{PRODUCTS}add/", reorder_point="-1")
    assert negative.status_code == 200
    assert "greater than or equal to 0" in errors_in(negative)

    too_precise = post_product(admin_browser, f"{PRODUCTS}add/", reorder_quantity="1.0001")
    assert too_precise.status_code == 200 and "decimal places" in errors_in(too_precise)

    assert not Product.objects.filter(sku="TONER-26A").exists()
    assert Product.objects.count() == 2


def test_the_valuation_is_shown_but_cannot_be_edited(admin_browser, stock):
    url = f"{PRODUCTS}{stock['paper'].pk}/change/"
    page = admin_browser.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "60.00" in html and "3.0000" in html  # stock value and average cost, as text
    assert 'name="on_hand"' not in html and 'name="stock_value"' not in html

    response = admin_browser.post(
        url,
        {
            **hidden_inputs(page),
            **product_form(sku="PAPER-A4", name="Copy paper, A4", reorder_point="5"),
            "on_hand": "999",
            "stock_value": "1.00",
            "average_cost": "0.0010",
        },
    )

    assert response.status_code == 302, errors_in(response)
    paper = Product.objects.get(pk=stock["paper"].pk)
    assert paper.name == "Copy paper, A4"
    assert (paper.on_hand, paper.stock_value, paper.average_cost) == (
        Decimal("20.000"),
        Decimal("60.00"),
        Decimal("3.0000"),
    )


def test_a_product_with_stock_history_cannot_be_deleted_and_says_why(admin_browser, stock):
    url = f"{PRODUCTS}{stock['pens'].pk}/delete/"
    page = admin_browser.get(url)
    assert page.status_code == 200
    assert "PEN-BLUE has stock history and cannot be deleted; deactivate it instead." in page.content.decode()

    assert admin_browser.post(url, {"post": "yes"}).status_code == 200  # the same refusal
    assert Product.objects.filter(pk=stock["pens"].pk).exists()


def test_a_product_without_history_goes_with_its_empty_levels(admin_browser):
    """Django alone would refuse (a level protects its product); the service
    knows an empty level is no history."""
    warehouse = WarehouseFactory()
    product = ProductFactory(sku="NEVER-STOCKED")
    services.adjust(
        warehouse_id=warehouse.pk,
        reason="count",
        lines=[CountLine(product_id=product.pk, counted_quantity=Decimal("0"))],
    )
    assert StockLevel.objects.filter(product=product).exists()

    response = admin_browser.post(f"{PRODUCTS}{product.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Product.objects.filter(pk=product.pk).exists()
    assert not StockLevel.objects.filter(product_id=product.pk).exists()


def test_a_bulk_delete_deletes_all_or_none(admin_browser, stock):
    spare = ProductFactory(sku="SPARE")
    chosen = {"action": "delete_selected", "_selected_action": [spare.pk, stock["pens"].pk], "post": "yes"}

    refused = admin_browser.post(PRODUCTS, chosen)

    assert refused.status_code == 200
    assert "PEN-BLUE has stock history" in refused.content.decode()
    assert Product.objects.filter(pk=spare.pk).exists()

    response = admin_browser.post(PRODUCTS, {**chosen, "_selected_action": [spare.pk]})
    assert response.status_code == 302
    assert not Product.objects.filter(pk=spare.pk).exists()


def test_warehouses_are_added_through_the_service_and_kept_while_they_have_history(admin_browser, stock):
    page = admin_browser.get(f"{WAREHOUSES}add/")
    response = admin_browser.post(
        f"{WAREHOUSES}add/",
        {**hidden_inputs(page), "code": "DOCK", "name": "Loading dock", "is_active": "on"},
    )
    assert response.status_code == 302
    assert Warehouse.objects.get(code="DOCK").name == "Loading dock"

    taken = admin_browser.post(f"{WAREHOUSES}add/", {"code": "MAIN", "name": "Again"})
    assert taken.status_code == 200 and "already" in errors_in(taken)

    refusal = admin_browser.get(f"{WAREHOUSES}{stock['main'].pk}/delete/")
    assert "MAIN has stock history and cannot be deleted" in refusal.content.decode()
    assert admin_browser.post(f"{WAREHOUSES}{stock['main'].pk}/delete/", {"post": "yes"}).status_code == 200
    assert Warehouse.objects.filter(pk=stock["main"].pk).exists()


# --- The ledger: read-only ----------------------------------------------------------------


@pytest.mark.parametrize("model", [StockLevel, StockMove, Reservation, StockCommand, Replenishment])
def test_the_ledger_and_what_hangs_off_it_are_read_only(admin_browser, stock, model):
    url = f"/admin/estoque/{model._meta.model_name}/"
    changelist = admin_browser.get(url)
    assert changelist.status_code == 200
    assert f'href="{url}add/"' not in changelist.content.decode()
    assert b"delete_selected" not in changelist.content
    assert admin_browser.get(f"{url}add/").status_code == 403
    if model is Replenishment:  # as estoque/replenishments.py records a run (it needs a committed event)
        Replenishment.objects.create(
            product=stock["paper"], warehouse=stock["store"], thread_id=uuid.uuid4(), proposed_quantity=20
        )
    row = model.objects.first()
    detail = admin_browser.get(f"{url}{row.pk}/change/")
    assert detail.status_code == 200 and b'type="submit" value="Save"' not in detail.content


def test_a_move_opens_read_only_and_cannot_be_changed_or_deleted(admin_browser, stock):
    move = StockMove.objects.filter(product=stock["pens"]).get()
    url = f"{MOVES}{move.pk}/change/"
    page = admin_browser.get(url)
    assert page.status_code == 200 and b'name="quantity"' not in page.content
    assert admin_browser.post(url, {"quantity": "1000"}).status_code == 403
    assert admin_browser.post(f"{MOVES}{move.pk}/delete/", {"post": "yes"}).status_code == 403
    move.refresh_from_db()
    assert move.quantity == Decimal("3.000")


def test_a_stock_document_shows_its_moves(admin_browser, stock):
    page = admin_browser.get(COMMANDS, {"q": "to-store"})
    assert page.status_code == 200 and "to-store" in page.content.decode()
    command = stock["paper"].moves.get(kind="transfer_in").command
    detail = admin_browser.get(f"{COMMANDS}{command.pk}/change/").content.decode()
    assert "Transfer Out" in detail and "Transfer In" in detail and "PAPER-A4" in detail


# --- What a warehouse manager looks for ------------------------------------------------


def results(browser, url: str, **query) -> str:
    """The changelist's result table (not its filter sidebar), "" when nothing matched."""
    page = browser.get(url, query)
    assert page.status_code == 200
    found = re.search(r'<table id="result_list".*?</table>', page.content.decode(), re.DOTALL)
    return found.group(0) if found else ""


def test_levels_show_what_is_available_and_filter_by_warehouse_sku_and_reorder_point(admin_browser, stock):
    store = results(admin_browser, LEVELS, warehouse__id__exact=stock["store"].pk)
    assert "PAPER-A4" in store and "PEN-BLUE" not in store
    assert '<td class="field-available">4.000</td>' in store  # 8 on hand, 4 reserved

    pens = results(admin_browser, LEVELS, q="PEN-")
    assert "PEN-BLUE" in pens and "PAPER-A4" not in pens

    # Pens: 3 available < 10. Paper at STORE: 4 < 5. Paper at MAIN: 12, not below.
    below = results(admin_browser, LEVELS, below_reorder="yes")
    assert below.count('<td class="field-available">') == 2
    assert '<td class="field-available">3.000</td>' in below
    assert '<td class="field-available">4.000</td>' in below


def kinds(table: str) -> list[str]:
    return re.findall(r'<td class="field-kind">([^<]*)</td>', table)


def test_moves_filter_by_kind_warehouse_sku_and_date(admin_browser, stock):
    receipts = results(admin_browser, MOVES, kind__exact="receipt")
    assert kinds(receipts) == ["Receipt", "Receipt"]
    assert "PEN-BLUE" in receipts and "PAPER-A4" in receipts

    store = results(admin_browser, MOVES, warehouse__id__exact=stock["store"].pk)
    assert kinds(store) == ["Transfer In"]

    paper = results(admin_browser, MOVES, q="PAPER")
    assert "PAPER-A4" in paper and "PEN-BLUE" not in paper

    # The admin shows dates in the company's timezone.
    zone = ZoneInfo(Company.objects.get().timezone)
    day = StockMove.objects.filter(product=stock["pens"]).get().created_at.astimezone(zone).date()
    on_the_day = {"created_at__year": day.year, "created_at__month": day.month, "created_at__day": day.day}
    assert "PEN-BLUE" in results(admin_browser, MOVES, **on_the_day)
    next_day = datetime.combine(day + timedelta(days=1), time(), zone)
    assert results(admin_browser, MOVES, created_at__gte=next_day.isoformat()) == ""


def test_reservations_filter_by_status(admin_browser, stock):
    services.reserve(
        order_ref="SO-2",
        warehouse_id=stock["main"].pk,
        lines=[Line(product_id=stock["pens"].pk, quantity=Decimal("1"))],
    )
    services.release(order_ref="SO-2")

    active = results(admin_browser, RESERVATIONS, status__exact="active")
    assert "SO-1" in active and "SO-2" not in active
    released = results(admin_browser, RESERVATIONS, status__exact="released")
    assert "SO-2" in released and "SO-1" not in released
    paper = results(admin_browser, RESERVATIONS, q="PAPER-A4")
    assert "SO-1" in paper and "SO-2" not in paper


# --- A page costs the same queries whatever its length -------------------------------------


@pytest.mark.parametrize("url", [LEVELS, MOVES, RESERVATIONS, COMMANDS, PRODUCTS])
def test_changelists_cost_the_same_queries_for_3_rows_or_30(admin_browser, url):
    main, store = WarehouseFactory(code="MAIN"), WarehouseFactory(code="STORE")

    def add_rows(count: int) -> None:
        for _ in range(count):
            product = stocked(main, quantity=5)
            services.reserve(
                order_ref=f"SO-{product.sku}",
                warehouse_id=main.pk,
                lines=[Line(product_id=product.pk, quantity=Decimal("1"))],
            )
        assert store  # a second warehouse for the warehouse filter's choices

    add_rows(3)
    admin_browser.get(url)  # warm up: content types, the session
    few = queries_for(admin_browser, url)
    add_rows(27)
    assert StockLevel.objects.count() == 30
    assert queries_for(admin_browser, url) == few
