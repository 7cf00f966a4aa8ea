"""A fresh project without the help desk, built from the first part of the quick start, declares
its own Notifier and sees it everywhere the page promises.

The settings, URLs, models, ``notifiers.py``, email template, service and commands are the
page's own blocks, taken by their titles (tests/support/quickstart.py), so the page and this
test cannot drift. Django's test client stands in for the browser of the page's last step, in
the project's own settings and SQLite file; moving spire-notify's clock stands in for the ten
minutes the email waits.
"""

import email
import json
from email.policy import default as default_policy

import pytest

from tests.packaging.test_docs_snippets import DOCS, fenced_blocks
from tests.support.quickstart import PAGE, Project, steps, title_of

CONSOLE_MAIL_SEPARATOR = "\n" + "-" * 79 + "\n"
NAME = "Comments on your articles"
TITLE = "Bob commented on “Hello, world”"

# A second comment, which Alice opens in the inbox before its email is due.
A_COMMENT_READ_IN_TIME = """
import json
from django.test import Client
from blog.models import Article
from blog.services import post_comment
from spire_notify.models import Notification

comment = post_comment(Article.objects.get(), name="Dana", text="Read in time.")
row = Notification.objects.get(channel="app", object_id=str(comment.pk))
client = Client(SERVER_NAME="localhost")
client.login(username="alice", password="change-me")
opened = client.post(f"/notifications/{row.pk}/open/")
print(json.dumps([opened.status_code, opened.headers["Location"]]))
"""

# The page's last step, "See it", with Django's test client signed in as Alice.
WHAT_ALICE_SEES = """
import json
from django.test import Client
anonymous = Client(SERVER_NAME="localhost", raise_request_exception=False)
client = Client(SERVER_NAME="localhost", raise_request_exception=False)
client.login(username="alice", password="change-me")
pages = {
    "login": anonymous.get("/accounts/login/"),
    "inbox": client.get("/notifications/"),
    "preferences": client.get("/notifications/preferences/"),
    "previews": client.get("/notifications/email-previews/"),
    "admin": client.get("/admin/spire_notify/notification/"),
}
print(json.dumps({name: [page.status_code, page.content.decode()] for name, page in pages.items()}))
"""


def rows_of(project, comment_pk=1):
    return [
        (n["channel"], n["user"], n["status"])
        for n in project.notifications()
        if n["event"] == "blog.comment_posted" and n["object_id"] == str(comment_pk)
    ]


@pytest.mark.timeout(600)
def test_a_fresh_project_delivers_its_own_notifier_on_app_and_email_after_the_wait(tmp_path):
    project = Project(tmp_path)
    own = steps(part="own")
    assert not any("helpdesk" in step.code for step in own), "the first part installs no help desk"

    def before(project, step):
        if step.kind == "bash" and "process_notifications" in step.code:
            # The inbox row is there at once; the email waits, whichever run of the worker comes.
            assert rows_of(project) == [("app", "alice", "sent"), ("email", "alice", "pending")]

    project.follow(own, before=before)

    assert rows_of(project) == [("app", "alice", "sent"), ("email", "alice", "sent")]
    [printed_email, _summary] = project.worker_outputs[-1].split(CONSOLE_MAIL_SEPARATOR)
    sent = email.message_from_string(printed_email, policy=default_policy)
    assert (sent["From"], sent["To"]) == ("notifications@example.com", "dev-inbox@example.com")
    assert sent["X-Original-To"] == "alice@example.com"
    assert sent["Subject"] == TITLE
    text = sent.get_body(("plain",)).get_content()
    html = sent.get_body(("html",)).get_content()
    assert "Nice post!" in text and "https://example.com/admin/blog/comment/1/change/" in text
    assert 'href="https://example.com/admin/blog/comment/1/change/"' in html
    assert ">Read the comment</a>" in html
    assert "<style" not in html and 'style="' in html  # the CSS is inlined

    # Unless read: opened in the inbox before its ten minutes, the email is skipped.
    assert json.loads(project.shell(A_COMMENT_READ_IN_TIME)) == [302, "/admin/blog/comment/2/change/"]
    worker = project.command("python manage.py process_notifications", minutes_later=10)
    assert worker.startswith("sent 0, errored 0, failed 0, skipped 1 (1 notification in 1 batch, ")
    assert rows_of(project, comment_pk=2) == [("app", "alice", "sent"), ("email", "alice", "skipped")]
    [skipped] = [n for n in project.notifications() if n["status"] == "skipped"]
    assert skipped["last_error"] == "Skipped: read in the app before the delay."

    assert project.command("python manage.py check --fail-level WARNING") == (
        "System check identified no issues (0 silenced).\n"
    )

    pages = {name: tuple(page) for name, page in json.loads(project.shell(WHAT_ALICE_SEES)).items()}
    assert {name: status for name, (status, _html) in pages.items()} == {
        "login": 200,  # spire_notify/login.html, for projects without the help desk
        "inbox": 200,
        "preferences": 200,
        "previews": 200,
        "admin": 200,
    }
    assert TITLE in pages["inbox"][1]
    assert NAME in pages["preferences"][1]
    # The Notifier's preview() is on the previews page, under its type and its template.
    assert NAME in pages["previews"][1] and "blog/email/comment.html" in pages["previews"][1]
    # The admin's type filter on the Notification changelist offers the type.
    assert f'href="?event=blog.comment_posted">{NAME}</a>' in pages["admin"][1]
    # A project without the help desk sees no trace of it on the framework's pages.
    for name in ("login", "inbox", "preferences", "previews"):
        assert "help desk" not in pages[name][1].lower(), name


def test_why_compares_the_notification_of_the_quick_start_as_it_is_written_there():
    def files(page):
        return {title_of(block): block.code for block in fenced_blocks(page) if title_of(block)}

    quickstart, why = files(PAGE), files(DOCS / "why.md")
    for title in ("blog/notifiers.py", "blog/templates/blog/email/comment.html"):
        assert why[title] == quickstart[title], title
