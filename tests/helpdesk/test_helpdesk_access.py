"""Who may see a ticket and hear of it: developers matched by address or group, access re-checked."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.urls import reverse

from spire_notify.helpdesk.access import handles_tickets
from spire_notify.helpdesk.recipients import normalise_address, ticket_audience
from spire_notify.models import Notification

pytestmark = pytest.mark.django_db

KELVIN_SIGN = "\N{KELVIN SIGN}"


def comment_receivers(ticket):
    return sorted(
        set(
            Notification.objects.filter(event="helpdesk.ticket.comment", object_id=str(ticket.pk))
            .values_list("user__username", flat=True)
            .distinct()
        )
    )


def audience_names():
    return [user.username for user in ticket_audience()]


def detail_status(client, user, ticket):
    client.force_login(user)
    return client.get(reverse("spire_helpdesk:ticket_detail", args=[ticket.pk])).status_code


class TestCommentsReachOnlyWhoMayViewTheTicket:
    def test_a_developer_removed_from_admins_hears_of_no_new_comment(
        self, client, create_ticket, developer, requester
    ):
        ticket = create_ticket()
        ticket.services.add_comment(author=developer, body="Looking into it.")
        with override_settings(ADMINS=[]):
            assert detail_status(client, developer, ticket) == 404
            ticket.services.add_comment(author=requester, body="The password is hunter2.")
        assert comment_receivers(ticket) == ["requester"]

    def test_a_manager_who_left_the_group_hears_of_no_new_comment(
        self, create_ticket, manager, manager_group, requester
    ):
        ticket = create_ticket()
        ticket.services.add_comment(author=manager, body="On it.")
        manager.groups.remove(manager_group)
        ticket.services.add_comment(author=requester, body="Thanks.")
        assert comment_receivers(ticket) == ["requester"]

    def test_the_creator_and_commenters_who_still_handle_tickets_hear_of_it(
        self, create_ticket, developer, manager, requester
    ):
        ticket = create_ticket()
        ticket.services.add_comment(author=developer, body="Looking into it.")
        ticket.services.add_comment(author=manager, body="Priority confirmed.")
        Notification.objects.all().delete()
        ticket.services.add_comment(author=developer, body="Fixed.")
        assert comment_receivers(ticket) == ["manager", "requester"]


class TestAllowsNotificationTo:
    """``ticket.allows_notification_to(user)``: what delivery asks before it sends a row."""

    def test_the_creator_developers_and_managers_are_allowed(
        self, create_ticket, requester, developer, manager
    ):
        ticket = create_ticket()
        assert [ticket.allows_notification_to(user) for user in (requester, developer, manager)] == [
            True,
            True,
            True,
        ]

    def test_a_stranger_is_not(self, create_ticket, make_user):
        assert create_ticket().allows_notification_to(make_user("stranger")) is False

    def test_nobody_is_not(self, create_ticket):
        assert create_ticket().allows_notification_to(None) is False

    def test_an_inactive_creator_is_not(self, create_ticket, requester):
        ticket = create_ticket()
        requester.is_active = False
        requester.save()
        assert ticket.allows_notification_to(requester) is False

    def test_it_asks_again_every_time(self, create_ticket, developer, manager, manager_group):
        ticket = create_ticket()
        assert ticket.allows_notification_to(developer) is True
        assert ticket.allows_notification_to(manager) is True
        manager.groups.remove(manager_group)
        with override_settings(ADMINS=[]):
            assert ticket.allows_notification_to(developer) is False
        assert ticket.allows_notification_to(manager) is False

    def test_agrees_with_the_detail_page(
        self, client, create_ticket, requester, developer, manager, make_user
    ):
        ticket = create_ticket()
        for user in (requester, developer, manager, make_user("stranger")):
            allowed = ticket.allows_notification_to(user)
            assert detail_status(client, user, ticket) == (200 if allowed else 404), user


class TestDevelopersByAddress:
    @override_settings(ADMINS=["kevin@example.com"])
    def test_a_kelvin_sign_is_not_a_k(self, client, make_user, create_ticket):
        impostor = make_user("impostor", email=f"{KELVIN_SIGN}evin@example.com")
        ticket = create_ticket()
        assert audience_names() == []
        assert handles_tickets(impostor) is False
        assert Notification.objects.filter(user=impostor).count() == 0
        assert detail_status(client, impostor, ticket) == 404

    @override_settings(ADMINS=["andré@example.com"])
    def test_a_non_ascii_local_part_is_not_case_folded(self, make_user):
        make_user("upper", email="ANDRÉ@example.com")
        make_user("andre", email="andré@example.com")
        assert audience_names() == ["andre"]

    @override_settings(ADMINS=["Dev@EXAMPLE.com"])
    def test_ascii_letters_match_in_any_case(self, make_user):
        make_user("dev", email="dEV@example.COM")
        assert audience_names() == ["dev"]

    @override_settings(ADMINS=["dev@bücher.example", "ops@xn--bcher-kva.example"])
    def test_a_domain_matches_in_its_unicode_or_ascii_form(self, make_user):
        make_user("dev", email="dev@xn--bcher-kva.example")
        make_user("ops", email="ops@BÜCHER.example")
        assert audience_names() == ["dev", "ops"]

    @override_settings(ADMINS=["dev@example.com"])
    def test_a_longer_or_shorter_address_is_another_address(self, make_user):
        make_user("longer", email="dev@example.com.evil.example")
        make_user("prefixed", email="x.dev@example.com")
        make_user("plus", email="dev+x@example.com")
        assert audience_names() == []

    @override_settings(ADMINS=["a_b%c@example.com"])
    def test_like_wildcards_in_an_address_match_only_themselves(self, make_user):
        make_user("wild", email="aXbYc@example.com")
        make_user("exact", email="a_b%c@example.com")
        assert audience_names() == ["exact"]


@pytest.mark.parametrize(
    ("address", "normalised"),
    [
        ("Dev@Example.COM", "dev@example.com"),
        (" dev@example.com ", "dev@example.com"),
        (f"{KELVIN_SIGN}evin@example.com", f"{KELVIN_SIGN}evin@example.com"),
        ("ANDRÉ@example.com", "andrÉ@example.com"),
        ("dev@BÜCHER.example", "dev@xn--bcher-kva.example"),
        ("dev@xn--BCHER-kva.example", "dev@xn--bcher-kva.example"),
        ('"a@b"@example.com', '"a@b"@example.com'),
        ("no-at-sign", None),
        ("@example.com", None),
        ("dev@", None),
        ("dev@a..example", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_address(address, normalised):
    assert normalise_address(address) == normalised


class TestDevelopersByGroup:
    @pytest.fixture
    def developers_group(self, settings):
        settings.SPIRE_HELPDESK_DEVELOPERS = "Help desk developers"
        return Group.objects.create(name="Help desk developers")

    def test_members_of_the_group_are_developers_and_admins_are_not(
        self, developer, make_user, developers_group, create_ticket
    ):
        member = make_user("member", email="member@example.com")
        member.groups.add(developers_group)
        ticket = create_ticket()
        channels = sorted(Notification.objects.values_list("user__username", "channel"))
        assert channels == [("member", "app"), ("member", "email")]
        assert ticket.allows_notification_to(member) is True
        assert ticket.allows_notification_to(developer) is False

    def test_a_member_who_is_also_a_manager_is_listed_once(self, developer, manager, developers_group):
        manager.groups.add(developers_group)
        [user] = ticket_audience()
        assert (user.username, user.is_developer, user.is_manager) == ("manager", True, True)

    def test_an_inactive_member_is_not(self, make_user, developers_group):
        make_user("gone", is_active=False).groups.add(developers_group)
        assert audience_names() == []


@override_settings(SPIRE_HELPDESK_DEVELOPERS=["Help desk developers"])
def test_a_group_setting_that_is_not_a_name_is_refused():
    with pytest.raises(ImproperlyConfigured) as raised:
        ticket_audience()
    assert str(raised.value) == (
        "SPIRE_HELPDESK_DEVELOPERS must be the name of a group (a string), not ['Help desk developers']."
    )
