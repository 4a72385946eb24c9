"""The citizen side's writes and checks: filing a web appeal, the verification code, its rate limit.

The work order itself is written by :mod:`yiwang.workorders.services`; this
module adds what only the public pages need around it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from yiwang.accounts.roles import Role
from yiwang.accounts.services import system_account
from yiwang.core.errors import DomainError, NotFound
from yiwang.workorders import services as workorders
from yiwang.workorders.models import Attachment, Channel, WorkOrder

from .models import Receipt
from .photos import Photo

PORTAL_USERNAME = "web-portal"
# Without 0/O, 1/I/L: read aloud over the phone or copied from a screen without mistakes.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8  # 31^8 ≈ 8.5e11 codes; with 5 tries per 15 minutes, guessing one takes millennia
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
# Per client address, across all numbers: stops walking the (sequential) order numbers.
MAX_FAILURES_PER_CLIENT = 30


class RateLimited(DomainError):
    code = "rate_limited"
    http_status = 429


@dataclass
class Filed:
    order: WorkOrder
    code: str | None  # None when the same form was submitted again: the code was shown the first time
    created: bool


def portal_user():
    """The system account web appeals are registered by (no password: nobody signs in as it)."""
    return system_account(PORTAL_USERNAME, role=Role.SYSTEM, display_name="市民网上诉求")


def file_appeal(intake: workorders.Intake, photos: list[Photo], *, form_token: str, now=None,
                channel: str = Channel.WEB, portal=None, form_scope: str = "web-form") -> Filed:
    """Register a public appeal with its photos and a new verification code, all or nothing.

    ``form_token`` is the hidden token of the form: a second submission of the same
    form returns the first order (no second order, no second code). Other public
    forms (the site-code page) pass their channel, account and token scope.
    """
    now = now or timezone.now()
    portal = portal or portal_user()
    with transaction.atomic():
        order, created = workorders.register(intake, actor=portal, channel=channel,
                                             idempotency_key=f"{form_scope}:{form_token}", now=now)
        if not created:
            return Filed(order, None, False)
        code = new_code()
        Receipt.objects.create(order=order, code_hash=hash_code(order, code), created_at=now)
        for photo in photos:
            attachment = Attachment(order=order, content_type=photo.content_type, size=len(photo.content),
                                    width=photo.width, height=photo.height, uploaded_by=portal, uploaded_at=now)
            # Saving the file writes it to disk before the row; a rolled-back row leaves an
            # orphan file at a random name that nothing refers to, never a row without a file.
            attachment.file.save(f"photo{photo.suffix}", ContentFile(photo.content), save=False)
            attachment.save()
    return Filed(order, code, True)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return "".join((code or "").split()).upper()


def hash_code(order: WorkOrder, code: str) -> str:
    """HMAC-SHA256 keyed by SECRET_KEY and bound to the order.

    Not a slow password hash: the code is random (about 40 bits), not chosen by a
    person, so a dictionary does not help; the key makes a copy of the table alone
    useless, and the online rate limit below is what stops guessing.
    """
    return salted_hmac("yiwang.citizen.receipt", f"{order.pk}:{normalise_code(code)}", algorithm="sha256").hexdigest()


def open_receipt(number: str, code: str, *, client: str = "", now=None) -> WorkOrder:
    """The order behind a receipt number and verification code, or a coded error.

    After MAX_FAILURES wrong codes for one number within FAILURE_WINDOW, that number
    is locked for the rest of the window, even for the right code; an address with
    too many failures (wrong codes or unknown numbers) is locked the same way.
    """
    now = now or timezone.now()
    number = (number or "").strip().upper()
    client_key = f"citizen:fail:{client}" if client else None
    if client_key and (cache.get(client_key) or 0) >= MAX_FAILURES_PER_CLIENT:
        raise RateLimited("查询错误次数过多，请 15 分钟后再试")
    with transaction.atomic():
        receipt = (Receipt.objects.select_for_update().select_related("order")
                   .filter(order__number=number).first()) if number else None
        if receipt is None:
            _count_client_failure(client_key)
            raise NotFound("未找到该受理编号，请核对后重新输入", field="number")
        if receipt.first_failed_at and now - receipt.first_failed_at >= FAILURE_WINDOW:
            receipt.failed_attempts = 0  # a new window; the row is rewritten below either way
        if receipt.failed_attempts >= MAX_FAILURES:
            raise RateLimited("该受理编号查询码错误次数过多，请 15 分钟后再试")
        if constant_time_compare(receipt.code_hash, hash_code(receipt.order, code)):
            if receipt.first_failed_at is not None or receipt.failed_attempts:
                Receipt.objects.filter(pk=receipt.pk).update(failed_attempts=0, first_failed_at=None)
            return receipt.order
        _count_failure(receipt, now)
    _count_client_failure(client_key)
    left = MAX_FAILURES - receipt.failed_attempts
    if left <= 0:
        raise RateLimited("该受理编号查询码错误次数过多，请 15 分钟后再试")
    raise WrongCode(f"查询码不正确，还可尝试 {left} 次", field="code")


class WrongCode(DomainError):
    code = "wrong_code"
    http_status = 400


def _count_failure(receipt: Receipt, now) -> None:
    if receipt.failed_attempts == 0:
        Receipt.objects.filter(pk=receipt.pk).update(failed_attempts=1, first_failed_at=now)
    else:
        Receipt.objects.filter(pk=receipt.pk).update(failed_attempts=F("failed_attempts") + 1)
    receipt.failed_attempts += 1


def _count_client_failure(client_key: str | None) -> None:
    # Best effort per process with the default local-memory cache; the per-number
    # limit above lives in the database and holds across all web workers.
    if not client_key:
        return
    cache.add(client_key, 0, timeout=int(FAILURE_WINDOW.total_seconds()))
    try:
        cache.incr(client_key)
    except ValueError:  # expired between add and incr
        cache.set(client_key, 1, timeout=int(FAILURE_WINDOW.total_seconds()))


def rate(order: WorkOrder, *, satisfaction: str, resolved: bool, note: str = "", now=None):
    """The appellant's rating, recorded by the engine as this round's follow-up."""
    return workorders.rate_by_appellant(order, actor=portal_user(), satisfaction=satisfaction, resolved=resolved,
                                        note=note, now=now)
