"""The soak's workers: ``python -m django process_notifications --loop`` processes, killed with
SIGKILL at random moments and replaced, their resident memory sampled as they run.

``WorkerPool`` keeps ``size`` of them running; ``kill_one()`` kills a random one, with no
warning and no chance to hand its rows back (a lost machine, the OOM killer), and starts a new
one in its place. It records each kill (pid and wall-clock time), which the checks match
against the sink's ledger, and each memory sample, ``(seconds since start, pid, MB)``.
"""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

STOP_TIMEOUT = 30


@dataclass(frozen=True)
class Kill:
    pid: int
    at: float  # time.time()


def rss_mb(pid):
    """The resident memory of ``pid`` in MB, or ``None`` if it has gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class WorkerPool:
    def __init__(self, size, *, batch_size, environment, log_path, rng):
        self.size, self.batch_size = size, batch_size
        self.environment, self.rng = environment, rng
        self.log = open(log_path, "a")  # noqa: SIM115  (the workers' shared log, for the pool's life)
        self.workers, self.kills, self.samples = [], [], []
        self.started = time.monotonic()

    def __enter__(self):
        self.workers = [self._start() for _ in range(self.size)]
        return self

    def __exit__(self, *exc_info):
        self.stop()
        self.log.close()

    def _start(self):
        command = [sys.executable, "-m", "django", "process_notifications", "--loop", "--interval", "0.5"]
        command += ["--batch-size", str(self.batch_size)]
        return subprocess.Popen(
            command, env=self.environment, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log
        )

    def kill_one(self):
        victim = self.rng.choice(self.workers)
        victim.send_signal(signal.SIGKILL)
        self.kills.append(Kill(victim.pid, time.time()))
        victim.wait()
        self.workers[self.workers.index(victim)] = self._start()

    def sample_memory(self):
        elapsed = time.monotonic() - self.started
        for worker in self.workers:
            if (megabytes := rss_mb(worker.pid)) is not None:
                self.samples.append((elapsed, worker.pid, megabytes))

    def crashed(self):
        """The workers that exited on their own: a worker must only end when it is told to."""
        return [(worker.pid, worker.returncode) for worker in self.workers if worker.poll() is not None]

    def stop(self):
        """SIGTERM, as a supervisor stops a worker: it hands back what it has not sent."""
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    @property
    def pids(self):
        return [worker.pid for worker in self.workers]


def worker_environment(base, *, settings, database_name, smtp_port):
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": settings,
        "BENCH_DB_NAME": database_name,
        "BENCH_SMTP_PORT": str(smtp_port),
        "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), base.get("PYTHONPATH", "")])),
    }
