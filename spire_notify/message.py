"""The channel-agnostic message a service builds and every backend renders."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Message:
    """What happened, said once for every channel.

    ``path`` is the site-relative URL of the thing the message is about; each backend decides
    how to present it (the app keeps it relative, email makes it absolute). ``context`` holds
    JSON-serialisable extras for templates: it is stored with the notification so that a worker
    in another process renders exactly what the service meant. ``language`` is the language
    the message was written in; ``notify()`` sets it to each recipient's, and backends render
    in it.
    """

    event: str
    title: str
    body: str = ""
    path: str = ""
    priority: str = ""
    template: str = ""
    language: str = ""
    target: Any = None
    context: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "context", MappingProxyType(dict(self.context)))

    @property
    def summary(self) -> str:
        """The one-line text of short channels: the body, or the title when there is none."""
        return self.body or self.title

    def to_payload(self) -> dict[str, Any]:
        """The stored form of everything but ``target`` (kept as the notification's object)."""
        return {
            "event": self.event,
            "body": self.body,
            "path": self.path,
            "priority": self.priority,
            "language": self.language,
            "template": self.template,
            "context": dict(self.context),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], *, title: str, target: Any = None):
        return cls(title=title, target=target, **payload)


@dataclass(frozen=True, kw_only=True)
class Recipient:
    """Who a rendering is for: only what a backend may use, so rendering needs no database.

    ``user_id`` is ``None`` for a guest: an address with no account behind it.
    """

    user_id: int | None
    email: str = ""
    name: str = ""

    @classmethod
    def for_user(cls, user, **overrides):
        """The recipient of ``user``; ``overrides`` replace fields (the address a row was written for)."""
        fields = {
            "user_id": user.pk,
            "email": getattr(user, user.get_email_field_name(), "") or "",
            "name": user.get_full_name() if hasattr(user, "get_full_name") else str(user),
        }
        return cls(**fields | overrides)

    @classmethod
    def for_address(cls, address):
        """A guest, known only by its email address."""
        return cls(user_id=None, email=address)
