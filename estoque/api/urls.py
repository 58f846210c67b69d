from django.urls import path
from rest_framework.routers import SimpleRouter

from estoque.api import imports, views

router = SimpleRouter(use_regex_path=True)
router.register("products", views.ProductViewSet, basename="estoque-product")
router.register("warehouses", views.WarehouseViewSet, basename="estoque-warehouse")

urlpatterns = [
    # Before the router's products/{id}/, which must never see "import".
    path("products/import/", imports.ProductImport.as_view(), name="estoque-product-import"),
    path("stock/", views.StockLevelList.as_view(), name="estoque-stock"),
    path("moves/", views.StockMoveList.as_view(), name="estoque-moves"),
    path("reservations/", views.ReservationList.as_view(), name="estoque-reservations"),
    path("receipts/", views.ReceiptCreate.as_view(), name="estoque-receipts"),
    path("adjustments/", views.AdjustmentCreate.as_view(), name="estoque-adjustments"),
    path("transfers/", views.TransferCreate.as_view(), name="estoque-transfers"),
    *router.urls,
]
