from django.apps import AppConfig


class ClustersConfig(AppConfig):
    name = "yiwang.clusters"
    label = "clusters"
    verbose_name = "类案治理"
    default_auto_field = "django.db.models.BigAutoField"
