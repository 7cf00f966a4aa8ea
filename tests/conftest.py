from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connections

from spire_notify import notification_types
from spire_notify.backends import locmem
from spire_notify.helpdesk.choices import HelpDeskTicketPriorityChoices, HelpDeskTicketPurposeChoices
from spire_notify.helpdesk.enums import TicketEventType
from spire_notify.helpdesk.models import HelpDeskTicket
from spire_notify.worker.pacing import forget_pacers
from tests.support.asgi_server import AsgiLiveServer

TESTS = Path(__file__).resolve().parent
# Fixtures that start another process (a worker, uvicorn, celery) on a database they share.
PROCESS_FIXTURES = {"shared_db", "live_server_asgi"}


def pytest_collection_modifyitems(config, items):
    """Mark what the inner loop (``make test-fast``) leaves out: the packaging and docs tests
    (they build wheels, sites and projects), the browser tests, and tests that run other
    processes. ``make test`` runs them all."""
    for item in items:
        folder = Path(item.path).resolve().relative_to(TESTS).parts[0]
        if folder == "packaging":
            item.add_marker(pytest.mark.packaging)
        elif folder == "browser":
            item.add_marker(pytest.mark.browser)
        if PROCESS_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.subprocess)
        if folder in {"packaging", "browser"} or item.get_closest_marker("subprocess"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _empty_locmem_outbox():
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture(autouse=True)
def _fresh_pacers():
    # A throttling reply pauses its channel in this process: one test's pause is not the next's.
    forget_pacers()
    yield
    forget_pacers()


@pytest.fixture
def make_user(django_user_model):
    def make(username, *, email=None, **fields):
        return django_user_model.objects.create_user(
            username=username,
            email=f"{username}@example.com" if email is None else email,
            password="pw",
            **fields,
        )

    return make


@pytest.fixture
def manager_group():
    group = Group.objects.create(name="Managers")
    group.permissions.add(Permission.objects.get(codename="delete_helpdeskticket"))
    return group


@pytest.fixture
def developer(make_user):
    # ADMINS in tests.settings lists dev@example.com; the case differs on purpose.
    return make_user("dev", email="Dev@Example.com")


@pytest.fixture
def manager(make_user, manager_group):
    user = make_user("manager")
    user.groups.add(manager_group)
    return user


@pytest.fixture
def requester(make_user):
    return make_user("requester")


@pytest.fixture
def signed_in(client, requester):
    """The test client, signed in as the requester (a user with no role)."""
    client.force_login(requester)
    return client


@pytest.fixture
def security_notice():
    """A mandatory notification type (email by default), registered for one test."""
    notification_types.register(
        "accounts.security", name="Security notice", default_channels=["email"], mandatory=True
    )
    yield "accounts.security"
    notification_types.unregister("accounts.security")


@pytest.fixture
def ticket(requester):
    """A ticket saved directly, so that creating it notifies nobody."""
    return HelpDeskTicket.objects.create(
        created_by=requester, purpose="App", priority="High", description="Printer on fire"
    )


@pytest.fixture
def message(ticket):
    """The NEW message of ``ticket``, as its notification service builds it."""
    return ticket.services.notification.build_message(TicketEventType.NEW)


@pytest.fixture
def create_ticket(requester):
    def create(**fields):
        values = {
            "created_by": requester,
            "purpose": HelpDeskTicketPurposeChoices.APP,
            "priority": HelpDeskTicketPriorityChoices.HIGH,
            "description": "Login page throws a 500 error for SSO users.",
        } | fields
        return HelpDeskTicket().services.create(**values)

    return create


@pytest.fixture
def create_and_deliver(create_ticket, django_capture_on_commit_callbacks):
    """Create a ticket and run what its commit would: the enqueued delivery."""

    def create(**fields):
        with django_capture_on_commit_callbacks(execute=True):
            ticket = create_ticket(**fields)
        return ticket

    return create


@pytest.fixture
def live_server_asgi(transactional_db, settings):
    """The project served by uvicorn with live updates on: the live inbox's event streams."""
    settings.NOTIFY_LIVE_UPDATES = True
    with AsgiLiveServer() as server:
        yield server
    connections.close_all()
