"""Notifications about a help desk ticket."""

from collections import defaultdict
from functools import partial

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from spire_notify import Message, channel_of, configured_channels, notify
from spire_notify.models import Notification

from ..access import viewers_among
from ..enums import TicketEventType
from ..recipients import ticket_audience, ticket_audience_query

# How much of a comment the short (in-app) body quotes; the email carries all of it.
COMMENT_EXCERPT_CHARS = 120


class UnmappedTicketEvent(LookupError):
    """An event with no title or body mapped in ``HelpDeskTicketNotificationService``."""

    def __init__(self, event, mapping):
        super().__init__(
            f"{event!r} has no notification {mapping} in HelpDeskTicketNotificationService; "
            f"map it in _get_ticket_event_notification_{mapping}()."
        )


class HelpDeskTicketNotificationService:
    """Builds the channel-agnostic message of a ticket event and says who receives it.

    - NEW (on creation only): developers get the app and email channels, managers the app
      channel; a user who is both gets each channel once.
    - UPDATE (a status change): the ticket's creator, in-app and by email.
    - COMMENT: the ticket's other participants who may still open it (its creator, and those
      who commented on it and are developers or managers now), but not the comment's author,
      in-app and by email.

    Subclass and extend the mappings to add events.
    """

    developer_channels = ("app", "email")
    manager_channels = ("app",)
    creator_channels = ("app", "email")
    participant_channels = ("app", "email")
    email_templates = {
        TicketEventType.NEW: "helpdesk/email/ticket_new.html",
        TicketEventType.UPDATE: "helpdesk/email/ticket_update.html",
        TicketEventType.COMMENT: "helpdesk/email/ticket_comment.html",
    }

    def __init__(self, ticket):
        self.ticket = ticket

    def create_new_ticket_notifications(self):
        """Notify developers and managers of a ticket just created; returns the notifications.

        The audience is written by the database (``notify()`` with a ``QuerySet``), one call per
        set of roles that share channels, so a user in both roles gets each channel once.
        Deferred channels, a subclass's own ``get_new_ticket_recipients()`` and a database with
        no byte-wise collation known here take the mapping path.
        """
        message = partial(self.build_message, TicketEventType.NEW)
        audience = ticket_audience_query()
        overridden = type(self).get_new_ticket_recipients is not (
            HelpDeskTicketNotificationService.get_new_ticket_recipients
        )
        plain = all(
            isinstance(channel, str) for channel in (*self.developer_channels, *self.manager_channels)
        )
        if audience is None or overridden or not plain:
            return self._notify(message, self.get_new_ticket_recipients())
        roles_by_channel = defaultdict(list)
        configured = configured_channels()
        for channel in dict.fromkeys([*self.developer_channels, *self.manager_channels]):
            if channel in configured:
                roles = (("is_developer",) if channel in self.developer_channels else ()) + (
                    ("is_manager",) if channel in self.manager_channels else ()
                )
                roles_by_channel[roles].append(channel)
        written = Notification.objects.none()
        for roles, channels in roles_by_channel.items():
            # The audience is developers and managers already: filtering it by both roles again
            # would have the database check every role twice (P2, docs/performance.md).
            members = audience if len(roles) == 2 else audience.filter(**{roles[0]: True})
            written |= notify(message, members, channels=channels)
        return written

    def create_status_update_notifications(self, *, changed_by):
        """Tell the creator the ticket's new status, unless they changed it themselves."""
        creator = self.ticket.created_by
        if creator.pk == changed_by.pk or not creator.is_active:
            return []
        message = partial(self.build_message, TicketEventType.UPDATE, changed_by=changed_by)
        return self._notify(message, {creator: list(self.creator_channels)})

    def create_comment_notifications(self, comment):
        """Tell the ticket's other participants of ``comment``; returns the notifications."""
        message = partial(self.build_message, TicketEventType.COMMENT, comment=comment)
        return self._notify(message, self.get_comment_recipients(comment))

    @classmethod
    def channels(cls):
        """Every channel this service names; ``spire_helpdesk.W001`` warns of those not configured."""
        named = (
            *cls.developer_channels,
            *cls.manager_channels,
            *cls.creator_channels,
            *cls.participant_channels,
        )
        return {channel_of(channel) for channel in named}

    def _notify(self, message, recipients):
        # ``message`` builds the event's message: notify() calls it in each recipient's language.
        # A project may configure fewer channels than this service names (only "app", say):
        # its users then hear of tickets on the channels that exist.
        configured = configured_channels()
        reachable = {
            user: [channel for channel in channels if channel_of(channel) in configured]
            for user, channels in recipients.items()
        }
        return notify(message, reachable)

    def get_new_ticket_recipients(self):
        """``{user: channels}`` for every active developer and manager."""
        recipients = {}
        for user in ticket_audience():
            channels = []
            if user.is_developer:
                channels += self.developer_channels
            if user.is_manager:
                channels += self.manager_channels
            recipients[user] = list(dict.fromkeys(channels))
        return recipients

    def get_comment_recipients(self, comment):
        """``{user: channels}`` for the participants who may open the ticket, but the author.

        Having commented once is not access: a commenter who is no longer a developer or a
        manager may not open the ticket, so hears nothing more of it. One query.
        """
        participants = (
            get_user_model()
            .objects.filter(Q(pk=self.ticket.created_by_id) | Q(help_desk_comments__ticket=self.ticket))
            .exclude(pk=comment.author_id)
            .distinct()
            .order_by("pk")
        )
        return {user: list(self.participant_channels) for user in viewers_among(participants, self.ticket)}

    def build_message(self, event, *, changed_by=None, comment=None):
        """The message of ``event``; pure, so email previews can build it from unsaved objects."""
        ticket = self.ticket
        return Message(
            event=f"helpdesk.ticket.{event}",
            title=self._get_ticket_event_notification_title(event),
            body=self._get_ticket_event_notification_body(event, comment=comment),
            path=ticket.get_absolute_url(),
            priority=ticket.get_priority_display(),
            template=self.email_templates.get(event, ""),
            target=ticket,
            context=self._get_ticket_event_context(event, changed_by=changed_by, comment=comment),
        )

    def _get_ticket_event_notification_title(self, event):
        pk = self.ticket.pk
        titles = {
            TicketEventType.NEW: _("New Help Desk Ticket #%(pk)s") % {"pk": pk},
            TicketEventType.UPDATE: _("Help Desk Ticket #%(pk)s updated") % {"pk": pk},
            TicketEventType.COMMENT: _("New comment on Help Desk Ticket #%(pk)s") % {"pk": pk},
        }
        try:
            return titles[event]
        except KeyError:
            raise UnmappedTicketEvent(event, "title") from None

    def _get_ticket_event_notification_body(self, event, *, comment=None):
        ticket = self.ticket
        if event == TicketEventType.COMMENT:
            excerpt = Truncator(" ".join(comment.body.split())).chars(COMMENT_EXCERPT_CHARS)
            return _("%(author)s: %(excerpt)s") % {"author": comment.author, "excerpt": excerpt}
        bodies = {
            TicketEventType.NEW: _("Priority: %(priority)s - Purpose: %(purpose)s")
            % {"priority": ticket.get_priority_display(), "purpose": ticket.get_purpose_display()},
            TicketEventType.UPDATE: _("Your ticket is now %(status)s")
            % {"status": ticket.get_status_display()},
        }
        try:
            return bodies[event]
        except KeyError:
            raise UnmappedTicketEvent(event, "body") from None

    def _get_ticket_event_context(self, event, *, changed_by=None, comment=None):
        # Stored with each notification (JSON), so a worker renders what happened then,
        # even if the ticket or comment changed since.
        context = {"ticket_id": self.ticket.pk, "purpose": self.ticket.get_purpose_display()}
        if event == TicketEventType.UPDATE:
            context["status"] = self.ticket.get_status_display()
        if changed_by is not None:
            context["changed_by"] = str(changed_by)
        if comment is not None:
            context |= {"comment_author": str(comment.author), "comment_body": comment.body}
        return context
