"""Email previews: every email template, rendered with sample data exactly as it is sent.

Every active Notifier with a template and a ``preview()`` is a sample, keyed by its template:
its preview's message, built from unsaved objects, so a project's Notifier is previewed with
nothing more to write. A template no Notifier sends gets a sample from an app's
``email_previews`` module that calls ``register`` with a function returning its ``Message``. Rendering is
the email backend's own pure half (``render_content`` and ``build_email``), once per template
engine that has the template, so a preview writes nothing and shows what recipients get.
"""

import copy
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.template import TemplateDoesNotExist, engines
from django.utils.module_loading import autodiscover_modules

from spire_notify.channels.email.backend import DEFAULT_TEMPLATE, EmailBackend
from spire_notify.handler import notify_backends
from spire_notify.message import Message
from spire_notify.notification_types import active_notifiers, lookup
from spire_notify.notifier.checks import SAMPLE_RECIPIENT
from spire_notify.views import deny_framing

_samples = {}


def register(template_name):
    """Decorate a function returning the sample ``Message`` of ``template_name``."""

    def decorator(build_message):
        _samples[template_name] = build_message
        return build_message

    return decorator


@register(DEFAULT_TEMPLATE)
def _default_template_sample():
    return Message(
        event="example.event",
        title="Your export is ready",
        body="The CSV export of March orders finished: 1,204 rows.",
        path="/exports/42/",
    )


@dataclass(frozen=True)
class EmailPreview:
    template_name: str
    engine: str
    subject: str
    from_email: str
    to: str
    text: str
    html: str


def samples():
    """``{template name: sample builder}``: every app's ``email_previews`` module loaded, and
    the Notifiers' previews, which win over a sample registered for the same template (they
    are what is sent)."""
    autodiscover_modules("email_previews")
    return dict(sorted((_samples | notifier_samples()).items()))


def notifier_samples():
    """``{template name: its preview's build_message}`` of each active Notifier that has both.
    ``preview()`` builds unsaved objects, so asking each is cheap and writes nothing."""
    found = {}
    for notifier_class in active_notifiers():
        template = notifier_class.template()
        sample = notifier_class.preview() if template else None
        if sample is not None:
            found[template] = sample.build_message
    return found


def engines_with(template_name):
    """The names of the template engines that have ``template_name``."""
    names = []
    for engine in engines.all():
        try:
            engine.get_template(template_name)
        except TemplateDoesNotExist:
            continue
        names.append(engine.name)
    return names


def email_backend(engine):
    """The project's email channel as configured, set to render with ``engine``."""
    configured = next(
        (backend for backend in notify_backends.all() if isinstance(backend, EmailBackend)), None
    )
    backend = copy.copy(configured or EmailBackend(alias="email"))
    backend.engine = engine
    return backend


def render_preview(template_name, engine):
    message = samples()[template_name]()
    backend = email_backend(engine)
    content = backend.render_content(
        message, backend.absolute_url(message.path), backend.personal(message, SAMPLE_RECIPIENT)
    )
    try:
        to = ", ".join(backend.build_email(content, SAMPLE_RECIPIENT).to)
    except ValueError as error:
        # DEBUG without DEVELOPMENT_EMAIL: the backend refuses to send; say so instead.
        to = f"(not sent: {error})"
    return EmailPreview(
        template_name=template_name,
        engine=engine,
        subject=content.subject,
        from_email=backend.from_email or settings.DEFAULT_FROM_EMAIL,
        to=to,
        text=content.text,
        html=content.html,
    )


def staff_only(view):
    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("Email previews are for staff.")
        return view(request, *args, **kwargs)

    return wrapped


@deny_framing
@staff_only
def preview_list(request):
    templates = [
        {"name": name, "engines": engines_with(name), "type": lookup(build_message().event)}
        for name, build_message in samples().items()
    ]
    return render(request, "spire_notify/email_preview_list.html", {"templates": templates})


@deny_framing
@staff_only
def preview_detail(request, engine, template_name):
    if template_name not in samples() or engine not in engines_with(template_name):
        raise Http404("No email template of that name for that engine.")
    preview = render_preview(template_name, engine)
    return render(
        request,
        "spire_notify/email_preview.html",
        {
            "preview": preview,
            "other_engines": [name for name in engines_with(template_name) if name != engine],
        },
    )
