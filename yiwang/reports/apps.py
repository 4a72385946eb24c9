from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "yiwang.reports"
    label = "reports"
    verbose_name = "分析报告"
