import signal
import time

from django.core.management.base import BaseCommand

from spire_notify.automations import process_notifications


class Command(BaseCommand):
    help = "Deliver every ready notification and exit; with --loop, keep polling for more."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Run as a long-lived worker.")
        parser.add_argument("--batch-size", type=int, default=None, help="Rows claimed at a time.")
        parser.add_argument(
            "--interval", type=float, default=5.0,
            help="With --loop: seconds to wait when nothing is ready (default 5).",
        )

    def handle(self, *, loop, batch_size, interval, **options):
        if not loop:
            self._report(process_notifications(batch_size=batch_size))
            return
        self.stopping = False
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        while not self.stopping:
            # One batch per turn, so that a stop request is honoured between batches.
            counts = process_notifications(batch_size=batch_size, max_batches=1)
            if any(counts.values()):
                self._report(counts)
            else:
                self._sleep(interval)
        self.stdout.write("Stopped.")

    def _stop(self, signum, frame):
        self.stopping = True

    def _sleep(self, seconds):
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.1, seconds))

    def _report(self, counts):
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in counts.items()))
