"""A week of hand-built orders whose KPIs can be checked by hand (see ``kpi_world``)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from yiwang.core.calendar import SHANGHAI
from yiwang.demo import factories
from yiwang.workorders import services, sla
from yiwang.workorders.models import AppealType


def at(month, day, hour, minute=0):
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def kpi_world(world):
    """Six orders registered on Monday 2026-11-23 and one a week later.

    All but F are on 曲阳路 and routed to 曲阳路街道办事处 (``world.street_office``),
    dispatched at 10:00 (sign-for due 14:00, reply due Mon 7 Dec 10:00):

    ====  ======================================================  ====  =====  ====  ====  ======  ======
    order what happens                                             sign  close  sat.  res.  return  repeat
    ====  ======================================================  ====  =====  ====  ====  ======  ======
    A     signed 11:00, replied 24th, 满意 + resolved               yes   yes    yes   yes   no      no
    B     sign_overdue at 15:00, signed 15:30, replied, 基本满意    no    yes    yes   no    no      no
    C     signed, red on 7 Dec, replied 8 Dec (late), 不满意        yes   no     no    no    no      no
    D     returned by the office, re-dispatched to SCJG, unsigned  no*   —      —     —     yes     no
    E     merged into A before dispatch                            —     —      —     —     —       yes
    F     consultation answered directly, on 欧阳路                 —     —      —     —     —       no
    G     registered Mon 30 Nov, nothing else                      —     —      —     —     —       no
    ====  ======================================================  ====  =====  ====  ====  ======  ======

    (*) D is still unsigned when the 7 Dec sweep runs: sign_overdue.
    """
    w = world
    mk = lambda **kw: factories.make_order(w.operator, **kw)  # noqa: E731
    o = SimpleNamespace(world=w)
    o.a, o.b, o.c, o.d, o.e = (mk(now=at(11, 23, 9, i), title=f"路灯不亮 {i}") for i in range(5))
    o.f = mk(now=at(11, 23, 9, 30), appeal_type=AppealType.CONSULTATION, street=factories.street("欧阳路"),
             title="咨询")
    services.answer_directly(o.f, actor=w.operator, answer="已当场解答", now=at(11, 23, 9, 31))
    for order in (o.a, o.b, o.c, o.d):
        services.dispatch(order, actor=w.dispatcher, now=at(11, 23, 10))
    services.sign(o.a, actor=w.handler, now=at(11, 23, 11))
    services.sign(o.c, actor=w.handler, now=at(11, 23, 11))
    services.request_return(o.d, actor=w.handler, reason_code="not_our_duty", reason="属市场监管职责", now=at(11, 23, 11))
    services.decide_return(o.d, actor=w.dispatcher, approve=True, now=at(11, 23, 11, 30))
    services.dispatch(o.d, actor=w.dispatcher, lead_unit=w.other_unit, now=at(11, 23, 12))
    services.merge(o.e, actor=w.operator, master=o.a, now=at(11, 23, 12))

    sla.sweep(at(11, 23, 15))  # B is the only dispatched order past its sign-for deadline
    services.sign(o.b, actor=w.handler, now=at(11, 23, 15, 30))
    for order in (o.a, o.b):
        services.reply(order, actor=w.handler, text="已修复", now=at(11, 24, 15))
        services.review_reply(order, actor=w.supervisor, approve=True, now=at(11, 24, 16))
    services.follow_up(o.a, actor=w.operator, satisfaction="satisfied", resolved=True, now=at(11, 25, 10))
    services.follow_up(o.b, actor=w.operator, satisfaction="basically", resolved=False, now=at(11, 25, 10))

    sla.sweep(at(12, 7, 11))  # C red (due 10:00); D sign_overdue (due 23 Nov 16:00)
    services.reply(o.c, actor=w.handler, text="已协调", now=at(12, 8, 10))
    services.review_reply(o.c, actor=w.supervisor, approve=True, now=at(12, 8, 11))
    services.follow_up(o.c, actor=w.operator, satisfaction="dissatisfied", resolved=False, now=at(12, 9, 10))

    o.g = mk(now=at(11, 30, 9), title="噪音扰民")
    return o
