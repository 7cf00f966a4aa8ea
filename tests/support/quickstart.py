"""Builds a project from docs/quickstart.md, by the titles of its blocks, in a temporary folder.

How a block is taken, by its info string:

- ``bash``: each line is run (``python`` with this virtualenv's interpreter; ``pip install`` is
  skipped, as the checkout is installed here already). A block that opens with the comment
  ``# <n> minutes later`` runs its ``process_notifications`` with spire-notify's clock moved
  on by that much, which is how a test waits;
- ``python title="settings.py"`` and ``title="urls.py"``: appended to the files ``startproject``
  wrote; ``title="settings.py, on Django 5.2 and 6.0"`` only where Django has no ``MAILERS``,
  ``title="settings.py, on Django 5.2"`` only on 5.2;
- ``python title="python manage.py shell"`` and untitled ``python``: run in ``manage.py shell``;
- any other ``title="<path>"``: the whole file at that path of the project;
- a ``text`` block right after a step: the output that step must end with (``...`` in it stands
  for anything, such as a duration).

Blocks indented under a list item are asides (production settings), and ``console`` blocks show
what a reader may do elsewhere (build a wheel): neither is a step.
"""

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import django

from spire_notify.compat import HAS_MAILERS
from tests.packaging.test_docs_snippets import DOCS, fenced_blocks

PAGE = DOCS / "quickstart.md"
BUNDLED_APP_HEADING = "## The bundled app: the help desk"
SHELL = "python manage.py shell"
WAIT = re.compile(r"^# (?P<minutes>\d+) minutes later$")
TITLE = re.compile(r'title="(?P<title>[^"]+)"')
# Settings blocks that apply on some Django versions only.
ONLY_ON = {
    "settings.py, on Django 5.2 and 6.0": not HAS_MAILERS,
    "settings.py, on Django 5.2": django.VERSION < (6, 0),
}
STATE_OF_NOTIFICATIONS = """
import json
from spire_notify.models import Notification
print(json.dumps([
    {"channel": n.channel, "user": n.user.username, "status": n.status, "event": n.event,
     "object_id": n.object_id, "url": n.url, "body": n.body, "last_error": n.last_error}
    for n in Notification.objects.order_by("pk")
]))
"""


@dataclass(frozen=True)
class Step:
    line: int
    kind: str  # "bash", "shell" or "file"
    title: str
    code: str
    expected: str | None


def title_of(block):
    found = TITLE.search(block.info)
    return found["title"] if found else ""


def is_aside(block):
    """A block indented under a list item: shown to the reader, not a step to take."""
    fence = PAGE.read_text().splitlines()[block.line - 2]
    return fence != fence.lstrip()


def steps(*, part):
    """The steps of ``part``: ``"own"`` (your own notification, up to the bundled app) or
    ``"all"`` (the whole page, the help desk included)."""
    lines = PAGE.read_text().splitlines()
    bundled_from = lines.index(BUNDLED_APP_HEADING) + 1
    blocks = fenced_blocks(PAGE)
    found = []
    for index, block in enumerate(blocks):
        if block.info in {"text", "console"} or is_aside(block):
            continue
        if part == "own" and block.line > bundled_from:
            break
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        expected = following.code if following and following.info == "text" else None
        title = title_of(block)
        if block.info == "bash":
            kind = "bash"
        elif block.info == "python" or title == SHELL:
            kind = "shell"
        else:
            kind = "file"
        found.append(Step(block.line, kind, title, block.code, expected))
    return found


def code_lines(code):
    return [line for line in code.splitlines() if line.strip() and not line.strip().startswith("#")]


def ends_with(output, expected):
    pattern = ".*?".join(re.escape(part) for part in expected.strip().split("..."))
    return re.search(pattern + r"\Z", output.rstrip(), re.DOTALL) is not None


class Project:
    def __init__(self, directory):
        self.directory = Path(directory)
        self.env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
        self.env["PATH"] = f"{os.path.dirname(sys.executable)}{os.pathsep}{self.env['PATH']}"
        self.worker_outputs = []

    def run(self, args, *, stdin=None):
        finished = subprocess.run(
            args, cwd=self.directory, env=self.env, input=stdin, capture_output=True, text=True, timeout=300
        )
        assert finished.returncode == 0, f"{shlex.join(args)} failed:\n{finished.stdout}\n{finished.stderr}"
        return finished.stdout

    def shell(self, code):
        return self.run([sys.executable, "manage.py", "shell", "--verbosity=0", "--command", code])

    def command(self, line, *, minutes_later=0):
        """A documented shell command, run with this virtualenv's Python."""
        program, *args = shlex.split(line)
        if program == "django-admin":
            return self.run([sys.executable, "-m", "django", *args])
        assert program == "python", f"the quick start runs an unexpected program: {line}"
        if minutes_later:
            assert args[:2] == ["manage.py", "process_notifications"], f"only the worker waits: {line}"
            return self.shell(
                "from datetime import timedelta\n"
                "from django.core.management import call_command\n"
                "from spire_notify import clock\n"
                f"clock.advance(timedelta(minutes={minutes_later}))\n"
                f"call_command('process_notifications', *{args[2:]!r})\n"
            )
        return self.run([sys.executable, *args])

    def write(self, title, code):
        if title in {"settings.py", "urls.py"} or title in ONLY_ON:
            if not ONLY_ON.get(title, True):
                return
            [path] = self.directory.glob(f"*/{title.split(',')[0]}")
            with path.open("a") as file:
                file.write("\n" + code)
            return
        path = self.directory / title
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)

    def take(self, step):
        """Take one step of the page; returns its output."""
        if step.kind == "file":
            assert step.title, f"quickstart.md:{step.line}: a block with neither a title nor a known kind"
            self.write(step.title, step.code)
            return ""
        if step.kind == "shell":
            return self.shell(step.code)
        output = ""
        lines = step.code.splitlines()
        wait = WAIT.match(lines[0]) if lines else None
        for line in code_lines(step.code):
            if line.startswith("pip install"):
                # This virtualenv has the checkout installed (editable) already.
                assert line == "pip install ./spire-notify"
                continue
            output = self.command(line, minutes_later=int(wait["minutes"]) if wait else 0)
            if "process_notifications" in line:
                self.worker_outputs.append(output)
        return output

    def follow(self, page_steps, *, before=None):
        """Take every step in order, checking each documented output; ``before(project, step)``
        runs ahead of each step, for checks of the state the page describes at that point."""
        for step in page_steps:
            if before:
                before(self, step)
            output = self.take(step)
            if step.expected is not None:
                assert ends_with(output, step.expected), f"quickstart.md:{step.line}: {output[-400:]!r}"

    def notifications(self):
        return json.loads(self.shell(STATE_OF_NOTIFICATIONS))
