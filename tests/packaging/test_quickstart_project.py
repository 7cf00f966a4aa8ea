"""A brand-new project, built from the quick start page alone, delivers its first notifications.

The steps are read from docs/quickstart.md: ``bash`` blocks are run line by line, the
``settings.py`` and ``urls.py`` fragments are appended to the files ``startproject`` wrote (the
one titled for Django 5.2 and 6.0 only on those versions), ``python`` blocks run in ``manage.py
shell``, and a ``text`` block right after a step is the output that step must end with (``...``
in it stands for anything, such as a duration). Blocks indented under a list item are asides
(production settings), not steps. Nothing else is configured. The wheel the page tells how to
build is built and installed by tests/packaging/test_packaging.py.
"""

import email
import json
import os
import re
import shlex
import subprocess
import sys
from email.policy import default as default_policy

import pytest

from spire_notify.compat import HAS_MAILERS
from tests.packaging.test_docs_snippets import DOCS, fenced_blocks

PAGE = DOCS / "quickstart.md"
SETTINGS_BEFORE_MAILERS = 'python title="settings.py, on Django 5.2 and 6.0"'
CONSOLE_MAIL_SEPARATOR = "\n" + "-" * 79 + "\n"
STATE_OF_NOTIFICATIONS = """
import json
from spire_notify.models import Notification
print(json.dumps([
    {"channel": n.channel, "user": n.user.username, "status": n.status, "url": n.url, "body": n.body}
    for n in Notification.objects.order_by("pk")
]))
"""

# What the page's last paragraph tells the reader to do in a browser, with Django's test client
# (SERVER_NAME: startproject allows only local hosts while DEBUG is on).
SIGN_IN_AND_OPEN_THE_INBOX = """
import json
from django.test import Client
client = Client(SERVER_NAME="localhost")
anonymous = client.get("/notifications/")
sign_in = client.post(anonymous.headers["Location"], {"username": "dev", "password": "change-me"})
inbox = client.get(sign_in.headers["Location"])
straight_to_the_login_page = Client(SERVER_NAME="localhost").post(
    "/accounts/login/", {"username": "dev", "password": "change-me"}
)
print(json.dumps({
    "anonymous": [anonymous.status_code, anonymous.headers["Location"]],
    "sign_in": [sign_in.status_code, sign_in.headers["Location"]],
    "sign_in_without_next": straight_to_the_login_page.headers["Location"],
    "inbox": inbox.status_code,
    "listed": "Priority: High - Purpose: App" in inbox.text,
    "unread": client.get("/notifications/unread-count/").json(),
}))
"""


def is_aside(block):
    """A block indented under a list item: shown to the reader, not a step to take."""
    fence = PAGE.read_text().splitlines()[block.line - 2]
    return fence != fence.lstrip()


def quickstart_steps():
    """``(block, expected output or None)`` in page order."""
    blocks = fenced_blocks(PAGE)
    steps = []
    for index, block in enumerate(blocks):
        if block.info in {"text", "console"} or is_aside(block):
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        steps.append((block, following.code if following and following.info == "text" else None))
    return steps


class Project:
    def __init__(self, directory):
        self.directory = directory
        self.env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
        self.env["PATH"] = f"{os.path.dirname(sys.executable)}{os.pathsep}{self.env['PATH']}"

    def run(self, args, *, stdin=None):
        finished = subprocess.run(
            args, cwd=self.directory, env=self.env, input=stdin, capture_output=True, text=True, timeout=300
        )
        assert finished.returncode == 0, f"{shlex.join(args)} failed:\n{finished.stdout}\n{finished.stderr}"
        return finished.stdout

    def command(self, line):
        """A documented shell command, run with this virtualenv's Python."""
        program, *args = shlex.split(line)
        if program == "python":
            return self.run([sys.executable, *args])
        if program == "django-admin":
            return self.run([sys.executable, "-m", "django", *args])
        raise AssertionError(f"the quick start runs an unexpected program: {line}")

    def shell(self, code):
        return self.run([sys.executable, "manage.py", "shell", "--verbosity=0", "--command", code])

    def append_to(self, filename, code):
        [path] = self.directory.glob(f"*/{filename}")
        with path.open("a") as file:
            file.write("\n" + code)

    def notifications(self):
        return json.loads(self.shell(STATE_OF_NOTIFICATIONS))


def ends_with(output, expected):
    pattern = ".*?".join(re.escape(part) for part in expected.strip().split("..."))
    return re.search(pattern + r"\Z", output.rstrip(), re.DOTALL) is not None


def settings_lines(code):
    return [line for line in code.splitlines() if line.strip() and not line.strip().startswith("#")]


@pytest.mark.timeout(600)
def test_a_new_project_following_the_quick_start_delivers_app_and_email(tmp_path):
    project = Project(tmp_path)
    worker_output = None
    for block, expected in quickstart_steps():
        output = ""
        if block.info == 'python title="settings.py"':
            assert len(settings_lines(block.code)) <= 10, "the quick start promises at most ten lines"
            project.append_to("settings.py", block.code)
        elif block.info == SETTINGS_BEFORE_MAILERS:
            if not HAS_MAILERS:
                project.append_to("settings.py", block.code)
        elif block.info == 'python title="urls.py"':
            project.append_to("urls.py", block.code)
        elif block.info == "python":
            output = project.shell(block.code)
        elif block.info == "bash":
            for line in settings_lines(block.code):
                if line.startswith("pip install"):
                    # This virtualenv has the checkout installed (editable) already.
                    assert line == "pip install ./spire-notify"
                    continue
                if "process_notifications" in line:
                    # In-app rows are in the inbox at commit; the worker has the email to send.
                    statuses = {(n["channel"], n["status"]) for n in project.notifications()}
                    assert statuses == {("app", "sent"), ("email", "pending")}
                    output = worker_output = project.command(line)
                else:
                    output = project.command(line)
        else:
            raise AssertionError(f"quickstart.md:{block.line}: a step of unknown kind {block.info!r}")
        if expected is not None:
            assert ends_with(output, expected), f"quickstart.md:{block.line}: {output[-300:]!r}"

    assert [(n["channel"], n["user"], n["status"]) for n in project.notifications()] == [
        ("app", "dev", "sent"),
        ("email", "dev", "sent"),
    ]
    assert json.loads(project.shell(SIGN_IN_AND_OPEN_THE_INBOX)) == {
        "anonymous": [302, "/accounts/login/?next=/notifications/"],
        "sign_in": [302, "/notifications/"],
        "sign_in_without_next": "/notifications/",
        "inbox": 200,
        "listed": True,
        "unread": {"unread": 1},
    }
    assert worker_output is not None, "the quick start never runs the worker"
    [printed_email, _summary] = worker_output.split(CONSOLE_MAIL_SEPARATOR)
    sent = email.message_from_string(printed_email, policy=default_policy)
    assert (sent["From"], sent["To"]) == ("helpdesk@example.com", "dev-inbox@example.com")
    assert sent["Subject"] == "[High] New Help Desk Ticket #1"
    text = sent.get_body(("plain",)).get_content()
    html = sent.get_body(("html",)).get_content()
    assert "Login page throws a 500 error for SSO users." in text
    assert 'href="https://example.com/help_desk/page/1/detail/"' in html
    assert "<style" not in html and 'style="' in html  # the CSS is inlined
