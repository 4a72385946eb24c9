"""The WSGI module leaves the loaded application out of later garbage collections.

Checked in a fresh interpreter: importing ``yiwang.wsgi`` in the test process would
freeze the test run's own objects.
"""

import json
import os
import subprocess
import sys

PROBE = """
import gc, json, sys
before = gc.get_freeze_count()
import yiwang.wsgi
print(json.dumps({"before": before, "frozen": gc.get_freeze_count(), "young": len(gc.get_objects()),
                  "views_loaded": "yiwang.workorders.api" in sys.modules}))
"""


def test_the_loaded_application_is_frozen_with_its_views(tmp_path):
    env = {**os.environ, "YIWANG_VAR_DIR": str(tmp_path), "YIWANG_DEBUG": "0", "YIWANG_SECRET_KEY": "wsgi-test",
           "DJANGO_SETTINGS_MODULE": "yiwang.settings"}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["before"] == 0
    assert probe["views_loaded"], "the URL patterns were not resolved before freezing"
    # Everything loaded is frozen; what the collector still tracks is what came after.
    assert probe["frozen"] > 100_000
    assert probe["young"] < probe["frozen"] / 10
