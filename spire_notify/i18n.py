"""The language each recipient reads: ``NOTIFY_RECIPIENT_LANGUAGE``, else ``LANGUAGE_CODE``.

The setting names a callable that takes a user (or, for a guest, the address string) and
returns a language code or ``None``. Codes are matched to ``LANGUAGES`` the way Django
matches a browser's (``"de-at"`` finds ``"de"``); one that matches nothing falls back to
``LANGUAGE_CODE``, so a stale profile value never breaks delivery.
"""

from collections import defaultdict

from django.conf import settings
from django.utils import translation
from django.utils.module_loading import import_string

from spire_notify import conf


def language_chooser():
    """The callable ``NOTIFY_RECIPIENT_LANGUAGE`` names, or ``None`` when it is unset."""
    path = conf.get("NOTIFY_RECIPIENT_LANGUAGE")
    return import_string(path) if path else None


def language_for(user_or_address, *, chooser=None):
    """The language code to write and render for one recipient.

    ``chooser`` is ``language_chooser()``, passed in by callers that resolve many recipients.
    """
    chooser = chooser or language_chooser()
    chosen = chooser(user_or_address) if chooser else None
    for code in (chosen, settings.LANGUAGE_CODE):
        if code:
            try:
                return translation.get_supported_language_variant(code)
            except LookupError:
                continue
    return settings.LANGUAGE_CODE


def group_by_language(recipients):
    """``{language: [recipient, ...]}``, in the order met: render once per language."""
    chooser = language_chooser()
    groups = defaultdict(list)
    for recipient in recipients:
        groups[language_for(recipient, chooser=chooser)].append(recipient)
    return dict(groups)
