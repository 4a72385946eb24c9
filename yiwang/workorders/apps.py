from django.apps import AppConfig


class WorkordersConfig(AppConfig):
    name = "yiwang.workorders"
    label = "workorders"
    verbose_name = "工单"

    def ready(self):
        from . import search_index  # noqa: F401  (registers its intake follower)
