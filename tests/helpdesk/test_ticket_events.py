"""UPDATE and COMMENT: who hears of a status change or a comment, and what they receive."""

import lxml.html
import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from spire_notify.channels.email.backend import EmailBackend
from spire_notify.helpdesk.choices import HelpDeskTicketStatusChoices
from spire_notify.helpdesk.enums import TicketEventType
from spire_notify.helpdesk.models import HelpDeskTicket, HelpDeskTicketComment
from spire_notify.helpdesk.services.notification_service import UnmappedTicketEvent
from spire_notify.models import Notification

IN_PROGRESS = HelpDeskTicketStatusChoices.IN_PROGRESS


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Run ``action`` and what its commit would: the enqueued delivery."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def received(event):
    return sorted(
        (n.user.username, n.channel)
        for n in Notification.objects.filter(event=f"helpdesk.ticket.{event}").select_related("user")
    )


@pytest.mark.django_db
class TestStatusChange:
    def test_tells_the_creator_in_app_and_by_email(self, create_and_deliver, developer, manager, deliver):
        ticket = create_and_deliver()
        mail.outbox.clear()

        deliver(ticket.services.change_status, IN_PROGRESS, changed_by=developer)

        assert received("update") == [("requester", "app"), ("requester", "email")]
        app = Notification.objects.get(event="helpdesk.ticket.update", channel="app")
        assert (app.status, app.title, app.body, app.url) == (
            "sent",
            f"Help Desk Ticket #{ticket.pk} updated",
            "Your ticket is now In Progress",
            f"/help_desk/page/{ticket.pk}/detail/",
        )
        [email] = mail.outbox
        assert email.to == ["requester@example.com"]
        assert email.subject == f"Help Desk Ticket #{ticket.pk} updated: In Progress"
        assert "Your ticket is now In Progress." in email.body
        assert "Changed by: dev" in email.body
        assert f"https://example.com/help_desk/page/{ticket.pk}/detail/" in email.body
        html, mimetype = email.alternatives[0]
        assert mimetype == "text/html"
        assert "<h1" in html and "Your ticket is now In Progress</h1>" in html

    def test_saves_the_status(self, create_ticket, developer):
        ticket = create_ticket()
        ticket.services.change_status(IN_PROGRESS, changed_by=developer)
        assert HelpDeskTicket.objects.get(pk=ticket.pk).status == IN_PROGRESS

    def test_to_the_same_status_notifies_nobody(self, create_ticket, developer):
        ticket = create_ticket()
        ticket.services.change_status(HelpDeskTicketStatusChoices.READY, changed_by=developer)
        assert received("update") == []

    def test_by_the_creator_themselves_notifies_nobody(self, create_ticket, requester):
        ticket = create_ticket()
        ticket.services.change_status(IN_PROGRESS, changed_by=requester)
        assert received("update") == []

    def test_to_an_inactive_creator_notifies_nobody(self, create_ticket, requester, developer):
        ticket = create_ticket()
        requester.is_active = False
        requester.save()
        ticket.services.change_status(IN_PROGRESS, changed_by=developer)
        assert received("update") == []

    def test_rejects_an_unknown_status(self, create_ticket, developer):
        ticket = create_ticket()
        with pytest.raises(ValueError, match="^'closed' is not a valid HelpDeskTicketStatusChoices$"):
            ticket.services.change_status("closed", changed_by=developer)

    def test_of_an_unsaved_ticket_is_refused(self, developer):
        with pytest.raises(ValueError, match=r"^Create the ticket with ticket.services.create\(\) first.$"):
            HelpDeskTicket().services.change_status(IN_PROGRESS, changed_by=developer)

    def test_never_fires_new_again(self, create_ticket, developer, manager):
        ticket = create_ticket()
        before = received("new")
        ticket.services.change_status(IN_PROGRESS, changed_by=developer)
        ticket.services.change_status(HelpDeskTicketStatusChoices.DONE, changed_by=manager)
        ticket.save()
        assert received("new") == before == [("dev", "app"), ("dev", "email"), ("manager", "app")]


@pytest.mark.django_db
class TestComment:
    def test_tells_the_other_participants(self, create_ticket, requester, developer, manager, make_user):
        ticket = create_ticket()
        ticket.services.add_comment(author=developer, body="Looking into it.")
        ticket.services.add_comment(author=requester, body="Thanks!")

        # The first comment reached the creator; the second the developer who commented.
        # The manager never took part, so hears of neither.
        rows = Notification.objects.filter(event="helpdesk.ticket.comment").order_by("pk")
        assert [(n.user.username, n.channel, n.title) for n in rows] == [
            ("requester", "app", f"New comment on Help Desk Ticket #{ticket.pk}"),
            ("requester", "email", f"New comment on Help Desk Ticket #{ticket.pk}"),
            ("dev", "app", f"New comment on Help Desk Ticket #{ticket.pk}"),
            ("dev", "email", f"New comment on Help Desk Ticket #{ticket.pk}"),
        ]

    def test_delivers_the_excerpt_in_app_and_the_whole_comment_by_email(
        self, create_and_deliver, developer, deliver
    ):
        ticket = create_and_deliver()
        body = "Reproduced.\n\n" + "The SSO callback drops the cookie. " * 10
        mail.outbox.clear()

        deliver(ticket.services.add_comment, author=developer, body=body)

        app = Notification.objects.get(event="helpdesk.ticket.comment", channel="app")
        # Whitespace folded, cut at 120 characters with the ellipsis.
        folded = "Reproduced. " + "The SSO callback drops the cookie. " * 10
        assert app.body == "dev: " + folded[:119] + "…"
        [email] = mail.outbox
        assert email.subject == f"New comment on Help Desk Ticket #{ticket.pk}"
        assert email.body.startswith(
            f"Hello,\n\ndev commented on help desk ticket #{ticket.pk}:\n\n{body.strip()}"
        )

    def test_skips_inactive_participants(self, create_ticket, requester, developer, make_user):
        ticket = create_ticket()
        requester.is_active = False
        requester.save()
        ticket.services.add_comment(author=developer, body="Anyone there?")
        assert received("comment") == []

    def test_whitespace_only_is_refused(self, create_ticket, developer):
        ticket = create_ticket()
        with pytest.raises(ValidationError) as raised:
            ticket.services.add_comment(author=developer, body=" \n\t ")
        assert raised.value.message_dict == {"body": ["Write something in the comment."]}
        assert HelpDeskTicketComment.objects.count() == 0

    def test_empty_is_refused(self, create_ticket, developer):
        ticket = create_ticket()
        with pytest.raises(ValidationError) as raised:
            ticket.services.add_comment(author=developer, body="")
        assert raised.value.message_dict == {"body": ["This field cannot be blank."]}

    def test_queries_do_not_grow_with_the_participants(self, create_ticket, make_user, manager_group):
        ticket = create_ticket()
        # Managers: a commenter hears of later comments only while they may open the ticket.
        commenters = [make_user(f"commenter{i}") for i in range(6)]
        manager_group.user_set.add(*commenters)
        HelpDeskTicketComment.objects.create(ticket=ticket, author=commenters[0], body="first")
        with CaptureQueriesContext(connection) as few:
            ticket.services.add_comment(author=commenters[1], body="to two participants")
        for commenter in commenters[2:]:
            HelpDeskTicketComment.objects.create(ticket=ticket, author=commenter, body="me too")
        with CaptureQueriesContext(connection) as many:
            ticket.services.add_comment(author=commenters[1], body="to six participants")

        # 2 users × 2 channels the first time, then 6 users × 2 channels.
        assert Notification.objects.filter(event="helpdesk.ticket.comment").count() == 4 + 12
        # full_clean's two foreign-key checks, a savepoint and its release around the comment's
        # insert, the participants, their preferences, and notify's savepoint, release and one
        # insert per table.
        assert len(few) == len(many) == 12


def sample_ticket(description="d"):
    User = get_user_model()
    return HelpDeskTicket(
        pk=7,
        created_by=User(username="requester"),
        purpose="app",
        priority="high",
        status=IN_PROGRESS,
        description=description,
    )


def test_unmapped_events_name_the_mapping_to_extend():
    service = sample_ticket().services.notification
    with pytest.raises(UnmappedTicketEvent) as raised:
        service.build_message("reopened")
    assert str(raised.value) == (
        "'reopened' has no notification title in HelpDeskTicketNotificationService; "
        "map it in _get_ticket_event_notification_title()."
    )


readable_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=300
).filter(str.strip)


@pytest.mark.parametrize("engine", ["django", "jinja2"])
@settings(max_examples=15, deadline=None)
@given(body=readable_text)
def test_a_comment_email_carries_the_comment_whole_and_escaped(engine, body):
    ticket = sample_ticket()
    comment = HelpDeskTicketComment(author=get_user_model()(username="grace"), body=body)
    message = ticket.services.notification.build_message(TicketEventType.COMMENT, comment=comment)
    backend = EmailBackend(alias="email", engine=engine, domain="help.example.com")

    content = backend.render_content(message, backend.absolute_url(message.path))

    [quoted] = lxml.html.fromstring(content.html).find_class("description")
    assert quoted.text_content() == body
    assert f"\n\n{body}\n\n" in content.text
    assert content.subject == "New comment on Help Desk Ticket #7"


@pytest.mark.parametrize("engine", ["django", "jinja2"])
@settings(max_examples=15, deadline=None)
@given(description=readable_text, status=st.sampled_from(HelpDeskTicketStatusChoices.choices))
def test_an_update_email_names_the_new_status(engine, description, status):
    value, label = status
    ticket = sample_ticket(description)
    ticket.status = value
    message = ticket.services.notification.build_message(
        TicketEventType.UPDATE, changed_by=get_user_model()(username="grace")
    )
    backend = EmailBackend(alias="email", engine=engine, domain="help.example.com")

    content = backend.render_content(message, backend.absolute_url(message.path))

    assert content.subject == f"Help Desk Ticket #7 updated: {label}"
    [quoted] = lxml.html.fromstring(content.html).find_class("description")
    assert quoted.text_content() == description
    assert content.text.startswith(
        f"Hello,\n\nYour ticket is now {label}.\n\nTicket ID: 7\nStatus:    {label}\n"
    )
    assert "https://help.example.com/help_desk/page/7/detail/" in content.text
