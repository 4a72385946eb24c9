import datetime as dt

import pytest
from django.core.management import call_command

from yiwang.core.models import CalendarDay, calendar_gaps, load_calendar

pytestmark = pytest.mark.django_db


def test_gaps_list_unknown_years_until_one_is_entered():
    assert calendar_gaps(dt.date(2026, 11, 21)) == [2027]
    CalendarDay.objects.create(date=dt.date(2027, 2, 11), kind=CalendarDay.Kind.HOLIDAY, name="春节")
    assert calendar_gaps(dt.date(2026, 11, 21)) == []


def test_load_calendar_applies_the_table():
    CalendarDay.objects.create(date=dt.date(2027, 2, 6), kind=CalendarDay.Kind.WORKDAY, name="春节调休")
    cal = load_calendar(dt.date(2027, 1, 1))
    assert cal.is_working_day(dt.date(2027, 2, 6))


def test_calendar_check_exits_non_zero_on_gaps():
    if not calendar_gaps():
        pytest.skip("no uncovered year near today")
    with pytest.raises(SystemExit) as exit_:
        call_command("calendar_check")
    assert exit_.value.code == 1


def test_admin_warns_about_unentered_years(world, client):
    if not calendar_gaps():
        pytest.skip("no uncovered year near today")
    client.force_login(world.admin)
    response = client.get("/admin/core/calendarday/")
    assert response.status_code == 200
    assert "尚未录入" in response.content.decode()
