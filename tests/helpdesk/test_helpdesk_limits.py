"""Input through the service API and the forms: unknown fields, NUL, and the size limits."""

import lxml.html
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from spire_notify.helpdesk.models import (
    COMMENT_MAX_CHARS,
    DESCRIPTION_MAX_CHARS,
    HelpDeskTicket,
    HelpDeskTicketComment,
)
from spire_notify.models import Notification

pytestmark = pytest.mark.django_db

VALID = {"purpose": "app", "priority": "high", "description": "Login page throws a 500 error."}


def nothing_written():
    return (
        HelpDeskTicket.objects.count(),
        HelpDeskTicketComment.objects.count(),
        Notification.objects.count(),
    ) == (0, 0, 0)


def field_errors(response, name):
    page = lxml.html.fromstring(response.content)
    return [item.text_content() for item in page.cssselect(f"#id_{name}_error li")]


def test_the_limits_are_twenty_thousand_characters():
    assert DESCRIPTION_MAX_CHARS == COMMENT_MAX_CHARS == 20_000


class TestCreateThroughTheService:
    def test_an_unknown_field_is_refused(self, requester, developer):
        with pytest.raises(ValidationError) as raised:
            HelpDeskTicket().services.create(created_by=requester, priorty="urgent", **VALID)
        assert raised.value.message_dict == {"priorty": ["HelpDeskTicket has no field 'priorty'."]}
        assert nothing_written()

    def test_a_field_that_is_not_set_on_creation_is_refused(self, requester):
        with pytest.raises(ValidationError) as raised:
            HelpDeskTicket().services.create(created_by=requester, id=7, created_at=None, **VALID)
        assert raised.value.message_dict == {
            "created_at": ["HelpDeskTicket has no field 'created_at'."],
            "id": ["HelpDeskTicket has no field 'id'."],
        }
        assert nothing_written()

    def test_the_creator_may_be_given_by_id(self, requester):
        ticket = HelpDeskTicket().services.create(created_by_id=requester.pk, **VALID)
        assert ticket.created_by == requester

    def test_a_description_at_the_limit_is_saved(self, requester):
        ticket = HelpDeskTicket().services.create(
            created_by=requester, **VALID | {"description": "x" * DESCRIPTION_MAX_CHARS}
        )
        assert len(HelpDeskTicket.objects.get(pk=ticket.pk).description) == DESCRIPTION_MAX_CHARS

    def test_a_description_over_the_limit_is_refused(self, requester, developer):
        with pytest.raises(ValidationError) as raised:
            HelpDeskTicket().services.create(
                created_by=requester, **VALID | {"description": "x" * (DESCRIPTION_MAX_CHARS + 1)}
            )
        assert raised.value.message_dict == {
            "description": ["Ensure this value has at most 20000 characters (it has 20001)."]
        }
        assert nothing_written()

    def test_a_description_with_nul_is_refused(self, requester):
        with pytest.raises(ValidationError) as raised:
            HelpDeskTicket().services.create(created_by=requester, **VALID | {"description": "a\x00b"})
        assert raised.value.message_dict == {"description": ["Null characters are not allowed."]}
        assert nothing_written()


class TestCommentThroughTheService:
    @pytest.fixture
    def ticket(self, create_ticket):
        ticket = create_ticket()
        Notification.objects.all().delete()
        return ticket

    def test_nul_is_refused_on_every_database(self, ticket, developer):
        with CaptureQueriesContext(connection) as queries:
            with pytest.raises(ValidationError) as raised:
                ticket.services.add_comment(author=developer, body="before\x00after")
        assert raised.value.message_dict == {"body": ["Null characters are not allowed."]}
        assert not [query for query in queries if "INSERT" in query["sql"]]
        assert (HelpDeskTicketComment.objects.count(), Notification.objects.count()) == (0, 0)

    def test_a_comment_at_the_limit_is_saved(self, ticket, developer):
        comment = ticket.services.add_comment(author=developer, body="y" * COMMENT_MAX_CHARS)
        assert len(HelpDeskTicketComment.objects.get(pk=comment.pk).body) == COMMENT_MAX_CHARS

    def test_a_comment_over_the_limit_is_refused(self, ticket, developer):
        with pytest.raises(ValidationError) as raised:
            ticket.services.add_comment(author=developer, body="y" * (COMMENT_MAX_CHARS + 1))
        assert raised.value.message_dict == {
            "body": ["Ensure this value has at most 20000 characters (it has 20001)."]
        }
        assert (HelpDeskTicketComment.objects.count(), Notification.objects.count()) == (0, 0)


class TestForms:
    def test_a_description_over_the_limit_is_a_form_error(self, client, requester):
        client.force_login(requester)
        response = client.post(
            reverse("spire_helpdesk:ticket_create"),
            VALID | {"description": "x" * (DESCRIPTION_MAX_CHARS + 1)},
        )
        assert response.status_code == 400
        assert field_errors(response, "description") == [
            "Ensure this value has at most 20000 characters (it has 20001)."
        ]
        page = lxml.html.fromstring(response.content)
        assert page.get_element_by_id("id_description").get("maxlength") == "20000"
        assert nothing_written()

    def test_a_comment_over_the_limit_is_a_form_error(self, client, create_ticket, requester):
        ticket = create_ticket()
        client.force_login(requester)
        response = client.post(
            reverse("spire_helpdesk:ticket_add_comment", args=[ticket.pk]),
            {"body": "y" * (COMMENT_MAX_CHARS + 1)},
        )
        assert response.status_code == 400
        assert field_errors(response, "body") == [
            "Ensure this value has at most 20000 characters (it has 20001)."
        ]
        page = lxml.html.fromstring(response.content)
        assert page.get_element_by_id("id_body").get("maxlength") == "20000"
        assert HelpDeskTicketComment.objects.count() == 0

    def test_a_comment_with_nul_is_a_form_error(self, client, create_ticket, requester):
        ticket = create_ticket()
        client.force_login(requester)
        response = client.post(
            reverse("spire_helpdesk:ticket_add_comment", args=[ticket.pk]), {"body": "a\x00b"}
        )
        assert response.status_code == 400
        assert field_errors(response, "body") == ["Null characters are not allowed."]
        assert HelpDeskTicketComment.objects.count() == 0


class TestTheTicketListLoadsOnlyWhatItShows:
    def test_descriptions_are_not_loaded_whole(self, client, create_ticket, developer):
        for _ in range(3):
            create_ticket(description="z" * DESCRIPTION_MAX_CHARS)
        # A row stored before the limit existed, as large as the issue's.
        HelpDeskTicket.objects.filter(pk=create_ticket().pk).update(description="w" * 10_000_000)
        client.force_login(developer)

        response = client.get(reverse("spire_helpdesk:ticket_list"))

        tickets = response.context["page"].object_list
        assert all("description" in ticket.get_deferred_fields() for ticket in tickets)
        assert max(len(ticket.summary) for ticket in tickets) <= 91
        assert len(response.content) < 50_000
        summaries = lxml.html.fromstring(response.content).find_class("row-summary")
        assert [summary.text_content() for summary in summaries] == ["w" * 89 + "…"] + ["z" * 89 + "…"] * 3
