"""spire_notify.channels.email.backend with the "engine" option: the same blocks, from the Jinja2 twin templates."""

import jinja2
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from spire_notify.channels.email.backend import EmailBackend
from tests.channels.test_backend_email import (
    DEVELOPER,
    ParsedEmailHTML,
    as_html_reads_it,
    baseline_tags,
    descriptions,
    html_of,
    ticket_message,
)

# Rendering time varies with the machine's load; a deadline would only make the properties flaky.
no_deadline = settings(deadline=None)


def render(message, engine="jinja2", **options):
    backend = EmailBackend(alias="email", domain="example.com", engine=engine, **options)
    return backend.render(message, DEVELOPER)


def test_jinja2_twin_renders_the_same_email_as_the_django_template():
    message = ticket_message(pk=12, priority="low", purpose="company", description="Printer <jammed> & hot")
    jinja2, django = render(message).content, render(message, engine=None).content
    assert jinja2.subject == django.subject == "[Low] New Help Desk Ticket #12"
    assert jinja2.body == django.body
    assert html_of(render(message)) == html_of(render(message, engine=None))


@no_deadline
@given(description=descriptions)
def test_description_appears_escaped_and_never_as_markup(description):
    rendered = render(ticket_message(description=description))
    parsed = ParsedEmailHTML(html_of(rendered))
    assert parsed.description == as_html_reads_it(description)
    assert parsed.tags_in_description == []
    assert parsed.tags == baseline_tags()
    assert f"Description:\n{description}\n\nOpen it: " in rendered.content.body


@no_deadline
@given(pk=st.integers(min_value=1, max_value=2**63 - 1))
def test_url_is_absolute(pk):
    rendered = render(ticket_message(pk=pk))
    assert rendered.url == f"https://example.com/help_desk/page/{pk}/detail/"
    assert ParsedEmailHTML(html_of(rendered)).links[0] == rendered.url


def test_css_is_inlined():
    html = html_of(render(ticket_message()))
    assert "<style" not in html
    assert ParsedEmailHTML(html).unstyled_classes == []


def test_project_jinja2_template_overrides_the_default(tmp_path):
    (tmp_path / "helpdesk" / "email").mkdir(parents=True)
    (tmp_path / "helpdesk" / "email" / "ticket_new.html").write_text(
        '{% extends "spire_notify/email/base.html" %}'
        "{% block content %}<p>Ours: {{ target.pk }}</p>{% endblock %}"
    )
    engine = {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "jinja2",
        "DIRS": [tmp_path],
        "APP_DIRS": True,
        "OPTIONS": {"environment": "spire_notify.jinja2_env.environment"},
    }
    with override_settings(TEMPLATES=[engine]):
        rendered = render(ticket_message(pk=9))
    assert rendered.content.subject == "New Help Desk Ticket #9"
    assert ">Ours: 9</p>" in html_of(rendered)


def test_unknown_engine_is_a_check_error():
    assert [(error.id, error.msg) for error in EmailBackend(alias="email", engine="mako").check()] == [
        ("spire_notify.E014", "NOTIFY_BACKENDS['email']: the template engine 'mako' is not in TEMPLATES.")
    ]


@pytest.mark.parametrize("engine", [None, "jinja2"])
def test_known_engines_pass_the_check(engine):
    assert EmailBackend(alias="email", engine=engine).check() == []


def jinja2_engine(**options):
    return [
        {
            "BACKEND": "django.template.backends.jinja2.Jinja2",
            "NAME": "jinja2",
            "APP_DIRS": True,
            "OPTIONS": {"environment": "spire_notify.jinja2_env.environment"} | options,
        }
    ]


@pytest.mark.parametrize(
    "autoescape", [False, jinja2.select_autoescape(enabled_extensions=("xml",), default=False)]
)
def test_engine_that_does_not_autoescape_is_a_check_error_and_stops_the_worker(autoescape):
    with override_settings(TEMPLATES=jinja2_engine(autoescape=autoescape)):
        backend = EmailBackend(alias="email", engine="jinja2")
        errors = backend.check()
        with pytest.raises(ImproperlyConfigured, match=r"^spire_notify\.E016: "):
            backend.validate()
    assert [(error.id, error.msg) for error in errors] == [
        (
            "spire_notify.E016",
            "NOTIFY_BACKENDS['email']: the template engine of 'spire_notify/email/notification.html' does "
            "not autoescape, so text a message carries (a description, a comment) would reach the email's "
            "HTML as markup.",
        )
    ]


def test_engine_that_autoescapes_html_by_extension_passes():
    with override_settings(TEMPLATES=jinja2_engine(autoescape=jinja2.select_autoescape(["html"]))):
        assert EmailBackend(alias="email", engine="jinja2").check() == []


def test_template_that_does_not_exist_is_a_check_error():
    errors = EmailBackend(alias="email", engine="jinja2", template="nowhere/email.html").check()
    assert [(error.id, error.msg) for error in errors] == [
        ("spire_notify.E015", "NOTIFY_BACKENDS['email']: the template 'nowhere/email.html' does not exist.")
    ]


def test_template_that_does_not_compile_is_a_check_error(tmp_path):
    (tmp_path / "broken.html").write_text("{% block subject %}unclosed")
    engine = jinja2_engine()[0] | {"DIRS": [tmp_path]}
    with override_settings(TEMPLATES=[engine]):
        errors = EmailBackend(alias="email", engine="jinja2", template="broken.html").check()
    assert [(error.id, error.msg) for error in errors] == [
        (
            "spire_notify.E019",
            "NOTIFY_BACKENDS['email']: the template 'broken.html' cannot be compiled: Unexpected end of "
            "template. Jinja was looking for the following tags: 'endblock'. The innermost block that "
            "needs to be closed is 'block'.",
        )
    ]
