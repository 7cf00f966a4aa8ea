"""The in-app inbox: listing, the unread badge, opening and marking notifications read."""

from datetime import timedelta

import lxml.html
import pytest
from django.contrib.sites.models import Site
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from spire_notify.channels.app.models import AppNotification, inbox_of, unread_among
from spire_notify.channels.app.views import INBOX_BODY_CHARS
from spire_notify.models import Notification

pytestmark = pytest.mark.django_db

INBOX = reverse("spire_notify:inbox")
UNREAD_COUNT = reverse("spire_notify:unread_count")


def make_inbox(user, count, *, channel="app", status="sent", priority="High", url=None):
    """``count`` delivered notifications of ``user``, the last one the newest."""
    now = timezone.now()
    rows = Notification.objects.bulk_create(
        [
            Notification(
                user=user,
                channel=channel,
                status=status,
                event="helpdesk.ticket.new",
                title=f"New Help Desk Ticket #{number}",
                body=f"Priority: {priority} - Purpose: App",
                url=f"/help_desk/page/{number}/detail/" if url is None else url,
                payload={"priority": priority, "purpose": "App"},
                created_at=now - timedelta(minutes=count - number),
            )
            for number in range(1, count + 1)
        ]
    )
    if channel == "app":
        AppNotification.objects.bulk_create([AppNotification(notification=row) for row in rows])
    return rows


def titles(response):
    """The titles of the listed notifications, in order (without the "Unread:" of screen readers)."""
    page = lxml.html.fromstring(response.content)
    return [
        title.text_content().strip().removeprefix("Unread: ")
        for title in page.find_class("notification-title")
    ]


def unread(user):
    return unread_among(inbox_of(user)).count()


@pytest.fixture
def dev_client(client, developer):
    client.force_login(developer)
    return client


class TestInboxPage:
    def test_lists_newest_first_twenty_a_page(self, dev_client, developer):
        make_inbox(developer, 25)

        first = dev_client.get(INBOX)
        second = dev_client.get(INBOX, {"page": 2})

        assert titles(first) == [f"New Help Desk Ticket #{n}" for n in range(25, 5, -1)]
        assert titles(second) == [f"New Help Desk Ticket #{n}" for n in range(5, 0, -1)]
        assert "Page 1 of 2" in first.content.decode()
        assert "25 notifications" in first.content.decode()

    def test_marks_unread_ones_and_shows_priority(self, dev_client, developer):
        first, second = make_inbox(developer, 2, priority="Urgent")
        AppNotification.objects.filter(notification=first).update(read_at=timezone.now())

        page = dev_client.get(INBOX).content.decode()

        assert page.count('class="notification is-unread"') == 1
        assert page.count('class="notification"') == 1
        assert page.count("Unread: </span>New Help Desk Ticket #2") == 1
        assert (
            page.count(
                '<span class="pill pill-urgent"><span class="visually-hidden">Priority: </span>Urgent</span>'
            )
            == 2
        )

    def test_shows_only_delivered_app_notifications(self, dev_client, developer):
        make_inbox(developer, 1, status="pending")
        make_inbox(developer, 1, status="failed")
        make_inbox(developer, 1, channel="email")
        page = dev_client.get(INBOX).content.decode()
        assert titles(dev_client.get(INBOX)) == []
        assert "You're all caught up" in page

    def test_a_page_beyond_the_last_shows_the_last(self, dev_client, developer):
        make_inbox(developer, 3)
        assert titles(dev_client.get(INBOX, {"page": 99})) == [
            "New Help Desk Ticket #3",
            "New Help Desk Ticket #2",
            "New Help Desk Ticket #1",
        ]

    @pytest.mark.parametrize("count", [10, 1000])
    def test_queries_do_not_grow_with_the_notifications(
        self, dev_client, developer, django_assert_num_queries, count
    ):
        make_inbox(developer, count)
        # The layout's Site name is cached for the life of the process; looked up beforehand.
        Site.objects.get_current()
        # Session, user, the paginator's count, the page's rows (with read state), the badge.
        with django_assert_num_queries(5):
            response = dev_client.get(INBOX)
        assert len(titles(response)) == min(count, 20)


class TestInboxLoadsOnlyWhatItShows:
    """Rows keep their message (payload) and may carry a long body: the page loads neither whole."""

    LARGE = 2_400_000

    def test_twenty_large_notifications_load_a_few_kilobytes(
        self, dev_client, developer, django_assert_num_queries
    ):
        rows = make_inbox(developer, 20)
        Notification.objects.filter(pk__in=[row.pk for row in rows]).update(
            body="b" * self.LARGE,
            payload={"priority": "High", "context": {"comment_body": "c" * self.LARGE}},
        )

        Site.objects.get_current()  # cached for the life of the process, as above
        # As before: session, user, the paginator's count, the page's rows, the badge.
        with django_assert_num_queries(5):
            response = dev_client.get(INBOX)

        listed = response.context["page"].object_list
        assert len(listed) == 20
        assert all({"payload", "body"} <= notification.get_deferred_fields() for notification in listed)
        loaded = sum(len(str(value)) for notification in listed for value in vars(notification).values())
        assert loaded < 20 * 1_000
        assert len(response.content) < 100_000

    def test_shows_the_priority_and_the_start_of_a_long_body(self, dev_client, developer):
        [row] = make_inbox(developer, 1, priority="Urgent")
        Notification.objects.filter(pk=row.pk).update(body="word " * 1000)

        page = lxml.html.fromstring(dev_client.get(INBOX).content)

        [body] = page.find_class("notification-body")
        assert body.text_content() == ("word " * 1000)[: INBOX_BODY_CHARS - 1] + "…"
        [pill] = page.find_class("pill-urgent")
        assert pill.text_content() == "Priority: Urgent"

    def test_a_short_body_is_shown_whole(self, dev_client, developer):
        make_inbox(developer, 1)
        [body] = lxml.html.fromstring(dev_client.get(INBOX).content).find_class("notification-body")
        assert body.text_content() == "Priority: High - Purpose: App"


class TestBadge:
    def test_json_counts_unread_notifications_of_the_user(self, dev_client, developer, requester):
        rows = make_inbox(developer, 3)
        make_inbox(requester, 4)
        AppNotification.objects.filter(notification=rows[0]).update(read_at=timezone.now())

        response = dev_client.get(UNREAD_COUNT)

        assert response.json() == {"unread": 2}
        assert "no-cache" in response["Cache-Control"]

    @pytest.mark.parametrize("count", [10, 1000])
    def test_json_queries_do_not_grow_with_the_notifications(
        self, dev_client, developer, django_assert_num_queries, count
    ):
        make_inbox(developer, count)
        # Session, user, one COUNT.
        with django_assert_num_queries(3):
            assert dev_client.get(UNREAD_COUNT).json() == {"unread": count}

    @pytest.mark.parametrize("count", [10, 1000])
    def test_tag_renders_the_count_in_one_query(self, developer, django_assert_num_queries, count):
        make_inbox(developer, count)
        request = RequestFactory().get("/")
        request.user = developer
        template = Template("{% load notification_tags %}{% notification_badge %}")

        with django_assert_num_queries(1):
            html = template.render(Context({"request": request, "user": developer}))

        assert f'data-unread="{count}"' in html
        assert f'<span class="badge-count" data-unread-count aria-hidden="true">{count}</span>' in html
        assert f"{count} unread notifications</span>" in html
        assert f'data-count-url="{UNREAD_COUNT}"' in html
        assert 'data-poll-milliseconds="15000"' in html

    def test_tag_hides_a_zero_count(self, developer):
        request = RequestFactory().get("/")
        html = Template("{% load notification_tags %}{% notification_badge %}").render(
            Context({"request": request, "user": developer})
        )
        assert '<span class="badge-count" data-unread-count aria-hidden="true" hidden>0</span>' in html
        assert "0 unread notifications</span>" in html

    def test_tag_renders_nothing_for_anonymous_users(self):
        from django.contrib.auth.models import AnonymousUser

        html = Template("{% load notification_tags %}{% notification_badge %}").render(
            Context({"user": AnonymousUser()})
        )
        assert html.strip() == ""

    def test_poll_interval_is_a_setting(self, developer, settings):
        settings.NOTIFY_BADGE_POLL_SECONDS = 1.5
        html = Template("{% load notification_tags %}{% notification_badge %}").render(
            Context({"user": developer})
        )
        assert 'data-poll-milliseconds="1500"' in html

    def test_every_page_of_the_layout_has_it(self, dev_client, developer):
        make_inbox(developer, 2)
        page = dev_client.get(reverse("spire_helpdesk:ticket_list")).content.decode()
        assert '<span class="badge-count" data-unread-count aria-hidden="true">2</span>' in page
        assert '<script src="/static/spire_notify/badge.js" defer></script>' in page


class TestMarkingRead:
    def test_opening_marks_read_and_goes_to_the_notification_url(self, dev_client, developer):
        [row] = make_inbox(developer, 1)

        response = dev_client.post(reverse("spire_notify:open", args=[row.pk]))

        assert response.status_code == 302
        assert response["Location"] == "/help_desk/page/1/detail/"
        assert AppNotification.objects.get(pk=row.pk).read_at is not None

    def test_opening_again_keeps_the_first_read_time(self, dev_client, developer):
        [row] = make_inbox(developer, 1)
        first_read = timezone.now() - timedelta(days=1)
        AppNotification.objects.filter(pk=row.pk).update(read_at=first_read)
        dev_client.post(reverse("spire_notify:open", args=[row.pk]))
        assert AppNotification.objects.get(pk=row.pk).read_at == first_read

    def test_opening_one_without_url_returns_to_the_inbox(self, dev_client, developer):
        [row] = make_inbox(developer, 1, url="")
        response = dev_client.post(reverse("spire_notify:open", args=[row.pk]))
        assert response["Location"] == INBOX
        assert unread(developer) == 0

    def test_mark_one_read_returns_to_the_page_it_came_from(self, dev_client, developer):
        rows = make_inbox(developer, 3)

        response = dev_client.post(
            reverse("spire_notify:mark_read", args=[rows[1].pk]), {"next": f"{INBOX}?page=1"}
        )

        assert response["Location"] == f"{INBOX}?page=1"
        assert list(AppNotification.objects.filter(read_at__isnull=False).values_list("pk", flat=True)) == [
            rows[1].pk
        ]

    def test_mark_all_read_marks_only_the_users_inbox(self, dev_client, developer, requester):
        make_inbox(developer, 30)
        make_inbox(requester, 2)

        response = dev_client.post(reverse("spire_notify:mark_all_read"))

        assert response["Location"] == INBOX
        assert (unread(developer), unread(requester)) == (0, 2)
        assert dev_client.get(UNREAD_COUNT).json() == {"unread": 0}


@pytest.mark.parametrize(
    ("age", "shown"),
    [
        (timedelta(seconds=59), "just now"),
        (timedelta(minutes=5, seconds=10), "5\xa0minutes ago"),
        (timedelta(days=1, hours=2), "1\xa0day, 2\xa0hours ago"),
    ],
)
def test_times_are_relative(age, shown):
    html = Template("{% load notification_tags %}{{ moment|ago }}").render(
        Context({"moment": timezone.now() - age})
    )
    assert html == shown
