from django.apps import AppConfig


class SmartDispatchConfig(AppConfig):
    name = "yiwang.smartdispatch"
    label = "smartdispatch"
    verbose_name = "智能派单"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the intake and return hooks)
