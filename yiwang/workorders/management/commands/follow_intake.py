"""Run the intake followers (see ``yiwang.workorders.followers``) until stopped."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from yiwang.workorders import followers


class Command(BaseCommand):
    help = "Run the intake followers (intelligent-dispatch suggestions, …) every few seconds until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--poll", type=float, default=2.0, help="seconds between rounds when idle")
        parser.add_argument("--once", action="store_true", help="run one round and print what each follower did")

    def handle(self, *args, **options):
        if options["once"]:
            for name, n in followers.run_once().items():
                self.stdout.write(f"{name}: {n}")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"following intake: {', '.join(followers.FOLLOWERS) or 'no followers'}")
        followers.run_forever(poll_s=options["poll"], stop=stop)
