from rest_framework.routers import SimpleRouter

from vendas.api import views

router = SimpleRouter(use_regex_path=True)
router.register("customers", views.CustomerViewSet, basename="vendas-customer")
router.register("prices", views.PriceViewSet, basename="vendas-price")
router.register("orders", views.OrderViewSet, basename="vendas-order")

urlpatterns = router.urls
