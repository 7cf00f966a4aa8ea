"""``Notifier``: one notification — its type, channels, recipients, message and preview —
declared in one class, delivered by ``notify()``.

::

    class InvoicePaid(Notifier):
        key = "billing.invoice_paid"
        name = _("Invoice paid")
        channels = [Channel("app"), Channel("email", template="billing/email/invoice_paid.html",
                                                wait=timedelta(minutes=10), unless="read")]

        def __init__(self, invoice):
            self.invoice = invoice

        def recipients(self):
            return self.invoice.account.members.filter(is_active=True)

        def message(self):
            return Message(event=self.key, title=..., path=..., target=self.invoice)

    InvoicePaid(invoice).deliver()

Classes are declared as they are created; the ``notifiers`` modules of installed apps are
imported at startup (``SpireNotifyConfig.ready``), as ``admin`` modules are.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from functools import reduce
from operator import or_

from django.db.models import QuerySet

from spire_notify.notification_types import NotificationType, declare_notifier
from spire_notify.notifier.channel import READ, Channel
from spire_notify.write.notify import notify


class Notifier:
    """The base of a project's notifications. A subclass sets:

    - ``key``: the type's key, which is the ``event`` of its messages (preferences, unsubscribe
      links and the admin's filter know the type by it);
    - ``name`` and ``description``: what the preferences page shows;
    - ``mandatory``: a type nobody can switch off (its emails carry no unsubscribe link);
    - ``channels``: ``Channel`` values, the type's default channels;

    and implements ``recipients()`` and ``message()``, and optionally ``preview()``. A class
    that sets ``abstract = True`` in its body is a base for others and declares no type.
    """

    key = ""
    name = ""
    description = ""
    mandatory = False
    channels = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False):
            return
        if not isinstance(cls.key, str) or not cls.key:
            raise TypeError(f"{cls.__name__} needs a key: the type's key, such as 'billing.invoice_paid'.")
        for channel in cls.channels:
            if not isinstance(channel, Channel):
                raise TypeError(
                    f"{cls.__name__}.channels holds {channel!r}; list Channel(alias, ...) values."
                )
        declare_notifier(cls)

    # What a subclass implements.

    def recipients(self):
        """Who hears of it: users or addresses (a ``QuerySet`` of users is written by the
        database), each on every channel; or a mapping of each recipient to the aliases of
        the channels that reach it; or a mapping of ``QuerySet`` audiences to aliases."""
        raise NotImplementedError(f"{type(self).__name__}.recipients() must say who hears of it.")

    def message(self):
        """The ``Message`` of this notification. ``deliver()`` calls it once per language of the
        recipients, inside ``translation.override()``, so ``gettext`` speaks theirs."""
        raise NotImplementedError(f"{type(self).__name__}.message() must build its Message.")

    @classmethod
    def preview(cls):
        """An instance built from unsaved sample objects, for the email previews page and the
        startup check that renders it; ``None`` (the default) offers no preview."""
        return None

    # What the framework asks of a class.

    @classmethod
    def notification_type(cls):
        return NotificationType(
            key=cls.key,
            name=cls.name or cls.key,
            description=cls.description,
            default_channels=tuple(dict.fromkeys(channel.alias for channel in cls.channels)),
            mandatory=cls.mandatory,
        )

    @classmethod
    def template(cls):
        """The template its channels render, or ``""``; one at most (``spire_notify.E115``)."""
        templates = list(dict.fromkeys(channel.template for channel in cls.channels if channel.template))
        if len(templates) > 1:
            raise ValueError(
                f"{cls.__name__}: its channels name {len(templates)} templates "
                f"({', '.join(templates)}); a message carries one."
            )
        return templates[0] if templates else ""

    @classmethod
    def entries(cls, aliases=None):
        """What ``notify()`` takes for ``aliases`` (default: every channel): each alias, or a
        ``Deferred`` for a channel that waits. An alias that is not one of the channels is an
        error that names it, never dropped."""
        by_alias = {channel.alias: channel for channel in cls.channels}
        if aliases is None:
            return [channel.entry() for channel in by_alias.values()]
        unknown = next((alias for alias in aliases if alias not in by_alias), None)
        if unknown is not None:
            raise ValueError(
                f"{cls.__name__}.recipients() names the channel {unknown!r}, which is not one of its "
                f"channels ({', '.join(by_alias) or 'none'}). Add Channel({unknown!r}) to its channels."
            )
        return [by_alias[alias].entry() for alias in dict.fromkeys(aliases)]

    def build_message(self):
        """``message()``, checked: its event is the key, and it carries the channels' template."""
        message = self.message()
        if message.event != self.key:
            raise ValueError(
                f"{type(self).__name__}.message() built a message of event {message.event!r}; "
                f"its messages are of its key, {self.key!r}: Message(event=self.key, ...)."
            )
        template = self.template()
        if template and message.template and message.template != template:
            raise ValueError(
                f"{type(self).__name__}.message() names the template {message.template!r}, "
                f"and its channels {template!r}; name it in one place."
            )
        return replace(message, template=template) if template and not message.template else message

    def deliver(self, *, send_after=None, using=None):
        """Write the notifications in the caller's transaction and deliver them, as ``notify()``
        does, and return what it returns: the saved notifications (a lazy ``QuerySet`` of them
        for an audience written by the database)."""
        recipients = self.recipients()
        options = {"send_after": send_after, "using": using}
        if not isinstance(recipients, Mapping):
            return notify(self.build_message, recipients, channels=self.entries(), **options)
        audiences = [key for key in recipients if isinstance(key, QuerySet)]
        if not audiences:
            return notify(
                self.build_message,
                {recipient: self.entries(aliases) for recipient, aliases in recipients.items()},
                **options,
            )
        if len(audiences) < len(recipients):
            raise TypeError(
                f"{type(self).__name__}.recipients() mixes QuerySets and single recipients in "
                "one mapping; return one kind."
            )
        return self._deliver_audiences(recipients, options)

    def _deliver_audiences(self, audiences, options):
        # A user in two audiences that share a channel would get it twice: each channel is
        # named under one audience only (the help desk's roles: everyone on "app", developers
        # also on "email").
        seen = {}
        for aliases in audiences.values():
            for alias in aliases:
                if alias in seen:
                    raise ValueError(
                        f"{type(self).__name__}.recipients() names {alias!r} for two audiences; "
                        "a user in both would get it twice. Name each channel under one audience."
                    )
                seen[alias] = True
        if any(channel.unless == READ and channel.alias in seen for channel in self.channels):
            # A row that waits unless read is tied to its recipient's in-app row when one write
            # holds both; audiences are written one by one, so their users are gathered first.
            by_user = defaultdict(list)
            for audience, aliases in audiences.items():
                for user in audience:
                    by_user[user] += aliases
            return notify(
                self.build_message,
                {user: self.entries(aliases) for user, aliases in by_user.items()},
                **options,
            )
        written = [
            notify(self.build_message, audience, channels=self.entries(aliases), **options)
            for audience, aliases in audiences.items()
            if aliases
        ]
        if written and all(isinstance(each, QuerySet) for each in written):
            return reduce(or_, written)
        return [notification for each in written for notification in each]
