"""The help desk pages: list with filters, the create form, detail, status change, comments."""

import lxml.html
import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spire_notify.helpdesk.forms import EMPTY_COMMENT, EMPTY_DESCRIPTION
from spire_notify.helpdesk.models import DESCRIPTION_MAX_CHARS, HelpDeskTicket, HelpDeskTicketComment
from spire_notify.models import Notification

pytestmark = pytest.mark.django_db

TICKETS = reverse("spire_helpdesk:ticket_list")
NEW_TICKET = reverse("spire_helpdesk:ticket_create")
VALID = {"purpose": "app", "priority": "high", "description": "Login page throws a 500 error."}

# What a person can type: any character but control ones (a browser sends newlines as \r\n,
# which the form keeps and HTML parsing folds, so they are left out too).
typed_text = (
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t"), min_size=1)
    .filter(str.strip)
    .map(str.strip)
)


def detail(ticket):
    return reverse("spire_helpdesk:ticket_detail", args=[ticket.pk])


def listed(response):
    page = lxml.html.fromstring(response.content)
    return [int(link.text_content().lstrip("#")) for link in page.cssselect("table.data tbody a")]


def field_errors(response, name):
    page = lxml.html.fromstring(response.content)
    return [item.text_content() for item in page.cssselect(f"#id_{name}_error li")]


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login


class TestList:
    def test_developer_sees_every_ticket_newest_first(self, logged_in, developer, create_ticket, make_user):
        first = create_ticket()
        second = create_ticket(created_by=make_user("other"))
        assert listed(logged_in(developer).get(TICKETS)) == [second.pk, first.pk]

    def test_requester_sees_only_their_own(self, logged_in, requester, create_ticket, make_user):
        own = create_ticket()
        create_ticket(created_by=make_user("other"))
        response = logged_in(requester).get(TICKETS)
        assert listed(response) == [own.pk]
        assert "The tickets you filed." in response.content.decode()

    def test_filters_by_status_and_priority(self, logged_in, developer, create_ticket):
        urgent = create_ticket(priority="urgent")
        high = create_ticket(priority="high")
        high.services.change_status("in_progress", changed_by=developer)
        client = logged_in(developer)

        assert listed(client.get(TICKETS, {"priority": "urgent"})) == [urgent.pk]
        assert listed(client.get(TICKETS, {"status": "in_progress"})) == [high.pk]
        assert listed(client.get(TICKETS, {"status": "ready", "priority": "high"})) == []
        assert listed(client.get(TICKETS, {"status": "", "priority": ""})) == [high.pk, urgent.pk]

    def test_an_unknown_filter_value_filters_nothing(self, logged_in, developer, create_ticket):
        ticket = create_ticket()
        assert listed(logged_in(developer).get(TICKETS, {"status": "closed"})) == [ticket.pk]

    def test_page_links_keep_the_filters(self, logged_in, developer, create_ticket):
        for _ in range(26):
            create_ticket(priority="low")
        page = logged_in(developer).get(TICKETS, {"priority": "low"}).content.decode()
        assert 'href="?priority=low&amp;page=2"' in page


class TestCreate:
    def test_saves_through_the_service_and_notifies(self, logged_in, requester, developer, manager):
        response = logged_in(requester).post(NEW_TICKET, VALID)

        ticket = HelpDeskTicket.objects.get()
        assert response.status_code == 302
        assert response["Location"] == detail(ticket)
        assert (ticket.created_by, ticket.purpose, ticket.priority, ticket.description) == (
            requester,
            "app",
            "high",
            "Login page throws a 500 error.",
        )
        assert sorted(Notification.objects.values_list("user__username", "channel")) == [
            ("dev", "app"),
            ("dev", "email"),
            ("manager", "app"),
        ]
        follow = logged_in(requester).get(detail(ticket)).content.decode()
        assert f"Ticket #{ticket.pk} created. The help desk team has been notified." in follow

    @pytest.mark.parametrize("description", ["", "   ", "\n\t \r\n"])
    def test_rejects_an_empty_or_blank_description(self, logged_in, requester, description):
        response = logged_in(requester).post(NEW_TICKET, VALID | {"description": description})
        assert response.status_code == 400
        assert field_errors(response, "description") == [EMPTY_DESCRIPTION]
        assert "Please correct the errors below." in response.content.decode()
        assert HelpDeskTicket.objects.count() == 0

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("purpose", "hr"),
            ("priority", "critical"),
            ("priority", ""),
            ("purpose", "APP"),
        ],
    )
    def test_rejects_choices_out_of_range(self, logged_in, requester, field, value):
        response = logged_in(requester).post(NEW_TICKET, VALID | {field: value})
        expected = (
            "This field is required."
            if value == ""
            else f"Select a valid choice. {value} is not one of the available choices."
        )
        assert response.status_code == 400
        assert field_errors(response, field) == [expected]
        assert HelpDeskTicket.objects.count() == 0

    def test_accepts_the_longest_description_and_shows_it_escaped(self, logged_in, requester):
        description = ("<script>alert('x')</script> & more " * 3000)[:DESCRIPTION_MAX_CHARS]
        client = logged_in(requester)

        client.post(NEW_TICKET, VALID | {"description": description})

        ticket = HelpDeskTicket.objects.get()
        assert ticket.description == description
        page = client.get(detail(ticket)).content.decode()
        assert "<script>alert" not in page
        shown = lxml.html.fromstring(page).find_class("description")[0].text_content()
        assert shown == description

    def test_the_form_labels_every_field(self, logged_in, requester):
        page = lxml.html.fromstring(logged_in(requester).get(NEW_TICKET).content)
        for name in ["purpose", "priority", "description"]:
            assert page.cssselect(f'label[for="id_{name}"]'), name


class TestDetail:
    @pytest.mark.parametrize("viewer", ["requester", "developer", "manager"])
    def test_is_visible_to_creator_developers_and_managers(self, request, logged_in, create_ticket, viewer):
        ticket = create_ticket()
        response = logged_in(request.getfixturevalue(viewer)).get(detail(ticket))
        assert response.status_code == 200
        assert f"<h1>Ticket #{ticket.pk}</h1>" in response.content.decode()

    def test_only_developers_and_managers_get_the_status_form(
        self, logged_in, create_ticket, requester, developer
    ):
        ticket = create_ticket()
        assert "Change status" not in logged_in(requester).get(detail(ticket)).content.decode()
        assert "Change status" in logged_in(developer).get(detail(ticket)).content.decode()

    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(description=typed_text, comment=typed_text)
    def test_shows_any_text_exactly_and_escaped(
        self, logged_in, create_ticket, developer, description, comment
    ):
        ticket = create_ticket(description=description)
        ticket.services.add_comment(author=developer, body=comment)

        page = lxml.html.fromstring(logged_in(developer).get(detail(ticket)).content)

        assert page.find_class("description")[0].text_content() == description
        assert page.find_class("comment-body")[-1].text_content() == comment


class TestStatusChange:
    def test_developer_moves_the_ticket_and_the_creator_hears(self, logged_in, create_ticket, developer):
        ticket = create_ticket()
        client = logged_in(developer)

        response = client.post(
            reverse("spire_helpdesk:ticket_change_status", args=[ticket.pk]), {"status": "in_progress"}
        )

        assert response["Location"] == detail(ticket)
        ticket.refresh_from_db()
        assert ticket.status == "in_progress"
        assert sorted(
            Notification.objects.filter(event="helpdesk.ticket.update").values_list(
                "user__username", "channel", "payload__body"
            )
        ) == [
            ("requester", "app", "Your ticket is now In Progress"),
            ("requester", "email", "Your ticket is now In Progress"),
        ]
        assert f"Ticket #{ticket.pk} is now In Progress." in client.get(detail(ticket)).content.decode()

    def test_rejects_an_unknown_status(self, logged_in, create_ticket, developer):
        ticket = create_ticket()
        response = logged_in(developer).post(
            reverse("spire_helpdesk:ticket_change_status", args=[ticket.pk]), {"status": "closed"}
        )
        assert response.status_code == 400
        assert field_errors(response, "status") == [
            "Select a valid choice. closed is not one of the available choices."
        ]
        ticket.refresh_from_db()
        assert ticket.status == "ready"


class TestComments:
    def test_a_comment_is_shown_and_reaches_the_other_participants(self, logged_in, create_ticket, developer):
        ticket = create_ticket()
        client = logged_in(developer)

        response = client.post(
            reverse("spire_helpdesk:ticket_add_comment", args=[ticket.pk]), {"body": "On it."}
        )

        assert response["Location"] == f"{detail(ticket)}#comments"
        assert list(HelpDeskTicketComment.objects.values_list("author__username", "body")) == [
            ("dev", "On it.")
        ]
        assert sorted(
            Notification.objects.filter(event="helpdesk.ticket.comment").values_list(
                "user__username", "channel"
            )
        ) == [("requester", "app"), ("requester", "email")]
        page = lxml.html.fromstring(client.get(detail(ticket)).content)
        assert [c.text_content() for c in page.find_class("comment-body")] == ["On it."]

    @pytest.mark.parametrize("body", ["", "  \n "])
    def test_rejects_an_empty_comment(self, logged_in, create_ticket, requester, body):
        ticket = create_ticket()
        response = logged_in(requester).post(
            reverse("spire_helpdesk:ticket_add_comment", args=[ticket.pk]), {"body": body}
        )
        assert response.status_code == 400
        assert field_errors(response, "body") == [EMPTY_COMMENT]
        assert HelpDeskTicketComment.objects.count() == 0
