"""The email digest: one email listing a user's held notifications, grouped by type, newest
first (``spire_notify/email/digest.html``). ``EmailBackend.render_digest()`` renders it; the
worker's generic digest (``spire_notify.worker.digests``) decides what it carries."""

from dataclasses import dataclass, replace
from datetime import datetime
from types import SimpleNamespace

from django.conf import settings
from django.template import TemplateDoesNotExist
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext

from spire_notify.backends.base import Rendered
from spire_notify.channels.email.templated import TemplatedEmail
from spire_notify.exceptions import Undeliverable
from spire_notify.notification_types import lookup

DIGEST_TEMPLATE = "spire_notify/email/digest.html"


@dataclass(frozen=True)
class DigestItem:
    """One notification as a digest lists it."""

    title: str
    summary: str
    url: str
    created_at: datetime
    type_name: str


def render_digest_email(backend, items, recipient):
    """The email listing ``items`` (notifications, newest first) for ``recipient``, in the
    language the newest was written in. Pure but for the current Site's domain."""
    language = items[0].payload.get("language") or settings.LANGUAGE_CODE
    with translation.override(language):
        entries = [_entry(backend, item) for item in items]
        # No plural forms: one phrasing reads right for any count in every language.
        title = gettext("New notifications: %(count)s") % {"count": len(entries)}
        context = {
            "message": SimpleNamespace(title=title, summary=title),
            "items": entries,
            "groups": _grouped(entries),
            "count": len(entries),
            "url": "",
            "domain": backend.get_domain(),
            "site_name": backend.get_site_name(),
            "protocol": backend.protocol,
            "recipient": SimpleNamespace(name=recipient.name, email=recipient.email),
            "unsubscribe_url": "",
            "preferences_url": _preferences_url(backend),
        }
        email = TemplatedEmail(template_name=DIGEST_TEMPLATE, context=context, engine=backend.engine)
        try:
            email.render()
        except TemplateDoesNotExist as error:
            raise Undeliverable(f"the email template {error} does not exist") from error
        content = email.content()
        content = replace(content, html=backend.inline(content.html))
        return Rendered(body=title, url="", content=backend.build_email(content, recipient))


def _entry(backend, item):
    payload = item.payload
    notification_type = lookup(item.event)
    return DigestItem(
        title=item.title,
        summary=payload.get("body") or item.title,
        url=backend.absolute_url(payload.get("path", "")),
        created_at=item.created_at,
        type_name=str(notification_type.name) if notification_type else gettext("Other notifications"),
    )


@dataclass(frozen=True)
class DigestGroup:
    """The items of one notification type, as a digest lists them."""

    name: str
    items: list


def _grouped(entries):
    """One ``DigestGroup`` per type, the type with the newest item first."""
    groups = {}
    for entry in entries:
        groups.setdefault(entry.type_name, []).append(entry)
    return [DigestGroup(name=name, items=grouped) for name, grouped in groups.items()]


def _preferences_url(backend):
    try:
        return backend.absolute_url(reverse("spire_notify:preferences"))
    except NoReverseMatch:
        return ""
