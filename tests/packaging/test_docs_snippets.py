"""Every Python snippet of docs/ runs against the code, so the documentation cannot drift.

The convention, for whoever writes a page:

- ```` ```python ```` blocks are executed, page by page, top to bottom in one namespace (a
  reader follows a page in order), with the test settings and a database; each block's
  transaction commits as it would in a shell, so delivery runs.
- ```` ```python title="settings.py" ```` blocks are settings fragments: they are executed on top
  of a ``startproject``-like baseline, every name they set must be a setting that Django or
  spire-notify reads, and what they configure (``NOTIFY_BACKENDS``, ``TASKS``, ``MAILERS``)
  must build and pass spire-notify's system checks.
- Any other ```` ```python … ```` block (another ``title=``) must at least compile.
"""

import copy
import importlib.util
import inspect
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import global_settings
from django.core.checks.registry import registry
from django.test import override_settings
from django.utils.module_loading import import_string

import tests.settings
from spire_notify import conf
from spire_notify.compat import HAS_MAILERS, get_mailer, task_backends
from spire_notify.handler import notify_backends
from spire_notify.testing import isolated_notifiers

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
OPENING_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# pymdownx.snippets' include line: the block shows that file of the repository.
INCLUDE = re.compile(r'^--8<-- "(?P<path>[^":]+)(?::(?P<section>[\w-]+))?"$')
SETTINGS_TITLE = 'title="settings.py"'
# Apps of a fresh `django-admin startproject`, which fragments extend with `+=`.
STARTPROJECT_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
# Set in a settings file but not overridable in a running process.
NOT_OVERRIDABLE = {"BASE_DIR", "INSTALLED_APPS", "DATABASES"}
PACKAGES = ("spire_notify", "backends", "helpdesk")
SETTINGS_READ_IN_CODE = re.compile(
    r"""settings\.([A-Z][A-Z0-9_]+)|getattr\(settings, ["']([A-Z][A-Z0-9_]+)["']"""
)


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # of the first line of code in the page, 1-based
    info: str
    code: str

    @property
    def id(self):
        return f"{self.page}:{self.line}"

    def compile(self):
        # Padding makes tracebacks point at the line of the Markdown file.
        return compile("\n" * (self.line - 1) + self.code, str(DOCS / self.page), "exec")


def included(path, section=None):
    """What ``--8<-- "path"`` (or ``"path:section"``: the lines between the file's
    ``--8<-- [start:section]`` and ``--8<-- [end:section]`` lines) puts on the page."""
    text = (ROOT / path).read_text().rstrip("\n")
    if section is None:
        return text
    lines = text.splitlines()
    [start] = [number for number, line in enumerate(lines) if line.endswith(f"--8<-- [start:{section}]")]
    [end] = [number for number, line in enumerate(lines) if line.endswith(f"--8<-- [end:{section}]")]
    return "\n".join(lines[start + 1 : end])


def fenced_blocks(path):
    """The fenced code blocks of a Markdown file, indented ones (in admonitions) included."""
    page = os.path.relpath(path, DOCS)  # "../README.md" for the README
    lines = path.read_text().splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = OPENING_FENCE.match(lines[index])
        index += 1
        if not opening:
            continue
        indent, fence, start, code = opening["indent"], opening["fence"], index, []
        while index < len(lines) and lines[index].strip() != fence:
            line = lines[index][len(indent) :] if lines[index].startswith(indent) else lines[index]
            include = INCLUDE.match(line.strip())
            code.append(included(include["path"], include["section"]) if include else line)
            index += 1
        index += 1
        blocks.append(Block(page, start + 1, opening["info"].strip(), "\n".join(code) + "\n"))
    return blocks


def all_blocks():
    return [block for path in sorted(DOCS.rglob("*.md")) for block in fenced_blocks(path)]


def is_python(block):
    return block.info.split(" ")[0] in {"python", "py"}


EXECUTED = [block for block in all_blocks() if block.info == "python"]
FRAGMENTS = [block for block in all_blocks() if is_python(block) and SETTINGS_TITLE in block.info]
PAGES = sorted({block.page for block in EXECUTED})


def known_settings():
    """Settings Django defines, spire-notify defaults, or the project's code reads."""
    names = {name for name in dir(global_settings) if name.isupper()}
    names |= set(conf.DEFAULTS) | {"BASE_DIR", "MAILERS", "NOTIFY_BACKENDS", "SITE_ID"}
    for package in PACKAGES:
        for source in (ROOT / package).rglob("*.py"):
            if "demo" in source.relative_to(ROOT).parts:
                continue  # the demo site's own settings are not spire-notify's
            for match in SETTINGS_READ_IN_CODE.finditer(source.read_text()):
                names.add(match[1] or match[2])
    return names


def our_check_messages():
    """The messages of spire-notify's and the help desk's system checks (Django's own need a
    database connection and say nothing about these settings)."""
    ours = [check for check in registry.get_checks() if check.__module__.split(".")[0] in PACKAGES]
    return [
        message
        for check in ours
        for message in check(app_configs=None, databases=None)
        # The help desk's Notifiers, installed by the test settings, are not what a fragment
        # configures: a fragment with other channels leaves theirs out (E113), and their
        # previews read the Site from a database this test does not open (E117).
        if not message.msg.startswith("spire_notify.helpdesk.notifiers.")
    ]


def apps_the_page_creates(page):
    """The apps a page's ``bash`` blocks create with ``startapp`` (the quick start's blog): its
    settings list them before they exist anywhere but in the reader's project."""
    return {
        match[1]
        for block in fenced_blocks(DOCS / page)
        if block.info == "bash"
        for match in re.finditer(r"manage\.py startapp (\w+)", block.code)
    }


def baseline_settings(base_dir):
    baseline = {name: copy.deepcopy(value) for name, value in vars(tests.settings).items() if name.isupper()}
    # startproject configures the Django engine only; fragments add Jinja2 themselves.
    django_engine = [
        engine for engine in baseline["TEMPLATES"] if engine["BACKEND"].endswith("DjangoTemplates")
    ]
    return baseline | {
        "BASE_DIR": base_dir,
        "INSTALLED_APPS": list(STARTPROJECT_APPS),
        "TEMPLATES": django_engine,
    }


def test_the_docs_have_snippets_of_each_kind():
    assert "quickstart.md" in PAGES
    assert any(block.page == "quickstart.md" for block in FRAGMENTS)


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_python_blocks_of_a_page_run_in_order(page, django_capture_on_commit_callbacks):
    namespace = {"__name__": f"docs.{page}"}
    # A page's Notifiers are the page's: the next page, and the checks, never meet them.
    with isolated_notifiers():
        for block in (block for block in EXECUTED if block.page == page):
            with django_capture_on_commit_callbacks(execute=True):
                exec(block.compile(), namespace)


@pytest.mark.parametrize("block", FRAGMENTS, ids=lambda block: block.id)
def test_settings_fragment_configures_what_it_claims(block, tmp_path):
    baseline = baseline_settings(tmp_path)
    namespace = copy.deepcopy(baseline)
    exec(block.compile(), namespace)
    changed = {
        name: value
        for name, value in namespace.items()
        if name.isupper() and (name not in baseline or baseline[name] != value)
    }

    assert changed, "a settings fragment that sets nothing"
    assert sorted(set(changed) - known_settings()) == []
    if not HAS_MAILERS and set(changed.get("MAILERS", {})) - {"default"}:
        # Before Django 6.1 the one mailer is EMAIL_*'s; the page says the fragment needs 6.1.
        pytest.skip("the fragment names MAILERS aliases besides 'default', which need Django 6.1")
    for app in changed.get("INSTALLED_APPS", []):
        if app is not Ellipsis and app not in apps_the_page_creates(block.page):
            assert importlib.util.find_spec(app) or import_string(app), app
    overridable = {name: value for name, value in changed.items() if name not in NOT_OVERRIDABLE}
    with override_settings(**overridable):
        for alias in notify_backends:
            notify_backends.create_backend(alias)
        for alias in changed.get("TASKS", {}):
            task_backends.create_connection(alias)
        for alias in changed.get("MAILERS", {}):
            get_mailer(alias)
        errors = [f"{message.id}: {message.msg}" for message in our_check_messages() if message.is_serious()]
    assert errors == []


@pytest.mark.parametrize(
    "block", [block for block in all_blocks() if is_python(block)], ids=lambda block: block.id
)
def test_every_python_block_compiles(block):
    block.compile()


def check_ids_in_code():
    """Every system check ID the code can report."""
    ids = set()
    for package in PACKAGES:
        for source in (ROOT / package).rglob("*.py"):
            text = source.read_text()
            ids |= {
                f"{app}.{code}"
                for app, code in re.findall(r'id="(spire_notify|helpdesk)\.([EWC]\d{3})"', text)
            }
            # InvalidNotifyBackend carries the bare code; spire_notify.checks adds the prefix.
            ids |= {f"spire_notify.{code}" for code in re.findall(r'check_id="([EWC]\d{3})"', text)}
    return ids


def backend_options():
    """``{backend class path: its OPTIONS}``, from the keyword arguments of each ``__init__``."""
    from spire_notify.backends.base import BaseNotificationBackend

    options = {}
    modules = [f"spire_notify.backends.{source.stem}" for source in sorted((ROOT / "backends").glob("*.py"))]
    modules += [
        f"spire_notify.channels.{source.parent.name}.backend"
        for source in sorted((ROOT / "spire_notify" / "channels").glob("*/backend.py"))
    ]
    for name in modules:
        module = importlib.import_module(name)
        for backend in vars(module).values():
            if (
                isinstance(backend, type)
                and issubclass(backend, BaseNotificationBackend)
                and backend.render is not BaseNotificationBackend.render  # a base to build on
                and backend.__module__ == module.__name__
            ):
                parameters = inspect.signature(backend.__init__).parameters.values()
                options[f"{module.__name__}.{backend.__name__}"] = [
                    parameter.name
                    for parameter in parameters
                    if parameter.kind is parameter.KEYWORD_ONLY and parameter.name != "alias"
                ]
    return options


def command_options(name):
    from django.core.management import load_command_class
    from django.core.management.base import BaseCommand

    standard = {
        option
        for action in BaseCommand().create_parser("manage.py", name)._actions
        for option in action.option_strings
    }
    command = load_command_class("spire_notify", name)
    return sorted(
        {
            option
            for action in command.create_parser("manage.py", name)._actions
            for option in action.option_strings
            if option.startswith("--")
        }
        - standard
    )


def test_the_reference_names_every_setting_option_command_option_and_check():
    reference = (DOCS / "reference.md").read_text()
    settings_read = {name for name in known_settings() if name.startswith("NOTIFY_")}
    names = (
        [f"`{name}`" for name in sorted(settings_read | {"DEVELOPMENT_EMAIL"})]
        + [f"`{check_id}`" for check_id in sorted(check_ids_in_code())]
        + [f"### `{path}`" for path in backend_options()]
        + [f"`{option}`" for options in backend_options().values() for option in options]
        + [f"`{option}`" for option in command_options("process_notifications")]
    )
    assert [name for name in names if name not in reference] == []


def test_every_include_line_is_one_the_snippets_extension_reads():
    """ruff formats Python blocks in Markdown and reads an include line as code
    (``--8 < --"path"``): such a block is fenced with ``<!-- fmt: off -->``."""
    mangled = [
        f"{page.relative_to(DOCS)}: {line.strip()}"
        for page in sorted(DOCS.rglob("*.md"))
        for line in page.read_text().splitlines()
        if "--8" in line and not INCLUDE.match(line.strip()) and "[start:" not in line and "[end:" not in line
    ]
    assert mangled == []
