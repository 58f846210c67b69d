"""``manage.py seed_demo [--force]``: the quick start's demo, every screen with
data in it. It runs, in order, core's ``seed_demo_users`` (the admin and a user
per role, passwords printed), estoque's ``seed_estoque_demo`` (2 warehouses, 50
products received at varied costs) and then vendas' own: 21 customers with
credit limits (one of them invoiced at month end), a price for every demo
product, and orders in every status an order rests in, each brought there
through the services, so stock, books, invoices and workflow runs are all real:

* draft; pending_approval (over a small credit limit: its ``sales_order_approval``
  run waits for a manager); confirmed (one of them takes the monitors below their
  reorder point, so a ``stock_replenishment`` run waits for a manager too);
  shipped (to C0021, a customer invoiced at month end: financeiro keeps the
  shipment until its month has ended, then ``bill_month_end`` invoices it);
  invoiced (shipped: financeiro issues the invoice on the OrderShipped event);
  invoiced and partly paid; paid (the payment's InvoicePaid); cancelled.
* The month before this one is closed through financeiro's contract (nothing
  is posted in it; months close in order, so only when no period is closed yet
  and none before it is open).

Idempotent: customers are looked up by code, prices by product, orders by
their ``notes`` (``demo:<key>``); an order found on its way is taken further
along its own path and never back (a demo order someone moved on is left
where it is), and a payment is recorded only while its invoice has none. Calls
into other apps go through vendas/interfaces.py or their commands; nothing is
wrapped in one transaction (no transaction spans two apps), so a run that
stops half-way is finished by the next.

Refuses unless settings.DEBUG is on or ``--force`` is given: it writes users
with known passwords and made-up books."""

from __future__ import annotations

import datetime
import time
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from uuid import UUID

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from vendas import interfaces, services
from vendas.contract import OrderLineInput, SalesError
from vendas.models import Customer, Price, SalesOrder

Status = SalesOrder.Status
MARKER = "demo:"
CENTS = Decimal("0.01")
# How long to wait for financeiro's invoice (a real worker; eager has it at once).
INVOICE_WAIT_SECONDS = 30

# code, name, tax id, credit limit, payment terms (days)
CUSTOMERS = [
    ("C0001", "Padaria Pão Dourado Ltda", "11.222.333/0001-01", "25000.00", 30),
    ("C0002", "Escritório Contábil Silva & Filhos", "11.222.333/0001-02", "30000.00", 30),
    ("C0003", "TechNova Sistemas S.A.", "11.222.333/0001-03", "60000.00", 45),
    ("C0004", "Transportadora Rota Sul Ltda", "11.222.333/0001-04", "40000.00", 30),
    ("C0005", "Construtora Horizonte Ltda", "11.222.333/0001-05", "50000.00", 60),
    ("C0006", "Clínica Vida Plena", "11.222.333/0001-06", "35000.00", 30),
    ("C0007", "Coworking Colmeia", "11.222.333/0001-07", "25000.00", 30),
    ("C0008", "Escola Aprender Mais", "11.222.333/0001-08", "45000.00", 45),
    ("C0009", "Hotel Mar Azul", "11.222.333/0001-09", "40000.00", 30),
    ("C0010", "Mercado Bom Preço Ltda", "11.222.333/0001-10", "30000.00", 15),
    ("C0011", "Café da Praça ME", "11.222.333/0001-11", "25000.00", 15),
    ("C0012", "Oficina Mecânica Dois Irmãos", "11.222.333/0001-12", "30000.00", 30),
    ("C0013", "Farmácia Saúde Total", "11.222.333/0001-13", "35000.00", 30),
    ("C0014", "Livraria Página Virada", "11.222.333/0001-14", "25000.00", 30),
    ("C0015", "Agência Criativa Pixel", "11.222.333/0001-15", "30000.00", 30),
    ("C0016", "Restaurante Sabor Caseiro", "11.222.333/0001-16", "25000.00", 15),
    ("C0017", "Academia Corpo em Forma", "11.222.333/0001-17", "30000.00", 30),
    ("C0018", "Lavanderia Brilho", "11.222.333/0001-18", "25000.00", 30),
    ("C0019", "Distribuidora Norte Ltda", "11.222.333/0001-19", "80000.00", 60),
    # A small limit: its order waits for a manager's credit approval.
    ("C0020", "Start Incubadora ME", "11.222.333/0001-20", "2000.00", 30),
    # Invoiced at month end (MONTH_END): its order shipped this month stays shipped.
    ("C0021", "Supermercado Estrela Ltda", "11.222.333/0001-21", "60000.00", 30),
]
# Customers invoiced once a month, after it has ended (faturamento mensal); the others per shipment.
MONTH_END = {"C0021"}

# Each order ends in ``target``: "partly_paid" is an invoiced order whose
# invoice has a partial payment. key, customer, warehouse, target, lines (sku, quantity)
ORDERS = [
    ("draft-1", "C0002", "MAIN", "draft", [("PAP-A4-75G", "20"), ("PEN-BALL-BLU", "2")]),
    ("draft-2", "C0007", "MAIN", "draft", [("CHR-OFF-ERG", "2"), ("ORG-DSK-MSH", "4")]),
    ("pending-approval", "C0020", "MAIN", "pending_approval", [("NTB-14-I5", "2")]),
    # Leaves 3 monitors available at MAIN, below their reorder point of 4.
    (
        "confirmed-1",
        "C0003",
        "MAIN",
        "confirmed",
        [("MON-24-FHD", "7"), ("KBD-USB-ABNT2", "4"), ("MSE-USB-OPT", "4")],
    ),
    ("confirmed-2", "C0005", "MAIN", "confirmed", [("DRL-18V-KIT", "2"), ("LAD-ALU-6", "1")]),
    # Shipped this month to a customer invoiced at month end: no invoice until the month has ended.
    (
        "shipped",
        "C0021",
        "MAIN",
        "shipped",
        [("TON-HP-26A", "3"), ("PLT-EUR-1208", "8"), ("TOW-PAP-1000", "10"), ("CLN-MULTI-5L", "6")],
    ),
    (
        "invoiced-1",
        "C0004",
        "MAIN",
        "invoiced",
        [("BOX-CRD-403030", "200"), ("TAP-PCK-48", "24"), ("FLM-STR-500", "6")],
    ),
    (
        "invoiced-2",
        "C0008",
        "MAIN",
        "invoiced",
        [("RTR-WIFI-AC", "3"), ("CAB-CAT6-305", "1"), ("USB-DRV-64", "10")],
    ),
    (
        "invoiced-3",
        "C0011",
        "MAIN",
        "invoiced",
        [("COF-ARABICA", "8.500"), ("SUG-CRY-5KG", "4"), ("TEA-MAT-250", "10"), ("WAT-MIN-20L", "6")],
    ),
    (
        "partly-paid",
        "C0006",
        "MAIN",
        "partly_paid",
        [("SCN-BAR-USB", "2"), ("LBL-100X150", "6"), ("DSK-SSD-1TB", "4")],
    ),
    (
        "paid-1",
        "C0009",
        "MAIN",
        "paid",
        [("GLV-NIT-M", "20"), ("SAN-GEL-500", "24"), ("SOP-LIQ-5L", "6")],
    ),
    ("paid-2", "C0012", "MAIN", "paid", [("LED-9W-E27", "60"), ("EXT-CRD-5M", "6"), ("BAT-AA-4", "20")]),
    ("paid-store", "C0014", "STORE", "paid", [("COF-ARABICA", "2"), ("WAT-MIN-20L", "4")]),
    ("cancelled", "C0010", "MAIN", "cancelled", [("RCK-STL-5S", "2"), ("BIN-PLS-60L", "6")]),
]
PARTLY_PAID_SHARE = Decimal("0.40")
# What a price is over the product's average cost, cycling by SKU order.
MARKUPS = (Decimal("1.35"), Decimal("1.45"), Decimal("1.60"), Decimal("1.80"))
# Tax rates (%), cycling by SKU order: awkward ones, so the demo's totals show the rounding per line.
TAX_RATES = (Decimal("17"), Decimal("12"), Decimal("5"), Decimal("0"))


@dataclass
class Tally:
    created: list[str]
    notes: list[str]
    orders: int = 0
    payments: int = 0


class Command(BaseCommand):
    help = (
        "Load the whole demo (users, stock, customers, prices, orders in every status, a closed "
        "period) through the services. Idempotent. Refuses unless DEBUG is on or --force is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even with DEBUG off (it creates users whose passwords it prints).",
        )
        parser.add_argument(
            "--credentials-file",
            type=Path,
            default=None,
            help="Passed to seed_demo_users: where the created users' passwords are kept.",
        )

    def handle(self, *args, force: bool = False, credentials_file: Path | None = None, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                _(
                    "DEBUG is off: this looks like a real installation, and seed_demo creates users whose "
                    "passwords it prints and made-up sales and books. Use --force to seed it anyway."
                ),
                returncode=1,
            )
        users = {"credentials_file": credentials_file} if credentials_file is not None else {}
        call_command("seed_demo_users", stdout=self.stdout, stderr=self.stderr, **users)
        stock = interfaces.seed_demo_stock()
        if stock.added:
            self.stdout.write(_("Demo stock created: %(added)s.") % {"added": ", ".join(stock.added)})
        else:
            self.stdout.write(_("Demo stock already exists; nothing added."))
        self.tally = Tally(created=[], notes=[])
        self._close_last_month()
        customers = self._customers()
        self._prices(stock.products)
        for key, customer, warehouse, target, lines in ORDERS:
            self._order(
                key,
                customer_id=customers.get(customer),
                warehouse_id=stock.warehouses[warehouse],
                target=target,
                lines=[OrderLineInput(stock.products[sku], Decimal(q)) for sku, q in lines],
            )
        for note in self.tally.notes:
            self.stderr.write(note)
        if self.tally.orders:
            self.tally.created.append(_("%(count)d orders") % {"count": self.tally.orders})
        if self.tally.payments:
            self.tally.created.append(_("%(count)d payments") % {"count": self.tally.payments})
        if self.tally.created:
            self.stdout.write(_("Demo sales created: %(added)s.") % {"added": ", ".join(self.tally.created)})
        else:
            self.stdout.write(_("Demo sales already exist; nothing added."))
        self._summary(stock)

    # --- Books: one closed month ---------------------------------------------------------

    def _close_last_month(self) -> None:
        if any(period.status == "closed" for period in interfaces.periods()):
            return
        first = interfaces.today().replace(day=1)
        last_month = first - datetime.timedelta(days=1)
        try:
            interfaces.close_period(year=last_month.year, month=last_month.month)
        except interfaces.PeriodRefusedError as refused:
            self.tally.notes.append(
                _("The demo did not close %(period)s: %(reason)s")
                % {"period": f"{last_month:%Y-%m}", "reason": refused.message}
            )
            return
        self.tally.created.append(_("period %(period)s closed") % {"period": f"{last_month:%Y-%m}"})

    # --- Customers and prices ---------------------------------------------------------------

    def _customers(self) -> dict[str, UUID]:
        existing = dict(Customer.objects.filter(code__in=[c[0] for c in CUSTOMERS]).values_list("code", "pk"))
        created = 0
        for code, name, tax_id, credit_limit, terms in CUSTOMERS:
            if code in existing:
                continue
            invoicing = Customer.Invoicing.MONTH_END if code in MONTH_END else Customer.Invoicing.PER_SHIPMENT
            customer = services.customer_create(
                code=code,
                name=name,
                tax_id=tax_id,
                email=f"{code.lower()}@example.com",
                credit_limit=Decimal(credit_limit),
                payment_terms_days=terms,
                invoicing=invoicing,
            )
            existing[code] = customer.pk
            created += 1
        if created:
            self.tally.created.append(_("%(count)d customers") % {"count": created})
        return existing

    def _prices(self, products: dict[str, UUID]) -> None:
        priced = set(
            Price.objects.filter(product_id__in=products.values()).values_list("product_id", flat=True)
        )
        missing = [product_id for product_id in products.values() if product_id not in priced]
        created = 0
        for product in interfaces.products(missing).values():
            index = sorted(products).index(product.sku)
            cost = product.average_cost
            if cost <= 0:  # never received (the demo's receipt was refused): nothing to price from
                continue
            services.price_set(
                product_id=product.id,
                unit_price=(cost * MARKUPS[index % len(MARKUPS)]).quantize(CENTS, rounding=ROUND_HALF_UP),
                tax_rate=TAX_RATES[index % len(TAX_RATES)],
            )
            created += 1
        if created:
            self.tally.created.append(_("%(count)d prices") % {"count": created})

    # --- Orders --------------------------------------------------------------------------------

    def _order(self, key: str, *, customer_id, warehouse_id, target: str, lines) -> None:
        marker = f"{MARKER}{key}"
        order = SalesOrder.objects.filter(notes=marker).first()
        try:
            if order is None:
                if customer_id is None:
                    return
                order = services.order_create(
                    customer_id=customer_id, warehouse_id=warehouse_id, lines=lines, notes=marker
                )
                self.tally.orders += 1
            self._advance(order, target)
        except SalesError as error:
            # A demo row someone changed (a customer deactivated, stock sold): the rest goes on.
            self.tally.notes.append(
                _("Demo order %(key)s stopped at %(status)s: %(reason)s")
                % {"key": key, "status": order.status if order else "-", "reason": error.message}
            )

    def _advance(self, order: SalesOrder, target: str) -> None:
        """Take the order along its path to ``target``, one service call at a time."""
        while True:
            order = services.order_get(order.pk)
            if order.status == Status.DRAFT and target != Status.DRAFT:
                services.order_confirm(order_id=order.pk)
            elif order.status == Status.CONFIRMED and target == Status.CANCELLED:
                services.order_cancel(order_id=order.pk, reason=_("Demo: the customer changed their mind."))
            elif order.status == Status.CONFIRMED and target == Status.SHIPPED:
                # Its customer is invoiced at month end: it rests in shipped until bill_month_end.
                services.order_ship(order_id=order.pk)
                return None
            elif order.status == Status.CONFIRMED and target in ("invoiced", "partly_paid", "paid"):
                services.order_ship(order_id=order.pk)
                self._wait_for_invoice(order.pk)
                return self._pay(services.order_get(order.pk), target)
            elif order.status == Status.INVOICED:
                return self._pay(order, target)
            else:  # there, or somewhere its path does not lead from (pending approval, paid)
                return None

    def _wait_for_invoice(self, order_id: UUID) -> None:
        deadline = time.monotonic() + INVOICE_WAIT_SECONDS
        while SalesOrder.objects.filter(pk=order_id, invoice_id__isnull=True).exists():
            if time.monotonic() > deadline:
                self.tally.notes.append(
                    _("No invoice yet for a shipped demo order (is a worker running?); run seed_demo again.")
                )
                return
            time.sleep(0.2)

    def _pay(self, order: SalesOrder, target: str) -> None:
        if order.invoice_id is None or target not in ("partly_paid", "paid"):
            return
        invoice = interfaces.invoice(order.invoice_id)
        if target == "partly_paid":
            if invoice.amount_paid > 0:  # paid once already
                return
            amount = (invoice.total * PARTLY_PAID_SHARE).quantize(CENTS, rounding=ROUND_HALF_UP)
        else:
            amount = invoice.balance
        if amount <= 0:
            return
        interfaces.record_payment(
            customer_id=order.customer_id,
            invoice_id=invoice.id,
            amount=amount,
            day=interfaces.today(),
            method="cash" if order.notes.endswith("-store") else "bank_transfer",
            reference=order.notes,
        )
        self.tally.payments += 1

    # --- What there is ----------------------------------------------------------------------------

    def _summary(self, stock: interfaces.DemoStock) -> None:
        orders = SalesOrder.objects.filter(notes__startswith=MARKER)
        by_status = Counter(orders.values_list("status", flat=True))
        self.stdout.write(_("Demo data:"))
        self.stdout.write(
            _(
                "  %(customers)d customers, %(prices)d prices, %(products)d products in %(warehouses)d warehouses"
            )
            % {
                "customers": Customer.objects.filter(code__in=[c[0] for c in CUSTOMERS]).count(),
                "prices": Price.objects.filter(product_id__in=stock.products.values()).count(),
                "products": len(stock.products),
                "warehouses": len(stock.warehouses),
            }
        )
        partly_paid = sum(
            1
            for invoice_id in orders.filter(status=Status.INVOICED, invoice_id__isnull=False).values_list(
                "invoice_id", flat=True
            )
            if interfaces.invoice(invoice_id).amount_paid > 0
        )
        self.stdout.write(
            _("  orders: %(statuses)s (%(partly)d of the invoiced partly paid)")
            % {
                "statuses": ", ".join(f"{by_status[s]} {s}" for s in Status.values if by_status[s]),
                "partly": partly_paid,
            }
        )
        for order in orders.filter(status=Status.PENDING_APPROVAL, workflow__isnull=False):
            self.stdout.write(
                _("  %(number)s waits for a manager's credit approval (run %(run)s)")
                % {"number": order.number, "run": order.workflow}
            )
        month_end = orders.filter(status=Status.SHIPPED, customer__invoicing=Customer.Invoicing.MONTH_END)
        for order in month_end.select_related("customer"):
            self.stdout.write(
                _(
                    "  %(number)s is shipped: %(customer)s is invoiced at month end, once %(month)s has ended "
                    "(beat's hourly financeiro.bill_month_end, or manage.py bill_month_end)"
                )
                % {
                    "number": order.number,
                    "customer": order.customer.code,
                    "month": f"{order.shipped_on:%Y-%m}",
                }
            )
        self._low_stock(stock)
        closed = [f"{p.year}-{p.month:02d}" for p in interfaces.periods() if p.status == "closed"]
        if closed:
            self.stdout.write(_("  closed periods: %(periods)s") % {"periods": ", ".join(closed)})

    def _low_stock(self, stock: interfaces.DemoStock) -> None:
        products = interfaces.products(list(stock.products.values()))
        low = []
        for code, warehouse_id in stock.warehouses.items():
            for product_id, level in interfaces.availability(warehouse_id, list(products)).items():
                product = products[product_id]
                if level.on_hand > 0 and level.available < product.reorder_point:
                    low.append(
                        f"{product.sku} at {code} ({level.available.normalize()} available, "
                        f"reorder point {product.reorder_point.normalize()})"
                    )
        if low:
            self.stdout.write(_("  below the reorder point: %(levels)s") % {"levels": "; ".join(low)})
        self.stdout.write(
            _("  runs waiting for a manager (approvals, replenishments): /api/v1/workflows/?status=waiting")
        )
