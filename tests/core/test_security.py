"""Bad input and other people's things: login, CSRF, 404s, off-site redirects, staff-only pages."""

from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from spire_notify.channels.app.models import AppNotification
from spire_notify.channels.app.views import safe_url
from spire_notify.helpdesk.models import HelpDeskTicket, HelpDeskTicketComment
from spire_notify.models import Notification

pytestmark = pytest.mark.django_db

INBOX = reverse("spire_notify:inbox")


def make_notification(user, *, url="/help_desk/page/1/detail/", title="New Help Desk Ticket #1"):
    notification = Notification.objects.create(
        user=user,
        channel="app",
        status="sent",
        title=title,
        body="Priority: High - Purpose: App",
        url=url,
        payload={"priority": "High"},
    )
    AppNotification.objects.create(notification=notification)
    return notification


def is_read(notification):
    return AppNotification.objects.get(pk=notification.pk).read_at is not None


@pytest.fixture
def notification(developer):
    return make_notification(developer)


@pytest.fixture
def ticket(create_ticket):
    return create_ticket()


def get_urls(notification, ticket):
    return [
        INBOX,
        reverse("spire_notify:unread_count"),
        reverse("spire_notify:email_previews"),
        reverse("spire_notify:email_preview", args=["django", "helpdesk/email/ticket_new.html"]),
        reverse("spire_helpdesk:ticket_list"),
        reverse("spire_helpdesk:ticket_create"),
        reverse("spire_helpdesk:ticket_detail", args=[ticket.pk]),
    ]


def post_urls(notification, ticket):
    return {
        reverse("spire_notify:open", args=[notification.pk]): {},
        reverse("spire_notify:mark_read", args=[notification.pk]): {},
        reverse("spire_notify:mark_all_read"): {},
        reverse("spire_helpdesk:ticket_create"): {"purpose": "app", "priority": "low", "description": "x"},
        reverse("spire_helpdesk:ticket_change_status", args=[ticket.pk]): {"status": "done"},
        reverse("spire_helpdesk:ticket_add_comment", args=[ticket.pk]): {"body": "hello"},
    }


def nothing_changed(notification, ticket):
    ticket.refresh_from_db()
    return (
        not is_read(notification)
        and HelpDeskTicket.objects.count() == 1
        and ticket.status == "ready"
        and HelpDeskTicketComment.objects.count() == 0
    )


class TestLoginRequired:
    def test_every_page_sends_anonymous_users_to_log_in(self, client, notification, ticket):
        for url in get_urls(notification, ticket):
            response = client.get(url)
            assert (response.status_code, response["Location"]) == (302, f"/accounts/login/?next={url}"), url

    def test_every_action_sends_anonymous_users_to_log_in(self, client, notification, ticket):
        for url, data in post_urls(notification, ticket).items():
            response = client.post(url, data)
            assert (response.status_code, response["Location"]) == (302, f"/accounts/login/?next={url}"), url
        assert nothing_changed(notification, ticket)


class TestStateChangesArePostWithCsrf:
    def test_a_post_without_a_csrf_token_is_refused(self, developer, notification, ticket):
        client = Client(enforce_csrf_checks=True)
        client.force_login(developer)
        for url, data in post_urls(notification, ticket).items():
            assert client.post(url, data).status_code == 403, url
        assert nothing_changed(notification, ticket)

    def test_a_post_with_the_token_of_the_page_goes_through(self, developer, notification):
        client = Client(enforce_csrf_checks=True)
        client.force_login(developer)
        token = client.get(INBOX).context["csrf_token"]
        response = client.post(reverse("spire_notify:mark_all_read"), {"csrfmiddlewaretoken": token})
        assert response.status_code == 302
        assert is_read(notification)

    @pytest.mark.parametrize("name", ["open", "mark_read"])
    def test_get_does_not_change_a_notification(self, client, developer, notification, name):
        client.force_login(developer)
        assert client.get(reverse(f"spire_notify:{name}", args=[notification.pk])).status_code == 405
        assert not is_read(notification)

    def test_get_does_not_mark_all_read(self, client, developer, notification):
        client.force_login(developer)
        assert client.get(reverse("spire_notify:mark_all_read")).status_code == 405
        assert not is_read(notification)

    @pytest.mark.parametrize("name", ["ticket_change_status", "ticket_add_comment"])
    def test_get_does_not_change_a_ticket(self, client, developer, ticket, name):
        client.force_login(developer)
        assert client.get(reverse(f"spire_helpdesk:{name}", args=[ticket.pk])).status_code == 405


class TestOtherPeoplesNotifications:
    @pytest.mark.parametrize("name", ["open", "mark_read"])
    def test_are_not_found(self, client, requester, notification, name):
        client.force_login(requester)
        assert client.post(reverse(f"spire_notify:{name}", args=[notification.pk])).status_code == 404
        assert not is_read(notification)

    def test_are_not_listed_nor_counted(self, client, requester, notification):
        client.force_login(requester)
        assert "New Help Desk Ticket #1" not in client.get(INBOX).content.decode()
        assert client.get(reverse("spire_notify:unread_count")).json() == {"unread": 0}

    def test_mark_all_read_leaves_them_alone(self, client, requester, notification):
        client.force_login(requester)
        client.post(reverse("spire_notify:mark_all_read"))
        assert not is_read(notification)


UNSAFE_URLS = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example/steal",
    "///evil.example",
    "https://evil.example/",
    "http://testserver.evil.example/",
    "http://evil.example@testserver.evil.example/",
    "\\\\evil.example",
    "/\\evil.example",
    "https:evil.example",
    "http://testserver/",  # another scheme than the request's (https)
]


def leads_to_this_site(location):
    target = urlsplit(urljoin("https://testserver/notifications/", location))
    return (target.scheme, target.netloc) == ("https", "testserver")


class TestOpeningOnlyFollowsSameSiteUrls:
    @pytest.mark.parametrize("url", UNSAFE_URLS)
    def test_an_unsafe_url_returns_to_the_inbox(self, client, developer, url):
        notification = make_notification(developer, url=url)
        client.force_login(developer)

        response = client.post(reverse("spire_notify:open", args=[notification.pk]), secure=True)

        assert (response.status_code, response["Location"]) == (302, INBOX)
        assert is_read(notification)

    @pytest.mark.parametrize("url", ["/help_desk/page/1/detail/", "https://testserver/help_desk/", "?page=2"])
    def test_a_same_site_url_is_followed(self, client, developer, url):
        notification = make_notification(developer, url=url)
        client.force_login(developer)
        response = client.post(reverse("spire_notify:open", args=[notification.pk]), secure=True)
        assert response["Location"] == url

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    # No NUL: PostgreSQL cannot store it in a text column (safe_url itself is tested with it below).
    @given(url=st.text(alphabet=st.sampled_from("/\\:.@?#%&=jJavscriptdtm eviltxaple\t\n\ré"), max_size=30))
    @example(url="// ")
    def test_no_url_leads_off_site(self, client, developer, url):
        notification = make_notification(developer, url=url)
        client.force_login(developer)

        response = client.post(reverse("spire_notify:open", args=[notification.pk]), secure=True)

        assert leads_to_this_site(response["Location"])

    @given(url=st.text() | st.text(alphabet=st.sampled_from("/\\:.@?#%jJavscript evil\t\n\x00"), max_size=30))
    @example(url="/\x00/evil.example")
    def test_safe_url_is_same_site_or_empty(self, url):
        request = RequestFactory().get("/", secure=True)
        assert leads_to_this_site(safe_url(request, url) or INBOX)

    def test_mark_read_only_returns_to_same_site_pages(self, client, developer, notification):
        client.force_login(developer)
        response = client.post(
            reverse("spire_notify:mark_read", args=[notification.pk]), {"next": "//evil.example/"}
        )
        assert response["Location"] == INBOX

    def test_the_inbox_never_links_to_a_notification_url(self, client, developer):
        make_notification(developer, url="javascript:alert(1)", title="<img src=x onerror=alert(1)>")
        client.force_login(developer)
        page = client.get(INBOX).content.decode()
        assert "javascript:" not in page
        assert "<img src=x" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page


class TestTickets:
    def test_a_stranger_gets_404_for_the_page(self, client, make_user, ticket):
        client.force_login(make_user("stranger"))
        assert client.get(reverse("spire_helpdesk:ticket_detail", args=[ticket.pk])).status_code == 404

    def test_a_stranger_gets_404_for_status_and_comments(self, client, make_user, ticket):
        client.force_login(make_user("stranger"))
        assert (
            client.post(
                reverse("spire_helpdesk:ticket_change_status", args=[ticket.pk]), {"status": "done"}
            ).status_code
            == 404
        )
        assert (
            client.post(
                reverse("spire_helpdesk:ticket_add_comment", args=[ticket.pk]), {"body": "hi"}
            ).status_code
            == 404
        )
        assert nothing_changed(make_notification(make_user("someone")), ticket)

    def test_a_stranger_does_not_see_it_listed(self, client, make_user, ticket):
        client.force_login(make_user("stranger"))
        assert (
            f"#{ticket.pk}</strong>" not in client.get(reverse("spire_helpdesk:ticket_list")).content.decode()
        )

    def test_the_creator_cannot_change_the_status(self, client, requester, ticket):
        client.force_login(requester)
        response = client.post(
            reverse("spire_helpdesk:ticket_change_status", args=[ticket.pk]), {"status": "done"}
        )
        assert response.status_code == 403
        ticket.refresh_from_db()
        assert ticket.status == "ready"

    def test_an_inactive_developer_is_a_stranger(self, client, developer, ticket):
        developer.is_active = False
        developer.save()
        client.force_login(developer)
        # Django's ModelBackend logs inactive users out: they are sent to log in.
        assert client.get(reverse("spire_helpdesk:ticket_detail", args=[ticket.pk])).status_code == 302


class TestEmailPreviewsAreStaffOnly:
    def test_a_logged_in_user_who_is_not_staff_is_refused(self, client, developer):
        client.force_login(developer)
        assert client.get(reverse("spire_notify:email_previews")).status_code == 403
        assert (
            client.get(
                reverse("spire_notify:email_preview", args=["django", "helpdesk/email/ticket_new.html"])
            ).status_code
            == 403
        )

    def test_the_navbar_links_them_for_staff_only(self, client, developer, make_user):
        client.force_login(developer)
        assert "Email previews" not in client.get(INBOX).content.decode()
        client.force_login(make_user("staff", is_staff=True))
        assert "Email previews" in client.get(INBOX).content.decode()
