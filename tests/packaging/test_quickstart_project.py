"""A brand-new project, built from the whole quick start page, delivers its first notifications:
the project's own, then the bundled help desk's.

The steps are read from docs/quickstart.md (tests/support/quickstart.py says how each block is
taken). Nothing else is configured. The first part alone, with every page it promises, is
tests/packaging/test_quickstart_notifier.py; the wheel the page tells how to build is built and
installed by tests/packaging/test_packaging.py.
"""

import email
import json
from email.policy import default as default_policy

import pytest

from tests.support.quickstart import Project, code_lines, steps

CONSOLE_MAIL_SEPARATOR = "\n" + "-" * 79 + "\n"

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


def help_desk_rows(project):
    return [n for n in project.notifications() if n["event"].startswith("helpdesk.")]


@pytest.mark.timeout(600)
def test_a_new_project_following_the_whole_quick_start_delivers_its_own_and_the_help_desks(tmp_path):
    project = Project(tmp_path)

    def before(project, step):
        if step.title == "settings.py":
            assert len(code_lines(step.code)) <= 12, "the quick start promises about a dozen lines"
        if step.kind == "bash" and "process_notifications" in step.code and help_desk_rows(project):
            # In-app rows are in the inbox at commit; the worker has the email to send.
            assert {(n["channel"], n["status"]) for n in help_desk_rows(project)} == {
                ("app", "sent"),
                ("email", "pending"),
            }

    project.follow(steps(part="all"), before=before)

    assert [(n["channel"], n["user"], n["status"]) for n in help_desk_rows(project)] == [
        ("app", "alice", "sent"),  # a superuser: a manager of the help desk
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
    [printed_email, _summary] = project.worker_outputs[-1].split(CONSOLE_MAIL_SEPARATOR)
    sent = email.message_from_string(printed_email, policy=default_policy)
    assert (sent["From"], sent["To"]) == ("notifications@example.com", "dev-inbox@example.com")
    assert sent["Subject"] == "[High] New Help Desk Ticket #1"
    text = sent.get_body(("plain",)).get_content()
    html = sent.get_body(("html",)).get_content()
    assert "Login page throws a 500 error for SSO users." in text
    assert 'href="https://example.com/help_desk/page/1/detail/"' in html
    assert "<style" not in html and 'style="' in html  # the CSS is inlined
