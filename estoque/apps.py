from django.apps import AppConfig


class EstoqueConfig(AppConfig):
    name = "estoque"
    verbose_name = "Estoque (inventory)"
