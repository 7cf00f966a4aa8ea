"""Who hears of a new ticket: developers (ADMINS) get app + email, managers get app."""

import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings

from spire_notify.helpdesk.models import HelpDeskTicket
from spire_notify.helpdesk.recipients import admin_address, admin_addresses, ticket_audience
from spire_notify.models import Notification

pytestmark = pytest.mark.django_db


def channels_by_user():
    found = {}
    for username, channel in Notification.objects.values_list("user__username", "channel").order_by("pk"):
        found.setdefault(username, []).append(channel)
    return found


def new_ticket_recipients():
    service = HelpDeskTicket(pk=1, priority="high", purpose="app").services.notification
    return {user.username: channels for user, channels in service.get_new_ticket_recipients().items()}


@pytest.fixture
def delete_permission():
    return Permission.objects.get(codename="delete_helpdeskticket", content_type__app_label="spire_helpdesk")


def test_developer_and_manager_channels(developer, manager, requester, create_ticket):
    create_ticket()
    assert channels_by_user() == {"dev": ["app", "email"], "manager": ["app"]}


def test_developer_who_is_also_a_manager_gets_one_row_per_channel(
    developer, manager_group, create_and_deliver
):
    developer.groups.add(manager_group)
    create_and_deliver()
    assert new_ticket_recipients() == {"dev": ["app", "email"]}
    assert channels_by_user() == {"dev": ["app", "email"]}
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_manager_by_two_routes_is_listed_once(manager, delete_permission):
    manager.user_permissions.add(delete_permission)
    manager.is_superuser = True
    manager.save()
    assert new_ticket_recipients() == {"manager": ["app"]}


def test_inactive_users_get_nothing(make_user, manager_group, create_ticket):
    make_user("dev", email="dev@example.com", is_active=False)
    make_user("boss", is_active=False, is_superuser=True)
    make_user("manager", is_active=False).groups.add(manager_group)
    create_ticket()
    assert Notification.objects.count() == 0


def test_superuser_is_a_manager(make_user, create_ticket):
    make_user("root", is_superuser=True, is_staff=True)
    create_ticket()
    assert channels_by_user() == {"root": ["app"]}


def test_permission_held_directly_makes_a_manager(make_user, delete_permission, create_ticket):
    make_user("direct").user_permissions.add(delete_permission)
    create_ticket()
    assert channels_by_user() == {"direct": ["app"]}


def test_permission_through_a_group_makes_a_manager(manager, create_ticket):
    create_ticket()
    assert channels_by_user() == {"manager": ["app"]}


def test_other_permissions_do_not_make_a_manager(make_user, create_ticket):
    change = Permission.objects.get(codename="change_helpdeskticket")
    make_user("editor", is_staff=True).user_permissions.add(change)
    create_ticket()
    assert Notification.objects.count() == 0


def test_audience_agrees_with_djangos_permission_rules(make_user, manager, delete_permission):
    direct = make_user("direct")
    direct.user_permissions.add(delete_permission)
    root = make_user("root", is_superuser=True)
    plain = make_user("plain")
    audience = set(ticket_audience())
    for user in (manager, direct, root, plain):
        assert (user in audience) == user.has_perm("spire_helpdesk.delete_helpdeskticket"), user


@override_settings(ADMINS=[("Legacy Dev", "legacy@example.com"), ["Listed Dev", "listed@example.com"]])
def test_admins_legacy_name_address_pairs(make_user, create_ticket):
    make_user("legacy", email="legacy@example.com")
    make_user("listed", email="listed@example.com")
    create_ticket()
    assert channels_by_user() == {"legacy": ["app", "email"], "listed": ["app", "email"]}


@override_settings(ADMINS=["Named Dev <named@example.com>"])
def test_admins_named_address_strings(make_user, create_ticket):
    make_user("named", email="named@example.com")
    create_ticket()
    assert channels_by_user() == {"named": ["app", "email"]}


@override_settings(ADMINS=["  DEV@EXAMPLE.COM "])
def test_admins_matching_is_case_insensitive(make_user, create_ticket):
    make_user("dev", email="Dev@Example.com")
    create_ticket()
    assert channels_by_user() == {"dev": ["app", "email"]}


def test_developer_without_email_address_cannot_be_a_developer(make_user, create_ticket):
    make_user("nobody", email="")
    create_ticket()
    assert Notification.objects.count() == 0


@override_settings(ADMINS=["dev@example.com", "nodot", ("Name",), 7])
def test_malformed_admins_entries_are_skipped_not_fatal(developer, create_ticket):
    create_ticket()
    assert channels_by_user() == {"dev": ["app", "email"]}


@override_settings(ADMINS=["A@Example.com", ("B", "b@example.com"), "broken", ("x",)])
def test_admin_addresses_are_lower_cased_addresses():
    assert admin_addresses() == ["a@example.com", "b@example.com"]


@pytest.mark.parametrize(
    ("entry", "address"),
    [
        ("dev@example.com", "dev@example.com"),
        (("Dev", "dev@example.com"), "dev@example.com"),
        (["Dev", " dev@example.com "], "dev@example.com"),
        ("Dev <dev@example.com>", "dev@example.com"),
        ("dev", None),
        (("Dev",), None),
        (("Dev", None), None),
        (None, None),
    ],
)
def test_admin_address(entry, address):
    assert admin_address(entry) == address


def test_audience_is_one_query(developer, manager, make_user, django_assert_num_queries):
    for i in range(5):
        make_user(f"extra{i}", is_superuser=True)
    with django_assert_num_queries(1):
        assert len(list(ticket_audience())) == 7


@override_settings(NOTIFY_BACKENDS={"app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"}})
def test_a_project_with_only_the_app_channel_still_notifies(developer, manager, create_ticket):
    create_ticket()
    assert channels_by_user() == {"dev": ["app"], "manager": ["app"]}
