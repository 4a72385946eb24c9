from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "yiwang.exchange"
    label = "exchange"
    verbose_name = "Excel 导入导出"
