"""Rendering the django-templated-mail blocks ``subject``, ``text_body`` and ``html_body``.

django-templated-mail walks only the top-level nodes of a template, so a template that
``{% extends %}`` a layout renders as an empty email. django-render-block resolves the
inheritance chain for Django templates; for Jinja2, running the template once fills its
context with every block of the chain, after which each block renders on its own.
"""

import functools
import importlib.util
import logging
from dataclasses import dataclass

from django.core.checks import Error
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import TemplateDoesNotExist, TemplateSyntaxError, engines
from django.template.backends.django import Template as DjangoTemplate
from django.template.loader import get_template
from django.utils.html import strip_tags
from render_block import BlockNotFound
from render_block.django import django_render_block
from templated_mail.mail import BaseEmailMessage

from spire_notify.pinned.jinja2_blocks import render_jinja2_blocks
from spire_notify.pinned.premailer_css import OfflinePremailer

BLOCK_NAMES = ("subject", "text_body", "html_body")


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str


class TemplatedEmail(BaseEmailMessage):
    """templated-mail's message, whose blocks may live in a parent template or in Jinja2."""

    def __init__(self, *, template_name, context, engine=None):
        super().__init__(context=context, template_name=template_name)
        self.engine = engine

    def render(self):
        template = load_template(self.template_name, self.engine)
        blocks = render_blocks(template, self.get_context_data())
        # A subject is a header: one line, whitespace folded, whatever the template produced.
        self.subject = " ".join(blocks["subject"].split())
        self.html = blocks["html_body"].strip()
        self.body = blocks["text_body"].strip() or text_from_html(self.html)

    def content(self) -> EmailContent:
        return EmailContent(subject=self.subject, text=self.body, html=self.html or "")


def load_template(name, engine=None):
    """``name`` from the ``TEMPLATES`` engine named ``engine``, or from the first that has it."""
    if engine is None:
        return get_template(name)
    return engines[engine].get_template(name)


def template_problem(name, engine=None) -> str:
    """``""`` when ``name`` loads from ``engine`` (or, for ``None``, from the first engine that
    has it); else one sentence naming the template and the engines that lack it."""
    if engine is not None and engine not in engines:
        return f"The email template engine {engine!r} is not in TEMPLATES."
    try:
        _loads(name, engine)
    except TemplateDoesNotExist:
        lacking = [engine] if engine is not None else [each.name for each in engines.all()]
        noun = "engine" if len(lacking) == 1 else "engines"
        return (
            f"The email template {name!r} does not exist in the template {noun} "
            f"{', '.join(map(repr, lacking))}."
        )
    except TemplateSyntaxError as error:
        return f"The email template {name!r} cannot be compiled: {error.__cause__ or error}"
    return ""


@functools.cache
def _loads(name, engine):
    """Load ``name`` once per process and ``TEMPLATES``: ``notify()`` asks on every call. What
    cannot load raises, and an exception is not cached: a missing template is looked for again."""
    load_template(name, engine)
    return True


@receiver(setting_changed)
def _forget_loaded_templates(*, setting, **kwargs):
    if setting == "TEMPLATES":
        _loads.cache_clear()


def autoescapes(template) -> bool:
    """Whether ``template`` escapes what it renders: user text must never become markup."""
    if isinstance(template, DjangoTemplate):
        # django-render-block renders in a fresh Context, which always autoescapes.
        return True
    autoescape = template.template.environment.autoescape
    return bool(autoescape(template.template.name) if callable(autoescape) else autoescape)


def template_errors(alias, name, engine=None) -> list[Error]:
    """System check errors about rendering email from template ``name`` with ``engine``."""
    prefix = f"NOTIFY_BACKENDS[{alias!r}]:"
    if engine is not None and engine not in engines:
        return [
            Error(
                f"{prefix} the template engine {engine!r} is not in TEMPLATES.",
                hint="Name the NAME of a TEMPLATES entry in the 'engine' option, or leave it out.",
                id="spire_notify.E014",
            )
        ]
    try:
        template = load_template(name, engine)
    except TemplateDoesNotExist:
        return [
            Error(
                f"{prefix} the template {name!r} does not exist.",
                hint="Create the template, or name an existing one in the 'template' option.",
                id="spire_notify.E015",
            )
        ]
    except TemplateSyntaxError as error:
        # Django's Jinja2 backend wraps the engine's own error, whose text is the readable one.
        return [
            Error(
                f"{prefix} the template {name!r} cannot be compiled: {error.__cause__ or error}",
                hint="Fix the template's syntax; the error above names the line.",
                id="spire_notify.E019",
            )
        ]
    if autoescapes(template):
        return []
    return [
        Error(
            f"{prefix} the template engine of {name!r} does not autoescape, so text a message "
            "carries (a description, a comment) would reach the email's HTML as markup.",
            hint="Leave 'autoescape' on in that TEMPLATES entry's OPTIONS.",
            id="spire_notify.E016",
        )
    ]


def render_blocks(template, context) -> dict[str, str]:
    if isinstance(template, DjangoTemplate):
        return {name: _render_django_block(template, name, context) for name in BLOCK_NAMES}
    return render_jinja2_blocks(template, context, BLOCK_NAMES)


def _render_django_block(template, name, context):
    try:
        return django_render_block(template, name, context)
    except BlockNotFound:
        return ""


def text_from_html(html):
    return "\n".join(line.strip() for line in strip_tags(html).splitlines() if line.strip())


def inliner_errors(alias, name) -> list[Error]:
    if name not in Inliner.names:
        return [
            Error(
                f"NOTIFY_BACKENDS[{alias!r}]: unknown inliner {name!r}.",
                hint="Use 'premailer', 'css_inline' or None.",
                id="spire_notify.E012",
            )
        ]
    if name == "css_inline" and importlib.util.find_spec("css_inline") is None:
        return [
            Error(
                f"NOTIFY_BACKENDS[{alias!r}]: the 'css_inline' inliner needs the css-inline package.",
                hint="pip install 'spire-notify[css-inline]', or use the 'premailer' inliner.",
                id="spire_notify.E017",
            )
        ]
    return []


class Inliner:
    """Moves the CSS of ``<style>`` blocks into ``style=""`` attributes, without the network."""

    names = ("premailer", "css_inline", None)

    def __init__(self, name):
        self.name = name

    def __call__(self, html):
        if not html or self.name is None:
            return html
        if self.name == "css_inline":
            import css_inline

            return css_inline.CSSInliner(load_remote_stylesheets=False).inline(html)
        return _premailer_inline(html)


def _premailer_inline(html):
    return OfflinePremailer(
        html,
        allow_network=False,
        disable_validation=True,
        # cssutils logs every property it does not know (mso-*, -webkit-*) at ERROR level.
        cssutils_logging_level=logging.CRITICAL,
        remove_classes=False,
    ).transform()
