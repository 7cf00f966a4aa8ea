"""The email headers of one-click unsubscribe (RFC 8058, RFC 2369), and the links of an email's
footer, for the many recipients of one message."""

from email.header import Header

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from spire_notify.notification_types import lookup
from spire_notify.preferences import recipient_key
from spire_notify.unsubscribe import make_token, unsubscribe_url

ONE_CLICK = "List-Unsubscribe=One-Click"


def unsubscribe_headers(recipient, type_key, channel, *, domain, protocol="https"):
    """The ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` headers of one email, or ``{}``
    for a type that cannot be unsubscribed from (mandatory, or not registered)."""
    notification_type = lookup(type_key)
    if notification_type is None or notification_type.mandatory:
        return {}
    url = unsubscribe_url(recipient, type_key, channel, domain=domain, protocol=protocol)
    return list_headers(url)


class EmailLinks:
    """``footer_links()`` and ``unsubscribe_headers()`` for the many recipients of one message.

    The URLs are reversed once, not once per recipient, and each recipient's token is signed
    once for both the footer and the headers: at a thousand recipients that is most of what
    personalising an email costs.
    """

    def __init__(self, type_key, channel, *, domain, protocol="https"):
        self.type_key, self.channel = type_key, channel
        notification_type = lookup(type_key)
        self.unsubscribable = notification_type is not None and not notification_type.mandatory
        site = f"{protocol}://{domain}"
        self.preferences_url = site + reverse("spire_notify:preferences")
        # The path around a token: reversed once, with a token that no token can look like.
        before, _, after = reverse("spire_notify:unsubscribe", args=["TOKEN-SLOT"]).partition("TOKEN-SLOT")
        self.unsubscribe_prefix, self.unsubscribe_suffix = site + before, after

    def footer(self, recipient):
        """What ``footer_links()`` answers for ``recipient``."""
        unsubscribe = ""
        if self.unsubscribable:
            token = make_token(recipient, self.type_key, self.channel)
            unsubscribe = self.unsubscribe_prefix + token + self.unsubscribe_suffix
        is_user = recipient_key(recipient)[0] == "user"
        return {"unsubscribe_url": unsubscribe, "preferences_url": self.preferences_url if is_user else ""}

    @staticmethod
    def headers(footer):
        """What ``unsubscribe_headers()`` answers, from the ``footer()`` of the same recipient."""
        if not footer["unsubscribe_url"]:
            return {}
        return list_headers(footer["unsubscribe_url"])


def list_headers(url):
    return {
        "List-Unsubscribe": UnfoldedHeader("List-Unsubscribe", f"<{url}>"),
        "List-Unsubscribe-Post": ONE_CLICK,
    }


class UnfoldedHeader(str):
    """A header value the ``email`` package writes on one line, as it is.

    List-Unsubscribe holds a URL longer than the 78 characters a header line should have, with
    no space to fold at. The email package's modern policies (Django 6.0+ builds emails with
    them) then write it as RFC 2047 encoded-words, and Gmail ignores a List-Unsubscribe so
    written: no one-click unsubscribe. RFC 5322 allows lines of up to 998 characters, and this
    value (ASCII, printable) is written as one such line. A policy uses a value that carries its
    ``name`` and ``fold()`` as the header itself; as a ``str`` it is the value everywhere else.
    """

    def __new__(cls, name, value):
        if not (value.isascii() and value.isprintable() and len(name) + 2 + len(value) <= 998):
            # Not one plain line: the policy's own folding (and encoding) is the right one.
            return value
        header = super().__new__(cls, value)
        header.name = name
        return header

    def __getnewargs__(self):
        # What copying and pickling build it from (the locmem mailer copies every message).
        return self.name, str(self)

    def fold(self, *, policy):
        return f"{self.name}: {self}{policy.linesep}"


class OneLineHeadersEmail(EmailMultiAlternatives):
    """An email whose ``UnfoldedHeader`` values are written on one line by Django 5.2 too.

    Django 5.2 builds the MIME with the legacy policy (``compat32``), and its ``__setitem__``
    turns every header value into a plain ``str``, which that policy folds: a List-Unsubscribe
    that does not fit after its name goes onto a second line. ``replace_header()`` puts the
    value back, after Django's checks, as a ``Header`` the legacy policy writes as it is.
    """

    def message(self, **kwargs):
        mime = super().message(**kwargs)
        for name, value in self.extra_headers.items():
            if isinstance(value, UnfoldedHeader):
                mime.replace_header(name, LegacyUnfoldedHeader(value))
        return mime


class LegacyUnfoldedHeader(Header):
    """What ``compat32`` folds (a ``Header``) and writes as one line: an ``UnfoldedHeader``'s
    value is printable ASCII that fits RFC 5322's 998 characters."""

    def encode(self, splitchars=";, \t", maxlinelen=None, linesep="\n"):
        return str(self)
