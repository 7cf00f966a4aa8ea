"""django-notifications-hq in its own virtualenv, driven run by run from the suite.

The virtualenv lives under ``.bench-venvs/`` (created once, reused) with Django 5.0, because
notifications-hq 1.8.3 uses ``Meta.index_together`` (removed in Django 5.1) and imports
``distutils`` (supplied by setuptools on Python 3.12).
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".bench-venvs" / "notifications-hq"
REQUIREMENTS = ["django-notifications-hq==1.8.3", "Django>=5.0,<5.1", "setuptools", "psycopg[binary]>=3.2"]


class PeerUnavailable(RuntimeError):
    pass


def venv_python():
    """The virtualenv's Python, creating the virtualenv from ``sys.executable`` if needed."""
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if marker.exists():
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, capture_output=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as error:
        raise PeerUnavailable(
            f"could not build {VENV}: {(error.stderr or '').strip().splitlines()[-1:]}"
        ) from error
    marker.write_text("\n".join(REQUIREMENTS))
    return python


class NotificationsHq:
    """One long-lived notifications-hq process; each ``run()`` is one timed ``notify.send``."""

    def __init__(self, engine, database_name):
        self.process = subprocess.Popen(
            [str(venv_python()), str(Path(__file__).with_name("hq_worker.py")), engine, database_name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.version = self._reply()["ready"]

    def _reply(self):
        line = self.process.stdout.readline()
        if not line:
            raise PeerUnavailable(f"notifications-hq worker exited with {self.process.wait()}")
        return json.loads(line)

    def _ask(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._reply()

    def setup(self, recipients):
        return self._ask(f"setup {recipients}")

    def run(self, mode):
        return self._ask(f"run {mode}")

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            self.process.wait(timeout=60)
