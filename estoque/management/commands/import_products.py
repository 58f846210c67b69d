"""``manage.py import_products FILE [--dry-run]``: the bulk product import
(estoque.imports, the same service as POST /api/v1/estoque/products/import/)
from a CSV or JSON file. Every bad row is printed to stderr and the command
exits non-zero with nothing written."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from estoque import imports

BAR_WIDTH = 30


def _plain(text: str) -> str:
    return text


class Command(BaseCommand):
    help = (
        f"Create or update (by SKU) up to {imports.MAX_ROWS:,} products from a CSV or JSON file "
        '({"products": [...]}), all or none: every row is validated first and any problem is printed '
        "with its row number (1 = the first row after the CSV header), nothing written."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The .csv or .json file.")
        parser.add_argument(
            "--format",
            choices=("csv", "json"),
            help="How to read the file (default: by its extension, .json or else CSV).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate and list what would be created and updated; write nothing.",
        )

    def handle(self, *args, file: Path, format: str | None, dry_run: bool, verbosity: int, **options):
        kind = format or ("json" if file.suffix.lower() == ".json" else "csv")
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(reason)s") % {"file": file, "reason": exc}
            ) from None
        try:
            rows = imports.read_file(data, kind=kind)
            result = imports.products_import(
                rows, dry_run=dry_run, progress=None if dry_run or verbosity < 1 else self._progress
            )
        except imports.ImportRejectedError as exc:
            for error in exc.row_errors:
                self.stderr.write(self._describe(error))
            raise CommandError(exc.message) from None
        except imports.ImportConflictError as exc:
            raise CommandError(exc.message) from None
        if dry_run and verbosity >= 1:
            for sku in result.created_skus:
                self.stdout.write(f"create {sku}")
            for sku in result.updated_skus:
                self.stdout.write(f"update {sku}")
        counts = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
        summary = (
            _("Dry run, nothing written: would create %(created)d, update %(updated)d, leave %(unchanged)d.")
            if dry_run
            else _("Created %(created)d, updated %(updated)d, unchanged %(unchanged)d.")
        )
        self.stdout.write(self.style.SUCCESS(summary % counts))

    @staticmethod
    def _describe(error: imports.RowError) -> str:
        where = _("row %(row)d") % {"row": error.row} if error.row is not None else _("file")
        if error.field:
            where = f"{where}, {error.field}"
        return f"{where}: {error.message} ({error.code})"

    def _progress(self, done: int, total: int) -> None:
        if total == 0:
            return
        if self.stderr.isatty():
            filled = BAR_WIDTH * done // total
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            end = "\n" if done == total else ""
            self.stderr.write(f"\r[{bar}] {done:,}/{total:,}", ending=end, style_func=_plain)
        else:
            # Not a terminal (a log, a pipe): one line per batch, no carriage returns.
            self.stderr.write(
                _("%(done)s/%(total)s products written") % {"done": f"{done:,}", "total": f"{total:,}"},
                style_func=_plain,
            )
