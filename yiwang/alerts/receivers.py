"""How new orders reach the detector.

In production the intake follower ``jobs.follow`` (run by ``yiwang worker``, see
``workorders.followers``) notices new orders within seconds; the intake request does
nothing. With ``ALERTS_INLINE`` (tests, a demo without the worker) the intake signal
runs the check at once, after the intake has committed.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.dispatch import receiver

from yiwang.workorders import followers
from yiwang.workorders.signals import order_registered

from . import jobs

log = logging.getLogger(__name__)

followers.follower("alerts-check")(jobs.follow)


@receiver(order_registered, dispatch_uid="alerts-check-on-register")
def on_order_registered(sender, order, **kwargs) -> None:
    if not getattr(settings, "ALERTS_INLINE", False):
        return
    try:
        jobs.run_check()
    except Exception:  # intake must never fail because of the detector
        log.exception("Could not run the burst check after order %s", order.pk)
