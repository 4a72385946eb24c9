"""People and the API keys of systems that talk to yiwang."""

from __future__ import annotations

import copy
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from yiwang.core.refcache import ReferenceTable

from .roles import DISTRICT_WIDE, SEES_PERSONAL_DATA, UNIT_BOUND, Role


class User(AbstractUser):
    role = models.CharField("角色", max_length=16, choices=Role.choices, default=Role.CITIZEN, db_index=True)
    unit = models.ForeignKey(
        "org.Unit", verbose_name="所属单位", null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    display_name = models.CharField("姓名", max_length=64, blank=True)
    phone = models.CharField("手机", max_length=20, blank=True)

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role__in=sorted(r.value for r in UNIT_BOUND)) | models.Q(unit__isnull=False),
                name="unit_roles_have_unit",
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_district_wide(self) -> bool:
        return self.role in DISTRICT_WIDE or self.is_superuser

    @property
    def is_unit_bound(self) -> bool:
        return self.role in UNIT_BOUND

    @property
    def sees_personal_data(self) -> bool:
        return self.role in SEES_PERSONAL_DATA

    def has_role(self, roles) -> bool:
        return self.role in roles


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(models.Model):
    """A key for a system (Open311 app, city platform bridge, REST client).

    Only the SHA-256 of the key is stored; the key itself is shown once, at creation.
    Requests made with it act as ``user``.
    """

    name = models.CharField("名称", max_length=64, unique=True)
    prefix = models.CharField("前缀", max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="代表用户", on_delete=models.CASCADE, related_name="api_keys")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)

    class Meta:
        verbose_name = "API 密钥"
        verbose_name_plural = "API 密钥"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def generate(cls, *, name: str, user) -> tuple["ApiKey", str]:
        raw = "yw_" + secrets.token_urlsafe(32)
        key = cls.objects.create(name=name, prefix=raw[:10], key_hash=hash_key(raw), user=user)
        return key, raw

    @classmethod
    def authenticate(cls, raw: str) -> "ApiKey | None":
        digest = hash_key(raw)
        key = _recent_keys.get(digest, lambda keys: keys.filter(key_hash=digest).first())
        if key is None or not key.user.is_active:
            return None
        now = timezone.now()
        # Touch at most once a minute: a busy client must not turn every read into a write.
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            cls.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now  # on the kept row, on purpose: this process need not touch it again
        # Each request gets its own copies: nothing one request sets on its user leaks into the next.
        mine = copy.copy(key)
        mine.user = copy.copy(key.user)
        return mine


# API keys looked up in the last few seconds, in this process. A system client sends many
# requests a second, and looking its key up (key, user and unit in one join) was about a
# sixth of an intake's CPU (bench/intake_load.py). The price: revoking a key or
# deactivating its user reaches the other processes only when their table empties,
# after API_KEY_CACHE_SECONDS (0 turns the cache off). Saving a key or a user through
# the ORM empties it in the process that saved it (accounts/apps.py); a queryset
# update() does not.
_recent_keys = ReferenceTable(ApiKey.objects.select_related("user", "user__unit").filter(revoked_at__isnull=True),
                              ttl=lambda: settings.API_KEY_CACHE_SECONDS)
