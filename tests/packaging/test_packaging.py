"""The built distribution: what the wheel holds, and projects that install it.

- The wheel, built from the checkout or from the sdist, installs one import package,
  ``spire_notify``, ships each template once and leaves the demo out.
- Installed into a Django 5.2 project, it keeps Django 5.2, and ``check``, ``migrate`` and
  ticket creation work with the documented minimal settings (default templates found through
  APP_DIRS alone, migrations included).
- It sits beside django-helpdesk 2.6 (import name and app label ``helpdesk``) in one project,
  and beside a project's own top-level ``backends`` package.

Each project gets a virtualenv outside the checkout. The wheel is built once per run, pip
reuses its cache, and these tests run once, in the SQLite pass of `make test`: they do not
depend on the database nor on the Django the suite runs on.
"""

import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.timeout(1200),
    pytest.mark.skipif(
        os.environ.get("SPIRE_TEST_DB") == "postgres",
        reason="does not depend on the database: runs once, in the SQLite pass",
    ),
    pytest.mark.skipif(
        bool(os.environ.get("SPIRE_TEST_DJANGO_MATRIX")),
        reason="does not depend on the Django of the suite: runs once, in make test",
    ),
]

# Where each file of the repository's templates/ lands in the wheel (the package's links).
TEMPLATE_ROOTS = {
    "spire_notify": "spire_notify/templates/spire_notify",
    "helpdesk": "spire_notify/templates/helpdesk",
    "jinja2": "spire_notify/jinja2",
    "channels/app": "spire_notify/channels/app/templates",
    "channels/apprise": "spire_notify/channels/apprise/templates",
    "channels/email": "spire_notify/channels/email/templates",
    "channels/email-jinja2": "spire_notify/channels/email/jinja2",
    "channels/live": "spire_notify/channels/live/templates",
    "channels/webpush": "spire_notify/channels/webpush/templates",
}

CHANNEL_STATIC = [
    "spire_notify/channels/app/static/spire_notify/badge.js",
    "spire_notify/channels/live/static/spire_notify/live.js",
    "spire_notify/channels/webpush/static/spire_notify/push.js",
    "spire_notify/channels/webpush/static/spire_notify/push-sw.js",
]


def run(command, **kwargs):
    finished = subprocess.run(command, capture_output=True, text=True, timeout=900, **kwargs)
    assert finished.returncode == 0, (
        f"{command} failed:\n{finished.stdout[-3000:]}\n{finished.stderr[-3000:]}"
    )
    return finished.stdout


def build(outdir, *args, source=REPO):
    run([sys.executable, "-m", "build", "--outdir", str(outdir), *args, str(source)])


# What a checkout holds besides its sources: virtualenvs, caches and build output. setuptools
# reuses build/lib, where a module deleted since the last build would still sit, and ship.
NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv*",
    ".bench-venvs",
    "node_modules",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".hypothesis",
    ".pytest_cache",
    "demo-data",
    "screenshots",
    "site",
    "*.sqlite3",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel built from a clean copy of the checkout, as CI's fresh clone builds it, once."""
    checkout = tmp_path_factory.mktemp("checkout") / "spire-notify"
    shutil.copytree(REPO, checkout, symlinks=True, ignore=NOT_SOURCES)
    dist = tmp_path_factory.mktemp("dist")
    build(dist, "--wheel", source=checkout)
    [built] = dist.glob("spire_notify-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_from_sdist(tmp_path_factory):
    """The sdist built from the checkout, and the wheel built from the unpacked sdist."""
    dist = tmp_path_factory.mktemp("sdist")
    build(dist, "--sdist")
    [sdist] = dist.glob("spire_notify-*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(dist, filter="data")
    [unpacked] = (path for path in dist.iterdir() if path.is_dir())
    build(dist, "--wheel", source=unpacked)
    [built] = dist.glob("spire_notify-*.whl")
    return built


def repository_templates():
    return sorted(
        str(path.relative_to(REPO / "templates"))
        for path in (REPO / "templates").rglob("*")
        if path.is_file()
    )


def wheel_path(template):
    """Where ``template`` of templates/ lands in the wheel: the core's folders are one level deep,
    a channel's two (templates/channels/<channel>)."""
    depth = 2 if template.startswith("channels/") else 1
    parts = template.split("/")
    return "/".join([TEMPLATE_ROOTS["/".join(parts[:depth])], *parts[depth:]])


def is_template(name):
    parts = name.split("/")
    in_core = name.startswith(("spire_notify/templates/", "spire_notify/jinja2/"))
    in_channel = (
        parts[:2] == ["spire_notify", "channels"] and len(parts) > 4 and parts[3] in ("templates", "jinja2")
    )
    return (in_core or in_channel) and not name.endswith("/")


def assert_one_import_root_templates_once_and_no_demo(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = next(name.split("/")[0] for name in names if name.endswith(".dist-info/METADATA"))
        top_level = archive.read(f"{dist_info}/top_level.txt").decode().split()
    assert top_level == ["spire_notify"]
    assert {name.split("/")[0] for name in names} == {"spire_notify", dist_info}
    assert len(names) == len(set(names)), "a file is in the wheel twice"
    assert not [name for name in names if "demo" in name.split("/")]
    # Each template of templates/ once, where APP_DIRS finds it, and no other copy of any.
    expected = sorted(wheel_path(template) for template in repository_templates())
    shipped = sorted(name for name in names if is_template(name))
    assert shipped == expected
    assert len(expected) == len(repository_templates())
    # Each channel's static files, in the app that owns them.
    assert set(CHANNEL_STATIC) <= set(names)


def test_the_wheel_has_one_import_root_each_template_once_and_no_demo(wheel):
    assert_one_import_root_templates_once_and_no_demo(wheel)


def test_the_wheel_built_from_the_sdist_is_the_same(wheel, wheel_from_sdist):
    assert_one_import_root_templates_once_and_no_demo(wheel_from_sdist)
    with zipfile.ZipFile(wheel) as direct, zipfile.ZipFile(wheel_from_sdist) as via_sdist:
        assert sorted(direct.namelist()) == sorted(via_sdist.namelist())


def test_the_quick_start_and_readme_name_the_wheel_the_build_writes(wheel):
    for page in (REPO / "docs" / "quickstart.md", REPO / "README.md"):
        assert f"spire-notify/dist/{wheel.name}" in page.read_text(), page


# Projects that install the wheel


class VirtualEnv:
    """A virtualenv without pip of its own: this Python's pip installs into it (with its cache)."""

    def __init__(self, path):
        run([sys.executable, "-m", "venv", "--without-pip", str(path)])
        self.python = path / "bin" / "python"

    def install(self, *requirements):
        run([sys.executable, "-m", "pip", "--python", str(self.python), "install", "--quiet", *requirements])

    def version_of(self, distribution):
        code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
        return run([str(self.python), "-c", code]).strip()


@pytest.fixture(scope="module")
def django52_venv(wheel, tmp_path_factory):
    """A Django 5.2 project's virtualenv, into which the wheel is then installed."""
    venv = VirtualEnv(tmp_path_factory.mktemp("venv") / "django52")
    venv.install("Django~=5.2.0")
    venv.install(str(wheel))
    return venv


MANAGE_PY = textwrap.dedent("""
    import sys
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
""")

# The mailer tests read mail.outbox from: MAILERS on Django 6.1, EMAIL_BACKEND before it.
LOCMEM_MAIL = textwrap.dedent("""
    from spire_notify.compat import HAS_MAILERS
    if HAS_MAILERS:
        MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    else:
        EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
""")

MINIMAL_SETTINGS = (
    textwrap.dedent("""
    SECRET_KEY = "packaging-test"
    USE_TZ = True
    INSTALLED_APPS = [
        "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sites",
        "spire_notify", "spire_notify.channels.app", "spire_notify.channels.email", "spire_notify.helpdesk",
    ]
    SITE_ID = 1
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
    TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
    ROOT_URLCONF = "project_urls"
    ADMINS = [("Dev", "dev@example.com")]  # the form Django 5.2 and 6.x all take
    DEFAULT_FROM_EMAIL = "helpdesk@example.com"
    DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
""")
    + LOCMEM_MAIL
)

URLS = textwrap.dedent("""
    from django.urls import include, path
    urlpatterns = [
        path("help_desk/", include("spire_notify.helpdesk.urls")),
        path("notifications/", include("spire_notify.urls")),
    ]
""")

# Run in `manage.py shell`: templates found, a ticket created, its notifications delivered.
SCENARIO = textwrap.dedent("""
    import django
    from django.core import mail
    from django.template.loader import get_template
    import spire_notify

    assert "site-packages" in spire_notify.__file__, spire_notify.__file__  # the wheel, not the checkout
    for name in ["spire_notify/email/base.html", "helpdesk/email/ticket_new.html"]:
        get_template(name)
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
    with translation.override("de"):  # the compiled catalogue ships too
        assert str(HelpDeskTicketPriorityChoices.HIGH.label) == "Hoch"
    print("TICKET OK on Django", django.get_version())
""")


class Project:
    """A Django project directory, run with a virtualenv's Python from outside the checkout."""

    def __init__(self, directory, venv, *, settings, urls=URLS):
        self.directory, self.venv = directory, venv
        directory.mkdir()
        (directory / "manage.py").write_text(MANAGE_PY)
        (directory / "project_settings.py").write_text(settings)
        (directory / "project_urls.py").write_text(urls)

    def manage(self, *args):
        return run(
            [str(self.venv.python), "manage.py", *args],
            cwd=self.directory,
            env={"DJANGO_SETTINGS_MODULE": "project_settings", "PATH": "/usr/bin:/bin"},
        )

    def check_migrate_and_create_a_ticket(self):
        check = self.manage("check")
        self.manage("migrate", "--verbosity=0")
        return check, self.manage("shell", "--verbosity=0", "--command", SCENARIO)


def test_the_wheel_in_a_django_52_project_keeps_django_52(django52_venv, tmp_path):
    assert django52_venv.version_of("Django").startswith("5.2.")
    assert django52_venv.version_of("django-tasks").split(".")[:2] >= ["0", "12"]
    project = Project(tmp_path / "project", django52_venv, settings=MINIMAL_SETTINGS)
    check, scenario = project.check_migrate_and_create_a_ticket()
    assert check == "System check identified no issues (0 silenced).\n"
    assert scenario.startswith("TICKET OK on Django 5.2.")


def test_a_project_with_its_own_backends_package(django52_venv, tmp_path):
    project = Project(tmp_path / "project", django52_venv, settings=MINIMAL_SETTINGS)
    backends = project.directory / "backends"
    backends.mkdir()
    (backends / "__init__.py").write_text('"""The project\'s own backends (payments, say)."""\n')
    (backends / "payments.py").write_text("PROVIDER = 'the project'\n")
    check, scenario = project.check_migrate_and_create_a_ticket()
    assert check == "System check identified no issues (0 silenced).\n"
    assert scenario.startswith("TICKET OK")
    assert project.manage(
        "shell", "--verbosity=0", "--command", "import backends.payments; print(backends.payments.PROVIDER)"
    ) == ("the project\n")


BESIDE_DJANGO_HELPDESK = (
    textwrap.dedent("""
    SECRET_KEY = "packaging-test"
    USE_TZ = True
    INSTALLED_APPS = [
        "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
        "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
        "django.contrib.sites", "django.contrib.humanize",
        "rest_framework",
        "helpdesk",  # django-helpdesk: import name and app label "helpdesk"
        "spire_notify", "spire_notify.channels.app", "spire_notify.channels.email",
        "spire_notify.helpdesk",  # ours: app label "spire_helpdesk"
    ]
    SITE_ID = 1
    MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ]
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
    TEMPLATES = [{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": [
            "django.template.context_processors.request",
            "django.contrib.auth.context_processors.auth",
            "django.contrib.messages.context_processors.messages",
        ]},
    }]
    ROOT_URLCONF = "project_urls"
    STATIC_URL = "/static/"
    HELPDESK_TEAMS_MODE_ENABLED = False  # its teams need pinax-teams, which is optional
    ADMINS = [("Dev", "dev@example.com")]
    DEFAULT_FROM_EMAIL = "helpdesk@example.com"
    DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
""")
    + LOCMEM_MAIL
)

BOTH_URLCONFS = textwrap.dedent("""
    from django.urls import include, path
    urlpatterns = [
        path("helpdesk/", include("helpdesk.urls", namespace="helpdesk")),
        path("help_desk/", include("spire_notify.helpdesk.urls")),
        path("notifications/", include("spire_notify.urls")),
    ]
""")

# Both apps answer: their URLs reverse, their models are distinct tables.
BOTH_APPS_ANSWER = textwrap.dedent("""
    from django.apps import apps
    from django.urls import reverse
    import helpdesk.models, spire_notify.helpdesk.models
    print(apps.get_app_config("helpdesk").name, apps.get_app_config("spire_helpdesk").name)
    print(helpdesk.models.Ticket._meta.db_table, spire_notify.helpdesk.models.HelpDeskTicket._meta.db_table)
    print(reverse("helpdesk:home"), reverse("spire_helpdesk:ticket_detail", args=[1]))
""")


def test_beside_django_helpdesk_in_one_project(wheel, tmp_path):
    venv = VirtualEnv(tmp_path / "venv")
    venv.install(str(wheel), "django-helpdesk==2.6.1")
    project = Project(tmp_path / "project", venv, settings=BESIDE_DJANGO_HELPDESK, urls=BOTH_URLCONFS)
    check, scenario = project.check_migrate_and_create_a_ticket()
    assert "spire_" not in check, check
    assert scenario.startswith("TICKET OK")
    assert project.manage("shell", "--verbosity=0", "--command", BOTH_APPS_ANSWER).splitlines() == [
        "helpdesk spire_notify.helpdesk",
        "helpdesk_ticket spire_helpdesk_helpdeskticket",
        "/helpdesk/ /help_desk/page/1/detail/",
    ]
