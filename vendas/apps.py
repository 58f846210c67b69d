from django.apps import AppConfig


class VendasConfig(AppConfig):
    name = "vendas"
    verbose_name = "Vendas (sales)"
