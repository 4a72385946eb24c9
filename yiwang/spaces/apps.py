from django.apps import AppConfig


class SpacesConfig(AppConfig):
    name = "yiwang.spaces"
    label = "spaces"
    verbose_name = "随申查·地下空间"
