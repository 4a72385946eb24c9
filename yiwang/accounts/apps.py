from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class AccountsConfig(AppConfig):
    name = "yiwang.accounts"
    label = "accounts"
    verbose_name = "用户与权限"

    def ready(self):
        from .models import ApiKey, User, _recent_keys

        # A key revoked or a user deactivated in this process is refused at once here
        # (other processes: when their table empties, see models._recent_keys).
        for model in (ApiKey, User):
            post_save.connect(_recent_keys.clear, sender=model, dispatch_uid=f"forget-api-keys-save-{model.__name__}")
            post_delete.connect(_recent_keys.clear, sender=model, dispatch_uid=f"forget-api-keys-delete-{model.__name__}")
