"""Bulk product import: up to 10,000 products from CSV or JSON, all or nothing.

Three steps, so a bad file changes nothing and a good one costs a constant
number of statements whatever its size:

1. **Read** the file into rows (``read_csv``, ``read_json``). A file that cannot
   be read (not UTF-8, broken quoting, not the JSON shape), an empty one, one of
   more than ``MAX_ROWS`` rows, or a CSV header naming an unknown, repeated or
   read-only column is refused at once.
2. **Validate** every row, collecting every problem of every row (``RowError``:
   row, field, code, message), then look the SKUs up in one query: a row for a
   new SKU must carry a name. Any problem → ``ImportRejectedError`` (400) with
   the lot, nothing written.
3. **Write** in the same transaction on estoque's database, which also held
   the lookup's ``SELECT … FOR NO KEY UPDATE`` of the existing SKUs:
   ``bulk_create`` of the new products and one ``UPDATE … FROM unnest(…)`` of
   the changed ones, ``BATCH_SIZE`` rows per statement. Rows equal to the stored
   product are counted ``unchanged`` and not written.

Rows are numbered from 1, the first data row (a CSV header is not a row). A row
sets the fields it gives (JSON: its keys; CSV: the file's columns) and an update
leaves every other field alone, so a file of ``sku,reorder_point`` changes only
reorder points. Stock and valuation (``on_hand``, ``stock_value``,
``average_cost``) are never imported: receipts and adjustments change those.
Bulk statements send no model signals; products publish no events.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, connections
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from erp.db import alias, atomic
from erp.errors import ConflictError, FieldError
from erp.parsers import InvalidJSONError, load_json
from estoque.contract import InvalidStockInputError, StockError
from estoque.models import Product

APP = "estoque"
MAX_ROWS = 10_000
# 10,000 typical rows are 1-3 MB; the cap leaves room for long descriptions.
MAX_BYTES = 10 * 1024 * 1024
BATCH_SIZE = 1000
# The 400 body lists at most this many problems (error_count says how many there were).
MAX_REPORTED_ERRORS = 1000

FIELDS = ("sku", "name", "description", "unit", "reorder_point", "reorder_quantity", "is_active")
READ_ONLY = ("id", "on_hand", "stock_value", "average_cost", "created_at", "updated_at")
MAX_LENGTH = {"sku": 64, "name": 200, "description": 2000, "unit": 16}
MAX_QUANTITY = Decimal("999999999999999.999")  # 18 digits, 3 places, as the columns hold
QUANTITY_PLACES = 3
TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})
FIELDS_ORDER = {name: index for index, name in enumerate(FIELDS)}  # errors of a row in column order


# --- Errors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError(FieldError):
    """A FieldError located in a row; ``row`` is None for the file as a whole
    (its header, its size)."""

    row: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "code": self.code, "message": self.message}


class ImportRejectedError(InvalidStockInputError):
    """The file is refused and nothing was written. ``row_errors`` holds every
    problem found; the 400 body's ``errors`` the first MAX_REPORTED_ERRORS of
    them and ``error_count`` their number."""

    code = "import_invalid"
    default_message = "The import was refused; nothing was imported."

    def __init__(self, row_errors: Sequence[RowError], *, code: str | None = None):
        self.row_errors = sorted(row_errors, key=lambda e: (e.row or 0, FIELDS_ORDER.get(e.field, 99)))
        super().__init__(
            _summary(self.row_errors),
            errors=self.row_errors[:MAX_REPORTED_ERRORS],
            code=code,
            extra={"error_count": len(self.row_errors)},
        )


class ImportConflictError(StockError, ConflictError):
    code = "import_conflict"
    default_message = "Another request created some of these SKUs meanwhile; import again."


def _summary(errors: Sequence[RowError]) -> str:
    rows = {e.row for e in errors if e.row is not None}
    first = errors[0]
    parts = [_("row %(row)d") % {"row": first.row}] if first.row is not None else []
    parts += [first.field] if first.field else []
    where = ", ".join(parts) or _("the file")
    lead = (
        ngettext("%(n)d row has errors", "%(n)d rows have errors", len(rows)) % {"n": len(rows)}
        if rows
        else _("The file was refused")
    )
    return _("%(lead)s; nothing was imported. First: %(where)s: %(message)s") % {
        "lead": lead,
        "where": where,
        "message": first.message,
    }


def _file_error(code: str, message: str, field: str | None = None) -> ImportRejectedError:
    return ImportRejectedError([RowError(row=None, field=field, code=code, message=message)], code=code)


# --- Reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    number: int  # 1 = the first data row
    values: Mapping[str, Any]  # the fields this row gives
    problems: tuple[RowError, ...] = ()  # found while reading it (its shape); its values are checked later


def _too_many() -> ImportRejectedError:
    return _file_error(
        "too_many_rows", _("At most %(n)s products per import; split the file.") % {"n": f"{MAX_ROWS:,}"}
    )


def _empty() -> ImportRejectedError:
    return _file_error("empty", _("The file holds no products."))


def _check_size(data: bytes | str) -> None:
    if len(data) > MAX_BYTES:
        raise _too_large()


def _too_large() -> ImportRejectedError:
    return _file_error(
        "too_large", _("The file is larger than %(mb)d MB; split it.") % {"mb": MAX_BYTES // (1024 * 1024)}
    )


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _file_error(
            "malformed", _("The file is not UTF-8 text (byte %(at)d).") % {"at": exc.start}
        ) from None


def _header(cells: list[str]) -> list[str]:
    columns = [cell.strip().lower() for cell in cells]
    while columns and not columns[-1]:
        columns.pop()  # trailing empty header cells, as spreadsheets write them
    errors = []
    seen: set[str] = set()
    for column in columns:
        if column in READ_ONLY:
            errors.append(_read_only(None, column))
        elif column not in FIELDS:
            errors.append(
                RowError(
                    row=None,
                    field=column,
                    code="unknown_column",
                    message=_("Unknown column %(column)r; the columns are %(known)s.")
                    % {"column": column, "known": ", ".join(FIELDS)},
                )
            )
        elif column in seen:
            errors.append(
                RowError(row=None, field=column, code="duplicate_column", message=_("The column repeats."))
            )
        seen.add(column)
    if "sku" not in columns:
        errors.append(
            RowError(row=None, field="sku", code="required", message=_("The sku column is required."))
        )
    if errors:
        raise ImportRejectedError(errors, code="invalid_header")
    return columns


def _read_only(row: int | None, name: str) -> RowError:
    return RowError(
        row=row,
        field=name,
        code="read_only",
        message=_(
            "%(field)s cannot be imported: the import never changes stock or valuation "
            "(use receipts and adjustments)."
        )
        % {"field": name},
    )


def read_csv(data: bytes | str) -> list[Row]:
    """Rows of a UTF-8 CSV (optional BOM, comma-separated, a header row naming
    the columns: sku and any of the other fields, in any order and case).
    Blank lines are skipped but counted, so row N is the Nth line after the
    header (for cells without line breaks)."""
    _check_size(data)
    reader = csv.reader(io.StringIO(_decode(data), newline=""), strict=True)
    try:
        header = next((cells for cells in reader if any(cell.strip() for cell in cells)), None)
        if header is None:
            raise _empty()
        columns = _header(header)
        rows = []
        for number, cells in enumerate(reader, start=1):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) == MAX_ROWS:
                raise _too_many()
            if len(cells) > len(columns) and not any(c.strip() for c in cells[len(columns) :]):
                cells = cells[: len(columns)]  # trailing empty cells, as spreadsheets write them
            if len(cells) == len(columns):
                rows.append(Row(number, dict(zip(columns, cells, strict=True))))
                continue
            problem = RowError(
                row=number,
                field=None,
                code="cell_count",
                message=_("The row has %(cells)d cells; the header has %(columns)d columns.")
                % {"cells": len(cells), "columns": len(columns)},
            )
            rows.append(Row(number, {}, (problem,)))
    except csv.Error as exc:
        raise _file_error(
            "malformed",
            _("The CSV cannot be read near line %(line)d: %(reason)s.")
            % {"line": reader.line_num, "reason": exc},
        ) from None
    if not rows:
        raise _empty()
    return rows


def parse_json(data: bytes | str) -> Any:
    """A JSON document with its numbers as exact Decimals (never floats)."""
    _check_size(data)
    try:
        return load_json(_decode(data), parse_float=Decimal)
    except InvalidJSONError as exc:
        raise _file_error(
            "malformed", _("The body is not valid JSON: %(reason)s.") % {"reason": exc}
        ) from None


def read_json(payload: Any) -> list[Row]:
    """Rows of ``{"products": [{...}, ...]}``; each object gives the fields it has."""
    if not isinstance(payload, Mapping) or "products" not in payload:
        raise _file_error(
            "required", _('Send {"products": [...]}: a list of product objects.'), field="products"
        )
    unknown = sorted(str(key) for key in payload if key != "products")
    if unknown:
        raise _file_error(
            "unknown_field", _("Unknown field %(field)r.") % {"field": unknown[0]}, field=unknown[0]
        )
    items = payload["products"]
    if not isinstance(items, list):
        raise _file_error("invalid", _("products must be a list of objects."), field="products")
    if not items:
        raise _empty()
    if len(items) > MAX_ROWS:
        raise _too_many()
    return [_json_row(number, item) for number, item in enumerate(items, start=1)]


def _json_row(number: int, item: Any) -> Row:
    if not isinstance(item, Mapping):
        return Row(
            number, {}, (RowError(row=number, field=None, code="invalid", message=_("Must be an object.")),)
        )
    problems = []
    for key in item:
        if key in READ_ONLY:
            problems.append(_read_only(number, key))
        elif key not in FIELDS:
            problems.append(
                RowError(
                    row=number,
                    field=str(key),
                    code="unknown_field",
                    message=_("Unknown field; the fields are %(known)s.") % {"known": ", ".join(FIELDS)},
                )
            )
    if "sku" not in item:
        problems.append(RowError(row=number, field="sku", code="required", message=_("SKU is required.")))
    return Row(number, {k: v for k, v in item.items() if k in FIELDS}, tuple(problems))


def read_file(data: bytes | str, *, kind: str) -> list[Row]:
    """``kind`` is "csv" or "json"."""
    return read_csv(data) if kind == "csv" else read_json(parse_json(data))


# --- Validating ---------------------------------------------------------------------------


class _InvalidValueError(Exception):
    def __init__(self, code: str, message: str):
        self.code, self.message = code, message


def _text(value: Any, name: str, *, required: bool) -> str:
    if not isinstance(value, str):
        raise _InvalidValueError("invalid", _("Must be text."))
    value = value.strip()
    if required and not value:
        raise _InvalidValueError("required", _("This field may not be blank."))
    if len(value) > MAX_LENGTH[name]:
        raise _InvalidValueError("max_length", _("At most %(n)d characters.") % {"n": MAX_LENGTH[name]})
    if "\x00" in value:
        raise _InvalidValueError("null_characters_not_allowed", _("Null characters are not allowed."))
    return value


def _quantity(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise _InvalidValueError("invalid", _("A number is required."))
    text = value.strip() if isinstance(value, str) else value
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        if isinstance(text, str) and "," in text:
            raise _InvalidValueError(
                "invalid", _("A number is required; use a dot for decimals (1.5).")
            ) from None
        raise _InvalidValueError("invalid", _("A number is required.")) from None
    if not number.is_finite():
        raise _InvalidValueError("invalid", _("A number is required."))
    if number < 0:
        raise _InvalidValueError("min_value", _("Must not be negative."))
    if number > MAX_QUANTITY:
        raise _InvalidValueError("max_value", _("Must be at most %(max)s.") % {"max": MAX_QUANTITY})
    if number.as_tuple().exponent < -QUANTITY_PLACES and number != round(number, QUANTITY_PLACES):
        raise _InvalidValueError(
            "max_decimal_places", _("At most %(n)d decimal places.") % {"n": QUANTITY_PLACES}
        )
    return round(number, QUANTITY_PLACES)


def _boolean(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise _InvalidValueError("invalid", _("Must be true or false (also 1/0, yes/no)."))


_CLEAN: dict[str, Callable[[Any, str], Any]] = {
    "sku": lambda v, n: _text(v, n, required=True),
    "name": lambda v, n: _text(v, n, required=True),
    "description": lambda v, n: _text(v, n, required=False),
    "unit": lambda v, n: _text(v, n, required=True),
    "reorder_point": _quantity,
    "reorder_quantity": _quantity,
    "is_active": _boolean,
}


def _clean_row(row: Row, errors: list[RowError]) -> dict[str, Any] | None:
    errors.extend(row.problems)
    cleaned, ok = {}, not row.problems
    for name, value in row.values.items():
        try:
            if value is None:
                raise _InvalidValueError("null", _("This field may not be null."))
            cleaned[name] = _CLEAN[name](value, name)
        except _InvalidValueError as problem:
            errors.append(RowError(row=row.number, field=name, code=problem.code, message=problem.message))
            ok = False
    return cleaned if ok else None


def _duplicates(rows: Sequence[Row], cleaned: Mapping[int, Mapping[str, Any]]) -> list[RowError]:
    by_sku: dict[str, list[int]] = {}
    for row in rows:
        values = cleaned.get(row.number)
        if values is not None:
            by_sku.setdefault(values["sku"], []).append(row.number)
    errors = []
    for sku, numbers in by_sku.items():
        if len(numbers) > 1:
            for number in numbers:
                others = ", ".join(str(n) for n in numbers if n != number)
                errors.append(
                    RowError(
                        row=number,
                        field="sku",
                        code="duplicate",
                        message=_("SKU %(sku)s also appears in row %(rows)s.") % {"sku": sku, "rows": others},
                    )
                )
    return errors


def _validated(rows: Sequence[Row]) -> tuple[dict[int, dict[str, Any]], list[RowError]]:
    errors: list[RowError] = []
    cleaned = {}
    for row in rows:
        values = _clean_row(row, errors)
        if values is not None:
            cleaned[row.number] = values
    errors += _duplicates(rows, cleaned)
    return cleaned, errors


# --- Planning and writing -----------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    dry_run: bool = False
    created_skus: tuple[str, ...] = field(default=(), repr=False)
    updated_skus: tuple[str, ...] = field(default=(), repr=False)


@dataclass
class _Plan:
    new: list[Product] = field(default_factory=list)
    changed: list[Product] = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)
    unchanged: int = 0


def _existing(skus: Iterable[str], *, lock: bool) -> dict[str, Product]:
    query = Product.objects.filter(sku__in=list(skus)).only("id", *FIELDS).order_by("id")
    if lock:
        query = query.select_for_update(no_key=True)  # by id: the lock order every estoque service keeps
    return {product.sku: product for product in query}


def _missing_names(
    cleaned: Mapping[int, Mapping[str, Any]], existing: Mapping[str, Product]
) -> list[RowError]:
    return [
        RowError(
            row=number,
            field="name",
            code="required",
            message=_("A name is required for a new product (SKU %(sku)s).") % {"sku": values["sku"]},
        )
        for number, values in cleaned.items()
        if values["sku"] not in existing and "name" not in values
    ]


def _plan(cleaned: Mapping[int, Mapping[str, Any]], existing: Mapping[str, Product]) -> _Plan:
    plan = _Plan()
    for values in cleaned.values():
        product = existing.get(values["sku"])
        if product is None:
            plan.new.append(Product(**values))
            continue
        differs = {name for name, value in values.items() if getattr(product, name) != value}
        if not differs:
            plan.unchanged += 1
            continue
        for name in differs:
            setattr(product, name, values[name])
        plan.changed.append(product)
        plan.changed_fields |= differs
    return plan


def _update(products: list[Product], fields: list[str]) -> None:
    """One ``UPDATE … FROM unnest(<one array per column>)`` per batch, setting
    only ``fields`` (never stock or valuation). bulk_update's ``CASE WHEN`` per
    field grows with the square of the batch: 10,000 rows took a minute."""
    connection = connections[alias(APP)]
    if connection.vendor != "postgresql":
        Product.objects.bulk_update(products, fields)  # the SQLite quick start
        return
    meta = Product._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in columns)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in columns)
    sets = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns[1:])
    sql = (
        f"UPDATE {quote(meta.db_table)} AS p SET {sets} "  # noqa: S608 - names from the model
        f"FROM unnest({arrays}) AS v({names}) WHERE p.{quote(meta.pk.column)} = v.{quote(meta.pk.column)}"
    )
    params = [[f.get_db_prep_save(getattr(p, f.attname), connection) for p in products] for f in columns]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _write(plan: _Plan, progress: Callable[[int, int], None] | None) -> None:
    total, done = len(plan.new) + len(plan.changed), 0
    if progress:
        progress(0, total)
    now = timezone.now()
    fields = [*sorted(plan.changed_fields), "updated_at"]
    for product in plan.changed:
        product.updated_at = now
    for objects, write in (
        (plan.new, lambda batch: Product.objects.bulk_create(batch, batch_size=BATCH_SIZE)),
        (plan.changed, lambda batch: _update(batch, fields)),
    ):
        for start in range(0, len(objects), BATCH_SIZE):
            batch = objects[start : start + BATCH_SIZE]
            write(batch)
            done += len(batch)
            if progress:
                progress(done, total)


def products_import(
    rows: Sequence[Row], *, dry_run: bool = False, progress: Callable[[int, int], None] | None = None
) -> ImportResult:
    """Create or update (by SKU) every row, or none: ImportRejectedError lists
    every problem. ``dry_run`` validates and counts without writing;
    ``progress(done, total)`` is called as batches are written."""
    if not rows:
        raise _empty()
    if len(rows) > MAX_ROWS:
        raise _too_many()
    cleaned, errors = _validated(rows)
    try:
        with atomic(APP):
            existing = _existing({v["sku"] for v in cleaned.values()}, lock=not dry_run)
            errors += _missing_names(cleaned, existing)
            if errors:
                raise ImportRejectedError(errors)
            plan = _plan(cleaned, existing)
            if not dry_run:
                _write(plan, progress)
    except IntegrityError:
        # A product created meanwhile with one of the new SKUs (the rows found existing are locked).
        raise ImportConflictError() from None
    return ImportResult(
        created=len(plan.new),
        updated=len(plan.changed),
        unchanged=plan.unchanged,
        dry_run=dry_run,
        created_skus=tuple(p.sku for p in plan.new),
        updated_skus=tuple(p.sku for p in plan.changed),
    )
