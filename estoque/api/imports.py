"""POST /api/v1/estoque/products/import/: the bulk product import (estoque.imports).

The view reads the body as JSON, CSV or a multipart ``file`` upload, at most
``imports.MAX_BYTES`` of it (413 beyond), and hands the rows to the service.
Every problem of every row comes back in one 400, nothing written."""

from django.utils.http import parse_header_parameters
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from erp.access import ANY_ROLE, Access
from erp.exceptions import PayloadTooLarge
from estoque import imports

CSV_MEDIA_TYPE = "text/csv"


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        _("The body is larger than %(mb)d MB; split the file.") % {"mb": imports.MAX_BYTES // (1024 * 1024)}
    )


class Upload:
    """The raw file and how to read it ("csv" or "json")."""

    def __init__(self, kind: str, data: bytes):
        self.kind, self.data = kind, data


class _RawParser(BaseParser):
    """Reads the body unparsed (the service parses it), refusing more than MAX_BYTES
    before reading it all and any charset but UTF-8."""

    kind = ""

    def parse(self, stream, media_type=None, parser_context=None):
        _media, params = parse_header_parameters(media_type or "")
        if params.get("charset", "utf-8").lower().replace("_", "-") not in ("utf-8", "utf8"):
            raise exceptions.ParseError(_("Send the file as UTF-8 (charset=utf-8)."))
        request = (parser_context or {}).get("request")
        length = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
        if length.isdigit() and int(length) > imports.MAX_BYTES:
            raise _too_large()  # before reading any of it
        data = stream.read(imports.MAX_BYTES + 1)
        if len(data) > imports.MAX_BYTES:
            raise _too_large()
        return Upload(self.kind, data)


class ImportJSONParser(_RawParser):
    media_type = "application/json"
    kind = "json"


class ImportCSVParser(_RawParser):
    media_type = CSV_MEDIA_TYPE
    kind = "csv"


def _uploaded(files) -> Upload:
    upload = files.get("file")
    if upload is None:
        raise imports.ImportRejectedError(
            [
                imports.RowError(
                    row=None, field="file", code="required", message=_("Send the file in a `file` field.")
                )
            ],
            code="required",
        )
    if upload.size > imports.MAX_BYTES:
        raise _too_large()
    json_file = upload.name.lower().endswith(".json") or upload.content_type == "application/json"
    return Upload("json" if json_file else "csv", upload.read())


def _upload(request) -> Upload:
    data = request.data
    if isinstance(data, Upload):
        return data
    if request.content_type.startswith("multipart/"):
        return _uploaded(request.FILES)
    # No body at all: DRF hands an empty dict to every media type.
    return Upload("csv" if request.content_type.startswith(CSV_MEDIA_TYPE) else "json", b"")


# --- Schema -----------------------------------------------------------------------------


class ImportProductSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64, help_text=gettext_lazy("Matches the product to update."))
    name = serializers.CharField(
        max_length=200, required=False, help_text=gettext_lazy("Required for a new SKU.")
    )
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    unit = serializers.CharField(max_length=16, required=False, help_text=gettext_lazy('Default "un".'))
    reorder_point = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0, required=False)
    reorder_quantity = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0, required=False)
    is_active = serializers.BooleanField(required=False, help_text=gettext_lazy("Default true."))


class ImportRequestSerializer(serializers.Serializer):
    products = ImportProductSerializer(many=True, allow_empty=False, max_length=imports.MAX_ROWS)


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=gettext_lazy("A .csv or .json file."))


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField(help_text=gettext_lazy("Rows equal to the stored product."))


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}  # erp.schema adds the component
IMPORT_PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details; nothing was imported.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "error_count": {"type": "integer"},
        "errors": {
            "type": "array",
            "description": f"At most {imports.MAX_REPORTED_ERRORS} (error_count says how many there were).",
            "items": {
                "type": "object",
                "properties": {
                    "row": {
                        "type": "integer",
                        "nullable": True,
                        "description": "1 = the first data row (a CSV header is not a row); "
                        "null for the file as a whole (its header, its size, its shape).",
                    },
                    "field": {"type": "string", "nullable": True},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["row", "field", "code", "message"],
            },
        },
    },
    "required": ["type", "title", "status", "detail", "errors"],
}

DESCRIPTION = f"""Creates or updates (by SKU) up to {imports.MAX_ROWS:,} products, all or none.

Send JSON `{{"products": [{{"sku": ..., "name": ...}}, ...]}}`, a CSV (`text/csv`, UTF-8,
optional BOM, comma-separated, a header row naming the columns) or a multipart
upload with the file in a `file` field (`.json` by name, else CSV).

Every row is checked before anything is written; any problem answers 400 listing
every problem as `errors[{{row, field, code, message}}]`, and nothing is imported.
Rows count from 1, the first data row (a CSV header is not a row; blank lines are
skipped but counted); `row` is null for the file as a whole. Columns and fields are
`{", ".join(imports.FIELDS)}`; `sku` is required, `name` only for a new SKU. An unknown
column is refused (typos are caught), and so are `on_hand`, `stock_value`,
`average_cost` and `id`: the import never changes stock or valuation. A SKU
repeated in the file is an error on each of its rows.

An update sets only the fields given (JSON: the keys of the row; CSV: the file's
columns) and keeps the rest, so `sku,reorder_point` changes only reorder points.
In a CSV, a present column sets every row: an empty cell is an empty value (fine for
`description`, an error elsewhere). `is_active` takes true/false, 1/0 or yes/no;
decimals have a dot and at most 3 places, not negative. Answers `created`,
`updated` (rows that changed a product) and `unchanged` (rows equal to it).
Bodies over {imports.MAX_BYTES // (1024 * 1024)} MB → 413; other media types → 415."""


@extend_schema(
    tags=["estoque"],
    summary="Import products (create or update by SKU)",
    description=DESCRIPTION,
    request={
        "application/json": ImportRequestSerializer,
        CSV_MEDIA_TYPE: {"type": "string", "example": "sku,name,reorder_point\nA-1,Bolt,10\n"},
        "multipart/form-data": ImportUploadSerializer,
    },
    responses={
        200: ImportResultSerializer,
        (400, "application/problem+json"): OpenApiResponse(
            response=IMPORT_PROBLEM,
            description="Some rows are bad, or the file cannot be read; nothing was imported.",
            examples=[
                OpenApiExample(
                    "Bad rows",
                    value={
                        "type": "urn:erp:problem:import_invalid",
                        "title": "Bad Request",
                        "status": 400,
                        "detail": "1 row has errors; nothing was imported. "
                        "First: row 12, reorder_point: Must not be negative.",
                        "code": "import_invalid",
                        "error_count": 1,
                        "errors": [
                            {
                                "row": 12,
                                "field": "reorder_point",
                                "code": "min_value",
                                "message": "Must not be negative.",
                            }
                        ],
                    },
                )
            ],
        ),
        (413, "application/problem+json"): OpenApiResponse(
            response=PROBLEM_REF, description="The body is too large."
        ),
        (415, "application/problem+json"): OpenApiResponse(
            response=PROBLEM_REF, description="Not JSON, CSV or multipart."
        ),
    },
)
class ProductImport(APIView):
    access = Access(read=ANY_ROLE, write=("warehouse",))
    parser_classes = (ImportJSONParser, ImportCSVParser, MultiPartParser)

    def post(self, request, **kwargs):
        upload = _upload(request)
        rows = imports.read_file(upload.data, kind=upload.kind)
        result = imports.products_import(rows)
        return Response(ImportResultSerializer(result).data)
