from django.apps import AppConfig


class WorkordersConfig(AppConfig):
    name = "yiwang.workorders"
    label = "workorders"
    verbose_name = "工单"
