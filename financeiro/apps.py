from django.apps import AppConfig


class FinanceiroConfig(AppConfig):
    name = "financeiro"
    verbose_name = "Financeiro (accounting)"
