"""The follower loop: each follower at its own pace, so a slow one holds up none of the others."""

import threading
import time

import pytest

from yiwang.workorders import followers


@pytest.fixture
def only(monkeypatch):
    """Run just the given followers, not the ones the apps registered."""
    def install(**funcs):
        monkeypatch.setattr(followers, "FOLLOWERS", dict(funcs))
    return install


def test_a_slow_follower_does_not_hold_up_the_others(only):
    release, fast_rounds, stop = threading.Event(), [], threading.Event()

    def slow() -> int:
        release.wait(10)  # a burst check over a day's orders, say
        return 0

    def fast() -> int:
        fast_rounds.append(1)
        return 0

    only(slow=slow, fast=fast)
    loop = threading.Thread(target=followers.run_forever, kwargs={"poll_s": 0.01, "stop": stop})
    loop.start()
    try:
        for _ in range(500):
            if len(fast_rounds) >= 3:
                break
            time.sleep(0.01)
        assert len(fast_rounds) >= 3 and not release.is_set()
    finally:
        release.set()
        stop.set()
        loop.join(10)
    assert not loop.is_alive()


def test_a_failing_follower_is_logged_and_keeps_its_turn(only, caplog):
    calls, stop = [], threading.Event()

    def broken() -> int:
        calls.append(1)
        if len(calls) >= 2:
            stop.set()
        raise RuntimeError("boom")

    only(broken=broken)
    followers.run_forever(poll_s=0.01, stop=stop)
    assert len(calls) >= 2
    assert "Intake follower broken failed" in caplog.text


def test_run_once_reports_each_follower(only):
    only(a=lambda: 3, b=lambda: 1 / 0)
    assert followers.run_once() == {"a": 3, "b": 0}
