"""Demo stock for the quick start: two warehouses, fifty products, and the
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
by code and SKU and, when they exist, left as they are. Products added to the
demo later get documents of their own (DEMO-RCPT-004 on), so a database seeded
by an earlier version gains their stock without an old document changing.

``--json`` prints the demo's warehouse and product ids instead of the summary:
vendas' ``seed_demo`` runs this command and sells from them (estoque's contract
looks products up by SKU but warehouses not at all)."""

from __future__ import annotations

import json
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
    # The second thirty (received from DEMO-RCPT-004 on).
    ("BAT-AA-4", "Alkaline batteries AA, pack of 4", "pack", "30", "120"),
    ("BIN-PLS-60L", "Plastic storage bin 60 L", "un", "10", "30"),
    ("BRM-IND-40", "Industrial broom 40 cm", "un", "6", "20"),
    ("CHR-OFF-ERG", "Ergonomic office chair", "un", "2", "6"),
    ("CLN-MULTI-5L", "Multi-surface cleaner, 5 L", "un", "12", "40"),
    ("DSK-SSD-1TB", "SSD 1 TB, SATA", "un", "5", "15"),
    ("EXT-CRD-5M", "Extension cord 5 m, 4 outlets", "un", "8", "24"),
    ("FLD-SUS-A4", "Suspension file folders A4, box of 25", "box", "6", "20"),
    ("GLS-SAFE-CLR", "Safety glasses, clear", "un", "15", "50"),
    ("HDP-USB-STR", "USB stereo headset", "un", "6", "20"),
    ("HLM-SAFE-WHT", "Safety helmet, white", "un", "8", "24"),
    ("INK-EPS-664-K", "Ink bottle Epson 664, black", "un", "10", "30"),
    ("KNF-UTL-18", "Utility knife 18 mm", "un", "10", "40"),
    ("LAD-ALU-6", "Aluminium step ladder, 6 steps", "un", "2", "4"),
    ("MAR-PRM-BLK", "Permanent marker, black, box of 12", "box", "8", "24"),
    ("NTB-14-I5", 'Notebook 14" Core i5, 16 GB', "un", "2", "5"),
    ("ORG-DSK-MSH", "Desk organizer, mesh", "un", "5", "20"),
    ("PAL-JCK-2T", "Pallet jack 2 t", "un", "1", "2"),
    ("PLG-ADP-3P", "Plug adapter, 3 pins", "un", "20", "80"),
    ("RCK-STL-5S", "Steel shelving rack, 5 shelves", "un", "2", "6"),
    ("RTR-WIFI-AC", "Wi-Fi router AC1200", "un", "4", "12"),
    ("SAN-GEL-500", "Hand sanitizer gel, 500 ml", "un", "24", "96"),
    ("SCN-BAR-USB", "Barcode scanner, USB", "un", "3", "10"),
    ("SOP-LIQ-5L", "Liquid soap, 5 L", "un", "10", "30"),
    ("STP-HVY-24", "Heavy-duty stapler", "un", "5", "15"),
    ("SUG-CRY-5KG", "Crystal sugar, 5 kg bag", "bag", "8", "24"),
    ("TEA-MAT-250", "Mate tea, 250 g", "un", "12", "48"),
    ("TOW-PAP-1000", "Paper towels, pack of 1000 sheets", "pack", "20", "80"),
    ("USB-DRV-64", "USB flash drive 64 GB", "un", "12", "40"),
    ("WBD-90X60", "Whiteboard 90×60 cm", "un", "2", "6"),
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
    (
        "DEMO-RCPT-004",
        "MAIN",
        [
            ("BAT-AA-4", "200", "9.8000"),
            ("BIN-PLS-60L", "40", "38.5000"),
            ("BRM-IND-40", "25", "22.9000"),
            ("CHR-OFF-ERG", "8", "689.0000"),
            ("CLN-MULTI-5L", "60", "18.7000"),
            ("DSK-SSD-1TB", "20", "329.0000"),
            ("EXT-CRD-5M", "35", "34.9000"),
            ("FLD-SUS-A4", "30", "47.5000"),
            ("GLS-SAFE-CLR", "70", "11.2000"),
            ("HDP-USB-STR", "25", "79.9000"),
            ("HLM-SAFE-WHT", "30", "27.4000"),
            ("INK-EPS-664-K", "45", "32.9000"),
            ("KNF-UTL-18", "60", "8.6000"),
            ("LAD-ALU-6", "5", "289.0000"),
            ("MAR-PRM-BLK", "40", "26.8000"),
            ("NTB-14-I5", "6", "3890.0000"),
            ("ORG-DSK-MSH", "25", "29.9000"),
            ("PAL-JCK-2T", "3", "1890.0000"),
            ("PLG-ADP-3P", "100", "3.4500"),
            ("RCK-STL-5S", "8", "459.0000"),
            ("RTR-WIFI-AC", "15", "219.0000"),
            ("SAN-GEL-500", "120", "7.9000"),
            ("SCN-BAR-USB", "12", "249.0000"),
            ("SOP-LIQ-5L", "45", "21.3000"),
            ("STP-HVY-24", "18", "64.9000"),
            ("SUG-CRY-5KG", "30", "22.4000"),
            ("TEA-MAT-250", "60", "6.9000"),
            ("TOW-PAP-1000", "100", "15.6000"),
            ("USB-DRV-64", "50", "36.9000"),
            ("WBD-90X60", "7", "149.0000"),
        ],
    ),
    # A second supplier, dearer for some, cheaper for others.
    (
        "DEMO-RCPT-005",
        "MAIN",
        [
            ("BAT-AA-4", "100", "10.4500"),
            ("DSK-SSD-1TB", "10", "312.0000"),
            ("GLS-SAFE-CLR", "30", "11.9000"),
            ("SAN-GEL-500", "60", "7.4900"),
            ("TOW-PAP-1000", "50", "16.2000"),
            ("USB-DRV-64", "30", "33.5000"),
        ],
    ),
    (
        "DEMO-RCPT-006",
        "STORE",
        [
            ("BAT-AA-4", "40", "10.1000"),
            ("HDP-USB-STR", "8", "82.0000"),
            ("SAN-GEL-500", "36", "7.7500"),
            ("SUG-CRY-5KG", "10", "22.9000"),
            ("TEA-MAT-250", "24", "7.1000"),
            ("USB-DRV-64", "15", "35.9000"),
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

    def add_arguments(self, parser):
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="Print the demo's warehouse and product ids (and what was added) as JSON instead.",
        )

    def handle(self, *args, as_json: bool = False, **options):
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
        if as_json:
            self._print_json(warehouses, products)
        elif self.added:
            self.stdout.write("Demo stock created: " + ", ".join(self.added) + ".")
        else:
            self.stdout.write("Demo stock already exists; nothing added.")

    def _print_json(self, warehouses: dict, products: dict) -> None:
        self.stdout.write(
            json.dumps(
                {
                    "warehouses": {code: str(pk) for code, pk in warehouses.items()},
                    "products": {sku: str(pk) for sku, pk in products.items()},
                    "added": self.added,
                }
            )
        )

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
