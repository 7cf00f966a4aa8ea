"""The wheel, installed into a fresh virtualenv outside the checkout, works with the documented
minimal settings: default templates found through APP_DIRS alone, migrations included."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        os.environ.get("SPIRE_TEST_DB") == "postgres",
        reason="does not depend on the database: runs once, in the SQLite pass",
    ),
]

MINIMAL_SETTINGS = textwrap.dedent("""
    SECRET_KEY = "packaging-test"
    USE_TZ = True
    INSTALLED_APPS = [
        "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sites",
        "spire_notify", "spire_notify.helpdesk",
    ]
    SITE_ID = 1
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
    TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
    ROOT_URLCONF = "project_urls"
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    ADMINS = ["dev@example.com"]
    DEFAULT_FROM_EMAIL = "helpdesk@example.com"
""")

URLS = textwrap.dedent("""
    from django.urls import include, path
    urlpatterns = [
        path("help_desk/", include("spire_notify.helpdesk.urls")),
        path("notifications/", include("spire_notify.urls")),
    ]
""")

SCENARIO = textwrap.dedent("""
    import django
    django.setup()
    from pathlib import Path
    from django.core import mail
    from django.core.management import call_command
    from django.template.loader import get_template
    import spire_notify, spire_notify.helpdesk

    # Imported from the wheel, not from the checkout.
    assert "site-packages" in spire_notify.__file__, spire_notify.__file__
    for name in ["spire_notify/email/base.html", "helpdesk/email/ticket_new.html"]:
        get_template(name)
    django.test.utils.setup_test_environment()
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User
    from spire_notify.helpdesk.models import HelpDeskTicket
    from spire_notify.models import Notification
    developer = User.objects.create_user("dev", "dev@example.com")
    ticket = HelpDeskTicket().services.create(
        created_by=developer, purpose="app", priority="high", description="From the wheel",
    )
    statuses = sorted(Notification.objects.values_list("channel", "status"))
    assert statuses == [("app", "sent"), ("email", "sent")], statuses
    html = mail.outbox[0].alternatives[0].content
    assert "From the wheel" in html and "style=" in html, html[:500]
    from django.utils import translation
    from spire_notify.helpdesk.choices import HelpDeskTicketPriorityChoices
    with translation.override("de"):
        assert str(HelpDeskTicketPriorityChoices.HIGH.label) == "Hoch"
    print("WHEEL OK")
""")


def run(command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


def test_wheel_in_a_fresh_virtualenv(tmp_path):
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO)])
    wheel = next(dist.glob("spire_notify-*.whl"))
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--quiet", str(wheel)])
    project = tmp_path / "project"
    project.mkdir()
    (project / "project_settings.py").write_text(MINIMAL_SETTINGS)
    (project / "project_urls.py").write_text(URLS)
    (project / "scenario.py").write_text("import django.test.utils\n" + SCENARIO)
    result = subprocess.run(
        [str(python), "scenario.py"],
        cwd=project,
        env={"DJANGO_SETTINGS_MODULE": "project_settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WHEEL OK" in result.stdout
