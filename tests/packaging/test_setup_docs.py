"""What the README, the quick start and the automations page tell a new user to configure, and
the errors they show, are what the code accepts and prints.

- Each page shows a complete SMTP ``MAILERS`` entry with a ``timeout``, and its ``EMAIL_*``
  equivalent for Django 5.2 and 6.0; the two describe the same server, and the one the running
  Django reads builds a mailer that the email backend's checks pass without a word.
- The README's settings pass spire-notify's checks as written.
- docs/automations.md shows the output ``process_notifications`` prints for a misconfiguration.
- docs/live-inbox.md installs a server that runs the ASGI application, and says before anything
  else that writers outside that process need ``EVENTSTREAM_REDIS``.
"""

import os
import subprocess
import sys
import textwrap

import pytest
from django.test import override_settings

from spire_notify.channels.email.backend import EmailBackend
from spire_notify.compat import HAS_MAILERS, get_mailer
from tests.mail_settings import EMAIL_SETTING_OF_OPTION, SMTP
from tests.packaging import test_docs_snippets
from tests.packaging.test_docs_snippets import DOCS, ROOT, SETTINGS_TITLE, fenced_blocks

README = ROOT / "README.md"
PAGES_WITH_SMTP = [README, DOCS / "quickstart.md", DOCS / "automations.md"]
BEFORE_MAILERS_TITLE = 'title="settings.py, on Django 5.2 and 6.0"'


def mail_settings_of(block):
    namespace = {}
    exec(block.compile(), namespace)
    return {
        name: value for name, value in namespace.items() if name == "MAILERS" or name.startswith("EMAIL_")
    }


def smtp_blocks(page):
    """The page's MAILERS block and its EMAIL_* equivalent, as settings."""
    blocks = [block for block in fenced_blocks(page) if block.info.startswith("python")]
    [mailers] = [
        mail_settings_of(block)
        for block in blocks
        if SETTINGS_TITLE in block.info and "MAILERS = " in block.code
    ]
    [email] = [
        mail_settings_of(block)
        for block in blocks
        if BEFORE_MAILERS_TITLE in block.info and "EMAIL_HOST = " in block.code
    ]
    return mailers, email


@pytest.mark.parametrize("page", PAGES_WITH_SMTP, ids=lambda page: page.name)
def test_the_page_shows_a_complete_smtp_mailer_and_its_email_settings(page):
    mailers, email = smtp_blocks(page)
    entry = mailers["MAILERS"]["default"]
    options = entry["OPTIONS"]
    assert entry["BACKEND"] == SMTP
    assert {"host", "port", "timeout"} <= set(options)
    assert email == {
        "EMAIL_BACKEND": SMTP,
        **{EMAIL_SETTING_OF_OPTION[option]: value for option, value in options.items()},
    }
    with override_settings(**(mailers if HAS_MAILERS else email)):
        assert get_mailer("default").timeout == options["timeout"]
        # No E013/E018 (it builds), no W010/W011 (its timeout suits the default lease).
        assert [message.id for message in EmailBackend(alias="email", domain="example.com").check()] == []


def test_the_readme_settings_pass_the_checks_as_written(tmp_path):
    [block] = [block for block in fenced_blocks(README) if block.info == f"python {SETTINGS_TITLE}"]
    # The check every docs/ settings fragment passes.
    test_docs_snippets.test_settings_fragment_configures_what_it_claims(block, tmp_path)


MISCONFIGURED_SETTINGS = textwrap.dedent("""
    from tests.settings import *  # noqa: F403

    DEBUG = True
    del DEVELOPMENT_EMAIL  # noqa: F821
""")


@pytest.mark.parametrize(
    "command",
    ["python manage.py process_notifications", "python manage.py process_notifications --skip-checks"],
)
def test_automations_shows_what_a_misconfigured_worker_prints(command, tmp_path):
    [shown] = [
        block.code
        for block in fenced_blocks(DOCS / "automations.md")
        if block.info == "console" and block.code.startswith(f"$ {command}\n") and "E010" in block.code
    ]
    (tmp_path / "misconfigured_settings.py").write_text(MISCONFIGURED_SETTINGS)
    finished = subprocess.run(
        [sys.executable, "-m", "django", *command.split()[2:]],
        cwd=ROOT,
        env=os.environ
        | {"DJANGO_SETTINGS_MODULE": "misconfigured_settings", "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 1
    assert f"$ {command}\n{finished.stdout}{finished.stderr}" == shown


def test_the_live_inbox_page_installs_an_asgi_server_and_warns_about_other_writers():
    page = (DOCS / "live-inbox.md").read_text()
    [install, *_] = [block.code for block in fenced_blocks(DOCS / "live-inbox.md") if block.info == "bash"]
    # The live extra brings django-eventstream only; the page's install line adds the server.
    assert install.split() == ["pip", "install", '"spire-notify[live]"', "uvicorn"]
    top = page.split("\n## ")[0]
    assert "uvicorn mysite.asgi:application" in top
    assert "EVENTSTREAM_REDIS" in top and "spire_notify.W070" in top
