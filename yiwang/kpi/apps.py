from django.apps import AppConfig


class KpiConfig(AppConfig):
    name = "yiwang.kpi"
    label = "kpi"
    verbose_name = "绩效与大屏"
