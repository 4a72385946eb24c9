"""The WSGI application the web server runs (``yiwang.wsgi:application``, see ``cli.web_command``)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.settings")
application = get_wsgi_application()


def _freeze_loaded_objects() -> None:
    """Keep what the process loaded once out of every later garbage collection.

    A loaded worker holds about 200,000 objects (modules, classes, URL patterns,
    settings), and each REST request leaves about 340 more in reference cycles
    (DRF binds every field to its serializer), so the collector runs often, and
    every full collection walked the whole heap, holding the GIL and so stalling every
    thread of the process: 66 ms on an idle machine, several times that under load.
    Those stalls were half the intake's p99: 231-251 ms without, 121-147 ms with
    the freeze (32 clients, bench/intake_load.py --only yiwang-pg). ``gc.freeze()`` moves what exists now to a generation the
    collector never visits; the URL patterns are resolved first so that every view
    module is imported now rather than on its first request.
    """
    get_resolver().url_patterns
    gc.freeze()


_freeze_loaded_objects()
