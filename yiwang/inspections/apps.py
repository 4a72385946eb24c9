from django.apps import AppConfig


class InspectionsConfig(AppConfig):
    name = "yiwang.inspections"
    label = "inspections"
    verbose_name = "随申查·检查"
