import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yiwang.alerts import detector, jobs, services
from yiwang.alerts.models import Alert, AlertAction, AlertStatus, Kind, OrderTopic
from yiwang.demo import factories
from yiwang.workorders.models import Notification

from .conftest import QUIET_TEXT, QUIET_TITLE, at

pytestmark = pytest.mark.django_db


def burst(world, street, start, n=4, *, minutes=10, title=QUIET_TITLE, content=QUIET_TEXT, same_caller=False,
          category=None):
    """n orders registered through the engine, ``minutes`` apart, each from another caller."""
    return [factories.make_order(world.operator, now=start + dt.timedelta(minutes=minutes * k), street=street,
                                 title=title, content=content, category=category,
                                 appellant_phone="13700000000" if same_caller else f"1370000{k:04d}")
            for k in range(n)]


def test_holiday_burst_alerts_against_the_rest_day_baseline(world, street, workday_history):
    orders = burst(world, street, at(2025, 10, 2, 10, 0))  # 国庆 holiday: the street is quiet on rest days
    now = orders[-1].created_at
    assert jobs.run_check(now=now) == 1
    alert = Alert.objects.get()
    assert (alert.kind, alert.key, alert.label) == (Kind.STREET, str(street.pk), street.name)
    assert alert.workday is False and alert.window_hours == 1
    assert alert.observed == 4 and alert.callers == 4
    assert alert.daily_rate == pytest.approx(detector.RULE.floor)  # no orders on any rest day of the baseline
    assert alert.expected < 0.1 and alert.p_value < detector.RULE.alpha / len(detector.WINDOWS)
    assert set(alert.orders.values_list("pk", flat=True)) == {o.pk for o in orders}
    assert alert.raised_at == now and alert.first_order_at == orders[0].created_at


def test_same_orders_on_a_working_day_are_normal(world, street, workday_history):
    orders = burst(world, street, at(2025, 9, 30, 10, 0))  # a Tuesday: 12 a day is the street's normal
    assert jobs.run_check(now=orders[-1].created_at) == 0
    assert not Alert.objects.exists()


def test_adjusted_working_day_uses_the_working_day_baseline(world, street, workday_history):
    # 2025-09-28 is a Sunday but a working day (调休): the working-day baseline applies, so no alert,
    # while the Saturday before it is a rest day and the same burst alerts.
    sunday = burst(world, street, at(2025, 9, 28, 10, 0))
    assert jobs.run_check(now=sunday[-1].created_at) == 0
    findings_on_saturday = detector.find(at(2025, 9, 27, 12, 0))
    assert findings_on_saturday == []  # nothing happened that Saturday
    saturday = burst(world, street, at(2025, 9, 27, 15, 0))
    assert jobs.run_check(now=saturday[-1].created_at) == 1
    assert Alert.objects.get().workday is False


def test_one_callers_repeated_calls_are_not_a_burst(world, street, workday_history):
    orders = burst(world, street, at(2025, 10, 2, 10, 0), n=5, same_caller=True)
    assert jobs.run_check(now=orders[-1].created_at) == 0


def test_streets_need_recorded_history_before_they_alert(world, street):
    orders = burst(world, street, at(2025, 10, 2, 10, 0), n=6)
    assert jobs.run_check(now=orders[-1].created_at) == 0  # no order older than the warm-up: every street looks new


def test_repeated_checks_grow_one_alert_instead_of_raising_duplicates(world, street, workday_history):
    first = burst(world, street, at(2025, 10, 2, 10, 0))
    assert jobs.run_check(now=first[-1].created_at) == 1
    assert jobs.run_check(now=first[-1].created_at + dt.timedelta(minutes=1)) == 0  # the minute schedule
    more = burst(world, street, at(2025, 10, 2, 10, 45), n=3)
    for order in more:
        assert jobs.run_check(now=order.created_at) == 0
    alert = Alert.objects.get()
    assert alert.orders.count() == 7 and alert.observed >= 6
    assert alert.last_order_at == more[-1].created_at
    assert list(alert.actions.values_list("action", flat=True)) == ["raise", "grow", "grow", "grow"]
    # A day later the burst has ended; a new burst on the same street is a new alert.
    later = burst(world, street, at(2025, 10, 4, 15, 0))
    assert jobs.run_check(now=later[-1].created_at) == 1
    assert Alert.objects.count() == 2
    alert.refresh_from_db()
    assert alert.ongoing is False and alert.actions.filter(action=AlertAction.Action.END).exists()


def test_a_check_that_finds_the_same_burst_again_writes_nothing(world, street, workday_history):
    orders = burst(world, street, at(2025, 10, 2, 10, 0))
    assert jobs.run_check(now=orders[-1].created_at) == 1
    alert = Alert.objects.get()
    with CaptureQueriesContext(connection) as queries:
        assert jobs.run_check(now=orders[-1].created_at + dt.timedelta(minutes=1)) == 0
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].startswith(("INSERT", "UPDATE")) and '"alerts_alert' in q["sql"]]
    assert writes == []  # its orders are linked already, and its evidence is no stronger
    more = burst(world, street, at(2025, 10, 2, 10, 45), n=1)
    assert jobs.run_check(now=more[0].created_at) == 0
    assert alert.orders.count() == 5
    assert alert.actions.get(action=AlertAction.Action.GROW).data["added"] == 1


def test_a_place_named_by_callers_in_different_streets_is_a_topic_alert(world, street, other_street,
                                                                        workday_history):
    start = at(2025, 9, 30, 14, 0)  # a working day: neither street is unusual
    orders = [factories.make_order(world.operator, now=start + dt.timedelta(minutes=12 * k),
                                   street=street if k % 2 else other_street, category=None,
                                   title="梅岭小区自来水发黄", content=f"梅岭小区今天自来水发黄有异味（第{k}栋）",
                                   appellant_phone=f"1360000{k:04d}") for k in range(4)]
    assert jobs.run_check(now=orders[-1].created_at) == 1
    alert = Alert.objects.get()
    assert (alert.kind, alert.key, alert.label) == (Kind.TOPIC, "梅岭小区", "梅岭小区")
    assert OrderTopic.objects.filter(name="梅岭小区").count() == 4


def test_one_burst_seen_by_street_category_and_topic_is_one_alert(world, street, workday_history):
    category = factories.category("城乡建设/城市建设和市政管理")
    orders = burst(world, street, at(2025, 10, 2, 10, 0), n=5, category=category, title="梅岭小区自来水发黄",
                   content="梅岭小区今天自来水发黄有异味")
    assert jobs.run_check(now=orders[-1].created_at) == 1
    alert = Alert.objects.get()
    also = {(a["kind"], a["key"]) for a in alert.detail["also"]}
    assert also and also <= {(Kind.STREET, str(street.pk)), (Kind.CATEGORY, str(category.pk)),
                             (Kind.TOPIC, "梅岭小区")} - {(alert.kind, alert.key)}


def test_duty_officers_are_notified_on_the_order_that_tipped_it(world, street, workday_history):
    orders = burst(world, street, at(2025, 10, 2, 10, 0))
    jobs.run_check(now=orders[-1].created_at)
    alert = Alert.objects.get()
    notes = Notification.objects.filter(message__startswith=f"【突发预警#{alert.pk}】")
    assert set(notes.values_list("role", flat=True)) == {"supervisor", "dispatcher"}
    assert {n.order_id for n in notes} == {orders[-1].pk}
    assert street.name in notes[0].message and "倍" in notes[0].message


def test_registering_an_order_runs_the_check_through_the_signal(world, street, workday_history, settings,
                                                               django_capture_on_commit_callbacks):
    settings.ALERTS_INLINE = True
    # The check reads the clock; the burst must be recent for it.
    from django.utils import timezone

    now = timezone.now()
    history_end = at(2025, 10, 9)
    assert now > history_end
    with django_capture_on_commit_callbacks(execute=True):
        orders = [factories.make_order(world.operator, now=now - dt.timedelta(minutes=5 * (5 - k)), street=street,
                                       category=None, title="梅岭小区自来水发黄", content="梅岭小区今天自来水发黄",
                                       appellant_phone=f"1350000{k:04d}") for k in range(5)]
    alert = Alert.objects.get()
    assert alert.kind in {Kind.STREET, Kind.TOPIC} and alert.orders.count() == 5  # one alert for the burst
    assert alert.status == AlertStatus.OPEN
    assert {o.pk for o in orders} == set(alert.orders.values_list("pk", flat=True))


def test_the_follower_checks_when_orders_arrived_and_at_most_every_interval(world, street, settings):
    settings.ALERTS_INLINE = False
    from django.utils import timezone

    from yiwang.alerts.models import DetectorState

    now = timezone.now()
    assert jobs.follow(now=now) == 0  # no orders yet
    factories.make_order(world.operator, now=now, street=street, title="梅岭小区自来水发黄", content="梅岭小区今天自来水发黄")
    assert jobs.follow(now=now) == 1
    assert OrderTopic.objects.count() == 1 and DetectorState.objects.get().last_run_at == now
    factories.make_order(world.operator, now=now, street=street, title="梅岭小区自来水发黄", content="还是发黄")
    assert jobs.follow(now=now + jobs.FOLLOW_INTERVAL / 2) == 0  # too soon after the last check
    assert jobs.follow(now=now + jobs.FOLLOW_INTERVAL) == 1
    assert jobs.follow(now=now + 3 * jobs.FOLLOW_INTERVAL) == 0  # nothing new since


def test_the_follower_waits_longer_after_a_long_check(world, street, settings):
    settings.ALERTS_INLINE = False
    from django.utils import timezone

    from yiwang.alerts.models import DetectorState

    now = timezone.now()
    factories.make_order(world.operator, now=now, street=street, title="梅岭小区自来水发黄", content="梅岭小区今天自来水发黄")
    DetectorState.objects.update_or_create(pk=1, defaults={"last_run_at": now, "last_run_ms": 3000})
    # A check that took 3 s: the next one comes PACE x 3 s later, not after FOLLOW_INTERVAL (15 s).
    assert jobs.follow(now=now + jobs.FOLLOW_INTERVAL) == 0
    assert jobs.follow(now=now + dt.timedelta(seconds=3 * jobs.PACE)) == 1
    DetectorState.objects.update(last_run_at=now, last_run_ms=40)  # a quick one: FOLLOW_INTERVAL again
    factories.make_order(world.operator, now=now, street=street, title="梅岭小区自来水发黄", content="还是发黄")
    assert jobs.follow(now=now + jobs.FOLLOW_INTERVAL) == 1


def test_the_minute_schedule_skips_a_check_the_follower_has_just_run(world, street, settings):
    settings.ALERTS_INLINE = False
    from django.utils import timezone
    from django_q.models import Schedule

    from yiwang.alerts.models import DetectorState

    assert Schedule.objects.get(name="alerts-check").func == "yiwang.alerts.jobs.scheduled_check"
    now = timezone.now()
    factories.make_order(world.operator, now=now, street=street, title="梅岭小区自来水发黄", content="梅岭小区今天自来水发黄")
    assert jobs.follow(now=now) == 1
    assert OrderTopic.objects.count() == 1
    factories.make_order(world.operator, now=now, street=street, title="梅岭小区自来水发黄", content="还是发黄")
    jobs.scheduled_check(now=now + jobs.FOLLOW_INTERVAL / 2)  # the follower checked just now
    assert OrderTopic.objects.count() == 1 and DetectorState.objects.get().last_run_at == now
    jobs.scheduled_check(now=now + jobs.FOLLOW_INTERVAL)  # the follower is late: the schedule checks
    assert OrderTopic.objects.count() == 2
    assert DetectorState.objects.get().last_run_at == now + jobs.FOLLOW_INTERVAL


def test_topics_are_read_once_per_order(world, street):
    factories.make_order(world.operator, street=street, title="梅岭小区自来水发黄", content="梅岭小区今天自来水发黄")
    assert detector.index_topics() == 1
    assert detector.index_topics() == 0
    assert OrderTopic.objects.count() == 1


def test_topics_written_twice_are_kept_once(world, street):
    order = factories.make_order(world.operator, street=street, title="梅岭小区自来水发黄", content="梅岭小区今天自来水发黄")
    rows = [(order.pk, "梅岭小区", order.created_at, "13700000000"), (order.pk, "曲阳路", order.created_at, "")]
    detector._write_topics(rows)
    detector._write_topics(rows + [(order.pk, "赤峰路", order.created_at, "")])  # a check that outlived its lease
    assert sorted(OrderTopic.objects.values_list("name", "caller", "created_at")) == [
        ("曲阳路", "", order.created_at), ("梅岭小区", "13700000000", order.created_at), ("赤峰路", "", order.created_at)]


def test_a_backlog_of_orders_is_indexed_in_batches_until_none_is_left(world, street, monkeypatch):
    monkeypatch.setattr(detector, "TOPIC_BATCH", 2)
    for n in range(5):
        factories.make_order(world.operator, street=street, title=f"梅岭小区自来水发黄 {n}", content="梅岭小区今天自来水发黄")
    assert detector.index_new_topics() == 5  # three writes: 2 + 2 + 1
    assert OrderTopic.objects.values("order_id").distinct().count() == 5
    assert detector.index_new_topics() == 0


def test_expected_count_follows_each_hours_day_type_and_share():
    work = [0.0] * 24
    work[10] = work[11] = 0.5
    rest = [1 / 24] * 24
    rates = {True: 12.0, False: 2.0}
    shares = {True: work, False: rest}
    is_workday = lambda d: d.weekday() < 5  # noqa: E731

    def window_expected(now, hours):
        return detector.expected_count(rates, detector.window_weights(now, hours, shares, is_workday))

    # Thursday 10:30-11:30: half an hour of each busy hour.
    assert window_expected(at(2025, 10, 9, 11, 30), 1) == pytest.approx(6.0)
    # Thursday 02:00-03:00: no orders in that hour on the baseline days, so the floor share applies.
    assert window_expected(at(2025, 10, 9, 3, 0), 1) == pytest.approx(
        12 * detector.MIN_SHARE / 24)
    # Saturday 12:00 looking back 24 h: Friday 12:00-24:00 at the working-day rate (its 10-11 h are past),
    # Saturday 00:00-12:00 at the rest-day rate.
    friday_afternoon = 12 * (12 * detector.MIN_SHARE / 24)
    saturday_morning = 2 * 12 / 24
    assert window_expected(at(2025, 10, 11, 12, 0), 24) == pytest.approx(
        friday_afternoon + saturday_morning)


def test_a_finding_is_skipped_only_when_an_alert_already_has_all_of_it():
    at_ = at(2025, 10, 2, 10, 0)

    def finding(kind, key, ids, p):
        return detector.Finding(kind=kind, key=key, window_hours=1, observed=len(ids), expected=0.1, daily_rate=0.1,
                                baseline_days=20, workday=True, p=p, callers=len(ids),
                                members=[detector.Member(pk, at_, f"caller{pk}") for pk in ids])

    known = services._KnownBursts(by_key={(Kind.STREET, "1"): (10, 1e-6)},
                                  alerts_of_order={1: {10}, 2: {10}, 3: {10, 11}},
                                  also={10: set(), 11: {(Kind.TOPIC, "梅岭小区")}})
    assert known.adds_nothing(finding(Kind.STREET, "1", [1, 2, 3], 1e-5))
    assert not known.adds_nothing(finding(Kind.STREET, "1", [1, 2, 3, 4], 1e-5))  # a new order
    assert not known.adds_nothing(finding(Kind.STREET, "1", [1, 2, 3], 1e-7))  # stronger evidence
    assert known.adds_nothing(finding(Kind.TOPIC, "梅岭小区", [3], 1e-5))  # alert 11 lists it already
    assert not known.adds_nothing(finding(Kind.TOPIC, "梅岭小区", [1, 3], 1e-5))  # order 1 is not alert 11's
    assert not known.adds_nothing(finding(Kind.CATEGORY, "7", [1, 2], 1e-5))  # no alert lists this key yet

    assert known.unlinked(10, finding(Kind.STREET, "1", [1, 3, 4, 4], 1e-5)) == [4]  # each new order once
    # Which alert already holds two thirds of a finding's orders: the most, the oldest on a tie.
    assert known.covering(finding(Kind.CATEGORY, "7", [1, 2, 3], 1e-5)) == 10
    assert known.covering(finding(Kind.CATEGORY, "7", [3, 4, 5], 1e-5)) is None  # one of three
    assert known.covering(finding(Kind.CATEGORY, "7", [3], 1e-5)) == 10  # 10 and 11 tie
    # What a recorded finding changed is known to the findings after it in the same check.
    alert = Alert(pk=12, kind=Kind.TOPIC, key="梅岭小区", p_value=1e-8)
    known.note(alert, finding(Kind.TOPIC, "梅岭小区", [4, 5, 6], 1e-8))
    assert known.covering(finding(Kind.CATEGORY, "8", [4, 5, 6], 1e-5)) == 12
    assert known.adds_nothing(finding(Kind.TOPIC, "梅岭小区", [4, 5], 1e-7))
    known.note(alert, finding(Kind.CATEGORY, "8", [4, 5, 6], 1e-5))
    assert known.adds_nothing(finding(Kind.CATEGORY, "8", [4, 6], 1e-5))


def test_one_check_at_a_time_and_the_lease_is_given_back_however_it_ends(world, street, monkeypatch):
    from django.utils import timezone

    from yiwang.alerts.models import DetectorState

    orders = burst(world, street, at(2025, 10, 2, 10, 0), n=2)
    DetectorState.objects.update_or_create(pk=1, defaults={"checking_until": timezone.now() + dt.timedelta(minutes=5)})
    assert jobs.run_check(now=orders[-1].created_at) == 0
    assert DetectorState.objects.get().topics_through == 0  # the other check is running: this one did nothing

    DetectorState.objects.update(checking_until=timezone.now() - dt.timedelta(seconds=1))  # its holder died
    jobs.run_check(now=orders[-1].created_at)
    state = DetectorState.objects.get()
    assert state.topics_through == orders[-1].pk and state.checking_until is None

    def broken(now):
        raise RuntimeError("find failed")

    monkeypatch.setattr(detector, "find", broken)
    with pytest.raises(RuntimeError):
        jobs.run_check(now=orders[-1].created_at)
    assert DetectorState.objects.get().checking_until is None
