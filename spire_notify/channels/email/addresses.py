"""Email addresses as the email backend takes them: one mailbox per row, and hosts for ids."""

from email.utils import getaddresses
from urllib.parse import urlsplit

from spire_notify.exceptions import Undeliverable


def validate_recipient_address(address):
    """Raise ``Undeliverable`` unless ``address`` names exactly one mailbox.

    A row is one recipient: a comma list would send one notification to several people, and
    CR or LF would let the address write headers of its own. Neither is ever sendable, so the
    row fails at once instead of being retried.
    """
    if any(char in address for char in "\r\n\0"):
        raise Undeliverable(f"the address {address!r} contains a line break")
    mailboxes = [found for _, found in getaddresses([address]) if found]
    if len(mailboxes) != 1 or "@" not in mailboxes[0]:
        raise Undeliverable(f"the address {address!r} is not exactly one email address")


def message_id_domain(domain):
    """The host of a Site domain in the form a Message-ID allows: no port, ASCII, IPv6 bracketed."""
    host = urlsplit(f"//{domain}").hostname or "localhost"
    if ":" in host:
        return f"[{host}]"
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        # The id only has to be unique; the pk already makes it so on this site.
        return "localhost"
