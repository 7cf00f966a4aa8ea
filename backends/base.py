"""The contract every notification backend keeps.

A backend has a pure half and an I/O half. ``render(message, recipient)`` returns what would be
sent and touches neither the database nor the network, so it can be property-tested.
``send(deliveries)`` transmits a whole batch over one connection and answers with one
``Outcome`` per delivery, in order: a failure is reported, never raised, so that one bad row
cannot stop the rest of the batch.
"""

import traceback
from dataclasses import dataclass
from typing import Any

from django.core.checks import Error

from spire_notify.exceptions import InvalidNotifyBackend


@dataclass(frozen=True)
class Rendered:
    """What a backend made of a message for one recipient.

    ``body`` and ``url`` are stored on the notification row; ``content`` is what ``send``
    transmits (an email message, a JSON document, nothing at all for the in-app inbox).
    """

    body: str
    url: str
    content: Any = None


@dataclass(frozen=True)
class Delivery:
    notification: Any
    rendered: Rendered


@dataclass(frozen=True)
class Outcome:
    """The result of one delivery: sent, or failed temporarily (retried) or permanently."""

    sent: bool
    error: str = ""
    permanent: bool = False

    @classmethod
    def success(cls):
        return cls(sent=True)

    @classmethod
    def temporary(cls, error):
        return cls(sent=False, error=error)

    @classmethod
    def permanent_failure(cls, error):
        return cls(sent=False, error=error, permanent=True)


def describe_error(error: BaseException) -> str:
    """The last line of the traceback: the exception's type and message."""
    return traceback.format_exception_only(error)[-1].strip()


class BaseNotificationBackend:
    """Subclasses accept their OPTIONS as keyword arguments and pass the rest up.

    Capability flags:

    - ``delivers_externally``: the backend hands messages to another system (SMTP, HTTP), so a
      duplicate is possible if a worker dies between that hand-off and recording it.
    - ``detail_model``: ``"app_label.Model"`` of the per-channel row written beside each
      notification (``AppNotification``, ``EmailNotification``), or ``None``.
    """

    delivers_externally = False
    detail_model = None

    def __init__(self, *, alias, **options):
        self.alias = alias
        if options:
            names = ", ".join(repr(name) for name in sorted(options))
            noun = "option" if len(options) == 1 else "options"
            raise InvalidNotifyBackend(alias, f"unknown {noun} {names}", check_id="E005")

    def __repr__(self):
        return f"<{type(self).__name__} alias={self.alias!r}>"

    def accepts(self, recipient) -> bool:
        """Whether this channel can reach ``recipient`` at all (email needs an address)."""
        return True

    def build_detail(self, notification, recipient):
        """The unsaved ``detail_model`` row for ``notification``; ``None`` when there is none."""
        return None

    def render(self, message, recipient) -> Rendered:
        """What would be sent of ``message`` to ``recipient``. Pure: no database, no network."""
        raise NotImplementedError("subclasses of BaseNotificationBackend must define render()")

    def render_many(self, message, recipients) -> list[Rendered]:
        """Render one message for many recipients; override to share work between them."""
        return [self.render(message, recipient) for recipient in recipients]

    def send(self, deliveries) -> list[Outcome]:
        """Transmit a batch over one connection; one ``Outcome`` per delivery, in order.

        Report a failure as an ``Outcome`` rather than raising, so the rest of the batch goes on.
        """
        raise NotImplementedError("subclasses of BaseNotificationBackend must define send()")

    def check(self, **kwargs) -> list:
        """System check messages about this backend's configuration."""
        return []

    def validate(self):
        """Raise ``ImproperlyConfigured`` if nothing could be delivered as configured.

        A worker calls this before it claims any row, so misconfiguration stops it loudly
        instead of failing rows one by one.
        """
        from django.core.exceptions import ImproperlyConfigured

        errors = [message for message in self.check() if isinstance(message, Error)]
        if errors:
            raise ImproperlyConfigured("; ".join(f"{error.id}: {error.msg}" for error in errors))
