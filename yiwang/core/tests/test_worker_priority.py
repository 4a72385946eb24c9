"""The job worker lowers its own CPU priority, and never the web server's (``cli.lower_worker_priority``).

Each case runs in a child process: a process cannot take back a nice it has added.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import os
from yiwang.cli import lower_worker_priority
before = os.nice(0)
added = lower_worker_priority()
try:
    group = open("/proc/self/autogroup").read().split()[-1]
except (OSError, IndexError):  # no autogroups, or the default one, which reads empty
    group = "-"
print(before, added, os.nice(0), group)
"""
AUTOGROUP = Path("/proc/self/autogroup")
# A process whose session never left init's (a container's processes, often) is in the default
# autogroup, whose file reads empty and whose nice cannot be set.
IN_AUTOGROUP = AUTOGROUP.exists() and bool(AUTOGROUP.read_text().strip())


def run(nice: str | None, *, own_session: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "YIWANG_WORKER_NICE"}
    if nice is not None:
        env["YIWANG_WORKER_NICE"] = nice
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60,
                          start_new_session=own_session)


def niceness(result: subprocess.CompletedProcess) -> tuple[int, int, int, str]:
    assert result.returncode == 0, result.stderr
    before, added, after, group = result.stdout.split()
    return int(before), int(added), int(after), group


def test_default_adds_ten():
    before, added, after, _ = niceness(run(None))
    assert added == 10
    assert after == min(19, before + 10)


def test_zero_leaves_the_priority_alone():
    before, added, after, _ = niceness(run("0"))
    assert (added, after) == (0, before)


@pytest.mark.parametrize("value", ["high", "-5", "20", ""])
def test_a_bad_value_stops_the_worker_with_a_message(value):
    result = run(value)
    assert result.returncode == 1
    assert "YIWANG_WORKER_NICE must be a whole number from 0 to 19" in result.stderr


def group_nice_writable() -> bool:
    """Whether a session leader may set its autogroup's nice here, and read it back (a container may forbid it)."""
    probe = ("open('/proc/self/autogroup', 'w').write('1')\n"
             "assert open('/proc/self/autogroup').read().split()[-1] == '1'")
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, start_new_session=True).returncode == 0


@pytest.mark.skipif(not AUTOGROUP.exists(), reason="this kernel has no autogroups")
def test_a_worker_in_its_own_session_lowers_its_group():
    if not group_nice_writable():
        pytest.skip("this system does not let a process set its autogroup's nice")
    *_, group = niceness(run("7", own_session=True))
    assert group == "7"


@pytest.mark.skipif(not IN_AUTOGROUP,
                    reason="this process is in no autogroup of its own (no such kernel feature, or init's session)")
def test_a_worker_beside_the_web_server_leaves_their_group_alone():
    shared = AUTOGROUP.read_text()
    before, added, after, _ = niceness(run("7"))
    assert (added, after) == (7, min(19, before + 7))
    assert AUTOGROUP.read_text() == shared  # the group of this process and its children, the web server's
