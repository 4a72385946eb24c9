"""Writes on people and API keys."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from yiwang.core.audit import audit
from yiwang.core.errors import Invalid
from yiwang.core.models import AuditEntry

from .models import ApiKey
from .roles import Role


def system_account(username: str, *, role: str, display_name: str, is_active: bool = True):
    """The account an automatic actor is recorded under (web portal, site codes, smart dispatch).

    Made on first use; its password is unusable, so nobody signs in as it.
    """
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"role": role, "display_name": display_name, "is_active": is_active})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def create_api_key(*, name: str, username: str | None = None, acting_user=None) -> tuple[ApiKey, str]:
    """A new key; without ``username`` a system account ``api-NAME`` is made for it."""
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise Invalid("密钥名称不能为空且不超过 64 个字符", field="name")
    User = get_user_model()
    with transaction.atomic():
        if ApiKey.objects.filter(name=name).exists():
            raise Invalid(f"已存在名为「{name}」的密钥", field="name")
        if username:
            user = User.objects.filter(username=username).first()
            if user is None:
                raise Invalid(f"用户「{username}」不存在", field="user")
        else:
            user, _ = User.objects.get_or_create(
                username=f"api-{name}"[:150], defaults={"role": Role.SYSTEM, "display_name": name}
            )
            user.set_unusable_password()
            user.save(update_fields=["password"])
        key, raw = ApiKey.generate(name=name, user=user)
        audit(actor=acting_user, action=AuditEntry.Action.CREATE, obj=key, summary=f"API 密钥 {name} → {user.username}")
    return key, raw
