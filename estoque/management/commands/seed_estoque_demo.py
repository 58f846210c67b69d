"""Demo stock for the quick start: two warehouses, twenty products, and the
documents that give them stock, moves and a valuation to look at.

Everything goes through the services, as the API's calls would: receipts at
different costs (so the moving average moves), a transfer to the store, a
stock count that writes off damaged toner and two reservations. The store
receives less toner than its reorder point, so the admin's "below the reorder
point" filter has a row; no document here drops stock below a reorder point,
so seeding starts no replenishment run (the next reservation of that toner at
the store does).
Each document has a fixed reference and every service is idempotent by it, so
running the command again adds nothing; warehouses and products are looked up
by code and SKU and, when they exist, left as they are."""

from __future__ import annotations

from decimal import Decimal

from django.core.management.base import BaseCommand

from erp.db import atomic
from estoque import services
from estoque.contract import CountLine, Line, ReceiptLine, StockError
from estoque.models import Product, StockCommand, Warehouse

APP = "estoque"

WAREHOUSES = [("MAIN", "Main warehouse"), ("STORE", "Shop floor store")]

# sku, name, unit, reorder point, reorder quantity
PRODUCTS = [
    ("ALC-70-BULK", "Cleaning alcohol 70 %, bulk", "l", "20", "100"),
    ("BOX-CRD-403030", "Cardboard box 40×30×30 cm", "un", "100", "500"),
    ("CAB-CAT6-305", "Network cable Cat6 U/UTP, 305 m box", "box", "2", "5"),
    ("CBL-HDMI-2M", "HDMI cable, 2 m", "un", "15", "50"),
    ("COF-ARABICA", "Coffee beans, arabica, bulk", "kg", "10", "30"),
    ("DRL-18V-KIT", "Cordless drill 18 V, two batteries", "un", "3", "6"),
    ("FLM-STR-500", "Stretch film 500 mm × 300 m", "roll", "8", "24"),
    ("GLV-NIT-M", "Nitrile gloves, size M, box of 100", "box", "20", "60"),
    ("KBD-USB-ABNT2", "USB keyboard, ABNT2 layout", "un", "8", "24"),
    ("LBL-100X150", "Shipping labels 100×150 mm, roll of 500", "roll", "6", "24"),
    ("LED-9W-E27", "LED bulb 9 W E27, warm white", "un", "50", "200"),
    ("MON-24-FHD", 'Monitor 24" full HD', "un", "4", "10"),
    ("MSE-USB-OPT", "USB optical mouse", "un", "10", "30"),
    ("PAP-A4-75G", "Copy paper A4 75 g/m², ream of 500 sheets", "ream", "40", "200"),
    ("PEN-BALL-BLU", "Ballpoint pen, blue, box of 50", "box", "10", "40"),
    ("PLT-EUR-1208", "Euro pallet 1200×800 mm", "un", "10", "40"),
    ("SCR-M4X20-100", "Machine screws M4×20, bag of 100", "bag", "15", "50"),
    ("TAP-PCK-48", "Packing tape 48 mm × 100 m", "roll", "24", "72"),
    ("TON-HP-26A", "Toner cartridge HP 26A, black", "un", "8", "20"),
    ("WAT-MIN-20L", "Mineral water, 20 L bottle", "un", "10", "30"),
]

# reference, warehouse, lines (sku, quantity, unit cost)
RECEIPTS = [
    (
        "DEMO-RCPT-001",
        "MAIN",
        [
            ("ALC-70-BULK", "57.500", "8.9000"),
            ("BOX-CRD-403030", "600", "2.3500"),
            ("CAB-CAT6-305", "6", "689.9000"),
            ("CBL-HDMI-2M", "80", "12.4000"),
            ("COF-ARABICA", "48.500", "62.8000"),
            ("DRL-18V-KIT", "10", "389.0000"),
            ("FLM-STR-500", "40", "31.7500"),
            ("GLV-NIT-M", "90", "27.3000"),
            ("KBD-USB-ABNT2", "30", "54.9000"),
            ("LBL-100X150", "30", "38.6000"),
            ("LED-9W-E27", "300", "6.4500"),
            ("MON-24-FHD", "12", "749.0000"),
            ("MSE-USB-OPT", "45", "24.9000"),
            ("PAP-A4-75G", "250", "23.9000"),
            ("PEN-BALL-BLU", "50", "41.5000"),
            ("PLT-EUR-1208", "60", "58.0000"),
            ("SCR-M4X20-100", "80", "9.7500"),
            ("TAP-PCK-48", "120", "7.2500"),
            ("TON-HP-26A", "20", "412.0000"),
            ("WAT-MIN-20L", "40", "14.9000"),
        ],
    ),
    # The supplier's new prices: the moving average follows.
    (
        "DEMO-RCPT-002",
        "MAIN",
        [
            ("BOX-CRD-403030", "400", "2.5900"),
            ("GLV-NIT-M", "30", "29.9000"),
            ("LED-9W-E27", "200", "5.9900"),
            ("PAP-A4-75G", "150", "25.4000"),
            ("TAP-PCK-48", "60", "7.0900"),
        ],
    ),
    (
        "DEMO-RCPT-003",
        "STORE",
        [
            ("COF-ARABICA", "12.250", "64.5000"),
            ("MSE-USB-OPT", "20", "23.5000"),
            ("PEN-BALL-BLU", "15", "42.9000"),
            ("TON-HP-26A", "4", "415.0000"),
            ("WAT-MIN-20L", "24", "15.2000"),
        ],
    ),
]

TRANSFER = (
    "DEMO-TRF-001",
    "MAIN",
    "STORE",
    [
        ("CBL-HDMI-2M", "20"),
        ("KBD-USB-ABNT2", "10"),
        ("LED-9W-E27", "120"),
        ("PAP-A4-75G", "60"),
        ("TAP-PCK-48", "30"),
    ],
)

# The count: three damaged toner cartridges written off, twenty boxes found on
# a forgotten pallet.
ADJUSTMENT = (
    "DEMO-ADJ-001",
    "MAIN",
    "Demo stock count: 3 toner cartridges damaged, 20 boxes found",
    [("TON-HP-26A", "17"), ("BOX-CRD-403030", "1020")],
)

# order_ref, warehouse, lines (sku, quantity)
RESERVATIONS = [
    ("DEMO-ORDER-0001", "STORE", [("PAP-A4-75G", "10"), ("LED-9W-E27", "24")]),
    ("DEMO-ORDER-0002", "MAIN", [("MON-24-FHD", "2"), ("KBD-USB-ABNT2", "2"), ("MSE-USB-OPT", "2")]),
]


class Command(BaseCommand):
    help = (
        "Create the demo warehouses, products and stock documents (receipts, a transfer, a stock count, "
        "reservations) for the quick start. Idempotent: running it again adds nothing."
    )

    def handle(self, *args, **options):
        self.added: list[str] = []
        with atomic(APP):  # all of the demo or none of it
            warehouses, products = self._warehouses(), self._products()
            for reference, warehouse, lines in RECEIPTS:
                self._document(
                    services.receive,
                    StockCommand.Kind.RECEIPT,
                    reference=reference,
                    warehouse_id=warehouses[warehouse],
                    lines=[ReceiptLine(products[s], Decimal(q), Decimal(c)) for s, q, c in lines],
                )
            reference, source, target, lines = TRANSFER
            self._document(
                services.transfer,
                StockCommand.Kind.TRANSFER,
                reference=reference,
                from_warehouse_id=warehouses[source],
                to_warehouse_id=warehouses[target],
                lines=[Line(products[s], Decimal(q)) for s, q in lines],
            )
            reference, warehouse, reason, lines = ADJUSTMENT
            self._document(
                services.adjust,
                StockCommand.Kind.ADJUSTMENT,
                reference=reference,
                warehouse_id=warehouses[warehouse],
                reason=reason,
                lines=[CountLine(products[s], Decimal(q)) for s, q in lines],
            )
            for order_ref, warehouse, lines in RESERVATIONS:
                self._document(
                    services.reserve,
                    StockCommand.Kind.RESERVATION,
                    order_ref=order_ref,
                    warehouse_id=warehouses[warehouse],
                    lines=[Line(products[s], Decimal(q)) for s, q in lines],
                )
        if self.added:
            self.stdout.write("Demo stock created: " + ", ".join(self.added) + ".")
        else:
            self.stdout.write("Demo stock already exists; nothing added.")

    def _warehouses(self) -> dict:
        existing = dict(
            Warehouse.objects.filter(code__in=[c for c, _ in WAREHOUSES]).values_list("code", "pk")
        )
        created = 0
        for code, name in WAREHOUSES:
            if code not in existing:
                existing[code] = services.warehouse_create(code=code, name=name).pk
                created += 1
        self._count(created, "warehouse")
        return existing

    def _products(self) -> dict:
        existing = dict(Product.objects.filter(sku__in=[p[0] for p in PRODUCTS]).values_list("sku", "pk"))
        created = 0
        for sku, name, unit, reorder_point, reorder_quantity in PRODUCTS:
            if sku not in existing:
                product = services.product_create(
                    sku=sku,
                    name=name,
                    unit=unit,
                    reorder_point=Decimal(reorder_point),
                    reorder_quantity=Decimal(reorder_quantity),
                )
                existing[sku] = product.pk
                created += 1
        self._count(created, "product")
        return existing

    def _document(self, service, kind: str, **command) -> None:
        """Post one document unless it was posted before. A demo document the
        service now refuses (someone deactivated a demo product, say) is
        reported and skipped: the quick start goes on."""
        reference = command.get("reference") or command["order_ref"]
        if StockCommand.objects.filter(kind=kind, reference=reference).exists():
            return
        try:
            service(**command)
        except StockError as error:
            self.stderr.write(f"Skipped the demo {kind} {reference}: {error.message}")
            return
        self.added.append(f"{kind} {reference}")

    def _count(self, created: int, noun: str) -> None:
        if created:
            self.added.append(f"{created} {noun}{'s' if created != 1 else ''}")
