import signal
import time
from collections import Counter

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from spire_notify import conf
from spire_notify.exceptions import WorkerStopped
from spire_notify.management.commands._progress import ProgressBar, describe
from spire_notify.worker.claims import count_ready
from spire_notify.worker.process import process_notifications

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Command(BaseCommand):
    help = (
        "Deliver every ready notification, batch after batch, and exit; with --loop, keep "
        "polling for more. SIGTERM or SIGINT stops it: no further message is handed over, the "
        "rows not sent are handed back, and a send still in flight after NOTIFY_STOP_GRACE_SECONDS "
        "is abandoned."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Run as a long-lived worker.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help="Rows claimed at a time (default: the NOTIFY_BATCH_SIZE setting).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=5.0,
            help="With --loop: seconds to wait when nothing is ready (default 5).",
        )

    def handle(self, *, loop, batch_size, interval, **options):
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        self.stopping = False
        previous_handlers = {signum: signal.signal(signum, self._stop) for signum in STOP_SIGNALS}
        previous_handlers[signal.SIGALRM] = signal.signal(signal.SIGALRM, self._abandon)
        try:
            self._run(loop=loop, batch_size=batch_size, interval=interval)
        except WorkerStopped:
            # The rows of the interrupted batch were handed back on the way out.
            self.stdout.write("Stopped: a send outlived the grace period and was abandoned.")
        except ImproperlyConfigured as error:
            # Loudly, with a non-zero exit: a process supervisor restarting the worker
            # would only fail again, so the message must reach whoever reads the logs.
            raise CommandError(f"Notification delivery is misconfigured: {error}") from error
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)

    def _run(self, *, loop, batch_size, interval):
        if not loop:
            self._drain(batch_size, quiet_when_idle=False)
            return
        while not self.stopping:
            # A worker lives for days: drop connections the database closed or that are past
            # CONN_MAX_AGE, as Django does between requests.
            close_old_connections()
            self._drain(batch_size, quiet_when_idle=True)
            self._sleep(interval)
        self.stdout.write("Stopped.")

    def _drain(self, batch_size, *, quiet_when_idle):
        """Deliver batch after batch until nothing is ready or a stop is requested."""
        started = time.monotonic()
        progress = ProgressBar(self.stdout, count_ready()) if self.stdout.isatty() else None
        counts, batches = Counter(), 0
        while not self.stopping:
            # One batch per call, so that a stop request is honoured between batches.
            result = process_notifications(
                batch_size=batch_size, max_batches=1, should_stop=lambda: self.stopping
            )
            if not any(result.values()):
                break
            counts.update(result)
            batches += 1
            if progress:
                progress.update(counts.total(), counts)
        if progress and batches:
            progress.finish()
        if batches or not quiet_when_idle:
            elapsed = time.monotonic() - started
            self.stdout.write(
                f"{describe(counts)} ({counts.total()} notification{'s' if counts.total() != 1 else ''} "
                f"in {batches} batch{'es' if batches != 1 else ''}, {elapsed:.1f}s)"
            )

    def _stop(self, signum, frame):
        # No further message is handed over (the send loop asks before each one); a send
        # that is stuck on the network is given the grace period, then abandoned.
        if not self.stopping:
            signal.setitimer(signal.ITIMER_REAL, conf.get("NOTIFY_STOP_GRACE_SECONDS"))
        self.stopping = True

    def _abandon(self, signum, frame):
        raise WorkerStopped("the worker was stopped, and a send outlived the grace period")

    def _sleep(self, seconds):
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.1, seconds))
