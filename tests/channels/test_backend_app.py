"""spire_notify.channels.app.backend: the short "Priority - Purpose" body and the relative URL."""

from itertools import product

import pytest
from django.contrib.auth import get_user_model
from hypothesis import given, settings
from hypothesis import strategies as st

from spire_notify import Message, Recipient
from spire_notify.backends.base import Delivery, Outcome
from spire_notify.channels.app.backend import AppBackend
from spire_notify.channels.app.models import AppNotification
from spire_notify.helpdesk.choices import HelpDeskTicketPriorityChoices, HelpDeskTicketPurposeChoices
from spire_notify.helpdesk.enums import TicketEventType
from spire_notify.helpdesk.models import HelpDeskTicket
from spire_notify.models import Notification

# Run time varies with the machine's load; a deadline would only make these properties flaky.
no_deadline = settings(deadline=None)

PRIORITY_LABELS = {"low": "Low", "medium": "Medium", "high": "High", "urgent": "Urgent"}
PURPOSE_LABELS = {"app": "App", "company": "Company"}
EVERY_PRIORITY_AND_PURPOSE = list(product(PRIORITY_LABELS, PURPOSE_LABELS))
ticket_pks = st.integers(min_value=1, max_value=2**63 - 1)


def ticket_message(*, pk, priority, purpose):
    """The message of a NEW ticket, built by the help desk service without touching the database."""
    ticket = HelpDeskTicket(
        pk=pk,
        priority=priority,
        purpose=purpose,
        description="d",
        created_by=get_user_model()(username="requester"),
    )
    return ticket.services.notification.build_message(TicketEventType.NEW)


def test_choices_have_the_labels_of_the_contract():
    assert dict(HelpDeskTicketPriorityChoices.choices) == PRIORITY_LABELS
    assert dict(HelpDeskTicketPurposeChoices.choices) == PURPOSE_LABELS


@pytest.mark.parametrize(("priority", "purpose"), EVERY_PRIORITY_AND_PURPOSE)
@no_deadline
@given(pk=ticket_pks)
def test_body_is_priority_and_purpose_labels_and_url_is_relative(priority, purpose, pk):
    message = ticket_message(pk=pk, priority=priority, purpose=purpose)
    rendered = AppBackend(alias="app").render(message, Recipient(user_id=1))
    assert rendered.body == f"Priority: {PRIORITY_LABELS[priority]} - Purpose: {PURPOSE_LABELS[purpose]}"
    assert rendered.url == f"/help_desk/page/{pk}/detail/"
    assert rendered.content is None


@no_deadline
@given(title=st.text(), body=st.text(), path=st.text())
def test_any_message_renders_its_summary_and_path_unchanged(title, body, path):
    message = Message(event="e", title=title, body=body, path=path)
    rendered = AppBackend(alias="app").render(message, Recipient(user_id=1))
    assert (rendered.body, rendered.url) == (body or title, path)


def test_render_many_renders_each_recipient_alike():
    message = Message(event="e", title="t", body="b", path="/p/")
    renderings = AppBackend(alias="app").render_many(message, [Recipient(user_id=1), Recipient(user_id=2)])
    assert [(r.body, r.url) for r in renderings] == [("b", "/p/"), ("b", "/p/")]


def test_accepts_users_without_an_email_address():
    assert AppBackend(alias="app").accepts(Recipient(user_id=1, email=""))


def test_send_succeeds_for_every_delivery():
    message = Message(event="e", title="t")
    backend = AppBackend(alias="app")
    deliveries = [
        Delivery(notification=None, rendered=backend.render(message, Recipient(user_id=i))) for i in range(3)
    ]
    assert backend.send(deliveries) == [Outcome.success()] * 3


def test_detail_row_is_an_unsaved_app_notification():
    notification = Notification(title="t")
    detail = AppBackend(alias="app").build_detail(notification, Recipient(user_id=1))
    assert isinstance(detail, AppNotification)
    assert detail.notification is notification
    assert detail.read_at is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("priority", "purpose"),
    [("high", "app"), ("low", "company"), ("urgent", "company"), ("medium", "app")],
)
def test_delivered_app_notifications_end_to_end(priority, purpose, developer, manager, create_and_deliver):
    ticket = create_and_deliver(priority=priority, purpose=purpose)
    delivered = Notification.objects.filter(channel="app").order_by("user__username")
    assert [(n.user, n.status, n.body, n.url) for n in delivered] == [
        (
            user,
            "sent",
            f"Priority: {PRIORITY_LABELS[priority]} - Purpose: {PURPOSE_LABELS[purpose]}",
            f"/help_desk/page/{ticket.pk}/detail/",
        )
        for user in (developer, manager)
    ]
    assert AppNotification.objects.filter(notification__in=delivered).count() == 2
