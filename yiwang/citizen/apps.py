from django.apps import AppConfig


class CitizenConfig(AppConfig):
    name = "yiwang.citizen"
    verbose_name = "市民端"
    default_auto_field = "django.db.models.BigAutoField"
