from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "yiwang.alerts"
    label = "alerts"
    verbose_name = "突发预警"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (queues a check when an order is registered)
