"""The help desk's notifications: one Notifier per ticket event.

- ``TicketCreated`` (NEW): developers on app and email, managers on app; a user in both roles
  gets each channel once.
- ``TicketStatusChanged`` (UPDATE): the ticket's creator, unless they changed it themselves.
- ``TicketCommented`` (COMMENT): the ticket's other participants who may still open it (its
  creator, and those who commented and are developers or managers now), never the author.

A project changes who hears of an event, on which channels and when, by subclassing one of them
(keeping its key) and naming the subclass in ``NOTIFY_NOTIFIERS``; see "Changing who hears of a
ticket" in docs/help-desk-notifications.md. ``ticket.services.notification`` delivers through the
class that sends each key now.
"""

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.text import Truncator
from django.utils.translation import gettext, gettext_lazy

from spire_notify import Channel, Message, Notifier, configured_channels

from .access import viewers_among
from .choices import HelpDeskTicketPriorityChoices, HelpDeskTicketPurposeChoices, HelpDeskTicketStatusChoices
from .enums import TicketEventType, event_key
from .models import HelpDeskTicket, HelpDeskTicketComment
from .recipients import ticket_audience, ticket_audience_query

# How much of a comment the short (in-app) body quotes; the email carries all of it.
COMMENT_EXCERPT_CHARS = 120

SAMPLE_DESCRIPTION = (
    "Login page throws a 500 error for SSO users.\n\n"
    'Steps: open /login, choose "Sign in with SSO", approve at the identity provider.\n'
    'Expected: the dashboard. Actual: "Server Error (500)" <after> the redirect.'
)
SAMPLE_COMMENT = "Reproduced on staging: the SSO callback loses the session cookie. A fix is on the way."


def sample_user(username):
    return get_user_model()(username=username)


def sample_ticket():
    """The unsaved ticket the previews show (and the startup check renders)."""
    return HelpDeskTicket(
        pk=1042,
        created_by=sample_user("ada"),
        purpose=HelpDeskTicketPurposeChoices.APP,
        priority=HelpDeskTicketPriorityChoices.HIGH,
        status=HelpDeskTicketStatusChoices.IN_PROGRESS,
        description=SAMPLE_DESCRIPTION,
    )


class TicketNotifier(Notifier):
    """What the ticket events share: the ticket, its link and priority, and the context every
    ticket email renders. A subclass says its ``title()`` and ``body()``."""

    abstract = True

    def __init__(self, ticket):
        self.ticket = ticket

    def title(self):
        raise NotImplementedError(f"{type(self).__name__}.title() must say the notification's title.")

    def body(self):
        raise NotImplementedError(f"{type(self).__name__}.body() must say the notification's short body.")

    def context(self):
        # Stored with each notification (JSON), so a worker renders what happened then, even if
        # the ticket or comment changed since.
        return {"ticket_id": self.ticket.pk, "purpose": self.ticket.get_purpose_display()}

    def message(self):
        ticket = self.ticket
        return Message(
            event=self.key,
            title=self.title(),
            body=self.body(),
            path=ticket.get_absolute_url(),
            priority=ticket.get_priority_display(),
            target=ticket,
            context=self.context(),
        )

    def reachable(self, aliases):
        """``aliases``, each once, but those of its channels that NOTIFY_BACKENDS lacks: a project
        that configures fewer channels than a Notifier names is told so at startup
        (``spire_notify.E113``), and until it acts its users hear on the channels that exist.
        An alias that is not one of its channels stays, for ``deliver()`` to refuse by name."""
        configured = configured_channels()
        own = {channel.alias for channel in self.channels}
        return [alias for alias in dict.fromkeys(aliases) if alias in configured or alias not in own]

    def every_channel(self):
        return self.reachable(channel.alias for channel in self.channels)


class TicketCreated(TicketNotifier):
    """NEW: developers and managers, the moment a ticket is created.

    Which role hears on which channel is ``developer_channels`` and ``manager_channels`` (aliases
    of ``channels``); ``channels`` says each channel's template and timing.
    """

    key = event_key(TicketEventType.NEW)
    name = gettext_lazy("New help desk ticket")
    description = gettext_lazy("Someone filed a ticket (sent to developers and managers).")
    channels = [Channel("app"), Channel("email", template="helpdesk/email/ticket_new.html")]
    developer_channels = ("app", "email")
    manager_channels = ("app",)

    def title(self):
        return gettext("New Help Desk Ticket #%(pk)s") % {"pk": self.ticket.pk}

    def body(self):
        ticket = self.ticket
        return gettext("Priority: %(priority)s - Purpose: %(purpose)s") % {
            "priority": ticket.get_priority_display(),
            "purpose": ticket.get_purpose_display(),
        }

    def recipients(self):
        """The audience written by the database: ``{QuerySet: aliases}``, one per set of roles
        that share channels, so a user in both roles gets each channel once.

        ``{user: aliases}`` instead on a database with no byte-wise collation known here
        (``ticket_audience_query()`` is ``None``). A channel that waits unless read is tied to
        each user's in-app row all the same: ``deliver()`` gathers the audiences' users then.
        """
        audience = ticket_audience_query()
        if audience is None:
            return self.recipients_by_user()
        roles_by_alias = defaultdict(list)
        for alias in self.reachable([*self.developer_channels, *self.manager_channels]):
            roles = (("is_developer",) if alias in self.developer_channels else ()) + (
                ("is_manager",) if alias in self.manager_channels else ()
            )
            roles_by_alias[roles].append(alias)
        # The audience is developers and managers already: filtering it by both roles again
        # would have the database check every role twice (P2, docs/performance.md).
        return {
            (audience if len(roles) == 2 else audience.filter(**{roles[0]: True})): aliases
            for roles, aliases in roles_by_alias.items()
        }

    def recipients_by_user(self):
        """``{user: aliases}`` for every active developer and manager, decided in Python."""
        recipients = {}
        for user in ticket_audience():
            aliases = [
                *(self.developer_channels if user.is_developer else ()),
                *(self.manager_channels if user.is_manager else ()),
            ]
            recipients[user] = self.reachable(aliases)
        return recipients

    @classmethod
    def preview(cls):
        return cls(sample_ticket())


class TicketStatusChanged(TicketNotifier):
    """UPDATE: the ticket's creator hears of its new status, unless they changed it."""

    key = event_key(TicketEventType.UPDATE)
    name = gettext_lazy("Ticket status changed")
    description = gettext_lazy("A ticket you filed moved to another status.")
    channels = [Channel("app"), Channel("email", template="helpdesk/email/ticket_update.html")]

    def __init__(self, ticket, *, changed_by=None):
        super().__init__(ticket)
        self.changed_by = changed_by

    def title(self):
        return gettext("Help Desk Ticket #%(pk)s updated") % {"pk": self.ticket.pk}

    def body(self):
        return gettext("Your ticket is now %(status)s") % {"status": self.ticket.get_status_display()}

    def context(self):
        context = super().context() | {"status": self.ticket.get_status_display()}
        if self.changed_by is not None:
            context["changed_by"] = str(self.changed_by)
        return context

    def recipients(self):
        creator = self.ticket.created_by
        if not creator.is_active or (self.changed_by is not None and creator.pk == self.changed_by.pk):
            return {}
        return {creator: self.every_channel()}

    @classmethod
    def preview(cls):
        return cls(sample_ticket(), changed_by=sample_user("grace"))


class TicketCommented(TicketNotifier):
    """COMMENT: the ticket's other participants who may still open it hear of a comment."""

    key = event_key(TicketEventType.COMMENT)
    name = gettext_lazy("New comment on a ticket")
    description = gettext_lazy("Someone commented on a ticket you filed or commented on.")
    channels = [Channel("app"), Channel("email", template="helpdesk/email/ticket_comment.html")]

    def __init__(self, ticket, comment):
        super().__init__(ticket)
        self.comment = comment

    def title(self):
        return gettext("New comment on Help Desk Ticket #%(pk)s") % {"pk": self.ticket.pk}

    def body(self):
        excerpt = Truncator(" ".join(self.comment.body.split())).chars(COMMENT_EXCERPT_CHARS)
        return gettext("%(author)s: %(excerpt)s") % {"author": self.comment.author, "excerpt": excerpt}

    def context(self):
        return super().context() | {
            "comment_author": str(self.comment.author),
            "comment_body": self.comment.body,
        }

    def recipients(self):
        """The participants who may open the ticket, but the author. One query.

        Having commented once is not access: a commenter who is no longer a developer or a
        manager may not open the ticket, so hears nothing more of it.
        """
        participants = (
            get_user_model()
            .objects.filter(Q(pk=self.ticket.created_by_id) | Q(help_desk_comments__ticket=self.ticket))
            .exclude(pk=self.comment.author_id)
            .distinct()
            .order_by("pk")
        )
        aliases = self.every_channel()
        return {user: aliases for user in viewers_among(participants, self.ticket)}

    @classmethod
    def preview(cls):
        return cls(sample_ticket(), HelpDeskTicketComment(author=sample_user("grace"), body=SAMPLE_COMMENT))
