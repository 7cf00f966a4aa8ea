"""One-click unsubscribe (RFC 8058): the signed links; the email channel puts them in its headers
(``spire_notify.channels.email.headers``).

A token names one recipient (a user, or a guest's address), one notification type and one
channel, signed with ``SECRET_KEY`` under a salt of its own, so it cannot be forged, altered,
or used for anything but switching that one preference off. Tokens do not expire: a mail
provider may act on an old message.
"""

from dataclasses import dataclass

from django.core import signing
from django.urls import reverse

from spire_notify.exceptions import MandatoryNotificationType
from spire_notify.notification_types import get_type, lookup
from spire_notify.preferences import recipient_key

SALT = "spire_notify.unsubscribe"


@dataclass(frozen=True)
class UnsubscribeRequest:
    """What a valid token asks: ``recipient`` is ``("user", pk)`` or ``("email", address)``."""

    recipient: tuple[str, object]
    type_key: str
    channel: str


# A plain Signer, not signing.dumps's TimestampSigner: a token that never expires needs no
# timestamp, and without one the same recipient, type and channel always get the same link (one
# email's HTML and text renderings, or its two engines, agree to the byte).
def signer():
    return signing.Signer(salt=SALT)


def make_token(recipient, type_key, channel):
    kind, value = recipient_key(recipient)
    return signer().sign_object([kind, value, type_key, channel], compress=True)


def read_token(token):
    """The request ``token`` signs; ``signing.BadSignature`` if it was not made by ``make_token``."""
    kind, value, type_key, channel = signer().unsign_object(token)
    return UnsubscribeRequest(recipient=(kind, value), type_key=type_key, channel=channel)


def unsubscribe_url(recipient, type_key, channel, *, domain, protocol="https"):
    """The absolute one-click URL that switches ``type_key`` off on ``channel`` for ``recipient``."""
    if get_type(type_key).mandatory:
        raise MandatoryNotificationType(type_key)
    path = reverse("spire_notify:unsubscribe", args=[make_token(recipient, type_key, channel)])
    return f"{protocol}://{domain}{path}"


def footer_links(recipient, type_key, channel, *, domain, protocol="https"):
    """The email footer's links: ``unsubscribe_url`` (``""`` where none applies) and
    ``preferences_url`` (``""`` for a guest, who has no account to sign in with)."""
    notification_type = lookup(type_key)
    unsubscribable = notification_type is not None and not notification_type.mandatory
    is_user = recipient_key(recipient)[0] == "user"
    return {
        "unsubscribe_url": (
            unsubscribe_url(recipient, type_key, channel, domain=domain, protocol=protocol)
            if unsubscribable
            else ""
        ),
        "preferences_url": f"{protocol}://{domain}{reverse('spire_notify:preferences')}" if is_user else "",
    }
